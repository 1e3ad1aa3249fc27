/* libFuzzer target for src/lib/tlsrec.c.  The first byte picks TLS 1.3 or
 * 1.2 and the suite; on every input it checks:
 *   - tlsrec_frame: 0 only under a header's length, else an error or a
 *     length within the version's limit;
 *   - tlsrec_open of the input as a record: one of the documented errors
 *     (a forged record cannot verify), the sequence number unchanged;
 *   - the rest of the input sealed as one record (one of the three
 *     content types a protected record may have, from the second byte)
 *     opens back to the same type and bytes, also after both directions
 *     were moved (state out, state in: a hand-off) and, for TLS 1.3,
 *     after a KeyUpdate on both;
 *   - the input's first TLSREC_WIRE_LEN bytes as a state's wire form: if
 *     it decodes, it encodes back to the same bytes (one encoding per
 *     state) and the record layer takes it.
 * Build: make fuzz; run: build/fuzz/fuzz_tlsrec tests/fuzz/corpus/tlsrec */
#include "lib/tlsrec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static const int ciphers[] = {TLS_CIPHER_AES_GCM_128, TLS_CIPHER_AES_GCM_256,
			      TLS_CIPHER_CHACHA20_POLY1305};

static struct tlsrec_dir *dir_for(uint8_t pick)
{
	static const uint8_t secret[48] = {7}, key[32] = {8}, iv[12] = {9};
	int c = ciphers[(pick >> 1) % 3];
	struct tlsrec_state st;

	if (pick & 1)
		tlsrec_state_tls12(&st, c, key, iv, pick);
	else
		tlsrec_state_tls13(&st, c, secret,
				   c == TLS_CIPHER_AES_GCM_256 ? 48 : 32, pick);
	return tlsrec_new(&st);
}

static void forged(struct tlsrec_dir *d, bool tls13, const uint8_t *data,
		   size_t size)
{
	static uint8_t rec[TLSREC_CIPHER_MAX12 + TLSREC_HEADER];
	size_t max = tls13 ? TLSREC_CIPHER_MAX13 : TLSREC_CIPHER_MAX12;
	ssize_t f = tlsrec_frame(d, data, size), r;
	uint64_t seq = tlsrec_seq(d);
	uint8_t type, *plain;

	if (size < TLSREC_HEADER)
		check(f == 0);
	else
		check(f == -EPROTO || f == -EMSGSIZE ||
		      (f >= TLSREC_HEADER &&
		       (size_t)f <= TLSREC_HEADER + max));
	if (size > sizeof(rec))
		return;
	memcpy(rec, data, size);
	r = tlsrec_open(d, rec, size, &type, &plain);
	check(r == -EBADMSG || r == -EMSGSIZE || r == -EPROTO || r == -EINVAL ||
	      r == -EOVERFLOW);
	check(tlsrec_seq(d) == seq);
}

static void round_trip(struct tlsrec_dir *tx, struct tlsrec_dir *rx,
		       uint8_t type, const uint8_t *p, size_t n)
{
	static uint8_t rec[TLSREC_RECORD_MAX];
	uint8_t got_type, *plain;
	ssize_t len, r;

	if (n > TLSREC_PLAIN_MAX)
		n = TLSREC_PLAIN_MAX;
	len = tlsrec_seal(tx, type, p, n, rec, sizeof(rec));
	check(len > 0 && tlsrec_frame(rx, rec, len) == len);
	r = tlsrec_open(rx, rec, len, &got_type, &plain);
	check(r == (ssize_t)n && got_type == type && !memcmp(plain, p, n));
}

/* A direction's state out and into a fresh one, as a hand-off does. */
static struct tlsrec_dir *moved(struct tlsrec_dir *d)
{
	struct tlsrec_state st;
	struct tlsrec_dir *n;

	tlsrec_state_get(d, &st);
	tlsrec_free(d);
	n = tlsrec_new(&st);
	check(n != NULL);
	return n;
}

static void wire_form(const uint8_t *data, size_t size)
{
	uint8_t back[TLSREC_WIRE_LEN];
	struct tlsrec_state st;
	struct tlsrec_dir *d;

	if (size < TLSREC_WIRE_LEN || tlsrec_state_decode(&st, data))
		return;
	tlsrec_state_encode(&st, back);
	check(!memcmp(back, data, TLSREC_WIRE_LEN));
	d = tlsrec_new(&st);
	check(d != NULL);
	tlsrec_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsrec_dir *a, *b, *c;
	bool tls13;
	uint8_t type;

	wire_form(data, size);
	if (size < 2)
		return 0;
	tls13 = !(data[0] & 1);
	type = TLSREC_ALERT + data[1] % 3;
	a = dir_for(data[0]);
	b = dir_for(data[0]);
	c = dir_for(data[0]);
	check(a && b && c);
	forged(c, tls13, data + 2, size - 2);
	round_trip(a, b, type, data + 2, size - 2);
	if (data[1] & 0x80) {
		a = moved(a);
		b = moved(b);
		if (tls13)
			check(!tlsrec_key_update(a) && !tlsrec_key_update(b));
		round_trip(a, b, type, data + 2, size - 2);
	}
	tlsrec_free(a);
	tlsrec_free(b);
	tlsrec_free(c);
	return 0;
}
