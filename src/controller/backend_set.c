#include "controller/backend_set.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/net.h"

static void schedule_retry(struct ctrl_backend *b);

static const char *addr_str(const struct ctrl_backend *b, char *buf,
			    size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->cfg.handoff.sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(b->cfg.handoff.sin_port));
	return buf;
}

void ctrl_backend_init(struct ctrl_backend *b,
		       const struct ctrl_backend_config *cfg,
		       struct evloop *loop, const struct auth_key *key,
		       ctrl_backend_msg_cb on_msg, ctrl_backend_down_cb on_down,
		       void *arg)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	b->loop = loop;
	b->key = key;
	b->on_msg = on_msg;
	b->on_down = on_down;
	b->arg = arg;
	b->connecting_fd = -1;
	b->health.fd = -1;
	b->health.healthy = true;
	b->in_use = true;
	b->member.name = b->cfg.name;
	b->member.weight = cfg->weight ? cfg->weight : 1;
}

static void chan_msg(struct hochan *ch, const struct ho_msg *m, void *arg)
{
	struct ctrl_backend *b = arg;

	(void)ch;
	b->on_msg(b, m, b->arg);
}

static void chan_close(struct hochan *ch, long err, void *arg)
{
	struct ctrl_backend *b = arg;
	char a[32];

	(void)ch;
	log_warn("backend %s %s: hand-off channel closed: %s", b->cfg.name,
		 addr_str(b, a, sizeof(a)),
		 strerror((int)-err));
	b->ch = NULL;
	b->up = false;
	b->on_down(b, b->arg);
	schedule_retry(b);
}

static void connect_done(struct evloop *loop, int fd, uint32_t events,
			 void *arg)
{
	struct ctrl_backend *b = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	char a[32];

	(void)events;
	evloop_del(loop, fd);
	b->connecting_fd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		log_debug("backend %s %s: connect: %s", b->cfg.name,
			  addr_str(b, a, sizeof(a)), strerror(err));
		close(fd);
		schedule_retry(b);
		return;
	}
	err = net_tune_channel(fd);
	if (err)
		log_debug("backend %s: channel timers: %s", b->cfg.name,
			  strerror(-err));
	b->ch = hochan_new(loop, fd, b->key, chan_msg, chan_close, b);
	if (!b->ch) {
		close(fd);
		schedule_retry(b);
		return;
	}
	b->up = true;
	log_info("backend %s %s: connected", b->cfg.name,
		 addr_str(b, a, sizeof(a)));
}

void ctrl_backend_connect(struct ctrl_backend *b)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		schedule_retry(b);
		return;
	}
	if (connect(fd, (struct sockaddr *)&b->cfg.handoff,
		    sizeof(b->cfg.handoff)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		schedule_retry(b);
		return;
	}
	b->connecting_fd = fd;
	if (evloop_add(b->loop, fd, EVLOOP_WRITE, connect_done, b)) {
		close(fd);
		b->connecting_fd = -1;
		schedule_retry(b);
	}
}

static void retry_fire(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct ctrl_backend *b = arg;

	(void)loop;
	(void)t;
	b->retry = NULL;
	ctrl_backend_connect(b);
}

static void schedule_retry(struct ctrl_backend *b)
{
	if (!b->retry)
		b->retry = evloop_timer_add(b->loop, CTRL_RECONNECT_MS,
					    retry_fire, b);
}

void ctrl_backend_close(struct ctrl_backend *b)
{
	if (b->retry)
		evloop_timer_cancel(b->loop, b->retry);
	b->retry = NULL;
	if (b->connecting_fd >= 0) {
		evloop_del(b->loop, b->connecting_fd);
		close(b->connecting_fd);
		b->connecting_fd = -1;
	}
	hochan_free(b->ch);
	b->ch = NULL;
	b->up = false;
	health_stop(b);
}

bool ctrl_backend_usable(const struct ctrl_backend *b)
{
	return b->up && hochan_ready(b->ch) && b->health.healthy && !b->cfg.drain &&
	       !b->removed && evloop_now_ms() >= b->down_until_ms;
}

void ctrl_backend_backoff(struct ctrl_backend *b, uint32_t backoff_ms)
{
	if (!backoff_ms)
		return;
	if (evloop_now_ms() >= b->down_until_ms)
		log_warn("backend %s: marked down for %u ms after a failed "
			 "hand-off", b->cfg.name, backoff_ms);
	b->down_until_ms = evloop_now_ms() + backoff_ms;
}

void ctrl_status_add(struct ctrl_status_count *s, unsigned status)
{
	for (unsigned i = 0; i < s->used; i++)
		if (s->status[i] == status) {
			s->n[i]++;
			return;
		}
	if (s->used < CTRL_STATUS_SLOTS) {
		s->status[s->used] = (uint16_t)status;
		s->n[s->used++] = 1;
		return;
	}
	s->n[CTRL_STATUS_SLOTS]++;
}

int ctrl_backend_send(struct ctrl_backend *b, struct ho_msg *m)
{
	if (!b->ch)
		return -ENOTCONN;
	return hochan_send(b->ch, m);
}

int ctrl_backend_send_lazy(struct ctrl_backend *b, struct ho_msg *m)
{
	if (!b->ch)
		return -ENOTCONN;
	return hochan_send_lazy(b->ch, m);
}
