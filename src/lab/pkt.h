/* A packet builder for tests and benchmarks: Ethernet (optionally 802.1Q)
 * + IPv4 (optionally with options) + TCP, UDP or ICMP echo, with every
 * checksum computed from scratch; ARP and IPv6 frames for the pass-through
 * cases; and an independent checksum verifier.  No BPF, no kernel: it knows
 * nothing of the switch it is used to test.
 *
 * Every number in a spec is in host byte order, addresses included
 * (PKT_IP4(198, 18, 1, 2)); the builder writes them in network order. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define PKT_IP4(a, b, c, d)                                                   \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |     \
	 (uint32_t)(d))

#define PKT_ETH_LEN 14
#define PKT_VLAN_LEN 4
#define PKT_IP_LEN 20
#define PKT_TCP_LEN 20
#define PKT_MAX 9216

enum pkt_tcp_flag {
	PKT_FIN = 0x01,
	PKT_SYN = 0x02,
	PKT_RST = 0x04,
	PKT_PSH = 0x08,
	PKT_ACK = 0x10,
};

struct pkt_spec {
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	uint16_t vlan_id;     /* 0: untagged */
	uint32_t saddr;
	uint32_t daddr;
	uint8_t proto;        /* IPPROTO_TCP (default when 0), _UDP, _ICMP */
	uint8_t ttl;          /* 0 means 64 */
	uint8_t tos;
	uint16_t ip_id;
	uint16_t frag;        /* flags + offset word; 0 means DF only */
	uint8_t ip_opt_len;   /* bytes of IP options (NOPs), multiple of 4 */
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;        /* enum pkt_tcp_flag */
	uint16_t window;
	uint8_t tcp_opt_len;  /* bytes of TCP options (NOPs + timestamps) */
	uint16_t payload_len; /* filled with a fixed pattern */
};

/* Builds the frame into buf.  Returns its length, or -ENOSPC / -EINVAL. */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t size);
/* An ARP request (who-has tip, tell sip). */
int pkt_build_arp(const uint8_t src_mac[6], uint32_t sip, uint32_t tip,
		  uint8_t *buf, size_t size);
/* A minimal IPv6 + TCP frame (the switch must not look inside). */
int pkt_build_ipv6(const uint8_t dst_mac[6], const uint8_t src_mac[6],
		   uint8_t *buf, size_t size);

/* Internet checksum (RFC 1071) over data, added to a 32-bit partial sum;
 * returns the folded, complemented 16-bit result in host order. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);
/* Recomputes the IPv4 header checksum and the TCP/UDP/ICMP checksum of an
 * untagged Ethernet/IPv4 frame.  Returns 0 if both are right, -EBADMSG if
 * one is wrong, -EINVAL if the frame cannot be parsed. */
int pkt_verify_csums(const uint8_t *frame, size_t len);
