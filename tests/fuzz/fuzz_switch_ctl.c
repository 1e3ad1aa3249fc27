/* libFuzzer target: the switch control decoder must never crash, read out
 * of bounds or accept a datagram whose MAC does not verify; whatever it
 * accepts must encode back to the very same bytes (one encoding per
 * message, so a cached answer and a fresh one cannot differ).  The first
 * input byte is a mode: bit 0 re-signs the rest so that the checks behind
 * the MAC are reached too, bit 1 decodes it as a response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "switch/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth_key key;
	uint8_t *buf, out[CTL_REQ_MAX_LEN];
	uint8_t mode = size ? data[0] : 0;
	uint8_t want = mode & 2 ? CTL_RESPONSE : CTL_REQUEST;
	bool signed_here = false;
	enum ctl_error why;
	struct ctl_msg m;
	size_t len;

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
	if (ctl_decode(buf, size, &key, want, &m, &why) == 0) {
		if (!signed_here && !auth_verify(&key, buf, size - AUTH_MAC_LEN,
						 buf + size - AUTH_MAC_LEN))
			abort();
		if (ctl_encode(&m, &key, out, sizeof(out), &len) ||
		    len != size || memcmp(out, buf, size))
			abort();
	} else if (why == CTL_OK || why >= CTL_ERR_MAX) {
		abort();
	}
	free(buf);
	return 0;
}
