/* libFuzzer target: the hand-off message decoder must never crash, read
 * out of bounds or accept a message whose MAC does not verify.  Inputs are
 * re-signed half of the time so that the field checks behind the MAC are
 * reached too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/handoff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth_key key;
	struct ho_msg m;
	uint8_t *buf;
	long n;

	if (!key.len)
		auth_key_set(&key, "fuzz-key-0123456789", 19);
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size > AUTH_MAC_LEN && (data[0] & 1))
		auth_sign(&key, buf, size - AUTH_MAC_LEN,
			  buf + size - AUTH_MAC_LEN);
	n = ho_decode(buf, size, &key, &m);
	if (n > 0 && (size_t)n > size)
		abort();
	if (n > 0 && (m.type == HO_HANDOFF || m.type == HO_HANDBACK) &&
	    (size_t)(m.outq + m.outq_len - buf) > size)
		abort();
	free(buf);
	return 0;
}
