/* The Prism switch: a tc ingress program on the fabric's interfaces.
 *
 * A flow (client-side TCP 4-tuple, map "flows") is absent, LOCKED or OWNED
 * by a backend.  Client->VIP segments of an OWNED flow get the backend as
 * destination and lose their FIN; backend->client segments (found through
 * "rev_flows") get the VIP as source and a zero receive window.  Segments
 * of a LOCKED flow are dropped.  Per-flow counters count packets and TCP
 * payload bytes of rewritten segments.  Everything else goes on to the
 * kernel untouched, counted by reason in "stats".  Program and map names
 * are ABI: the agent finds them by name (docs/architecture.md). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "prism_abi.h"
#include "parse.h"
#include "rewrite.h"

#define AF_INET 2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PRISM_FLOW_TABLE_DEFAULT);
	__type(key, struct prism_flow_key);
	__type(value, struct prism_flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PRISM_FLOW_TABLE_DEFAULT);
	__type(key, struct prism_rev_key);
	__type(value, struct prism_flow_key);
} rev_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PRISM_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

/* Sends the rewritten packet straight to its next hop when the FIB knows
 * it (route and neighbour); otherwise hands it to the kernel, which routes
 * it (we run at ingress, before routing) and resolves the neighbour.  Like
 * an L4 load balancer, the redirect path leaves the TTL alone. */
static __always_inline int forward(struct __sk_buff *skb, __be32 src,
				   __be32 dst)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	fib.family = AF_INET;
	fib.l4_protocol = IPPROTO_TCP;
	fib.ipv4_src = src;
	fib.ipv4_dst = dst;
	fib.ifindex = skb->ingress_ifindex;
	/* tot_len 0: the helper checks the skb itself against the egress
	 * MTU, which is right for GSO packets too. */
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return TC_ACT_OK;
	if (rewrite_macs(skb, fib.dmac, fib.smac))
		return TC_ACT_OK;
	return bpf_redirect(fib.ifindex, 0);
}

/* Client -> VIP segment of a flow in the table. */
static __always_inline int to_backend(struct __sk_buff *skb,
				      const struct packet *p,
				      struct prism_flow_value *flow,
				      __u32 *reason)
{
	__be32 backend = flow->backend_ip;

	if (flow->state == PRISM_FLOW_LOCKED) {
		__sync_fetch_and_add(&flow->locked_drops, 1);
		*reason = PRISM_STAT_DROP_LOCKED;
		return TC_ACT_SHOT;
	}
	if (flow->state != PRISM_FLOW_OWNED &&
	    flow->state != PRISM_FLOW_OWNED_OPEN) {
		*reason = PRISM_STAT_MISS;
		return TC_ACT_OK;
	}
	/* The backend must not see the client's FIN: the connection goes back
	 * to the controller, which closes it. */
	if (rewrite_ip_addr(skb, IP_DADDR_OFF, p->daddr, backend) ||
	    rewrite_tcp_word(skb, TCP_FLAGS_OFF, p->flags_word,
			     p->flags_word & ~TCP_FLAG_FIN_BE)) {
		*reason = PRISM_STAT_DROP_REWRITE;
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&flow->to_backend_packets, 1);
	__sync_fetch_and_add(&flow->to_backend_bytes, p->payload_len);
	*reason = PRISM_STAT_TO_BACKEND;
	return forward(skb, p->saddr, backend);
}

/* Backend -> client segment: rev_flows names the client-side key; the flow
 * must be OWNED by exactly this sender.  A segment of a LOCKED flow is
 * dropped like a client segment: the backend's socket is being dumped, and
 * passing it with the backend's address would make the client answer with
 * a RST that could reach that socket.  (This needs the agent to keep the
 * rev_flows entry while a flow goes OWNED -> LOCKED; without it such a
 * segment is a miss.) */
static __always_inline int to_client(struct __sk_buff *skb,
				     const struct packet *p, __u32 *reason)
{
	struct prism_rev_key rk = {
		.backend_ip = p->saddr,
		.client_ip = p->daddr,
		.backend_port = p->sport,
		.client_port = p->dport,
	};
	struct prism_flow_value *flow;
	struct prism_flow_key *key;
	__be32 vip;

	*reason = PRISM_STAT_MISS;
	key = bpf_map_lookup_elem(&rev_flows, &rk);
	if (!key || key->client_ip != p->daddr ||
	    key->client_port != p->dport || key->vip_port != p->sport)
		return TC_ACT_OK;
	vip = key->vip;
	flow = bpf_map_lookup_elem(&flows, key);
	if (!flow)
		return TC_ACT_OK;
	if (flow->state == PRISM_FLOW_LOCKED) {
		__sync_fetch_and_add(&flow->locked_drops, 1);
		*reason = PRISM_STAT_DROP_LOCKED;
		return TC_ACT_SHOT;
	}
	if ((flow->state != PRISM_FLOW_OWNED &&
	     flow->state != PRISM_FLOW_OWNED_OPEN) ||
	    flow->backend_ip != p->saddr)
		return TC_ACT_OK;
	/* Window 0: the client must not send its next request before the
	 * connection is back at the controller.  OWNED_OPEN: the backend is
	 * reading a request body, which needs the window. */
	if (rewrite_ip_addr(skb, IP_SADDR_OFF, p->saddr, vip) ||
	    (flow->state == PRISM_FLOW_OWNED &&
	     rewrite_tcp_word(skb, TCP_WINDOW_OFF, p->window, 0))) {
		*reason = PRISM_STAT_DROP_REWRITE;
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&flow->to_client_packets, 1);
	__sync_fetch_and_add(&flow->to_client_bytes, p->payload_len);
	*reason = PRISM_STAT_TO_CLIENT;
	return forward(skb, vip, p->daddr);
}

/* Returns the tc verdict; *reason is the stat that explains it. */
static __always_inline int process_packet(struct __sk_buff *skb,
					  __u32 *reason)
{
	struct prism_flow_value *flow;
	struct prism_flow_key key;
	struct packet p = {};
	struct cursor c;
	__u32 tot_len = 0;
	int r;

	cursor_init(&c, skb);
	r = parse_eth(&c);
	if (!r)
		r = parse_ipv4(&c, skb->len - PKT_IP_OFF, &p, &tot_len);
	if (!r)
		r = parse_tcp(&c, tot_len - sizeof(struct iphdr), &p);
	if (r) {
		*reason = r;
		return TC_ACT_OK;
	}
	key.client_ip = p.saddr;
	key.vip = p.daddr;
	key.client_port = p.sport;
	key.vip_port = p.dport;
	flow = bpf_map_lookup_elem(&flows, &key);
	if (flow)
		return to_backend(skb, &p, flow, reason);
	return to_client(skb, &p, reason);
}

SEC("tc")
int prism_switch(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 reason = PRISM_STAT_MALFORMED;
	int action;

	/* The parser reads headers in place; if a driver left them outside
	 * the linear area, pull them in (a no-op in the common case). */
	if (data + PKT_HDR_MIN > data_end && skb->len >= PKT_HDR_MIN)
		bpf_skb_pull_data(skb, PKT_HDR_MIN);
	stat_inc(PRISM_STAT_PACKETS);
	action = process_packet(skb, &reason);
	stat_inc(reason);
	if (action == TC_ACT_REDIRECT)
		stat_inc(PRISM_STAT_REDIRECT);
	else if (action == TC_ACT_OK && reason != PRISM_STAT_TO_BACKEND &&
		 reason != PRISM_STAT_TO_CLIENT)
		stat_inc(PRISM_STAT_PASS);
	return action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
