/* The hand-off state machine (diagram and invariants in handoff_fsm.h).
 * Sections follow a connection's life: states and closing, timers,
 * reading and requests, hand-off, hand-back, losses. */
#include "controller/handoff_fsm.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/conn.h"
#include "lib/log.h"
#include "lib/migrate.h"

const char *conn_state_name(enum conn_state s)
{
	static const char *names[] = { "READING", "LOCKING", "HANDOFF",
				       "REMOTE", "CLOSING", "RELAY",
				       "WRITING" };

	return s <= CONN_WRITING ? names[s] : "?";
}

/* ---- states, and closing ---- */

/* Picked for a backend (its load), from the LOCK until the hand-back, or
 * from a relayed request until its response. */
static bool at_backend(enum conn_state s)
{
	return s == CONN_LOCKING || s == CONN_HANDOFF || s == CONN_REMOTE ||
	       s == CONN_RELAY;
}

/* The one place a connection changes state.  The backend's load
 * (least-conn) follows it: the connections handed off to it and not back
 * yet. */
static void set_state(struct conn *k, enum conn_state s)
{
	if (k->backend && at_backend(s) && !at_backend(k->state))
		k->backend->member.load++;
	else if (k->backend && !at_backend(s) && at_backend(k->state))
		k->backend->member.load--;
	log_debug("conn %llu: %s -> %s", (unsigned long long)k->id,
		  conn_state_name(k->state), conn_state_name(s));
	k->state = s;
}

static void cancel_timer(struct conn *k)
{
	if (k->timer)
		evloop_timer_cancel(k->ctrl->loop, k->timer);
	k->timer = NULL;
}

/* We no longer wait for the switch op in flight (it still happens). */
static void drop_switch_op(struct conn *k)
{
	if (k->sw_op)
		switch_async_cancel(k->ctrl->sw, k->sw_op);
	k->sw_op = 0;
}

/* Removes the connection's switch entry, if it may have one (from its
 * first LOCK until a DELETE; HOME between requests, prism_abi.h).  DONE
 * (may be NULL) runs once the switch answered, with K as its argument. */
static void switch_release(struct conn *k, switch_done_cb done)
{
	if (!k->in_switch)
		return;
	drop_switch_op(k);
	k->sw_op = ctrl_switch_start(k->ctrl, PRISM_OP_DELETE, &k->key, 0,
				     done, k);
	if (!done)
		k->sw_op = 0;
	k->in_switch = false;
}

/* closed: the switch entry, the timer, the load, the connection. */
static void conn_close(struct conn *k)
{
	log_debug("conn %llu: closed in %s", (unsigned long long)k->id,
		  conn_state_name(k->state));
	drop_switch_op(k);
	switch_release(k, NULL);
	cancel_timer(k);
	if (k->backend && at_backend(k->state))
		k->backend->member.load--;
	conn_free(k);
}

void fsm_close_all(struct ctrl *c)
{
	for (uint32_t i = 0; i < c->n_slots; i++)
		if (c->conns[i])
			conn_close(c->conns[i]);
}

/* ---- timers ---- */

/* K's one timer, replacing any.  A timer that cannot be had (out of
 * memory) would leave the connection without its bound: -ENOMEM, and the
 * caller closes it. */
static int arm(struct conn *k, uint64_t ms, evloop_timer_cb cb)
{
	cancel_timer(k);
	k->timer = evloop_timer_add(k->ctrl->loop, ms, cb, k);
	if (k->timer)
		return 0;
	log_warn("conn %llu: no timer: closed", (unsigned long long)k->id);
	return -ENOMEM;
}

static void on_idle_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	log_debug("conn %llu: idle timeout", (unsigned long long)k->id);
	conn_close(k);
}

static void confirm_unlock(struct conn *k);
static int arm_idle(struct conn *k);

static void on_unlock_check(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	confirm_unlock(k);
	if (arm_idle(k))
		conn_close(k);
}

static void drop_tail(struct conn *k)
{
	free(k->tail);
	k->tail = NULL;
	k->tail_len = 0;
}

/* What of the restored tail the client has not acknowledged, again. */
static void resend_tail(struct conn *k)
{
	int n;

	if (!k->tail || k->fd < 0)
		return;
	n = tcpr_resend_unacked(k->ctrl->raw_fd, k->fd, k->tail_seq, k->tail,
				k->tail_len);
	if (n > 0) {
		k->ctrl->stats.tail_resends++;
		return;
	}
	if (n < 0)
		log_debug("conn %llu: %s", (unsigned long long)k->id,
			  tcpr_errmsg());
	drop_tail(k);
}

static void on_unlock_resend(struct evloop *loop, struct evtimer *t,
			     void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	k->unlock_resends++;
	if (k->state == CONN_READING)
		resend_tail(k);
	/* Bytes waiting (pipelined) are on their way to the next hand-off,
	 * whose zero window must not be re-opened here. */
	if (k->state == CONN_READING && k->fd >= 0 && !k->len &&
	    !k->quiescing) {
		if (tcpr_send_window_update(k->ctrl->raw_fd, k->fd,
					    PRISM_TOS_MARK))
			log_debug("conn %llu: window update again: %s",
				  (unsigned long long)k->id, tcpr_errmsg());
		else
			k->ctrl->stats.unlock_resends++;
	}
	if (arm_idle(k))
		conn_close(k);
}

static int arm_unlock_check(struct conn *k)
{
	uint64_t ms = 2 * (uint64_t)k->client_rtt_us / 1000 + 1;

	if (k->unlock_resends >= CONN_UNLOCK_RESENDS)
		return arm(k, CONN_UNLOCK_CHECK_MS, on_unlock_check);
	if (ms < CONN_UNLOCK_RESEND_MS)
		ms = CONN_UNLOCK_RESEND_MS;
	return arm(k, ms << k->unlock_resends, on_unlock_resend);
}

/* Idle timeout between requests; once a request has started, also the
 * header timeout, which more bytes do not extend (slowloris).  Right after
 * a hand-back, first the unlock check. */
static int arm_idle(struct conn *k)
{
	uint64_t now = evloop_now_ms(), delay = k->ctrl->cfg->idle_timeout_ms;

	if (k->unlock_unconfirmed)
		return arm_unlock_check(k);
	/* A TLS handshake is part of the first request: bounded the same. */
	if (!k->len && (!k->tls || tlsconn_established(k->tls))) {
		k->head_deadline = 0;
	} else {
		if (!k->head_deadline)
			k->head_deadline = now + k->ctrl->cfg->header_timeout_ms;
		if (k->head_deadline - now < delay)
			delay = k->head_deadline > now ? k->head_deadline - now
						       : 0;
	}
	return arm(k, delay, on_idle_timeout);
}

static void on_linger_timeout(struct evloop *loop, struct evtimer *t,
			      void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	conn_close(k);
}

/* -> CLOSING: our FIN now, then the client's EOF or CONN_LINGER_MS. */
static void linger_close(struct conn *k)
{
	conn_shutdown(k);
	set_state(k, CONN_CLOSING);
	if (arm(k, CONN_LINGER_MS, on_linger_timeout))
		conn_close(k);
}

/* An error reply the controller makes itself, then CLOSING. */
static void reply_status(struct conn *k, int status)
{
	size_t n = conn_write_error(k, status);

	ctrl_status_add(&k->ctrl->own_replies, (unsigned)status);
	ctrl_access_log(k->ctrl, k, status, (uint64_t)n, "-");
	linger_close(k);
}

/* ---- reading and requests ---- */

static void start_handoff(struct conn *k, const struct http_request *req,
			  size_t head);
static void start_relay(struct conn *k, const struct http_request *req,
			size_t head);

/* A body that fits in the client's window is sent at once, and its part
 * that reaches the switch after our LOCK is dropped; when that part is the
 * body's tail, only the client's timers bring it back (a 200 ms RTO,
 * docs/evaluation.md finding 7).  So a small body is received here first
 * and travels with the hand-off; a larger one, chunked, or one behind
 * "Expect: 100-continue" goes straight to the backend. */
static bool wait_for_body(struct conn *k, const struct http_request *req,
			  size_t head)
{
	size_t total;

	if (req->content_length <= 0 || req->chunked ||
	    req->expect_continue || req->content_length > CONN_BODY_MAX)
		return false;
	total = head + (size_t)req->content_length;
	if (k->len >= total) {
		k->want = 0;
		return false;
	}
	k->want = total;
	return true;
}

/* Quiescing is over when nothing more came for a round trip (bounded:
 * a client that keeps sending is handed off as it is), or, after a
 * hand-back, when the client has acknowledged the restored tail (bounded
 * too: QUIESCE_TAIL_ROUNDS checks QUIESCE_MIN_US apart). */
#define QUIESCE_ROUNDS 8
#define QUIESCE_TAIL_ROUNDS 40
#define QUIESCE_MIN_US 50
#define QUIESCE_MAX_US 2000

static bool process(struct conn *k, bool from_client);

/* Whether the wait goes on for another round. */
static bool still_quiescing(struct conn *k)
{
	int unacked = 0;

	if (k->quiesce_tail)
		return !ioctl(k->fd, SIOCOUTQ, &unacked) && unacked > 0 &&
		       ++k->quiesce_rounds < QUIESCE_TAIL_ROUNDS;
	if (k->len == k->quiesce_len || ++k->quiesce_rounds >= QUIESCE_ROUNDS)
		return false;
	k->quiesce_len = k->len;
	return true;
}

static void on_quiesced(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	if (still_quiescing(k)) {
		k->timer = evloop_timer_add_us(k->ctrl->loop, QUIESCE_MIN_US,
					       on_quiesced, k);
		if (k->timer)
			return;
	}
	k->quiescing = k->quiesce_tail = false;
	process(k, false);
}

/* A pipelining client's request, just read: wait a round trip before
 * locking its flow.  What it sent right behind the request (the rest of
 * a burst released by the window we opened) arrives meanwhile and moves
 * with the hand-off, instead of being dropped at the lock, where only its
 * retransmission timeout would bring it back (the client's window is
 * zero while the backend serves, which rules out a tail loss probe). */
static bool quiesce(struct conn *k)
{
	uint32_t rtt = 0;

	conn_tcp_state(k, &rtt);
	rtt = rtt < QUIESCE_MIN_US ? QUIESCE_MIN_US
	      : rtt > QUIESCE_MAX_US ? QUIESCE_MAX_US
				     : rtt;
	cancel_timer(k);
	k->timer = evloop_timer_add_us(k->ctrl->loop, rtt, on_quiesced, k);
	if (!k->timer)
		return false;
	k->quiescing = true;
	k->quiesce_len = k->len;
	k->quiesce_rounds = 0;
	return true;
}

/* Quiescing until the client has acknowledged what our socket sent
 * (still_quiescing), before the next request's LOCK. */
static bool quiesce_until_acked(struct conn *k)
{
	cancel_timer(k);
	k->timer = evloop_timer_add_us(k->ctrl->loop, QUIESCE_MIN_US,
				       on_quiesced, k);
	if (!k->timer)
		return false;
	k->quiescing = k->quiesce_tail = true;
	k->quiesce_rounds = 0;
	return true;
}

/* A hand-back with a pipelined request waiting and part of the response
 * unacknowledged (the backend hands back before the client's last ACKs):
 * those ACKs came while the flow was locked for the hand-back and were
 * dropped, and the client sends no more of them while it waits.  Handed
 * off as it is, the next backend would get the tail as unacknowledged, a
 * congestion window full of it, and only its retransmission timeout
 * (1 s for a socket without round-trip samples) to move on.  So one
 * byte of the tail goes again (tcpr_tail_probe_send): the client answers
 * it at once, and the next hand-off waits for that answer. */
static bool wait_for_tail(struct conn *k, const uint8_t *outq)
{
	const struct tcpr_state *st = &k->st0;

	if (st->outq_len == st->unsent_len ||
	    tcpr_tail_probe_send(k->ctrl->raw_fd, st, outq))
		return false;
	return quiesce_until_acked(k);
}

/* Whether REQ goes to its backend as a REQUEST first (adaptive delivery,
 * delivery.c) rather than straight to a hand-off. */
static bool to_relay(const struct conn *k, const struct http_request *req,
		     uint32_t key)
{
	return k->may_relay && delivery_relay_first(k->ctrl, req, key);
}

/* Parses the buffered bytes and acts on a complete request.  False when
 * more bytes are needed first.  FROM_CLIENT: they were just read from
 * the client (its window open), not brought back by a hand-back. */
static bool process(struct conn *k, bool from_client)
{
	struct http_request req;
	int r;
	size_t end;

	/* A session that failed (its alert sent) or that the client closed
	 * serves nothing more, not even what came before. */
	if (k->tls && !tlsconn_usable(k->tls)) {
		conn_close(k);
		return true;
	}
	r = http_parse_request(k->buf, k->len, NULL, &req);
	if (r == 0)
		return false;
	if (r < 0) {
		k->method[0] = k->target[0] = 0;
		k->backend = NULL;
		k->t_start_us = 0;
		k->ctrl->stats.bad_requests++;
		reply_status(k, http_error_status(r));
		return true;
	}
	if (wait_for_body(k, &req, (size_t)r))
		return false;
	/* Bytes behind a request without a body, or behind a small body
	 * received here, are the next request.  A larger body streams. */
	end = (size_t)r + (req.content_length > 0 ? (size_t)req.content_length
						  : 0);
	if (!req.chunked && end <= (size_t)r + CONN_BODY_MAX && k->len > end)
		k->pipelining = true;
	k->size_key = delivery_key(&req);
	/* A relayed request needs no quiescing: the flow is not locked. */
	if (to_relay(k, &req, k->size_key)) {
		k->ctrl->stats.requests++;
		start_relay(k, &req, (size_t)r);
		return true;
	}
	if (from_client && k->pipelining && quiesce(k))
		return true;
	k->ctrl->stats.requests++;
	start_handoff(k, &req, (size_t)r);
	return true;
}

/* The client's FIN, read at the controller: what it sent before is
 * served in order (thesis 2.1.4), then the connection is closed.  Its
 * fd stays readable at EOF, so it is no longer watched. */
static void on_peer_fin(struct conn *k)
{
	k->peer_fin = true;
	if (k->state == CONN_CLOSING || !k->len) {
		conn_close(k);
		return;
	}
	conn_unwatch(k);
	if (k->quiescing)
		return; /* the request goes on when the quiescing ends */
	cancel_timer(k);
	if (!process(k, false))
		conn_close(k); /* half a request: it can never be completed */
}

static void read_and_process(struct conn *k)
{
	ssize_t n = conn_read(k);

	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n == -ENOBUFS && k->quiescing) {
		/* The buffer is full: no point waiting for more. */
		cancel_timer(k);
		k->quiescing = k->quiesce_tail = false;
		process(k, false);
		return;
	}
	if (n == 0) {
		on_peer_fin(k);
		return;
	}
	if (n < 0) {
		if (n != -ECONNRESET)
			log_debug("conn %llu: read: %s",
				  (unsigned long long)k->id, strerror((int)-n));
		conn_close(k);
		return;
	}
	if (k->state == CONN_CLOSING) {
		k->len = 0; /* draining: discard */
		return;
	}
	if (k->quiescing)
		return; /* on_quiesced takes it from here */
	k->unlock_unconfirmed = false; /* the client got the window update */
	if (arm_idle(k)) {
		conn_close(k);
		return;
	}
	process(k, true);
}

static void on_tls_more(void *arg);

/* TLS: whole records may still wait in the session's buffer (a request
 * body that came with its head, pipelined requests) while the socket is
 * empty: they are read from the loop, not left for a readable event that
 * will not come. */
static void on_readable(struct evloop *loop, int fd, uint32_t events,
			void *arg)
{
	struct conn *k = arg;
	struct ctrl *c = k->ctrl;
	uint64_t id = k->id;
	bool tls = k->is_tls;

	(void)loop;
	(void)fd;
	(void)events;
	read_and_process(k);
	if (!tls)
		return;
	k = conn_lookup(c, id);
	if (k && k->state == CONN_READING && !k->quiescing)
		conn_tls_more(k, on_tls_more);
}

/* TLS records the connection buffered (a hand-back brought them, or they
 * came behind a request): read as if the socket were readable. */
static void on_tls_more(void *arg)
{
	struct conn *k = arg;

	if (k->state == CONN_READING && !k->quiescing)
		on_readable(k->ctrl->loop, k->fd, EVLOOP_READ, k);
}

/* -> READING: the fd watched again, the idle timer armed. */
static int resume(struct conn *k)
{
	int err = conn_watch(k, on_readable);

	if (err)
		return err;
	set_state(k, CONN_READING);
	conn_tls_more(k, on_tls_more);
	return arm_idle(k);
}

/* Only the socket we accepted carries relayed responses, and only once it
 * has a round-trip sample (from the handshake; none if the SYN-ACK was
 * retransmitted): without one its first retransmission timeout is the
 * kernel's initial 1 s.  A socket restored from a hand-back has no sample
 * either until the client acknowledges something sent after the restore;
 * and even with one, at 1% loss the request after a response relayed on a
 * restored socket reached us up to 1.4 s late in 2 of some 20,000
 * requests (three client retransmissions lost or dropped: cause not
 * found, never seen with every request handed off).  So the first
 * hand-back ends relaying on a connection (on_handback). */
static void on_new(struct conn *k)
{
	uint32_t rtt = 0;

	k->may_relay = conn_tcp_state(k, &rtt) >= 0 && rtt;
	k->state = CONN_READING;
	if (resume(k))
		conn_close(k);
}

void fsm_accept(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	conn_accept(arg, fd, on_new);
}

/* HTTPS: the handshake happens in READING, as part of the first request
 * (conn_read). */
static void on_new_tls(struct conn *k)
{
	k->is_tls = true;
	k->tls = tlsconn_accept(k->ctrl->tls_ctx[0]);
	if (!k->tls) {
		conn_close(k);
		return;
	}
	on_new(k);
}

void fsm_accept_tls(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	conn_accept(arg, fd, on_new_tls);
}

/* ---- hand-off ---- */

/* A failed channel send closes the channel at once, and with it every
 * connection of the backend (fsm_backend_down) may already have been
 * failed or freed: whether connection ID is still there in STATE. */
static bool still(struct ctrl *c, uint64_t id, enum conn_state state)
{
	struct conn *k = conn_lookup(c, id);

	return k && k->state == state;
}

/* Stops watching the fd (while it is handed off). */
static void pause_conn(struct conn *k)
{
	cancel_timer(k);
	k->head_deadline = 0; /* the next request gets its own */
	conn_unwatch(k);
}

/* The frozen socket thawed and closed with a reset. */
static void reset_thawed(struct conn *k)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (k->fd >= 0 && !tcpr_repair_off(k->fd, false))
		setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* A hand-off, or a relayed request (RELAY: the connection never left
 * us), that failed: the client gets a 503. */
static void fail_handoff(struct conn *k, enum ctrl_fail reason,
			 const char *why)
{
	struct ctrl *c = k->ctrl;
	int err;

	log_warn("conn %llu: %s to %s failed: %s", (unsigned long long)k->id,
		 k->state == CONN_RELAY ? "relay" : "hand-off",
		 k->backend ? k->backend->cfg.name : "?", why);
	c->fails[reason]++;
	if (k->backend)
		k->backend->failures++;
	/* Passive health: a backend that refused, timed out or lost its
	 * channel gets no new requests for a while. */
	if (k->backend && (reason == FAIL_REFUSED || reason == FAIL_TIMEOUT ||
			   reason == FAIL_CHANNEL || reason == FAIL_SEND))
		ctrl_backend_backoff(k->backend, c->cfg->backoff_ms);
	cancel_timer(k);
	/* The thawed socket must receive the client again: its segments are
	 * dropped (not reset) until the DELETE is applied. */
	switch_release(k, NULL);
	/* TLS after the freeze: the backend may have sealed records with the
	 * session already; a 503 sealed here could reuse their nonces.  The
	 * client is reset instead. */
	if (k->is_tls && k->state == CONN_HANDOFF) {
		reset_thawed(k);
		conn_close(k);
		return;
	}
	/* Before the freeze (a LOCK that failed, e.g. a full table) the
	 * socket is live; after it, thaw it first. */
	if (k->fd >= 0 && (k->state != CONN_HANDOFF ||
			   !tcpr_repair_off(k->fd, false))) {
		set_state(k, CONN_READING);
		/* Watched again, so that CLOSING sees the client's EOF. */
		err = conn_watch(k, on_readable);
		if (err && err != -EEXIST) {
			conn_close(k);
			return;
		}
		reply_status(k, 503);
		return;
	}
	conn_close(k);
}

static void on_handoff_timeout(struct evloop *loop, struct evtimer *t,
			       void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	/* A backend that reads the HANDOFF later (stopped, not dead) must
	 * not take the connection we take back now: called off. */
	if (k->state == CONN_HANDOFF && k->backend) {
		struct ho_msg m = { .type = HO_CLOSED, .conn_id = k->id };

		ctrl_backend_send(k->backend, &m);
	}
	fail_handoff(k, FAIL_TIMEOUT, "timed out");
}

/* Whether the body bytes queued in the frozen socket go after the HANDOFF
 * (HO_F_MORE) rather than inside it.  While the flow is locked the client's
 * segments are dropped, and an upload's queue (often 100-200 KB) took
 * milliseconds to reach the backend inside the HANDOFF: long enough for the
 * client's loss probe to fire into the lock and be dropped too, leaving a
 * 200 ms RTO.  Only for a request with a body (a GET's pipelined requests
 * could outlive the response), and only what the backend takes as pending
 * (HO_PENDING_MAX). */
static bool split_handoff(const struct conn *k, const struct frozen *f)
{
	/* TLS: the queue is ciphertext, which only the session may read. */
	return f->st.inq_len && k->may_split && !k->is_tls &&
	       k->len + f->st.inq_len <= HO_PENDING_MAX;
}

/* LEN bytes at P in HANDOFF_DATA messages; LAST: nothing follows them. */
static int send_handoff_data(struct conn *k, const uint8_t *p, size_t len,
			     bool last)
{
	struct ho_msg m = { .type = HO_HANDOFF_DATA, .conn_id = k->id };
	int err = 0;

	while (!err && len) {
		size_t n = len < HO_DATA_CHUNK ? len : HO_DATA_CHUNK;

		m.pending = p;
		m.pending_len = (uint32_t)n;
		m.flags = n < len || !last ? HO_F_MORE : 0;
		err = ctrl_backend_send(k->backend, &m);
		p += n;
		len -= n;
	}
	return err;
}

/* The queue travels as pending bytes (migrate_queue_as_pending).  Without
 * the window it re-opens, a client that had filled our window would wait
 * at a zero window for good: nothing is read from the new socket until
 * the queue arrives through the channel, and its window update
 * (pb_window) would repeat the zero it believes it advertised. */
/* HEAD > 0: a split hand-off; the HANDOFF carries the request head (HEAD
 * bytes) and HANDOFF_DATA messages the rest of our buffer, then the
 * receive queue: the smaller the HANDOFF, the sooner the backend has the
 * connection. */
static int send_handoff(struct conn *k, const struct frozen *f, size_t head)
{
	struct ho_msg m = { .type = HO_HANDOFF, .conn_id = k->id };
	int err;

	m.flags = (k->ctrl->cfg->host_mode ? 0 : HO_F_CLAIM) |
		  (head ? HO_F_MORE : 0);
	/* TLS: the session goes too, with its unopened ciphertext. */
	err = tlsconn_export_msg(k->tls, &m);
	if (err)
		return err;
	m.tcp = f->st;
	m.pending = (const uint8_t *)k->buf;
	m.pending_len = (uint32_t)(head ? head : k->len);
	if (head) {
		migrate_queue_as_pending(&m.tcp);
	} else {
		m.inq = f->inq;
		m.inq_len = f->st.inq_len;
	}
	m.outq = f->outq;
	m.outq_len = f->st.outq_len;
	err = ctrl_backend_send(k->backend, &m);
	if (k->tls)
		ho_wipe_tls(&m);
	if (err || !head)
		return err;
	k->ctrl->stats.split_handoffs++;
	err = send_handoff_data(k, (const uint8_t *)k->buf + head,
				k->len - head, false);
	if (!err)
		err = send_handoff_data(k, f->inq, f->st.inq_len, true);
	return err;
}

/* What the access log says of the request. */
static void note_request(struct conn *k, const struct http_request *req)
{
	snprintf(k->method, sizeof(k->method), "%.*s",
		 (int)req->method_text.len, req->method_text.p);
	snprintf(k->target, sizeof(k->target), "%.*s", (int)req->target.len,
		 req->target.p);
	k->t_start_us = ctrl_now_us();
}

/* Freeze, dump, send (the flow is locked for the backend): HANDOFF. */
static void freeze_and_send(struct conn *k)
{
	enum ctrl_fail reason = FAIL_FREEZE;
	struct frozen f;
	int err;

	/* Armed first: a hand-off sent without its bound could never be
	 * given up safely. */
	if (arm(k, k->ctrl->cfg->handoff_timeout_ms, on_handoff_timeout)) {
		fail_handoff(k, FAIL_FREEZE, "no timer");
		return;
	}
	set_state(k, CONN_HANDOFF);
	err = migrate_freeze(k->fd, &f);
	if (!err) {
		uint64_t id = k->id;

		k->st0 = f.st;
		/* A FIN that came while the LOCK was on its way. */
		k->peer_fin |= f.st.peer_fin;
		err = send_handoff(k, &f, split_handoff(k, &f) ? k->head_len : 0);
		migrate_frozen_free(&f);
		if (err && !still(k->ctrl, id, CONN_HANDOFF))
			return; /* failed already, with its channel */
		if (err)
			reason = FAIL_SEND;
		k->backend->handoff_bytes +=
			k->len + f.st.inq_len + f.st.outq_len;
	}
	if (err) {
		fail_handoff(k, reason, strerror(-err));
		return;
	}
	k->backend->handoffs++;
}

/* The answer to the flow's LOCK: step 4 done. */
static void on_locked(void *arg, int status)
{
	struct conn *k = arg;

	k->sw_op = 0;
	if (status) {
		fail_handoff(k, FAIL_SWITCH, strerror(-status));
		return;
	}
	freeze_and_send(k);
}

/* The policy's backend for REQ (for a hand-off or a relay), or a 503. */
static bool pick(struct conn *k, const struct http_request *req)
{
	k->backend = ctrl_pick(k->ctrl, req);
	if (!k->backend) {
		log_warn("conn %llu: no backend up", (unsigned long long)k->id);
		k->ctrl->fails[FAIL_NO_BACKEND]++;
		reply_status(k, 503);
		return false;
	}
	k->keep_alive = req->keep_alive;
	return true;
}

/* Steps 3-6 of the thesis' Figure 2.1: lock, freeze, export, send; to
 * k->backend if PICKED (a relay it declined), else to the policy's
 * choice. */
static void handoff_to(struct conn *k, const struct http_request *req,
		       size_t head, bool picked)
{
	struct ctrl *c = k->ctrl;
	int tcp_state;

	if (!picked) /* else noted when it was offered for relaying */
		note_request(k, req);
	/* ESTABLISHED, or half-closed by the client (CLOSE_WAIT, dumped as
	 * if its FIN had not come yet); anything else is gone. */
	tcp_state = conn_tcp_state(k, k->client_rtt_us ? NULL
							: &k->client_rtt_us);
	if (tcp_state != TCP_ESTABLISHED && tcp_state != TCP_CLOSE_WAIT) {
		c->stats.client_closed++;
		conn_close(k);
		return;
	}
	/* TLS: our records (tickets, a KeyUpdate) must have left before the
	 * session can move; a client that does not take them loses its
	 * connection (not the backend its health). */
	if (k->tls && tlsconn_flush(k->tls, k->fd) != 1) {
		c->stats.client_closed++;
		conn_close(k);
		return;
	}
	if (!picked && !pick(k, req))
		return;
	k->head_len = head;
	/* A GET's pipelined requests could outlive the response. */
	k->may_split = !req->expect_continue &&
		       (req->content_length > 0 || req->chunked);
	pause_conn(k);
	k->unlock_unconfirmed = false;
	drop_tail(k); /* the next owner gets what is left in the dump */
	drop_switch_op(k); /* an unlock check's DELETE goes first anyway */
	set_state(k, CONN_LOCKING);
	/* Locked for the backend's address as we reach it: the backend
	 * claims the flow with its first response segment (HO_F_CLAIM).
	 * Host mode: owned by it at once; its own host drops our client's
	 * segments until it has the socket. */
	k->in_switch = true; /* even a LOCK that failed may have been applied */
	k->sw_op = ctrl_switch_start(c, c->cfg->host_mode ? PRISM_OP_OWN
							  : PRISM_OP_LOCK,
				     &k->key,
				     k->backend->cfg.handoff.sin_addr.s_addr,
				     on_locked, k);
	if (!k->sw_op)
		fail_handoff(k, FAIL_SWITCH, "switch lock");
}

static void start_handoff(struct conn *k, const struct http_request *req,
			  size_t head)
{
	handoff_to(k, req, head, false);
}

/* The backend has the connection: forget our frozen copy.  Called for a
 * HANDOFF_ACK, or for a HANDBACK that came first (a backend that answers
 * and hands back at once sends no separate ACK). */
static void handoff_acked(struct conn *k)
{
	int inq = 0;

	cancel_timer(k);
	metrics_hist_observe(&k->ctrl->handoff_hist,
			     (double)(ctrl_now_us() - k->t_start_us) / 1e6);
	/* Invariant 2: anything the frozen socket ACKed after the dump would
	 * be lost.  The lock makes this impossible unless a segment was
	 * already past the switch; count it if it ever happens. */
	if (!ioctl(k->fd, SIOCINQ, &inq) && (uint32_t)inq != k->st0.inq_len) {
		k->ctrl->stats.late_segments++;
		log_err("conn %llu: %d bytes arrived after the dump (had %u)",
			(unsigned long long)k->id, inq, k->st0.inq_len);
	}
	/* Closing a socket in repair mode sends nothing to the client. */
	close(k->fd);
	k->fd = -1;
	conn_clear_buffer(k);
	/* The session is the backend's now; it comes back with the HANDBACK. */
	tlsconn_free(k->tls);
	k->tls = NULL;
	set_state(k, CONN_REMOTE);
}

static void on_handoff_ack(struct conn *k, const struct ho_msg *m)
{
	if (k->state != CONN_HANDOFF) {
		log_warn("conn %llu: HANDOFF_ACK in state %s",
			 (unsigned long long)k->id, conn_state_name(k->state));
		k->ctrl->stats.unknown_msgs++;
		return;
	}
	if (m->status != HO_OK) {
		fail_handoff(k, FAIL_REFUSED, "refused by backend");
		return;
	}
	handoff_acked(k);
}

/* ---- hand-back ---- */

/* What comes back with the connection: the bytes the backend read but did
 * not use, then its socket's receive queue, both pipelined requests.  When
 * they fit our buffer, the queue goes there too (migrate_queue_as_pending)
 * and the restored socket starts empty: nothing is read from it, so its
 * kernel sends nothing of its own before we have decided the window. */
static int take_back_bytes(struct conn *k, const struct ho_msg *m,
			   struct tcpr_state *st)
{
	size_t n = (size_t)m->pending_len + m->inq_len;
	int err;

	/* TLS: the queue is ciphertext; it stays in the restored socket. */
	if (n > HO_REQUEST_BUF || k->is_tls)
		return conn_set_buffer(k, m->pending, m->pending_len);
	err = conn_set_buffer(k, m->pending, m->pending_len);
	if (err || !m->inq_len)
		return err;
	memcpy(k->buf + k->len, m->inq, m->inq_len);
	k->len = n;
	migrate_queue_as_pending(st);
	return 0;
}

/* A complete request (or a bad one, answered at once) is waiting. */
static bool request_waiting(const struct conn *k)
{
	struct http_request req;

	return k->len && http_parse_request(k->buf, k->len, NULL, &req) != 0;
}

static void drop_tail(struct conn *k);

/* A copy of the restored send queue while its sent part is unacked: the
 * client cannot ask for more before it has it all (tcpr_resend_unacked). */
static void keep_tail(struct conn *k, const struct tcpr_state *st,
		      const uint8_t *outq)
{
	drop_tail(k);
	if (st->outq_len <= st->unsent_len)
		return;
	k->tail = malloc(st->outq_len);
	if (!k->tail)
		return; /* the kernel's own recovery, slower */
	memcpy(k->tail, outq, st->outq_len);
	k->tail_len = st->outq_len;
	k->tail_seq = st->snd_seq - st->outq_len;
}

/* A TLS connection's session, back from the backend. */
static int take_back_tls(struct conn *k, const struct ho_msg *m)
{
	if (!k->is_tls != !(m->flags & HO_F_TLS))
		return -EPROTO;
	if (!k->is_tls)
		return 0;
	k->tls = tlsconn_resume_msg(m);
	return k->tls ? 0 : -errno;
}

static int restore_back(struct conn *k, const struct ho_msg *m, int *fd)
{
	/* The backend's state, on our address: what the restored socket is. */
	struct tcpr_state st = m->tcp;
	bool queued;
	int err;

	st.local_ip = k->key.vip;
	err = take_back_tls(k, m);
	if (!err)
		err = take_back_bytes(k, m, &st);
	if (err)
		return err;
	queued = st.inq_len != 0;
	err = migrate_restore(&st, queued ? m->inq : NULL, m->outq, NULL, 0,
			      fd);
	if (err)
		return err;
	err = migrate_thaw(*fd, &st, m->outq);
	/* Invariant 1: the socket exists before the flow is unlocked, which
	 * the window update does in band on its way to the client (so the
	 * client's next request cannot reach the switch before the unlock).
	 * With a pipelined request waiting, it advertises a zero window: the
	 * next hand-off locks the flow right away, and whatever the client
	 * sent into an open window meanwhile would be dropped there and wait
	 * for its retransmission timeout.  The window opens with the
	 * hand-back that finds nothing waiting.  The socket was just restored
	 * from st: the update is built from it. */
	if (!err && !k->ctrl->cfg->host_mode)
		err = tcpr_window_update_send(k->ctrl->raw_fd, &st,
					      PRISM_TOS_MARK,
					      !queued && request_waiting(k));
	if (!err) {
		k->st0 = st;
		keep_tail(k, &st, m->outq);
	}
	if (err)
		close(*fd);
	return err;
}

/* The client half-closed and everything it asked for is answered: the
 * restored socket gets the client's FIN back (tcpr_peer_fin_send), so
 * that closing it ends the connection as the client expects. */
static void close_half_closed(struct conn *k)
{
	if (tcpr_peer_fin_send(k->ctrl->raw_fd, &k->st0))
		log_debug("conn %llu: peer FIN: %s", (unsigned long long)k->id,
			  tcpr_errmsg());
	conn_close(k);
}

/* A full GET response's size is the object's: a HEAD, a range or a 304
 * says nothing of what the next GET will be.  (A hand-back's bytes may
 * include pipelined responses: never less than the object's.) */
static void learn_size(struct conn *k, int status, uint64_t bytes)
{
	if (status == 200 && !strcmp(k->method, "GET"))
		delivery_learn(k->ctrl, k->size_key, bytes);
}

/* What the backend sent: the socket's write_seq moved by exactly the
 * bytes written to the client; the status comes in the HANDBACK. */
static void account_response(struct conn *k, const struct ho_msg *m)
{
	uint64_t bytes = (uint32_t)(m->tcp.snd_seq - k->st0.snd_seq);
	struct ctrl_backend *b = k->backend;

	k->ctrl->stats.handbacks++;
	b->response_bytes += bytes;
	ctrl_status_add(&b->statuses, m->http_status);
	metrics_hist_observe(&k->ctrl->request_hist,
			     (double)(ctrl_now_us() - k->t_start_us) / 1e6);
	ctrl_access_log(k->ctrl, k, m->http_status, bytes, "handoff");
	learn_size(k, m->http_status, bytes);
}

static void on_unlocked(void *arg, int status);

/* The backend or the client ends the connection with this response:
 * the client's FIN back to it if it half-closed, else our FIN. */
static void close_after_handback(struct conn *k)
{
	if (k->peer_fin)
		close_half_closed(k);
	else if (resume(k))
		conn_close(k);
	else
		linger_close(k); /* FIN now, then wait for the client's */
}

/* Host mode, the hand-back's DELETE answered.  Failed: tried again (the
 * entry would send the client's segments to the backend's host forever);
 * done: the close the backend asked for, or our window, unless a
 * pipelined request is on its way out (its hand-off keeps it closed). */
static void on_home(void *arg, int status)
{
	struct conn *k = arg;

	k->sw_op = 0;
	if (status) {
		log_warn("conn %llu: DELETE after the hand-back: %s; again",
			 (unsigned long long)k->id, strerror(-status));
		k->in_switch = true;
		switch_release(k, on_home);
		return;
	}
	if (k->close_when_home) {
		k->close_when_home = false;
		close_after_handback(k);
		return;
	}
	if (!k->len && !k->quiescing)
		on_unlocked(k, 0);
}

static void on_handback(struct conn *k, const struct ho_msg *m)
{
	struct ho_msg ack = { .type = HO_HANDBACK_ACK, .conn_id = k->id };
	int fd = -1, err;

	if (k->state == CONN_HANDOFF)
		handoff_acked(k);
	if (k->state != CONN_REMOTE) {
		log_warn("conn %llu: HANDBACK in state %s",
			 (unsigned long long)k->id, conn_state_name(k->state));
		k->ctrl->stats.unknown_msgs++;
		return;
	}
	account_response(k, m); /* before st0 becomes the restored state */
	err = restore_back(k, m, &fd);
	ack.status = err ? HO_ERR_RESTORE : HO_OK;
	/* Nothing at the backend waits for it (its frozen socket is closed
	 * already; the ACK frees its record and counts a failure): sent
	 * with the next HANDOFF to it, one write, rather than waking the
	 * backend for it alone, which cost the controller a cross-CPU
	 * wake-up per request here. */
	ctrl_backend_send_lazy(k->backend, &ack);
	if (err) {
		log_err("conn %llu: restore after hand-back: %s",
			(unsigned long long)k->id, strerror(-err));
		k->ctrl->fails[FAIL_RESTORE]++;
		conn_close(k);
		return;
	}
	k->fd = fd;
	k->may_relay = false; /* on_new says why */
	k->unlock_unconfirmed = !k->ctrl->cfg->host_mode;
	k->unlock_resends = 0;
	/* Host mode: the flow comes home by a DELETE at our own host, the
	 * socket being there (invariant 1); a close, or the window update,
	 * follows its answer (on_home): before it, the client's segments
	 * still go to the backend's host and are dropped there. */
	if (k->ctrl->cfg->host_mode) {
		k->close_when_home = (m->flags & HO_F_CLOSE) || !k->keep_alive;
		switch_release(k, on_home);
		if (k->close_when_home)
			return;
	}
	if ((m->flags & HO_F_CLOSE) || !k->keep_alive) {
		close_after_handback(k);
		return;
	}
	/* Pipelined requests first, each through the policy; a half-closed
	 * client's socket is not watched (its EOF is known), so a TLS one's
	 * records are opened now. */
	if (!k->peer_fin && resume(k)) {
		conn_close(k);
		return;
	}
	if (k->peer_fin && k->tls)
		while (conn_read(k) > 0)
			;
	if (request_waiting(k)) {
		k->pipelining = true;
		if (wait_for_tail(k, m->outq))
			return;
	}
	if (k->len && process(k, false))
		return;
	if (k->peer_fin)
		close_half_closed(k);
}

/* The fallback's DELETE is applied: the client's probes reach us now;
 * tell it our window again. */
static void on_unlocked(void *arg, int status)
{
	struct conn *k = arg;

	k->sw_op = 0;
	if (status || k->state != CONN_READING || k->fd < 0)
		return;
	if (tcpr_send_window_update(k->ctrl->raw_fd, k->fd, 0))
		log_debug("conn %llu: window update: %s",
			  (unsigned long long)k->id, tcpr_errmsg());
}

/* A packet lost before the switch would leave the flow locked and the
 * client's window at 0: its zero-window probes would be dropped forever.
 * A client that has said nothing since the hand-back may just be idle, so
 * unlock through the agent (idempotent) and re-open the window again. */
static void confirm_unlock(struct conn *k)
{
	k->unlock_unconfirmed = false;
	if (k->state != CONN_READING || k->fd < 0)
		return;
	k->ctrl->stats.unlock_fallbacks++;
	switch_release(k, on_unlocked);
}

/* ---- relay (adaptive delivery) ---- */

/* The request head goes to the backend, which answers it in-line if the
 * response is at most relay_max bytes.  Nothing at the switch changes. */
static void start_relay(struct conn *k, const struct http_request *req,
			size_t head)
{
	struct ctrl *c = k->ctrl;
	struct ho_msg m = { .type = HO_REQUEST, .conn_id = k->id };
	uint64_t id = k->id;

	note_request(k, req);
	if (!pick(k, req))
		return;
	k->head_len = head;
	pause_conn(k);
	drop_tail(k);
	set_state(k, CONN_RELAY);
	if (arm(k, c->cfg->handoff_timeout_ms, on_handoff_timeout)) {
		conn_close(k);
		return;
	}
	m.pending = (const uint8_t *)k->buf;
	m.pending_len = (uint32_t)head;
	m.relay_kb = (uint16_t)(c->cfg->relay_max >> 10);
	k->relay_limit = (uint32_t)m.relay_kb << 10;
	if (ctrl_backend_send(k->backend, &m) && still(c, id, CONN_RELAY))
		fail_handoff(k, FAIL_SEND, "channel send");
}

/* Declined (too large): handed off to the backend that declined (the
 * policy chose it for this request already), the target remembered as
 * one to hand off straight away. */
static void relay_declined(struct conn *k)
{
	struct http_request req;
	int r = http_parse_request(k->buf, k->len, NULL, &req);

	k->ctrl->stats.relay_declined++;
	delivery_learn(k->ctrl, k->size_key, UINT64_MAX);
	cancel_timer(k);
	set_state(k, CONN_READING);
	if (r <= 0) { /* it parsed before: cannot happen */
		conn_close(k);
		return;
	}
	handoff_to(k, &req, (size_t)r, true);
}

/* Whether the request waiting behind a relayed one is one to hand off
 * (its LOCK would drop the client's ACKs of what we just wrote). */
static bool next_is_handoff(const struct conn *k)
{
	struct http_request req;

	return http_parse_request(k->buf, k->len, NULL, &req) > 0 &&
	       !to_relay(k, &req, delivery_key(&req));
}

/* Part of the relayed response unacknowledged: the next hand-off waits
 * until the client has acknowledged it, as after a hand-back, rather than
 * freezing a socket whose ACKs the lock would drop. */
static bool wait_for_ack(struct conn *k)
{
	int unacked = 0;

	return !ioctl(k->fd, SIOCOUTQ, &unacked) && unacked > 0 &&
	       quiesce_until_acked(k);
}

/* The relayed response has left (or is queued in the kernel): the next
 * request, as after a hand-back, or the close it asked for. */
static void relay_done(struct conn *k)
{
	if (k->relay_close || !k->keep_alive) {
		if (k->peer_fin || resume(k)) {
			conn_close(k);
			return;
		}
		linger_close(k);
		return;
	}
	if (k->peer_fin)
		set_state(k, CONN_READING); /* its EOF is known: not watched */
	else if (resume(k)) {
		conn_close(k);
		return;
	}
	if (k->len && next_is_handoff(k) && wait_for_ack(k))
		return;
	if (k->len && process(k, false))
		return;
	if (k->peer_fin)
		conn_close(k); /* answered all it asked: our FIN goes */
}

static void on_writable(struct evloop *loop, int fd, uint32_t events,
			void *arg)
{
	struct conn *k = arg;
	int r = conn_flush_out(k);

	(void)loop;
	(void)fd;
	(void)events;
	if (r == 0) {
		/* The client took some: the idle timeout starts again. */
		if (arm(k, k->ctrl->cfg->idle_timeout_ms, on_idle_timeout))
			conn_close(k);
		return;
	}
	conn_unwatch(k);
	if (r < 0) {
		conn_close(k);
		return;
	}
	cancel_timer(k);
	relay_done(k);
}

/* The backend's counters and the access log see a relayed response as
 * they see a handed-off one. */
static void account_relay(struct conn *k, const struct ho_msg *m)
{
	struct ctrl_backend *b = k->backend;

	k->ctrl->stats.relayed++;
	k->ctrl->stats.relay_bytes += m->pending_len;
	b->relays++;
	b->response_bytes += m->pending_len;
	ctrl_status_add(&b->statuses, m->http_status);
	metrics_hist_observe(&k->ctrl->request_hist,
			     (double)(ctrl_now_us() - k->t_start_us) / 1e6);
	ctrl_access_log(k->ctrl, k, m->http_status, m->pending_len,
			"relay");
	learn_size(k, m->http_status, m->pending_len);
}

static void on_response(struct conn *k, const struct ho_msg *m)
{
	int r;

	if (k->state != CONN_RELAY) {
		log_warn("conn %llu: RESPONSE in state %s",
			 (unsigned long long)k->id, conn_state_name(k->state));
		k->ctrl->stats.unknown_msgs++;
		return;
	}
	if (m->status != HO_OK) {
		relay_declined(k);
		return;
	}
	if (m->pending_len > k->relay_limit) {
		/* More than we asked for: a backend not to be trusted with
		 * our memory (a slow client would keep it queued here). */
		k->ctrl->stats.unknown_msgs++;
		fail_handoff(k, FAIL_REFUSED, "response over the relay limit");
		return;
	}
	cancel_timer(k);
	account_relay(k, m);
	k->relay_close = (m->flags & HO_F_CLOSE) != 0;
	/* The request is answered: what follows it is the next one. */
	memmove(k->buf, k->buf + k->head_len, k->len - k->head_len);
	k->len -= k->head_len;
	set_state(k, CONN_WRITING);
	r = conn_write_out(k, m->pending, m->pending_len);
	/* A client that does not read is closed after the idle timeout,
	 * like one that sends nothing. */
	if (r == 0 && (conn_watch_write(k, on_writable) ||
		       arm(k, k->ctrl->cfg->idle_timeout_ms, on_idle_timeout)))
		r = -ENOMEM;
	if (r < 0)
		conn_close(k);
	else if (r > 0)
		relay_done(k);
}

/* ---- losses ---- */

/* The backend lost the connection (client reset, fatal error): it removed
 * its switch entry; make sure, and forget the connection. */
static void on_closed(struct conn *k)
{
	log_debug("conn %llu: closed at backend %s", (unsigned long long)k->id,
		  k->backend->cfg.name);
	k->ctrl->stats.closed_remote++;
	conn_close(k);
}

void fsm_backend_msg(struct ctrl_backend *b, const struct ho_msg *m,
		     void *arg)
{
	struct ctrl *c = arg;
	struct conn *k = conn_lookup(c, m->conn_id);

	if (!k || k->backend != b) {
		log_warn("backend %s: %s for unknown connection %llu",
			 b->cfg.name, ho_type_name(m->type),
			 (unsigned long long)m->conn_id);
		c->stats.unknown_msgs++;
		return;
	}
	if (m->type == HO_HANDOFF_ACK)
		on_handoff_ack(k, m);
	else if (m->type == HO_HANDBACK)
		on_handback(k, m);
	else if (m->type == HO_CLOSED)
		on_closed(k);
	else if (m->type == HO_RESPONSE)
		on_response(k, m);
	else
		c->stats.unknown_msgs++;
}

/* The connection died with its backend.  A client that is only reading
 * sends nothing that would reach our socket-less host and be reset, so we
 * make it send: a segment far outside its window draws a duplicate ACK
 * (RFC 793), which reaches the controller's kernel once the rule is gone,
 * and that answers with a RST the client accepts (seq = its rcv_nxt). */
struct reset_probe {
	struct ctrl *ctrl;
	struct tcpr_state st;
	uint64_t id;
};

static void send_reset_probe(void *arg, int status)
{
	struct reset_probe *p = arg;

	(void)status; /* without the DELETE the probe is harmless, and may
		       * still do its job once the rule goes */
	if (tcpr_window_update_send(p->ctrl->raw_fd, &p->st, 0, false))
		log_warn("conn %llu: reset probe: %s", (unsigned long long)p->id,
			 tcpr_errmsg());
	free(p);
}

static void reset_client(struct conn *k)
{
	struct reset_probe *p = malloc(sizeof(*p));

	if (!p) {
		switch_release(k, NULL);
		return;
	}
	p->ctrl = k->ctrl;
	p->id = k->id;
	p->st = k->st0;
	p->st.snd_seq -= 0x40000000u;
	p->st.unsent_len = 0;
	/* A pure ACK with an old TSval fails PAWS and is dropped silently
	 * (no duplicate ACK) by recent kernels: put the timestamp ahead of
	 * anything the backend sent since (TS clocks tick in ms here). */
	p->st.ts_val +=
		(uint32_t)((ctrl_now_us() - k->t_start_us) / 1000) + 1000;
	/* The probe must follow the DELETE. */
	drop_switch_op(k);
	k->in_switch = false;
	if (!ctrl_switch_start(k->ctrl, PRISM_OP_DELETE, &k->key, 0,
			       send_reset_probe, p))
		send_reset_probe(p, -ENOMEM);
}

/* A backend's channel died: every connection it was serving is lost.
 * One still LOCKING finds out when it sends its HANDOFF. */
void fsm_backend_down(struct ctrl_backend *b, void *arg)
{
	struct ctrl *c = arg;

	for (uint32_t i = 0; i < c->n_slots; i++) {
		struct conn *k = c->conns[i];

		if (!k || k->backend != b)
			continue;
		if (k->state == CONN_HANDOFF || k->state == CONN_RELAY) {
			fail_handoff(k, FAIL_CHANNEL, "backend channel closed");
		} else if (k->state == CONN_REMOTE) {
			reset_client(k);
			conn_close(k);
		}
	}
}
