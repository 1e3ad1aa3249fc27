#include "fast_frame.h"

#include <netinet/in.h>
#include <string.h>

#include "lab/pkt.h"

int fast_frame_build(uint32_t src, uint32_t agent, uint16_t dport,
		     const uint8_t src_mac[6], const uint8_t dst_mac[6],
		     const uint8_t msg[FAST_MSG_LEN], uint8_t *frame)
{
	struct pkt_spec s = { .proto = IPPROTO_UDP, .saddr = src,
			      .daddr = agent, .sport = 40001, .dport = dport,
			      .payload_len = FAST_MSG_LEN, .ip_id = 1 };
	uint8_t *udp = frame + PKT_ETH_LEN + PKT_IP_LEN;
	uint32_t pseudo;
	uint16_t sum;
	int len;

	memcpy(s.dst_mac, dst_mac, 6);
	memcpy(s.src_mac, src_mac, 6);
	len = pkt_build(&s, frame, PKT_MAX);
	if (len < 0)
		return len;
	memcpy(frame + FAST_FRAME_MSG_OFF, msg, FAST_MSG_LEN);
	pseudo = (src >> 16) + (src & 0xffff) + (agent >> 16) +
		 (agent & 0xffff) + IPPROTO_UDP + 8 + FAST_MSG_LEN;
	udp[6] = udp[7] = 0;
	sum = pkt_csum(udp, 8 + FAST_MSG_LEN, pseudo);
	sum = sum ? sum : 0xffff;
	udp[6] = (uint8_t)(sum >> 8);
	udp[7] = (uint8_t)sum;
	return len;
}
