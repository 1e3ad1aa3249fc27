/* TCP_REPAIR dump and restore of one socket.  See tcprepair.h for the call
 * order and the reasons behind it. */
#include "lib/tcprepair.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/socket.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Queue contents go to the kernel in pieces of at most this much: a
 * repair-mode send on the receive queue becomes one skb, and a large one
 * fails to allocate. */
#define TCPR_CHUNK 65536

static __thread char errbuf[256];

const char *tcpr_errmsg(void)
{
	return errbuf;
}

/* Records what failed and returns err. */
static int __attribute__((format(printf, 2, 3))) fail(int err,
						      const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", strerror(-err));
	return err;
}

/* "a.b.c.d:p->e.f.g.h:q" for messages */
static const char *tuple(const struct tcpr_state *st)
{
	static __thread char s[64];
	char l[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &st->local_ip, l, sizeof(l));
	inet_ntop(AF_INET, &st->remote_ip, r, sizeof(r));
	snprintf(s, sizeof(s), "%s:%u->%s:%u", l, ntohs(st->local_port), r,
		 ntohs(st->remote_port));
	return s;
}

static int set_int(int fd, int opt, int val)
{
	return setsockopt(fd, IPPROTO_TCP, opt, &val, sizeof(val)) ? -errno : 0;
}

static int get_u32(int fd, int opt, uint32_t *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, IPPROTO_TCP, opt, val, &len) ? -errno : 0;
}

static int ioctl_u32(int fd, unsigned long req, uint32_t *val)
{
	int v;

	if (ioctl(fd, req, &v))
		return -errno;
	*val = (uint32_t)v;
	return 0;
}

static int select_queue(int fd, int q, const struct tcpr_state *st)
{
	static const char *const names[] = { "no", "recv", "send" };
	int err = set_int(fd, TCP_REPAIR_QUEUE, q);

	return err ? fail(err, "%s: select %s queue", tuple(st), names[q]) : 0;
}

int tcpr_repair_on(int fd)
{
	int err = set_int(fd, TCP_REPAIR, TCP_REPAIR_ON);

	return err ? fail(err, "fd %d: TCP_REPAIR on", fd) : 0;
}

int tcpr_send_seq(int fd, uint32_t *seq)
{
	int err = set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);

	if (!err)
		err = get_u32(fd, TCP_QUEUE_SEQ, seq);
	set_int(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	return err ? fail(err, "fd %d: send queue seq", fd) : 0;
}

int tcpr_repair_off(int fd, bool probe)
{
	int err = set_int(fd, TCP_REPAIR,
			  probe ? TCP_REPAIR_OFF : TCP_REPAIR_OFF_NO_WP);

	return err ? fail(err, "fd %d: TCP_REPAIR off", fd) : 0;
}

/* ---- dump ---- */

static int dump_addrs(int fd, struct tcpr_state *st)
{
	struct sockaddr_in l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);

	if (getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl))
		return fail(-errno, "fd %d: socket addresses", fd);
	if (l.sin_family != AF_INET || r.sin_family != AF_INET)
		return fail(-EAFNOSUPPORT, "fd %d: not IPv4", fd);
	st->local_ip = l.sin_addr.s_addr;
	st->local_port = l.sin_port;
	st->remote_ip = r.sin_addr.s_addr;
	st->remote_port = r.sin_port;
	return 0;
}

/* Negotiated options, window scales and the MSS clamp. */
static int dump_info(int fd, struct tcpr_state *st)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int err;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return fail(-errno, "%s: TCP_INFO", tuple(st));
	if (ti.tcpi_state != TCP_ESTABLISHED &&
	    ti.tcpi_state != TCP_CLOSE_WAIT)
		return fail(-EINVAL, "%s: state %u, not established",
			    tuple(st), ti.tcpi_state);
	st->peer_fin = ti.tcpi_state == TCP_CLOSE_WAIT;
	st->flags = 0;
	if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS)
		st->flags |= TCPR_F_TS;
	if (ti.tcpi_options & TCPI_OPT_SACK)
		st->flags |= TCPR_F_SACK;
	if (ti.tcpi_options & TCPI_OPT_WSCALE) {
		st->flags |= TCPR_F_WSCALE;
		st->snd_wscale = ti.tcpi_snd_wscale;
		st->rcv_wscale = ti.tcpi_rcv_wscale;
	}
	/* In repair mode TCP_MAXSEG reads the clamp, which is what
	 * TCP_REPAIR_OPTIONS sets. */
	err = get_u32(fd, TCP_MAXSEG, &st->mss);
	return err ? fail(err, "%s: TCP_MAXSEG", tuple(st)) : 0;
}

/* Sequence number at the end of queue q, and its length. */
static int dump_queue(int fd, int q, uint32_t *seq, unsigned long len_req,
		      uint32_t *len, const struct tcpr_state *st)
{
	const char *name = q == TCP_RECV_QUEUE ? "recv" : "send";
	int err = select_queue(fd, q, st);

	if (err)
		return err;
	err = get_u32(fd, TCP_QUEUE_SEQ, seq);
	if (err)
		return fail(err, "%s: %s queue seq", tuple(st), name);
	err = ioctl_u32(fd, len_req, len);
	return err ? fail(err, "%s: %s queue length", tuple(st), name) : 0;
}

static int dump_window(int fd, struct tcpr_state *st)
{
	struct tcp_repair_window w;
	socklen_t len = sizeof(w);

	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len))
		return fail(-errno, "%s: TCP_REPAIR_WINDOW", tuple(st));
	st->snd_wl1 = w.snd_wl1;
	st->snd_wnd = w.snd_wnd;
	st->max_window = w.max_window;
	st->rcv_wnd = w.rcv_wnd;
	st->rcv_wup = w.rcv_wup;
	return 0;
}

/* CLOSE_WAIT: rcv_nxt counts the peer's FIN.  The state describes the
 * connection as if the FIN had not arrived yet (an ESTABLISHED socket can
 * be restored, a CLOSE_WAIT one cannot): rcv_seq before it, and the
 * window's left edge no later than rcv_seq (the kernel refuses a window
 * that starts after rcv_nxt), its right edge where it was. */
static void exclude_peer_fin(struct tcpr_state *st)
{
	st->rcv_seq--;
	if ((int32_t)(st->rcv_wup - st->rcv_seq) > 0) {
		st->rcv_wnd += st->rcv_wup - st->rcv_seq;
		st->rcv_wup = st->rcv_seq;
	}
}

int tcpr_dump(int fd, struct tcpr_state *st)
{
	uint32_t rcv_again;
	int err;

	memset(st, 0, sizeof(*st));
	err = dump_addrs(fd, st);
	if (!err)
		err = dump_info(fd, st);
	if (!err)
		err = dump_queue(fd, TCP_RECV_QUEUE, &st->rcv_seq, SIOCINQ,
				 &st->inq_len, st);
	if (!err)
		err = dump_queue(fd, TCP_SEND_QUEUE, &st->snd_seq, SIOCOUTQ,
				 &st->outq_len, st);
	if (!err && ioctl_u32(fd, SIOCOUTQNSD, &st->unsent_len))
		err = fail(-errno, "%s: SIOCOUTQNSD", tuple(st));
	if (!err)
		err = dump_window(fd, st);
	if (!err && (st->flags & TCPR_F_TS) &&
	    get_u32(fd, TCP_TIMESTAMP, &st->ts_val))
		err = fail(-errno, "%s: TCP_TIMESTAMP", tuple(st));
	/* Since 6.7 the lowest bit of TCP_TIMESTAMP says "microseconds", so
	 * a millisecond clock is read rounded down to even: up to 1 below
	 * the TSval of the last segment sent.  A restored socket (and the
	 * window update built from st) starting there would send an older
	 * TSval than the peer has seen, and the peer drops such segments
	 * silently (PAWS, RFC 7323): a stall until a retransmission timeout.
	 * Starting 2 ahead (the flag bit kept) is always newer. */
	if (!err && (st->flags & TCPR_F_TS))
		st->ts_val += 2;
	/* Data that arrived meanwhile would make seq and window disagree. */
	if (!err)
		err = dump_queue(fd, TCP_RECV_QUEUE, &rcv_again, SIOCINQ,
				 &st->inq_len, st);
	if (!err && rcv_again != st->rcv_seq)
		err = fail(-EAGAIN, "%s: data arrived during the dump",
			   tuple(st));
	set_int(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	if (!err && st->peer_fin)
		exclude_peer_fin(st);
	return err;
}

/* Peeks exactly len bytes of queue q into buf. */
static int peek_queue(int fd, int q, uint8_t *buf, uint32_t len,
		      const struct tcpr_state *st)
{
	const char *name = q == TCP_RECV_QUEUE ? "recv" : "send";
	ssize_t n;
	int err;

	if (!len)
		return 0;
	err = select_queue(fd, q, st);
	if (err)
		return err;
	n = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return fail(-errno, "%s: peek %s queue", tuple(st), name);
	if ((uint32_t)n != len)
		return fail(-EAGAIN, "%s: %s queue has %zd bytes, dumped %u",
			    tuple(st), name, n, len);
	return 0;
}

int tcpr_dump_queues(int fd, const struct tcpr_state *st, uint8_t *inq,
		     uint8_t *outq)
{
	uint32_t seq, len;
	int err;

	/* Nothing to copy (the common case at the controller: the request
	 * head was read, nothing is unsent): tcpr_dump has just checked that
	 * the receive queue stayed empty, and nobody writes to the socket. */
	if (st->inq_len == 0 && st->outq_len == 0)
		return 0;
	err = peek_queue(fd, TCP_RECV_QUEUE, inq, st->inq_len, st);
	if (!err)
		err = peek_queue(fd, TCP_SEND_QUEUE, outq, st->outq_len, st);
	/* Both queues must still be what tcpr_dump saw. */
	if (!err)
		err = dump_queue(fd, TCP_RECV_QUEUE, &seq, SIOCINQ, &len, st);
	if (!err && (seq != st->rcv_seq || len != st->inq_len))
		err = fail(-EAGAIN, "%s: receive queue moved", tuple(st));
	if (!err)
		err = dump_queue(fd, TCP_SEND_QUEUE, &seq, SIOCOUTQ, &len, st);
	if (!err && (seq != st->snd_seq || len != st->outq_len))
		err = fail(-EAGAIN, "%s: send queue moved", tuple(st));
	set_int(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	return err;
}

/* ---- restore ---- */

static int set_queue_seq(int fd, int q, uint32_t seq,
			 const struct tcpr_state *st)
{
	int err = select_queue(fd, q, st);

	if (err)
		return err;
	err = set_int(fd, TCP_QUEUE_SEQ, (int)seq);
	return err ? fail(err, "%s: set %s queue seq", tuple(st),
			  q == TCP_RECV_QUEUE ? "recv" : "send")
		   : 0;
}

/* The bytes before snd_una that TCPR_RTT_PROBE puts back in the send
 * queue.  One: with two, the sample came from the skb's send time, which
 * the repair path takes from a clock cache some milliseconds old. */
#define PROBE_LEN 1

static int bind_connect(int fd, const struct tcpr_state *st,
			const struct in_addr *local_override, unsigned flags)
{
	uint32_t una = st->snd_seq - st->outq_len;

	struct sockaddr_in a = { .sin_family = AF_INET };
	int err;

	a.sin_addr.s_addr = local_override ? local_override->s_addr
					   : st->local_ip;
	a.sin_port = st->local_port;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail(-errno, "%s: bind", tuple(st));
	/* The sequence numbers count the queues we are about to refill. */
	err = set_queue_seq(fd, TCP_RECV_QUEUE, st->rcv_seq - st->inq_len, st);
	if (!err)
		err = set_queue_seq(fd, TCP_SEND_QUEUE,
				    flags & TCPR_RTT_PROBE ? una - PROBE_LEN : una,
				    st);
	if (err)
		return err;
	/* connect() sizes segments from the MSS clamp it finds; without
	 * this it finds the 536-byte default and the restored socket sends
	 * 524-byte segments for the rest of its life. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &st->mss, sizeof(st->mss)))
		return fail(-errno, "%s: TCP_MAXSEG %u", tuple(st), st->mss);
	a.sin_addr.s_addr = st->remote_ip;
	a.sin_port = st->remote_port;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail(-errno, "%s: connect", tuple(st));
	return 0;
}

static int restore_options(int fd, const struct tcpr_state *st)
{
	struct tcp_repair_opt opts[4];
	int n = 0;

	opts[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, st->mss };
	if (st->flags & TCPR_F_WSCALE)
		opts[n++] = (struct tcp_repair_opt){
			TCPOPT_WINDOW,
			st->snd_wscale | (uint32_t)st->rcv_wscale << 16
		};
	if (st->flags & TCPR_F_SACK)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (st->flags & TCPR_F_TS)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts,
		       (socklen_t)(n * sizeof(opts[0]))))
		return fail(-errno, "%s: TCP_REPAIR_OPTIONS", tuple(st));
	if ((st->flags & TCPR_F_TS) &&
	    set_int(fd, TCP_TIMESTAMP, (int)st->ts_val))
		return fail(-errno, "%s: TCP_TIMESTAMP", tuple(st));
	return 0;
}

/* Sends len bytes in chunks; in repair mode into queue q (selected by the
 * caller), otherwise a normal non-blocking send. */
static int send_all(int fd, const uint8_t *buf, uint32_t len, const char *what,
		    const struct tcpr_state *st)
{
	uint32_t off = 0;

	while (off < len) {
		uint32_t n = len - off < TCPR_CHUNK ? len - off : TCPR_CHUNK;
		ssize_t r = send(fd, buf + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0 && errno == EAGAIN)
			return fail(-ENOBUFS,
				    "%s: %s: %u of %u bytes fit the buffer",
				    tuple(st), what, off, len);
		if (r < 0)
			return fail(-errno, "%s: %s", tuple(st), what);
		off += (uint32_t)r;
	}
	return 0;
}

/* A fresh socket's send buffer (~64-128 KiB) cannot take a large send
 * queue, in repair mode or not.  It is raised for the restore, and the
 * lock that SO_SNDBUF(FORCE) sets is dropped afterwards (SO_BUF_LOCK,
 * Linux 5.14) so that autotuning stays on: it grows the buffer from the
 * raised size, as it would have grown the original socket's. */
static int raise_sndbuf(int fd, const struct tcpr_state *st)
{
	uint64_t want = (uint64_t)st->outq_len + (128 << 10);
	int val = want > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &val, sizeof(val)))
		return fail(-errno, "%s: SO_SNDBUFFORCE %d", tuple(st), val);
	return 0;
}

static int unlock_sndbuf(int fd, const struct tcpr_state *st)
{
	int locks = 0;
	socklen_t len = sizeof(locks);

	if (getsockopt(fd, SOL_SOCKET, SO_BUF_LOCK, &locks, &len))
		return fail(-errno, "%s: get SO_BUF_LOCK", tuple(st));
	locks &= ~SOCK_SNDBUF_LOCK;
	if (setsockopt(fd, SOL_SOCKET, SO_BUF_LOCK, &locks, sizeof(locks)))
		return fail(-errno, "%s: SO_BUF_LOCK", tuple(st));
	return 0;
}

static int restore_queues(int fd, const struct tcpr_state *st,
			  const uint8_t *inq, const uint8_t *outq,
			  unsigned flags)
{
	static const uint8_t seen[PROBE_LEN]; /* the peer has them: any value */
	int err = st->outq_len ? raise_sndbuf(fd, st) : 0;

	if (!err && st->inq_len) {
		err = select_queue(fd, TCP_RECV_QUEUE, st);
		if (!err)
			err = send_all(fd, inq, st->inq_len, "recv queue", st);
	}
	if (!err && (flags & TCPR_RTT_PROBE)) {
		err = select_queue(fd, TCP_SEND_QUEUE, st);
		if (!err)
			err = send_all(fd, seen, PROBE_LEN,
				       "send queue (probe bytes)", st);
	}
	if (!err && st->outq_len > st->unsent_len) {
		err = select_queue(fd, TCP_SEND_QUEUE, st);
		if (!err)
			err = send_all(fd, outq, st->outq_len - st->unsent_len,
				       "send queue (sent part)", st);
	}
	return err ? err : select_queue(fd, TCP_NO_QUEUE, st);
}

static int restore_window(int fd, const struct tcpr_state *st)
{
	struct tcp_repair_window w = {
		.snd_wl1 = st->snd_wl1,
		.snd_wnd = st->snd_wnd,
		.max_window = st->max_window,
		.rcv_wnd = st->rcv_wnd,
		.rcv_wup = st->rcv_wup,
	};

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)))
		return fail(-errno, "%s: TCP_REPAIR_WINDOW", tuple(st));
	return 0;
}

int tcpr_restore(const struct tcpr_state *st, const uint8_t *inq,
		 const uint8_t *outq, const struct in_addr *local_override,
		 unsigned flags, int *fd_out)
{
	int fd, err;

	*fd_out = -1;
	if (st->unsent_len > st->outq_len)
		return fail(-EINVAL, "%s: unsent > send queue", tuple(st));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
			     (flags & TCPR_NONBLOCK ? SOCK_NONBLOCK : 0),
		    IPPROTO_TCP);
	if (fd < 0)
		return fail(-errno, "%s: socket", tuple(st));
	err = tcpr_repair_on(fd);
	if (!err)
		err = bind_connect(fd, st, local_override, flags);
	if (!err)
		err = restore_options(fd, st);
	if (!err)
		err = restore_queues(fd, st, inq, outq, flags);
	if (!err)
		err = restore_window(fd, st);
	if (err)
		goto out;
	if (!(flags & TCPR_STAY_IN_REPAIR)) {
		err = tcpr_restore_finish(fd, st, outq, flags);
		if (err)
			goto out;
	}
	*fd_out = fd;
	return 0;
out:
	/* Back into repair mode if finish left it: a socket in repair mode
	 * closes without a FIN or RST, so the peer sees nothing. */
	set_int(fd, TCP_REPAIR, TCP_REPAIR_ON);
	close(fd);
	return err;
}

int tcpr_restore_finish(int fd, const struct tcpr_state *st,
			const uint8_t *outq, unsigned flags)
{
	int err = tcpr_repair_off(fd, flags & TCPR_PROBE);

	if (!err && st->unsent_len)
		err = send_all(fd, outq + (st->outq_len - st->unsent_len),
			       st->unsent_len, "send queue (unsent part)", st);
	if (!err && st->outq_len)
		err = unlock_sndbuf(fd, st);
	return err;
}

/* ---- wire format ---- */

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
	return p + 4;
}

static const uint8_t *get32(const uint8_t *p, uint32_t *v)
{
	memcpy(v, p, 4);
	*v = ntohl(*v);
	return p + 4;
}

int tcpr_state_encode(const struct tcpr_state *st, uint8_t *buf, size_t len)
{
	uint16_t flags = htons(st->flags);
	uint8_t *p = buf;

	if (len < TCPR_WIRE_LEN)
		return -ENOSPC;
	memset(buf, 0, TCPR_WIRE_LEN);
	p[0] = TCPR_WIRE_VERSION;
	p[1] = st->snd_wscale;
	p[2] = st->rcv_wscale;
	memcpy(p + 4, &flags, 2);
	memcpy(p + 8, &st->local_ip, 4);
	memcpy(p + 12, &st->remote_ip, 4);
	memcpy(p + 16, &st->local_port, 2);
	memcpy(p + 18, &st->remote_port, 2);
	p += 20;
	p = put32(p, st->snd_seq);
	p = put32(p, st->rcv_seq);
	p = put32(p, st->mss);
	p = put32(p, st->ts_val);
	p = put32(p, st->snd_wl1);
	p = put32(p, st->snd_wnd);
	p = put32(p, st->max_window);
	p = put32(p, st->rcv_wnd);
	p = put32(p, st->rcv_wup);
	p = put32(p, st->inq_len);
	p = put32(p, st->outq_len);
	put32(p, st->unsent_len);
	return TCPR_WIRE_LEN;
}

int tcpr_state_decode(struct tcpr_state *st, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t flags;

	if (len < TCPR_WIRE_LEN)
		return -EMSGSIZE;
	if (p[0] != TCPR_WIRE_VERSION)
		return -EPROTONOSUPPORT;
	memset(st, 0, sizeof(*st));
	st->snd_wscale = p[1];
	st->rcv_wscale = p[2];
	memcpy(&flags, p + 4, 2);
	st->flags = ntohs(flags);
	memcpy(&st->local_ip, p + 8, 4);
	memcpy(&st->remote_ip, p + 12, 4);
	memcpy(&st->local_port, p + 16, 2);
	memcpy(&st->remote_port, p + 18, 2);
	p += 20;
	p = get32(p, &st->snd_seq);
	p = get32(p, &st->rcv_seq);
	p = get32(p, &st->mss);
	p = get32(p, &st->ts_val);
	p = get32(p, &st->snd_wl1);
	p = get32(p, &st->snd_wnd);
	p = get32(p, &st->max_window);
	p = get32(p, &st->rcv_wnd);
	p = get32(p, &st->rcv_wup);
	p = get32(p, &st->inq_len);
	p = get32(p, &st->outq_len);
	get32(p, &st->unsent_len);
	/* RFC 7323: shifts above 14 are invalid; the kernel refuses them. */
	if (buf[3] || buf[6] || buf[7] ||
	    (st->flags & ~(TCPR_F_TS | TCPR_F_SACK | TCPR_F_WSCALE)) ||
	    st->snd_wscale > 14 || st->rcv_wscale > 14 ||
	    st->unsent_len > st->outq_len || !st->mss || st->mss > 65535)
		return -EBADMSG;
	return TCPR_WIRE_LEN;
}

/* ---- window update ---- */

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The window the socket believes it advertised, in header units. */
static uint16_t advertised_window(const struct tcpr_state *st)
{
	int32_t left = (int32_t)(st->rcv_wup + st->rcv_wnd - st->rcv_seq);
	uint32_t win = left > 0 ? (uint32_t)left : 0;

	if (st->flags & TCPR_F_WSCALE)
		win >>= st->rcv_wscale;
	return win > 0xffff ? 0xffff : (uint16_t)win;
}

/* A TCP segment without payload: IPv4 header, TCP header, the timestamp
 * option when TSVAL is not NULL; checksums filled in. */
struct seg {
	uint32_t saddr, daddr; /* network order */
	uint16_t sport, dport; /* network order */
	uint32_t seq, ack;
	uint8_t flags, tos;
	uint16_t window;
	const uint32_t *tsval;
};

static int build_seg(const struct seg *g, uint8_t *pkt, size_t len)
{
	size_t optlen = g->tsval ? 12 : 0;
	size_t tcplen = 20 + optlen, total = 20 + tcplen;
	uint8_t *ip = pkt, *tcp = pkt + 20;
	uint16_t v16;
	uint32_t sum;

	if (len < total)
		return -ENOSPC;
	memset(pkt, 0, total);
	ip[0] = 0x45;
	ip[1] = g->tos;
	v16 = htons((uint16_t)total);
	memcpy(ip + 2, &v16, 2);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &g->saddr, 4);
	memcpy(ip + 16, &g->daddr, 4);
	v16 = csum_fold(csum_add(0, ip, 20));
	memcpy(ip + 10, &v16, 2);

	memcpy(tcp, &g->sport, 2);
	memcpy(tcp + 2, &g->dport, 2);
	put32(tcp + 4, g->seq);
	put32(tcp + 8, g->ack);
	tcp[12] = (uint8_t)(tcplen / 4) << 4;
	tcp[13] = g->flags;
	v16 = htons(g->window);
	memcpy(tcp + 14, &v16, 2);
	if (optlen) {
		tcp[20] = TCPOPT_NOP;
		tcp[21] = TCPOPT_NOP;
		tcp[22] = TCPOPT_TIMESTAMP;
		tcp[23] = TCPOLEN_TIMESTAMP;
		put32(tcp + 24, *g->tsval);
		/* TSecr stays 0: we echo nothing we could vouch for. */
	}
	/* pseudo header: saddr, daddr, zero, protocol, TCP length */
	sum = csum_add(0, ip + 12, 8);
	sum += IPPROTO_TCP + (uint32_t)tcplen;
	v16 = csum_fold(csum_add(sum, tcp, tcplen));
	memcpy(tcp + 16, &v16, 2);
	return (int)total;
}

int tcpr_window_update_build(const struct tcpr_state *st, uint8_t tos,
			     bool zero, uint8_t *pkt, size_t len)
{
	struct seg g = {
		.saddr = st->local_ip, .daddr = st->remote_ip,
		.sport = st->local_port, .dport = st->remote_port,
		.seq = st->snd_seq - st->unsent_len, .ack = st->rcv_seq,
		.flags = 0x10, /* ACK */
		.tos = tos,
		.window = zero ? 0 : advertised_window(st),
		.tsval = st->flags & TCPR_F_TS ? &st->ts_val : NULL,
	};

	return build_seg(&g, pkt, len);
}

/* Appends N payload bytes to a segment built by build_seg (LEN bytes, in
 * a buffer with room for them): lengths and checksums follow. */
static int append_payload(uint8_t *pkt, int len, const uint8_t *data,
			  size_t n)
{
	uint8_t *tcp = pkt + 20;
	size_t tcplen = (size_t)len - 20 + n;
	uint16_t v16;
	uint32_t sum;

	memcpy(pkt + len, data, n);
	v16 = htons((uint16_t)(len + n));
	memcpy(pkt + 2, &v16, 2);
	memset(pkt + 10, 0, 2);
	v16 = csum_fold(csum_add(0, pkt, 20));
	memcpy(pkt + 10, &v16, 2);
	memset(tcp + 16, 0, 2);
	sum = csum_add(0, pkt + 12, 8);
	sum += IPPROTO_TCP + (uint32_t)tcplen;
	v16 = csum_fold(csum_add(sum, tcp, tcplen));
	memcpy(tcp + 16, &v16, 2);
	return 0;
}

static int send_raw(int raw_fd, const uint8_t *pkt, int len, uint32_t daddr)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = daddr };

	return sendto(raw_fd, pkt, (size_t)len, 0, (struct sockaddr *)&to,
		      sizeof(to)) == len
		       ? 0
		       : -errno;
}

int tcpr_window_update_send(int raw_fd, const struct tcpr_state *st,
			    uint8_t tos, bool zero)
{
	uint8_t pkt[TCPR_WU_MAX];
	int len = tcpr_window_update_build(st, tos, zero, pkt, sizeof(pkt));

	if (len < 0)
		return fail(len, "%s: window update", tuple(st));
	len = send_raw(raw_fd, pkt, len, st->remote_ip);
	return len ? fail(len, "%s: send window update", tuple(st)) : 0;
}

int tcpr_tail_probe_send(int raw_fd, const struct tcpr_state *st,
			 const uint8_t *outq)
{
	uint8_t pkt[TCPR_WU_MAX + 1];
	uint32_t sent = st->outq_len - st->unsent_len;
	struct seg g = {
		.saddr = st->local_ip, .daddr = st->remote_ip,
		.sport = st->local_port, .dport = st->remote_port,
		.seq = st->snd_seq - st->outq_len, .ack = st->rcv_seq,
		.flags = 0x18, /* PSH, ACK */
		.window = 0,
		.tsval = st->flags & TCPR_F_TS ? &st->ts_val : NULL,
	};
	int len;

	if (!sent)
		return fail(-EINVAL, "%s: tail probe: nothing unacked", tuple(st));
	len = build_seg(&g, pkt, sizeof(pkt) - 1);
	if (len < 0)
		return fail(len, "%s: tail probe", tuple(st));
	/* One byte of payload: the first unacknowledged one. */
	if (append_payload(pkt, len, outq, 1))
		return fail(-EINVAL, "%s: tail probe", tuple(st));
	len = send_raw(raw_fd, pkt, len + 1, st->remote_ip);
	return len ? fail(len, "%s: send tail probe", tuple(st)) : 0;
}

int tcpr_rtt_probe_send(int raw_fd, const struct tcpr_state *st,
			const struct in_addr *local, uint8_t tos)
{
	uint8_t pkt[TCPR_WU_MAX + 1];
	struct seg g = {
		.saddr = local ? local->s_addr : st->local_ip,
		.daddr = st->remote_ip,
		.sport = st->local_port, .dport = st->remote_port,
		.seq = st->snd_seq - st->outq_len - PROBE_LEN, .ack = st->rcv_seq,
		.flags = 0x18, /* PSH, ACK */
		.tos = tos,
		.window = advertised_window(st),
		.tsval = st->flags & TCPR_F_TS ? &st->ts_val : NULL,
	};
	static const uint8_t seen;
	int len = build_seg(&g, pkt, sizeof(pkt) - 1);

	if (len < 0 || append_payload(pkt, len, &seen, 1))
		return fail(-EINVAL, "%s: RTT probe", tuple(st));
	len = send_raw(raw_fd, pkt, len + 1, st->remote_ip);
	return len ? fail(len, "%s: send RTT probe", tuple(st)) : 0;
}

int tcpr_peer_fin_build(const struct tcpr_state *st, uint8_t *pkt, size_t len)
{
	uint32_t wnd = st->snd_wnd >> (st->flags & TCPR_F_WSCALE ?
					       st->snd_wscale : 0);
	struct seg g = {
		.saddr = st->remote_ip, .daddr = st->local_ip,
		.sport = st->remote_port, .dport = st->local_port,
		.seq = st->rcv_seq,
		/* snd_una: what the peer surely has; acknowledging more would
		 * drop data still in flight from our send queue. */
		.ack = st->snd_seq - st->outq_len,
		.flags = 0x11, /* FIN, ACK */
		.window = wnd > 0xffff ? 0xffff : (uint16_t)wnd,
	};

	return build_seg(&g, pkt, len);
}

int tcpr_peer_fin_send(int raw_fd, const struct tcpr_state *st)
{
	uint8_t pkt[TCPR_WU_MAX];
	int len = tcpr_peer_fin_build(st, pkt, sizeof(pkt));

	if (len < 0)
		return fail(len, "%s: peer FIN", tuple(st));
	len = send_raw(raw_fd, pkt, len, st->local_ip);
	return len ? fail(len, "%s: send peer FIN", tuple(st)) : 0;
}

/* FD's state now (briefly in repair mode), for segments sent on its
 * behalf. */
static int fresh_state(int fd, struct tcpr_state *st)
{
	int err, off;

	err = tcpr_repair_on(fd);
	if (err)
		return err;
	err = tcpr_dump(fd, st);
	/* tcpr_dump put ts_val ahead of the socket's clock; move the clock
	 * there too, or the socket's next segments would carry an older
	 * TSval than this update and the peer would drop them (PAWS). */
	if (!err && (st->flags & TCPR_F_TS)) {
		err = set_int(fd, TCP_TIMESTAMP, (int)st->ts_val);
		if (err)
			fail(err, "%s: TCP_TIMESTAMP", tuple(st));
	}
	off = tcpr_repair_off(fd, false);
	if (err || off)
		return err ? err : off;
	if (st->peer_fin) /* a live CLOSE_WAIT socket acknowledges the FIN */
		st->rcv_seq++;
	return 0;
}

int tcpr_send_window_update(int raw_fd, int fd, uint8_t tos)
{
	struct tcpr_state st;
	int err = fresh_state(fd, &st);

	return err ? err : tcpr_window_update_send(raw_fd, &st, tos, false);
}

static bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

int tcpr_resend_unacked(int raw_fd, int fd, uint32_t data_seq,
			const uint8_t *data, uint32_t len)
{
	uint8_t pkt[TCPR_WU_MAX + 65536];
	struct tcpr_state st;
	uint32_t seq, end, mss, sent = 0;
	int err = fresh_state(fd, &st);

	if (err)
		return err;
	seq = st.snd_seq - st.outq_len; /* snd_una */
	end = st.snd_seq - st.unsent_len; /* snd_nxt */
	if (seq_before(data_seq + len, end))
		end = data_seq + len;
	if (seq_before(seq, data_seq))
		seq = data_seq;
	mss = st.mss - (st.flags & TCPR_F_TS ? 12 : 0);
	if (!mss || mss > 65536)
		return fail(-EINVAL, "%s: resend: MSS %u", tuple(&st), st.mss);
	while (seq_before(seq, end)) {
		uint32_t n = end - seq < mss ? end - seq : mss;
		struct seg g = {
			.saddr = st.local_ip, .daddr = st.remote_ip,
			.sport = st.local_port, .dport = st.remote_port,
			.seq = seq, .ack = st.rcv_seq,
			.flags = 0x18, /* PSH, ACK */
			.window = advertised_window(&st),
			.tsval = st.flags & TCPR_F_TS ? &st.ts_val : NULL,
		};
		int l = build_seg(&g, pkt, TCPR_WU_MAX);

		if (l < 0 || append_payload(pkt, l, data + (seq - data_seq), n))
			return fail(-EINVAL, "%s: resend", tuple(&st));
		err = send_raw(raw_fd, pkt, l + (int)n, st.remote_ip);
		if (err)
			return fail(err, "%s: resend", tuple(&st));
		seq += n;
		sent += n;
	}
	return (int)sent;
}
