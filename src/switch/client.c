#include "switch/client.h"

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

#include "lib/log.h"
#include "switch/fast.h"

struct switch_pending {
	bool used;
	uint16_t count;
	uint16_t len;
	uint64_t seq;
	uint8_t buf[CTL_REQ_MAX_LEN];
};

int switch_parse_addr(const char *s, uint16_t default_port,
		      struct sockaddr_in *out)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t iplen = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long port = default_port;
	char *end;

	if (iplen == 0 || iplen >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &out->sin_addr) != 1)
		return -EINVAL;
	if (colon) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port > 65535)
			return -EINVAL;
	}
	if (port == 0)
		return -EINVAL;
	out->sin_port = htons((uint16_t)port);
	return 0;
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int switch_client_open_addr(struct switch_client *c,
			    const struct sockaddr_in *agent,
			    const struct auth_key *key, uint32_t peer_id)
{
	int fd, err;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pending = calloc(SWITCH_CLIENT_PENDING, sizeof(*c->pending));
	if (!c->pending)
		return -ENOMEM;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* Connected: recv only sees the agent's datagrams, and an ICMP
	 * unreachable surfaces as ECONNREFUSED. */
	if (connect(fd, (const struct sockaddr *)agent, sizeof(*agent))) {
		err = -errno;
		close(fd);
		goto out;
	}
	c->fd = fd;
	c->agent = *agent;
	c->key = *key;
	fast_key_derive(key, &c->fast_key);
	c->peer_id = peer_id;
	c->next_seq = now_ns(CLOCK_REALTIME);
	c->next_fast_seq = c->next_seq;
	return fd;
out:
	free(c->pending);
	c->pending = NULL;
	return err;
}

int switch_client_open(struct switch_client *c, const char *agent,
		       const struct auth_key *key, uint32_t peer_id)
{
	struct sockaddr_in sa;

	if (switch_parse_addr(agent, CTL_DEFAULT_PORT, &sa)) {
		log_err("switch agent address '%s': expected IP:PORT", agent);
		return -EINVAL;
	}
	return switch_client_open_addr(c, &sa, key, peer_id);
}

void switch_client_close(struct switch_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->pending);
	c->pending = NULL;
	auth_key_clear(&c->key);
	memset(&c->fast_key, 0, sizeof(c->fast_key));
}

static struct switch_pending *slot(struct switch_client *c, uint64_t seq)
{
	return &c->pending[seq % SWITCH_CLIENT_PENDING];
}

static struct switch_pending *find_pending(struct switch_client *c,
					   uint64_t seq)
{
	struct switch_pending *p = slot(c, seq);

	return p->used && p->seq == seq ? p : NULL;
}

/* Transient failures leave the request pending for a retransmission. */
static int send_pending(struct switch_client *c, struct switch_pending *p)
{
	if (send(c->fd, p->buf, p->len, 0) == p->len)
		return 0;
	if (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED)
		return 0;
	return -errno;
}

int switch_client_send(struct switch_client *c, const struct switch_op *ops,
		       unsigned n, uint64_t *seq)
{
	struct ctl_msg m = { .type = CTL_REQUEST, .peer_id = c->peer_id };
	struct switch_pending *p;
	size_t len;
	int err;

	if (n > CTL_MAX_OPS)
		return -EINVAL;
	m.count = (uint16_t)n;
	m.seq = c->next_seq;
	if (n)
		memcpy(m.ops, ops, n * sizeof(*ops));
	/* A request unanswered for SWITCH_CLIENT_PENDING sends is outside
	 * the agent's window anyway, so its slot is reused. */
	p = slot(c, m.seq);
	err = ctl_encode(&m, &c->key, p->buf, sizeof(p->buf), &len);
	if (err)
		return err;
	c->next_seq++;
	p->used = true;
	p->seq = m.seq;
	p->count = m.count;
	p->len = (uint16_t)len;
	err = send_pending(c, p);
	if (err) {
		p->used = false;
		return err;
	}
	*seq = m.seq;
	return 0;
}

int switch_client_resend(struct switch_client *c, uint64_t seq)
{
	struct switch_pending *p = find_pending(c, seq);

	return p ? send_pending(c, p) : -ENOENT;
}

void switch_client_forget(struct switch_client *c, uint64_t seq)
{
	struct switch_pending *p = find_pending(c, seq);

	if (p)
		p->used = false;
}

/* An agent response in BUF (LEN bytes as received; more than the buffer
 * means oversize); switch_client_recv's contract. */
static int agent_answer(struct switch_client *c, const uint8_t *buf,
			size_t len, uint64_t *seq, int *status, unsigned *n)
{
	struct switch_pending *p;
	enum ctl_error why;
	struct ctl_msg m;

	if (ctl_decode(buf, len > CTL_RESP_MAX_LEN + 1 ? CTL_RESP_MAX_LEN + 1 : len,
		       &c->key, CTL_RESPONSE, &m, &why) ||
	    m.peer_id != c->peer_id) {
		c->bad_responses++;
		log_debug("switch agent: dropped response: %s",
			  ctl_error_name(why));
		return -EBADMSG;
	}
	p = find_pending(c, m.seq);
	if (!p)
		return -ENOENT;
	if (m.count != p->count) {
		c->bad_responses++;
		return -EBADMSG;
	}
	if (m.count > *n)
		return -EMSGSIZE;
	p->used = false;
	if (m.count)
		memcpy(status, m.status, m.count * sizeof(*status));
	*n = m.count;
	*seq = m.seq;
	return 0;
}

int switch_client_recv(struct switch_client *c, uint64_t *seq, int *status,
		       unsigned *n)
{
	uint8_t buf[CTL_RESP_MAX_LEN + 1];
	ssize_t len;

	len = recv(c->fd, buf, sizeof(buf), MSG_TRUNC);
	if (len < 0)
		return -errno;
	return agent_answer(c, buf, (size_t)len, seq, status, n);
}

int switch_client_read_any(struct switch_client *c, bool *fast,
			   uint64_t *seq, int *status)
{
	uint8_t buf[CTL_RESP_MAX_LEN + 1];
	unsigned n = 1;
	ssize_t len;

	len = recv(c->fd, buf, sizeof(buf), MSG_TRUNC);
	if (len < 0)
		return -errno;
	*fast = len == FAST_MSG_LEN;
	if (*fast) {
		if (fast_decode_response(buf, (size_t)len, &c->fast_key,
					 c->peer_id, seq, status))
			return -EBADMSG;
		return 0;
	}
	return agent_answer(c, buf, (size_t)len, seq, status, &n);
}

int switch_client_fast_send(struct switch_client *c, const struct switch_op *op,
			    uint64_t *seq)
{
	uint8_t buf[FAST_MSG_LEN];

	*seq = c->next_fast_seq++;
	fast_encode_op(op, c->peer_id, *seq, &c->fast_key, buf);
	if (send(c->fd, buf, FAST_MSG_LEN, 0) != FAST_MSG_LEN)
		return -errno;
	return 0;
}

/* Waits for the answer to SEQ until DEADLINE (CLOCK_MONOTONIC ns) or the
 * next retransmission; returns 0, -EAGAIN (retransmit) or -errno. */
static int wait_answer(struct switch_client *c, uint64_t seq, int *status,
		       unsigned n, uint64_t until, bool *refused)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	uint64_t now;
	uint64_t got;
	unsigned cnt;
	int err;

	for (;;) {
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= until)
			return -EAGAIN;
		err = poll(&pfd, 1, (int)((until - now + 999999) / 1000000));
		if (err < 0 && errno != EINTR)
			return -errno;
		if (err <= 0)
			continue;
		cnt = n;
		err = switch_client_recv(c, &got, status, &cnt);
		if (err == 0 && got == seq)
			return 0;
		/* Refused: no agent yet; the retransmission will retry. */
		if (err == -ECONNREFUSED)
			*refused = true;
		if (err && err != -EAGAIN && err != -EBADMSG &&
		    err != -ENOENT && err != -ECONNREFUSED)
			return err;
	}
}

int switch_client_call(struct switch_client *c, const struct switch_op *ops,
		       unsigned n, int *status, int timeout_ms)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), deadline, until, seq;
	bool refused = false;
	int err;

	deadline = start + (uint64_t)timeout_ms * 1000000ull;
	err = switch_client_send(c, ops, n, &seq);
	if (err)
		return err;
	for (;;) {
		until = now_ns(CLOCK_MONOTONIC) +
			SWITCH_CLIENT_RETRY_MS * 1000000ull;
		if (until > deadline)
			until = deadline;
		err = wait_answer(c, seq, status, n, until, &refused);
		if (err != -EAGAIN)
			break;
		if (now_ns(CLOCK_MONOTONIC) >= deadline) {
			/* Say why nothing came back when the kernel knows. */
			err = refused ? -ECONNREFUSED : -ETIMEDOUT;
			break;
		}
		err = switch_client_resend(c, seq);
		if (err)
			break;
	}
	if (err)
		switch_client_forget(c, seq);
	return err;
}
