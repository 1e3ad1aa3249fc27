#include "switch/table.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

struct prism_rev_key table_rev_key(const struct prism_flow_key *key,
				   __be32 backend_ip)
{
	struct prism_rev_key rk;

	memset(&rk, 0, sizeof(rk));
	rk.backend_ip = backend_ip;
	rk.client_ip = key->client_ip;
	rk.backend_port = key->vip_port; /* the port is not rewritten */
	rk.client_port = key->client_port;
	return rk;
}

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

static bool same_key(const struct prism_flow_key *a,
		     const struct prism_flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Removes rev(BACKEND) if it still belongs to KEY. */
static int rev_drop(const struct flow_table *t,
		    const struct prism_flow_key *key, __be32 backend)
{
	struct prism_rev_key rk = table_rev_key(key, backend);
	struct prism_flow_key cur;

	if (bpf_map_lookup_elem(t->rev_fd, &rk, &cur))
		return errno == ENOENT ? 0 : -errno;
	if (!same_key(&cur, key))
		return 0;
	if (bpf_map_delete_elem(t->rev_fd, &rk) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Whether rev(BACKEND) of KEY is taken by a live flow other than KEY:
 * the same client address and port talking to another VIP on the same
 * port, moved to the same backend.  Stale entries do not count. */
static int rev_taken(const struct flow_table *t,
		     const struct prism_flow_key *key, __be32 backend,
		     bool *present)
{
	struct prism_rev_key rk = table_rev_key(key, backend);
	struct prism_flow_value other;
	struct prism_flow_key cur;
	int err;

	*present = false;
	if (bpf_map_lookup_elem(t->rev_fd, &rk, &cur))
		return errno == ENOENT ? 0 : -errno;
	if (same_key(&cur, key)) {
		*present = true;
		return 0;
	}
	err = flow_get(t, &cur, &other);
	if (err < 0)
		return err;
	return err == 1 && other.backend_ip == backend ? -EADDRINUSE : 0;
}

/* OWN(B), OWN_OPEN(B) and LOCK(B): the flow carries B from now on. */
static int apply_own(const struct flow_table *t, const struct switch_op *op,
		     const struct prism_flow_value *old, bool had_flow)
{
	struct prism_rev_key rk = table_rev_key(&op->key, op->backend_ip);
	struct prism_flow_value v = *old;
	bool rev_present;
	int err;

	if (op->backend_ip == 0)
		return -EINVAL;
	err = rev_taken(t, &op->key, op->backend_ip, &rev_present);
	if (err)
		return err;
	/* 1. The reverse entry first: OWNED(B) must never lack rev(B). */
	if (!rev_present &&
	    bpf_map_update_elem(t->rev_fd, &rk, &op->key, BPF_ANY))
		return map_err(-errno);
	/* 2. The flow; counters carried over from the old entry. */
	v.state = op->op == SWITCH_OWN_OPEN ? PRISM_FLOW_OWNED_OPEN
		  : op->op == SWITCH_LOCK   ? PRISM_FLOW_LOCKED
					    : PRISM_FLOW_OWNED;
	v.flags = op->op == SWITCH_LOCK ? PRISM_FLOW_F_CLAIM : 0;
	v.backend_ip = op->backend_ip;
	if (bpf_map_update_elem(t->flows_fd, &op->key, &v, BPF_ANY)) {
		err = map_err(-errno);
		if (!rev_present)
			bpf_map_delete_elem(t->rev_fd, &rk);
		return err;
	}
	/* 3. The old backend's entry, now that nothing refers to it. */
	if (had_flow && old->backend_ip && old->backend_ip != op->backend_ip)
		return rev_drop(t, &op->key, old->backend_ip);
	return 0;
}

static int apply_lock(const struct flow_table *t, const struct switch_op *op,
		      const struct prism_flow_value *old)
{
	struct prism_flow_value v = *old;

	/* The backend stays recorded (and its reverse entry in place) so
	 * that its segments are dropped while its socket is frozen, and so
	 * that DELETE can find the reverse entry later. */
	v.state = PRISM_FLOW_LOCKED;
	v.flags = 0; /* a pending claim is void: the hand-off was called off */
	if (bpf_map_update_elem(t->flows_fd, &op->key, &v, BPF_ANY))
		return map_err(-errno);
	return 0;
}

static int apply_delete(const struct flow_table *t,
			const struct switch_op *op,
			const struct prism_flow_value *old, bool had_flow)
{
	if (!had_flow)
		return 0;
	if (bpf_map_delete_elem(t->flows_fd, &op->key) && errno != ENOENT)
		return -errno;
	if (old->backend_ip)
		return rev_drop(t, &op->key, old->backend_ip);
	return 0;
}

int table_apply(const struct flow_table *t, const struct switch_op *op)
{
	struct prism_flow_value old;
	int had;

	had = flow_get(t, &op->key, &old);
	if (had < 0)
		return had;
	/* An entry in no known state was not written by us: only DELETE
	 * may touch it. */
	if (had && op->op != SWITCH_DELETE && old.state != PRISM_FLOW_LOCKED &&
	    old.state != PRISM_FLOW_OWNED && old.state != PRISM_FLOW_OWNED_OPEN &&
	    old.state != PRISM_FLOW_HOME)
		return -EINVAL;
	switch (op->op) {
	case SWITCH_LOCK:
		if (op->backend_ip)
			return apply_own(t, op, &old, had);
		return apply_lock(t, op, &old);
	case SWITCH_OWN:
	case SWITCH_OWN_OPEN:
		return apply_own(t, op, &old, had);
	case SWITCH_DELETE:
		return apply_delete(t, op, &old, had);
	}
	return -EINVAL;
}
