/* The backend's connections.  One state machine for direct and handed-off
 * connections; the only difference is what happens after a response:
 * a direct connection reads the next request, a handed-off one waits until
 * its response is sent and goes back to the controller.
 *
 *   READING --head--> [BODY --body read--> [WINDOW]] WRITING
 *   WRITING --all written--> (direct) READING
 *                        --> (handed off) DRAINING
 *   DRAINING --unsent == 0, small unacked tail--> handed back (gone)
 *
 * WINDOW: a handed-off connection whose body needed the client's window
 * waits for the switch to zero it again (pb_window) before it answers.
 *
 * A request body (Content-Length or chunked) is consumed exactly: into the
 * object store for PUT/POST /obj/KEY, discarded otherwise, so that the
 * bytes after it (a pipelined request) are the next request's, here or at
 * the controller after the hand-back.  buf[0..pos) is what the current
 * request has consumed; buf[pos..len) is not yet looked at. */
#include "backend/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/bmetrics.h"
#include "backend/represent.h"
#include "backend/serve.h"
#include "backend/store.h"
#include "backend/takeover.h"
#include "lib/adminsrv.h"
#include "lib/daemon.h"
#include "lib/evloop.h"
#include "lib/handoff.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/tlsconn.h"

#define DRAIN_POLL_MS 1
/* A client that stops reading holds its connection at most this long. */
#define DRAIN_TIMEOUT_MS 30000

enum bconn_state { B_READING, B_BODY, B_WINDOW, B_WRITING, B_DRAINING };

struct bsrv {
	const struct backend_config *cfg;
	struct serve_config serve;
	struct evloop *loop;
	struct pb *pb;
	struct store store;
	bool have_store;
	int listen_fd, sig_fd;
	int tls_listen_fd;  /* direct HTTPS (cfg->tls_cert), or -1 */
	SSL_CTX *tls_ctx;
	uint64_t requests, direct_requests, handed_requests, relayed_requests;
	uint8_t *relay_buf; /* a relayed response, rendered */
	size_t relay_cap;
	uint64_t puts, body_bytes, aborted_uploads;
	uint64_t by_class[6];
	struct admin *admin;
	struct bconn *conns; /* every live connection, closed at shutdown */
};

struct bconn {
	struct bsrv *srv;
	int fd;
	enum bconn_state state;
	struct pb_conn *pc; /* NULL for direct connections */
	size_t len, pos;
	bool keep_alive;
	/* the request body: Content-Length bytes left, or chunked */
	bool chunked;
	uint64_t body_left, body_seen;
	struct http_chunked chunk;
	struct store_put *put; /* NULL: the body is discarded */
	bool expect_continue; /* send 100 Continue before reading the body */
	bool body_waiting;    /* the body is being read from the socket */
	bool window_open;     /* handed off: the switch passes our window */
	enum serve_method method;
	struct serve_response resp;
	bool have_resp;
	struct evtimer *timer;
	uint64_t drain_deadline;
	struct bconn *next, *prev;
	/* HTTPS: the session (pb_conn_tls, or ours for a direct one), or
	 * NULL: every byte to and from the client goes through it. */
	struct tlsconn *tls;
	bool tls_own; /* direct HTTPS: freed with the connection */
	bool tls_watch_write; /* its handshake's records wait for the socket */
	/* HO_REQUEST_BUF, or what a hand-off brought if more (a small request
	 * body the controller received before handing off) */
	size_t cap;
	char buf[];
};

static void bconn_io(struct evloop *loop, int fd, uint32_t events, void *arg);

/* Handed off with more pending bytes on their way from the controller
 * (pb_more_coming): they come before anything in fd. */
static bool awaiting(const struct bconn *b)
{
	return b->pc && pb_more_coming(b->pc);
}

static void bconn_free(struct bconn *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		b->srv->conns = b->next;
	if (b->next)
		b->next->prev = b->prev;
	if (b->timer)
		evloop_timer_cancel(b->srv->loop, b->timer);
	if (b->have_resp)
		serve_response_release(&b->resp);
	if (b->put) {
		b->srv->aborted_uploads++;
		store_put_abort(b->put);
	}
	if (b->tls_own)
		tlsconn_free(b->tls);
	free(b);
}

static void bconn_close(struct bconn *b)
{
	if (b->tls_own && tlsconn_usable(b->tls))
		tlsconn_close_notify(b->tls, b->fd);
	evloop_del(b->srv->loop, b->fd);
	if (b->pc)
		pb_abort(b->pc, b->fd);
	else
		close(b->fd);
	bconn_free(b);
}

static void idle_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct bconn *b = arg;

	(void)loop;
	(void)t;
	b->timer = NULL;
	bconn_close(b);
}

static void arm_timer(struct bconn *b, uint64_t ms, evloop_timer_cb cb)
{
	if (b->timer)
		evloop_timer_cancel(b->srv->loop, b->timer);
	b->timer = evloop_timer_add(b->srv->loop, ms, cb, b);
}

static enum serve_method serve_method_of(enum http_method m)
{
	return m == HTTP_GET ? SERVE_GET : m == HTTP_HEAD ? SERVE_HEAD
							   : SERVE_OTHER;
}

/* Reads from the client: read(2), or the session's plaintext.  As
 * read(2): bytes, 0 at the end, -1 with errno (EAGAIN: nothing yet). */
static ssize_t client_read(struct bconn *b, void *p, size_t cap)
{
	ssize_t n;

	if (!b->tls)
		return read(b->fd, p, cap);
	n = tlsconn_read(b->tls, b->fd, p, cap);
	if (n >= 0)
		return n;
	/* -ENOBUFS: the next record does not fit what is left of the buffer
	 * (HO_TLS_REQUEST_BUF: only after more than a request head); an
	 * error, as a full buffer is for plain HTTP, rather than a wait for
	 * room that nothing would make while the socket stays readable. */
	errno = (int)-n;
	return -1;
}

/* Writes a short reply all at once, or fails (the send buffer is empty
 * before a response).  0 or -errno. */
static int client_send_all(struct bconn *b, const void *p, size_t n)
{
	ssize_t w;

	if (b->tls) {
		w = tlsconn_write(b->tls, b->fd, p, n);
		if (w < 0)
			return (int)w;
		return tlsconn_out_pending(b->tls) ? -EIO : 0;
	}
	w = send(b->fd, p, n, MSG_NOSIGNAL);
	return w == (ssize_t)n ? 0 : w < 0 ? -errno : -EIO;
}

static void reply_error(struct bconn *b, int status)
{
	char out[160];
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 %d Error\r\nContent-Length: 0\r\n"
			 "X-Prism-Backend: %s\r\nConnection: close\r\n\r\n",
			 status, b->srv->cfg->name);
	int err = client_send_all(b, out, (size_t)n);

	if (err)
		log_debug("error reply: %s", strerror(-err));
}

/* ---- the object store's routes: /obj/KEY ---- */

/* 1 if the target is /obj/KEY (query ignored), with the key copied out,
 * or key[0] == '\0' when it is not a valid key; 0 for other targets. */
static int object_key(const struct http_str *t, char key[STORE_KEY_MAX + 1])
{
	static const char prefix[] = "/obj/";
	size_t n = sizeof(prefix) - 1, len;
	const char *q;

	if (t->len < n || memcmp(t->p, prefix, n))
		return 0;
	q = memchr(t->p + n, '?', t->len - n);
	len = (q ? (size_t)(q - t->p) : t->len) - n;
	key[0] = '\0';
	if (store_key_valid(t->p + n, len)) {
		memcpy(key, t->p + n, len);
		key[len] = '\0';
	}
	return 1;
}

static int store_status(int err)
{
	switch (err) {
	case -EINVAL: return 400;
	case -ENOENT: return 404;
	case -EFBIG: return 413;
	default: return 500;
	}
}

static int plan_error(struct bconn *b, int status)
{
	return serve_plan_error(&b->srv->serve, b->method, b->keep_alive,
				status, &b->resp);
}

static int plan_etag(struct bconn *b, int status, const char *etag, int fd,
		     uint64_t size)
{
	char extra[STORE_ETAG_LEN + 16];

	snprintf(extra, sizeof(extra), "ETag: \"%s\"\r\n", etag);
	return serve_plan_status(&b->srv->serve, b->method, b->keep_alive,
				 status, extra, fd, size, &b->resp);
}

/* The current object's validators for a PUT's or DELETE's preconditions
 * (RFC 9110 13.1): 412 or 0. */
static int object_preconditions(struct bconn *b, const struct http_request *req,
				const char *key)
{
	char etag[STORE_ETAG_LEN + 3];
	struct store_obj o;
	int err = store_get(&b->srv->store, key, &o);

	if (err && err != -ENOENT)
		return 0; /* the operation itself will report it */
	if (!err) {
		snprintf(etag, sizeof(etag), "\"%s\"", o.etag);
		close(o.fd);
	}
	return rep_check_write(req, !err, err ? "" : etag, err ? 0 : o.mtime);
}

/* GET, HEAD and DELETE are answered at once. */
static int object_now(struct bconn *b, const struct http_request *req,
		      const char *key)
{
	char etag[STORE_ETAG_LEN + 3];
	struct serve_rep rep = { .etag = etag };
	struct store_obj o;
	int err, st;

	if (req->method == HTTP_DELETE) {
		st = object_preconditions(b, req, key);
		if (st)
			return plan_error(b, st);
		err = store_delete(&b->srv->store, key);
		if (err)
			return plan_error(b, store_status(err));
		return serve_plan_status(&b->srv->serve, b->method,
					 b->keep_alive, 204, NULL, -1, 0,
					 &b->resp);
	}
	err = store_get(&b->srv->store, key, &o);
	if (err)
		return plan_error(b, store_status(err));
	snprintf(etag, sizeof(etag), "\"%s\"", o.etag);
	rep.size = o.size;
	rep.type = o.type[0] ? o.type : NULL;
	rep.mtime = o.mtime;
	rep.fd = o.fd;
	return serve_plan_rep(&b->srv->serve, b->method, b->keep_alive, req,
			      &rep, &b->resp);
}

/* Plans the answer, or for PUT/POST opens the upload (answered once the
 * body is in), with the PUT's Content-Type to keep. */
static int route_object(struct bconn *b, const struct http_request *req,
			const char *key)
{
	enum http_method m = req->method;
	const struct http_str *type;
	int err, st;

	if (!key[0])
		return plan_error(b, 400);
	if (m == HTTP_GET || m == HTTP_HEAD || m == HTTP_DELETE)
		return object_now(b, req, key);
	if (m != HTTP_PUT && m != HTTP_POST)
		return serve_plan_status(&b->srv->serve, b->method,
					 b->keep_alive, 405,
					 "Allow: GET, HEAD, PUT, POST, DELETE\r\n",
					 -1, 0, &b->resp);
	st = object_preconditions(b, req, key);
	if (st)
		return plan_error(b, st); /* the body is read and dropped */
	err = store_put_begin(&b->srv->store, key, &b->put);
	if (err)
		return plan_error(b, store_status(err));
	type = http_header_get(req, "Content-Type");
	if (type && store_put_set_type(b->put, type->p, type->len)) {
		store_put_abort(b->put);
		b->put = NULL;
		return plan_error(b, 400);
	}
	return 0;
}

/* ---- request bodies ---- */

static uint64_t body_limit(const struct bconn *b)
{
	return b->srv->have_store ? b->srv->store.max_object
				  : STORE_MAX_OBJECT_DEFAULT;
}

static int body_data(struct bconn *b, const char *p, size_t n)
{
	b->body_seen += n;
	b->srv->body_bytes += n;
	if (b->put)
		return store_put_write(b->put, p, n);
	return b->body_seen > body_limit(b) ? -EFBIG : 0;
}

/* Consumes body bytes from buf[pos..len).  1: the body is complete (pos is
 * just after it), 0: all of it was body, more is needed, -errno. */
static int body_feed(struct bconn *b)
{
	const char *p = b->buf + b->pos;
	size_t n = b->len - b->pos;
	int r, err;

	if (!b->chunked) {
		size_t take = n < b->body_left ? n : (size_t)b->body_left;

		b->pos += take;
		b->body_left -= take;
		err = take ? body_data(b, p, take) : 0;
		return err < 0 ? err : b->body_left == 0;
	}
	while (n) {
		size_t used = 0, off = 0, dlen = 0;

		r = http_chunked_feed(&b->chunk, p, n, &used, &off, &dlen);
		if (r < 0)
			return r;
		b->pos += used;
		if (dlen && (err = body_data(b, p + off, dlen)) < 0)
			return err;
		if (r == 1)
			return 1;
		if (!used)
			return -EBADMSG; /* cannot happen: it takes all */
		p += used;
		n -= used;
	}
	return 0;
}

static int body_error_status(int err)
{
	switch (err) {
	case -EFBIG:
	case -EOVERFLOW: return 413;
	case -EBADMSG:
	case -EMSGSIZE: return 400;
	default: return 500;
	}
}

static int send_continue(struct bconn *b)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	/* the send buffer is empty before a response: all or an error */
	return client_send_all(b, cont, sizeof(cont) - 1);
}

/* Before the body's first read from the socket: a handed-off client needs
 * the window the switch zeroes; then the 100 Continue it may wait for. */
static int body_begin_wait(struct bconn *b)
{
	b->body_waiting = true;
	if (b->pc && !b->window_open) {
		if (pb_window(b->pc, b->fd, true))
			return -EIO;
		b->window_open = true;
	}
	return b->expect_continue ? send_continue(b) : 0;
}

/* The body is read: zero the window again before the response, so that
 * the client's next request waits for the hand-back.  Returns the state
 * the response starts in (WINDOW until the switch answered), or -EIO. */
static int body_end(struct bconn *b)
{
	b->body_waiting = false;
	if (!b->window_open)
		return B_WRITING;
	b->window_open = false;
	if (pb_window(b->pc, b->fd, false))
		return -EIO;
	/* Nothing to read meanwhile: a level-triggered fd would spin. */
	evloop_mod(b->srv->loop, b->fd, 0);
	return B_WINDOW;
}

/* The body cannot be read to its end: answer and close. */
static int body_fail(struct bconn *b, int err)
{
	int status = body_error_status(err);
	int next = body_end(b);

	if (next < 0)
		return -EIO;
	log_debug("%s: request body: %s -> %d", b->srv->cfg->name,
		  strerror(-err), status);
	if (b->put) {
		b->srv->aborted_uploads++;
		store_put_abort(b->put);
		b->put = NULL;
	}
	if (b->have_resp)
		serve_response_release(&b->resp);
	b->keep_alive = false;
	if (plan_error(b, status) < 0)
		return -EIO;
	b->have_resp = true;
	b->state = next;
	return next == B_WRITING;
}

static int body_done(struct bconn *b)
{
	char etag[STORE_ETAG_LEN + 1];
	struct store_put *p = b->put;
	bool created = false;
	int err, next = body_end(b);

	if (next < 0)
		return -EIO;
	if (p) {
		b->put = NULL;
		b->srv->puts++;
		err = store_put_commit(p, &created, etag);
		err = err ? plan_error(b, 500)
			  : plan_etag(b, created ? 201 : 200, etag, -1, 0);
		if (err < 0)
			return -EIO;
		b->have_resp = true;
	}
	b->state = next;
	return next == B_WRITING;
}

static void body_wait(struct bconn *b)
{
	if (b->timer)
		evloop_timer_mod(b->srv->loop, b->timer,
				 b->srv->cfg->idle_timeout_ms);
	else
		arm_timer(b, b->srv->cfg->idle_timeout_ms, idle_timeout);
}

/* Reads the body from the buffer, then from the socket (a handed-off
 * connection: straight from the client through the switch).  A bounded
 * number of reads per call keeps one upload from starving the loop. */
static int body_step(struct bconn *b)
{
	/* TLS: whole records already in the session's buffer are read on (the
	 * socket will not wake us for them). */
	for (int i = 0; i < 64 || (b->tls && tlsconn_in_pending(b->tls));
	     i++) {
		int r = body_feed(b);
		ssize_t n;

		if (r < 0)
			return body_fail(b, r);
		if (r > 0)
			return body_done(b);
		if (!b->body_waiting && body_begin_wait(b))
			return -EIO;
		b->len = b->pos = 0; /* everything buffered was body */
		if (awaiting(b))
			break; /* on_data brings the rest first */
		n = client_read(b, b->buf, b->cap);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET; /* upload interrupted */
		b->len = (size_t)n;
	}
	body_wait(b);
	return 0;
}

/* ---- requests ---- */

static void count_class(struct bsrv *srv, int status)
{
	int cls = status / 100;

	srv->by_class[cls >= 1 && cls <= 5 ? cls : 0]++;
}

static void count_request(struct bconn *b)
{
	b->srv->requests++;
	if (b->pc)
		b->srv->handed_requests++;
	else
		b->srv->direct_requests++;
}

/* Plans the response (or opens the upload) for a parsed head. */
static int plan_request(struct bconn *b, const struct http_request *req)
{
	char key[STORE_KEY_MAX + 1];
	int r;

	if (b->body_left > body_limit(b)) {
		/* not reading a body this big: answer now, then close */
		b->keep_alive = false;
		b->body_left = 0;
		r = plan_error(b, 413);
	} else if (b->srv->have_store && object_key(&req->target, key)) {
		r = route_object(b, req, key);
	} else {
		r = serve_plan(&b->srv->serve, b->method, req->target.p,
			       req->target.len, req->minor, b->keep_alive, req,
			       &b->resp);
	}
	if (r < 0)
		return -EIO;
	b->have_resp = !b->put;
	return 0;
}

/* Parses the buffered bytes; on a complete head, plans the response. */
static int start_request(struct bconn *b)
{
	struct http_request req;
	int r = http_parse_request(b->buf, b->len, NULL, &req);

	if (r == 0)
		return b->len == b->cap ? -E2BIG : 0;
	if (r < 0) {
		reply_error(b, http_error_status(r));
		return r;
	}
	b->pos = (size_t)r;
	b->keep_alive = req.keep_alive;
	b->method = serve_method_of(req.method);
	b->chunked = req.chunked;
	b->body_left = req.content_length > 0 ? (uint64_t)req.content_length
					      : 0;
	b->body_seen = 0;
	if (b->chunked)
		http_chunked_init(&b->chunk);
	count_request(b);
	if (plan_request(b, &req) < 0)
		return -EIO;
	if (!b->chunked && !b->body_left)
		return body_done(b);
	/* RFC 9110 10.1.1: ask for the body only if none came yet */
	b->expect_continue = req.expect_continue && b->pos == b->len;
	b->body_waiting = false;
	b->state = B_BODY;
	return 1;
}

static int handback(struct bconn *b)
{
	struct bsrv *srv = b->srv;
	int err;

	evloop_del(srv->loop, b->fd);
	pb_conn_set_user(b->pc, NULL);
	/* Unused bytes (a pipelined next request) travel back too. */
	pb_set_http_status(b->pc, b->resp.status);
	err = pb_handback(b->pc, b->fd, b->buf + b->pos, b->len - b->pos,
			  !b->keep_alive);
	b->pc = NULL;
	bconn_free(b);
	return err;
}

static void drain_poll(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct bconn *b = arg;

	int r;

	(void)loop;
	(void)t;
	b->timer = NULL;
	r = pb_ready_for_handback(b->fd);
	if (r > 0 && !awaiting(b))
		handback(b);
	else if (r < 0 || evloop_now_ms() > b->drain_deadline)
		bconn_close(b);
	else
		arm_timer(b, DRAIN_POLL_MS, drain_poll);
}

/* The response is in the kernel.  Direct: next request.  Handed off:
 * wait for every byte to be sent, then hand back. */
static int finish_response(struct bconn *b)
{
	count_class(b->srv, b->resp.status);
	serve_response_release(&b->resp);
	b->have_resp = false;
	if (b->pc) {
		int one = 1;

		b->state = B_DRAINING;
		b->drain_deadline = evloop_now_ms() + DRAIN_TIMEOUT_MS;
		/* Writable again only when nothing is left unsent. */
		setsockopt(b->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &one,
			   sizeof(one));
		/* A small response usually left with the write itself: hand
		 * back now rather than after a trip through the loop. */
		if (!awaiting(b) && pb_ready_for_handback(b->fd) > 0) {
			handback(b);
			return 1; /* b is gone */
		}
		return evloop_mod(b->srv->loop, b->fd, EVLOOP_WRITE);
	}
	if (!b->keep_alive)
		return -ECONNRESET;
	memmove(b->buf, b->buf + b->pos, b->len - b->pos);
	b->len -= b->pos;
	b->pos = 0;
	b->state = B_READING;
	arm_timer(b, b->srv->cfg->idle_timeout_ms, idle_timeout);
	b->tls_watch_write = false;
	if (evloop_mod(b->srv->loop, b->fd, EVLOOP_READ))
		return -EIO;
	/* 2: a pipelined request is waiting */
	return b->len || (b->tls && tlsconn_in_pending(b->tls)) ? 2 : 0;
}

/* HTTPS: the response through the session, sealed in 64 KB steps (the
 * records' plaintext is copied once, into CHUNK). */
static int write_tls(struct bconn *b)
{
	static uint8_t chunk[4 * TLSREC_PLAIN_MAX];

	for (;;) {
		int r = tlsconn_flush(b->tls, b->fd);
		long n;
		ssize_t w;

		if (r <= 0)
			return r;
		n = serve_take(&b->resp, chunk, sizeof(chunk));
		if (n <= 0)
			return n < 0 ? (int)n : 1;
		w = tlsconn_write(b->tls, b->fd, chunk, (size_t)n);
		if (w < 0)
			return (int)w;
	}
}

static int do_write(struct bconn *b)
{
	int r = b->tls ? write_tls(b) : serve_write(b->fd, &b->resp);

	if (r < 0)
		return r;
	if (r == 0)
		return evloop_mod(b->srv->loop, b->fd, EVLOOP_WRITE);
	return finish_response(b);
}

/* Direct HTTPS: the handshake first; its flight and tickets may wait for
 * room in the socket (watched for writing meanwhile, and no longer once
 * they are out).  1 once established. */
static int handshake(struct bconn *b)
{
	int r = 1, err;

	if (!tlsconn_established(b->tls))
		r = tlsconn_handshake(b->tls, b->fd);
	if (r < 0)
		return r;
	err = tlsconn_flush_watched(b->tls, b->fd, b->srv->loop,
				    &b->tls_watch_write);
	return err ? err : r;
}

static int do_read(struct bconn *b)
{
	ssize_t n;

	if (awaiting(b))
		return 0;
	if (b->tls_own && (!tlsconn_established(b->tls) || b->tls_watch_write)) {
		int r = handshake(b);

		if (r <= 0)
			return r;
	}
	n = client_read(b, b->buf + b->len, b->cap - b->len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	b->len += (size_t)n;
	return 0;
}

static void stop_timer(struct bconn *b)
{
	if (b->timer)
		evloop_timer_cancel(b->srv->loop, b->timer);
	b->timer = NULL;
}

/* Runs the state machine as far as it goes without blocking. */
static int bconn_step(struct bconn *b, uint32_t events)
{
	int r;

	/* Direct HTTPS: records of ours left for the socket (the handshake's
	 * flight, tickets) go before anything is read. */
	if (b->tls_watch_write && (b->state == B_READING || b->state == B_BODY) &&
	    (r = handshake(b)) < 0)
		return r;
	if (b->state == B_READING) {
		/* (a TLS handshake's flight may have waited for writing) */
		if ((events & (EVLOOP_READ | EVLOOP_WRITE)) &&
		    (r = do_read(b)) < 0)
			return r;
		r = start_request(b);
		if (r <= 0)
			return r;
		stop_timer(b);
	}
	if (b->state == B_BODY) {
		r = body_step(b);
		if (r <= 0)
			return r;
		stop_timer(b);
	}
	if (b->state == B_WRITING)
		return do_write(b);
	if (b->state == B_DRAINING && (events & EVLOOP_WRITE)) {
		evloop_mod(b->srv->loop, b->fd, 0);
		drain_poll(b->srv->loop, NULL, b);
		return 1; /* b may be gone */
	}
	return 0;
}

/* ---- relayed requests (pb_set_relay_cb) ---- */

/* The rendered response's room. */
static int relay_reserve(struct bsrv *srv, size_t len)
{
	uint8_t *p;

	if (srv->relay_cap >= len)
		return 0;
	p = realloc(srv->relay_buf, len);
	if (!p)
		return -ENOMEM;
	srv->relay_buf = p;
	srv->relay_cap = len;
	return 0;
}

/* The response, planned as for a connection (on a bconn without a socket)
 * and rendered into srv->relay_buf: its length, or -errno. */
static long relay_render(struct bsrv *srv, const struct http_request *req,
			 size_t max, struct pb_relay *r)
{
	struct bconn b = { .srv = srv, .fd = -1 };
	long n = -EFBIG;
	uint64_t size;

	b.keep_alive = req->keep_alive;
	b.method = serve_method_of(req->method);
	if (plan_request(&b, req) < 0)
		return -EIO;
	size = serve_response_size(&b.resp);
	if (size <= max && !relay_reserve(srv, size))
		n = serve_render(&b.resp, srv->relay_buf, srv->relay_cap);
	r->http_status = b.resp.status;
	r->close = !b.keep_alive;
	serve_response_release(&b.resp);
	return n;
}

/* GET and HEAD without a body only: an upload or a DELETE changes the
 * store, and must not happen when its response turns out too large to
 * relay and the request is handed off to be served again. */
static bool on_relay(struct pb_relay *r, void *arg)
{
	struct bsrv *srv = arg;
	struct http_request req;
	int head = http_parse_request((const char *)r->request, r->len, NULL,
				      &req);
	long n;

	if (head <= 0 || (size_t)head != r->len || req.content_length > 0 ||
	    req.chunked || (req.method != HTTP_GET && req.method != HTTP_HEAD))
		return false;
	n = relay_render(srv, &req, r->max, r);
	if (n <= 0)
		return false;
	srv->requests++;
	srv->relayed_requests++;
	count_class(srv, r->http_status);
	r->response = srv->relay_buf;
	r->response_len = (size_t)n;
	return true;
}

static void bconn_io(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct bconn *b = arg;
	int r;

	(void)loop;
	(void)fd;
	/* 2: a pipelined request waits, in the buffer (or, TLS, in the
	 * session's: read it as if the socket had it). */
	do
		r = bconn_step(b, events);
	while (r == 2 &&
	       (events = b->tls && tlsconn_in_pending(b->tls) ? EVLOOP_READ : 0,
		true));
	if (r < 0) {
		if (r != -ECONNRESET)
			log_debug("%s: connection: %s", b->srv->cfg->name,
				  strerror(-r));
		bconn_close(b);
	}
}

static struct bconn *bconn_new(struct bsrv *srv, int fd, struct pb_conn *pc,
			       size_t cap)
{
	/* Only the struct is zeroed: clearing a 16 KB buffer on every
	 * takeover cost microseconds and evicted the hand-off's own data
	 * from the cache; the buffer is read only up to b->len. */
	struct bconn *b = malloc(sizeof(*b) + cap);

	if (!b)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->cap = cap;
	b->srv = srv;
	b->fd = fd;
	b->pc = pc;
	b->state = B_READING;
	if (evloop_add(srv->loop, fd, EVLOOP_READ, bconn_io, b)) {
		free(b);
		return NULL;
	}
	b->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = b;
	srv->conns = b;
	return b;
}

/* A split hand-off brings at most HO_PENDING_MAX in all: room for it
 * from the start. */
static size_t takeover_cap(const struct pb_conn *pc, size_t len)
{
	if (pb_more_coming(pc))
		return HO_PENDING_MAX;
	size_t room = pb_conn_tls(pc) ? HO_TLS_REQUEST_BUF : HO_REQUEST_BUF;

	return len > room ? len : room;
}

/* More of a split hand-off's pending bytes, after what b holds. */
static void on_data(struct pb_conn *pc, const uint8_t *data, size_t len,
		    void *arg)
{
	struct bconn *b = pb_conn_user(pc);

	(void)arg;
	if (!b)
		return;
	if (b->pos) {
		memmove(b->buf, b->buf + b->pos, b->len - b->pos);
		b->len -= b->pos;
		b->pos = 0;
	}
	if (len > b->cap - b->len) {
		log_warn("%s: hand-off brought more than %u bytes",
			 b->srv->cfg->name, (unsigned)HO_PENDING_MAX);
		bconn_close(b);
		return;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	if (!awaiting(b) && (b->state == B_READING || b->state == B_BODY))
		evloop_mod(b->srv->loop, b->fd, EVLOOP_READ);
	bconn_io(b->srv->loop, b->fd, 0, b);
}

/* The switch answered a pb_window: a failure leaves the client at a zero
 * window (the connection is given up); a closed window lets the response
 * go. */
static void on_window(struct pb_conn *pc, bool open, int err, void *arg)
{
	struct bconn *b = pb_conn_user(pc);

	(void)arg;
	if (!b)
		return;
	if (err) {
		log_debug("%s: switch window %s: %s", b->srv->cfg->name,
			  open ? "open" : "close", strerror(-err));
		bconn_close(b);
		return;
	}
	if (!open && b->state == B_WINDOW) {
		stop_timer(b);
		b->state = B_WRITING;
		bconn_io(b->srv->loop, b->fd, 0, b);
	}
}

static void on_takeover(struct pb_conn *pc, int fd, const uint8_t *pending,
			size_t len, void *arg)
{
	struct bsrv *srv = arg;
	struct bconn *b;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b = len <= HO_PENDING_MAX
		    ? bconn_new(srv, fd, pc, takeover_cap(pc, len))
		    : NULL;
	if (!b) {
		pb_abort(pc, fd);
		return;
	}
	memcpy(b->buf, pending, len);
	b->len = len;
	b->tls = pb_conn_tls(pc);
	pb_conn_set_user(pc, b);
	if (awaiting(b)) {
		evloop_mod(srv->loop, fd, 0); /* fd waits for on_data */
		/* A body is coming (the controller splits only those): take
		 * the flow with the window open now, not after the request is
		 * planned (a store object opened), so that the client's
		 * segments stop being dropped as early as possible. */
		if (pb_window(pc, fd, true)) {
			bconn_close(b);
			return;
		}
		b->window_open = true;
	}
	/* The request usually came complete with the hand-off; TLS records
	 * it brought unopened are read as if the socket had them. */
	bconn_io(srv->loop, fd,
		 b->tls && tlsconn_in_pending(b->tls) ? EVLOOP_READ : 0, b);
}

/* Direct connections, each with a session of its own when CTX is set
 * (HTTPS). */
static void accept_all(struct bsrv *srv, int lfd, SSL_CTX *ctx)
{
	int one = 1;

	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tlsconn *t = NULL;
		struct bconn *b = NULL;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!ctx || (t = tlsconn_accept(ctx)))
			b = bconn_new(srv, fd, NULL,
				      ctx ? HO_TLS_REQUEST_BUF : HO_REQUEST_BUF);
		if (!b) {
			tlsconn_free(t);
			close(fd);
			continue;
		}
		b->tls = t;
		b->tls_own = t != NULL;
		arm_timer(b, srv->cfg->idle_timeout_ms, idle_timeout);
	}
}

static void on_accept(struct evloop *loop, int lfd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	accept_all(arg, lfd, NULL);
}

static void on_accept_tls(struct evloop *loop, int lfd, uint32_t events,
			  void *arg)
{
	struct bsrv *srv = arg;

	(void)loop;
	(void)events;
	accept_all(srv, lfd, srv->tls_ctx);
}

static int setup_tls(struct bsrv *srv, const struct backend_config *cfg)
{
	char ip[INET_ADDRSTRLEN];

	if (!cfg->tls_cert)
		return 0;
	srv->tls_ctx = tlsconn_server_ctx(cfg->tls_cert, cfg->tls_key);
	if (!srv->tls_ctx)
		return -EINVAL;
	srv->tls_listen_fd = net_listen(&cfg->tls_listen, 4096, true);
	if (srv->tls_listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->tls_listen.sin_addr, ip, sizeof(ip));
		log_err("%s: listen %s:%u (tls): %s", cfg->name, ip,
			ntohs(cfg->tls_listen.sin_port),
			strerror(-srv->tls_listen_fd));
		return srv->tls_listen_fd;
	}
	return evloop_add(srv->loop, srv->tls_listen_fd, EVLOOP_READ,
			  on_accept_tls, srv);
}

void backend_config_init(struct backend_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = "b1";
	cfg->listen.sin_family = AF_INET;
	cfg->listen.sin_port = htons(80);
	cfg->handoff.sin_family = AF_INET;
	cfg->peer_id = 100;
	cfg->max_conns = 10000;
	cfg->idle_timeout_ms = 60000;
	daemon_admin_default(&cfg->admin);
}

static int metrics_handler(const char *method, const char *path,
			 struct metrics_buf *body, void *arg)
{
	const struct bsrv *srv = arg;
	struct backend_counters c = {
		.name = srv->cfg->name,
		.requests = srv->requests,
		.direct_requests = srv->direct_requests,
		.handed_requests = srv->handed_requests,
		.relayed_requests = srv->relayed_requests,
		.puts = srv->puts,
		.body_bytes = srv->body_bytes,
		.aborted_uploads = srv->aborted_uploads,
	};

	for (const struct bconn *b = srv->conns; b; b = b->next)
		c.connections++;
	memcpy(c.by_class, srv->by_class, sizeof(c.by_class));
	if (strcmp(path, "/metrics")) {
		metrics_printf(body, "not found: try /metrics\n");
		return 404;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return 405;
	backend_metrics_write(&c, srv->pb ? pb_stats(srv->pb) : NULL, body);
	tlsconn_metrics(body, "prism_backend_tls_events_total");
	return 200;
}

static int setup(struct bsrv *srv, const struct backend_config *cfg)
{
	struct pb_config pcfg = {
		.name = cfg->name,
		.self = cfg->listen.sin_addr,
		.listen = cfg->handoff,
		.key_path = cfg->key_path,
		.switch_agent = cfg->switch_agent,
		.peer_id = cfg->peer_id,
		.max_conns = cfg->max_conns,
		.switch_timeout_ms = 500,
		.host_mode = cfg->host_mode,
		.controller_switch = cfg->controller_switch,
	};
	char ip[INET_ADDRSTRLEN];
	int err;

	srv->listen_fd = net_listen(&cfg->listen, 4096, true);
	if (srv->listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->listen.sin_addr, ip, sizeof(ip));
		log_err("%s: listen %s:%u: %s", cfg->name, ip,
			ntohs(cfg->listen.sin_port), strerror(-srv->listen_fd));
		return srv->listen_fd;
	}
	if (cfg->store_dir) {
		err = store_open(&srv->store, cfg->store_dir,
				 !cfg->store_no_fsync, cfg->max_object);
		if (err)
			return err;
		srv->have_store = true;
	}
	err = evloop_add(srv->loop, srv->listen_fd, EVLOOP_READ, on_accept, srv);
	if (!err)
		err = setup_tls(srv, cfg);
	if (!err && cfg->handoff.sin_port)
		log_info("%s: TLS sessions of hand-offs: kTLS %s", cfg->name,
			 tlsconn_ktls_status());
	if (!err && cfg->handoff.sin_port)
		err = pb_open(srv->loop, &pcfg, on_takeover, srv, &srv->pb);
	if (!err && srv->pb) {
		pb_set_relay_cb(srv->pb, on_relay);
		pb_set_data_cb(srv->pb, on_data);
		pb_set_window_cb(srv->pb, on_window);
	}
	if (err)
		return err;
	srv->sig_fd = daemon_signals(srv->loop, NULL, NULL);
	if (srv->sig_fd < 0)
		return srv->sig_fd;
	/* Like the agent: the service runs on without its admin port. */
	if (cfg->admin.sin_port &&
	    admin_open(srv->loop, &cfg->admin, metrics_handler, srv, &srv->admin))
		log_warn("%s: admin port %u: serving without /metrics",
			 cfg->name, ntohs(cfg->admin.sin_port));
	return 0;
}

static void log_stats(const struct bsrv *srv)
{
	log_info("%s: requests %llu (direct %llu, handed off %llu, relayed "
		 "%llu)",
		 srv->cfg->name, (unsigned long long)srv->requests,
		 (unsigned long long)srv->direct_requests,
		 (unsigned long long)srv->handed_requests,
		 (unsigned long long)srv->relayed_requests);
	log_info("%s: uploads %llu, body bytes %llu, aborted uploads %llu",
		 srv->cfg->name, (unsigned long long)srv->puts,
		 (unsigned long long)srv->body_bytes,
		 (unsigned long long)srv->aborted_uploads);
	if (srv->pb) {
		const struct pb_stats *s = pb_stats(srv->pb);
		char line[512];
		size_t n = 0;

#define PB_EVENT_LOG(field, label)                                            \
	if (n < sizeof(line))                                                 \
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu", \
				      #field, (unsigned long long)s->field);
		PB_EVENTS(PB_EVENT_LOG)
#undef PB_EVENT_LOG
		log_info("%s: hand-offs:%s", srv->cfg->name, line);
	}
}

int backend_run(const struct backend_config *cfg)
{
	struct bsrv srv = {
		.cfg = cfg,
		.serve = { .root = cfg->root, .name = cfg->name },
		.listen_fd = -1,
		.sig_fd = -1,
		.tls_listen_fd = -1,
	};
	int err;

	srv.loop = evloop_new();
	if (!srv.loop)
		return -ENOMEM;
	err = setup(&srv, cfg);
	if (!err)
		err = daemon_ready_file(cfg->ready_file);
	if (!err) {
		log_info("%s: serving", cfg->name);
		err = evloop_run(srv.loop);
		log_stats(&srv);
	}
	/* Unfinished uploads leave no temporary file behind. */
	while (srv.conns)
		bconn_close(srv.conns);
	admin_close(srv.admin);
	pb_close(srv.pb);
	if (srv.have_store)
		store_close(&srv.store);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.tls_listen_fd >= 0)
		close(srv.tls_listen_fd);
	SSL_CTX_free(srv.tls_ctx);
	if (srv.sig_fd >= 0)
		close(srv.sig_fd);
	free(srv.relay_buf);
	evloop_free(srv.loop);
	return err;
}
