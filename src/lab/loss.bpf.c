/* Random loss for the testbed (no netem on this kernel): a tc program at
 * the ingress of a host's eth0 that drops a packet with the probability
 * in its "loss" map, in parts per million, and counts what it saw and
 * dropped.  `prism testbed up --loss PCT` attaches it to every host;
 * `prism testbed loss HOST PCT` changes it while traffic runs.  Lab only:
 * the product never loads it.
 *
 * Ingress, not egress: a packet a tc program drops on its sender's own
 * interface never left, and the sender's TCP takes it as local congestion
 * (NET_XMIT_DROP: not sent, resent by the probe timer ~200 ms later when
 * nothing else is in flight), not as a loss in the network, which is what
 * a fabric does.  A packet from another host crossed two links, its
 * sender's and ours: it gets two draws; one from the fabric itself (the
 * switch agent's answers, ARP) crossed ours only. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct loss_state {
	__u32 ppm;   /* drop probability per link, parts per million */
	__be32 gw;   /* the fabric's address on this host's link */
	__u64 seen;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loss_state);
} loss SEC(".maps");

/* Links the packet crossed: two unless it comes from the fabric. */
static __always_inline int links(struct __sk_buff *skb, __be32 gw)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 1;
	return ip->saddr == gw ? 1 : 2;
}

SEC("tc")
int prism_loss(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct loss_state *s = bpf_map_lookup_elem(&loss, &key);
	int n;

	if (!s)
		return TC_ACT_OK;
	__sync_fetch_and_add(&s->seen, 1);
	if (!s->ppm)
		return TC_ACT_OK;
	n = links(skb, s->gw);
	for (int i = 0; i < 2; i++) {
		if (i < n && bpf_get_prandom_u32() % 1000000 < s->ppm) {
			__sync_fetch_and_add(&s->dropped, 1);
			return TC_ACT_SHOT;
		}
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
