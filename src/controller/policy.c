#include "controller/policy.h"

#include <stddef.h>

#include "controller/backend_set.h"

struct ctrl_backend *policy_pick(struct policy *p, struct ctrl_backend **b,
				 unsigned n, const struct http_request *req)
{
	(void)req;
	for (unsigned i = 0; i < n; i++) {
		struct ctrl_backend *cand = b[(p->next + i) % n];

		if (ctrl_backend_usable(cand)) {
			p->next = (p->next + i + 1) % n;
			return cand;
		}
	}
	return NULL;
}
