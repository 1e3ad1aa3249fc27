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

/* Slots of agent_stats, with their names (`prism switch stats`,
 * /metrics).  PID and START are not counters. */
#define AGENT_STATS(X) \
	X(PID, pid) /* the running agent's pid, 0 once stopped */ \
	X(START, start_time) /* start time, unix seconds */ \
	X(DATAGRAMS, datagrams) /* datagrams received */ \
	X(EXECUTED, executed) /* requests executed */ \
	X(RETRANSMITS, retransmits) /* duplicates answered from the cache */ \
	X(RESPONSES, responses) /* responses sent */ \
	X(OPS, ops) /* ops executed */ \
	X(OP_ERRORS, op_errors) /* ops answered with a non-zero status */ \
	X(TABLE_FULL, table_full) /* ... ENOSPC */ \
	X(BAD_STATE, bad_state) /* ... EINVAL or EADDRINUSE */ \
	X(REPLAYS, replays) /* sequence below the window: dropped */ \
	X(UNKNOWN_PEER, unknown_peer) /* source address not in --peer: dropped */ \
	X(PEERS_FULL, peers_full) /* AGENT_MAX_PEER_IDS reached: dropped */ \
	X(TRUNCATED, truncated) /* decode failures, by enum ctl_error */ \
	X(BAD_MAGIC, bad_magic) \
	X(BAD_VERSION, bad_version) \
	X(BAD_TYPE, bad_type) \
	X(BAD_COUNT, bad_count) \
	X(BAD_LENGTH, bad_length) \
	X(BAD_AUTH, bad_auth) \
	X(BAD_OP, bad_op) \
	X(RECV_ERRORS, recv_errors) \
	X(SEND_ERRORS, send_errors)

enum agent_stat {
#define AGENT_STAT_ENUM(e, name) AGENT_STAT_##e,
	AGENT_STATS(AGENT_STAT_ENUM)
#undef AGENT_STAT_ENUM
	AGENT_STAT_MAX,
};

#define AGENT_STAT_NAME(e, name) #name,
#define AGENT_STAT_NAMES { AGENT_STATS(AGENT_STAT_NAME) }

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
	/* switch: prism_switch at ingress of the fabric's ports; host: the
	 * host programs at ingress and egress of this host's port, as the
	 * controller's host or (host_backend) a backend's (docs/switch.md). */
	enum agent_mode { AGENT_MODE_SWITCH, AGENT_MODE_HOST } mode;
	bool host_backend;
};

/* Fills the defaults: listen 0.0.0.0:7700, PRISM_FLOW_TABLE_DEFAULT, pin
 * dir /sys/fs/bpf/$PRISM_TESTBED (or /sys/fs/bpf/prism), admin
 * 127.0.0.1:9900. */
void agent_config_init(struct agent_config *cfg);
void agent_default_pin_dir(char *buf, size_t size);
struct config;
/* Parses `prism switch run`'s options (argv[0] "run"; the --config file
 * kept in FILE) into CFG after agent_config_init.  Messages go to stderr.
 * 0 or -errno. */
int agent_config_parse(int argc, char **argv, struct agent_config *cfg,
		       struct config *file);
/* Loads the data plane as agent_run would (the verifier of this kernel
 * passes it), and unloads it: nothing attached, nothing pinned.  0, or
 * -errno with the loader's last message in WHY. */
int agent_probe_load(const struct agent_config *cfg, char *why,
		     size_t len);
/* `prism check --role switch ...` (check.c): an exit code. */
int agent_check(int argc, char **argv);

/* Runs the agent until SIGINT/SIGTERM.  Returns 0 after a clean shutdown
 * (filters detached, pins removed), or -errno if setup failed (all of it
 * undone).  -EBUSY: another agent runs on this pin dir. */
int agent_run(const struct agent_config *cfg);

/* `prism switch run|stats|flows|ctl ...`: the entry point (cli.c); an
 * exit code. */
int cmd_switch(int argc, char **argv);
