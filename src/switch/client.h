/* Client API of the switch agent, for the controller, the backends and
 * `prism switch ctl`.  Built for an epoll loop: the client owns one
 * non-blocking UDP socket connected to the agent; the caller polls its fd
 * for POLLIN and calls switch_client_recv until -EAGAIN.
 *
 *   struct switch_client c;
 *   int fd = switch_client_open(&c, "198.18.2.1:7700", &key, 1);
 *   switch_client_send(&c, ops, n, &seq);        // returns at once
 *   ... fd readable: switch_client_recv(&c, &seq, status, &n);
 *   ... no answer after SWITCH_CLIENT_RETRY_MS: switch_client_resend(&c, seq)
 *   switch_client_close(&c);
 *
 * or, for simple callers (`prism switch ctl`), switch_client_call() blocks
 * with retransmission.  The daemons use switch/async.h on top of this: one
 * op the cheapest way (the data plane's fast path, falling back to the
 * agent), without blocking their loop.
 *
 * Sequence numbers start at CLOCK_REALTIME in ns when the client opens and
 * grow by one per request, so a restarted client keeps increasing.  Two
 * clients that run at the same time from one address must use different
 * peer ids: the agent keeps one replay window per (address, peer id). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/auth.h"
#include "prism_siphash.h"
#include "switch/ctl.h"

#define SWITCH_CLIENT_PENDING 64   /* requests awaiting an answer */
#define SWITCH_CLIENT_RETRY_MS 20  /* retransmission interval of _call */

struct switch_pending;

struct switch_client {
	int fd;
	uint32_t peer_id;
	/* One sequence space per path: each path's replay window (64) then
	 * spans its own requests.  Shared, the fast path's thousands per
	 * second pushed an agent request that was being retransmitted
	 * (its answer lost) out of the agent's window within milliseconds:
	 * dropped as a replay until the op timed out. */
	uint64_t next_seq, next_fast_seq;
	struct sockaddr_in agent;
	struct auth_key key;
	struct switch_pending *pending; /* SWITCH_CLIENT_PENDING slots */
	uint64_t bad_responses;         /* datagrams that failed to decode */
	/* The fast path (switch/async.h). */
	struct prism_sip_key fast_key;
	bool fast_seen;            /* the data plane has answered once */
	uint64_t fast_off_until;   /* CLOCK_MONOTONIC ns: not before then */
};

/* Parses "A.B.C.D:PORT" (or "A.B.C.D" with DEFAULT_PORT when that is not
 * 0).  Returns 0 or -EINVAL. */
int switch_parse_addr(const char *s, uint16_t default_port,
		      struct sockaddr_in *out);

/* Opens the client socket.  AGENT is "IP:PORT" (port defaults to 7700).
 * Returns the socket fd (>= 0, also in c->fd) or -errno. */
int switch_client_open(struct switch_client *c, const char *agent,
		       const struct auth_key *key, uint32_t peer_id);
int switch_client_open_addr(struct switch_client *c,
			    const struct sockaddr_in *agent,
			    const struct auth_key *key, uint32_t peer_id);
void switch_client_close(struct switch_client *c);

/* Sends a request of N (<= CTL_MAX_OPS) ops without blocking and returns
 * its sequence number in *SEQ.  The request stays pending until answered.
 * A datagram the kernel could not take right now (EAGAIN, ENOBUFS,
 * ECONNREFUSED from an earlier ICMP) still returns 0: resend it later.
 * Returns 0 or -errno (-EINVAL for a bad op or N). */
int switch_client_send(struct switch_client *c, const struct switch_op *ops,
		       unsigned n, uint64_t *seq);

/* Retransmits pending request SEQ unchanged (the agent answers a
 * duplicate from its cache).  Returns 0, -ENOENT if SEQ is not pending,
 * or -errno from send. */
int switch_client_resend(struct switch_client *c, uint64_t seq);

/* Forgets pending request SEQ (the caller gave up on it). */
void switch_client_forget(struct switch_client *c, uint64_t seq);

/* Reads one response.  On 0, *SEQ is the answered request and
 * STATUS[0..*N) its per-op statuses (0 or -errno), *N on input being the
 * room in STATUS.  Errors: -EAGAIN nothing to read; -EBADMSG datagram
 * failed to verify; -ENOENT answer to no pending request (a duplicate
 * after a retransmission); -EMSGSIZE STATUS too small; other -errno from
 * recv (-ECONNREFUSED: no agent listening).  All but -EAGAIN consumed a
 * datagram, so keep reading. */
int switch_client_recv(struct switch_client *c, uint64_t *seq, int *status,
		       unsigned *n);

/* For an event loop reading both kinds of answer: reads one datagram, a
 * fast-path answer (*FAST) or an agent answer to a one-op request.  0 with
 * *SEQ and *STATUS (0 or -errno); -EAGAIN nothing to read; -EBADMSG,
 * -ENOENT (an answer to nothing pending) or another -errno: a datagram was
 * consumed, keep reading. */
int switch_client_read_any(struct switch_client *c, bool *fast,
			   uint64_t *seq, int *status);
/* Sends OP as a fast request without waiting; its seq in *SEQ. */
int switch_client_fast_send(struct switch_client *c, const struct switch_op *op,
			    uint64_t *seq);

/* How long a fast request may go unanswered before the agent is asked,
 * and how long a switch that never answered one is not asked again. */
#define SWITCH_FAST_WAIT_MS 5
#define SWITCH_FAST_RETRY_S 10

/* Sends and waits for the answer, retransmitting every
 * SWITCH_CLIENT_RETRY_MS, up to TIMEOUT_MS in total.  STATUS has room for
 * N statuses.  Returns 0 (statuses filled), -ETIMEDOUT, or -errno.
 * Answers to other pending requests that arrive meanwhile are dropped. */
int switch_client_call(struct switch_client *c, const struct switch_op *ops,
		       unsigned n, int *status, int timeout_ms);
