/* The switch control protocol: versioned binary messages over UDP, signed
 * with HMAC-SHA256 (src/lib/auth.h).  This module is the pure codec and the
 * replay window; no sockets.  Wire format (integers big-endian, addresses
 * and ports as in struct prism_flow_key, i.e. network order):
 *
 *   header, CTL_HDR_LEN = 20 bytes
 *     0  u32 magic CTL_MAGIC ("PRSW")
 *     4  u8  version CTL_VERSION
 *     5  u8  type: CTL_REQUEST or CTL_RESPONSE
 *     6  u16 count: ops in a request, statuses in a response, 0..CTL_MAX_OPS
 *     8  u32 peer id (chosen by the client, stable per component)
 *    12  u64 seq (the response echoes the request's)
 *     0  u8  op (enum prism_op)     1  u8[3] zero
 *     4  be32 backend_ip (OWN only; zero for LOCK and DELETE)
 *     8  be32 client_ip   12 be32 vip   16 be16 client_port   18 be16 vip_port
 *   response body: count u32 statuses (0 or a Linux errno value), in the
 *     order of the request's ops
 *   trailer: HMAC-SHA256 of every byte before it (AUTH_MAC_LEN = 32)
 *
 * A message is valid only at exactly CTL_HDR_LEN + count * item + 32 bytes.
 * A request with count 0 is a ping. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/auth.h"
#include "prism_abi.h"
#include "prism_flow.h"
#include "prism_replay.h"

#define CTL_MAGIC 0x50525357u /* "PRSW" */
/* 2: ops carry tail_seq (LOCK_TAIL), op codes are enum prism_op. */
#define CTL_VERSION 2
#define CTL_HDR_LEN 20
#define CTL_OP_LEN 24
#define CTL_STATUS_LEN 4
#define CTL_MAX_OPS 64
#define CTL_REQ_MAX_LEN (CTL_HDR_LEN + CTL_MAX_OPS * CTL_OP_LEN + AUTH_MAC_LEN)
#define CTL_RESP_MAX_LEN                                                      \
	(CTL_HDR_LEN + CTL_MAX_OPS * CTL_STATUS_LEN + AUTH_MAC_LEN)
#define CTL_DEFAULT_PORT 7700
#define CTL_WINDOW PRISM_REPLAY_WINDOW /* in sequence numbers */

enum ctl_type { CTL_REQUEST = 1, CTL_RESPONSE = 2 };

/* The ops are enum prism_op (LOCK, LOCK_TAIL, DELETE, OWN, OWN_OPEN);
 * prism_flow.h defines what each does.  Every op is idempotent: repeating
 * it leaves the same state. */
struct switch_op {
	uint8_t op;        /* enum prism_op */
	__be32 backend_ip; /* LOCK: claimant or 0; OWN, OWN_OPEN: the owner */
	uint32_t tail_seq; /* LOCK_TAIL: the sender's snd_nxt, host order */
	struct prism_flow_key key;
};

struct ctl_msg {
	uint8_t type; /* enum ctl_type */
	uint16_t count;
	uint32_t peer_id;
	uint64_t seq;
	union {
		struct switch_op ops[CTL_MAX_OPS]; /* request */
		int status[CTL_MAX_OPS];           /* response: 0 or -errno */
	};
};

/* Why a datagram was rejected.  The agent counts each reason. */
enum ctl_error {
	CTL_OK = 0,
	CTL_ERR_TRUNCATED, /* shorter than its header and count say */
	CTL_ERR_MAGIC,
	CTL_ERR_VERSION,
	CTL_ERR_TYPE,   /* not the type the receiver expects */
	CTL_ERR_COUNT,  /* count above CTL_MAX_OPS */
	CTL_ERR_LENGTH, /* longer than its header and count say */
	CTL_ERR_AUTH,   /* HMAC does not verify */
	CTL_ERR_OP,     /* not prism_op_wire_valid, or non-zero padding */
	CTL_ERR_STATUS, /* response status out of the errno range */
	CTL_ERR_MAX,
};

const char *ctl_error_name(enum ctl_error e);
const char *switch_op_name(uint8_t op);

/* Bytes on the wire for a message of this type and count. */
size_t ctl_msg_len(uint8_t type, uint16_t count);

/* Encodes and signs M into BUF.  Returns 0 and the length in *LEN, or
 * -EINVAL (bad type, count, op or status), -ENOSPC (BUF too small). */
int ctl_encode(const struct ctl_msg *m, const struct auth_key *key,
	       uint8_t *buf, size_t size, size_t *len);

/* Verifies and decodes a datagram that must be of type WANT.  Checks in
 * this order: length for a header, magic, version, type, count, exact
 * length, HMAC, then the body.  Returns 0, or -EBADMSG with *WHY set. */
int ctl_decode(const uint8_t *buf, size_t len, const struct auth_key *key,
	       uint8_t want, struct ctl_msg *m, enum ctl_error *why);
