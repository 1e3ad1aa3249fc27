/* Header parsing for the switch: a cursor walks the frame header by header.
 * Every parse_* bounds-checks what it reads, advances the cursor and
 * returns 0, or the enum prism_stat reason why the frame is passed on
 * untouched.  Constants are compared in network byte order. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "prism_abi.h"

/* Fixed offsets: only untagged Ethernet + IPv4 without options + TCP is
 * ever rewritten, so the fields the rewrite touches sit at constants. */
#define PKT_IP_OFF	 ETH_HLEN
#define PKT_TCP_OFF	 (PKT_IP_OFF + sizeof(struct iphdr))
#define PKT_HDR_MIN	 (PKT_TCP_OFF + sizeof(struct tcphdr))
#define IP_CSUM_OFF	 (PKT_IP_OFF + offsetof(struct iphdr, check))
#define IP_SADDR_OFF	 (PKT_IP_OFF + offsetof(struct iphdr, saddr))
#define IP_DADDR_OFF	 (PKT_IP_OFF + offsetof(struct iphdr, daddr))
#define TCP_CSUM_OFF	 (PKT_TCP_OFF + offsetof(struct tcphdr, check))
#define TCP_WINDOW_OFF	 (PKT_TCP_OFF + offsetof(struct tcphdr, window))
/* The 16-bit word holding data offset and flags (bytes 12-13). */
#define TCP_FLAGS_OFF	 (PKT_TCP_OFF + 12)
#define TCP_FLAG_FIN_BE	 bpf_htons(0x0001)
#define TCP_FLAG_RST_BE	 bpf_htons(0x0004)
#define IP_FRAG_BITS_BE	 bpf_htons(0x3fff) /* MF + fragment offset */

struct cursor {
	void *pos;
	void *end;
};

/* What the switch needs from a parsed TCP/IPv4 frame, copied out of the
 * packet so that nothing dereferences packet pointers after a helper has
 * changed the skb. */
struct packet {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__be16 flags_word; /* doff + flags, as on the wire */
	__be16 window;
	__be16 ip_word0;   /* version, IHL, TOS: where the in-band mark sits */
	__u8 tos;
	__u32 seq;         /* TCP sequence number, host order */
	__u32 payload_len; /* TCP payload bytes */
};

static __always_inline bool pkt_marked(const struct packet *p)
{
	return (p->tos & PRISM_TOS_DSCP_MASK) == PRISM_TOS_MARK;
}

static __always_inline void cursor_init(struct cursor *c, struct __sk_buff *skb)
{
	c->pos = (void *)(long)skb->data;
	c->end = (void *)(long)skb->data_end;
}

static __always_inline int parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return PRISM_STAT_MALFORMED;
	/* VLAN tags, ARP and IPv6 all land here: not ours. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return PRISM_STAT_NOT_IPV4;
	c->pos = eth + 1;
	return 0;
}

/* @ip_room: bytes of the frame from the IP header to its end (skb->len
 * based, so it also holds for non-linear skbs). */
static __always_inline int parse_ipv4(struct cursor *c, __u32 ip_room,
				      struct packet *p, __u32 *tot_len)
{
	struct iphdr *ip = c->pos;
	__u32 len;

	if ((void *)(ip + 1) > c->end)
		return PRISM_STAT_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PRISM_STAT_MALFORMED;
	len = bpf_ntohs(ip->tot_len);
	if (len < ip->ihl * 4u || len > ip_room)
		return PRISM_STAT_MALFORMED;
	if (ip->protocol != IPPROTO_TCP)
		return PRISM_STAT_NOT_TCP;
	/* Options would move the TCP header off the fixed offsets, and some
	 * (source route, record route) name addresses we would have to keep
	 * consistent; a fragment either has no TCP header or is one piece of a
	 * datagram whose other pieces we cannot rewrite alike.  Neither occurs
	 * in our TCP flows (Linux sets DF and sends no options), so such a
	 * packet is passed to the kernel as it is, flow or not. */
	if (ip->ihl != 5)
		return PRISM_STAT_IP_OPTIONS;
	if (ip->frag_off & IP_FRAG_BITS_BE)
		return PRISM_STAT_FRAGMENT;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->ip_word0 = *(__be16 *)ip;
	p->tos = ip->tos;
	*tot_len = len;
	c->pos = ip + 1;
	return 0;
}

/* @seg_len: IP total length minus the IP header: the TCP segment. */
static __always_inline int parse_tcp(struct cursor *c, __u32 seg_len,
				     struct packet *p)
{
	struct tcphdr *tcp = c->pos;
	__u32 doff;

	if ((void *)(tcp + 1) > c->end || seg_len < sizeof(*tcp))
		return PRISM_STAT_MALFORMED;
	doff = tcp->doff * 4u;
	if (doff < sizeof(*tcp) || doff > seg_len)
		return PRISM_STAT_MALFORMED;
	p->sport = tcp->source;
	p->dport = tcp->dest;
	p->flags_word = *(__be16 *)((void *)tcp + 12);
	p->window = tcp->window;
	p->seq = bpf_ntohl(tcp->seq);
	p->payload_len = seg_len - doff;
	c->pos = tcp + 1;
	return 0;
}
