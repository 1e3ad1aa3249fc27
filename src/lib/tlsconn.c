#include "lib/tlsconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "lib/evloop.h"
#include "lib/handoff.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/tlsexport.h"

/* Alert descriptions (RFC 8446 6). */
enum {
	ALERT_CLOSE_NOTIFY = 0,
	ALERT_UNEXPECTED_MESSAGE = 10,
	ALERT_BAD_RECORD_MAC = 20,
	ALERT_RECORD_OVERFLOW = 22,
	ALERT_ILLEGAL_PARAMETER = 47,
	ALERT_DECODE_ERROR = 50,
	ALERT_INTERNAL_ERROR = 80,
	ALERT_USER_CANCELED = 90,
	ALERT_NO_RENEGOTIATION = 100,
};
#define ALERT_WARNING 1
#define ALERT_FATAL 2

/* Handshake message types seen after the handshake. */
#define HS_CLIENT_HELLO 1
#define HS_KEY_UPDATE 24

struct tlsconn {
	SSL *ssl; /* during the handshake only */
	BIO *rbio, *wbio;
	struct tlsrec_dir *tx, *rx;
	int version, cipher_type;
	bool established, dead, peer_closed;
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint8_t in[TLSCONN_IN_MAX]; /* ciphertext not yet opened */
};

static struct tlsconn_stats stats;

static int select_alpn(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

int tlsconn_ctx_prepare(SSL_CTX *ctx)
{
	/* TLS 1.2: only the AEAD suites lib/tlsrec has. */
	static const char suites12[] =
	    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20";
	int err = tlsexport_prepare(ctx);

	if (err)
		return err;
	SSL_CTX_set_read_ahead(ctx, 0);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, suites12))
		return -EINVAL;
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	return 0;
}

int tlsconn_ktls_probe(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP), rc;

	if (fd < 0)
		return -errno;
	rc = setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls"));
	rc = rc == 0 || errno == ENOTCONN ? 1 : errno == ENOENT ? 0 : -errno;
	close(fd);
	return rc;
}

const char *tlsconn_ktls_status(void)
{
	int probe = tlsconn_ktls_probe();

	return probe > 0    ? "available, not used (records in user space)"
	       : probe == 0 ? "not available: no tls module loaded (records in "
			      "user space)"
			    : "unknown (records in user space)";
}

/* OpenSSL's reason for the last failure, for the log. */
static const char *ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "unknown error";
}

SSL_CTX *tlsconn_server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		log_err("tls: %s", ssl_reason());
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_err("tls: certificate %s: %s", cert, ssl_reason());
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) !=
		   1) {
		log_err("tls: key %s: %s", key, ssl_reason());
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		log_err("tls: key %s does not match certificate %s", key, cert);
	} else if (tlsconn_ctx_prepare(ctx)) {
		log_err("tls: context: %s", ssl_reason());
	} else {
		ERR_clear_error();
		return ctx;
	}
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct tlsconn *tlsconn_accept(SSL_CTX *ctx)
{
	struct tlsconn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ssl = SSL_new(ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns them now */
	SSL_set_accept_state(t->ssl);
	return t;
}

struct tlsconn *tlsconn_resume(const struct tlsconn_state *st,
			       const uint8_t *cipher, size_t len)
{
	struct tlsconn *t;

	if (len > TLSCONN_IN_MAX ||
	    st->tx.k.info.version != st->rx.k.info.version) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tx = tlsrec_new(&st->tx);
	t->rx = t->tx ? tlsrec_new(&st->rx) : NULL;
	if (!t->rx) {
		int e = errno;

		tlsconn_free(t);
		errno = e;
		return NULL;
	}
	t->version = st->tx.k.info.version == TLS_1_3_VERSION ? TLS1_3_VERSION
							     : TLS1_2_VERSION;
	t->cipher_type = st->tx.k.info.cipher_type;
	t->established = true;
	memcpy(t->in, cipher, len);
	t->in_len = len;
	return t;
}

void tlsconn_free(struct tlsconn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	tlsrec_free(t->tx);
	tlsrec_free(t->rx);
	free(t->out);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

/* --- bytes to and from the socket ------------------------------------- */

static int reserve_out(struct tlsconn *t, size_t more)
{
	size_t need = t->out_len + more, cap = t->out_cap ? t->out_cap : 8192;
	uint8_t *p;

	if (t->out_off && t->out_off == t->out_len)
		t->out_off = t->out_len = 0, need = more;
	if (need <= t->out_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(t->out, cap);
	if (!p)
		return -ENOMEM;
	t->out = p;
	t->out_cap = cap;
	return 0;
}

int tlsconn_flush(struct tlsconn *t, int fd)
{
	while (t->out_off < t->out_len) {
		ssize_t n = send(fd, t->out + t->out_off,
				 t->out_len - t->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		t->out_off += (size_t)n;
	}
	t->out_off = t->out_len = 0;
	return 1;
}

bool tlsconn_out_pending(const struct tlsconn *t)
{
	return t->out_off < t->out_len;
}

int tlsconn_flush_watched(struct tlsconn *t, int fd, struct evloop *loop,
			  bool *watching)
{
	int r = tlsconn_flush(t, fd);
	bool w = r == 0;

	if (r < 0)
		return r;
	if (w != *watching &&
	    !evloop_mod(loop, fd, EVLOOP_READ | (w ? EVLOOP_WRITE : 0)))
		*watching = w;
	return 0;
}

/* Reads what fits in the ciphertext buffer: > 0, 0 at EOF, -errno. */
static ssize_t read_more(struct tlsconn *t, int fd)
{
	ssize_t n;

	if (t->in_len == sizeof(t->in))
		return -ENOBUFS;
	do
		n = read(fd, t->in + t->in_len, sizeof(t->in) - t->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	t->in_len += (size_t)n;
	return n;
}

static void consume(struct tlsconn *t, size_t n)
{
	memmove(t->in, t->in + n, t->in_len - n);
	t->in_len -= n;
}

/* Seals one record into the output queue. */
static int queue_record(struct tlsconn *t, uint8_t type, const void *p,
			size_t n)
{
	ssize_t len;
	int err = reserve_out(t, n + TLSREC_RECORD_MAX - TLSREC_PLAIN_MAX);

	if (err)
		return err;
	len = tlsrec_seal(t->tx, type, p, n, t->out + t->out_len,
			  t->out_cap - t->out_len);
	if (len < 0)
		return (int)len;
	t->out_len += (size_t)len;
	return 0;
}

/* A fatal alert for ERR, written best effort; the connection is over. */
static ssize_t fail(struct tlsconn *t, int fd, int err)
{
	uint8_t alert[2] = { ALERT_FATAL, ALERT_INTERNAL_ERROR };

	if (t->dead)
		return err;
	t->dead = true;
	if (err == -EBADMSG)
		alert[1] = ALERT_BAD_RECORD_MAC;
	else if (err == -EMSGSIZE)
		alert[1] = ALERT_RECORD_OVERFLOW;
	else if (err == -EPROTO)
		alert[1] = ALERT_UNEXPECTED_MESSAGE;
	else if (err == -EILSEQ)
		alert[1] = ALERT_DECODE_ERROR;
	if (err == -EBADMSG || err == -EMSGSIZE || err == -EILSEQ)
		stats.bad_records++;
	if (err == -EILSEQ)
		err = -EPROTO;
	if (t->established && !queue_record(t, TLSREC_ALERT, alert, 2)) {
		stats.alerts_sent++;
		tlsconn_flush(t, fd);
	}
	return err;
}

/* --- the handshake ----------------------------------------------------- */

/* A plaintext-framed record during the handshake: its length, 0 when
 * incomplete, -EPROTO when the header is no TLS record. */
static ssize_t hs_frame(const uint8_t *p, size_t len)
{
	size_t n;

	if (len < TLSREC_HEADER)
		return 0;
	n = (size_t)p[3] << 8 | p[4];
	if (p[0] < TLSREC_CHANGE_CIPHER_SPEC ||
	    p[0] > TLSREC_APPLICATION_DATA || p[1] != 3 ||
	    n > TLSREC_CIPHER_MAX12)
		return -EPROTO;
	return len < TLSREC_HEADER + n ? 0 : (ssize_t)(TLSREC_HEADER + n);
}

/* Moves OpenSSL's output to our queue; returns the records in it. */
static int drain_wbio(struct tlsconn *t)
{
	int records = 0;
	size_t pending;

	while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
		uint8_t *at;
		int n;

		if (reserve_out(t, pending))
			return -ENOMEM;
		at = t->out + t->out_len;
		n = BIO_read(t->wbio, at, (int)pending);
		if (n <= 0)
			break;
		for (int off = 0; off + TLSREC_HEADER <= n;
		     off += TLSREC_HEADER + (at[off + 3] << 8 | at[off + 4]))
			records++;
		t->out_len += (size_t)n;
	}
	return records;
}

/* The handshake is done: the record state out of OpenSSL, which goes.
 * LAST: the records OpenSSL wrote in the call that finished it (TLS 1.3:
 * its tickets, already under the traffic key). */
static int establish(struct tlsconn *t, int last)
{
	struct tlsrec_state tx, rx;
	uint64_t tx_seq = 0, rx_seq = 0;
	int err;

	if (BIO_ctrl_pending(t->rbio))
		return -EPROTO; /* OpenSSL left client bytes unread */
	t->version = SSL_version(t->ssl);
	if (t->version == TLS1_3_VERSION)
		tx_seq = (uint64_t)last;
	else
		tx_seq = rx_seq = 1; /* each side's Finished */
	err = tlsexport_state(t->ssl, tx_seq, rx_seq, &tx, &rx);
	if (!err) {
		t->cipher_type = tx.k.info.cipher_type;
		t->tx = tlsrec_new(&tx);
		t->rx = t->tx ? tlsrec_new(&rx) : NULL;
		if (!t->rx)
			err = -EIO;
	}
	OPENSSL_cleanse(&tx, sizeof(tx));
	OPENSSL_cleanse(&rx, sizeof(rx));
	if (err)
		return err;
	SSL_free(t->ssl);
	t->ssl = NULL;
	t->rbio = t->wbio = NULL;
	t->established = true;
	stats.handshakes++;
	return 0;
}

/* Gives OpenSSL LEN bytes and runs it: 1 done, 0 wants more, -errno. */
static int hs_step(struct tlsconn *t, const uint8_t *p, size_t len)
{
	int rc, last;

	if (BIO_write(t->rbio, p, (int)len) != (int)len)
		return -ENOMEM;
	rc = SSL_do_handshake(t->ssl);
	last = drain_wbio(t);
	if (last < 0)
		return last;
	if (rc == 1)
		return establish(t, last) ? -EPROTO : 1;
	if (SSL_get_error(t->ssl, rc) == SSL_ERROR_WANT_READ)
		return 0;
	ERR_clear_error();
	return -EPROTO;
}

/* The whole records buffered, one at a time (so that OpenSSL never holds
 * a byte of what follows the client's Finished). */
static int hs_records(struct tlsconn *t)
{
	while (!t->established) {
		ssize_t len = hs_frame(t->in, t->in_len);
		int rc;

		if (len == 0)
			return 0;
		if (len < 0) {
			/* Not TLS: OpenSSL says so to the client (its alert). */
			hs_step(t, t->in, t->in_len);
			return -EPROTO;
		}
		rc = hs_step(t, t->in, (size_t)len);
		consume(t, (size_t)len);
		if (rc < 0)
			return rc;
	}
	return 1;
}

/* OpenSSL sends no alert for bytes that are not TLS at all (plain HTTP on
 * the TLS port): ours, in clear, as RFC 8446 5 asks (unexpected_message). */
static void plain_alert(struct tlsconn *t)
{
	static const uint8_t rec[] = { TLSREC_ALERT, 3, 3, 0, 2, ALERT_FATAL,
				       ALERT_UNEXPECTED_MESSAGE };

	if (!reserve_out(t, sizeof(rec))) {
		memcpy(t->out + t->out_len, rec, sizeof(rec));
		t->out_len += sizeof(rec);
		stats.alerts_sent++;
	}
}

int tlsconn_handshake(struct tlsconn *t, int fd)
{
	int rc;

	if (t->established)
		return 1;
	if (t->dead)
		return -EPIPE;
	for (;;) {
		ssize_t n;

		rc = hs_records(t);
		if (rc != 0)
			break;
		n = read_more(t, fd);
		if (n == -EAGAIN) {
			rc = tlsconn_flush(t, fd);
			return rc < 0 ? rc : 0;
		}
		if (n <= 0) {
			rc = n == 0 || n == -ENOBUFS ? -ECONNRESET : (int)n;
			if (n == -ENOBUFS)
				rc = -EPROTO; /* a record over the limit */
			break;
		}
	}
	if (rc < 0) {
		t->dead = true;
		stats.handshake_failures++;
		if (rc != -ECONNRESET && !tlsconn_out_pending(t))
			plain_alert(t);
		tlsconn_flush(t, fd); /* OpenSSL's alert, or ours */
		return rc;
	}
	rc = tlsconn_flush(t, fd);
	return rc < 0 ? rc : 1;
}

bool tlsconn_established(const struct tlsconn *t)
{
	return t->established;
}

int tlsconn_version(const struct tlsconn *t)
{
	return t->version;
}

/* --- the established session ------------------------------------------ */

/* TLS 1.3 KeyUpdate (RFC 8446 4.6.3): the client's direction moves on;
 * when it asks, ours is sent under the old key and then moves. */
static int key_update(struct tlsconn *t, const uint8_t *body, size_t len)
{
	static const uint8_t ours[] = { HS_KEY_UPDATE, 0, 0, 1, 0 };
	int err;

	if (len != 1)
		return -EILSEQ;
	if (body[0] > 1)
		return -EPROTO; /* illegal_parameter; unexpected is close */
	err = tlsrec_key_update(t->rx);
	if (!err && body[0] == 1) {
		err = queue_record(t, TLSREC_HANDSHAKE, ours, sizeof(ours));
		if (!err)
			err = tlsrec_key_update(t->tx);
	}
	if (!err)
		stats.key_updates++;
	return err;
}

/* Handshake messages after the handshake, each whole in this record. */
static int post_handshake(struct tlsconn *t, int fd, const uint8_t *p,
			  size_t n)
{
	while (n) {
		size_t len;
		int err;

		if (n < 4)
			return -EPROTO; /* split over records: not supported */
		len = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		if (len > n - 4)
			return -EPROTO;
		if (t->version == TLS1_3_VERSION && p[0] == HS_KEY_UPDATE) {
			err = key_update(t, p + 4, len);
			if (!err)
				tlsconn_flush(t, fd);
		} else if (t->version == TLS1_2_VERSION &&
			   p[0] == HS_CLIENT_HELLO) {
			static const uint8_t no[2] = { ALERT_WARNING,
						       ALERT_NO_RENEGOTIATION };

			stats.renegotiations_refused++;
			if (!queue_record(t, TLSREC_ALERT, no, 2))
				stats.alerts_sent++;
			tlsconn_flush(t, fd);
			t->dead = true;
			return -EPROTO;
		} else {
			err = -EPROTO;
		}
		if (err)
			return err;
		p += 4 + len;
		n -= 4 + len;
	}
	return 0;
}

/* An alert from the client: 0 to go on, 1 for close_notify, -errno. */
static int on_alert(struct tlsconn *t, const uint8_t *p, size_t n)
{
	if (n != 2)
		return -EILSEQ;
	stats.alerts_received++;
	if (p[1] == ALERT_CLOSE_NOTIFY) {
		t->peer_closed = true;
		return 1;
	}
	/* TLS 1.3 (6.2): every other alert but user_canceled is fatal; in
	 * 1.2 warnings may be ignored. */
	if (p[1] == ALERT_USER_CANCELED ||
	    (t->version == TLS1_2_VERSION && p[0] == ALERT_WARNING))
		return 0;
	t->dead = true;
	return -ECONNRESET;
}

/* The most plaintext a record of LEN bytes can hold: less its header,
 * tag, and TLS 1.3's content type or TLS 1.2 GCM's explicit nonce. */
static size_t plain_bound(const struct tlsconn *t, size_t len)
{
	size_t over = TLSREC_HEADER + TLSREC_TAG;

	if (t->version == TLS1_3_VERSION)
		over += 1;
	else if (t->cipher_type != TLS_CIPHER_CHACHA20_POLY1305)
		over += 8;
	return len > over ? len - over : 0;
}

/* Opens the next whole record, copying application data to OUT (room
 * CAP).  Returns bytes copied (>= 0), 1 << 30 for close_notify, -EAGAIN
 * when no whole record is buffered, -ENOBUFS when it may not fit, or a
 * fatal -errno. */
#define GOT_CLOSE (1 << 30)
static ssize_t open_one(struct tlsconn *t, int fd, uint8_t *out, size_t cap)
{
	ssize_t len = tlsrec_frame(t->rx, t->in, t->in_len), r;
	uint8_t type, *plain;
	int err = 0;

	if (len < 0)
		return len;
	if (len == 0 || (size_t)len > t->in_len)
		return -EAGAIN;
	if (plain_bound(t, (size_t)len) > cap)
		return -ENOBUFS;
	r = tlsrec_open(t->rx, t->in, (size_t)len, &type, &plain);
	if (r < 0)
		return r;
	if (type == TLSREC_APPLICATION_DATA)
		memcpy(out, plain, (size_t)r);
	else if (type == TLSREC_ALERT)
		err = on_alert(t, plain, (size_t)r);
	else
		err = post_handshake(t, fd, plain, (size_t)r);
	consume(t, (size_t)len);
	if (err < 0)
		return err;
	if (err == 1)
		return GOT_CLOSE;
	return type == TLSREC_APPLICATION_DATA ? r : 0;
}

ssize_t tlsconn_read(struct tlsconn *t, int fd, void *out, size_t cap)
{
	size_t got = 0;

	if (!t->established || t->dead)
		return -EPIPE;
	for (;;) {
		ssize_t r = open_one(t, fd, (uint8_t *)out + got, cap - got);

		if (r == GOT_CLOSE || (r == -EAGAIN && t->peer_closed))
			return got ? (ssize_t)got : 0;
		if (r >= 0) {
			got += (size_t)r;
			continue;
		}
		if (r == -ENOBUFS)
			return got ? (ssize_t)got : -ENOBUFS;
		if (r != -EAGAIN) {
			/* What came before the bad record is the client's;
			 * the alert goes now, the next call fails. */
			r = fail(t, fd, (int)r);
			return got ? (ssize_t)got : r;
		}
		if (got)
			return (ssize_t)got;
		r = read_more(t, fd);
		if (r == 0)
			return 0; /* EOF without close_notify */
		if (r < 0)
			return r == -ENOBUFS ? fail(t, fd, -EMSGSIZE) : r;
	}
}

bool tlsconn_in_pending(const struct tlsconn *t)
{
	size_t n;

	if (t->in_len < TLSREC_HEADER || t->dead)
		return false;
	n = (size_t)t->in[3] << 8 | t->in[4];
	return t->in_len >= TLSREC_HEADER + n;
}

bool tlsconn_usable(const struct tlsconn *t)
{
	return t->established && !t->dead;
}

ssize_t tlsconn_write(struct tlsconn *t, int fd, const void *p, size_t n)
{
	size_t taken = 0;
	int err;

	if (!t->established || t->dead)
		return -EPIPE;
	while (taken < n && t->out_len - t->out_off < TLSCONN_OUT_MAX) {
		size_t chunk = n - taken;

		if (chunk > TLSREC_PLAIN_MAX)
			chunk = TLSREC_PLAIN_MAX;
		err = queue_record(t, TLSREC_APPLICATION_DATA,
				   (const uint8_t *)p + taken, chunk);
		if (err)
			return err;
		taken += chunk;
	}
	err = tlsconn_flush(t, fd);
	if (err < 0)
		return err;
	return taken || !n ? (ssize_t)taken : -EAGAIN;
}

void tlsconn_close_notify(struct tlsconn *t, int fd)
{
	static const uint8_t bye[2] = { ALERT_WARNING, ALERT_CLOSE_NOTIFY };

	if (!t->established || t->dead)
		return;
	if (!queue_record(t, TLSREC_ALERT, bye, 2))
		stats.alerts_sent++;
	tlsconn_flush(t, fd);
	t->dead = true;
}

int tlsconn_export(const struct tlsconn *t, struct tlsconn_state *st,
		   const uint8_t **cipher, size_t *len)
{
	if (!t->established || t->dead)
		return -EINVAL;
	if (tlsconn_out_pending(t))
		return -EBUSY;
	tlsrec_state_get(t->tx, &st->tx);
	tlsrec_state_get(t->rx, &st->rx);
	*cipher = t->in;
	*len = t->in_len;
	return 0;
}

int tlsconn_export_msg(const struct tlsconn *t, struct ho_msg *m)
{
	struct tlsconn_state st;
	const uint8_t *in;
	size_t len;
	int err;

	if (!t)
		return 0;
	err = tlsconn_export(t, &st, &in, &len);
	if (err)
		return err;
	m->flags |= HO_F_TLS;
	m->tls_tx = st.tx;
	m->tls_rx = st.rx;
	m->tls_in = in;
	m->tls_in_len = (uint32_t)len;
	OPENSSL_cleanse(&st, sizeof(st));
	return 0;
}

struct tlsconn *tlsconn_resume_msg(const struct ho_msg *m)
{
	struct tlsconn_state st = { .tx = m->tls_tx, .rx = m->tls_rx };
	struct tlsconn *t = tlsconn_resume(&st, m->tls_in, m->tls_in_len);

	OPENSSL_cleanse(&st, sizeof(st));
	return t;
}

const struct tlsconn_stats *tlsconn_stats(void)
{
	return &stats;
}

void tlsconn_metrics(struct metrics_buf *m, const char *family)
{
	const struct {
		const char *event;
		uint64_t value;
	} ev[] = {
		{ "handshake", stats.handshakes },
		{ "handshake_failure", stats.handshake_failures },
		{ "alert_sent", stats.alerts_sent },
		{ "alert_received", stats.alerts_received },
		{ "bad_record", stats.bad_records },
		{ "key_update", stats.key_updates },
		{ "renegotiation_refused", stats.renegotiations_refused },
	};

	metrics_family(m, family, "counter",
		       "TLS events of this process's connections (docs/tls.md).");
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		metrics_sample(m, family,
			       (const char *[]){ "event", ev[i].event, NULL },
			       ev[i].value);
}
