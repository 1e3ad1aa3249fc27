#include "switch/fast.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

_Static_assert(sizeof(struct prism_fast_msg) == FAST_MSG_LEN,
	       "fast message layout");

void fast_key_derive(const struct auth_key *key, struct prism_sip_key *out)
{
	uint8_t mac[AUTH_MAC_LEN];
	uint64_t k[2];

	auth_sign(key, PRISM_FAST_KEY_LABEL, strlen(PRISM_FAST_KEY_LABEL),
		  mac);
	memcpy(k, mac, sizeof(k));
	out->k0 = le64toh(k[0]);
	out->k1 = le64toh(k[1]);
	OPENSSL_cleanse(mac, sizeof(mac));
}

uint64_t fast_tag(const struct prism_sip_key *key, const uint8_t *buf)
{
	__u64 m[5];

	memcpy(m, buf, sizeof(m));
	for (int i = 0; i < 5; i++)
		m[i] = le64toh(m[i]);
	return prism_siphash_40(key, m);
}

void fast_encode_op(const struct switch_op *op, uint32_t peer_id,
		    uint64_t seq, const struct prism_sip_key *key,
		    uint8_t buf[FAST_MSG_LEN])
{
	struct prism_fast_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = htobe32(PRISM_FAST_MAGIC);
	m.version = PRISM_FAST_VERSION;
	m.type = PRISM_FAST_REQUEST;
	m.op = op->op;
	m.tail_seq = htobe32(op->tail_seq);
	m.peer_id = htobe32(peer_id);
	m.seq = htobe64(seq);
	m.backend_ip = op->backend_ip;
	m.key = op->key;
	memcpy(buf, &m, sizeof(m));
	m.tag = htole64(fast_tag(key, buf));
	memcpy(buf, &m, sizeof(m));
}

int fast_decode_response(const uint8_t *buf, size_t len,
			 const struct prism_sip_key *key, uint32_t peer_id,
			 uint64_t *seq, int *status)
{
	struct prism_fast_msg m;

	if (len != FAST_MSG_LEN)
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (be32toh(m.magic) != PRISM_FAST_MAGIC ||
	    m.version != PRISM_FAST_VERSION || m.type != PRISM_FAST_RESPONSE ||
	    m.op < PRISM_OP_LOCK || m.op > PRISM_OP_WIRE_MAX ||
	    be32toh(m.peer_id) != peer_id)
		return -EBADMSG;
	/* Not constant time: the tag is not secret once sent, and a forger
	 * learns nothing from timing it could not learn by trying. */
	if (le64toh(m.tag) != fast_tag(key, buf))
		return -EBADMSG;
	*seq = be64toh(m.seq);
	*status = -(int)m.status;
	return 0;
}
