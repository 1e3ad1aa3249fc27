/* libFuzzer target: the hand-off message decoder must never crash, read
 * out of bounds or accept a message whose MAC does not verify.  The first
 * input byte is a mode: bit 0 re-signs the rest with the fuzz key so that
 * the field checks behind the MAC are reached too.  (The mode used to be
 * the message's own first byte, the magic's 'P', which is even: valid
 * messages were never re-signed and the fuzzer stopped at the MAC.)
 * Every input also goes to the sealed decoder as it is (it must never
 * open: the fuzzer cannot forge a GCM tag), and a message the signed
 * decoder accepted is sealed and opened again: the same fields must come
 * out.  Mode bit 1 seals the input as it is (ho_seal_raw): the sealed
 * decoder's field checks, the TLS section's (HO_F_TLS, only ever
 * sealed) among them, are reached that way. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/handoff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_fields(const struct ho_msg *a, const struct ho_msg *b)
{
	if (a->type != b->type || a->status != b->status ||
	    a->flags != b->flags || a->conn_id != b->conn_id ||
	    a->http_status != b->http_status || a->relay_kb != b->relay_kb ||
	    a->pending_len != b->pending_len || a->inq_len != b->inq_len ||
	    a->outq_len != b->outq_len)
		abort();
	if (a->pending_len && memcmp(a->pending, b->pending, a->pending_len))
		abort();
	if ((a->type == HO_HANDOFF || a->type == HO_HANDBACK) &&
	    (memcmp(&a->tcp, &b->tcp, sizeof(a->tcp)) ||
	     (a->inq_len && memcmp(a->inq, b->inq, a->inq_len)) ||
	     (a->outq_len && memcmp(a->outq, b->outq, a->outq_len))))
		abort();
}

/* Seals an accepted message and opens it again. */
static void reseal(const struct ho_msg *m, struct ho_aead *tx,
		   struct ho_aead *rx)
{
	static uint64_t seq;
	struct ho_msg s = *m, d;
	size_t len = ho_sealed_len(m);
	uint8_t *buf = malloc(len);
	long n;

	if (!buf)
		return;
	s.seq = ++seq;
	n = ho_seal(&s, tx, buf, len);
	if (n != (long)len || ho_open(buf, len, rx, &d) != n)
		abort();
	same_fields(&s, &d);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ho_aead tx, rx;
	static struct auth_key key;
	uint8_t mode = size ? data[0] : 0;
	bool signed_here = false;
	struct ho_msg m;
	uint8_t *buf;
	long n;

	if (!key.len) {
		auth_key_set(&key, "fuzz-key-0123456789", 19);
		if (ho_aead_init(&tx, &key, 1, 2, true) ||
		    ho_aead_init(&rx, &key, 1, 2, false))
			abort();
	}
	if (size) {
		data++;
		size--;
	}
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size > AUTH_MAC_LEN && (mode & 1)) {
		auth_sign(&key, buf, size - AUTH_MAC_LEN,
			  buf + size - AUTH_MAC_LEN);
		signed_here = true;
	}
	n = ho_decode(buf, size, &key, &m);
	if (n > 0 && (size_t)n > size)
		abort();
	/* Accepted without our signature: the MAC must verify as it is. */
	if (n > 0 && !signed_here &&
	    !auth_verify(&key, buf, (size_t)n - AUTH_MAC_LEN,
			 buf + n - AUTH_MAC_LEN))
		abort();
	if (n > 0 && (m.type == HO_HANDOFF || m.type == HO_HANDBACK) &&
	    (size_t)(m.outq + m.outq_len - buf) > size)
		abort();
	if (n > 0)
		reseal(&m, &tx, &rx);
	memcpy(buf, data, size);
	if (ho_open(buf, size, &rx, &m) > 0)
		abort();
	if ((mode & 2) && size >= HO_HEADER_LEN + HO_TAG_LEN) {
		memcpy(buf, data, size);
		if (ho_seal_raw(buf, size, &tx) != (long)size)
			abort();
		n = ho_open(buf, size, &rx, &m);
		if (n > 0 && (size_t)n > size)
			abort();
		if (n > 0 && (m.flags & HO_F_TLS) &&
		    (size_t)(m.tls_in + m.tls_in_len - buf) > size)
			abort();
		if (n > 0 && (m.type == HO_HANDOFF || m.type == HO_HANDBACK) &&
		    (size_t)(m.outq + m.outq_len - buf) > size)
			abort();
	}
	free(buf);
	return 0;
}
