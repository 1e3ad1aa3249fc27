#include "lib/adminsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/http.h"
#include "lib/log.h"

#define ADMIN_HEAD_MAX 4096

struct admin_conn {
	struct admin *a;
	int fd;
	char head[ADMIN_HEAD_MAX];
	size_t head_len;
	struct metrics_buf out; /* the whole response */
	size_t sent;
	struct evtimer *timer;
	struct admin_conn *next;
};

struct admin {
	struct evloop *loop;
	int fd;
	admin_handler handler;
	void *arg;
	struct admin_conn *conns;
	unsigned n_conns;
};

static void conn_free(struct admin_conn *c)
{
	struct admin *a = c->a;

	for (struct admin_conn **pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	a->n_conns--;
	if (c->timer)
		evloop_timer_cancel(a->loop, c->timer);
	evloop_del(a->loop, c->fd);
	close(c->fd);
	metrics_free(&c->out);
	free(c);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	default: return status < 400 ? "OK" : "Error";
	}
}

static void build_response(struct admin_conn *c, const struct http_request *r)
{
	struct metrics_buf body;
	char method[16], path[512];
	int status;

	metrics_init(&body);
	snprintf(method, sizeof(method), "%.*s", (int)r->method_text.len,
		 r->method_text.p);
	snprintf(path, sizeof(path), "%.*s", (int)r->target.len, r->target.p);
	status = c->a->handler(method, path, &body, c->a->arg);
	metrics_printf(&c->out,
		       "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
		       "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n",
		       status, reason(status), body.len);
	if (body.len && !c->out.err && r->method != HTTP_HEAD)
		metrics_printf(&c->out, "%.*s", (int)body.len, body.p);
	metrics_free(&body);
}

static void on_write(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct admin_conn *c = arg;

	(void)loop;
	(void)events;
	while (c->sent < c->out.len) {
		ssize_t n = send(fd, c->out.p + c->sent, c->out.len - c->sent,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	conn_free(c);
}

static void on_read(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct admin_conn *c = arg;
	struct http_request req;
	ssize_t n;
	int r;

	(void)events;
	n = recv(fd, c->head + c->head_len, sizeof(c->head) - c->head_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	c->head_len += (size_t)n;
	r = http_parse_request(c->head, c->head_len, NULL, &req);
	if (r == 0 && c->head_len < sizeof(c->head))
		return;
	if (r <= 0) {
		metrics_printf(&c->out, "HTTP/1.1 400 Bad Request\r\n"
					"Content-Length: 0\r\nConnection: close\r\n\r\n");
	} else {
		build_response(c, &req);
	}
	if (c->out.err) {
		conn_free(c);
		return;
	}
	evloop_del(loop, fd);
	if (evloop_add(loop, fd, EVLOOP_WRITE, on_write, c))
		conn_free(c);
}

static void on_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct admin_conn *c = arg;

	(void)loop;
	(void)t;
	c->timer = NULL;
	conn_free(c);
}

static void on_accept(struct evloop *loop, int lfd, uint32_t events,
		      void *arg)
{
	struct admin *a = arg;
	struct admin_conn *c;
	int fd;

	(void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (a->n_conns >= ADMIN_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->a = a;
	c->fd = fd;
	c->next = a->conns;
	a->conns = c;
	a->n_conns++;
	c->timer = evloop_timer_add(loop, ADMIN_TIMEOUT_MS, on_timeout, c);
	if (evloop_add(loop, fd, EVLOOP_READ, on_read, c))
		conn_free(c);
}

int admin_open(struct evloop *loop, const struct sockaddr_in *addr,
	       admin_handler h, void *arg, struct admin **out)
{
	struct admin *a = NULL;
	int one = 1, err = 0;

	*out = NULL;
	if (!addr->sin_port)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->loop = loop;
	a->handler = h;
	a->arg = arg;
	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(a->fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    listen(a->fd, 64) < 0) {
		err = -errno;
		goto out;
	}
	err = evloop_add(loop, a->fd, EVLOOP_READ, on_accept, a);
out:
	if (err) {
		if (a->fd >= 0)
			close(a->fd);
		free(a);
		return err;
	}
	*out = a;
	return 0;
}

void admin_close(struct admin *a)
{
	if (!a)
		return;
	while (a->conns)
		conn_free(a->conns);
	evloop_del(a->loop, a->fd);
	close(a->fd);
	free(a);
}

/* ---- client ---- */

static int wait_fd(int fd, short ev, int64_t deadline_ms)
{
	struct timespec ts;
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now >= deadline_ms)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline_ms - now));
	if (r < 0)
		return -errno;
	return r ? 0 : -ETIMEDOUT;
}

static int64_t deadline(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

static int parse_response(struct metrics_buf *in, int *status, char **body)
{
	char *sep;

	if (!in->p || sscanf(in->p, "HTTP/1.%*d %d", status) != 1)
		return -EBADMSG;
	sep = strstr(in->p, "\r\n\r\n");
	if (!sep)
		return -EBADMSG;
	*body = strdup(sep + 4);
	return *body ? 0 : -ENOMEM;
}

int admin_request(const struct sockaddr_in *addr, const char *method,
		  const char *path, int timeout_ms, int *status, char **body)
{
	int64_t end = deadline(timeout_ms);
	struct metrics_buf in, req;
	int fd, err = 0;
	char chunk[4096];

	*body = NULL;
	metrics_init(&in);
	metrics_init(&req);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 &&
	    errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	metrics_printf(&req, "%s %s HTTP/1.1\r\nHost: admin\r\n"
			     "Connection: close\r\n\r\n", method, path);
	for (size_t off = 0; !err && off < req.len;) {
		ssize_t n;

		err = wait_fd(fd, POLLOUT, end);
		if (err)
			break;
		n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			err = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	while (!err) {
		ssize_t n;

		err = wait_fd(fd, POLLIN, end);
		if (err)
			break;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN)
			err = -errno;
		else if (n > 0)
			metrics_printf(&in, "%.*s", (int)n, chunk);
	}
	if (!err)
		err = in.err ? in.err : parse_response(&in, status, body);
out:
	close(fd);
	metrics_free(&in);
	metrics_free(&req);
	return err;
}
