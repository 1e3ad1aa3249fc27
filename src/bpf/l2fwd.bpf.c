/* Plain L2 forwarding, the baseline for `prism bench switch`: write the
 * configured MAC addresses and redirect to the configured interface.  With
 * no interface configured the frame goes on untouched. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* Read-only config, set through the skeleton before load. */
const volatile __u32 out_ifindex = 0;
const volatile __u8 dst_mac[ETH_ALEN] = {};
const volatile __u8 src_mac[ETH_ALEN] = {};

SEC("tc")
int prism_l2fwd(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || !out_ifindex)
		return TC_ACT_OK;
	__builtin_memcpy(eth->h_dest, (const __u8 *)dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, (const __u8 *)src_mac, ETH_ALEN);
	return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
