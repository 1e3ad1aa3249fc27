/* The data plane's writer of the flow transitions (prism_flow.h): stores
 * a prism_flow_change into the `flows` and `rev_flows` maps in place, in
 * the order that header gives.  Used by the fast control path (fast.h)
 * and the in-band unlock (switch.bpf.c); the agent's writer is
 * src/switch/table.c.  Included by switch.bpf.c after its maps. */
#pragma once
#include "prism_flow.h"

/* A store the compiler may not reorder or merge: another CPU reads the
 * entry while it changes. */
#define FLOW_STORE(field, v) (*(volatile __typeof__(field) *)&(field) = (v))

/* Step 2 in place.  A flow whose backend changes passes through LOCKED
 * (no claim), so that no CPU sees the new backend with the old state;
 * the state goes last. */
static __always_inline void flow_store(struct prism_flow_value *flow,
				       const struct prism_flow_change *c)
{
	if (flow->backend_ip != c->backend_ip) {
		FLOW_STORE(flow->state, PRISM_FLOW_LOCKED);
		FLOW_STORE(flow->flags, 0);
		FLOW_STORE(flow->backend_ip, c->backend_ip);
	}
	FLOW_STORE(flow->lock_seq, c->lock_seq);
	FLOW_STORE(flow->flags, c->flags);
	FLOW_STORE(flow->state, c->state);
}

/* Step 1: rev(B) names KEY; 0 or a positive errno.  *ADDED: written
 * here (undone if step 2 fails). */
static __always_inline int flow_rev_add(const struct prism_flow_key *key,
					__be32 backend, int *added)
{
	struct prism_rev_key rk = prism_rev_key_of(key, backend);
	struct prism_flow_value *other = NULL;
	struct prism_flow_key *cur, ck;
	int mine, err;

	*added = 0;
	cur = bpf_map_lookup_elem(&rev_flows, &rk);
	if (cur && !prism_flow_key_eq(cur, key)) {
		ck = *cur;
		other = bpf_map_lookup_elem(&flows, &ck);
	}
	err = prism_rev_check(key, cur, other, backend, &mine);
	if (err || mine)
		return err;
	if (bpf_map_update_elem(&rev_flows, &rk, key, BPF_ANY))
		return PRISM_ENOSPC;
	*added = 1;
	return 0;
}

/* Step 3: rev(B) removed if it still names KEY. */
static __always_inline void flow_rev_drop(const struct prism_flow_key *key,
					  __be32 backend)
{
	struct prism_rev_key rk = prism_rev_key_of(key, backend);
	struct prism_flow_key *cur = bpf_map_lookup_elem(&rev_flows, &rk);

	if (cur && prism_flow_key_eq(cur, key))
		bpf_map_delete_elem(&rev_flows, &rk);
}

/* Applies change C to KEY's entry FLOW (NULL: absent): 0 or a positive
 * errno. */
static __always_inline int flow_apply(const struct prism_flow_key *key,
				      struct prism_flow_value *flow,
				      const struct prism_flow_change *c)
{
	struct prism_flow_value v = {};
	int added = 0, err;

	if (c->status)
		return (int)c->status;
	if (c->rev_add) {
		err = flow_rev_add(key, c->rev_add, &added);
		if (err)
			return err;
	}
	if (c->action == PRISM_FLOW_WRITE && flow) {
		flow_store(flow, c);
	} else if (c->action == PRISM_FLOW_WRITE) {
		v.state = c->state;
		v.backend_ip = c->backend_ip;
		v.flags = c->flags;
		v.lock_seq = c->lock_seq;
		if (bpf_map_update_elem(&flows, key, &v, BPF_NOEXIST)) {
			if (added) {
				struct prism_rev_key rk =
					prism_rev_key_of(key, c->rev_add);

				bpf_map_delete_elem(&rev_flows, &rk);
			}
			return PRISM_ENOSPC;
		}
	} else if (c->action == PRISM_FLOW_REMOVE) {
		bpf_map_delete_elem(&flows, key);
	}
	if (c->rev_drop)
		flow_rev_drop(key, c->rev_drop);
	return 0;
}

/* One operation on KEY's entry, as the agent's table.c does it. */
static __always_inline int flow_execute(const struct prism_flow_key *key,
					const struct prism_op_args *a)
{
	struct prism_flow_value *flow = bpf_map_lookup_elem(&flows, key);
	struct prism_flow_change c;

	prism_flow_next(flow, a, &c);
	return flow_apply(key, flow, &c);
}
