/* A fast-path control datagram (prism_abi.h) as the switch sees it on its
 * port: Ethernet + IPv4 + UDP to the agent, checksums right.  For the BPF
 * tests that drive the fast path through BPF_PROG_TEST_RUN. */
#pragma once
#include <stdint.h>

#include "switch/fast.h"

#define FAST_FRAME_MSG_OFF (PKT_ETH_LEN + PKT_IP_LEN + 8)

/* The frame from SRC (host order) to AGENT:DPORT carrying MSG, with the
 * given MACs, into FRAME (PKT_MAX bytes).  Returns its length or -errno. */
int fast_frame_build(uint32_t src, uint32_t agent, uint16_t dport,
		     const uint8_t src_mac[6], const uint8_t dst_mac[6],
		     const uint8_t msg[FAST_MSG_LEN], uint8_t *frame);
