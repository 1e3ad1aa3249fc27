/* The backend's connections.  One state machine for direct and handed-off
 * connections; the only difference is what happens after a response:
 * a direct connection reads the next request, a handed-off one waits until
 * its response is sent and goes back to the controller.
 *
 *   READING --head--> WRITING --all written--> (direct) READING
 *                                           --> (handed off) DRAINING
 *   DRAINING --unsent == 0, small unacked tail--> handed back (gone) */
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

#include "backend/serve.h"
#include "backend/takeover.h"
#include "lib/evloop.h"
#include "lib/http.h"
#include "lib/log.h"

#define BCONN_BUF 16384
#define DRAIN_POLL_MS 1
/* A client that stops reading holds its connection at most this long. */
#define DRAIN_TIMEOUT_MS 30000

enum bconn_state { B_READING, B_WRITING, B_DRAINING, B_CLOSING };

struct bsrv {
	const struct backend_config *cfg;
	struct serve_config serve;
	struct evloop *loop;
	struct pb *pb;
	int listen_fd, sig_fd;
	uint64_t requests, direct_requests, handed_requests;
};

struct bconn {
	struct bsrv *srv;
	int fd;
	enum bconn_state state;
	struct pb_conn *pc; /* NULL for direct connections */
	char buf[BCONN_BUF];
	size_t len, head_len;
	bool keep_alive;
	struct serve_response resp;
	bool have_resp;
	struct evtimer *timer;
	uint64_t drain_deadline;
};

static void bconn_io(struct evloop *loop, int fd, uint32_t events, void *arg);

static void bconn_free(struct bconn *b)
{
	if (b->timer)
		evloop_timer_cancel(b->srv->loop, b->timer);
	if (b->have_resp)
		serve_response_release(&b->resp);
	free(b);
}

static void bconn_close(struct bconn *b)
{
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

static void reply_error(struct bconn *b, int status)
{
	char out[160];
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 %d Error\r\nContent-Length: 0\r\n"
			 "X-Prism-Backend: %s\r\nConnection: close\r\n\r\n",
			 status, b->srv->cfg->name);

	if (write(b->fd, out, (size_t)n) < 0)
		log_debug("error reply: %s", strerror(errno));
}

/* Parses the buffered bytes; on a complete head, plans the response. */
static int start_request(struct bconn *b)
{
	struct http_request req;
	int r = http_parse_request(b->buf, b->len, NULL, &req);

	if (r == 0)
		return b->len == sizeof(b->buf) ? -E2BIG : 0;
	if (r < 0) {
		reply_error(b, http_error_status(r));
		return r;
	}
	b->head_len = (size_t)r;
	b->keep_alive = req.keep_alive;
	if (serve_plan(&b->srv->serve, serve_method_of(req.method),
		       req.target.p, req.target.len, req.minor,
		       req.keep_alive, &b->resp) < 0)
		return -EIO;
	b->have_resp = true;
	b->state = B_WRITING;
	b->srv->requests++;
	if (b->pc)
		b->srv->handed_requests++;
	else
		b->srv->direct_requests++;
	return 1;
}

static int handback(struct bconn *b)
{
	struct bsrv *srv = b->srv;
	int err;

	evloop_del(srv->loop, b->fd);
	/* Unused bytes (a pipelined next request) travel back too. */
	err = pb_handback(b->pc, b->fd, b->buf + b->head_len,
			  b->len - b->head_len, !b->keep_alive);
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
	if (r > 0)
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
	serve_response_release(&b->resp);
	b->have_resp = false;
	if (b->pc) {
		int one = 1;

		b->state = B_DRAINING;
		b->drain_deadline = evloop_now_ms() + DRAIN_TIMEOUT_MS;
		/* Writable again only when nothing is left unsent. */
		setsockopt(b->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &one,
			   sizeof(one));
		return evloop_mod(b->srv->loop, b->fd, EVLOOP_WRITE);
	}
	if (!b->keep_alive)
		return -ECONNRESET;
	memmove(b->buf, b->buf + b->head_len, b->len - b->head_len);
	b->len -= b->head_len;
	b->head_len = 0;
	b->state = B_READING;
	arm_timer(b, b->srv->cfg->idle_timeout_ms, idle_timeout);
	if (evloop_mod(b->srv->loop, b->fd, EVLOOP_READ))
		return -EIO;
	return b->len ? 2 : 0; /* 2: a pipelined request is waiting */
}

static int do_write(struct bconn *b)
{
	int r = serve_write(b->fd, &b->resp);

	if (r < 0)
		return r;
	if (r == 0)
		return evloop_mod(b->srv->loop, b->fd, EVLOOP_WRITE);
	return finish_response(b);
}

static int do_read(struct bconn *b)
{
	ssize_t n = read(b->fd, b->buf + b->len, sizeof(b->buf) - b->len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	b->len += (size_t)n;
	return 0;
}

/* Runs the state machine as far as it goes without blocking. */
static int bconn_step(struct bconn *b, uint32_t events)
{
	int r;

	if (b->state == B_READING) {
		if ((events & EVLOOP_READ) && (r = do_read(b)) < 0)
			return r;
		r = start_request(b);
		if (r <= 0)
			return r;
		if (b->timer)
			evloop_timer_cancel(b->srv->loop, b->timer);
		b->timer = NULL;
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

static void bconn_io(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct bconn *b = arg;
	int r;

	(void)loop;
	(void)fd;
	do
		r = bconn_step(b, events);
	while (r == 2 && (events = 0, true));
	if (r < 0) {
		if (r != -ECONNRESET)
			log_debug("%s: connection: %s", b->srv->cfg->name,
				  strerror(-r));
		bconn_close(b);
	}
}

static struct bconn *bconn_new(struct bsrv *srv, int fd, struct pb_conn *pc)
{
	struct bconn *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->srv = srv;
	b->fd = fd;
	b->pc = pc;
	b->state = B_READING;
	if (evloop_add(srv->loop, fd, EVLOOP_READ, bconn_io, b)) {
		free(b);
		return NULL;
	}
	return b;
}

static void on_takeover(struct pb_conn *pc, int fd, const uint8_t *pending,
			size_t len, void *arg)
{
	struct bsrv *srv = arg;
	struct bconn *b;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b = len <= BCONN_BUF ? bconn_new(srv, fd, pc) : NULL;
	if (!b) {
		pb_abort(pc, fd);
		return;
	}
	memcpy(b->buf, pending, len);
	b->len = len;
	/* The request usually came complete with the hand-off. */
	bconn_io(srv->loop, fd, 0, b);
}

static void on_accept(struct evloop *loop, int lfd, uint32_t events, void *arg)
{
	struct bsrv *srv = arg;
	int one = 1;

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct bconn *b;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		b = bconn_new(srv, fd, NULL);
		if (!b) {
			close(fd);
			continue;
		}
		arm_timer(b, srv->cfg->idle_timeout_ms, idle_timeout);
	}
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
}

static int open_listener(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    listen(fd, 4096) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	if (read(fd, &si, sizeof(si)) > 0)
		log_info("signal %u: shutting down", si.ssi_signo);
	evloop_stop(loop);
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
	};
	char ip[INET_ADDRSTRLEN];
	sigset_t set;
	int err;

	srv->listen_fd = open_listener(&cfg->listen);
	if (srv->listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->listen.sin_addr, ip, sizeof(ip));
		log_err("%s: listen %s:%u: %s", cfg->name, ip,
			ntohs(cfg->listen.sin_port), strerror(-srv->listen_fd));
		return srv->listen_fd;
	}
	err = evloop_add(srv->loop, srv->listen_fd, EVLOOP_READ, on_accept, srv);
	if (!err && cfg->handoff.sin_port)
		err = pb_open(srv->loop, &pcfg, on_takeover, srv, &srv->pb);
	if (err)
		return err;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	srv->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sig_fd < 0)
		return -errno;
	return evloop_add(srv->loop, srv->sig_fd, EVLOOP_READ, on_signal, NULL);
}

static void log_stats(const struct bsrv *srv)
{
	log_info("%s: requests %llu (direct %llu, handed off %llu)",
		 srv->cfg->name, (unsigned long long)srv->requests,
		 (unsigned long long)srv->direct_requests,
		 (unsigned long long)srv->handed_requests);
	if (srv->pb) {
		const struct pb_stats *s = pb_stats(srv->pb);

		log_info("%s: takeovers %llu refused %llu handbacks %llu "
			 "handback_failures %llu aborted %llu",
			 srv->cfg->name, (unsigned long long)s->takeovers,
			 (unsigned long long)s->refused,
			 (unsigned long long)s->handbacks,
			 (unsigned long long)s->handback_failures,
			 (unsigned long long)s->aborted);
	}
}

int backend_run(const struct backend_config *cfg)
{
	struct bsrv srv = {
		.cfg = cfg,
		.serve = { .root = cfg->root, .name = cfg->name },
		.listen_fd = -1,
		.sig_fd = -1,
	};
	int err;

	signal(SIGPIPE, SIG_IGN);
	srv.loop = evloop_new();
	if (!srv.loop)
		return -ENOMEM;
	err = setup(&srv, cfg);
	if (!err) {
		if (cfg->ready_file) {
			FILE *f = fopen(cfg->ready_file, "w");

			if (f) {
				fprintf(f, "%d\n", getpid());
				fclose(f);
			}
		}
		log_info("%s: serving", cfg->name);
		err = evloop_run(srv.loop);
		log_stats(&srv);
	}
	pb_close(srv.pb);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.sig_fd >= 0)
		close(srv.sig_fd);
	evloop_free(srv.loop);
	return err;
}
