/* ABI shared by the eBPF data plane (src/bpf) and user space (src/switch and
 * its clients).  Fixed-width kernel types only, no libc.  Addresses and ports
 * are kept in network byte order everywhere, as they appear on the wire. */
#pragma once
#include <linux/types.h>

/* The flow table key: the client-side TCP 4-tuple. */
struct prism_flow_key {
	__be32 client_ip;
	__be32 vip;
	__be16 client_port;
	__be16 vip_port;
};

enum prism_flow_state {
	PRISM_FLOW_LOCKED = 1, /* client segments dropped at the switch */
	PRISM_FLOW_OWNED = 2,  /* rewritten to/from backend_ip */
	/* OWNED, but the backend's receive window reaches the client as is:
	 * the backend is reading a request body (docs/store.md). */
	PRISM_FLOW_OWNED_OPEN = 3,
};

struct prism_flow_value {
	__u32 state;      /* enum prism_flow_state */
	__be32 backend_ip; /* valid when OWNED */
	/* Progress counters, updated by the data plane with atomic adds. */
	__u64 to_backend_packets;
	__u64 to_backend_bytes;
	__u64 to_client_packets;
	__u64 to_client_bytes;
	__u64 locked_drops;
};

/* The reverse table: backend-side 4-tuple -> client-side key, present only
 * while the flow is OWNED.  Maintained by the agent together with flows. */
struct prism_rev_key {
	__be32 backend_ip;
	__be32 client_ip;
	__be16 backend_port; /* == vip_port: the port is not rewritten */
	__be16 client_port;
};

/* Per-CPU counters (array map "stats"), indexed by this enum.  The first
 * group counts verdicts, the second why a packet was dropped or passed
 * without inspection. */
enum prism_stat {
	PRISM_STAT_PACKETS = 0,     /* every packet seen */
	PRISM_STAT_PASS,            /* forwarded untouched */
	PRISM_STAT_TO_BACKEND,      /* client->VIP rewritten to a backend */
	PRISM_STAT_TO_CLIENT,       /* backend->client rewritten from VIP */
	PRISM_STAT_REDIRECT,        /* forwarded by bpf_redirect after fib */
	PRISM_STAT_DROP_LOCKED,     /* client segment of a LOCKED flow */
	PRISM_STAT_DROP_REWRITE,    /* a rewrite helper failed */
	PRISM_STAT_NOT_IPV4,        /* passed: ARP, IPv6, VLAN, ... */
	PRISM_STAT_NOT_TCP,         /* passed: ICMP, UDP, ... */
	PRISM_STAT_MALFORMED,       /* passed: truncated or bad header */
	PRISM_STAT_IP_OPTIONS,      /* passed: IHL > 5 */
	PRISM_STAT_FRAGMENT,        /* passed: IP fragment */
	PRISM_STAT_MISS,            /* TCP with no flow entry, passed */
	PRISM_STAT_MAX,
};

#define PRISM_STAT_NAMES                                                      \
	{ "packets", "pass", "to_backend", "to_client", "redirect",            \
	  "drop_locked", "drop_rewrite", "not_ipv4", "not_tcp", "malformed",   \
	  "ip_options", "fragment", "miss" }

/* Default flow table size: room for 100k flows with slack for the hash. */
#define PRISM_FLOW_TABLE_DEFAULT 131072
