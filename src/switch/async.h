/* Switch operations from inside an event loop, without blocking it: what
 * the controller and the backends use.  Each op goes the way that costs
 * least, without blocking the loop:
 *
 *   1. a fast request (prism_abi.h), answered by the data plane at the
 *      switch port (usually before send() returns, so the socket is
 *      readable by the loop's next turn);
 *   2. no answer within SWITCH_FAST_WAIT_MS, or EALREADY (a duplicate
 *      whose result is unknown): the agent, retransmitted every
 *      SWITCH_CLIENT_RETRY_MS, until the op's timeout.
 *
 *   struct switch_async *sa;
 *   switch_async_open(loop, "198.18.2.1:7700", &key, peer_id, 500, &sa);
 *   h = switch_async_op(sa, &op, done, arg);  // done(arg, status) later
 *   switch_async_cancel(sa, h);               // done will not be called
 *   switch_async_close(sa);
 *
 * DONE is called exactly once per op that was started and not cancelled,
 * always from the loop (never inside switch_async_op), with the op's
 * status (0 or -errno) or -ETIMEDOUT / -ECONNREFUSED when no answer came.
 * A cancelled op still completes at the switch (ops are idempotent; a
 * DELETE whose connection is gone must still happen).  Ops with no DONE
 * are fire-and-forget: a failure is only counted and logged. */
#pragma once
#include <stdint.h>

#include "lib/auth.h"
#include "lib/evloop.h"
#include "switch/client.h"

struct switch_async;

typedef void (*switch_done_cb)(void *arg, int status);

struct switch_async_stats {
	uint64_t ops, fast_answers, agent_answers, fallbacks, timeouts,
		failures; /* completed with a non-zero status */
};

/* AGENT: "IP:PORT".  TIMEOUT_MS bounds each op.  0 or -errno. */
int switch_async_open(struct evloop *loop, const char *agent,
		      const struct auth_key *key, uint32_t peer_id,
		      int timeout_ms, struct switch_async **out);
/* Drops every op in flight without calling DONE. */
void switch_async_close(struct switch_async *sa);
/* Every op through the agent: for an agent on this host (host mode), where
 * no request crosses a port with the data plane on it to be answered there
 * (a fast request would wait SWITCH_FAST_WAIT_MS for nothing). */
void switch_async_agent_only(struct switch_async *sa);

/* Starts OP.  Returns a handle (> 0) for switch_async_cancel, or 0 when
 * the op is invalid or memory ran out (DONE will not be called; errno is
 * set). */
uint64_t switch_async_op(struct switch_async *sa, const struct switch_op *op,
			 switch_done_cb done, void *arg);
void switch_async_cancel(struct switch_async *sa, uint64_t handle);

/* At shutdown, outside any callback: runs the loop until every op in
 * flight has completed (the DELETEs of the connections just closed) or
 * MAX_MS passed.  0, or -ETIMEDOUT with ops left. */
int switch_async_drain(struct switch_async *sa, int max_ms);

const struct switch_async_stats *switch_async_stats(const struct switch_async *sa);
/* The client underneath (its fd, its fast-path state), for tests. */
struct switch_client *switch_async_client(struct switch_async *sa);
