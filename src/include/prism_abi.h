/* ABI shared by the eBPF data plane (src/bpf) and user space (src/switch and
 * its clients).  Fixed-width kernel types only, no libc.  Addresses and ports
 * are kept in network byte order everywhere, as they appear on the wire. */
#pragma once
#include <linux/types.h>

/* The flow table key: the client-side TCP 4-tuple. */
struct prism_flow_key {
	__be32 client_ip;
	__be32 vip;
	__be16 client_port;
	__be16 vip_port;
};

/* The states of a flow entry; an absent entry is the fourth (traffic goes
 * to the controller).  prism_flow.h defines every transition. */
enum prism_flow_state {
	PRISM_FLOW_LOCKED = 1, /* client segments dropped at the switch */
	PRISM_FLOW_OWNED = 2,  /* rewritten to/from backend_ip */
	/* OWNED, but the backend's receive window reaches the client as is:
	 * the backend is reading a request body (docs/store.md). */
	PRISM_FLOW_OWNED_OPEN = 3,
	/* Back at the controller after a hand-back (in-band unlock): client
	 * segments pass untouched, as if the flow were absent; the last
	 * owner's segments up to lock_seq (PRISM_FLOW_F_TAIL) are still
	 * translated, however late they come.  Removed when the controller
	 * closes the connection, replaced by its next LOCK. */
	PRISM_FLOW_HOME = 4,
};

/* flags of a flow value */
enum {
	/* LOCKED for a hand-off to backend_ip, which takes the flow over with
	 * its first marked segment (in-band claim, below). */
	PRISM_FLOW_F_CLAIM = 1,
	/* LOCKED by its owner backend_ip at hand-back: its segments that end
	 * at or before lock_seq were sent before the lock and may still be on
	 * their way (another CPU's queue): they pass as if OWNED. */
	PRISM_FLOW_F_TAIL = 2,
};

struct prism_flow_value {
	__u32 state;      /* enum prism_flow_state */
	__be32 backend_ip; /* OWNED: the owner; LOCKED: the last or next one */
	__u32 flags;      /* PRISM_FLOW_F_* */
	__u32 lock_seq;   /* PRISM_FLOW_F_TAIL: the owner's snd_nxt, host order */
	/* Progress counters, updated by the data plane with atomic adds. */
	__u64 to_backend_packets;
	__u64 to_backend_bytes;
	__u64 to_client_packets;
	__u64 to_client_bytes;
	__u64 locked_drops;
};

/* In-band transitions.  A segment whose IPv4 DSCP is PRISM_DSCP_MARK
 * (63, from the pool RFC 2474 leaves to local use) changes its flow's
 * state as it passes the switch, so that the change and the traffic that
 * needs it cannot be reordered, and costs no round trip to the agent:
 *   - claim: a marked segment from backend B of a flow LOCKED with
 *     PRISM_FLOW_F_CLAIM for B makes it OWNED(B) (B's restored socket
 *     carries the mark, so its first response segment takes the flow);
 *   - unlock: a marked segment from the VIP to the client of a flow LOCKED
 *     without PRISM_FLOW_F_CLAIM makes it HOME (the controller's window
 *     update after a hand-back, sent once its socket is restored).
 * Either is accepted only from the interface the switch routes the
 * sender's address to (reverse-path check).  The mark is cleared on every
 * segment the switch rewrites or unlocks with. */
#define PRISM_DSCP_MARK 63
#define PRISM_TOS_MARK (PRISM_DSCP_MARK << 2)
#define PRISM_TOS_DSCP_MASK 0xfc

/* The fast control path: a LOCK executed by the data plane itself, at the
 * switch port where the request comes in, and answered from there, so
 * that the hand-off's critical path waits for no process on the switch.
 * One UDP datagram to the agent's port, 48 bytes, integers big-endian,
 * addresses and ports as in the flow key.  The tag is SipHash-2-4
 * (prism_siphash.h) over the 40 bytes before it, little-endian, keyed with
 * the first 16 bytes of HMAC-SHA256(shared key, PRISM_FAST_KEY_LABEL).
 * Everything else goes to the agent (docs/switch.md). */
#define PRISM_FAST_MAGIC 0x50525346 /* "PRSF" */
#define PRISM_FAST_VERSION 1
#define PRISM_FAST_REQUEST 1
#define PRISM_FAST_RESPONSE 2
/* The op codes are enum prism_op (prism_flow.h), shared with the agent's
 * control protocol; LOCK_TAIL carries tail_seq, OWN/OWN_OPEN the owner. */
#define PRISM_FAST_KEY_LABEL "prism switch fast path v1"

struct prism_fast_msg {
	__be32 magic;
	__u8 version;
	__u8 type;
	__u8 op;
	__u8 status;      /* response: 0 or a Linux errno; request: 0 */
	__be32 peer_id;
	__be32 tail_seq;  /* LOCK_TAIL: the sender's snd_nxt; LOCK: 0 */
	__be64 seq;       /* one replay window per (source address, peer id) */
	__be32 backend_ip; /* LOCK: the claimant, or 0; OWN*: the owner */
	struct prism_flow_key key;
	__u64 tag;
};

/* Key of the data plane's allowlist of fast-path senders (LPM trie, the
 * agent's --peer prefixes). */
struct prism_fast_allow_key {
	__u32 prefixlen;
	__be32 addr;
};

/* The reverse table: backend-side 4-tuple -> client-side key.  Present
 * while the flow carries a backend: from its claim or OWN until its next
 * claimant or DELETE, through LOCKED and HOME (prism_flow.h says when it
 * is added and dropped, for every writer). */
struct prism_rev_key {
	__be32 backend_ip;
	__be32 client_ip;
	__be16 backend_port; /* == vip_port: the port is not rewritten */
	__be16 client_port;
};

/* Per-CPU counters (array map "stats"), indexed by enum prism_stat; the
 * name is what `prism switch stats` and /metrics call it.  The first group
 * counts verdicts, the second why a packet was dropped or passed without
 * inspection. */
#define PRISM_STATS(X) \
	X(PACKETS, packets) /* every packet seen */ \
	X(PASS, pass) /* forwarded untouched */ \
	X(TO_BACKEND, to_backend) /* client->VIP rewritten to a backend */ \
	X(TO_CLIENT, to_client) /* backend->client rewritten from VIP */ \
	X(REDIRECT, redirect) /* forwarded by bpf_redirect after fib */ \
	X(DROP_LOCKED, drop_locked) /* client segment of a LOCKED flow */ \
	X(DROP_REWRITE, drop_rewrite) /* a rewrite helper failed */ \
	X(NOT_IPV4, not_ipv4) /* passed: ARP, IPv6, VLAN, ... */ \
	X(NOT_TCP, not_tcp) /* passed: ICMP, UDP, ... */ \
	X(MALFORMED, malformed) /* passed: truncated or bad header */ \
	X(IP_OPTIONS, ip_options) /* passed: IHL > 5 */ \
	X(FRAGMENT, fragment) /* passed: IP fragment */ \
	X(MISS, miss) /* TCP with no flow entry, passed */ \
	X(CLAIM, claim) /* in-band claim: LOCKED -> OWNED */ \
	X(UNLOCK, unlock) /* in-band unlock: LOCKED -> HOME */ \
	X(MARK_REFUSED, mark_refused) /* marked segment that changed nothing */ \
	X(FAST_OPS, fast_ops) /* fast-path LOCKs executed and answered */ \
	X(FAST_DUPLICATE, fast_duplicate) /* seen before: answered EALREADY */ \
	X(FAST_REPLAY, fast_replay) /* older than the window: dropped */ \
	X(FAST_BAD, fast_bad) /* bad tag or fields: dropped */ \
	X(FAST_UNKNOWN_PEER, fast_unknown_peer) /* source not allowed: dropped */ \
	X(FAST_TABLE_FULL, fast_table_full) /* fast LOCK answered ENOSPC */ \
	X(TAIL, tail) /* owner's segment sent before its LOCK */ \
	X(UNLOCK_REPEAT, unlock_repeat) /* in-band unlock of a flow HOME already */ \
	X(TO_OWNER, to_owner) /* host mode: a client segment sent on by the \
				 controller's host, for a flow owned here */ \
	X(DROP_NOT_OWNER, drop_not_owner) /* host mode: such a segment for a \
					     flow not owned here */

enum prism_stat {
#define PRISM_STAT_ENUM(e, name) PRISM_STAT_##e,
	PRISM_STATS(PRISM_STAT_ENUM)
#undef PRISM_STAT_ENUM
	PRISM_STAT_MAX,
};

#define PRISM_STAT_NAME(e, name) #name,
#define PRISM_STAT_NAMES { PRISM_STATS(PRISM_STAT_NAME) }

/* Default flow table size: room for 100k flows with slack for the hash. */
#define PRISM_FLOW_TABLE_DEFAULT 131072
