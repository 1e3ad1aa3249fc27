/* The replay window of a control-message sender, one definition for both
 * control paths: the agent (src/switch/agent.c, one per (address, peer
 * id)) and the data plane's fast path (src/bpf/fast.h, the same key, under
 * a BPF spin lock).  TOP is the highest sequence number seen; bit i of
 * BITS stands for TOP - i.  Pure, no libc. */
#pragma once
#include <linux/types.h>

#define PRISM_REPLAY_WINDOW 64

struct prism_replay {
	__u64 top;
	__u64 bits;
};

enum prism_replay_verdict {
	PRISM_REPLAY_NEW = 0, /* not seen: execute */
	PRISM_REPLAY_DUP = 1, /* seen inside the window: answer, don't redo */
	PRISM_REPLAY_OLD = 2, /* below the window: a replay, drop */
};

static inline __attribute__((always_inline)) int
prism_replay_check(const struct prism_replay *w, __u64 seq)
{
	__u64 age;

	if (seq > w->top)
		return PRISM_REPLAY_NEW;
	age = w->top - seq;
	if (age >= PRISM_REPLAY_WINDOW)
		return PRISM_REPLAY_OLD;
	return (w->bits >> age) & 1 ? PRISM_REPLAY_DUP : PRISM_REPLAY_NEW;
}

/* Records SEQ as seen. */
static inline __attribute__((always_inline)) void
prism_replay_mark(struct prism_replay *w, __u64 seq)
{
	__u64 shift;

	if (seq > w->top) {
		shift = seq - w->top;
		w->bits = shift >= PRISM_REPLAY_WINDOW ? 0 : w->bits << shift;
		w->bits |= 1;
		w->top = seq;
		return;
	}
	if (w->top - seq < PRISM_REPLAY_WINDOW)
		w->bits |= 1ULL << (w->top - seq);
}
