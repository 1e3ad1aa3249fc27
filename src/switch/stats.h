/* Reading the switch's pinned maps from any process: `prism switch stats`
 * and `prism switch flows`, and a struct for programs that want numbers. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "prism_abi.h"
#include "switch/agent.h"

struct switch_stats {
	uint64_t dp[PRISM_STAT_MAX];     /* data plane, summed over CPUs */
	uint64_t agent[AGENT_STAT_MAX];  /* agent counters (all 0 if absent) */
	bool have_agent;
	uint32_t flows, flows_capacity;
	uint32_t rev_flows, rev_capacity;
};

/* Reads every counter under PIN_DIR.  Returns 0 or -errno (-ENOENT: no
 * agent has pinned its maps there), with an error logged. */
int switch_stats_read(const char *pin_dir, struct switch_stats *st);

/* Print to stdout; return 0 or -errno. */
int switch_stats_print(const char *pin_dir, bool json);
int switch_flows_print(const char *pin_dir, bool json);
