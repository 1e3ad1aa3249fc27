/* The Prism switch: a tc ingress program on the fabric's interfaces.
 *
 * A flow (client-side TCP 4-tuple, map "flows") is absent, LOCKED,
 * OWNED or OWNED_OPEN by a backend, or HOME (back at the controller; the
 * last owner's late segments still translated).  The transitions between
 * them are prism_flow.h's, applied here by flow_apply.h.
 *   client->VIP, OWNED*: the backend as destination, FIN cleared;
 *   backend->client (found through "rev_flows"), OWNED*: the VIP as
 *     source, receive window zeroed (OWNED_OPEN keeps it: a body to read);
 *   LOCKED: client and backend segments dropped, but the owner's tail
 *     (segments sent before its LOCK_TAIL) and its in-band claim;
 *   absent, HOME: routed as they are (HOME: to the controller).
 * Marked segments claim or unlock a flow in band (prism_abi.h); control
 * datagrams to the agent's port are answered here (fast.h).  Per-flow
 * counters count packets and TCP payload bytes of rewritten segments.
 * Everything else goes on to the kernel untouched, counted by reason in
 * "stats".  Program and map names are ABI: the agent finds them by name
 * (docs/architecture.md). */
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

/* Reverse-path check of in-band transitions; the agent keeps it on, table
 * tests turn it off (BPF_PROG_TEST_RUN has no routes to their addresses).
 * In .data, not .rodata, so that one loaded program can test both. */
volatile __u32 prism_rpf = 1;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

#include "flow_apply.h"
#include "fast.h"

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

/* Whether SRC routes back out of the interface the segment came in on:
 * only the controller's port can speak for the VIP, only B's port for B. */
static __always_inline bool from_its_port(struct __sk_buff *skb, __be32 src)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (!prism_rpf)
		return true;
	fib.family = AF_INET;
	fib.ipv4_dst = src;
	fib.ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return false;
	return fib.ifindex == skb->ingress_ifindex;
}

/* In-band claim (prism_abi.h): B's first marked segment after its restore
 * takes the flow.  Client segments keep being dropped until then, so none
 * reaches B before B has a socket, and B waits for no agent round trip. */
static __always_inline bool claim(struct __sk_buff *skb,
				  const struct packet *p,
				  struct prism_flow_value *flow, bool egress)
{
	struct prism_op_args a = { .op = PRISM_OP_CLAIM, .sender = p->saddr };
	struct prism_flow_change c;

	if (!pkt_marked(p))
		return false;
	prism_flow_next(flow, &a, &c);
	if (c.status || (!egress && !from_its_port(skb, p->saddr)))
		goto refused;
	if (c.action == PRISM_FLOW_KEEP)
		return true; /* OWNED by B already */
	/* B's segments may be processed on two CPUs at once: one of them
	 * wins the exchange and clears the claim; the other finds the flow
	 * OWNED by B, which is what it wanted.  (The winner's exchange comes
	 * before its store to flags, so a loser that sees flags cleared sees
	 * the state changed.) */
	if (__sync_val_compare_and_swap(&flow->state, PRISM_FLOW_LOCKED,
					c.state) == PRISM_FLOW_LOCKED) {
		FLOW_STORE(flow->flags, c.flags);
		stat_inc(PRISM_STAT_CLAIM);
		return true;
	}
	if (flow->state == PRISM_FLOW_OWNED)
		return true;
refused:
	stat_inc(PRISM_STAT_MARK_REFUSED);
	return false;
}

/* A segment the owner sent before it locked the flow for its hand-back,
 * overtaken by its LOCK on the way here (veth queues are per CPU; a real
 * path may reorder too): it carries data the client must get, and the
 * state the owner dumped counts it as sent.  Never a RST: the owner does
 * not reset a connection it hands back, but once it has closed its frozen
 * socket its kernel answers a client segment still on its way there with
 * one, whose sequence number (the client's ACK) lies inside the tail;
 * passed, it reset the client (about 1 request in 100,000 at 16 KB with 3
 * backends, tcpdump on the fabric). */
static __always_inline bool tail_in_flight(const struct packet *p,
					   const struct prism_flow_value *flow)
{
	if (!(flow->flags & PRISM_FLOW_F_TAIL) || flow->backend_ip != p->saddr ||
	    (p->flags_word & TCP_FLAG_RST_BE) ||
	    (int)(p->seq + p->payload_len - flow->lock_seq) > 0)
		return false;
	stat_inc(PRISM_STAT_TAIL);
	return true;
}

/* In-band unlock (prism_abi.h): the controller's marked window update,
 * sent once its socket is restored, makes the flow HOME on its way to the
 * client, so the client's next request cannot overtake the unlock.  The
 * entry stays, with its last owner's reverse entry and tail, so that a
 * segment of that owner still on its way is translated when it comes. */
static __always_inline int unlock(struct __sk_buff *skb,
				  const struct packet *p, __u32 *reason,
				  bool egress)
{
	struct prism_flow_key key = {
		.client_ip = p->daddr,
		.vip = p->saddr,
		.client_port = p->dport,
		.vip_port = p->sport,
	};
	struct prism_flow_value *flow = bpf_map_lookup_elem(&flows, &key);
	struct prism_op_args a = { .op = PRISM_OP_UNLOCK, .sender = p->saddr };
	struct prism_flow_change c;

	*reason = PRISM_STAT_MISS;
	prism_flow_next(flow, &a, &c);
	if (c.status || (!egress && !from_its_port(skb, p->saddr)) ||
	    flow_apply(&key, flow, &c)) {
		stat_inc(PRISM_STAT_MARK_REFUSED);
		return TC_ACT_OK;
	}
	if (rewrite_clear_mark(skb, p)) {
		*reason = PRISM_STAT_DROP_REWRITE;
		return TC_ACT_SHOT;
	}
	*reason = c.action == PRISM_FLOW_KEEP ? PRISM_STAT_UNLOCK_REPEAT
					      : PRISM_STAT_UNLOCK;
	return egress ? TC_ACT_OK : forward(skb, p->saddr, p->daddr);
}

/* Client -> VIP segment of a flow in the table. */
static __always_inline int to_backend(struct __sk_buff *skb,
				      const struct packet *p,
				      struct prism_flow_value *flow,
				      __u32 *reason, bool host)
{
	__be32 backend = flow->backend_ip;

	if (flow->state == PRISM_FLOW_LOCKED) {
		__sync_fetch_and_add(&flow->locked_drops, 1);
		*reason = PRISM_STAT_DROP_LOCKED;
		return TC_ACT_SHOT;
	}
	/* HOME (and anything unknown): the kernel routes it to the VIP. */
	if (flow->state != PRISM_FLOW_OWNED &&
	    flow->state != PRISM_FLOW_OWNED_OPEN) {
		*reason = PRISM_STAT_MISS;
		return TC_ACT_OK;
	}
	/* The backend must not see the client's FIN: the connection goes back
	 * to the controller, which closes it. */
	/* Host mode: marked, so that the backend's host can tell a segment
	 * sent on from the controller's host (dropped there until the
	 * backend has restored the socket) from its own clients'. */
	if (rewrite_ip_addr(skb, IP_DADDR_OFF, p->daddr, backend) ||
	    rewrite_tcp_word(skb, TCP_FLAGS_OFF, p->flags_word,
			     p->flags_word & ~TCP_FLAG_FIN_BE) ||
	    (host && rewrite_dscp(skb, p, PRISM_TOS_MARK))) {
		*reason = PRISM_STAT_DROP_REWRITE;
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&flow->to_backend_packets, 1);
	__sync_fetch_and_add(&flow->to_backend_bytes, p->payload_len);
	*reason = PRISM_STAT_TO_BACKEND;
	/* Host mode: back out of the port it came in on, to the router.
	 * The kernel's output route and neighbour (bpf_fib_lookup would
	 * refuse: this host need not forward). */
	if (host)
		return bpf_redirect_neigh(skb->ingress_ifindex, NULL, 0, 0);
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
				     const struct packet *p, __u32 *reason,
				     bool egress)
{
	struct prism_rev_key rk = {
		.backend_ip = p->saddr,
		.client_ip = p->daddr,
		.backend_port = p->sport,
		.client_port = p->dport,
	};
	struct prism_flow_value *flow;
	struct prism_flow_key *key;
	__u32 state;
	__be32 vip;

	*reason = PRISM_STAT_MISS;
	key = bpf_map_lookup_elem(&rev_flows, &rk);
	if (!key || key->client_ip != p->daddr ||
	    key->client_port != p->dport || key->vip_port != p->sport)
		return pkt_marked(p) ? unlock(skb, p, reason, egress)
				     : TC_ACT_OK;
	vip = key->vip;
	flow = bpf_map_lookup_elem(&flows, key);
	if (!flow)
		return TC_ACT_OK;
	state = flow->state;
	if (state == PRISM_FLOW_OWNED || state == PRISM_FLOW_OWNED_OPEN) {
		if (flow->backend_ip != p->saddr)
			return TC_ACT_OK;
	} else if (state == PRISM_FLOW_LOCKED) {
		if (tail_in_flight(p, flow)) {
			/* sent before the lock: translated */
		} else if (claim(skb, p, flow, egress)) {
			state = PRISM_FLOW_OWNED;
		} else {
			__sync_fetch_and_add(&flow->locked_drops, 1);
			*reason = PRISM_STAT_DROP_LOCKED;
			return TC_ACT_SHOT;
		}
	} else if (state != PRISM_FLOW_HOME || !tail_in_flight(p, flow)) {
		return TC_ACT_OK; /* HOME: the controller's now */
	}
	/* Window 0: the client must not send its next request before the
	 * connection is back at the controller.  OWNED_OPEN: the backend is
	 * reading a request body, which needs the window. */
	if (rewrite_ip_addr(skb, IP_SADDR_OFF, p->saddr, vip) ||
	    (state != PRISM_FLOW_OWNED_OPEN &&
	     rewrite_tcp_word(skb, TCP_WINDOW_OFF, p->window, 0)) ||
	    (pkt_marked(p) && rewrite_clear_mark(skb, p))) {
		*reason = PRISM_STAT_DROP_REWRITE;
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&flow->to_client_packets, 1);
	__sync_fetch_and_add(&flow->to_client_bytes, p->payload_len);
	*reason = PRISM_STAT_TO_CLIENT;
	return egress ? TC_ACT_OK : forward(skb, vip, p->daddr);
}

/* Host mode, on a backend's host: a marked client segment, sent on by the
 * controller's host.  It reaches the socket only if this host owns the
 * flow: before the restore (or once the socket is frozen for its
 * hand-back) the kernel would answer it with a RST. */
static __always_inline int to_owner(struct __sk_buff *skb,
				    const struct packet *p, __u32 *reason)
{
	struct prism_rev_key rk = {
		.backend_ip = p->daddr,
		.client_ip = p->saddr,
		.backend_port = p->dport,
		.client_port = p->sport,
	};
	struct prism_flow_value *flow = NULL;
	struct prism_flow_key *key;

	key = bpf_map_lookup_elem(&rev_flows, &rk);
	if (key && key->client_ip == p->saddr && key->client_port == p->sport)
		flow = bpf_map_lookup_elem(&flows, key);
	if (!flow || flow->backend_ip != p->daddr ||
	    (flow->state != PRISM_FLOW_OWNED &&
	     flow->state != PRISM_FLOW_OWNED_OPEN)) {
		if (flow)
			__sync_fetch_and_add(&flow->locked_drops, 1);
		*reason = PRISM_STAT_DROP_NOT_OWNER;
		return TC_ACT_SHOT;
	}
	if (rewrite_clear_mark(skb, p)) {
		*reason = PRISM_STAT_DROP_REWRITE;
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&flow->to_backend_packets, 1);
	__sync_fetch_and_add(&flow->to_backend_bytes, p->payload_len);
	*reason = PRISM_STAT_TO_OWNER;
	return TC_ACT_OK;
}

enum mode { SWITCH, HOST_IN, HOST_OUT };

/* Host mode, set by the agent: 1 on a backend's host (marked client
 * segments for flows it does not own are dropped), 0 on the
 * controller's. */
volatile __u32 prism_host_backend = 0;

/* Returns the tc verdict; *reason is the stat that explains it.
 *   SWITCH: tc ingress of the fabric's ports (switch mode);
 *   HOST_IN: tc ingress of a host's port in host mode: client->VIP to
 *     the owner (controller's host), marked client segments checked
 *     (backend's host), fast control datagrams;
 *   HOST_OUT: tc egress of a host's port in host mode: the owner's
 *     segments from the VIP (backend's host), the controller's in-band
 *     unlock (controller's host). */
static __always_inline int process_packet(struct __sk_buff *skb,
					  __u32 *reason, enum mode mode)
{
	struct prism_flow_value *flow;
	struct prism_flow_key key;
	struct packet p = {};
	struct cursor c;
	__u32 tot_len = 0;
	int r;

	/* Host mode, egress: only what this host sends itself; a client's
	 * segment sent on to its owner (to_backend) passes here too, and
	 * needs no second look. */
	if (mode == HOST_OUT && skb->ingress_ifindex) {
		*reason = PRISM_STAT_MISS;
		return TC_ACT_OK;
	}
	cursor_init(&c, skb);
	r = parse_eth(&c);
	if (!r)
		r = parse_ipv4(&c, skb->len - PKT_IP_OFF, &p, &tot_len);
	if (!r)
		r = parse_tcp(&c, tot_len - sizeof(struct iphdr), &p);
	if (r == PRISM_STAT_NOT_TCP && mode != HOST_OUT) {
		*reason = r;
		return fast_path(skb, reason);
	}
	if (r) {
		*reason = r;
		return TC_ACT_OK;
	}
	if (mode == HOST_OUT)
		return to_client(skb, &p, reason, true);
	key.client_ip = p.saddr;
	key.vip = p.daddr;
	key.client_port = p.sport;
	key.vip_port = p.dport;
	flow = bpf_map_lookup_elem(&flows, &key);
	if (flow)
		return to_backend(skb, &p, flow, reason, mode == HOST_IN);
	if (mode == SWITCH)
		return to_client(skb, &p, reason, false);
	if (prism_host_backend && pkt_marked(&p))
		return to_owner(skb, &p, reason);
	*reason = PRISM_STAT_MISS;
	return TC_ACT_OK;
}

static __always_inline int run(struct __sk_buff *skb, enum mode mode)
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
	action = process_packet(skb, &reason, mode);
	stat_inc(reason);
	if (action == TC_ACT_REDIRECT)
		stat_inc(PRISM_STAT_REDIRECT);
	else if (action == TC_ACT_OK && reason != PRISM_STAT_TO_BACKEND &&
		 reason != PRISM_STAT_TO_CLIENT && reason != PRISM_STAT_TO_OWNER)
		stat_inc(PRISM_STAT_PASS);
	return action;
}

SEC("tc")
int prism_switch(struct __sk_buff *skb)
{
	return run(skb, SWITCH);
}

/* Host mode (docs/switch.md): the same tables and transitions, with the
 * switch's two halves on the hosts' own ports. */
SEC("tc")
int prism_host_in(struct __sk_buff *skb)
{
	return run(skb, HOST_IN);
}

SEC("tc")
int prism_host_out(struct __sk_buff *skb)
{
	return run(skb, HOST_OUT);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
