/* The hand-off state machine: every state change and every timer of a
 * client connection at the controller happens in handoff_fsm.c.
 *
 *   (accept) -> READING
 *   READING --GET/HEAD, adaptive delivery--> REQUEST to B --> RELAY
 *           --request head (+ small body)--> LOCK(B) sent --> LOCKING
 *           --no backend--> 503 --> CLOSING
 *           --bad request--> 4xx --> CLOSING
 *           --EOF, reset, idle or header timeout--> closed
 *   LOCKING --LOCK ok--> freeze, dump, HANDOFF sent --> HANDOFF
 *           --LOCK failed or unanswered (switch timeout)--> 503 --> CLOSING
 *   HANDOFF --HANDOFF_ACK ok (or a HANDBACK first)--> REMOTE
 *           (frozen socket closed silently)
 *           --refused, timeout, channel lost--> unlock, thaw, 503 --> CLOSING
 *   REMOTE  --HANDBACK--> restore, window update (unlocks in band) --> READING
 *           (HO_F_CLOSE or no keep-alive: --> CLOSING)
 *           --CLOSED from B, channel lost--> closed (client reset)
 *   RELAY   --RESPONSE ok--> write it --> READING (or WRITING while the
 *           client's window is full; HO_F_CLOSE or no keep-alive: CLOSING)
 *           --RESPONSE declined (too large)--> LOCK(B) sent --> LOCKING
 *           --timeout, channel lost--> 503 --> CLOSING
 *   WRITING --all written--> READING (or CLOSING)
 *           --client reset, idle timeout--> closed
 *   CLOSING --EOF or CONN_LINGER_MS--> closed
 *   READING after a hand-back, client silent: the window update again
 *           after CONN_UNLOCK_RESEND_MS, doubling, CONN_UNLOCK_RESENDS
 *           times; then, still silent for CONN_UNLOCK_CHECK_MS: DELETE the
 *           entry; once done, window update again (a lost in-band unlock)
 *
 * "closed" frees the connection and DELETEs its switch entry.  Switch
 * operations never block the loop (switch/async.h): a connection waits
 * for the answer in LOCKING, and ops on one flow reach the switch in the
 * order they were started.  The
 * ordering invariants of ../shared/DESIGN.md are kept here: the flow is
 * locked at the switch before the socket is frozen, and a restored socket
 * exists before the flow is unlocked.  The switch entry's states are
 * prism_flow.h's; the backend's side is backend/takeover.h. */
#pragma once
#include "lib/evloop.h"
#include "lib/handoff.h"

struct conn;
struct ctrl;
struct ctrl_backend;

enum conn_state {
	CONN_READING, /* at the controller, waiting for a request head */
	CONN_LOCKING, /* a backend picked, the flow's LOCK not answered yet */
	CONN_HANDOFF, /* frozen, HANDOFF sent, waiting for the ACK */
	CONN_REMOTE,  /* a backend owns it */
	CONN_CLOSING, /* error reply sent, draining until EOF or timeout */
	CONN_RELAY,   /* the request offered to a backend for relaying */
	CONN_WRITING, /* a relayed response queued, waiting for the client */
};

/* A request body up to this size is received before the hand-off and
 * travels with it (wait_for_body). */
#define CONN_BODY_MAX 65536
#define CONN_LINGER_MS 1000
/* A handed-back connection whose client stays silent this long gets its
 * switch entry removed by the agent too, and a second window update: the
 * in-band unlock may have been lost with its packet. */
#define CONN_UNLOCK_CHECK_MS 200
/* The window update that unlocks a handed-back flow is lost with 1 in 50
 * hand-backs on a fabric that drops 1% per link; the client then sits at
 * the zero window the switch gave it until its persist timer fires
 * (>= 200 ms, backing off), with its next request ready.  So while the
 * client has sent nothing, the update goes again (marked: it unlocks if
 * the first copy died before the switch) after CONN_UNLOCK_RESEND_MS or
 * two of the client's round trips if longer, doubling: 5, 10, 20, 40 ms.
 * A client that answers at once never sees a copy. */
#define CONN_UNLOCK_RESENDS 4
#define CONN_UNLOCK_RESEND_MS 5

const char *conn_state_name(enum conn_state s);

/* The listening socket is readable. */
void fsm_accept(struct evloop *loop, int fd, uint32_t events, void *arg);
/* The HTTPS listening socket is readable. */
void fsm_accept_tls(struct evloop *loop, int fd, uint32_t events, void *arg);
/* A message from backend B's channel, and B's channel dying. */
void fsm_backend_msg(struct ctrl_backend *b, const struct ho_msg *m,
		     void *arg);
void fsm_backend_down(struct ctrl_backend *b, void *arg);
/* Closes every connection (shutdown): their switch entries go too. */
void fsm_close_all(struct ctrl *c);
