/* Packet builder and checksum verifier; see pkt.h.  Headers are written
 * byte by byte at their RFC offsets, independently of any struct layout. */
#include "lab/pkt.h"

#include <errno.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	for (; len > 1; len -= 2, p += 2)
		s += get16(p);
	if (len)
		s += (uint32_t)p[0] << 8; /* odd byte, zero padded */
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The partial sum of the TCP/UDP pseudo-header. */
static uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = 0;

	for (int i = 12; i < 20; i += 2)
		sum += get16(ip + i);
	return sum + proto + l4_len;
}

static size_t l4_header_len(const struct pkt_spec *s, uint8_t proto)
{
	if (proto == PROTO_TCP)
		return PKT_TCP_LEN + s->tcp_opt_len;
	return 8; /* UDP and ICMP echo */
}

static size_t put_eth(const struct pkt_spec *s, uint8_t *p, uint16_t type)
{
	memcpy(p, s->dst_mac, 6);
	memcpy(p + 6, s->src_mac, 6);
	if (!s->vlan_id) {
		put16(p + 12, type);
		return PKT_ETH_LEN;
	}
	put16(p + 12, ETHERTYPE_VLAN);
	put16(p + 14, s->vlan_id & 0x0fff);
	put16(p + 16, type);
	return PKT_ETH_LEN + PKT_VLAN_LEN;
}

static void put_ipv4(const struct pkt_spec *s, uint8_t *ip, uint8_t proto,
		     size_t tot_len)
{
	size_t hlen = PKT_IP_LEN + s->ip_opt_len;

	ip[0] = 0x40 | (uint8_t)(hlen / 4);
	ip[1] = s->tos;
	put16(ip + 2, (uint16_t)tot_len);
	put16(ip + 4, s->ip_id);
	put16(ip + 6, s->frag ? s->frag : 0x4000);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = proto;
	put16(ip + 10, 0);
	put32(ip + 12, s->saddr);
	put32(ip + 16, s->daddr);
	memset(ip + PKT_IP_LEN, 0x01, s->ip_opt_len); /* NOP options */
	put16(ip + 10, pkt_csum(ip, hlen, 0));
}

/* NOP NOP + timestamps when there is room, NOP padding otherwise. */
static void put_tcp_options(uint8_t *opt, size_t len, uint32_t tsval)
{
	memset(opt, 0x01, len);
	if (len < 12)
		return;
	opt[2] = 8;
	opt[3] = 10;
	put32(opt + 4, tsval);
	put32(opt + 8, 0);
}

static void put_l4(const struct pkt_spec *s, uint8_t *ip, uint8_t proto,
		   size_t l4_len)
{
	uint8_t *l4 = ip + PKT_IP_LEN + s->ip_opt_len;
	size_t hlen = l4_header_len(s, proto);
	uint16_t sum;

	for (size_t i = 0; i < s->payload_len; i++)
		l4[hlen + i] = (uint8_t)(i * 31 + 7);
	if (proto == PROTO_ICMP) {
		l4[0] = 8; /* echo request */
		l4[1] = 0;
		put16(l4 + 2, 0);
		put16(l4 + 4, s->sport);
		put16(l4 + 6, s->dport);
		put16(l4 + 2, pkt_csum(l4, l4_len, 0));
		return;
	}
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (proto == PROTO_UDP) {
		put16(l4 + 4, (uint16_t)l4_len);
		put16(l4 + 6, 0);
		sum = pkt_csum(l4, l4_len, pseudo_sum(ip, proto, l4_len));
		put16(l4 + 6, sum ? sum : 0xffff);
		return;
	}
	put32(l4 + 4, s->seq);
	put32(l4 + 8, s->ack);
	l4[12] = (uint8_t)(hlen / 4) << 4;
	l4[13] = s->flags;
	put16(l4 + 14, s->window);
	put16(l4 + 16, 0);
	put16(l4 + 18, 0);
	put_tcp_options(l4 + PKT_TCP_LEN, s->tcp_opt_len, s->seq ^ 0x5a5a5a5a);
	put16(l4 + 16, pkt_csum(l4, l4_len, pseudo_sum(ip, proto, l4_len)));
}

int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t size)
{
	uint8_t proto = s->proto ? s->proto : PROTO_TCP;
	size_t l2, l4_len, tot_len;

	if (s->ip_opt_len % 4 || s->ip_opt_len > 40 || s->tcp_opt_len % 4 ||
	    s->tcp_opt_len > 40)
		return -EINVAL;
	if (proto != PROTO_TCP && proto != PROTO_UDP && proto != PROTO_ICMP)
		return -EINVAL;
	l2 = PKT_ETH_LEN + (s->vlan_id ? PKT_VLAN_LEN : 0);
	l4_len = l4_header_len(s, proto) + s->payload_len;
	tot_len = PKT_IP_LEN + s->ip_opt_len + l4_len;
	if (tot_len > 0xffff || l2 + tot_len > size)
		return -ENOSPC;
	put_eth(s, buf, ETHERTYPE_IPV4);
	put_ipv4(s, buf + l2, proto, tot_len);
	put_l4(s, buf + l2, proto, l4_len);
	return (int)(l2 + tot_len);
}

int pkt_build_arp(const uint8_t src_mac[6], uint32_t sip, uint32_t tip,
		  uint8_t *buf, size_t size)
{
	uint8_t *a = buf + PKT_ETH_LEN;

	if (size < PKT_ETH_LEN + 28)
		return -ENOSPC;
	memset(buf, 0xff, 6);
	memcpy(buf + 6, src_mac, 6);
	put16(buf + 12, ETHERTYPE_ARP);
	put16(a, 1);              /* Ethernet */
	put16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);          /* request */
	memcpy(a + 8, src_mac, 6);
	put32(a + 14, sip);
	memset(a + 18, 0, 6);
	put32(a + 24, tip);
	return PKT_ETH_LEN + 28;
}

int pkt_build_ipv6(const uint8_t dst_mac[6], const uint8_t src_mac[6],
		   uint8_t *buf, size_t size)
{
	const size_t len = PKT_ETH_LEN + 40 + PKT_TCP_LEN;
	uint8_t *ip6 = buf + PKT_ETH_LEN;

	if (size < len)
		return -ENOSPC;
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	put16(buf + 12, ETHERTYPE_IPV6);
	memset(ip6, 0, 40 + PKT_TCP_LEN);
	ip6[0] = 0x60;
	put16(ip6 + 4, PKT_TCP_LEN);
	ip6[6] = PROTO_TCP;
	ip6[7] = 64;
	ip6[8] = 0x20;            /* 2001:db8::1 -> 2001:db8::2 */
	ip6[9] = 0x01;
	ip6[10] = 0x0d;
	ip6[11] = 0xb8;
	memcpy(ip6 + 24, ip6 + 8, 16);
	ip6[23] = 1;
	ip6[39] = 2;
	put16(ip6 + 40, 40000);
	put16(ip6 + 42, 80);
	ip6[52] = 5 << 4;
	ip6[53] = PKT_ACK;
	return (int)len;
}

int pkt_verify_csums(const uint8_t *frame, size_t len)
{
	const uint8_t *ip = frame + PKT_ETH_LEN;
	size_t hlen, tot_len, l4_len;
	uint32_t sum = 0;

	if (len < PKT_ETH_LEN + PKT_IP_LEN ||
	    get16(frame + 12) != ETHERTYPE_IPV4)
		return -EINVAL;
	hlen = (ip[0] & 0x0f) * 4u;
	tot_len = get16(ip + 2);
	if (hlen < PKT_IP_LEN || tot_len < hlen || PKT_ETH_LEN + tot_len > len)
		return -EINVAL;
	if (pkt_csum(ip, hlen, 0) != 0)
		return -EBADMSG;
	l4_len = tot_len - hlen;
	if (ip[9] == PROTO_TCP || ip[9] == PROTO_UDP)
		sum = pseudo_sum(ip, ip[9], (uint16_t)l4_len);
	else if (ip[9] != PROTO_ICMP)
		return 0;
	if (pkt_csum(ip + hlen, l4_len, sum) != 0)
		return -EBADMSG;
	return 0;
}
