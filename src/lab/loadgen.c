/* The load generator behind `prism bench load` and `prism bench soak`; see
 * loadgen.h.  One epoll set, one struct per connection, one request at a
 * time per connection; nothing is allocated per request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lab/loadgen.h"

#define BATCH 500         /* connections opened before waiting for them */
#define SWEEP_INFLIGHT 256
#define HEAD_MAX 1024

enum lc_state { LC_CONNECTING, LC_IDLE, LC_HEAD, LC_BODY, LC_DEAD };
enum lg_phase { PH_CONNECT, PH_RUN, PH_SWEEP };

struct lconn {
	int fd;
	uint8_t state;      /* enum lc_state */
	uint16_t have;      /* bytes of the head in head[] */
	uint64_t body_off;  /* body bytes checked so far */
	uint64_t body_len;
	double t0;          /* when the request was sent */
	char head[HEAD_MAX];
};

struct lg {
	const struct loadgen_opts *o;
	struct loadgen_result *r;
	struct lconn *c;
	int ep;
	enum lg_phase phase;
	char req[128];
	size_t req_len;
	uint64_t sent;          /* requests started in the run phase */
	int inflight;
	float *lat;             /* latencies (us) of the run phase */
	size_t nlat, cap;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void conn_close(struct lg *g, struct lconn *c)
{
	if (c->state == LC_HEAD || c->state == LC_BODY) {
		g->inflight--;
		if (g->phase == PH_SWEEP)
			g->r->sweep_failed++;
	}
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->state = LC_DEAD;
}

static int send_request(struct lg *g, struct lconn *c)
{
	ssize_t n = send(c->fd, g->req, g->req_len, MSG_NOSIGNAL);

	if (n != (ssize_t)g->req_len) {
		/* A fresh request always fits an idle socket's buffer. */
		if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
			g->r->resets++;
		else
			g->r->bad++;
		conn_close(g, c);
		return -EIO;
	}
	c->state = LC_HEAD;
	c->have = 0;
	c->body_off = 0;
	c->t0 = now_us();
	g->inflight++;
	return 0;
}

/* The run phase goes on while the request budget and the clock allow. */
static bool run_more(const struct lg *g, double t_end)
{
	if (g->o->requests && g->sent >= g->o->requests)
		return false;
	return !t_end || now_us() < t_end;
}

static void record_latency(struct lg *g, double us)
{
	if (g->nlat == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 65536;
		float *p = realloc(g->lat, cap * sizeof(*p));

		if (!p)
			return; /* latency is a statistic; the count is not */
		g->lat = p;
		g->cap = cap;
	}
	g->lat[g->nlat++] = (float)us;
}

static void response_done(struct lg *g, struct lconn *c)
{
	c->state = LC_IDLE;
	g->inflight--;
	if (g->phase == PH_SWEEP) {
		g->r->sweep_ok++;
		return;
	}
	g->r->responses++;
	record_latency(g, now_us() - c->t0);
}

/* Checks body bytes against the backends' pattern (byte i = i mod 251). */
static bool body_ok(struct lconn *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)((c->body_off + i) % 251))
			return false;
	c->body_off += n;
	return true;
}

/* Parses a complete head; returns its length, 0 when incomplete, -1 when
 * it is not "200 with Content-Length SIZE". */
static int parse_head(const struct lg *g, struct lconn *c)
{
	char *end, *cl;

	c->head[c->have] = 0;
	end = strstr(c->head, "\r\n\r\n");
	if (!end)
		return c->have >= HEAD_MAX - 1 ? -1 : 0;
	*end = 0;
	if (strncmp(c->head, "HTTP/1.1 200 ", 13))
		return -1;
	cl = strcasestr(c->head, "\r\nContent-Length:");
	if (!cl || strtoull(cl + 17, NULL, 10) != g->o->size)
		return -1;
	c->body_len = g->o->size;
	return (int)(end - c->head) + 4;
}

/* Feeds bytes that arrived to the connection's response; -1: bad. */
static int feed(struct lg *g, struct lconn *c, const uint8_t *p, size_t n)
{
	if (c->state == LC_HEAD) {
		size_t room = HEAD_MAX - 1 - c->have, take = n < room ? n : room;
		int h;

		memcpy(c->head + c->have, p, take);
		c->have = (uint16_t)(c->have + take);
		h = parse_head(g, c);
		if (h <= 0)
			return h;
		/* Bytes after the head: the body's start. */
		p = (const uint8_t *)c->head + h;
		n = c->have - (size_t)h;
		c->state = LC_BODY;
	}
	if (c->state != LC_BODY || c->body_off + n > c->body_len ||
	    !body_ok(c, p, n))
		return -1;
	if (c->body_off == c->body_len)
		response_done(g, c);
	return 0;
}

static void on_readable(struct lg *g, struct lconn *c)
{
	static uint8_t buf[65536];

	while (c->state != LC_DEAD) {
		/* Never read past the head limit while in it: what follows
		 * the head is parsed out of head[]. */
		size_t want = c->state == LC_HEAD ? (size_t)(HEAD_MAX - 1 - c->have)
						  : sizeof(buf);
		ssize_t n = recv(c->fd, buf, want, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			g->r->resets += errno == ECONNRESET || errno == EPIPE;
			g->r->bad += !(errno == ECONNRESET || errno == EPIPE);
			conn_close(g, c);
			return;
		}
		if (n == 0) {
			g->r->closed++;
			conn_close(g, c);
			return;
		}
		if (c->state == LC_IDLE || feed(g, c, buf, (size_t)n)) {
			g->r->bad++; /* bytes nobody asked for, or a bad answer */
			conn_close(g, c);
			return;
		}
	}
}

static void on_connected(struct lg *g, struct lconn *c, uint32_t ev)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP };
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	e.data.u32 = (uint32_t)(c - g->c);
	if (err || epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &e)) {
		g->r->connect_failed++;
		conn_close(g, c);
		return;
	}
	c->state = LC_IDLE;
	g->r->opened++;
}

static void handle(struct lg *g, const struct epoll_event *e)
{
	struct lconn *c = &g->c[e->data.u32];

	if (c->state == LC_CONNECTING)
		on_connected(g, c, e->events);
	else if (c->state != LC_DEAD)
		on_readable(g, c);
}

static int poll_once(struct lg *g, int ms)
{
	struct epoll_event ev[256];
	int n = epoll_wait(g->ep, ev, 256, ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		handle(g, &ev[i]);
	return n;
}

/* Requests without a complete answer after timeout_ms are given up. */
static void expire(struct lg *g)
{
	double limit = now_us() - g->o->timeout_ms * 1e3;

	for (int i = 0; i < g->o->conns; i++) {
		struct lconn *c = &g->c[i];

		if ((c->state == LC_HEAD || c->state == LC_BODY) &&
		    c->t0 < limit) {
			g->r->timeouts++;
			conn_close(g, c);
		}
	}
}

static int open_one(struct lg *g, int i)
{
	struct epoll_event e = { .events = EPOLLOUT | EPOLLIN };
	struct lconn *c = &g->c[i];

	c->state = LC_CONNECTING;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	e.data.u32 = (uint32_t)i;
	if ((connect(c->fd, (const struct sockaddr *)&g->o->addr,
		     sizeof(g->o->addr)) && errno != EINPROGRESS) ||
	    epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &e)) {
		g->r->connect_failed++;
		conn_close(g, c);
	}
	return 0;
}

static int connecting(const struct lg *g, int from, int to)
{
	int n = 0;

	for (int i = from; i < to; i++)
		n += g->c[i].state == LC_CONNECTING;
	return n;
}

static int open_all(struct lg *g)
{
	for (int from = 0; from < g->o->conns; from += BATCH) {
		int to = from + BATCH < g->o->conns ? from + BATCH : g->o->conns;
		double t_end = now_us() + g->o->timeout_ms * 1e3;
		int err;

		for (int i = from; i < to; i++) {
			err = open_one(g, i);
			if (err) {
				fprintf(stderr, "loadgen: socket #%d: %s\n", i,
					strerror(-err));
				return err;
			}
		}
		while (connecting(g, from, to) && now_us() < t_end)
			if ((err = poll_once(g, 50)) < 0)
				return err;
		for (int i = from; i < to; i++)
			if (g->c[i].state == LC_CONNECTING) {
				g->r->connect_failed++;
				conn_close(g, &g->c[i]);
			}
	}
	return 0;
}

static int run_phase(struct lg *g)
{
	double t0 = now_us(), last = t0;
	double t_end = g->o->duration_s ? t0 + g->o->duration_s * 1e6 : 0;
	int err;

	g->phase = PH_RUN;
	for (;;) {
		for (int i = 0; i < g->o->active; i++) {
			struct lconn *c = &g->c[i];

			if (c->state == LC_IDLE && run_more(g, t_end) &&
			    send_request(g, c) == 0)
				g->sent++;
		}
		if (!g->inflight && !run_more(g, t_end))
			break;
		if (!g->inflight && g->r->opened == 0)
			break;
		if ((err = poll_once(g, 20)) < 0)
			return err;
		if (now_us() - last > 100e3) {
			expire(g);
			last = now_us();
		}
		/* All active connections gone: nothing more can happen. */
		if (!g->inflight) {
			bool any = false;

			for (int i = 0; i < g->o->active && !any; i++)
				any = g->c[i].state == LC_IDLE;
			if (!any)
				break;
		}
	}
	g->r->run_s = (now_us() - t0) / 1e6;
	return 0;
}

static int sweep_phase(struct lg *g)
{
	double last = now_us();
	int next = 0, err;

	g->phase = PH_SWEEP;
	while (next < g->o->conns || g->inflight) {
		while (next < g->o->conns && g->inflight < SWEEP_INFLIGHT) {
			struct lconn *c = &g->c[next++];

			if (c->state == LC_IDLE)
				send_request(g, c);
		}
		if ((err = poll_once(g, 20)) < 0)
			return err;
		if (now_us() - last > 100e3) {
			expire(g);
			last = now_us();
		}
	}
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static void latency_summary(struct lg *g)
{
	if (!g->nlat)
		return;
	qsort(g->lat, g->nlat, sizeof(*g->lat), cmp_float);
	g->r->p50_us = g->lat[g->nlat / 2];
	g->r->p99_us = g->lat[(size_t)(g->nlat * 0.99)];
	g->r->max_us = g->lat[g->nlat - 1];
}

int loadgen_run(const struct loadgen_opts *o, struct loadgen_result *r)
{
	struct lg g = { .o = o, .r = r, .ep = -1 };
	int err = 0;

	memset(r, 0, sizeof(*r));
	g.req_len = (size_t)snprintf(g.req, sizeof(g.req),
				     "GET /bytes/%llu HTTP/1.1\r\n"
				     "Host: prism\r\n\r\n",
				     (unsigned long long)o->size);
	g.c = calloc((size_t)o->conns, sizeof(*g.c));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.c || g.ep < 0) {
		err = -ENOMEM;
		fprintf(stderr, "loadgen: setup: %s\n", strerror(errno));
		goto out;
	}
	for (int i = 0; i < o->conns; i++)
		g.c[i].fd = -1;
	err = open_all(&g);
	if (!err)
		err = run_phase(&g);
	if (!err && o->sweep)
		err = sweep_phase(&g);
	latency_summary(&g);
	for (int i = 0; i < o->conns; i++)
		r->open_at_end += g.c[i].state == LC_IDLE;
out:
	if (g.c)
		for (int i = 0; i < o->conns; i++)
			if (g.c[i].fd >= 0)
				close(g.c[i].fd);
	if (g.ep >= 0)
		close(g.ep);
	free(g.c);
	free(g.lat);
	return err;
}

#define LG_FIELDS(X)                                                          \
	X("opened", opened, int, "%d")                                        \
	X("connect_failed", connect_failed, int, "%d")                        \
	X("responses", responses, uint64_t, "%llu")                           \
	X("bad", bad, uint64_t, "%llu")                                       \
	X("resets", resets, uint64_t, "%llu")                                 \
	X("closed", closed, uint64_t, "%llu")                                 \
	X("timeouts", timeouts, uint64_t, "%llu")                             \
	X("sweep_ok", sweep_ok, uint64_t, "%llu")                             \
	X("sweep_failed", sweep_failed, uint64_t, "%llu")                     \
	X("open_at_end", open_at_end, int, "%d")                              \
	X("run_s", run_s, double, "%.3f")                                     \
	X("p50_us", p50_us, double, "%.0f")                                   \
	X("p99_us", p99_us, double, "%.0f")                                   \
	X("max_us", max_us, double, "%.0f")

void loadgen_print(const struct loadgen_result *r)
{
#define PRINT(key, f, type, fmt)                                              \
	printf("loadgen %s " fmt "\n", key,                                   \
	       _Generic(r->f, uint64_t: (unsigned long long)r->f,             \
			default: r->f));
	LG_FIELDS(PRINT)
#undef PRINT
	fflush(stdout);
}

int loadgen_parse(const char *text, struct loadgen_result *r)
{
	int found = 0;

	memset(r, 0, sizeof(*r));
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		char key[32];
		double v;

		if (sscanf(l, "loadgen %31s %lf", key, &v) != 2)
			continue;
#define PARSE(k, f, type, fmt)                                                \
	if (!strcmp(key, k)) {                                                \
		r->f = (type)v;                                               \
		found++;                                                      \
	}
		LG_FIELDS(PARSE)
#undef PARSE
	}
	return found ? 0 : -ENODATA;
}
