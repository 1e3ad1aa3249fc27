/* One client connection's TLS, server side, over a non-blocking socket the
 * caller owns (issue 16): the handshake, run by OpenSSL over memory BIOs
 * fed one record at a time, then the established session's records sealed
 * and opened by lib/tlsrec.h, and the state that moves with the connection
 * in a hand-off.
 *
 *   t = tlsconn_accept(ctx);                    ctx: tlsconn_ctx_prepare'd
 *   tlsconn_handshake(t, fd) until 1            (0: wait for fd; poll for
 *                                                writing while
 *                                                tlsconn_out_pending(t))
 *   tlsconn_read(t, fd, buf, cap)               plaintext of the request
 *   tlsconn_write(t, fd, p, n), tlsconn_flush   the response, sealed
 *   tlsconn_export(t, &st, &cipher, &len)       what a hand-off carries
 *   t = tlsconn_resume(&st, cipher, len)        at the other end
 *
 * Nothing of the established session goes through OpenSSL's SSL object:
 * it is freed once the state is exported at the end of the handshake.
 *
 * Post-handshake messages, whoever holds the connection: a TLS 1.3
 * KeyUpdate is honoured (ours follows when the client asks, RFC 8446
 * 4.6.3); close_notify reads as the end of the stream; a fatal alert from
 * the client ends the connection (-ECONNRESET); a TLS 1.2 renegotiation
 * (ClientHello) gets a no_renegotiation alert and ends it (-EPROTO); any
 * other handshake message, or one split over records, is an
 * unexpected_message.  Records that fail (lib/tlsrec.h's errors) get the
 * alert TLS names for them, written best effort, and end the connection. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "lib/tlsrec.h"

/* The ciphertext a connection buffers: two whole records of the largest
 * size (plus a little): never more is read from the socket. */
#define TLSCONN_IN_MAX (2 * (TLSREC_HEADER + TLSREC_CIPHER_MAX12))
/* Sealed bytes waiting for the socket before tlsconn_write takes no more. */
#define TLSCONN_OUT_MAX (256u << 10)

struct tlsconn;

/* Both directions of an established session: what travels in HANDOFF and
 * HANDBACK, with the ciphertext read but not yet opened. */
struct tlsconn_state {
	struct tlsrec_state tx, rx; /* the server's write and read sides */
};

/* Counters over every connection of the process (for metrics). */
struct tlsconn_stats {
	uint64_t handshakes, handshake_failures;
	uint64_t alerts_sent, alerts_received, bad_records;
	uint64_t key_updates, renegotiations_refused;
};

/* Prepares a server context for tlsconn: tlsexport_prepare, read-ahead
 * off, ALPN http/1.1 when the client offers ALPN (refused if it offers
 * only others), TLS 1.2 and 1.3 only.  0 or -errno. */
int tlsconn_ctx_prepare(SSL_CTX *ctx);

/* A server context from a certificate chain and key (PEM files), prepared
 * with tlsconn_ctx_prepare, or NULL with the reason logged. */
SSL_CTX *tlsconn_server_ctx(const char *cert, const char *key);

/* Whether this kernel has kTLS (the "tls" TCP upper-layer protocol): a
 * probe on an unconnected socket, which fails with ENOTCONN when the
 * module is there and ENOENT when it is not.  0 (none), 1 (there), or
 * -errno (could not tell).  Prism seals records in user space either way
 * (docs/tls.md, "kTLS"); the daemons log what they found. */
int tlsconn_ktls_probe(void);
/* The probe in words, for a log line. */
const char *tlsconn_ktls_status(void);

/* A handshake to run on a new connection, or NULL (ENOMEM). */
struct tlsconn *tlsconn_accept(SSL_CTX *ctx);
/* A session that continues elsewhere: state and the ciphertext that came
 * with it (unopened records, possibly the start of one).  NULL with errno
 * EINVAL (a state tlsrec refuses, too much ciphertext) or ENOMEM. */
struct tlsconn *tlsconn_resume(const struct tlsconn_state *st,
			       const uint8_t *cipher, size_t len);
void tlsconn_free(struct tlsconn *t);

/* Reads what fd has and moves the handshake on.  1 once established (the
 * state exported, the SSL object gone; records that came behind the
 * client's Finished are kept for tlsconn_read), 0 when more is needed
 * (wait for fd readable, or writable while tlsconn_out_pending), -errno
 * when it failed (OpenSSL's alert written best effort; -ECONNRESET: the
 * client closed or reset first). */
int tlsconn_handshake(struct tlsconn *t, int fd);
bool tlsconn_established(const struct tlsconn *t);
/* Negotiated version (TLS1_2_VERSION, TLS1_3_VERSION) and cipher name. */
int tlsconn_version(const struct tlsconn *t);

/* Application data: opens the records buffered and then those fd has,
 * copying their plaintext to out.  Returns bytes copied (> 0), 0 at the
 * end of the stream (close_notify, or the socket's EOF), -EAGAIN (nothing
 * yet), -ENOBUFS (the next record's plaintext may not fit in cap: make
 * room), or a fatal -errno (alert sent; see above). */
ssize_t tlsconn_read(struct tlsconn *t, int fd, void *out, size_t cap);
/* Whether a whole record waits in the connection's buffer (read from the
 * socket, not opened: cap was full, or it came with a hand-off): the
 * socket will not say so by being readable. */
bool tlsconn_in_pending(const struct tlsconn *t);
/* Established and not failed or closed (a dead session seals nothing). */
bool tlsconn_usable(const struct tlsconn *t);

/* Seals up to n bytes into records and writes what the socket takes.
 * Returns the bytes taken (all of them unless TLSCONN_OUT_MAX is queued),
 * -EAGAIN when none could be (flush first), or -errno. */
ssize_t tlsconn_write(struct tlsconn *t, int fd, const void *p, size_t n);
/* Writes queued records: 1 when none is left, 0 when some are, -errno. */
int tlsconn_flush(struct tlsconn *t, int fd);
bool tlsconn_out_pending(const struct tlsconn *t);
/* tlsconn_flush for a connection that is otherwise only read: FD is
 * watched in LOOP for writing too while records are left, and for
 * reading only once they are out (*WATCHING says which it is).  0 or
 * -errno. */
struct evloop;
int tlsconn_flush_watched(struct tlsconn *t, int fd, struct evloop *loop,
			  bool *watching);
/* Queues close_notify and flushes best effort. */
void tlsconn_close_notify(struct tlsconn *t, int fd);

/* An established, quiet connection's state (nothing queued to write: -EBUSY
 * otherwise): st, and in *cipher / *len the ciphertext read but not opened
 * (valid until the next call on t).  -EINVAL before the handshake ends. */
int tlsconn_export(const struct tlsconn *t, struct tlsconn_state *st,
		   const uint8_t **cipher, size_t *len);

/* The same for a hand-off message (lib/handoff.h): T's state put into M
 * with HO_F_TLS (M's byte fields point into T until the next call on T);
 * a NULL T adds nothing.  0 or tlsconn_export's error. */
struct ho_msg;
int tlsconn_export_msg(const struct tlsconn *t, struct ho_msg *m);
/* The session M brought (HO_F_TLS), or NULL with errno set (EINVAL:
 * tlsconn_resume refused it). */
struct tlsconn *tlsconn_resume_msg(const struct ho_msg *m);

const struct tlsconn_stats *tlsconn_stats(void);
/* FAMILY{event="handshake"|...} for each counter, e.g. FAMILY
 * "prism_controller_tls_events_total". */
struct metrics_buf;
void tlsconn_metrics(struct metrics_buf *m, const char *family);
