/* libFuzzer target: the hand-off message decoder must never crash, read
 * out of bounds or accept a message whose MAC does not verify.  The first
 * input byte is a mode: bit 0 re-signs the rest with the fuzz key so that
 * the field checks behind the MAC are reached too.  (The mode used to be
 * the message's own first byte, the magic's 'P', which is even: valid
 * messages were never re-signed and the fuzzer stopped at the MAC.) */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/handoff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth_key key;
	uint8_t mode = size ? data[0] : 0;
	bool signed_here = false;
	struct ho_msg m;
	uint8_t *buf;
	long n;

	if (!key.len)
		auth_key_set(&key, "fuzz-key-0123456789", 19);
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
	free(buf);
	return 0;
}
