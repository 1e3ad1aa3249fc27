/* The controller's operations on the switch flow table (prism_flow.h):
 * LOCK naming the backend that will claim the flow, DELETE when it
 * forgets a connection.  Asynchronous (switch/async.h): the loop never
 * waits for the switch. */
#include "controller/ctrl.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"

uint64_t ctrl_switch_start(struct ctrl *c, uint8_t op,
			   const struct prism_flow_key *key, __be32 backend_ip,
			   switch_done_cb done, void *arg)
{
	struct switch_op o = { .op = op, .key = *key,
			       .backend_ip = backend_ip };
	uint64_t h = switch_async_op(c->sw, &o, done, arg);

	if (!h)
		log_warn("switch %s %s: %s", c->switch_name,
			 switch_op_name(op), strerror(errno));
	return h;
}
