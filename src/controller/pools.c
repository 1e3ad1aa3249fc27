/* The backends requests go to: the active list (backend slots that are
 * not removed) and each route's pool, each under the policy, rebuilt when
 * the slots change; and the pick for one request.  "Where does the
 * controller decide a backend": ctrl_pick() here, the policies in
 * policy.c. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "controller/ctrl.h"
#include "lib/log.h"

struct ctrl_backend *ctrl_backend_find(struct ctrl *c, const char *name)
{
	for (unsigned i = 0; i < c->n_bslots; i++) {
		struct ctrl_backend *b = &c->backends[i];

		if (b->in_use && !b->removed && !strcmp(b->cfg.name, name))
			return b;
	}
	return NULL;
}

void ctrl_backend_add(struct ctrl *c, struct ctrl_backend *b,
		      const struct ctrl_backend_config *cfg)
{
	ctrl_backend_init(b, cfg, c->loop, &c->key, c->on_backend_msg,
			  c->on_backend_down, c);
	if ((unsigned)(b - c->backends) + 1 > c->n_bslots)
		c->n_bslots = (unsigned)(b - c->backends) + 1;
	ctrl_backend_connect(b);
	health_start(b, &c->cfg);
}

static void sweep_fire(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct ctrl *c = arg;

	(void)loop;
	(void)t;
	c->sweep = NULL;
	ctrl_backends_sync(c);
}

/* Each route's pool: the live backends it names, in the route's order,
 * under the same policy as the whole set. */
static int build_pools(struct ctrl *c)
{
	for (unsigned r = 0; r < c->cfg->n_routes; r++) {
		const struct ctrl_route *rt = &c->cfg->routes[r];
		struct ctrl_pool *p = &c->pools[r];

		p->n = 0;
		for (unsigned j = 0; j < rt->n; j++) {
			struct ctrl_backend *b =
				ctrl_backend_find(c, rt->backends[j]);

			if (b) {
				p->bptr[p->n] = b;
				p->members[p->n++] = &b->member;
			}
		}
		p->policy.kind = c->policy.kind;
		memcpy(p->policy.header, c->policy.header,
		       sizeof(p->policy.header));
		if (policy_set_members(&p->policy, p->members, p->n))
			return -ENOMEM;
	}
	return 0;
}

/* Removed backends with no connection left are closed; the others are
 * the active list. */
static unsigned collect(struct ctrl *c, struct ctrl_backend **list,
			bool *waiting)
{
	unsigned n = 0;

	*waiting = false;
	for (unsigned i = 0; i < c->n_bslots; i++) {
		struct ctrl_backend *b = &c->backends[i];

		if (!b->in_use)
			continue;
		if (b->removed && !b->member.load) {
			log_info("backend %s: drained, channel closed",
				 b->cfg.name);
			ctrl_backend_close(b);
			b->in_use = false;
			continue;
		}
		if (b->removed)
			*waiting = true;
		else
			list[n++] = b;
	}
	return n;
}

int ctrl_backends_sync(struct ctrl *c)
{
	struct ctrl_backend *list[CTRL_MAX_BACKENDS];
	bool waiting, same;
	unsigned n = collect(c, list, &waiting);

	if (waiting && !c->sweep) {
		c->sweep = evloop_timer_add(c->loop, 200, sweep_fire, c);
		if (!c->sweep)
			log_warn("backends: no timer for the drain sweep; "
				 "removed backends close at the next sync");
	}
	/* Rebuilding resets the round-robin state: only when needed. */
	same = n == c->n_backends && c->policy.n == n;
	for (unsigned i = 0; same && i < n; i++)
		same = list[i] == c->bptr[i];
	if (same && !c->weights_changed)
		return 0;
	c->weights_changed = false;
	c->n_backends = n;
	for (unsigned i = 0; i < n; i++) {
		c->bptr[i] = list[i];
		c->members[i] = &list[i]->member;
	}
	if (policy_set_members(&c->policy, c->members, n))
		return -ENOMEM;
	return build_pools(c);
}

/* Host without its port, compared case-insensitively; then the prefix. */
static bool route_matches(const struct ctrl_route *rt,
			  const struct http_request *req)
{
	size_t n = strlen(rt->host), plen = strlen(rt->prefix);

	if (n) {
		const char *h = req->host.p;
		size_t hl = req->host.len;

		if (!h || hl < n || strncasecmp(h, rt->host, n) ||
		    (hl > n && h[n] != ':'))
			return false;
	}
	return req->target.len >= plen && !memcmp(req->target.p, rt->prefix, plen);
}

/* Usability is recomputed at each pick: it depends on the channel, the
 * health checks, passive back-off deadlines and draining.  The first
 * route that matches decides the pool; none: every backend. */
struct ctrl_backend *ctrl_pick(struct ctrl *c, const struct http_request *req)
{
	unsigned r;
	int i;

	for (unsigned j = 0; j < c->n_backends; j++)
		c->members[j]->usable = ctrl_backend_usable(c->bptr[j]);
	for (r = 0; r < c->cfg->n_routes; r++)
		if (route_matches(&c->cfg->routes[r], req))
			break;
	if (r < c->cfg->n_routes) {
		struct ctrl_pool *p = &c->pools[r];

		i = policy_pick(&p->policy, req);
		return i < 0 ? NULL : p->bptr[i];
	}
	i = policy_pick(&c->policy, req);
	return i < 0 ? NULL : c->bptr[i];
}
