/* The switch's fast control path (prism_abi.h): codec and key derivation
 * for the 48-byte requests (LOCK, LOCK_TAIL, OWN, OWN_OPEN, DELETE) the
 * data plane executes and answers by itself.  The client side lives in
 * switch/client.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/auth.h"
#include "prism_abi.h"
#include "prism_siphash.h"
#include "switch/ctl.h"

#define FAST_MSG_LEN 48

/* The SipHash key: the first 16 bytes of HMAC-SHA256(key, label). */
void fast_key_derive(const struct auth_key *key, struct prism_sip_key *out);

/* OP (prism_op_wire_valid: a LOCK naming its claimant or 0, a LOCK_TAIL
 * with the owner's tail_seq, OWN or OWN_OPEN for backend_ip, a DELETE) as
 * a signed request. */
void fast_encode_op(const struct switch_op *op, uint32_t peer_id,
		    uint64_t seq, const struct prism_sip_key *key,
		    uint8_t buf[FAST_MSG_LEN]);

/* Checks a response: length, magic, version, type, op, tag.
 * On 0, *SEQ and *STATUS (0 or -errno) are set.  -EBADMSG otherwise. */
int fast_decode_response(const uint8_t *buf, size_t len,
			 const struct prism_sip_key *key, uint32_t peer_id,
			 uint64_t *seq, int *status);

/* The tag of the first 40 bytes of BUF (used by both ends and tests). */
uint64_t fast_tag(const struct prism_sip_key *key, const uint8_t *buf);
