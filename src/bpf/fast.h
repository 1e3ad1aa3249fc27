/* The fast control path of the switch (prism_abi.h): a LOCK (LOCK_TAIL,
 * OWN, OWN_OPEN, DELETE) request that the data plane authenticates, checks
 * against its replay window (prism_replay.h), executes on the flow table
 * (prism_flow.h, through flow_apply.h) and answers by itself, bouncing the
 * datagram back out of the port it came in on.  Included by switch.bpf.c,
 * which owns the maps it works on. */
#pragma once
#include <linux/udp.h>

#include "prism_replay.h"
#include "prism_siphash.h"

#define FAST_UDP_LEN (sizeof(struct udphdr) + sizeof(struct prism_fast_msg))
#define UDP_CSUM_OFF (PKT_TCP_OFF + offsetof(struct udphdr, check))
#define FAST_MSG_OFF (PKT_TCP_OFF + sizeof(struct udphdr))

/* Set by the agent before load: the agent's UDP port (0: no fast path)
 * and the SipHash key. */
volatile __be16 fast_port = 0;
volatile __u64 fast_k0 = 0, fast_k1 = 0;

struct fast_peer_key {
	__be32 addr;
	__be32 peer_id;
};

/* The replay window of one sender (prism_replay.h), as the agent keeps
 * one for the slow path, under a lock: two CPUs may check it at once. */
struct fast_window {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct prism_replay w;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prism_fast_allow_key);
	__type(value, __u8);
} fast_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct fast_peer_key);
	__type(value, struct fast_window);
} fast_windows SEC(".maps");

static __always_inline __u64 fast_tag(const struct prism_fast_msg *m)
{
	struct prism_sip_key k = { .k0 = fast_k0, .k1 = fast_k1 };
	__u64 w[5];

	__builtin_memcpy(w, m, sizeof(w));
	return prism_siphash_40(&k, w);
}

/* PRISM_REPLAY_NEW (now marked seen), _DUP, or _OLD (also: no room for
 * the sender). */
static __always_inline int fast_window_check(__be32 addr, __be32 peer_id,
					     __u64 seq)
{
	struct fast_peer_key k = { .addr = addr, .peer_id = peer_id };
	struct fast_window fresh = {}, *w;
	int r;

	w = bpf_map_lookup_elem(&fast_windows, &k);
	if (!w) {
		bpf_map_update_elem(&fast_windows, &k, &fresh, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&fast_windows, &k);
		if (!w)
			return PRISM_REPLAY_OLD;
	}
	bpf_spin_lock(&w->lock);
	r = prism_replay_check(&w->w, seq);
	if (r == PRISM_REPLAY_NEW)
		prism_replay_mark(&w->w, seq);
	bpf_spin_unlock(&w->lock);
	return r;
}

/* Turns the request into its answer in place and sends it back out of the
 * port it came in on: addresses and ports swapped (the checksums do not
 * change), payload rewritten with the checksum adjusted by the
 * difference. */
static __always_inline int fast_answer(struct __sk_buff *skb,
				       struct prism_fast_msg *m, __u8 status)
{
	struct prism_fast_msg old = *m;
	__u8 macs[12], swapped[12];
	__be32 addrs[2], ports;
	__s64 diff;

	m->type = PRISM_FAST_RESPONSE;
	m->status = status;
	m->tag = fast_tag(m);
	diff = bpf_csum_diff((__be32 *)&old, sizeof(old), (__be32 *)m,
			     sizeof(*m), 0);
	if (diff < 0 ||
	    bpf_l4_csum_replace(skb, UDP_CSUM_OFF, 0, diff,
				BPF_F_MARK_MANGLED_0) ||
	    bpf_skb_store_bytes(skb, FAST_MSG_OFF, m, sizeof(*m), 0))
		return TC_ACT_SHOT;
	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)) ||
	    bpf_skb_load_bytes(skb, IP_SADDR_OFF, addrs, sizeof(addrs)) ||
	    bpf_skb_load_bytes(skb, PKT_TCP_OFF, &ports, sizeof(ports)))
		return TC_ACT_SHOT;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	ports = ports >> 16 | ports << 16;
	__be32 swapped_addrs[2] = { addrs[1], addrs[0] };
	if (bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0) ||
	    bpf_skb_store_bytes(skb, IP_SADDR_OFF, swapped_addrs,
				sizeof(swapped_addrs), 0) ||
	    bpf_skb_store_bytes(skb, PKT_TCP_OFF, &ports, sizeof(ports), 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

/* A datagram that is not a well-formed fast request goes on to the agent
 * (which counts and drops what it cannot read); one that is, is ours. */
static __always_inline int fast_path(struct __sk_buff *skb, __u32 *reason)
{
	struct prism_fast_allow_key allow = { .prefixlen = 32 };
	struct prism_fast_msg m;
	struct udphdr uh;
	struct iphdr ip;
	int fresh, status;

	if (!fast_port || bpf_skb_load_bytes(skb, PKT_IP_OFF, &ip, sizeof(ip)))
		return TC_ACT_OK;
	if (ip.protocol != IPPROTO_UDP || ip.ihl != 5 ||
	    (ip.frag_off & IP_FRAG_BITS_BE) ||
	    ip.tot_len != bpf_htons(sizeof(ip) + FAST_UDP_LEN) ||
	    bpf_skb_load_bytes(skb, PKT_TCP_OFF, &uh, sizeof(uh)) ||
	    uh.dest != fast_port || uh.len != bpf_htons(FAST_UDP_LEN) ||
	    bpf_skb_load_bytes(skb, FAST_MSG_OFF, &m, sizeof(m)) ||
	    m.magic != bpf_htonl(PRISM_FAST_MAGIC) ||
	    m.version != PRISM_FAST_VERSION || m.type != PRISM_FAST_REQUEST)
		return TC_ACT_OK;
	allow.addr = ip.saddr;
	if (!bpf_map_lookup_elem(&fast_allow, &allow)) {
		*reason = PRISM_STAT_FAST_UNKNOWN_PEER;
		return TC_ACT_SHOT;
	}
	if (m.status ||
	    !prism_op_wire_valid(m.op, m.backend_ip, bpf_ntohl(m.tail_seq)) ||
	    m.tag != fast_tag(&m)) {
		*reason = PRISM_STAT_FAST_BAD;
		return TC_ACT_SHOT;
	}
	fresh = fast_window_check(ip.saddr, m.peer_id, bpf_be64_to_cpu(m.seq));
	if (fresh == PRISM_REPLAY_OLD) {
		*reason = PRISM_STAT_FAST_REPLAY;
		return TC_ACT_SHOT;
	}
	if (fresh == PRISM_REPLAY_DUP) {
		*reason = PRISM_STAT_FAST_DUPLICATE;
		status = PRISM_EALREADY;
	} else {
		struct prism_op_args a = { .op = m.op,
					   .backend_ip = m.backend_ip,
					   .sender = ip.saddr,
					   .tail_seq = bpf_ntohl(m.tail_seq) };

		*reason = PRISM_STAT_FAST_OPS;
		status = flow_execute(&m.key, &a);
		if (status == PRISM_ENOSPC)
			stat_inc(PRISM_STAT_FAST_TABLE_FULL);
	}
	return fast_answer(skb, &m, (__u8)status);
}
