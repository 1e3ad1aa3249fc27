/* The flow table as the agent changes it: one control op applied to the
 * `flows` and `rev_flows` maps of the data plane (by fd, so tests can use
 * maps of their own), through map syscalls.  What an op does is
 * prism_flow_next() (prism_flow.h), the same function the data plane's
 * fast path and in-band transitions call; this file only stores its
 * result, in the order prism_flow.h gives.  Single writer among user
 * space: only the agent's thread calls this; the data plane writes too
 * (fast path, in-band claim/unlock) and adds to counters. */
#pragma once
#include "prism_abi.h"
#include "switch/ctl.h"

struct flow_table {
	int flows_fd; /* prism_flow_key -> prism_flow_value */
	int rev_fd;   /* prism_rev_key -> prism_flow_key */
};

/* Reverse-table slots beyond the flow table's size: OWN to a new backend
 * holds two reverse entries for a moment. */
#define TABLE_REV_SPARE 1

/* Applies one op sent by SENDER (its source address: LOCK_TAIL counts
 * only from the flow's owner).  Returns 0 or -errno: -ENOSPC table full,
 * -EINVAL bad op (OWN without backend) or an entry in an unknown state,
 * -EADDRINUSE the backend-side 4-tuple already belongs to another flow of
 * this backend, or another -errno from the map syscalls. */
int table_apply(const struct flow_table *t, const struct switch_op *op,
		__be32 sender);
