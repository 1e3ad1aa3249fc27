/* The switch agent (`prism switch run`): loads the data plane, attaches it
 * at tc ingress, pins its maps, and serves the control protocol until
 * SIGINT/SIGTERM.  Counters live in a pinned BPF array of its own,
 * "agent_stats", that the agent maps into memory, so that `prism switch
 * stats` reads them from another process. */
#pragma once
#include <stdbool.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>

#define AGENT_MAX_IFACES 64
#define AGENT_MAX_PEERS 64      /* --peer entries */
#define AGENT_MAX_PEER_IDS 256  /* (address, peer id) replay states */
#define AGENT_TC_HANDLE 0x5052  /* "PR" */
#define AGENT_TC_PRIORITY 1

/* Names of the pinned objects under the pin dir. */
#define PIN_FLOWS "flows"
#define PIN_REV_FLOWS "rev_flows"
#define PIN_STATS "stats"
#define PIN_AGENT_STATS "agent_stats"

/* Slots of agent_stats.  PID and START are not counters. */
enum agent_stat {
	AGENT_STAT_PID = 0,       /* the running agent's pid, 0 once stopped */
	AGENT_STAT_START,         /* start time, unix seconds */
	AGENT_STAT_DATAGRAMS,     /* datagrams received */
	AGENT_STAT_EXECUTED,      /* requests executed */
	AGENT_STAT_RETRANSMITS,   /* duplicates answered from the cache */
	AGENT_STAT_RESPONSES,     /* responses sent */
	AGENT_STAT_OPS,           /* ops executed */
	AGENT_STAT_OP_ERRORS,     /* ops answered with a non-zero status */
	AGENT_STAT_TABLE_FULL,    /* ... ENOSPC */
	AGENT_STAT_BAD_STATE,     /* ... EINVAL or EADDRINUSE */
	AGENT_STAT_REPLAYS,       /* sequence below the window: dropped */
	AGENT_STAT_UNKNOWN_PEER,  /* source address not in --peer: dropped */
	AGENT_STAT_PEERS_FULL,    /* AGENT_MAX_PEER_IDS reached: dropped */
	AGENT_STAT_TRUNCATED,     /* decode failures, by enum ctl_error */
	AGENT_STAT_BAD_MAGIC,
	AGENT_STAT_BAD_VERSION,
	AGENT_STAT_BAD_TYPE,
	AGENT_STAT_BAD_COUNT,
	AGENT_STAT_BAD_LENGTH,
	AGENT_STAT_BAD_AUTH,
	AGENT_STAT_BAD_OP,
	AGENT_STAT_RECV_ERRORS,
	AGENT_STAT_SEND_ERRORS,
	AGENT_STAT_MAX,
};

#define AGENT_STAT_NAMES                                                      \
	{ "pid", "start_time", "datagrams", "executed", "retransmits",        \
	  "responses", "ops", "op_errors", "table_full", "bad_state",         \
	  "replays", "unknown_peer", "peers_full", "truncated", "bad_magic",  \
	  "bad_version", "bad_type", "bad_count", "bad_length", "bad_auth",   \
	  "bad_op", "recv_errors", "send_errors" }

struct agent_peer {
	uint32_t net;  /* network order */
	uint32_t mask; /* network order */
};

struct agent_config {
	char ifaces[AGENT_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	struct agent_peer peers[AGENT_MAX_PEERS];
	int n_peers;
	struct sockaddr_in listen;
	const char *key_path;
	uint32_t table_size;
	char pin_dir[PATH_MAX];
	const char *ready_file; /* may be NULL */
	struct sockaddr_in admin; /* /metrics; port 0: none */
	bool fast_path;           /* the data plane answers fast LOCKs */
};

/* Fills the defaults: listen 0.0.0.0:7700, PRISM_FLOW_TABLE_DEFAULT, pin
 * dir /sys/fs/bpf/$PRISM_TESTBED (or /sys/fs/bpf/prism), admin
 * 127.0.0.1:9900. */
void agent_config_init(struct agent_config *cfg);
void agent_default_pin_dir(char *buf, size_t size);

/* Runs the agent until SIGINT/SIGTERM.  Returns 0 after a clean shutdown
 * (filters detached, pins removed), or -errno if setup failed (all of it
 * undone).  -EBUSY: another agent runs on this pin dir. */
int agent_run(const struct agent_config *cfg);

/* `prism switch run|stats|flows|ctl ...`: the entry point (cli.c); an
 * exit code. */
int cmd_switch(int argc, char **argv);
