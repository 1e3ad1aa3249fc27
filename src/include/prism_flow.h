/* The flow transitions: the one definition of how an operation changes a
 * switch flow entry.  Pure functions over values, no maps, no helpers, no
 * libc: compiled into the data plane (src/bpf: the fast control path and
 * the in-band claim/unlock) and into user space (src/switch/table.c, the
 * agent's path), so that the writers of the table cannot drift apart.
 * tests/bpf/test_flow_core.c runs every (state, op) pair through all of
 * them and through prism_flow_next() and asserts one result.
 *
 * States (prism_abi.h), and who moves a flow between them:
 *
 *   absent --LOCK(B) by the controller--> LOCKED, claim for B
 *   LOCKED, claim for B --CLAIM: B's first marked segment--> OWNED(B)
 *   OWNED(B) <--OWN / OWN_OPEN by B--> OWNED_OPEN(B)  (reading a body)
 *   OWNED*(B) --LOCK_TAIL by B at hand-back--> LOCKED, tail of B
 *   LOCKED (no claim) --UNLOCK: the controller's marked window update--> HOME
 *   HOME --LOCK(B') by the controller (next request)--> LOCKED, claim for B'
 *   any --DELETE (controller closes, or backend aborts)--> absent
 *   any --LOCK without claimant--> LOCKED (a hand-off called off)
 *
 * A writer applies a change in this order, which keeps the data plane
 * consistent at every step (the reverse table maps a backend-side 4-tuple
 * to the flow's key; OWNED(B) must never lack rev(B)):
 *   1. rev_add: rev(B) -> key, unless it already names the key; refused
 *      (EADDRINUSE) if it names another live flow carried by B
 *      (prism_rev_check);
 *   2. the entry written (action WRITE; counters kept) or removed;
 *   3. rev_drop: rev(B) removed if it still names this key.
 * A writer that changes an entry in place (the data plane) moves it
 * through LOCKED while its backend changes, and stores the state last
 * (prism_flow_store in src/bpf). */
#pragma once
#include <linux/types.h>

#include "prism_abi.h"

/* Operations.  1..5 travel on the wire (the agent's control protocol and
 * the fast path use these numbers); CLAIM and UNLOCK are in band only. */
enum prism_op {
	PRISM_OP_LOCK = 1,      /* client segments dropped; names a claimant or 0 */
	PRISM_OP_LOCK_TAIL = 2, /* the owner at hand-back, with its snd_nxt */
	PRISM_OP_DELETE = 3,    /* the entry and its reverse entry removed */
	PRISM_OP_OWN = 4,       /* OWNED by backend_ip */
	PRISM_OP_OWN_OPEN = 5,  /* OWNED_OPEN by backend_ip */
	PRISM_OP_CLAIM = 6,     /* in band: a marked segment from sender */
	PRISM_OP_UNLOCK = 7,    /* in band: the controller's marked segment */
	PRISM_OP_WIRE_MAX = PRISM_OP_OWN_OPEN,
};

/* Positive errno values (no libc in BPF). */
#define PRISM_EPERM 1
#define PRISM_EINVAL 22
#define PRISM_ENOSPC 28
#define PRISM_EADDRINUSE 98
#define PRISM_EALREADY 114

struct prism_op_args {
	__u8 op;           /* enum prism_op */
	__be32 backend_ip; /* LOCK: claimant or 0; OWN, OWN_OPEN: the owner */
	__be32 sender;     /* LOCK_TAIL, CLAIM: who sent it */
	__u32 tail_seq;    /* LOCK_TAIL: the sender's snd_nxt, host order */
};

enum prism_flow_action {
	PRISM_FLOW_KEEP = 0,  /* nothing to store */
	PRISM_FLOW_WRITE = 1, /* store next (add the entry if absent) */
	PRISM_FLOW_REMOVE = 2,
};

struct prism_flow_change {
	__u32 status; /* 0, or a positive errno: nothing may change */
	__u32 action; /* enum prism_flow_action */
	/* WRITE: the control fields; the progress counters stay. */
	__u32 state;
	__be32 backend_ip;
	__u32 flags;
	__u32 lock_seq;
	__be32 rev_add;  /* step 1: rev(B) for B, or 0 */
	__be32 rev_drop; /* step 3: rev(B) for B, or 0 */
};

/* Whether an operation's fields are well-formed for the wire: a control
 * op; no backend on LOCK_TAIL and DELETE; a tail only on LOCK_TAIL.  The
 * codecs of both control paths refuse anything else. */
static inline __attribute__((always_inline)) int
prism_op_wire_valid(__u8 op, __be32 backend_ip, __u32 tail_seq)
{
	if (op < PRISM_OP_LOCK || op > PRISM_OP_WIRE_MAX)
		return 0;
	if ((op == PRISM_OP_LOCK_TAIL || op == PRISM_OP_DELETE) && backend_ip)
		return 0;
	return op == PRISM_OP_LOCK_TAIL || tail_seq == 0;
}

static inline __attribute__((always_inline)) int
prism_flow_state_known(__u32 state)
{
	return state == PRISM_FLOW_LOCKED || state == PRISM_FLOW_OWNED ||
	       state == PRISM_FLOW_OWNED_OPEN || state == PRISM_FLOW_HOME;
}

static inline __attribute__((always_inline)) void
prism_change_write(struct prism_flow_change *c,
		   const struct prism_flow_value *old, __u32 state,
		   __be32 backend, __u32 flags)
{
	c->action = PRISM_FLOW_WRITE;
	c->state = state;
	c->backend_ip = backend;
	c->flags = flags;
	c->lock_seq = old ? old->lock_seq : 0;
}

/* The flow carries B from now on (LOCK naming B, OWN, OWN_OPEN): rev(B)
 * first, the old backend's reverse entry last. */
static inline __attribute__((always_inline)) void
prism_change_to_backend(struct prism_flow_change *c,
			const struct prism_flow_value *old, __u32 state,
			__be32 backend, __u32 flags)
{
	prism_change_write(c, old, state, backend, flags);
	c->rev_add = backend;
	if (old && old->backend_ip && old->backend_ip != backend)
		c->rev_drop = old->backend_ip;
}

/* LOCK_TAIL by the flow's owner: its segments up to tail_seq, sent before
 * the lock, still pass (PRISM_FLOW_F_TAIL).  Repeated (a retransmission
 * through the other control path), it records the same tail again.  From
 * anyone else, or on a flow the sender does not own, a plain LOCK. */
static inline __attribute__((always_inline)) int
prism_is_owner_tail(const struct prism_flow_value *old,
		    const struct prism_op_args *a)
{
	if (!old || old->backend_ip != a->sender || !a->sender)
		return 0;
	return old->state == PRISM_FLOW_OWNED ||
	       old->state == PRISM_FLOW_OWNED_OPEN ||
	       (old->state == PRISM_FLOW_LOCKED &&
		(old->flags & PRISM_FLOW_F_TAIL));
}

static inline __attribute__((always_inline)) void
prism_next_lock(const struct prism_flow_value *old,
		const struct prism_op_args *a, struct prism_flow_change *c)
{
	if (a->op == PRISM_OP_LOCK && a->backend_ip) {
		prism_change_to_backend(c, old, PRISM_FLOW_LOCKED,
					a->backend_ip, PRISM_FLOW_F_CLAIM);
		return;
	}
	if (a->op == PRISM_OP_LOCK_TAIL && prism_is_owner_tail(old, a)) {
		prism_change_write(c, old, PRISM_FLOW_LOCKED, old->backend_ip,
				   PRISM_FLOW_F_TAIL);
		c->lock_seq = a->tail_seq;
		return;
	}
	/* The backend stays recorded, with its reverse entry, so that its
	 * segments are dropped while its socket is frozen and DELETE finds
	 * the reverse entry later.  A pending claim is void: the hand-off
	 * was called off. */
	prism_change_write(c, old, PRISM_FLOW_LOCKED, old ? old->backend_ip : 0,
			   0);
}

/* In band: B's marked segment takes a flow LOCKED with a claim for B; a
 * flow B already owns is fine as it is (B's segments may be processed on
 * two CPUs at once: the second finds it OWNED). */
static inline __attribute__((always_inline)) void
prism_next_claim(const struct prism_flow_value *old,
		 const struct prism_op_args *a, struct prism_flow_change *c)
{
	if (!old || old->backend_ip != a->sender || !a->sender) {
		c->status = PRISM_EPERM;
	} else if (old->state == PRISM_FLOW_LOCKED &&
		   (old->flags & PRISM_FLOW_F_CLAIM)) {
		prism_change_write(c, old, PRISM_FLOW_OWNED, a->sender, 0);
	} else if (old->state != PRISM_FLOW_OWNED) {
		c->status = PRISM_EPERM;
	}
}

/* In band: the controller's marked window update after a hand-back makes
 * a LOCKED flow without a pending claim HOME; the last owner's reverse
 * entry and tail stay, so that its late segments are still translated.
 * On a flow HOME already it changes nothing and is no error: the
 * controller resends the update until the client shows it arrived, and
 * the first copy may have unlocked the flow and been lost after. */
static inline __attribute__((always_inline)) void
prism_next_unlock(const struct prism_flow_value *old,
		  struct prism_flow_change *c)
{
	if (old && old->state == PRISM_FLOW_HOME)
		return;
	if (!old || old->state != PRISM_FLOW_LOCKED ||
	    (old->flags & PRISM_FLOW_F_CLAIM)) {
		c->status = PRISM_EPERM;
		return;
	}
	prism_change_write(c, old, PRISM_FLOW_HOME, old->backend_ip,
			   old->flags);
}

/* What operation A does to the entry OLD (NULL: absent).  An entry in a
 * state nobody of ours writes may only be deleted. */
static inline __attribute__((always_inline)) void
prism_flow_next(const struct prism_flow_value *old,
		const struct prism_op_args *a, struct prism_flow_change *c)
{
	*c = (struct prism_flow_change){ 0 };
	if (old && !prism_flow_state_known(old->state) &&
	    a->op != PRISM_OP_DELETE) {
		c->status = PRISM_EINVAL;
		return;
	}
	switch (a->op) {
	case PRISM_OP_LOCK:
	case PRISM_OP_LOCK_TAIL:
		if (a->op == PRISM_OP_LOCK_TAIL && a->backend_ip)
			c->status = PRISM_EINVAL;
		else
			prism_next_lock(old, a, c);
		return;
	case PRISM_OP_OWN:
	case PRISM_OP_OWN_OPEN:
		if (!a->backend_ip)
			c->status = PRISM_EINVAL;
		else
			prism_change_to_backend(c, old,
						a->op == PRISM_OP_OWN
							? PRISM_FLOW_OWNED
							: PRISM_FLOW_OWNED_OPEN,
						a->backend_ip, 0);
		return;
	case PRISM_OP_DELETE:
		if (old) {
			c->action = PRISM_FLOW_REMOVE;
			c->rev_drop = old->backend_ip;
		}
		return;
	case PRISM_OP_CLAIM:
		prism_next_claim(old, a, c);
		return;
	case PRISM_OP_UNLOCK:
		prism_next_unlock(old, c);
		return;
	}
	c->status = PRISM_EINVAL;
}

/* The reverse key of a flow carried by BACKEND: the backend-side 4-tuple
 * (the port is not rewritten). */
static inline __attribute__((always_inline)) struct prism_rev_key
prism_rev_key_of(const struct prism_flow_key *key, __be32 backend)
{
	struct prism_rev_key rk = {
		.backend_ip = backend,
		.client_ip = key->client_ip,
		.backend_port = key->vip_port,
		.client_port = key->client_port,
	};
	return rk;
}

static inline __attribute__((always_inline)) int
prism_flow_key_eq(const struct prism_flow_key *a,
		  const struct prism_flow_key *b)
{
	return a->client_ip == b->client_ip && a->vip == b->vip &&
	       a->client_port == b->client_port && a->vip_port == b->vip_port;
}

/* Step 1's check.  CUR: the key rev(B) names now (NULL: free); OTHER: the
 * entry of CUR (NULL: absent).  0 with *MINE set when rev(B) already names
 * KEY; EADDRINUSE when it names another flow still carried by B (the same
 * client address and port talking to another VIP on the same port, moved
 * to the same backend); a stale entry does not count. */
static inline __attribute__((always_inline)) int
prism_rev_check(const struct prism_flow_key *key,
		const struct prism_flow_key *cur,
		const struct prism_flow_value *other, __be32 backend, int *mine)
{
	*mine = 0;
	if (!cur)
		return 0;
	if (prism_flow_key_eq(cur, key)) {
		*mine = 1;
		return 0;
	}
	return other && other->backend_ip == backend ? PRISM_EADDRINUSE : 0;
}
