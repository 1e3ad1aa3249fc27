/* The hand-off message codec: round trips, framing, and every way a
 * message can be malformed. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/handoff.h"
#include "lib/tlsrec.h"
#include "t.h"

static struct auth_key key, other_key;

static void sample(struct ho_msg *m, uint8_t type)
{
	static const uint8_t pending[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t inq[] = "next";
	static const uint8_t outq[] = "tail-bytes";

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->seq = 0x0102030405060708ull;
	m->conn_id = 77;
	m->tcp.local_ip = inet_addr("198.19.0.1");
	m->tcp.remote_ip = inet_addr("198.18.1.2");
	m->tcp.local_port = htons(80);
	m->tcp.remote_port = htons(40000);
	m->tcp.snd_seq = 0xfffffff0u;
	m->tcp.rcv_seq = 12345;
	m->tcp.mss = 1448;
	m->tcp.snd_wscale = 7;
	m->tcp.rcv_wscale = 9;
	m->tcp.ts_val = 99;
	m->tcp.snd_wnd = 65535;
	m->tcp.unsent_len = 4;
	m->tcp.flags = TCPR_F_TS | TCPR_F_SACK | TCPR_F_WSCALE;
	m->pending = pending;
	m->pending_len = sizeof(pending) - 1;
	m->inq = inq;
	m->inq_len = sizeof(inq) - 1;
	m->outq = outq;
	m->outq_len = sizeof(outq) - 1;
	m->tcp.inq_len = m->inq_len;
	m->tcp.outq_len = m->outq_len;
}

static void test_roundtrip(void)
{
	struct ho_msg m, d;
	uint8_t buf[512];
	long n;

	sample(&m, HO_HANDOFF);
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(n, (long)ho_encoded_len(&m));
	CHECK_EQ(n, HO_HEADER_LEN + HO_TCP_LEN + AUTH_MAC_LEN + m.pending_len +
			    m.inq_len + m.outq_len);
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.type, HO_HANDOFF);
	CHECK(d.seq == m.seq);
	CHECK_EQ(d.conn_id, 77);
	CHECK(!memcmp(&d.tcp, &m.tcp, sizeof(d.tcp)));
	CHECK_EQ(d.pending_len, m.pending_len);
	CHECK(!memcmp(d.pending, m.pending, m.pending_len));
	CHECK(!memcmp(d.inq, "next", 4));
	CHECK(!memcmp(d.outq, "tail-bytes", 10));
}

static void test_ack_roundtrip(void)
{
	struct ho_msg m = { .type = HO_HANDOFF_ACK, .status = HO_ERR_SWITCH,
			    .seq = 5, .conn_id = 9 },
		      d;
	uint8_t buf[128];
	long n = ho_encode(&m, &key, buf, sizeof(buf));

	CHECK_EQ(n, HO_HEADER_LEN + AUTH_MAC_LEN);
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.status, HO_ERR_SWITCH);
	CHECK_EQ(d.conn_id, 9);
}

static void test_every_prefix_needs_more(void)
{
	struct ho_msg m, d;
	uint8_t buf[512];
	long n;

	sample(&m, HO_HANDBACK);
	n = ho_encode(&m, &key, buf, sizeof(buf));
	for (long i = 0; i < n; i++)
		CHECK_EQ(ho_decode(buf, (size_t)i, &key, &d), 0);
}

static void test_two_in_a_stream(void)
{
	struct ho_msg m, d;
	uint8_t buf[1024];
	long a, b;

	sample(&m, HO_HANDOFF);
	a = ho_encode(&m, &key, buf, sizeof(buf));
	m.type = HO_HANDBACK_ACK;
	b = ho_encode(&m, &key, buf + a, sizeof(buf) - (size_t)a);
	CHECK_EQ(ho_decode(buf, (size_t)(a + b), &key, &d), a);
	CHECK_EQ(ho_decode(buf + a, (size_t)b, &key, &d), b);
	CHECK_EQ(d.type, HO_HANDBACK_ACK);
}

static void test_any_flipped_bit_rejected(void)
{
	struct ho_msg m, d;
	uint8_t buf[512];
	long n, r;
	int accepted = 0;

	sample(&m, HO_HANDOFF);
	n = ho_encode(&m, &key, buf, sizeof(buf));
	for (long i = 0; i < n * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = ho_decode(buf, (size_t)n, &key, &d);
		/* A flip in the length field may make it "need more". */
		if (r > 0)
			accepted++;
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_EQ(accepted, 0);
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
}

static void test_wrong_key(void)
{
	struct ho_msg m, d;
	uint8_t buf[512];
	long n;

	sample(&m, HO_HANDOFF);
	n = ho_encode(&m, &other_key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_MAC);
}

/* Re-signs a tampered message so that field validation, not the MAC, is
 * what rejects it. */
static long resign_decode(uint8_t *buf, long n, struct ho_msg *d)
{
	auth_sign(&key, buf, (size_t)n - AUTH_MAC_LEN,
		  buf + n - AUTH_MAC_LEN);
	return ho_decode(buf, (size_t)n, &key, d);
}

static void test_fields_validated(void)
{
	struct ho_msg m, d;
	uint8_t buf[512];
	long n;

	sample(&m, HO_HANDOFF);
	n = ho_encode(&m, &key, buf, sizeof(buf));
	buf[0] ^= 1;
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_MAGIC);
	buf[0] ^= 1;
	buf[4] = HO_VERSION - 1; /* a peer of the previous protocol */
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_VERSION);
	buf[4] = HO_VERSION;
	buf[5] = HO_RESPONSE + 1;
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_TYPE);
	buf[5] = HO_HANDOFF;
	/* The state's own inq length disagreeing with the header's. */
	m.tcp.inq_len++;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m.tcp.inq_len--;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	/* inq length claiming one byte more than there is. */
	buf[HO_HEADER_LEN - 5] += 1;
	CHECK_EQ(resign_decode(buf, n, &d), -HO_E_LENGTH);
	buf[HO_HEADER_LEN - 5] -= 1;
	CHECK_EQ(resign_decode(buf, n, &d), n);
}

static void test_oversize(void)
{
	uint8_t hdr[64] = { 0x50, 0x52, 0x48, 0x4f, HO_VERSION, HO_HANDOFF,
			    0, 0, 0xff, 0xff, 0xff, 0xff };
	struct ho_msg d;

	CHECK_EQ(ho_decode(hdr, sizeof(hdr), &key, &d), -HO_E_LENGTH);
}

/* The response status rides in the header's 16 spare bits of HANDBACK;
 * any other type must keep them zero. */
static void test_http_status(void)
{
	struct ho_msg m, d;
	uint8_t buf[512];
	long n;

	sample(&m, HO_HANDBACK);
	m.http_status = 404;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.http_status, 404);
	sample(&m, HO_HANDOFF);
	m.http_status = 200; /* ignored: not a HANDBACK */
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.http_status, 0);
	buf[31] = 0x01; /* status bits (offset 30..31) set in a HANDOFF */
	CHECK_EQ(resign_decode(buf, n, &d), -HO_E_FIELD);
}

/* HANDOFF_DATA: pending bytes only, HO_F_MORE on all but the last; no
 * empty one, no queues, and HO_F_MORE on no other type but HANDOFF. */
static void test_handoff_data(void)
{
	static const uint8_t body[] = "0123456789 body bytes";
	struct ho_msg m = { .type = HO_HANDOFF_DATA, .seq = 3, .conn_id = 5,
			    .flags = HO_F_MORE, .pending = body,
			    .pending_len = sizeof(body) - 1 },
		      d;
	uint8_t buf[512];
	long n = ho_encode(&m, &key, buf, sizeof(buf));

	CHECK_EQ(n, HO_HEADER_LEN + AUTH_MAC_LEN + (long)sizeof(body) - 1);
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.type, HO_HANDOFF_DATA);
	CHECK_EQ(d.flags, HO_F_MORE);
	CHECK_EQ(d.pending_len, sizeof(body) - 1);
	CHECK(!memcmp(d.pending, body, sizeof(body) - 1));
	CHECK_EQ(strcmp(ho_type_name(HO_HANDOFF_DATA), "HANDOFF_DATA"), 0);
	/* an inq length in the header: rejected */
	buf[HO_HEADER_LEN - 5] = 1;
	CHECK_EQ(resign_decode(buf, n, &d), -HO_E_LENGTH);
	buf[HO_HEADER_LEN - 5] = 0;
	CHECK_EQ(resign_decode(buf, n, &d), n);
	/* empty */
	m.pending_len = 0;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	/* HO_F_MORE: HANDOFF yes, HANDOFF_ACK no */
	sample(&m, HO_HANDOFF);
	m.flags = HO_F_CLAIM | HO_F_MORE;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.flags, HO_F_CLAIM | HO_F_MORE);
	m = (struct ho_msg){ .type = HO_HANDOFF_ACK, .flags = HO_F_MORE };
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
}

/* REQUEST: a request head and a relay limit (KiB, in the status slot);
 * RESPONSE: the response bytes with its status and HO_F_CLOSE, or
 * HO_DECLINED without bytes.  Anything else between them is rejected. */
static void test_relay(void)
{
	static const uint8_t head[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct ho_msg m = { .type = HO_REQUEST, .seq = 4, .conn_id = 9,
			    .relay_kb = 8, .pending = head,
			    .pending_len = sizeof(head) - 1 },
		      d;
	uint8_t buf[512];
	long n = ho_encode(&m, &key, buf, sizeof(buf));

	CHECK_EQ(n, HO_HEADER_LEN + AUTH_MAC_LEN + (long)sizeof(head) - 1);
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.type, HO_REQUEST);
	CHECK_EQ(d.relay_kb, 8);
	CHECK_EQ(d.http_status, 0);
	CHECK_EQ(d.pending_len, sizeof(head) - 1);
	CHECK(!memcmp(d.pending, head, sizeof(head) - 1));
	CHECK_EQ(strcmp(ho_type_name(HO_REQUEST), "REQUEST"), 0);
	/* no limit, or no head: rejected */
	m.relay_kb = 0;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m.relay_kb = 8;
	m.pending_len = 0;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	/* answered in-line */
	m = (struct ho_msg){ .type = HO_RESPONSE, .conn_id = 9,
			     .http_status = 200, .flags = HO_F_CLOSE,
			     .pending = resp, .pending_len = sizeof(resp) - 1 };
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.type, HO_RESPONSE);
	CHECK_EQ(d.status, HO_OK);
	CHECK_EQ(d.http_status, 200);
	CHECK_EQ(d.flags, HO_F_CLOSE);
	CHECK(!memcmp(d.pending, resp, sizeof(resp) - 1));
	/* HO_F_MORE has no place in it */
	m.flags = HO_F_MORE;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	/* an OK without bytes, a decline with bytes, an unknown status */
	m.flags = 0;
	m.pending_len = 0;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m.status = HO_DECLINED;
	m.http_status = 0;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), n);
	CHECK_EQ(d.status, HO_DECLINED);
	m.pending_len = sizeof(resp) - 1;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m.status = HO_ERR_BAD;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	/* flags where none belong: a REQUEST's, a claim on a RESPONSE, a
	 * declined one that closes or reports a status */
	m = (struct ho_msg){ .type = HO_REQUEST, .relay_kb = 8,
			     .flags = HO_F_CLOSE, .pending = head,
			     .pending_len = sizeof(head) - 1 };
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m = (struct ho_msg){ .type = HO_RESPONSE, .flags = HO_F_CLAIM,
			     .pending = resp, .pending_len = sizeof(resp) - 1 };
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m = (struct ho_msg){ .type = HO_RESPONSE, .status = HO_DECLINED,
			     .flags = HO_F_CLOSE };
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m.flags = 0;
	m.http_status = 200;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK_EQ(ho_decode(buf, (size_t)n, &key, &d), -HO_E_FIELD);
	m = (struct ho_msg){ .type = HO_RESPONSE, .pending = resp,
			     .pending_len = sizeof(resp) - 1 };
	/* a type past RESPONSE */
	m.status = HO_OK;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	buf[5] = HO_RESPONSE + 1;
	CHECK_EQ(resign_decode(buf, n, &d), -HO_E_TYPE);
}

/* --- sealed messages (the channel after HELLO) --- */

/* Both directions of one channel, as its two ends key them. */
struct dir {
	struct ho_aead seal, open;
};

static void keyed(struct dir *d, const struct auth_key *k, uint64_t from,
		  uint64_t to)
{
	CHECK_EQ(ho_aead_init(&d->seal, k, from, to, true), 0);
	CHECK_EQ(ho_aead_init(&d->open, k, from, to, false), 0);
}

static void unkeyed(struct dir *d)
{
	ho_aead_clear(&d->seal);
	ho_aead_clear(&d->open);
}

static bool contains(const uint8_t *hay, size_t n, const void *needle,
		     size_t len)
{
	return memmem(hay, n, needle, len) != NULL;
}

static void test_sealed_roundtrip(void)
{
	static const uint8_t types[] = { HO_HANDOFF, HO_HANDBACK,
					 HO_HANDOFF_ACK, HO_CLOSED };
	struct ho_msg m, d;
	struct dir k;
	uint8_t buf[512];
	long n;

	keyed(&k, &key, 11, 22);
	for (size_t i = 0; i < sizeof(types); i++) {
		sample(&m, types[i]);
		m.seq = 100 + i;
		n = ho_seal(&m, &k.seal, buf, sizeof(buf));
		CHECK_EQ(n, (long)ho_sealed_len(&m));
		if (types[i] == HO_HANDOFF) {
			/* the request and the queues are not readable */
			CHECK(!contains(buf, (size_t)n, "GET / HTTP", 10));
			CHECK(!contains(buf, (size_t)n, "tail-bytes", 10));
		}
		CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), n);
		CHECK_EQ(d.type, types[i]);
		CHECK(d.seq == m.seq);
		CHECK_EQ(d.conn_id, 77);
		if (types[i] == HO_HANDOFF || types[i] == HO_HANDBACK) {
			CHECK(!memcmp(&d.tcp, &m.tcp, sizeof(d.tcp)));
			CHECK(!memcmp(d.pending, m.pending, m.pending_len));
			CHECK(!memcmp(d.outq, m.outq, m.outq_len));
		}
	}
	unkeyed(&k);
}

static void test_sealed_flipped_bit_rejected(void)
{
	struct ho_msg m, d;
	struct dir k;
	uint8_t buf[512], copy[512];
	long n, r;
	int accepted = 0;

	keyed(&k, &key, 11, 22);
	sample(&m, HO_HANDBACK);
	n = ho_seal(&m, &k.seal, buf, sizeof(buf));
	CHECK(n > 0);
	for (long i = 0; i < n * 8; i++) {
		memcpy(copy, buf, (size_t)n);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = ho_open(copy, (size_t)n, &k.open, &d);
		if (r > 0)
			accepted++;
	}
	CHECK_EQ(accepted, 0);
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), n);
	unkeyed(&k);
}

/* Another channel's nonces, the other direction, another shared key, or
 * a signed (HELLO-style) message where a sealed one belongs: none opens. */
static void test_sealed_other_keys_rejected(void)
{
	struct dir ab, ba, other, stranger;
	struct ho_msg m, d;
	uint8_t buf[512], copy[512];
	long n;

	keyed(&ab, &key, 11, 22);
	keyed(&ba, &key, 22, 11);
	keyed(&other, &key, 11, 23);
	keyed(&stranger, &other_key, 11, 22);
	sample(&m, HO_HANDOFF);
	n = ho_seal(&m, &ab.seal, buf, sizeof(buf));
	memcpy(copy, buf, (size_t)n);
	CHECK_EQ(ho_open(copy, (size_t)n, &ba.open, &d), -HO_E_MAC);
	memcpy(copy, buf, (size_t)n);
	CHECK_EQ(ho_open(copy, (size_t)n, &other.open, &d), -HO_E_MAC);
	memcpy(copy, buf, (size_t)n);
	CHECK_EQ(ho_open(copy, (size_t)n, &stranger.open, &d), -HO_E_MAC);
	/* a sealing context does not open, nor an opening one seal */
	memcpy(copy, buf, (size_t)n);
	CHECK_EQ(ho_open(copy, (size_t)n, &ab.seal, &d), -HO_E_MAC);
	CHECK_EQ(ho_seal(&m, &ab.open, copy, sizeof(copy)), -EINVAL);
	n = ho_encode(&m, &key, buf, sizeof(buf));
	CHECK(ho_open(buf, (size_t)n, &ab.open, &d) < 0);
	unkeyed(&ab);
	unkeyed(&ba);
	unkeyed(&other);
	unkeyed(&stranger);
}

/* A GCM nonce is the sequence number: sealing the same or a lower one
 * again is refused, so a key never encrypts twice under one nonce. */
static void test_sealed_seq_must_grow(void)
{
	struct ho_msg m, d;
	struct dir k;
	uint8_t buf[512];
	long n;

	keyed(&k, &key, 1, 2);
	sample(&m, HO_HANDOFF_ACK);
	m.seq = 5;
	CHECK(ho_seal(&m, &k.seal, buf, sizeof(buf)) > 0);
	CHECK_EQ(ho_seal(&m, &k.seal, buf, sizeof(buf)), -EINVAL);
	m.seq = 4;
	CHECK_EQ(ho_seal(&m, &k.seal, buf, sizeof(buf)), -EINVAL);
	m.seq = 6;
	n = ho_seal(&m, &k.seal, buf, sizeof(buf));
	CHECK(n > 0);
	/* every prefix of a sealed message needs more */
	for (long i = 0; i < n; i++)
		CHECK_EQ(ho_open(buf, (size_t)i, &k.open, &d), 0);
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), n);
	unkeyed(&k);
}

/* --- HO_F_TLS: a TLS session with the connection --- */

static void tls_sample(struct ho_msg *m, uint8_t type, bool tls13)
{
	static const uint8_t secret[32] = "0123456789abcdef0123456789abcde";
	static const uint8_t key16[16] = "KEYKEYKEYKEYKEY", iv[4] = {1, 2, 3};
	static const uint8_t in[] = "\x17\x03\x03\x00\x20partial-record";

	sample(m, type);
	m->flags = type == HO_HANDOFF ? HO_F_CLAIM | HO_F_TLS : HO_F_TLS;
	if (tls13) {
		tlsrec_state_tls13(&m->tls_tx, TLS_CIPHER_AES_GCM_128, secret,
				   32, 2);
		tlsrec_state_tls13(&m->tls_rx, TLS_CIPHER_AES_GCM_128, secret,
				   32, 0);
	} else {
		tlsrec_state_tls12(&m->tls_tx, TLS_CIPHER_AES_GCM_128, key16, iv,
				   1);
		tlsrec_state_tls12(&m->tls_rx, TLS_CIPHER_AES_GCM_128, key16, iv,
				   1);
	}
	m->tls_in = in;
	m->tls_in_len = sizeof(in) - 1;
}

static void test_tls_section(void)
{
	static const uint8_t types[] = { HO_HANDOFF, HO_HANDBACK };
	struct ho_msg m, d;
	struct dir k;
	uint8_t buf[1024];
	long n;

	keyed(&k, &key, 3, 4);
	for (int v = 0; v < 2; v++) {
		for (size_t i = 0; i < sizeof(types); i++) {
			tls_sample(&m, types[i], v);
			m.seq = 10 + 2 * v + i;
			n = ho_seal(&m, &k.seal, buf, sizeof(buf));
			CHECK_EQ(n, (long)ho_sealed_len(&m));
			CHECK_EQ(n, HO_HEADER_LEN + HO_TCP_LEN + HO_TLS_LEN +
					    m.tls_in_len + m.pending_len +
					    m.inq_len + m.outq_len + HO_TAG_LEN);
			CHECK(!contains(buf, (size_t)n, "0123456789abcdef", 16));
			CHECK(!contains(buf, (size_t)n, "KEYKEYKEY", 9));
			CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), n);
			CHECK(d.flags & HO_F_TLS);
			CHECK(!memcmp(&d.tls_tx, &m.tls_tx, sizeof(d.tls_tx)));
			CHECK(!memcmp(&d.tls_rx, &m.tls_rx, sizeof(d.tls_rx)));
			CHECK_EQ(d.tls_in_len, m.tls_in_len);
			CHECK(!memcmp(d.tls_in, m.tls_in, m.tls_in_len));
			CHECK(!memcmp(d.pending, m.pending, m.pending_len));
			CHECK(!memcmp(d.outq, m.outq, m.outq_len));
		}
	}
	unkeyed(&k);
}

/* Keys never go in a signed message, or with a type that has no TCP
 * state; a state tlsrec refuses, or two directions that disagree, are
 * rejected when the message is opened. */
static void test_tls_refused(void)
{
	struct ho_msg m, d;
	struct dir k;
	uint8_t buf[1024], *tls;
	long n;

	keyed(&k, &key, 3, 4);
	tls_sample(&m, HO_HANDOFF, true);
	CHECK_EQ(ho_encode(&m, &key, buf, sizeof(buf)), -EINVAL);
	/* a signed HANDOFF whose header says HO_F_TLS */
	m.flags = HO_F_CLAIM;
	n = ho_encode(&m, &key, buf, sizeof(buf));
	buf[29] |= HO_F_TLS; /* flags: bytes 28-29 of the header */
	CHECK_EQ(resign_decode(buf, n, &d), -HO_E_FIELD);
	tls_sample(&m, HO_HANDOFF_ACK, true);
	m.seq = 1;
	CHECK_EQ(ho_seal(&m, &k.seal, buf, sizeof(buf)), -EINVAL);
	tls_sample(&m, HO_HANDOFF, true);
	m.tls_in_len = HO_TLS_IN_MAX + 1;
	CHECK_EQ(ho_seal(&m, &k.seal, buf, sizeof(buf)), -EINVAL);
	/* a version the record layer does not have */
	tls_sample(&m, HO_HANDOFF, true);
	m.tls_rx.k.info.version = 0x0301;
	m.seq = 3;
	n = ho_seal(&m, &k.seal, buf, sizeof(buf));
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), -HO_E_FIELD);
	/* directions of two versions */
	tls_sample(&m, HO_HANDBACK, true);
	tls_sample(&d, HO_HANDBACK, false);
	m.tls_rx = d.tls_rx;
	m.seq = 4;
	n = ho_seal(&m, &k.seal, buf, sizeof(buf));
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), -HO_E_FIELD);
	/* ciphertext lengths that do not fit, sealed as they are: opened in
	 * place (the plaintext), altered, sealed raw under a new number */
	tls_sample(&m, HO_HANDOFF, true);
	m.seq = 5;
	n = ho_seal(&m, &k.seal, buf, sizeof(buf));
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), n);
	tls = buf + HO_HEADER_LEN + HO_TCP_LEN + 2 * TLSREC_WIRE_LEN;
	tls[0] = 0x7f; /* over HO_TLS_IN_MAX */
	buf[19] = 6;   /* the sequence number's low byte */
	CHECK_EQ(ho_seal_raw(buf, (size_t)n, &k.seal), n);
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), -HO_E_FIELD);
	tls[0] = 0;
	tls[3] += 1; /* one byte more than the message holds */
	buf[19] = 7;
	CHECK_EQ(ho_seal_raw(buf, (size_t)n, &k.seal), n);
	CHECK_EQ(ho_open(buf, (size_t)n, &k.open, &d), -HO_E_LENGTH);
	unkeyed(&k);
}

int main(void)
{
	auth_key_set(&key, "0123456789abcdef-key", 20);
	auth_key_set(&other_key, "another-key-0123456789", 22);
	t_run("handoff: round trip with queues", test_roundtrip);
	t_run("handoff: ack round trip", test_ack_roundtrip);
	t_run("handoff: every prefix needs more", test_every_prefix_needs_more);
	t_run("handoff: two messages in a stream", test_two_in_a_stream);
	t_run("handoff: any flipped bit rejected", test_any_flipped_bit_rejected);
	t_run("handoff: wrong key rejected", test_wrong_key);
	t_run("handoff: fields validated", test_fields_validated);
	t_run("handoff: oversize length rejected", test_oversize);
	t_run("handoff: http status travels in HANDBACK only", test_http_status);
	t_run("handoff: HANDOFF_DATA and HO_F_MORE", test_handoff_data);
	t_run("handoff: REQUEST and RESPONSE (relayed delivery)", test_relay);
	t_run("handoff: sealed round trip, request and queues unreadable",
	      test_sealed_roundtrip);
	t_run("handoff: sealed, any flipped bit rejected",
	      test_sealed_flipped_bit_rejected);
	t_run("handoff: sealed, another channel, direction or key rejected",
	      test_sealed_other_keys_rejected);
	t_run("handoff: sealed, a sequence number is never sealed twice",
	      test_sealed_seq_must_grow);
	t_run("handoff: HO_F_TLS, the session travels sealed",
	      test_tls_section);
	t_run("handoff: HO_F_TLS never in clear; bad states rejected",
	      test_tls_refused);
	return t_done();
}
