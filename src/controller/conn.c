#include "controller/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

const char *conn_state_name(enum conn_state s)
{
	static const char *names[] = { "READING", "HANDOFF", "REMOTE",
				       "CLOSING" };

	return s <= CONN_CLOSING ? names[s] : "?";
}

static bool at_backend(enum conn_state s)
{
	return s == CONN_HANDOFF || s == CONN_REMOTE;
}

/* The backend's load (least-conn) follows the state: it counts the
 * connections handed off to it and not yet back. */
void conn_set_state(struct conn *k, enum conn_state s)
{
	if (k->backend && at_backend(s) && !at_backend(k->state))
		k->backend->member.load++;
	else if (k->backend && !at_backend(s) && at_backend(k->state))
		k->backend->member.load--;
	log_debug("conn %llu: %s -> %s", (unsigned long long)k->id,
		  conn_state_name(k->state), conn_state_name(s));
	k->state = s;
}

static int grow_table(struct ctrl *c)
{
	uint32_t n = c->n_slots ? c->n_slots * 2 : 1024;
	struct conn **conns = realloc(c->conns, n * sizeof(*conns));
	uint32_t *free_slots;

	if (!conns)
		return -ENOMEM;
	c->conns = conns;
	free_slots = realloc(c->free_slots, n * sizeof(*free_slots));
	if (!free_slots)
		return -ENOMEM;
	c->free_slots = free_slots;
	for (uint32_t i = n; i > c->n_slots; i--) {
		conns[i - 1] = NULL;
		free_slots[c->n_free++] = i - 1;
	}
	c->n_slots = n;
	return 0;
}

static struct conn *conn_new(struct ctrl *c, int fd)
{
	struct conn *k;
	uint32_t slot;

	if (!c->n_free && grow_table(c))
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	slot = c->free_slots[--c->n_free];
	k->id = (uint64_t)++c->generation << 32 | slot;
	k->ctrl = c;
	k->fd = fd;
	c->conns[slot] = k;
	return k;
}

struct conn *conn_lookup(struct ctrl *c, uint64_t id)
{
	uint32_t slot = (uint32_t)id;

	if (slot >= c->n_slots || !c->conns[slot] ||
	    c->conns[slot]->id != id)
		return NULL;
	return c->conns[slot];
}

void conn_cancel_timer(struct conn *k)
{
	if (k->timer)
		evloop_timer_cancel(k->ctrl->loop, k->timer);
	k->timer = NULL;
}

void conn_destroy(struct conn *k)
{
	struct ctrl *c = k->ctrl;
	uint32_t slot = (uint32_t)k->id;

	log_debug("conn %llu: closed in %s", (unsigned long long)k->id,
		  conn_state_name(k->state));
	conn_switch_release(k);
	conn_cancel_timer(k);
	if (k->backend && at_backend(k->state))
		k->backend->member.load--;
	if (k->fd >= 0) {
		evloop_del(c->loop, k->fd);
		close(k->fd);
	}
	c->conns[slot] = NULL;
	c->free_slots[c->n_free++] = slot;
	c->stats.closed++;
	free(k->buf);
	free(k);
}

static void idle_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	log_debug("conn %llu: idle timeout", (unsigned long long)k->id);
	conn_destroy(k);
}

static void conn_arm_idle(struct conn *k);

static void unlock_check(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	conn_confirm_unlock(k);
	conn_arm_idle(k);
}

/* Idle timeout between requests; once a request has started, also the
 * header timeout, which more bytes do not extend (slowloris).  Right after
 * a hand-back, first the unlock check. */
static void conn_arm_idle(struct conn *k)
{
	uint64_t now = evloop_now_ms(), delay = k->ctrl->cfg->idle_timeout_ms;

	if (k->unlock_unconfirmed) {
		conn_cancel_timer(k);
		k->timer = evloop_timer_add(k->ctrl->loop, CONN_UNLOCK_CHECK_MS,
					    unlock_check, k);
		return;
	}
	if (!k->len) {
		k->head_deadline = 0;
	} else {
		if (!k->head_deadline)
			k->head_deadline = now + k->ctrl->cfg->header_timeout_ms;
		if (k->head_deadline - now < delay)
			delay = k->head_deadline > now ? k->head_deadline - now
						       : 0;
	}
	conn_cancel_timer(k);
	k->timer = evloop_timer_add(k->ctrl->loop, delay, idle_timeout, k);
}

int conn_set_buffer(struct conn *k, const void *data, size_t len)
{
	if (len > CONN_BUF_MAX)
		return -E2BIG;
	if (len > k->cap) {
		char *p = realloc(k->buf, len);

		if (!p)
			return -ENOMEM;
		k->buf = p;
		k->cap = len;
	}
	if (len)
		memcpy(k->buf, data, len);
	k->len = len;
	return 0;
}

/* Reads what is there, up to CONN_BUF_MAX buffered (k->want when a small
 * body is on its way).  Returns bytes read,
 * 0 on EOF, -EAGAIN, or -errno. */
static ssize_t conn_read(struct conn *k)
{
	size_t cap = k->want > CONN_BUF_MAX ? k->want : CONN_BUF_MAX;
	ssize_t n;

	if (k->cap < cap) {
		char *p = realloc(k->buf, cap);

		if (!p)
			return -ENOMEM;
		k->buf = p;
		k->cap = cap;
	}
	if (k->len == k->cap)
		return -ENOBUFS;
	n = read(k->fd, k->buf + k->len, k->cap - k->len);
	if (n < 0)
		return -errno;
	k->len += (size_t)n;
	return n;
}

static void conn_readable(struct evloop *loop, int fd, uint32_t events,
			  void *arg)
{
	struct conn *k = arg;
	ssize_t n;

	(void)loop;
	(void)fd;
	(void)events;
	n = conn_read(k);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		if (n < 0 && n != -ECONNRESET)
			log_debug("conn %llu: read: %s",
				  (unsigned long long)k->id, strerror((int)-n));
		conn_destroy(k);
		return;
	}
	if (k->state == CONN_CLOSING) {
		k->len = 0; /* draining: discard */
		return;
	}
	k->unlock_unconfirmed = false; /* the client got the window update */
	conn_arm_idle(k);
	conn_process(k);
}

void conn_pause(struct conn *k)
{
	conn_cancel_timer(k);
	k->head_deadline = 0; /* the next request gets its own */
	evloop_del(k->ctrl->loop, k->fd);
}

int conn_resume(struct conn *k)
{
	int err = evloop_add(k->ctrl->loop, k->fd, EVLOOP_READ, conn_readable, k);

	if (err)
		return err;
	conn_set_state(k, CONN_READING);
	conn_arm_idle(k);
	return 0;
}

static void linger_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct conn *k = arg;

	(void)loop;
	(void)t;
	k->timer = NULL;
	conn_destroy(k);
}

void conn_linger_close(struct conn *k)
{
	shutdown(k->fd, SHUT_WR);
	conn_set_state(k, CONN_CLOSING);
	conn_cancel_timer(k);
	k->timer = evloop_timer_add(k->ctrl->loop, CONN_LINGER_MS,
				    linger_timeout, k);
}

void conn_accept(struct evloop *loop, int lfd, uint32_t events, void *arg)
{
	struct ctrl *c = arg;
	struct sockaddr_in peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	struct conn *k;
	int one = 1;

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		getsockname(fd, (struct sockaddr *)&local, &llen);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k = conn_new(c, fd);
		if (!k) {
			close(fd);
			continue;
		}
		k->key.client_ip = peer.sin_addr.s_addr;
		k->key.client_port = peer.sin_port;
		k->key.vip = local.sin_addr.s_addr;
		k->key.vip_port = local.sin_port;
		c->stats.accepted++;
		if (conn_resume(k))
			conn_destroy(k);
	}
}

bool conn_established(const struct conn *k)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return !getsockopt(k->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	       ti.tcpi_state == TCP_ESTABLISHED;
}

void conn_record_latency(struct conn *k)
{
	uint64_t now = evloop_now_ms();

	k->ctrl->stats.latency_us_sum += (now - k->t_handoff) * 1000;
	k->ctrl->stats.latency_n++;
}

void ctrl_stats_log(const struct ctrl *c)
{
	const struct ctrl_stats *s = &c->stats;

	log_info("accepted %llu closed %llu requests %llu bad %llu "
		 "handoffs %llu handbacks %llu failures %llu switch_errors %llu "
		 "late_segments %llu",
		 (unsigned long long)s->accepted, (unsigned long long)s->closed,
		 (unsigned long long)s->requests,
		 (unsigned long long)s->bad_requests,
		 (unsigned long long)s->handoffs,
		 (unsigned long long)s->handbacks,
		 (unsigned long long)s->handoff_failures,
		 (unsigned long long)s->switch_errors,
		 (unsigned long long)s->late_segments);
	for (unsigned i = 0; i < c->n_backends; i++)
		log_info("backend %s: handoffs %llu failures %llu",
			 c->backends[i].cfg.name,
			 (unsigned long long)c->backends[i].handoffs,
			 (unsigned long long)c->backends[i].failures);
}
