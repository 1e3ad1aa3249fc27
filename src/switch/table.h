/* The flow table as the agent changes it: one control op applied to the
 * `flows` and `rev_flows` maps of the data plane (by fd, so tests can use
 * maps of their own).  Single writer: only the agent's thread calls this;
 * the data plane reads concurrently and only adds to counters.
 *
 * Invariant kept at every step, so that the data plane never sees a flow
 * whose reverse entry points elsewhere: a flow that carries a backend
 * (OWNED by B, or LOCKED after being OWNED by B) has rev_flows[(B, client)]
 * == its key.  Hence the update order:
 *   OWN B:    add rev(B) -> set flow OWNED(B) -> drop rev(old backend)
 *   LOCK:     set flow LOCKED, backend kept -> (rev kept: backend segments
 *             of a LOCKED flow are dropped, not leaked to the client)
 *   LOCK B:   as OWN B, but the flow is LOCKED with PRISM_FLOW_F_CLAIM: B
 *             takes it over in band with its first marked segment
 *   DELETE:   drop flow -> drop rev(its backend)
 * A reverse entry is only ever removed when it points to this flow's key. */
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

/* Applies one op.  Returns 0 or -errno: -ENOSPC table full, -EINVAL bad
 * op (OWN without backend) or an entry in an unknown state, -EADDRINUSE
 * the backend-side 4-tuple already belongs to another flow of this
 * backend, or another -errno from the map syscalls. */
int table_apply(const struct flow_table *t, const struct switch_op *op);

struct prism_rev_key table_rev_key(const struct prism_flow_key *key,
				   __be32 backend_ip);
