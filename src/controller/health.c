/* Active health checks: one check at a time per backend, non-blocking, in
 * the controller's event loop.  A check is: connect to the backend's HTTP
 * address, send `GET <path> HTTP/1.1` with Connection: close, read the
 * status line.  One timer per backend serves as the interval between
 * checks and as the timeout of the running check. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/backend_set.h"
#include "lib/log.h"

static void check_start(struct ctrl_backend *b);

static const struct controller_config *hcfg(const struct ctrl_backend *b)
{
	return *b->health.cfg;
}

static void close_check(struct ctrl_backend *b)
{
	if (b->health.fd >= 0) {
		evloop_del(b->loop, b->health.fd);
		close(b->health.fd);
	}
	b->health.fd = -1;
	b->health.sent = false;
	b->health.len = 0;
}

static void timer_fire(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct ctrl_backend *b = arg;

	(void)loop;
	(void)t;
	b->health.timer = NULL;
	if (b->health.fd >= 0) {
		log_debug("backend %s: health check timed out", b->cfg.name);
		close_check(b);
		b->health.failed++;
		b->health.passes = 0;
		if (++b->health.fails >= hcfg(b)->health_fall &&
		    b->health.healthy) {
			b->health.healthy = false;
			log_warn("backend %s: unhealthy: check timed out",
				 b->cfg.name);
		}
		b->health.timer = evloop_timer_add(
			b->loop, hcfg(b)->health_interval_ms, timer_fire, b);
		return;
	}
	check_start(b);
}

static void result(struct ctrl_backend *b, bool pass, const char *why)
{
	struct ctrl_health *h = &b->health;

	close_check(b);
	if (h->timer)
		evloop_timer_cancel(b->loop, h->timer);
	h->checks++;
	if (pass) {
		h->fails = 0;
		if (++h->passes >= hcfg(b)->health_rise && !h->healthy) {
			h->healthy = true;
			log_info("backend %s: healthy again", b->cfg.name);
		}
	} else {
		h->failed++;
		h->passes = 0;
		if (++h->fails >= hcfg(b)->health_fall && h->healthy) {
			h->healthy = false;
			log_warn("backend %s: unhealthy: %s", b->cfg.name, why);
		}
	}
	h->timer = evloop_timer_add(b->loop, hcfg(b)->health_interval_ms,
				    timer_fire, b);
}

static void send_check(struct ctrl_backend *b)
{
	char req[512];
	int err = 0, n;
	socklen_t len = sizeof(err);

	if (getsockopt(b->health.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		result(b, false, strerror(err));
		return;
	}
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: prism-health\r\n"
		     "Connection: close\r\n\r\n",
		     hcfg(b)->health_path, b->cfg.name);
	/* A fresh socket's buffer takes a few hundred bytes at once. */
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send(b->health.fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		result(b, false, "send failed");
		return;
	}
	b->health.sent = true;
	evloop_mod(b->loop, b->health.fd, EVLOOP_READ);
}

static void read_status(struct ctrl_backend *b)
{
	struct ctrl_health *h = &b->health;
	ssize_t n = recv(h->fd, h->buf + h->len, sizeof(h->buf) - 1 - h->len, 0);
	int status = 0;
	char why[48];

	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		h->len += (size_t)n;
	h->buf[h->len] = 0;
	if (n > 0 && !strstr(h->buf, "\r\n") && h->len < sizeof(h->buf) - 1)
		return;
	if (sscanf(h->buf, "HTTP/1.%*d %d", &status) != 1) {
		result(b, false, n < 0 ? strerror(errno) : "no status line");
		return;
	}
	snprintf(why, sizeof(why), "status %d", status);
	result(b, status >= 200 && status < 300, why);
}

static void on_io(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct ctrl_backend *b = arg;

	(void)loop;
	(void)fd;
	(void)events;
	if (!b->health.sent)
		send_check(b);
	else
		read_status(b);
}

static void check_start(struct ctrl_backend *b)
{
	struct ctrl_health *h = &b->health;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || (connect(fd, (struct sockaddr *)&b->cfg.http,
			       sizeof(b->cfg.http)) < 0 &&
		       errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		result(b, false, strerror(errno));
		return;
	}
	h->fd = fd;
	if (evloop_add(b->loop, fd, EVLOOP_WRITE, on_io, b)) {
		result(b, false, "event loop");
		return;
	}
	h->timer = evloop_timer_add(b->loop, hcfg(b)->health_timeout_ms,
				    timer_fire, b);
}

void health_start(struct ctrl_backend *b,
		  const struct controller_config *const *cfg)
{
	health_stop(b);
	b->health.cfg = cfg;
	if (!(*cfg)->health_interval_ms) {
		b->health.healthy = true; /* no checks: trust the channel */
		return;
	}
	b->health.timer = evloop_timer_add(b->loop, 0, timer_fire, b);
}

void health_stop(struct ctrl_backend *b)
{
	if (b->health.timer)
		evloop_timer_cancel(b->loop, b->health.timer);
	b->health.timer = NULL;
	close_check(b);
}
