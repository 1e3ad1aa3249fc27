/* The controller's event loop and the per-connection state machine.
 *
 *   READING --request head--> (lock flow, freeze, dump) --> HANDOFF
 *   HANDOFF --HANDOFF_ACK ok--> REMOTE   (frozen socket closed silently)
 *   HANDOFF --refused/timeout--> unlock, thaw, 503, CLOSING
 *   REMOTE  --HANDBACK--> (restore, unlock, thaw, window update) READING
 *   READING --EOF--> closed (the kernel finishes the close handshake)
 *   READING --bad request--> 4xx, CLOSING
 *
 * The ordering invariants of ../shared/DESIGN.md are kept here: the flow
 * is locked at the switch before the socket is frozen, and a restored
 * socket exists before the flow is unlocked. */
#include "controller/controller.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "controller/backend_set.h"
#include "controller/conn.h"
#include "controller/policy.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/migrate.h"
#include "switch/client.h"

void controller_config_init(struct controller_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen.sin_family = AF_INET;
	cfg->listen.sin_port = htons(80);
	cfg->idle_timeout_ms = 60000;
	cfg->header_timeout_ms = 10000;
	cfg->peer_id = 1;
	cfg->handoff_timeout_ms = 2000;
	cfg->switch_timeout_ms = 500;
	cfg->admin.sin_family = AF_INET;
	cfg->admin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg->admin.sin_port = htons(9900);
	cfg->health_path = "/health";
	cfg->health_interval_ms = 1000;
	cfg->health_timeout_ms = 500;
	cfg->health_fall = 2;
	cfg->health_rise = 2;
	cfg->backoff_ms = 2000;
}

/* BACKEND_IP: the claimant of a LOCK (0: none), see prism_abi.h. */
static int switch_op_for(struct ctrl *c, uint8_t op,
			 const struct prism_flow_key *k, __be32 backend_ip)
{
	struct switch_op o = { .op = op, .key = *k, .backend_ip = backend_ip };
	int err = switch_client_op(&c->sw, &o, (int)c->cfg->switch_timeout_ms);

	if (err) {
		c->stats.switch_errors++;
		log_warn("switch %s %s: %s", c->switch_name,
			 switch_op_name(op), strerror(-err));
	}
	return err;
}

static int switch_op(struct ctrl *c, uint8_t op, const struct prism_flow_key *k)
{
	return switch_op_for(c, op, k, 0);
}

/* Removes the connection's switch entry, if it may have one (from its
 * first LOCK until a DELETE; HOME between requests, prism_abi.h). */
int conn_switch_release(struct conn *k)
{
	int err;

	if (!k->in_switch)
		return 0;
	err = switch_op(k->ctrl, PRISM_OP_DELETE, &k->key);
	if (!err)
		k->in_switch = false;
	return err;
}

/* ---- replies the controller makes itself ---- */

static void reply_status(struct conn *k, int status)
{
	static const struct {
		int code;
		const char *text;
	} texts[] = {
		{ 400, "Bad Request" },
		{ 408, "Request Timeout" },
		{ 431, "Request Header Fields Too Large" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	const char *text = "Error";
	char buf[256];
	int n;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == status)
			text = texts[i].text;
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\nContent-Type: text/plain\r\n\r\n%s\n",
		     status, text, strlen(text) + 1, text);
	/* Best effort: a client that does not read its error is gone. */
	if (write(k->fd, buf, (size_t)n) < 0)
		log_debug("conn %llu: error reply: %s",
			  (unsigned long long)k->id, strerror(errno));
	k->ctrl->stats.errors[status / 100 == 4 ? 0 : 1]++;
	ctrl_status_add(&k->ctrl->own_replies, (unsigned)status);
	ctrl_access_log(k->ctrl, k, status, (uint64_t)n);
	conn_linger_close(k);
}

/* ---- hand-off ---- */

static void fail_handoff(struct conn *k, enum ctrl_fail reason,
			 const char *why)
{
	struct ctrl *c = k->ctrl;

	log_warn("conn %llu: hand-off to %s failed: %s",
		 (unsigned long long)k->id,
		 k->backend ? k->backend->cfg.name : "?", why);
	c->stats.handoff_failures++;
	c->fails[reason]++;
	if (k->backend)
		k->backend->failures++;
	/* Passive health: a backend that refused, timed out or lost its
	 * channel gets no new requests for a while. */
	if (k->backend && (reason == FAIL_REFUSED || reason == FAIL_TIMEOUT ||
			   reason == FAIL_CHANNEL || reason == FAIL_SEND))
		ctrl_backend_backoff(k->backend, c->cfg->backoff_ms);
	conn_cancel_timer(k);
	/* Unlock first: the thawed socket must receive the client again. */
	conn_switch_release(k);
	/* Before the freeze (a LOCK that failed, e.g. a full table) the
	 * socket is live; after it, thaw it first. */
	if (k->fd >= 0 && (k->state != CONN_HANDOFF ||
			   !tcpr_repair_off(k->fd, false))) {
		conn_set_state(k, CONN_READING);
		reply_status(k, 503);
		return;
	}
	conn_destroy(k);
}

static void handoff_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	fail_handoff(k, FAIL_TIMEOUT, "timed out");
}

/* Whether the body bytes queued in the frozen socket go after the HANDOFF
 * (HO_F_MORE) rather than inside it.  While the flow is locked the client's
 * segments are dropped, and an upload's queue (often 100-200 KB) took
 * milliseconds to reach the backend inside the HANDOFF: long enough for the
 * client's loss probe to fire into the lock and be dropped too, leaving a
 * 200 ms RTO.  Only for a request with a body (a GET's pipelined requests
 * could outlive the response), and only what the backend takes as pending
 * (CONN_SPLIT_MAX). */
static bool split_handoff(const struct conn *k, const struct http_request *req,
			  const struct frozen *f)
{
	return f->st.inq_len && !req->expect_continue &&
	       (req->content_length > 0 || req->chunked) &&
	       k->len + f->st.inq_len <= CONN_SPLIT_MAX;
}

/* LEN bytes at P in HANDOFF_DATA messages; LAST: nothing follows them. */
static int send_handoff_data(struct conn *k, const uint8_t *p, size_t len,
			     bool last)
{
	struct ho_msg m = { .type = HO_HANDOFF_DATA, .conn_id = k->id };
	int err = 0;

	while (!err && len) {
		size_t n = len < CONN_SPLIT_CHUNK ? len : CONN_SPLIT_CHUNK;

		m.pending = p;
		m.pending_len = (uint32_t)n;
		m.flags = n < len || !last ? HO_F_MORE : 0;
		err = ctrl_backend_send(k->backend, &m);
		p += n;
		len -= n;
	}
	return err;
}

/* The queue travels as pending bytes: the backend's socket starts empty at
 * the same rcv_nxt (those bytes were acknowledged here), as if it had read
 * them, and offers the window that reading would have re-opened.  Without
 * that a client that had filled our window would wait at a zero window
 * for good: nothing is read from the new socket until the queue arrives
 * through the channel, and its window update (pb_window) would repeat the
 * zero it believes it advertised. */
static void split_state(struct tcpr_state *st)
{
	uint32_t win = st->rcv_wup + st->rcv_wnd - st->rcv_seq;

	if ((int32_t)win < 0)
		win = 0;
	st->rcv_wup = st->rcv_seq;
	st->rcv_wnd = win + st->inq_len;
	st->inq_len = 0;
}

/* HEAD > 0: a split hand-off; the HANDOFF carries the request head (HEAD
 * bytes) and HANDOFF_DATA messages the rest of our buffer, then the
 * receive queue: the smaller the HANDOFF, the sooner the backend has the
 * connection. */
static int send_handoff(struct conn *k, const struct frozen *f, size_t head)
{
	struct ho_msg m = { .type = HO_HANDOFF, .conn_id = k->id };
	int err;

	m.flags = HO_F_CLAIM | (head ? HO_F_MORE : 0);
	m.tcp = f->st;
	m.pending = (const uint8_t *)k->buf;
	m.pending_len = (uint32_t)(head ? head : k->len);
	if (head) {
		split_state(&m.tcp);
	} else {
		m.inq = f->inq;
		m.inq_len = f->st.inq_len;
	}
	m.outq = f->outq;
	m.outq_len = f->st.outq_len;
	err = ctrl_backend_send(k->backend, &m);
	if (err || !head)
		return err;
	k->ctrl->stats.split_handoffs++;
	err = send_handoff_data(k, (const uint8_t *)k->buf + head,
				k->len - head, false);
	if (!err)
		err = send_handoff_data(k, f->inq, f->st.inq_len, true);
	return err;
}

static void on_backend_msg(struct ctrl_backend *b, const struct ho_msg *m,
			   void *arg);
static void on_backend_down(struct ctrl_backend *b, void *arg);

void ctrl_backend_add(struct ctrl *c, struct ctrl_backend *b,
		      const struct ctrl_backend_config *cfg)
{
	ctrl_backend_init(b, cfg, c->loop, &c->key, on_backend_msg,
			  on_backend_down, c);
	if ((unsigned)(b - c->backends) + 1 > c->n_bslots)
		c->n_bslots = (unsigned)(b - c->backends) + 1;
	ctrl_backend_connect(b);
	health_start(b, &c->cfg);
}

uint64_t ctrl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
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
 * health checks, passive back-off deadlines and draining. */
static struct ctrl_backend *ctrl_pick(struct ctrl *c,
				      const struct http_request *req)
{
	const struct ctrl_route *rt = NULL;
	unsigned r;
	int i;

	for (unsigned j = 0; j < c->n_backends; j++)
		c->members[j]->usable = ctrl_backend_usable(c->bptr[j]);
	for (r = 0; r < c->cfg->n_routes && !rt; r++)
		if (route_matches(&c->cfg->routes[r], req))
			rt = &c->cfg->routes[r];
	if (rt) {
		struct ctrl_pool *p = &c->pools[r - 1];

		i = policy_pick(&p->policy, req);
		return i < 0 ? NULL : p->bptr[i];
	}
	i = policy_pick(&c->policy, req);
	return i < 0 ? NULL : c->bptr[i];
}

/* Steps 3-6 of the thesis' Figure 2.1: lock, freeze, export, send. */
static void start_handoff(struct conn *k, const struct http_request *req,
			  size_t head)
{
	enum ctrl_fail reason = FAIL_FREEZE;
	struct ctrl *c = k->ctrl;
	struct frozen f;
	int err;

	snprintf(k->method, sizeof(k->method), "%.*s",
		 (int)req->method_text.len, req->method_text.p);
	snprintf(k->target, sizeof(k->target), "%.*s", (int)req->target.len,
		 req->target.p);
	k->t_start_us = ctrl_now_us();
	/* A client that half-closed right after its request (CLOSE_WAIT)
	 * cannot be migrated (TCP_REPAIR dumps established sockets only); it
	 * is the client's doing, not a backend failure: just close. */
	if (!conn_established(k)) {
		c->stats.client_closed++;
		conn_destroy(k);
		return;
	}
	k->backend = ctrl_pick(c, req);
	if (!k->backend) {
		log_warn("conn %llu: no backend up", (unsigned long long)k->id);
		c->fails[FAIL_NO_BACKEND]++;
		reply_status(k, 503);
		return;
	}
	k->keep_alive = req->keep_alive;
	conn_pause(k);
	k->unlock_unconfirmed = false;
	/* Locked for the backend's address as we reach it: the backend
	 * claims the flow with its first response segment (HO_F_CLAIM). */
	k->in_switch = true; /* even a failed LOCK may have been applied */
	if (switch_op_for(c, PRISM_OP_LOCK, &k->key,
			  k->backend->cfg.handoff.sin_addr.s_addr)) {
		fail_handoff(k, FAIL_SWITCH, "switch lock");
		return;
	}
	err = migrate_freeze(k->fd, &f);
	if (!err) {
		conn_set_state(k, CONN_HANDOFF);
		k->st0 = f.st;
		err = send_handoff(k, &f, split_handoff(k, req, &f) ? head : 0);
		if (err)
			reason = FAIL_SEND;
	}
	k->backend->handoff_bytes += k->len + f.st.inq_len + f.st.outq_len;
	migrate_frozen_free(&f);
	if (err) {
		if (k->state != CONN_HANDOFF)
			conn_set_state(k, CONN_HANDOFF);
		fail_handoff(k, reason, strerror(-err));
		return;
	}
	k->backend->handoffs++;
	c->stats.handoffs++;
	k->t_handoff = evloop_now_ms();
	k->timer = evloop_timer_add(c->loop, c->cfg->handoff_timeout_ms,
				    handoff_timeout, k);
}

static void handoff_acked(struct conn *k);

static void on_handoff_ack(struct conn *k, const struct ho_msg *m)
{
	if (k->state != CONN_HANDOFF) {
		log_warn("conn %llu: HANDOFF_ACK in state %s",
			 (unsigned long long)k->id, conn_state_name(k->state));
		return;
	}
	if (m->status != HO_OK) {
		fail_handoff(k, FAIL_REFUSED, "refused by backend");
		return;
	}
	handoff_acked(k);
}

/* The backend has the connection: forget our frozen copy.  Called for a
 * HANDOFF_ACK, or for a HANDBACK that came first (a backend that answers
 * and hands back at once sends no separate ACK). */
static void handoff_acked(struct conn *k)
{
	int inq = 0;

	conn_cancel_timer(k);
	k->t_ack_us = ctrl_now_us();
	metrics_hist_observe(&k->ctrl->handoff_hist,
			     (double)(k->t_ack_us - k->t_start_us) / 1e6);
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
	k->len = 0;
	if (k->cap > CONN_BUF_MAX) { /* a small body's room: give it back */
		free(k->buf);
		k->buf = NULL;
		k->cap = 0;
	}
	conn_set_state(k, CONN_REMOTE);
}

static int restore_back(struct conn *k, const struct ho_msg *m, int *fd)
{
	/* The backend's state, on our address: what the restored socket is. */
	struct tcpr_state st = m->tcp;
	int err;

	st.local_ip = k->key.vip;
	err = migrate_restore(&st, m->inq, m->outq, NULL, fd);
	if (err)
		return err;
	err = migrate_thaw(*fd, &st, m->outq);
	/* Invariant 1: the socket exists before the flow is unlocked, which
	 * the window update does in band on its way to the client (so the
	 * client's next request cannot reach the switch before the unlock).
	 * The socket was just restored from st: build the update from it
	 * instead of dumping the socket again. */
	if (!err)
		err = tcpr_window_update_send(k->ctrl->raw_fd, &st,
					      PRISM_TOS_MARK);
	if (err)
		close(*fd);
	return err;
}

/* What the backend sent: the socket's write_seq moved by exactly the
 * bytes written to the client; the status comes in the HANDBACK. */
static void account_response(struct conn *k, const struct ho_msg *m)
{
	uint64_t bytes = (uint32_t)(m->tcp.snd_seq - k->st0.snd_seq);
	struct ctrl_backend *b = k->backend;

	b->response_bytes += bytes;
	ctrl_status_add(&b->statuses, m->http_status);
	metrics_hist_observe(&k->ctrl->request_hist,
			     (double)(ctrl_now_us() - k->t_start_us) / 1e6);
	ctrl_access_log(k->ctrl, k, m->http_status, bytes);
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
		return;
	}
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
		conn_switch_release(k);
		conn_destroy(k);
		return;
	}
	k->ctrl->stats.handbacks++;
	conn_record_latency(k);
	account_response(k, m);
	k->fd = fd;
	k->unlock_unconfirmed = true;
	if (conn_set_buffer(k, m->pending, m->pending_len) ||
	    conn_resume(k)) {
		conn_destroy(k);
		return;
	}
	if ((m->flags & HO_F_CLOSE) || !k->keep_alive) {
		conn_linger_close(k); /* FIN now, then wait for the client's */
		return;
	}
	if (k->len)
		conn_process(k);
}

/* A packet lost before the switch would leave the flow locked and the
 * client's window at 0: its zero-window probes would be dropped forever.
 * A client that has said nothing since the hand-back may just be idle, so
 * unlock through the agent (idempotent) and re-open the window again. */
void conn_confirm_unlock(struct conn *k)
{
	struct ctrl *c = k->ctrl;

	k->unlock_unconfirmed = false;
	if (k->state != CONN_READING || k->fd < 0)
		return;
	c->stats.unlock_fallbacks++;
	if (conn_switch_release(k))
		return;
	if (tcpr_send_window_update(c->raw_fd, k->fd))
		log_debug("conn %llu: window update: %s",
			  (unsigned long long)k->id, tcpr_errmsg());
}

/* The backend lost the connection (client reset, fatal error): it removed
 * its switch entry; make sure, and forget the connection. */
static void on_closed(struct conn *k)
{
	log_debug("conn %llu: closed at backend %s", (unsigned long long)k->id,
		  k->backend->cfg.name);
	k->ctrl->stats.closed_remote++;
	conn_switch_release(k);
	conn_destroy(k);
}

static void on_backend_msg(struct ctrl_backend *b, const struct ho_msg *m,
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
	else
		c->stats.unknown_msgs++;
}

/* A backend's channel died: every connection it was serving is lost. */
/* The connection died with its backend.  A client that is only reading
 * sends nothing that would reach our socket-less host and be reset, so we
 * make it send: a segment far outside its window draws a duplicate ACK
 * (RFC 793), which now reaches the controller's kernel (the rule is gone),
 * and that answers with a RST the client accepts (seq = its rcv_nxt). */
static void send_reset_probe(struct ctrl *c, const struct conn *k)
{
	struct tcpr_state st = k->st0;

	st.snd_seq -= 0x40000000u;
	st.unsent_len = 0;
	/* A pure ACK with an old TSval fails PAWS and is dropped silently
	 * (no duplicate ACK) by recent kernels: put the timestamp ahead of
	 * anything the backend sent since (TS clocks tick in ms here). */
	st.ts_val += (uint32_t)(evloop_now_ms() - k->t_handoff) + 1000;
	if (tcpr_window_update_send(c->raw_fd, &st, 0))
		log_warn("conn %llu: reset probe: %s", (unsigned long long)k->id,
			 tcpr_errmsg());
}

static void on_backend_down(struct ctrl_backend *b, void *arg)
{
	struct ctrl *c = arg;

	for (uint32_t i = 0; i < c->n_slots; i++) {
		struct conn *k = c->conns[i];

		if (!k || k->backend != b)
			continue;
		if (k->state == CONN_HANDOFF) {
			fail_handoff(k, FAIL_CHANNEL, "backend channel closed");
		} else if (k->state == CONN_REMOTE) {
			conn_switch_release(k);
			send_reset_probe(c, k);
			conn_destroy(k);
		}
	}
}

/* ---- request processing ---- */

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

void conn_process(struct conn *k)
{
	struct http_request req;
	int r = http_parse_request(k->buf, k->len, NULL, &req);

	if (r == 0)
		return;
	if (r < 0) {
		k->method[0] = k->target[0] = 0;
		k->backend = NULL;
		k->t_start_us = 0;
		k->ctrl->stats.bad_requests++;
		reply_status(k, http_error_status(r));
		return;
	}
	if (wait_for_body(k, &req, (size_t)r))
		return;
	k->ctrl->stats.requests++;
	start_handoff(k, &req, (size_t)r);
}

/* ---- setup ---- */

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	struct ctrl *c = arg;

	(void)events;
	if (read(fd, &si, sizeof(si)) <= 0)
		return;
	if (si.ssi_signo == SIGHUP) {
		log_info("SIGHUP: reloading the configuration");
		ctrl_reload(c);
		return;
	}
	log_info("signal %u: shutting down", si.ssi_signo);
	evloop_stop(loop);
}

static int ctrl_open(struct ctrl *c, const struct controller_config *cfg)
{
	char ip[INET_ADDRSTRLEN];
	int err;

	static const double buckets[] = { 0.0001, 0.00025, 0.0005, 0.001,
					  0.0025, 0.005, 0.01, 0.025, 0.05,
					  0.1, 0.25, 0.5, 1, 2.5, 10 };

	c->cfg = cfg;
	snprintf(c->switch_name, sizeof(c->switch_name), "%s", cfg->switch_agent);
	metrics_hist_init(&c->handoff_hist, buckets, 15);
	metrics_hist_init(&c->request_hist, buckets, 15);
	c->listen_fd = c->raw_fd = c->sig_fd = -1;
	c->sw.fd = -1;
	c->loop = evloop_new();
	if (!c->loop)
		return -ENOMEM;
	err = auth_key_load(cfg->key_path, &c->key);
	if (err)
		return err;
	err = switch_client_open(&c->sw, cfg->switch_agent, &c->key,
				 cfg->peer_id);
	if (err < 0) {
		log_err("switch agent %s: %s", cfg->switch_agent, strerror(-err));
		return err;
	}
	c->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (c->raw_fd < 0) {
		log_err("raw socket (window updates): %s", strerror(errno));
		return -errno;
	}
	c->listen_fd = net_listen(&cfg->listen, 4096, true);
	if (c->listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->listen.sin_addr, ip, sizeof(ip));
		log_err("listen %s:%u: %s", ip, ntohs(cfg->listen.sin_port),
			strerror(-c->listen_fd));
		return c->listen_fd;
	}
	signal(SIGPIPE, SIG_IGN);
	c->sig_fd = evloop_add_signals(c->loop,
				       (const int[]){ SIGINT, SIGTERM, SIGHUP, 0 },
				       on_signal, c);
	if (c->sig_fd < 0)
		return c->sig_fd;
	/* Not fatal: serving clients matters more than the endpoint (two
	 * controllers in one host would otherwise not both start). */
	err = admin_open(c->loop, &cfg->admin, ctrl_admin_handler, c, &c->admin);
	if (err) {
		inet_ntop(AF_INET, &cfg->admin.sin_addr, ip, sizeof(ip));
		log_warn("admin %s:%u: %s: no admin endpoint", ip,
			 ntohs(cfg->admin.sin_port), strerror(-err));
	}
	err = ctrl_access_log_open(c);
	if (err)
		return err;
	return evloop_add(c->loop, c->listen_fd, EVLOOP_READ, conn_accept, c);
}

static void ctrl_close(struct ctrl *c)
{
	for (uint32_t i = 0; i < c->n_slots; i++) {
		struct conn *k = c->conns[i];

		/* Flows a backend owns or that are locked must not outlive
		 * the controller at the switch. */
		if (k)
			conn_destroy(k);
	}
	for (unsigned i = 0; i < c->n_bslots; i++)
		if (c->backends[i].in_use)
			ctrl_backend_close(&c->backends[i]);
	if (c->sweep)
		evloop_timer_cancel(c->loop, c->sweep);
	admin_close(c->admin);
	if (c->access_log && c->access_log != stderr)
		fclose(c->access_log);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->raw_fd >= 0)
		close(c->raw_fd);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	if (c->sw.fd >= 0)
		switch_client_close(&c->sw);
	free(c->conns);
	free(c->free_slots);
	if (c->loop)
		evloop_free(c->loop);
	auth_key_clear(&c->key);
}

static void write_ready_file(const char *path)
{
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
}

/* Ready means: listening, and a hand-off channel to every backend. */
static void ready_poll(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct ctrl *c = arg;

	for (unsigned i = 0; i < c->n_backends; i++)
		if (!ctrl_backend_usable(c->bptr[i]) && !c->bptr[i]->cfg.drain) {
			evloop_timer_mod(loop, t, 20);
			return;
		}
	write_ready_file(c->cfg->ready_file);
	log_info("ready: %u backends connected", c->n_backends);
}

int controller_run(const struct controller_config *cfg)
{
	struct ctrl *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = ctrl_open(c, cfg);
	if (err)
		goto out;
	for (unsigned i = 0; i < cfg->n_backends; i++)
		ctrl_backend_add(c, &c->backends[i], &cfg->backends[i]);
	err = policy_parse(&c->policy, cfg->policy ? cfg->policy : "rr");
	c->weights_changed = true;
	if (!err)
		err = ctrl_backends_sync(c);
	if (err)
		goto out;
	evloop_timer_add(c->loop, 0, ready_poll, c);
	log_info("serving on port %u with %u backends",
		 ntohs(cfg->listen.sin_port), cfg->n_backends);
	err = evloop_run(c->loop);
	ctrl_stats_log(c);
out:
	ctrl_close(c);
	policy_free(&c->policy);
	for (unsigned i = 0; i < CTRL_MAX_ROUTES; i++)
		policy_free(&c->pools[i].policy);
	if (c->cfg_owned) {
		controller_config_free((struct controller_config *)c->cfg);
		free((void *)c->cfg);
	}
	free(c);
	return err;
}
