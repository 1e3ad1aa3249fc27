#include "lib/hochan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/log.h"

#include <openssl/crypto.h>

#define HOCHAN_READ_CHUNK (256u << 10)
#define HOCHAN_HELLO_MS 2000
/* A message sent with hochan_send_lazy goes out with the next one, or
 * after this long. */
#define HOCHAN_LAZY_MS 20

struct hochan {
	struct evloop *loop;
	int fd;
	const struct auth_key *key;
	hochan_msg_cb on_msg;
	hochan_close_cb on_close;
	void *arg;
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint64_t send_seq, recv_seq;
	uint64_t nonce; /* ours: the peer numbers its messages from it */
	struct ho_aead tx, rx; /* keyed when the peer's HELLO arrives */
	struct evtimer *hello_timer, *lazy_timer;
	bool dispatching, dead, ready;
	struct hochan_stats stats;
};

static uint64_t rejected_total;

/* 62 random bits: nonce + 2^32 messages never wraps. */
static int random_nonce(uint64_t *n)
{
	if (getrandom(n, sizeof(*n), 0) != sizeof(*n))
		return -EIO;
	*n >>= 2;
	return 0;
}

static void hochan_io(struct evloop *loop, int fd, uint32_t events,
		      void *arg);
static void hochan_die(struct hochan *ch, long err);
static int send_hello(struct hochan *ch);

/* A peer that has not proven it holds the key (a valid HELLO) within
 * HOCHAN_HELLO_MS loses its connection: idle strangers hold no slot. */
static void hello_timeout(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct hochan *ch = arg;

	(void)loop;
	(void)t;
	ch->hello_timer = NULL;
	ch->stats.rejected++;
	rejected_total++;
	hochan_die(ch, -ETIMEDOUT);
}

struct hochan *hochan_new(struct evloop *loop, int fd,
			  const struct auth_key *key, hochan_msg_cb on_msg,
			  hochan_close_cb on_close, void *arg)
{
	struct hochan *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->loop = loop;
	ch->fd = fd;
	ch->key = key;
	ch->on_msg = on_msg;
	ch->on_close = on_close;
	ch->arg = arg;
	if (random_nonce(&ch->nonce) ||
	    evloop_add(loop, fd, EVLOOP_READ, hochan_io, ch)) {
		free(ch);
		return NULL;
	}
	ch->recv_seq = ch->nonce;
	ch->hello_timer = evloop_timer_add(loop, HOCHAN_HELLO_MS, hello_timeout,
					   ch);
	if (!ch->hello_timer || send_hello(ch)) {
		hochan_free(ch);
		return NULL;
	}
	return ch;
}

void hochan_free(struct hochan *ch)
{
	if (!ch)
		return;
	if (ch->hello_timer)
		evloop_timer_cancel(ch->loop, ch->hello_timer);
	if (ch->lazy_timer)
		evloop_timer_cancel(ch->loop, ch->lazy_timer);
	evloop_del(ch->loop, ch->fd);
	close(ch->fd);
	/* Opened messages (TLS keys among them) are plaintext in there. */
	if (ch->in)
		OPENSSL_cleanse(ch->in, ch->in_cap);
	if (ch->out)
		OPENSSL_cleanse(ch->out, ch->out_cap);
	free(ch->in);
	free(ch->out);
	ho_aead_clear(&ch->tx);
	ho_aead_clear(&ch->rx);
	free(ch);
}

/* Deferred so that a callback may send or close while we dispatch. */
static void hochan_die(struct hochan *ch, long err)
{
	if (ch->dead)
		return;
	ch->dead = true;
	evloop_del(ch->loop, ch->fd);
	if (ch->on_close)
		ch->on_close(ch, err, ch->arg);
	if (!ch->dispatching)
		hochan_free(ch);
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	uint8_t *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

static int flush_out(struct hochan *ch)
{
	while (ch->out_off < ch->out_len) {
		ssize_t n = write(ch->fd, ch->out + ch->out_off,
				  ch->out_len - ch->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		ch->out_off += (size_t)n;
		ch->stats.bytes_out += (uint64_t)n;
	}
	if (ch->out_off == ch->out_len)
		ch->out_off = ch->out_len = 0;
	return evloop_mod(ch->loop, ch->fd,
			  EVLOOP_READ | (ch->out_len ? EVLOOP_WRITE : 0));
}

/* Encodes M at the end of the output buffer: HELLO signed, everything
 * else sealed. */
static int append_msg(struct hochan *ch, struct ho_msg *m)
{
	bool hello = m->type == HO_HELLO;
	size_t need = hello ? ho_encoded_len(m) : ho_sealed_len(m);
	uint8_t *at;
	size_t room;
	long n;
	int err;

	if (ch->out_off && ch->out_off == ch->out_len)
		ch->out_off = ch->out_len = 0;
	err = reserve(&ch->out, &ch->out_cap, ch->out_len + need);
	if (err)
		return err;
	at = ch->out + ch->out_len;
	room = ch->out_cap - ch->out_len;
	n = hello ? ho_encode(m, ch->key, at, room) :
		    ho_seal(m, &ch->tx, at, room);
	if (n < 0)
		return (int)n;
	ch->out_len += (size_t)n;
	ch->stats.msgs_out++;
	return 0;
}

static int queue_msg(struct hochan *ch, struct ho_msg *m)
{
	int err = append_msg(ch, m);

	if (err)
		return err;
	err = flush_out(ch);
	if (err)
		hochan_die(ch, err);
	return err;
}

static void lazy_flush(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct hochan *ch = arg;
	int err;

	(void)loop;
	(void)t;
	ch->lazy_timer = NULL;
	err = flush_out(ch);
	if (err)
		hochan_die(ch, err);
}

static int send_hello(struct hochan *ch)
{
	struct ho_msg m = { .type = HO_HELLO, .conn_id = ch->nonce };

	return queue_msg(ch, &m);
}

int hochan_send(struct hochan *ch, struct ho_msg *m)
{
	if (ch->dead)
		return -EPIPE;
	if (!ch->ready)
		return -EAGAIN; /* the peer's HELLO has not arrived */
	m->seq = ++ch->send_seq;
	return queue_msg(ch, m);
}

int hochan_send_lazy(struct hochan *ch, struct ho_msg *m)
{
	int err;

	if (ch->dead)
		return -EPIPE;
	if (!ch->ready)
		return -EAGAIN;
	m->seq = ++ch->send_seq;
	err = append_msg(ch, m);
	if (!err && !ch->lazy_timer) {
		ch->lazy_timer = evloop_timer_add(ch->loop, HOCHAN_LAZY_MS,
						  lazy_flush, ch);
		if (!ch->lazy_timer)
			err = flush_out(ch);
	}
	return err;
}

bool hochan_ready(const struct hochan *ch)
{
	return ch && ch->ready && !ch->dead;
}

/* The peer's HELLO: it proves the key and tells us where to number from,
 * and with our nonce it keys both directions. */
static long take_hello(struct hochan *ch, const struct ho_msg *m)
{
	if (ch->ready || m->conn_id >= 1ull << 62)
		return -HO_E_FIELD;
	if (ho_aead_init(&ch->tx, ch->key, ch->nonce, m->conn_id, true) ||
	    ho_aead_init(&ch->rx, ch->key, m->conn_id, ch->nonce, false))
		return -HO_E_MAC;
	ch->ready = true;
	ch->send_seq = m->conn_id;
	if (ch->hello_timer)
		evloop_timer_cancel(ch->loop, ch->hello_timer);
	ch->hello_timer = NULL;
	return 0;
}

/* In order, and numbered from our nonce: anything recorded on another
 * channel (another nonce) or earlier on this one is refused. */
static bool seq_ok(const struct hochan *ch, uint64_t seq)
{
	return seq > ch->recv_seq && seq - ch->nonce <= 1ull << 32;
}

/* Decodes and dispatches every complete message in the input buffer. */
static long dispatch(struct hochan *ch)
{
	size_t off = 0;
	bool secret = false;
	long n = 0;

	ch->dispatching = true;
	while (!ch->dead && off < ch->in_len) {
		struct ho_msg m;

		if (ch->ready)
			n = ho_open(ch->in + off, ch->in_len - off, &ch->rx, &m);
		else
			n = ho_decode(ch->in + off, ch->in_len - off, ch->key,
				      &m);
		if (n <= 0)
			break;
		if (m.type == HO_HELLO) {
			long err = take_hello(ch, &m);

			if (err) {
				n = err;
				break;
			}
			off += (size_t)n;
			continue;
		}
		if (!ch->ready || !seq_ok(ch, m.seq)) {
			n = -HO_E_FIELD;
			log_warn("hand-off channel: %s sequence %llu",
				 ch->ready ? "replayed or foreign" : "no HELLO before",
				 (unsigned long long)m.seq);
			break;
		}
		ch->recv_seq = m.seq;
		ch->stats.msgs_in++;
		off += (size_t)n;
		ch->on_msg(ch, &m, ch->arg);
		if (m.flags & HO_F_TLS) {
			ho_wipe_tls(&m);
			secret = true;
		}
	}
	ch->dispatching = false;
	memmove(ch->in, ch->in + off, ch->in_len - off);
	ch->in_len -= off;
	/* A TLS session's keys opened in there are not left behind the new
	 * end (plain hand-offs carry no secret: no wiping per request). */
	if (secret)
		OPENSSL_cleanse(ch->in + ch->in_len, off);
	return n < 0 ? n : 0;
}

static long read_in(struct hochan *ch)
{
	for (;;) {
		ssize_t n;
		int err = reserve(&ch->in, &ch->in_cap,
				  ch->in_len + HOCHAN_READ_CHUNK);

		if (err)
			return err;
		n = read(ch->fd, ch->in + ch->in_len, ch->in_cap - ch->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		ch->in_len += (size_t)n;
		ch->stats.bytes_in += (uint64_t)n;
		if (ch->in_cap - ch->in_len > 0)
			return 0;
	}
}

static void hochan_io(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct hochan *ch = arg;
	long err = 0;

	(void)loop;
	(void)fd;
	if (events & EVLOOP_WRITE)
		err = flush_out(ch);
	if (!err && (events & (EVLOOP_READ | EVLOOP_ERROR))) {
		err = read_in(ch);
		long derr = dispatch(ch);
		if (derr < 0) {
			ch->stats.rejected++;
			rejected_total++;
			log_warn("hand-off channel: %s", ho_strerror(derr));
			err = -EBADMSG;
		}
	}
	if (err || ch->dead) {
		bool was_dead = ch->dead;

		hochan_die(ch, err ? err : -ECONNRESET);
		if (was_dead)
			hochan_free(ch);
	}
}

int hochan_fd(const struct hochan *ch)
{
	return ch->fd;
}

const struct hochan_stats *hochan_stats(const struct hochan *ch)
{
	return &ch->stats;
}

uint64_t hochan_rejected_total(void)
{
	return rejected_total;
}
