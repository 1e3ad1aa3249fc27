#include "controller/conn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/http.h"
#include "lib/log.h"

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

struct conn *conn_new(struct ctrl *c, int fd)
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

void conn_free(struct conn *k)
{
	struct ctrl *c = k->ctrl;
	uint32_t slot = (uint32_t)k->id;

	if (k->fd >= 0) {
		evloop_del(c->loop, k->fd);
		close(k->fd);
	}
	c->conns[slot] = NULL;
	c->free_slots[c->n_free++] = slot;
	c->stats.closed++;
	evloop_defer_cancel(c->loop, &k->tls_more);
	tlsconn_free(k->tls);
	free(k->tail);
	free(k->out);
	free(k->buf);
	free(k);
}

void conn_table_free(struct ctrl *c)
{
	free(c->conns);
	free(c->free_slots);
	c->conns = NULL;
	c->free_slots = NULL;
	c->n_slots = c->n_free = 0;
}

int conn_watch(struct conn *k, evloop_fd_cb cb)
{
	k->tls_watch_write = false;
	return evloop_add(k->ctrl->loop, k->fd, EVLOOP_READ, cb, k);
}

void conn_unwatch(struct conn *k)
{
	k->tls_watch_write = false;
	evloop_del(k->ctrl->loop, k->fd);
}

int conn_watch_write(struct conn *k, evloop_fd_cb cb)
{
	k->tls_watch_write = false;
	return evloop_add(k->ctrl->loop, k->fd, EVLOOP_WRITE, cb, k);
}

/* TLS: the sealed records first, then what waited in k->out. */
static int flush_tls(struct conn *k)
{
	int r = tlsconn_flush(k->tls, k->fd);

	while (r > 0 && k->out_off < k->out_len) {
		ssize_t n = tlsconn_write(k->tls, k->fd, k->out + k->out_off,
					  k->out_len - k->out_off);

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		k->out_off += (size_t)n;
		r = tlsconn_out_pending(k->tls) ? 0 : 1;
	}
	if (r <= 0)
		return r;
	free(k->out);
	k->out = NULL;
	k->out_len = k->out_off = 0;
	return 1;
}

/* Writes what the socket takes of k->out; the rest stays queued. */
int conn_flush_out(struct conn *k)
{
	if (k->tls)
		return flush_tls(k);
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off,
				 k->out_len - k->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		k->out_off += (size_t)n;
	}
	free(k->out);
	k->out = NULL;
	k->out_len = k->out_off = 0;
	return 1;
}

/* Sends LEN bytes: sealed when the connection is TLS (then what is
 * sealed counts as sent; conn_write_out waits for the socket). */
static ssize_t send_some(struct conn *k, const void *data, size_t len)
{
	ssize_t n;

	if (k->tls) {
		n = tlsconn_write(k->tls, k->fd, data, len);
		if (n < 0)
			errno = (int)-n;
		return n < 0 ? -1 : n;
	}
	do
		n = send(k->fd, data, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

int conn_write_out(struct conn *k, const void *data, size_t len)
{
	ssize_t n = send_some(k, data, len);

	if (n < 0 && errno != EAGAIN)
		return -errno;
	if (n < 0)
		n = 0;
	if ((size_t)n == len)
		return k->tls && tlsconn_out_pending(k->tls) ? 0 : 1;
	/* The client reads slower than we write: the rest waits here. */
	k->out = malloc(len - (size_t)n);
	if (!k->out)
		return -ENOMEM;
	memcpy(k->out, (const uint8_t *)data + n, len - (size_t)n);
	k->out_len = len - (size_t)n;
	k->out_off = 0;
	return 0;
}

static int reserve(struct conn *k, size_t cap)
{
	char *p;

	if (k->cap >= cap)
		return 0;
	p = realloc(k->buf, cap);
	if (!p)
		return -ENOMEM;
	k->buf = p;
	k->cap = cap;
	return 0;
}

/* The request buffer's usual size: a TLS one holds a record more, which
 * is opened whole or not at all (HO_TLS_REQUEST_BUF). */
static size_t base_cap(const struct conn *k)
{
	return k->is_tls ? HO_TLS_REQUEST_BUF : HO_REQUEST_BUF;
}

int conn_set_buffer(struct conn *k, const void *data, size_t len)
{
	if (len > base_cap(k))
		return -E2BIG;
	if (reserve(k, len))
		return -ENOMEM;
	if (len)
		memcpy(k->buf, data, len);
	k->len = len;
	return 0;
}

void conn_clear_buffer(struct conn *k)
{
	k->len = 0;
	if (k->cap > base_cap(k)) { /* a small body's room: give it back */
		free(k->buf);
		k->buf = NULL;
		k->cap = 0;
	}
}

/* Our records (handshake flight, tickets, a KeyUpdate) waiting for the
 * socket: written first, and the fd watched for writing while some are
 * left (only while READING: other states watch it themselves). */
static int tls_out(struct conn *k)
{
	return tlsconn_flush_watched(k->tls, k->fd, k->ctrl->loop,
				     &k->tls_watch_write);
}

/* A dead session (alert sent, or close_notify): what the client still
 * sends is read raw, for CLOSING to drain (and a READING state to find
 * the connection unusable), so that closing does not reset it. */
static ssize_t read_raw(struct conn *k)
{
	ssize_t n = read(k->fd, k->buf + k->len, k->cap - k->len);

	if (n < 0)
		return -errno;
	k->len += (size_t)n;
	return n;
}

/* TLS: the handshake first, then the records' plaintext. */
static ssize_t read_tls(struct conn *k)
{
	ssize_t n;
	int r;

	if (!tlsconn_established(k->tls)) {
		r = tlsconn_handshake(k->tls, k->fd);
		if (r < 0)
			return r;
		if (tls_out(k))
			return -EPIPE;
		if (r == 0)
			return -EAGAIN;
	}
	if (!tlsconn_usable(k->tls))
		return read_raw(k);
	if (k->tls_watch_write && tls_out(k))
		return -EPIPE;
	n = tlsconn_read(k->tls, k->fd, k->buf + k->len, k->cap - k->len);
	if (n > 0)
		k->len += (size_t)n;
	if (tlsconn_out_pending(k->tls) && tls_out(k))
		return -EPIPE;
	return n;
}

ssize_t conn_read(struct conn *k)
{
	size_t cap = k->want > base_cap(k) ? k->want : base_cap(k);
	ssize_t n;

	if (reserve(k, cap))
		return -ENOMEM;
	if (k->len == k->cap)
		return -ENOBUFS;
	if (k->tls)
		return read_tls(k);
	n = read(k->fd, k->buf + k->len, k->cap - k->len);
	if (n < 0)
		return -errno;
	k->len += (size_t)n;
	return n;
}

int conn_tcp_state(const struct conn *k, uint32_t *rtt_us)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(k->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	if (rtt_us)
		*rtt_us = ti.tcpi_rtt;
	return ti.tcpi_state;
}

size_t conn_write_error(struct conn *k, int status)
{
	char buf[256];
	size_t n = http_format_error(status, buf, sizeof(buf));

	/* Best effort: a client that does not read its error is gone. */
	if (send_some(k, buf, n) < 0)
		log_debug("conn %llu: error reply: %s",
			  (unsigned long long)k->id, strerror(errno));
	return n;
}

void conn_shutdown(struct conn *k)
{
	if (k->tls)
		tlsconn_close_notify(k->tls, k->fd);
	shutdown(k->fd, SHUT_WR);
}

void conn_tls_more(struct conn *k, void (*cb)(void *arg))
{
	if (!k->tls || !tlsconn_in_pending(k->tls))
		return;
	k->tls_more.cb = cb;
	k->tls_more.arg = k;
	evloop_defer(k->ctrl->loop, &k->tls_more);
}

void conn_accept(struct ctrl *c, int lfd, void (*on_new)(struct conn *k))
{
	struct sockaddr_in peer, local;
	socklen_t plen, llen;
	struct conn *k;
	int one = 1;

	for (int i = 0; i < 64; i++) {
		int fd;

		plen = sizeof(peer);
		llen = sizeof(local);
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
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
		on_new(k);
	}
}
