/* tlsrec.h and tlsexport.h against OpenSSL's own TLS: a real handshake
 * (client and server SSL objects over memory BIOs), then the server's
 * record state exported, and records sealed and opened here that the
 * OpenSSL client reads and writes, for TLS 1.3 and 1.2 with each of the
 * three AEAD suites; the state moved to a fresh direction (a hand-off)
 * mid-stream; TLS 1.3 KeyUpdate both ways; malformed records; and the
 * kernel layout, with kTLS itself where the kernel has it. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/tlsconn.h"
#include "lib/tlsexport.h"
#include "lib/tlsrec.h"
#include "t.h"
#include "tlstest.h"

/* A client and a server, each reading from its own memory BIO and
 * writing to another; shuttle() moves what one wrote to the other. */
struct tls_pair {
	SSL_CTX *sctx, *cctx;
	SSL *s, *c;
	BIO *s_in, *s_out, *c_in, *c_out;
	struct tlsrec_dir *tx, *rx; /* the server's, once exported */
};

/* Moves every byte from out to in; returns how many records it moved. */
static int shuttle(BIO *out, BIO *in)
{
	uint8_t buf[65536];
	int n, records = 0;

	while ((n = BIO_read(out, buf, sizeof(buf))) > 0) {
		for (int off = 0; off + TLSREC_HEADER <= n;
		     off += TLSREC_HEADER + (buf[off + 3] << 8 | buf[off + 4]))
			records++;
		BIO_write(in, buf, n);
	}
	return records;
}

/* Handshake; then the server's state exported into p->tx and p->rx.
 * tickets: TLS 1.3 NewSessionTickets the server sends after it (each a
 * record under the server's traffic key, counted off the wire). */
static int pair_open(struct tls_pair *p, const struct tlstest_suite *sc,
		     int tickets)
{
	struct tlsrec_state tx, rx;
	uint64_t tx_seq = 0, rx_seq = 0;
	int last = 0;

	memset(p, 0, sizeof(*p));
	p->sctx = tlstest_ctx(sc, true);
	p->cctx = tlstest_ctx(sc, false);
	if (tlsexport_prepare(p->sctx))
		return -1;
	SSL_CTX_set_num_tickets(p->sctx, tickets);
	p->s = SSL_new(p->sctx);
	p->c = SSL_new(p->cctx);
	p->s_in = BIO_new(BIO_s_mem());
	p->s_out = BIO_new(BIO_s_mem());
	p->c_in = BIO_new(BIO_s_mem());
	p->c_out = BIO_new(BIO_s_mem());
	SSL_set_bio(p->s, p->s_in, p->s_out);
	SSL_set_bio(p->c, p->c_in, p->c_out);
	SSL_set_accept_state(p->s);
	SSL_set_connect_state(p->c);
	for (int i = 0; i < 10 && !SSL_is_init_finished(p->s); i++) {
		SSL_do_handshake(p->c);
		shuttle(p->c_out, p->s_in);
		SSL_do_handshake(p->s);
		last = shuttle(p->s_out, p->c_in);
	}
	if (SSL_do_handshake(p->c) != 1 || !SSL_is_init_finished(p->s))
		return -1;
	if (sc->version == TLS1_3_VERSION) {
		/* What the server wrote in the call that finished its
		 * handshake is its tickets, under the traffic key. */
		tx_seq = last;
	} else {
		/* Each side's Finished is the first record under the keys. */
		tx_seq = rx_seq = 1;
	}
	if (tlsexport_state(p->s, tx_seq, rx_seq, &tx, &rx))
		return -1;
	p->tx = tlsrec_new(&tx);
	p->rx = tlsrec_new(&rx);
	return p->tx && p->rx ? 0 : -1;
}

static void pair_close(struct tls_pair *p)
{
	tlsrec_free(p->tx);
	tlsrec_free(p->rx);
	SSL_free(p->s);
	SSL_free(p->c);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
}

static uint8_t pat(size_t i)
{
	return (uint8_t)(i % 251);
}

/* Seals n pattern bytes from offset off as records of at most 16 KB and
 * gives them to the client. */
static bool seal_to_client(struct tls_pair *p, size_t off, size_t n)
{
	static uint8_t plain[TLSREC_PLAIN_MAX], rec[TLSREC_RECORD_MAX];

	while (n) {
		size_t k = n < sizeof(plain) ? n : sizeof(plain);
		ssize_t len;

		for (size_t i = 0; i < k; i++)
			plain[i] = pat(off + i);
		len = tlsrec_seal(p->tx, TLSREC_APPLICATION_DATA, plain, k, rec,
				  sizeof(rec));
		if (len <= 0)
			return false;
		BIO_write(p->c_in, rec, len);
		off += k;
		n -= k;
	}
	return true;
}

/* The client reads n bytes: are they the pattern from off? */
static bool client_reads(struct tls_pair *p, size_t off, size_t n)
{
	static uint8_t buf[65536];
	size_t got = 0;

	while (got < n) {
		int r = SSL_read(p->c, buf, sizeof(buf));

		if (r <= 0)
			return false;
		for (int i = 0; i < r; i++)
			if (buf[i] != pat(off + got + i))
				return false;
		got += r;
	}
	return got == n;
}

/* Opens the next whole record the client wrote. */
static ssize_t open_next(struct tls_pair *p, uint8_t *rec, uint8_t *type,
			 uint8_t **plain)
{
	uint8_t hdr[TLSREC_HEADER];
	ssize_t len;

	if (BIO_read(p->c_out, hdr, sizeof(hdr)) != sizeof(hdr))
		return -ENODATA;
	memcpy(rec, hdr, sizeof(hdr));
	len = tlsrec_frame(p->rx, rec, sizeof(hdr));
	if (len < 0)
		return len;
	if (BIO_read(p->c_out, rec + TLSREC_HEADER, len - TLSREC_HEADER) !=
	    len - TLSREC_HEADER)
		return -ENODATA;
	return tlsrec_open(p->rx, rec, len, type, plain);
}

/* The client writes n bytes (a request); the server's side opens them. */
static bool server_reads(struct tls_pair *p, size_t n)
{
	static uint8_t buf[40000], rec[TLSREC_CIPHER_MAX12 + TLSREC_HEADER];
	size_t got = 0;

	for (size_t i = 0; i < n; i++)
		buf[i] = pat(i);
	if (SSL_write(p->c, buf, n) != (int)n)
		return false;
	while (got < n) {
		uint8_t type, *plain;
		ssize_t k = open_next(p, rec, &type, &plain);

		if (k < 0 || type != TLSREC_APPLICATION_DATA)
			return false;
		for (ssize_t i = 0; i < k; i++)
			if (plain[i] != pat(got + i))
				return false;
		got += k;
	}
	return got == n;
}

/* The state carried to a fresh direction, as a hand-off does. */
static struct tlsrec_dir *moved(struct tlsrec_dir *d)
{
	struct tlsrec_state st;
	struct tlsrec_dir *n;

	tlsrec_state_get(d, &st);
	n = tlsrec_new(&st);
	tlsrec_free(d);
	return n;
}

static void check_case(const struct tlstest_suite *sc, int tickets)
{
	struct tls_pair p;

	if (pair_open(&p, sc, tickets)) {
		t_failf(__FILE__, __LINE__, "%s: handshake or export failed",
			sc->name);
		ERR_print_errors_fp(stderr);
		pair_close(&p);
		return;
	}
	CHECK(seal_to_client(&p, 0, 1));
	CHECK(seal_to_client(&p, 1, 70000));
	CHECK(client_reads(&p, 0, 70001));
	CHECK(server_reads(&p, 5000));
	CHECK(server_reads(&p, 33000));
	/* Both directions move mid-stream; the client notices nothing. */
	p.tx = moved(p.tx);
	p.rx = moved(p.rx);
	CHECK(p.tx && p.rx);
	if (p.tx && p.rx) {
		CHECK(seal_to_client(&p, 70001, 20000));
		CHECK(client_reads(&p, 70001, 20000));
		CHECK(server_reads(&p, 100));
	}
	pair_close(&p);
}

static void test_roundtrip(void)
{
	for (size_t i = 0; i < TLSTEST_NSUITES; i++)
		check_case(&tlstest_suites[i], 0);
}

/* TLS 1.3 servers send tickets after the handshake (OpenSSL: 2): they
 * count in the server's sequence number. */
static void test_tickets_counted(void)
{
	for (size_t i = 0; i < TLSTEST_NSUITES; i++)
		if (tlstest_suites[i].version == TLS1_3_VERSION)
			check_case(&tlstest_suites[i], 2);
}

/* The client updates its keys and asks for ours (RFC 8446 4.6.3): its
 * KeyUpdate opens as a handshake record; the next record needs the new
 * read key; ours goes out under the old write key, then the new one. */
static void check_key_update(const struct tlstest_suite *sc)
{
	static const uint8_t ku_not_requested[] = {24, 0, 0, 1, 0};
	uint8_t rec[TLSREC_RECORD_MAX], *plain, type;
	struct tls_pair p;
	ssize_t n;

	if (pair_open(&p, sc, 0)) {
		t_failf(__FILE__, __LINE__, "%s: handshake failed", sc->name);
		pair_close(&p);
		return;
	}
	CHECK(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED) == 1);
	CHECK(SSL_write(p.c, "after", 5) == 5);
	n = open_next(&p, rec, &type, &plain);
	CHECK(n == 5 && type == TLSREC_HANDSHAKE && plain[0] == 24 &&
	      plain[4] == 1);
	n = open_next(&p, rec, &type, &plain);
	CHECK(n == -EBADMSG); /* still the old key: the tag fails */
	pair_close(&p);

	if (pair_open(&p, sc, 0))
		return;
	CHECK(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED) == 1);
	CHECK(SSL_write(p.c, "after", 5) == 5);
	n = open_next(&p, rec, &type, &plain);
	CHECK(n == 5 && type == TLSREC_HANDSHAKE);
	CHECK(tlsrec_key_update(p.rx) == 0);
	CHECK_EQ(tlsrec_seq(p.rx), 0);
	n = open_next(&p, rec, &type, &plain);
	CHECK(n == 5 && type == TLSREC_APPLICATION_DATA &&
	      !memcmp(plain, "after", 5));
	n = tlsrec_seal(p.tx, TLSREC_HANDSHAKE, ku_not_requested,
			sizeof(ku_not_requested), rec, sizeof(rec));
	CHECK(n > 0);
	BIO_write(p.c_in, rec, n);
	CHECK(tlsrec_key_update(p.tx) == 0);
	CHECK(seal_to_client(&p, 0, 3000));
	CHECK(client_reads(&p, 0, 3000));
	pair_close(&p);
}

static void test_key_update(void)
{
	for (size_t i = 0; i < TLSTEST_NSUITES; i++)
		if (tlstest_suites[i].version == TLS1_3_VERSION)
			check_key_update(&tlstest_suites[i]);
	{
		struct tls_pair p;

		if (!pair_open(&p, &tlstest_suites[3], 0))
			CHECK_EQ(tlsrec_key_update(p.tx), -EINVAL);
		pair_close(&p);
	}
}

/* A direction that opens what the other seals: same state twice. */
static void loop_dirs(int version, struct tlsrec_dir **a, struct tlsrec_dir **b)
{
	uint8_t secret[32] = {1, 2, 3}, k[16] = {4}, iv[4] = {5};
	struct tlsrec_state st;

	if (version == TLS1_3_VERSION)
		tlsrec_state_tls13(&st, TLS_CIPHER_AES_GCM_128, secret, 32, 7);
	else
		tlsrec_state_tls12(&st, TLS_CIPHER_AES_GCM_128, k, iv, 7);
	*a = tlsrec_new(&st);
	*b = tlsrec_new(&st);
}

/* Seals INNER (content type and padding included) as a TLS 1.3
 * AES-128-GCM record of d's current state, by hand: what a peer could
 * send that tlsrec_seal never writes. */
static ssize_t seal_inner13(struct tlsrec_dir *d, const uint8_t *inner,
			    size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	struct tlsrec_state st;
	uint8_t nonce[12];
	uint64_t seq = tlsrec_seq(d);
	int len, ok;

	tlsrec_state_get(d, &st);
	memcpy(nonce, st.k.gcm128.salt, 4);
	memcpy(nonce + 4, st.k.gcm128.iv, 8);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
	out[0] = TLSREC_APPLICATION_DATA;
	out[1] = out[2] = 3;
	out[3] = (n + TLSREC_TAG) >> 8;
	out[4] = (n + TLSREC_TAG) & 0xff;
	ok = EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, st.k.gcm128.key,
				nonce) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &len, out, TLSREC_HEADER) == 1 &&
	     EVP_EncryptUpdate(c, out + TLSREC_HEADER, &len, inner, (int)n) ==
		 1 &&
	     EVP_EncryptFinal_ex(c, out + TLSREC_HEADER + n, &len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TLSREC_TAG,
				 out + TLSREC_HEADER + n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? (ssize_t)(TLSREC_HEADER + n + TLSREC_TAG) : -1;
}

/* TLS 1.3 inner plaintexts (RFC 8446 5.4): padding stripped; no type, or
 * one not allowed after the handshake, refused without counting. */
static void check_inner(struct tlsrec_dir *a, struct tlsrec_dir *b)
{
	static const struct {
		const char *inner;
		size_t n;
		ssize_t want;
	} inner[] = {
		{"hi\x17\0\0\0", 6, 2},      /* padded: "hi", type 23 */
		{"\0\0\0\0", 4, -EPROTO},    /* zeros only: no type */
		{"x\x14", 2, -EPROTO},        /* change_cipher_spec inside */
		{"x", 1, -EPROTO},             /* type 'x', unknown */
		{"ok\x15", 3, 2},             /* an alert is fine */
	};
	uint8_t rec[64], type, *out;
	ssize_t n;

	for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
		uint64_t seq = tlsrec_seq(b);

		n = seal_inner13(a, (const uint8_t *)inner[i].inner,
				 inner[i].n, rec);
		CHECK(n > 0);
		CHECK_EQ(tlsrec_open(b, rec, (size_t)n, &type, &out),
			 inner[i].want);
		CHECK_EQ(tlsrec_seq(b), seq + (inner[i].want >= 0));
		if (inner[i].want > 0)
			CHECK(!memcmp(out, inner[i].inner, 2));
		/* the hand-made record used a's number: a moves on too */
		if (inner[i].want >= 0)
			CHECK(tlsrec_seal(a, 23, "", 0, rec, sizeof(rec)) > 0);
	}
	/* still in step: the next record opens */
	n = tlsrec_seal(a, 23, "z", 1, rec, sizeof(rec));
	CHECK_EQ(tlsrec_open(b, rec, (size_t)n, &type, &out), 1);
}

/* The plaintext limit, one byte either side, from the header alone (no
 * decryption: junk bodies). */
static void check_limits(struct tlsrec_dir *b, int version)
{
	static uint8_t rec[TLSREC_RECORD_MAX + 64];
	size_t ex = version == TLS1_3_VERSION ? 0 : 8;
	size_t inner_max = TLSREC_PLAIN_MAX + (version == TLS1_3_VERSION);
	uint8_t type, *out;

	for (size_t over = 0; over < 2; over++) {
		size_t body = ex + inner_max + over + TLSREC_TAG;

		memset(rec, 0xa5, sizeof(rec));
		rec[0] = TLSREC_APPLICATION_DATA;
		rec[1] = rec[2] = 3;
		rec[3] = body >> 8;
		rec[4] = body & 0xff;
		CHECK_EQ(tlsrec_open(b, rec, TLSREC_HEADER + body, &type, &out),
			 over ? -EMSGSIZE : -EBADMSG);
	}
}

static void check_bad(int version)
{
	static uint8_t rec[TLSREC_RECORD_MAX + 4096],
	    plain[TLSREC_PLAIN_MAX + 1], copy[64];
	size_t max = version == TLS1_3_VERSION ? TLSREC_CIPHER_MAX13
					       : TLSREC_CIPHER_MAX12;
	struct tlsrec_dir *a, *b;
	uint8_t type, *out;
	ssize_t n;

	loop_dirs(version, &a, &b);
	n = tlsrec_seal(a, TLSREC_APPLICATION_DATA, "abc", 3, rec, sizeof(rec));
	CHECK(n > 0);
	memcpy(copy, rec, n);
	copy[n - 1] ^= 1; /* the tag */
	CHECK_EQ(tlsrec_open(b, copy, n, &type, &out), -EBADMSG);
	CHECK_EQ(tlsrec_seq(b), 7); /* a failed record does not count */
	CHECK_EQ(tlsrec_open(b, rec, n, &type, &out), 3);
	CHECK(type == TLSREC_APPLICATION_DATA && !memcmp(out, "abc", 3));
	/* Header checks, before any decryption. */
	memcpy(rec, "\x17\x03\x03", 3);
	rec[3] = (max + 1) >> 8;
	rec[4] = (max + 1) & 0xff;
	CHECK_EQ(tlsrec_frame(b, rec, 5), -EMSGSIZE);
	rec[3] = max >> 8;
	rec[4] = max & 0xff;
	CHECK_EQ(tlsrec_frame(b, rec, 5), (ssize_t)(max + 5));
	CHECK_EQ(tlsrec_frame(b, rec, 4), 0);
	/* A body this long holds more than 2^14 (+1) bytes of plaintext. */
	CHECK_EQ(tlsrec_open(b, rec, max + 5, &type, &out), -EMSGSIZE);
	rec[0] = 99;
	CHECK_EQ(tlsrec_frame(b, rec, 5), -EPROTO);
	rec[0] = 23;
	rec[1] = 2;
	CHECK_EQ(tlsrec_frame(b, rec, 5), -EPROTO);
	memcpy(rec, "\x17\x03\x03\x00\x0a", 5); /* shorter than a tag */
	CHECK_EQ(tlsrec_open(b, rec, 15, &type, &out), -EPROTO);
	CHECK_EQ(tlsrec_open(b, rec, 14, &type, &out), -EINVAL);
	CHECK_EQ(
	    tlsrec_seal(a, 23, plain, TLSREC_PLAIN_MAX + 1, rec, sizeof(rec)),
	    -EINVAL);
	CHECK_EQ(tlsrec_seal(a, 23, plain, 100, rec, 50), -EINVAL);
	CHECK_EQ(tlsrec_seal(a, 0, "x", 1, rec, sizeof(rec)), -EINVAL);
	CHECK_EQ(tlsrec_seal(a, TLSREC_CHANGE_CIPHER_SPEC, "x", 1, rec,
			     sizeof(rec)),
		 -EINVAL);
	CHECK_EQ(tlsrec_seal(a, 24, "x", 1, rec, sizeof(rec)), -EINVAL);
	check_limits(b, version);
	if (version == TLS1_2_VERSION) {
		memcpy(rec, "\x17\x03\x01\x00\x20", 5); /* 3,1 in 1.2 */
		CHECK_EQ(tlsrec_frame(b, rec, 5), -EPROTO);
	}
	if (version == TLS1_3_VERSION) {
		check_inner(a, b);
		/* After the handshake every 1.3 record is application data
		 * outside (a change_cipher_spec now is unexpected). */
		n = tlsrec_seal(a, 23, "x", 1, rec, sizeof(rec));
		rec[0] = TLSREC_CHANGE_CIPHER_SPEC;
		CHECK_EQ(tlsrec_open(b, rec, n, &type, &out), -EPROTO);
	}
	tlsrec_free(a);
	tlsrec_free(b);
}

static void test_bad_records(void)
{
	struct tlsrec_state st = {0};

	check_bad(TLS1_3_VERSION);
	check_bad(TLS1_2_VERSION);
	st.k.info.version = TLS_1_2_VERSION;
	st.k.info.cipher_type = TLS_CIPHER_AES_CCM_128;
	errno = 0;
	CHECK(!tlsrec_new(&st) && errno == EINVAL);
	st.k.info.version = 0x0301;
	st.k.info.cipher_type = TLS_CIPHER_AES_GCM_128;
	CHECK(!tlsrec_new(&st) && errno == EINVAL);
	CHECK_EQ(tlsrec_state_tls13(&st, TLS_CIPHER_AES_GCM_256,
				    (const uint8_t *)"short", 5, 0),
		 -EINVAL);
}

/* The sequence number's end, a KeyUpdate's reset to 0 from a state that
 * was not at 0, sealing in place, and secret lengths a received state
 * must have. */
static void test_state_edges(void)
{
	uint8_t secret[32] = {7}, rec[128], type, *out;
	struct tlsrec_state st;
	struct tlsrec_dir *a, *b;
	ssize_t n;

	CHECK_EQ(tlsrec_state_tls13(&st, TLS_CIPHER_AES_GCM_128, secret, 32,
				    UINT64_MAX - 1),
		 0);
	a = tlsrec_new(&st);
	b = tlsrec_new(&st);
	n = tlsrec_seal(a, 23, "last", 4, rec, sizeof(rec));
	CHECK(n > 0);
	CHECK_EQ(tlsrec_seal(a, 23, "more", 4, rec + n, sizeof(rec) - n),
		 -EOVERFLOW);
	CHECK_EQ(tlsrec_open(b, rec, (size_t)n, &type, &out), 4);
	/* KeyUpdate from a number far from 0: both restart at 0 */
	CHECK(!tlsrec_key_update(a) && !tlsrec_key_update(b));
	CHECK(tlsrec_seq(a) == 0 && tlsrec_seq(b) == 0);
	/* in place: the plaintext already where the record's body goes */
	memcpy(rec + TLSREC_HEADER, "in place", 8);
	n = tlsrec_seal(a, 23, rec + TLSREC_HEADER, 8, rec, sizeof(rec));
	CHECK_EQ(tlsrec_open(b, rec, (size_t)n, &type, &out), 8);
	CHECK(!memcmp(out, "in place", 8));
	tlsrec_free(a);
	tlsrec_free(b);
	/* a 1.3 state with the wrong secret length; a 1.2 one with any */
	st.secret_len = 48;
	errno = 0;
	CHECK(!tlsrec_new(&st) && errno == EINVAL);
	st.secret_len = 0;
	CHECK(!tlsrec_new(&st) && errno == EINVAL);
	CHECK_EQ(tlsrec_state_tls12(&st, TLS_CIPHER_AES_GCM_128, secret,
				    secret, 0),
		 0);
	st.secret_len = 32;
	CHECK(!tlsrec_new(&st) && errno == EINVAL);
}

/* The wire form: every suite round-trips (and the decoded state still
 * seals what the original opens); one encoding per state. */
static void test_wire_form(void)
{
	uint8_t secret[48] = {5}, key[32] = {6}, iv[12] = {7}, rec[64];
	uint8_t w[TLSREC_WIRE_LEN], w2[TLSREC_WIRE_LEN], type, *plain;
	struct tlsrec_state st, back;

	for (int i = 0; i < TLSTEST_NSUITES; i++) {
		const struct tlstest_suite *sc = &tlstest_suites[i];
		struct tlsrec_dir *a, *b;
		ssize_t n;

		if (sc->version == TLS1_3_VERSION)
			CHECK_EQ(tlsrec_state_tls13(
				     &st, sc->cipher_type, secret,
				     sc->cipher_type == TLS_CIPHER_AES_GCM_256
					 ? 48
					 : 32,
				     1000 + i),
				 0);
		else
			CHECK_EQ(tlsrec_state_tls12(&st, sc->cipher_type, key,
						    iv, 1000 + i),
				 0);
		tlsrec_state_encode(&st, w);
		CHECK_EQ(tlsrec_state_decode(&back, w), 0);
		CHECK(!memcmp(&back, &st, sizeof(st)));
		tlsrec_state_encode(&back, w2);
		CHECK(!memcmp(w, w2, sizeof(w)));
		a = tlsrec_new(&st);
		b = tlsrec_new(&back);
		n = tlsrec_seal(a, 23, "wire", 4, rec, sizeof(rec));
		CHECK_EQ(tlsrec_open(b, rec, (size_t)n, &type, &plain), 4);
		tlsrec_free(a);
		tlsrec_free(b);
		/* any byte flipped: accepted exactly where it is used */
		for (size_t off = 4; off < sizeof(w); off++) {
			bool gcm = sc->cipher_type != TLS_CIPHER_CHACHA20_POLY1305;
			size_t klen = sc->cipher_type == TLS_CIPHER_AES_GCM_128
					  ? 16 : 32;
			size_t f = off - 4, slen = st.secret_len;
			bool used = f < klen || (f >= 32 && f < 32 + (gcm ? 4u : 0u)) ||
				    (f >= 36 && f < 36 + (gcm ? 8 : 12)) ||
				    (f >= 48 && f < 56) ||
				    (f >= 57 && f < 57 + slen);

			w[off] ^= 0x80;
			CHECK_EQ(tlsrec_state_decode(&back, w), used ? 0 : -EINVAL);
			w[off] ^= 0x80;
		}
		w[4 + 56] += 1; /* secret length */
		CHECK_EQ(tlsrec_state_decode(&back, w), -EINVAL);
		w[4 + 56] -= 1;
		w[1] = 0x01; /* TLS 1.0 */
		CHECK_EQ(tlsrec_state_decode(&back, w), -EINVAL);
	}
}

/* The state is the kernel's struct, rec_seq big-endian and current. */
static void test_kernel_layout(void)
{
	uint8_t secret[48] = {9}, rec[64];
	struct tlsrec_state st;
	struct tlsrec_dir *d;

	CHECK_EQ(
	    tlsrec_state_tls13(&st, TLS_CIPHER_AES_GCM_256, secret, 48, 0x0102),
	    0);
	CHECK_EQ(st.k.info.version, TLS_1_3_VERSION);
	CHECK_EQ(st.k.info.cipher_type, TLS_CIPHER_AES_GCM_256);
	CHECK_EQ(tlsrec_kernel_size(&st.k),
		 sizeof(struct tls12_crypto_info_aes_gcm_256));
	d = tlsrec_new(&st);
	CHECK(d && tlsrec_seal(d, 23, "a", 1, rec, sizeof(rec)) > 0);
	tlsrec_state_get(d, &st);
	CHECK(!memcmp(st.k.gcm256.rec_seq, "\0\0\0\0\0\0\x01\x03", 8));
	tlsrec_free(d);
}

/* A connected loopback pair in a network namespace of our own, the
 * server's end with the tls ULP on it; -errno where the kernel has none. */
static int ktls_pair(int *l, int *c, int *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct ifreq ifr = {.ifr_name = "lo"};
	socklen_t al = sizeof(a);
	int u;

	*l = *c = *s = -1;
	if (unshare(CLONE_NEWNET))
		return -errno;
	u = socket(AF_INET, SOCK_DGRAM, 0);
	ioctl(u, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(u, SIOCSIFFLAGS, &ifr);
	close(u);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*l = socket(AF_INET, SOCK_STREAM, 0);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(*l, (struct sockaddr *)&a, sizeof(a)) || listen(*l, 1) ||
	    getsockname(*l, (struct sockaddr *)&a, &al) ||
	    connect(*c, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	*s = accept(*l, NULL, NULL);
	if (*s < 0 || setsockopt(*s, SOL_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	return 0;
}

static int ktls_l = -1, ktls_c = -1, ktls_s = -1;

/* Where the kernel has kTLS, its TLS_TX takes our state as it is: what
 * it sends, our receiving direction opens. */
static void test_ktls(void)
{
	uint8_t secret[32] = {3}, rec[128], type, *plain;
	struct tlsrec_state st;
	struct tlsrec_dir *rx;
	ssize_t n;

	tlsrec_state_tls13(&st, TLS_CIPHER_AES_GCM_128, secret, 32, 5);
	rx = tlsrec_new(&st);
	CHECK(setsockopt(ktls_s, SOL_TLS, TLS_TX, &st.k,
			 tlsrec_kernel_size(&st.k)) == 0);
	CHECK(send(ktls_s, "hello", 5, 0) == 5);
	/* exactly one record: header, "hello", inner type, tag */
	n = recv(ktls_c, rec, 5 + 5 + 1 + 16, MSG_WAITALL);
	CHECK(n == 5 + 5 + 1 + 16);
	if (n > 0)
		CHECK(tlsrec_open(rx, rec, n, &type, &plain) == 5 &&
		      !memcmp(plain, "hello", 5));
	tlsrec_free(rx);
}

static int ktls_err;

/* tlsconn_ktls_probe (an unconnected socket) says what a connected one
 * found: the daemons' log line is right. */
static void test_ktls_probe(void)
{
	CHECK_EQ(tlsconn_ktls_probe(), ktls_err == 0 ? 1 : 0);
}

static void run_ktls(void)
{
	static const char name[] = "kTLS takes the state as it is";
	int err = ktls_pair(&ktls_l, &ktls_c, &ktls_s);
	char why[80];

	ktls_err = err;
	if (!err || err == -ENOENT)
		t_run("the kTLS probe agrees with a connected socket",
		      test_ktls_probe);
	if (!err) {
		t_run(name, test_ktls);
	} else {
		snprintf(why, sizeof(why),
			 "this kernel has no kTLS (TCP_ULP \"tls\": %s)",
			 strerror(-err));
		t_skip(name, why);
	}
	for (int *fd = &ktls_l; fd; fd = fd == &ktls_l	 ? &ktls_c
					 : fd == &ktls_c ? &ktls_s
							 : NULL)
		if (*fd >= 0)
			close(*fd);
}

int main(void)
{
	t_run("TLS 1.3 and 1.2, three suites: records both ways, state moved",
	      test_roundtrip);
	t_run("TLS 1.3 tickets count in the server's sequence",
	      test_tickets_counted);
	t_run("TLS 1.3 KeyUpdate, requested, both directions", test_key_update);
	t_run("malformed records: bad tag, too long, bad header, no type",
	      test_bad_records);
	t_run("state edges: sequence end, KeyUpdate reset, in place, "
	      "secret lengths",
	      test_state_edges);
	t_run("the state's wire form: round trip, one encoding per state",
	      test_wire_form);
	t_run("the state is the kernel's tls12_crypto_info layout",
	      test_kernel_layout);
	run_ktls();
	return t_done();
}
