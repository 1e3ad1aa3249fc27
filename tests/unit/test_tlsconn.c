/* lib/tlsconn.h against OpenSSL's own client over a real socket pair: the
 * handshake fed one record at a time (a request right behind the client's
 * Finished included), application data both ways, the state exported and
 * resumed elsewhere mid-stream (a hand-off; unopened and partial records
 * included), KeyUpdate, close_notify, and every bad input the issue lists:
 * garbage instead of a ClientHello, a handshake cut short, a bad tag, a
 * record over the limit, an unknown content type, a TLS 1.2
 * renegotiation, each answered with the alert TLS names. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/tlsconn.h"
#include "t.h"
#include "tlstest.h"

struct rig {
	int sfd, cfd;
	SSL_CTX *sctx, *cctx;
	SSL *c;
	struct tlsconn *t;
};

static uint8_t pat(size_t i)
{
	return (uint8_t)(i % 251);
}

/* Handshake; with EARLY, the client's first request goes out right after
 * its handshake ends (TLS 1.3: before the server has read its Finished). */
static int rig_open(struct rig *r, const struct tlstest_suite *sc,
		    const char *early)
{
	int fds[2], rs = 0, rc = 0;

	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds))
		return -1;
	r->sfd = fds[0];
	r->cfd = fds[1];
	r->sctx = tlstest_ctx(sc, true);
	r->cctx = tlstest_ctx(sc, false);
	if (tlsconn_ctx_prepare(r->sctx))
		return -1;
	SSL_CTX_set_max_proto_version(r->sctx, sc->version);
	r->c = SSL_new(r->cctx);
	SSL_set_fd(r->c, r->cfd);
	SSL_set_connect_state(r->c);
	r->t = tlsconn_accept(r->sctx);
	for (int i = 0; i < 50 && (rs != 1 || rc != 1); i++) {
		if (rc != 1 && (rc = SSL_do_handshake(r->c)) == 1 && early)
			SSL_write(r->c, early, (int)strlen(early));
		if (rs != 1)
			rs = tlsconn_handshake(r->t, r->sfd);
		if (rs < 0)
			return -1;
	}
	return rs == 1 && rc == 1 ? 0 : -1;
}

static void rig_close(struct rig *r)
{
	tlsconn_free(r->t);
	SSL_free(r->c);
	SSL_CTX_free(r->sctx);
	SSL_CTX_free(r->cctx);
	close(r->sfd);
	close(r->cfd);
}

/* N bytes at the server; returns how many arrived. */
static size_t server_reads(struct rig *r, uint8_t *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 1000 && got < n; i++) {
		ssize_t k = tlsconn_read(r->t, r->sfd, buf + got, n - got);

		if (k > 0)
			got += (size_t)k;
		else if (k != -EAGAIN)
			break;
	}
	return got;
}

/* N bytes of the pattern from the server, read by the client. */
static bool server_sends(struct rig *r, size_t off, size_t n)
{
	static uint8_t out[1 << 16], in[1 << 16];
	size_t sent = 0, got = 0;

	for (int i = 0; i < 100000 && got < n; i++) {
		if (sent < n) {
			size_t m = n - sent < sizeof(out) ? n - sent
							  : sizeof(out);
			ssize_t k;

			for (size_t j = 0; j < m; j++)
				out[j] = pat(off + sent + j);
			k = tlsconn_write(r->t, r->sfd, out, m);
			if (k > 0)
				sent += (size_t)k;
			else if (k != -EAGAIN)
				return false;
		} else if (tlsconn_flush(r->t, r->sfd) < 0) {
			return false;
		}
		int k = SSL_read(r->c, in, sizeof(in));

		for (int j = 0; j < k; j++)
			if (in[j] != pat(off + got + (size_t)j))
				return false;
		if (k > 0)
			got += (size_t)k;
	}
	return got == n;
}

/* The connection moves: state out of one tlsconn, into a new one. */
static void hand_off(struct rig *r)
{
	struct tlsconn_state st;
	const uint8_t *cipher;
	size_t len;
	struct tlsconn *next;

	CHECK_EQ(tlsconn_export(r->t, &st, &cipher, &len), 0);
	next = tlsconn_resume(&st, cipher, len);
	CHECK(next != NULL);
	tlsconn_free(r->t);
	r->t = next;
}

static void check_suite(const struct tlstest_suite *sc)
{
	static const char req[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	bool v13 = sc->version == TLS1_3_VERSION;
	uint64_t hs0 = tlsconn_stats()->handshakes;
	uint8_t buf[256];
	struct rig r;

	CHECK_EQ(rig_open(&r, sc, v13 ? req : NULL), 0);
	CHECK_EQ(tlsconn_version(r.t), sc->version);
	CHECK_EQ(tlsconn_stats()->handshakes, hs0 + 1);
	if (!v13)
		CHECK_EQ(SSL_write(r.c, req, sizeof(req) - 1),
			 (int)sizeof(req) - 1);
	CHECK_EQ(server_reads(&r, buf, sizeof(req) - 1), sizeof(req) - 1);
	CHECK(!memcmp(buf, req, sizeof(req) - 1));
	CHECK(server_sends(&r, 0, 70001));
	/* a hand-off, both ways after it */
	hand_off(&r);
	CHECK_EQ(SSL_write(r.c, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	CHECK_EQ(server_reads(&r, buf, sizeof(req) - 1), sizeof(req) - 1);
	CHECK(server_sends(&r, 70001, 20000));
	hand_off(&r);
	CHECK(server_sends(&r, 90001, 3));
	rig_close(&r);
}

static void test_suites(void)
{
	for (int i = 0; i < TLSTEST_NSUITES; i++)
		check_suite(&tlstest_suites[i]);
}

/* Records the server has read but not opened, and the start of one it has
 * not even read whole, travel in the export and open at the new end. */
static void test_export_unopened(void)
{
	uint8_t buf[64], rec[64];
	struct tlsconn_state st;
	const uint8_t *cipher;
	struct tlsconn *next;
	struct rig r;
	size_t len;
	ssize_t n;

	CHECK_EQ(rig_open(&r, &tlstest_suites[0], NULL), 0);
	SSL_write(r.c, "aaaa", 4);
	SSL_write(r.c, "bbbb", 4);
	SSL_write(r.c, "cccc", 4);
	CHECK_EQ(tlsconn_read(r.t, r.sfd, buf, 4), 4); /* no room for more */
	CHECK(tlsconn_in_pending(r.t));
	CHECK_EQ(tlsconn_export(r.t, &st, &cipher, &len), 0);
	CHECK_EQ(len, 2 * (5 + 4 + 1 + 16));
	next = tlsconn_resume(&st, cipher, len);
	tlsconn_free(r.t);
	r.t = next;
	CHECK_EQ(server_reads(&r, buf, 8), 8);
	CHECK(!memcmp(buf, "bbbbcccc", 8));
	/* 10 bytes of the next record taken off the socket by the old end */
	SSL_write(r.c, "dddd", 4);
	CHECK_EQ(read(r.sfd, rec, 10), 10);
	CHECK_EQ(tlsconn_export(r.t, &st, &cipher, &len), 0);
	next = tlsconn_resume(&st, rec, 10);
	tlsconn_free(r.t);
	r.t = next;
	n = tlsconn_read(r.t, r.sfd, buf, sizeof(buf));
	CHECK_EQ(n, 4);
	CHECK(!memcmp(buf, "dddd", 4));
	/* a resumed state with more ciphertext than a connection buffers */
	errno = 0;
	CHECK(!tlsconn_resume(&st, rec, TLSCONN_IN_MAX + 1) && errno == EINVAL);
	rig_close(&r);
}

/* TLS 1.3 KeyUpdate with update_requested from the client: honoured, our
 * own sent, and the updated state survives a hand-off. */
static void test_key_update(void)
{
	for (int i = 0; i < 3; i++) {
		uint64_t ku0 = tlsconn_stats()->key_updates;
		uint8_t buf[16];
		struct rig r;

		CHECK_EQ(rig_open(&r, &tlstest_suites[i], NULL), 0);
		CHECK_EQ(SSL_key_update(r.c, SSL_KEY_UPDATE_REQUESTED), 1);
		CHECK_EQ(SSL_write(r.c, "after", 5), 5);
		CHECK_EQ(server_reads(&r, buf, 5), 5);
		CHECK(!memcmp(buf, "after", 5));
		CHECK_EQ(tlsconn_stats()->key_updates, ku0 + 1);
		hand_off(&r);
		CHECK(server_sends(&r, 0, 40000));
		CHECK_EQ(SSL_write(r.c, "again", 5), 5);
		CHECK_EQ(server_reads(&r, buf, 5), 5);
		rig_close(&r);
	}
}

static void test_close_notify(void)
{
	uint8_t buf[16];
	struct rig r;

	CHECK_EQ(rig_open(&r, &tlstest_suites[3], NULL), 0);
	SSL_write(r.c, "last", 4);
	SSL_shutdown(r.c);
	CHECK_EQ(server_reads(&r, buf, 4), 4);
	CHECK_EQ(tlsconn_read(r.t, r.sfd, buf, sizeof(buf)), 0);
	rig_close(&r);
}

/* The alert the client received, as OpenSSL's reason code, after reading
 * (0: none). */
static int client_alert(struct rig *r)
{
	uint8_t buf[64];
	unsigned long e;
	int reason = 0;

	ERR_clear_error();
	for (int i = 0; i < 20; i++)
		if (SSL_read(r->c, buf, sizeof(buf)) <= 0 &&
		    SSL_get_error(r->c, -1) == SSL_ERROR_SSL)
			break;
	while ((e = ERR_get_error()))
		if (ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
			reason = ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET;
	return reason;
}

/* A forged record written straight into the client's socket: the server
 * answers with ALERT and the connection is over. */
static void check_forged(const void *rec, size_t len, long want, int alert)
{
	uint8_t buf[64];
	struct rig r;

	CHECK_EQ(rig_open(&r, &tlstest_suites[0], NULL), 0);
	CHECK_EQ(write(r.cfd, rec, len), (ssize_t)len);
	CHECK_EQ(tlsconn_read(r.t, r.sfd, buf, sizeof(buf)), want);
	CHECK_EQ(client_alert(&r), alert);
	CHECK_EQ(tlsconn_read(r.t, r.sfd, buf, sizeof(buf)), -EPIPE);
	rig_close(&r);
}

static void test_bad_records(void)
{
	uint8_t tag[5 + 32] = "\x17\x03\x03\x00\x20";
	uint64_t bad0 = tlsconn_stats()->bad_records;

	memset(tag + 5, 0x5a, 32);
	check_forged(tag, sizeof(tag), -EBADMSG, SSL_AD_BAD_RECORD_MAC);
	check_forged("\x17\x03\x03\x41\x01", 5, -EMSGSIZE,
		     SSL_AD_RECORD_OVERFLOW);
	check_forged("\x18\x03\x03\x00\x10", 5, -EPROTO,
		     SSL_AD_UNEXPECTED_MESSAGE);
	CHECK_EQ(tlsconn_stats()->bad_records, bad0 + 2);
}

/* Before the handshake ends: plain HTTP on the TLS port, a ClientHello cut
 * short by the client's close. */
static void test_bad_handshakes(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint64_t f0 = tlsconn_stats()->handshake_failures;
	SSL_CTX *ctx = tlstest_ctx(&tlstest_suites[0], true);
	struct tlsconn *t;
	int fds[2];

	CHECK_EQ(tlsconn_ctx_prepare(ctx), 0);
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
	t = tlsconn_accept(ctx);
	CHECK_EQ(tlsconn_handshake(t, fds[0]), 0); /* nothing yet */
	CHECK_EQ(write(fds[1], http, sizeof(http) - 1),
		 (ssize_t)sizeof(http) - 1);
	CHECK_EQ(tlsconn_handshake(t, fds[0]), -EPROTO);
	CHECK_EQ(tlsconn_handshake(t, fds[0]), -EPIPE);
	{ /* a fatal unexpected_message alert, in clear */
		uint8_t alert[16];

		CHECK_EQ(read(fds[1], alert, sizeof(alert)), 7);
		CHECK(!memcmp(alert, "\x15\x03\x03\x00\x02\x02\x0a", 7));
	}
	tlsconn_free(t);
	close(fds[0]);
	close(fds[1]);
	/* half a ClientHello, then the client goes */
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
	t = tlsconn_accept(ctx);
	CHECK_EQ(write(fds[1], "\x16\x03\x01\x02\x00\x01\x00", 7), 7);
	CHECK_EQ(tlsconn_handshake(t, fds[0]), 0);
	close(fds[1]);
	CHECK_EQ(tlsconn_handshake(t, fds[0]), -ECONNRESET);
	CHECK_EQ(tlsconn_stats()->handshake_failures, f0 + 2);
	tlsconn_free(t);
	close(fds[0]);
	SSL_CTX_free(ctx);
}

/* TLS 1.2: a renegotiation the client starts is refused (no_renegotiation)
 * and the connection ends. */
static void test_renegotiation(void)
{
	uint64_t r0 = tlsconn_stats()->renegotiations_refused;
	uint8_t buf[1024]; /* room for the ClientHello's record */
	struct rig r;

	CHECK_EQ(rig_open(&r, &tlstest_suites[3], NULL), 0);
	CHECK_EQ(SSL_renegotiate(r.c), 1);
	SSL_do_handshake(r.c);
	CHECK_EQ(tlsconn_read(r.t, r.sfd, buf, sizeof(buf)), -EPROTO);
	CHECK_EQ(tlsconn_stats()->renegotiations_refused, r0 + 1);
	CHECK_EQ(tlsconn_read(r.t, r.sfd, buf, sizeof(buf)), -EPIPE);
	rig_close(&r);
}

/* ALPN: http/1.1 is chosen among others; a client offering only h2 is
 * refused (no_application_protocol), as TLS says. */
static void test_alpn(void)
{
	static const unsigned char both[] = "\x02h2\x08http/1.1", h2[] = "\x02h2";
	const unsigned char *sel;
	unsigned int len;
	struct rig r;

	CHECK_EQ(rig_open(&r, &tlstest_suites[0], NULL), 0);
	rig_close(&r);
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		SSL_CTX *cctx = tlstest_ctx(&tlstest_suites[0], false);
		SSL_CTX *sctx = tlstest_ctx(&tlstest_suites[0], true);
		struct tlsconn *t;
		SSL *c;
		int fds[2], rs = 0, rc = 0;

		CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
		tlsconn_ctx_prepare(sctx);
		SSL_CTX_set_alpn_protos(cctx, i ? h2 : both,
					i ? sizeof(h2) - 1 : sizeof(both) - 1);
		c = SSL_new(cctx);
		SSL_set_fd(c, fds[1]);
		SSL_set_connect_state(c);
		t = tlsconn_accept(sctx);
		for (int j = 0; j < 50 && rs >= 0 && (rs != 1 || rc != 1); j++) {
			rc = SSL_do_handshake(c);
			rs = tlsconn_handshake(t, fds[0]);
		}
		if (!i) {
			CHECK_EQ(rs, 1);
			SSL_get0_alpn_selected(c, &sel, &len);
			CHECK(len == 8 && !memcmp(sel, "http/1.1", 8));
		} else {
			CHECK_EQ(rs, -EPROTO);
		}
		tlsconn_free(t);
		SSL_free(c);
		SSL_CTX_free(cctx);
		SSL_CTX_free(sctx);
		close(fds[0]);
		close(fds[1]);
	}
}

int main(void)
{
	t_run("tlsconn: six suites, request behind Finished, 70 KB, two "
	      "hand-offs",
	      test_suites);
	t_run("tlsconn: unopened and partial records travel in the export",
	      test_export_unopened);
	t_run("tlsconn: TLS 1.3 KeyUpdate requested, honoured, handed off",
	      test_key_update);
	t_run("tlsconn: close_notify reads as the end", test_close_notify);
	t_run("tlsconn: bad tag, too long, unknown type: alert, closed",
	      test_bad_records);
	t_run("tlsconn: plain HTTP or a cut ClientHello: handshake fails",
	      test_bad_handshakes);
	t_run("tlsconn: TLS 1.2 renegotiation refused", test_renegotiation);
	t_run("tlsconn: ALPN http/1.1; h2 only refused", test_alpn);
	return t_done();
}
