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
 *   request body: count ops of CTL_OP_LEN = 20 bytes
 *     0  u8  op (enum switch_opcode)     1  u8[3] zero
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

#define CTL_MAGIC 0x50525357u /* "PRSW" */
#define CTL_VERSION 1
#define CTL_HDR_LEN 20
#define CTL_OP_LEN 20
#define CTL_STATUS_LEN 4
#define CTL_MAX_OPS 64
#define CTL_REQ_MAX_LEN (CTL_HDR_LEN + CTL_MAX_OPS * CTL_OP_LEN + AUTH_MAC_LEN)
#define CTL_RESP_MAX_LEN                                                      \
	(CTL_HDR_LEN + CTL_MAX_OPS * CTL_STATUS_LEN + AUTH_MAC_LEN)
#define CTL_DEFAULT_PORT 7700
#define CTL_WINDOW 64 /* replay window, in sequence numbers */

enum ctl_type { CTL_REQUEST = 1, CTL_RESPONSE = 2 };

/* Every op is idempotent: repeating it leaves the same state. */
enum switch_opcode {
	SWITCH_LOCK = 1,   /* add or set LOCKED; drops the reverse entry */
	SWITCH_OWN = 2,    /* add or set OWNED by backend_ip */
	SWITCH_DELETE = 3, /* remove; absent is fine */
	/* OWN, but the backend's window is not zeroed (OWNED_OPEN): for a
	 * backend reading a request body; OWN closes it again. */
	SWITCH_OWN_OPEN = 4,
};

struct switch_op {
	uint8_t op;        /* enum switch_opcode */
	__be32 backend_ip; /* OWN only */
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
	CTL_ERR_OP,     /* unknown op, non-zero padding, backend on LOCK/DELETE */
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

/* Sliding replay window over one peer's sequence numbers: TOP is the
 * highest seen, bit i of SEEN stands for TOP - i. */
struct ctl_window {
	uint64_t top;
	uint64_t seen;
};

enum ctl_seq {
	CTL_SEQ_NEW,  /* not seen: execute */
	CTL_SEQ_DUP,  /* seen inside the window: answer from the cache */
	CTL_SEQ_OLD,  /* below the window: reject as replay */
};

enum ctl_seq ctl_window_check(const struct ctl_window *w, uint64_t seq);
/* Records SEQ as seen (after it was executed). */
void ctl_window_mark(struct ctl_window *w, uint64_t seq);
