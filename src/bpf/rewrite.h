/* Header rewrites.  Each one follows the same order: update the checksums
 * incrementally (RFC 1624, through the kernel helpers, which also keep
 * skb->csum right under CHECKSUM_COMPLETE/PARTIAL), store the new bytes,
 * check every result.  Only header words are touched, so the cost does not
 * grow with the packet size.  Helpers may move the skb data: callers must
 * not reuse packet pointers taken before a rewrite. */
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

/* Replaces the IPv4 address at @off (source or destination).  The TCP
 * checksum covers it through the pseudo-header, hence BPF_F_PSEUDO_HDR. */
static __always_inline int rewrite_ip_addr(struct __sk_buff *skb, __u32 off,
					   __be32 old, __be32 new)
{
	if (bpf_l4_csum_replace(skb, TCP_CSUM_OFF, old, new,
				BPF_F_PSEUDO_HDR | sizeof(new)))
		return -1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, sizeof(new)))
		return -1;
	if (bpf_skb_store_bytes(skb, off, &new, sizeof(new), 0))
		return -1;
	return 0;
}

/* Replaces a 16-bit word of the TCP header (flags word, window). */
static __always_inline int rewrite_tcp_word(struct __sk_buff *skb, __u32 off,
					    __be16 old, __be16 new)
{
	if (old == new)
		return 0;
	if (bpf_l4_csum_replace(skb, TCP_CSUM_OFF, old, new, sizeof(new)))
		return -1;
	if (bpf_skb_store_bytes(skb, off, &new, sizeof(new), 0))
		return -1;
	return 0;
}

/* Sets the DSCP to MARK (0: cleared, or PRISM_TOS_MARK), ECN bits kept.
 * The TOS byte is outside the TCP pseudo-header: only the IP checksum
 * changes. */
static __always_inline int rewrite_dscp(struct __sk_buff *skb,
					const struct packet *p, __u8 mark)
{
	__be16 word = (p->ip_word0 & ~bpf_htons(PRISM_TOS_DSCP_MASK)) |
		      bpf_htons(mark);

	if (word == p->ip_word0)
		return 0;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, p->ip_word0, word,
				sizeof(word)))
		return -1;
	if (bpf_skb_store_bytes(skb, PKT_IP_OFF, &word, sizeof(word), 0))
		return -1;
	return 0;
}

/* Clears the in-band mark. */
static __always_inline int rewrite_clear_mark(struct __sk_buff *skb,
					      const struct packet *p)
{
	return rewrite_dscp(skb, p, 0);
}

/* Writes both MAC addresses.  The helpers above may have reallocated the
 * skb head, so the packet pointers are loaded and checked afresh. */
static __always_inline int rewrite_macs(struct __sk_buff *skb,
					const __u8 *dst, const __u8 *src)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	return 0;
}
