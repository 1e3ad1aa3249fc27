/* The fast control path of the switch (prism_abi.h): a LOCK (LOCK_TAIL,
 * OWN, OWN_OPEN, DELETE) request that the data plane authenticates, checks
 * against its replay window, executes on the flow table and answers by
 * itself, bouncing the datagram back out of the port it came in on.
 * Included by switch.bpf.c, which owns the maps it works on. */
#pragma once
#include <linux/udp.h>

#include "prism_siphash.h"

#define FAST_UDP_LEN (sizeof(struct udphdr) + sizeof(struct prism_fast_msg))
#define UDP_CSUM_OFF (PKT_TCP_OFF + offsetof(struct udphdr, check))
#define FAST_MSG_OFF (PKT_TCP_OFF + sizeof(struct udphdr))
#define FAST_WINDOW 64
#define EALREADY_ 114
#define EADDRINUSE_ 98
#define ENOSPC_ 28
#define EINVAL_ 22

/* Set by the agent before load: the agent's UDP port (0: no fast path)
 * and the SipHash key. */
volatile __be16 fast_port = 0;
volatile __u64 fast_k0 = 0, fast_k1 = 0;

struct fast_peer_key {
	__be32 addr;
	__be32 peer_id;
};

/* The replay window of one sender, as the agent keeps it for the slow
 * path: the highest seq seen and a bitmap of the 64 below it. */
struct fast_window {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 top;
	__u64 bits;
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

/* 0: fresh, 1: seen before, -1: below the window or no room for the
 * sender. */
static __always_inline int fast_window_check(__be32 addr, __be32 peer_id,
					     __u64 seq)
{
	struct fast_peer_key k = { .addr = addr, .peer_id = peer_id };
	struct fast_window fresh = {}, *w;
	__u64 d;
	int r;

	w = bpf_map_lookup_elem(&fast_windows, &k);
	if (!w) {
		bpf_map_update_elem(&fast_windows, &k, &fresh, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&fast_windows, &k);
		if (!w)
			return -1;
	}
	bpf_spin_lock(&w->lock);
	if (w->top == 0 || seq > w->top) {
		d = seq - w->top;
		w->bits = w->top == 0 || d >= FAST_WINDOW ? 1 : w->bits << d | 1;
		w->top = seq;
		r = 0;
	} else {
		d = w->top - seq;
		if (d >= FAST_WINDOW)
			r = -1;
		else if (w->bits & (1ULL << d))
			r = 1;
		else {
			w->bits |= 1ULL << d;
			r = 0;
		}
	}
	bpf_spin_unlock(&w->lock);
	return r;
}

static __always_inline bool same_flow_key(const struct prism_flow_key *a,
					  const struct prism_flow_key *b)
{
	return a->client_ip == b->client_ip && a->vip == b->vip &&
	       a->client_port == b->client_port && a->vip_port == b->vip_port;
}

static __always_inline struct prism_rev_key
fast_rev_key(const struct prism_flow_key *key, __be32 backend)
{
	struct prism_rev_key rk = {
		.backend_ip = backend,
		.client_ip = key->client_ip,
		.backend_port = key->vip_port,
		.client_port = key->client_port,
	};
	return rk;
}

/* Drops rev(BACKEND) if it still names KEY (table.c's rev_drop). */
static __always_inline void fast_rev_drop(const struct prism_flow_key *key,
					  __be32 backend)
{
	struct prism_rev_key rk = fast_rev_key(key, backend);
	struct prism_flow_key *cur = bpf_map_lookup_elem(&rev_flows, &rk);

	if (cur && same_flow_key(cur, key))
		bpf_map_delete_elem(&rev_flows, &rk);
}

/* Whether rev(B) of KEY is present (*mine) or taken by another live flow
 * of B: 0 or EADDRINUSE. */
static __always_inline int fast_rev_check(const struct prism_flow_key *key,
					  __be32 backend, bool *mine)
{
	struct prism_rev_key rk = fast_rev_key(key, backend);
	struct prism_flow_value *other;
	struct prism_flow_key *cur, ck;

	*mine = false;
	cur = bpf_map_lookup_elem(&rev_flows, &rk);
	if (!cur)
		return 0;
	if (same_flow_key(cur, key)) {
		*mine = true;
		return 0;
	}
	ck = *cur;
	other = bpf_map_lookup_elem(&flows, &ck);
	return other && other->backend_ip == backend ? EADDRINUSE_ : 0;
}

/* An entry the agent or this file wrote (else only DELETE may touch it). */
static __always_inline bool fast_known(const struct prism_flow_value *flow)
{
	return !flow || flow->state == PRISM_FLOW_LOCKED ||
	       flow->state == PRISM_FLOW_OWNED ||
	       flow->state == PRISM_FLOW_OWNED_OPEN ||
	       flow->state == PRISM_FLOW_HOME;
}

/* The flow carries BACKEND from now on, in STATE with FLAGS: a LOCK naming
 * a claimant (LOCKED, CLAIM), OWN, OWN_OPEN; table.c's apply_own.  Stores
 * go in the order that keeps the data plane safe at every step: rev(B)
 * first, so that nothing that names B lacks it; a flow moving to another
 * backend passes through LOCKED (no claim) while its backend changes; the
 * old backend's reverse entry last. */
static __always_inline int fast_set_backend(const struct prism_flow_key *key,
					    struct prism_flow_value *flow,
					    __be32 backend, __u32 state,
					    __u32 flags)
{
	struct prism_flow_value v = { .state = state, .flags = flags,
				      .backend_ip = backend };
	struct prism_rev_key rk = fast_rev_key(key, backend);
	bool mine;
	__be32 old;
	long err;

	err = fast_rev_check(key, backend, &mine);
	if (err)
		return (int)err;
	if (!mine && bpf_map_update_elem(&rev_flows, &rk, key, BPF_ANY))
		return ENOSPC_;
	if (flow) {
		old = flow->backend_ip;
		if (old != backend) {
			flow->state = PRISM_FLOW_LOCKED;
			flow->flags = 0;
			flow->backend_ip = backend;
		}
		flow->state = state;
		flow->flags = flags;
		if (old && old != backend)
			fast_rev_drop(key, old);
		return 0;
	}
	if (bpf_map_update_elem(&flows, key, &v, BPF_NOEXIST)) {
		if (!mine)
			bpf_map_delete_elem(&rev_flows, &rk);
		return ENOSPC_;
	}
	return 0;
}

/* LOCK as the agent applies it (table.c), returning 0 or a positive errno.
 * Without a claimant the backend stays (its segments are dropped while its
 * socket is frozen); the tail's end is stored before TAIL before LOCKED.
 * A tail is only recorded for the flow's owner (SENDER == its backend);
 * anyone else's LOCK_TAIL is a plain LOCK. */
static __always_inline int fast_lock(const struct prism_flow_key *key,
				     __be32 claimant, __be32 sender, bool tail,
				     __u32 tail_seq)
{
	struct prism_flow_value v = { .state = PRISM_FLOW_LOCKED };
	struct prism_flow_value *flow = bpf_map_lookup_elem(&flows, key);

	if (!fast_known(flow))
		return EINVAL_;
	if (claimant)
		return fast_set_backend(key, flow, claimant, PRISM_FLOW_LOCKED,
					PRISM_FLOW_F_CLAIM);
	if (flow && tail && flow->backend_ip == sender &&
	    flow->state != PRISM_FLOW_LOCKED) {
		flow->lock_seq = tail_seq;
		flow->flags = PRISM_FLOW_F_TAIL;
		flow->state = PRISM_FLOW_LOCKED;
		return 0;
	}
	if (flow) {
		flow->state = PRISM_FLOW_LOCKED;
		flow->flags = 0;
		return 0;
	}
	return bpf_map_update_elem(&flows, key, &v, BPF_NOEXIST) ? ENOSPC_ : 0;
}

/* OWN(B) and OWN_OPEN(B): a pending claim is served (flags cleared). */
static __always_inline int fast_own(const struct prism_flow_key *key,
				    __be32 backend, __u32 state)
{
	struct prism_flow_value *flow = bpf_map_lookup_elem(&flows, key);

	if (!backend || !fast_known(flow))
		return EINVAL_;
	return fast_set_backend(key, flow, backend, state, 0);
}

/* DELETE as the agent applies it: the flow, then its backend's reverse
 * entry if that still names it. */
static __always_inline int fast_delete(const struct prism_flow_key *key)
{
	struct prism_flow_value *flow = bpf_map_lookup_elem(&flows, key);
	__be32 backend;

	if (!flow)
		return 0;
	backend = flow->backend_ip;
	bpf_map_delete_elem(&flows, key);
	if (backend)
		fast_rev_drop(key, backend);
	return 0;
}

static __always_inline int fast_execute(const struct prism_fast_msg *m,
					 __be32 sender)
{
	switch (m->op) {
	case PRISM_FAST_OP_DELETE:
		return fast_delete(&m->key);
	case PRISM_FAST_OP_OWN:
		return fast_own(&m->key, m->backend_ip, PRISM_FLOW_OWNED);
	case PRISM_FAST_OP_OWN_OPEN:
		return fast_own(&m->key, m->backend_ip,
				PRISM_FLOW_OWNED_OPEN);
	default:
		return fast_lock(&m->key, m->backend_ip, sender,
				 m->op == PRISM_FAST_OP_LOCK_TAIL,
				 bpf_ntohl(m->tail_seq));
	}
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
	if (m.op < PRISM_FAST_OP_LOCK || m.op > PRISM_FAST_OP_OWN_OPEN ||
	    m.status || (m.op != PRISM_FAST_OP_LOCK_TAIL && m.tail_seq) ||
	    ((m.op == PRISM_FAST_OP_LOCK_TAIL ||
	      m.op == PRISM_FAST_OP_DELETE) && m.backend_ip) ||
	    m.tag != fast_tag(&m)) {
		*reason = PRISM_STAT_FAST_BAD;
		return TC_ACT_SHOT;
	}
	fresh = fast_window_check(ip.saddr, m.peer_id, bpf_be64_to_cpu(m.seq));
	if (fresh < 0) {
		*reason = PRISM_STAT_FAST_REPLAY;
		return TC_ACT_SHOT;
	}
	if (fresh) {
		*reason = PRISM_STAT_FAST_DUPLICATE;
		status = EALREADY_;
	} else {
		*reason = PRISM_STAT_FAST_OPS;
		status = fast_execute(&m, ip.saddr);
		if (status == ENOSPC_)
			stat_inc(PRISM_STAT_FAST_TABLE_FULL);
	}
	return fast_answer(skb, &m, (__u8)status);
}
