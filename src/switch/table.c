#include "switch/table.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "prism_flow.h"

/* A full hash map answers E2BIG; callers see ENOSPC. */
static int map_err(int err)
{
	return err == -E2BIG ? -ENOSPC : err;
}

/* Reads KEY's entry: 1 present, 0 absent, or -errno. */
static int flow_get(const struct flow_table *t,
		    const struct prism_flow_key *key,
		    struct prism_flow_value *v)
{
	if (bpf_map_lookup_elem(t->flows_fd, key, v) == 0)
		return 1;
	memset(v, 0, sizeof(*v));
	return errno == ENOENT ? 0 : -errno;
}

/* Step 1: rev(B) names KEY.  *ADDED: we wrote it (undo on failure). */
static int rev_add(const struct flow_table *t, const struct prism_flow_key *key,
		   __be32 backend, bool *added)
{
	struct prism_rev_key rk = prism_rev_key_of(key, backend);
	struct prism_flow_value other;
	struct prism_flow_key cur;
	int mine, have_other = 0, err;

	*added = false;
	if (bpf_map_lookup_elem(t->rev_fd, &rk, &cur)) {
		if (errno != ENOENT)
			return -errno;
		err = prism_rev_check(key, NULL, NULL, backend, &mine);
	} else {
		if (!prism_flow_key_eq(&cur, key)) {
			have_other = flow_get(t, &cur, &other);
			if (have_other < 0)
				return have_other;
		}
		err = prism_rev_check(key, &cur, have_other ? &other : NULL,
				      backend, &mine);
	}
	if (err)
		return -err;
	if (mine)
		return 0;
	if (bpf_map_update_elem(t->rev_fd, &rk, key, BPF_ANY))
		return map_err(-errno);
	*added = true;
	return 0;
}

/* Step 3: rev(B) removed if it still names KEY. */
static int rev_drop(const struct flow_table *t,
		    const struct prism_flow_key *key, __be32 backend)
{
	struct prism_rev_key rk = prism_rev_key_of(key, backend);
	struct prism_flow_key cur;

	if (bpf_map_lookup_elem(t->rev_fd, &rk, &cur))
		return errno == ENOENT ? 0 : -errno;
	if (!prism_flow_key_eq(&cur, key))
		return 0;
	if (bpf_map_delete_elem(t->rev_fd, &rk) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Step 2: the whole value replaced in one update (the data plane sees the
 * old entry or the new one), counters carried over. */
static int flow_store(const struct flow_table *t,
		      const struct prism_flow_key *key,
		      const struct prism_flow_value *old,
		      const struct prism_flow_change *c)
{
	struct prism_flow_value v = *old;

	if (c->action == PRISM_FLOW_REMOVE) {
		if (bpf_map_delete_elem(t->flows_fd, key) && errno != ENOENT)
			return -errno;
		return 0;
	}
	v.state = c->state;
	v.backend_ip = c->backend_ip;
	v.flags = c->flags;
	v.lock_seq = c->lock_seq;
	if (bpf_map_update_elem(t->flows_fd, key, &v, BPF_ANY))
		return map_err(-errno);
	return 0;
}

int table_apply(const struct flow_table *t, const struct switch_op *op,
		__be32 sender)
{
	struct prism_op_args a = { .op = op->op, .backend_ip = op->backend_ip,
				   .sender = sender, .tail_seq = op->tail_seq };
	struct prism_flow_change c;
	struct prism_flow_value old;
	bool added = false;
	int had, err;

	had = flow_get(t, &op->key, &old);
	if (had < 0)
		return had;
	/* CLAIM and UNLOCK happen in band only. */
	if (!prism_op_wire_valid(op->op, op->backend_ip, op->tail_seq))
		return -EINVAL;
	prism_flow_next(had ? &old : NULL, &a, &c);
	if (c.status)
		return -(int)c.status;
	if (c.rev_add) {
		err = rev_add(t, &op->key, c.rev_add, &added);
		if (err)
			return err;
	}
	if (c.action != PRISM_FLOW_KEEP) {
		err = flow_store(t, &op->key, &old, &c);
		if (err && added) {
			struct prism_rev_key rk =
				prism_rev_key_of(&op->key, c.rev_add);

			bpf_map_delete_elem(t->rev_fd, &rk);
		}
		if (err)
			return err;
	}
	return c.rev_drop ? rev_drop(t, &op->key, c.rev_drop) : 0;
}
