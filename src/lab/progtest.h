/* Running the switch programs through BPF_PROG_TEST_RUN, for
 * tests/bpf/test_switch.c and `prism bench switch`.
 *
 * Both run in a private network namespace (progtest_enter_netns) so that
 * bpf_fib_lookup depends on nothing of the host.  progtest_net_setup adds a
 * veth pair with static neighbours there, for the redirect path:
 *
 *   pt0 198.18.250.1/24  ingress side; neighbour 198.18.250.2 (client)
 *   pt1 198.18.251.1/24  egress side;  neighbours 198.18.251.2 and .3
 *
 * with net.ipv4.conf.all.forwarding=1.  Each neighbour's MAC is
 * 02:00:c6:12:<3rd octet>:<4th octet>. */
#pragma once
#include <linux/types.h>
#include <stdint.h>

#include "prism_abi.h"

#define PROGTEST_IN_IP "198.18.250.1"
#define PROGTEST_OUT_IP "198.18.251.1"

struct progtest_net {
	int in_ifindex;       /* pt0 */
	int out_ifindex;      /* pt1 */
	uint8_t in_mac[6];    /* pt0's own MAC */
	uint8_t out_mac[6];   /* pt1's own MAC */
};

struct progtest_run {
	const void *data_in;
	uint32_t size_in;
	void *data_out;       /* may be NULL */
	uint32_t size_out;    /* in: size of data_out; out: bytes written */
	uint32_t ifindex;     /* skb->ifindex and ingress_ifindex; 0: lo */
	uint32_t repeat;      /* 0 or 1: run once */
	uint32_t retval;      /* out: the program's verdict */
	uint32_t duration_ns; /* out: kernel-measured ns per run */
};

/* Runs argv (e.g. an ip(8) command) with stdout silenced; 0, or -EIO
 * with the command in the log. */
int progtest_cmd(char *const argv[]);
/* unshare(CLONE_NEWNET) and bring lo up. */
int progtest_enter_netns(void);
/* The veth pair above; call inside the private namespace. */
int progtest_net_setup(struct progtest_net *net);
/* The MAC progtest_net_setup gives the neighbour at ip (host order). */
void progtest_neigh_mac(uint32_t ip, uint8_t mac[6]);
/* One BPF_PROG_TEST_RUN of a tc program. */
int progtest_run(int prog_fd, struct progtest_run *run);
/* Sums the per-CPU "stats" map into out[PRISM_STAT_MAX]. */
int progtest_read_stats(int stats_fd, uint64_t out[PRISM_STAT_MAX]);
/* Zeroes every per-CPU slot of the "stats" map. */
int progtest_clear_stats(int stats_fd);
