/* Switch operations driven by the event loop (async.h).  Each op in
 * flight is one record on a list, in one of three phases:
 *
 *   FAST   a fast request sent; its answer or SWITCH_FAST_WAIT_MS decides
 *   AGENT  a request to the agent, resent every SWITCH_CLIENT_RETRY_MS
 *   QUEUED waiting for room among the agent requests in flight (the
 *          client keeps SWITCH_CLIENT_PENDING slots, one per seq modulo)
 *   BEHIND waiting for an earlier op on the same flow to complete: ops on
 *          one flow execute in the order they were started, whichever
 *          path each one takes (a DELETE retried through the agent must not
 *          land after the next LOCK, sent through the fast path)
 *
 * One timer, at the earliest deadline of any record, moves them on.  The
 * list is in start order. */
#include "switch/async.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"

/* Agent requests in flight at once; the client's slot table is twice as
 * big, so that a late answer never lands in a reused slot. */
#define ASYNC_AGENT_MAX (SWITCH_CLIENT_PENDING / 2)

enum phase { PH_FAST, PH_AGENT, PH_QUEUED, PH_BEHIND };

struct aop {
	struct aop *next;
	uint64_t handle;
	struct switch_op op;
	enum phase phase;
	uint64_t seq;       /* of the request in flight (fast or agent) */
	uint64_t retry_ns;  /* FAST: give up on it; AGENT: resend */
	uint64_t end_ns;    /* the op's timeout */
	bool refused;       /* the agent's port answered ECONNREFUSED */
	switch_done_cb done;
	void *arg;
};

struct switch_async {
	struct evloop *loop;
	struct switch_client c;
	int timeout_ms;
	struct aop *ops, **tail;
	unsigned n_agent;
	uint64_t next_handle;
	struct evtimer *timer;
	uint64_t timer_ns; /* when the timer fires; 0: none */
	struct switch_async_stats stats;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_timer(struct evloop *loop, struct evtimer *t, void *arg);

/* The timer at the earliest deadline.  Without a timer (out of memory)
 * the ops still complete when their answers come; a lost one waits for
 * the next op's timer. */
static void rearm(struct switch_async *sa)
{
	uint64_t first = 0, now = mono_ns();

	for (struct aop *o = sa->ops; o; o = o->next) {
		uint64_t d = o->phase == PH_BEHIND ? o->end_ns : o->retry_ns;

		if (o->end_ns < d)
			d = o->end_ns;
		if (!first || d < first)
			first = d;
	}
	if (!first) {
		if (sa->timer)
			evloop_timer_cancel(sa->loop, sa->timer);
		sa->timer = NULL;
		sa->timer_ns = 0;
		return;
	}
	if (sa->timer && sa->timer_ns == first)
		return;
	if (sa->timer)
		evloop_timer_cancel(sa->loop, sa->timer);
	sa->timer = evloop_timer_add(sa->loop,
				     first > now ? (first - now + 999999) / 1000000
						 : 0,
				     on_timer, sa);
	sa->timer_ns = sa->timer ? first : 0;
}

static void unlink_op(struct switch_async *sa, struct aop *o)
{
	for (struct aop **p = &sa->ops; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			if (sa->tail == &o->next)
				sa->tail = p;
			return;
		}
}

static bool same_flow(const struct aop *a, const struct aop *b)
{
	return prism_flow_key_eq(&a->op.key, &b->op.key);
}

/* An earlier op on O's flow is still in flight. */
static bool flow_busy(const struct switch_async *sa, const struct aop *o)
{
	for (const struct aop *p = sa->ops; p && p != o; p = p->next)
		if (same_flow(p, o))
			return true;
	return false;
}

static int launch(struct switch_async *sa, struct aop *o, uint64_t now);

/* The next op on a flow whose op just completed. */
static void release_flow(struct switch_async *sa, const struct aop *done_op,
			 uint64_t now)
{
	for (struct aop *o = sa->ops; o; o = o->next)
		if (same_flow(o, done_op)) {
			if (o->phase == PH_BEHIND && launch(sa, o, now))
				o->end_ns = now; /* fails at the next step */
			return;
		}
}

/* The op is over: its record goes, then DONE runs (which may start new
 * ops). */
static void complete(struct switch_async *sa, struct aop *o, int status)
{
	switch_done_cb done = o->done;
	void *arg = o->arg;

	unlink_op(sa, o);
	if (o->phase == PH_AGENT) {
		sa->n_agent--;
		switch_client_forget(&sa->c, o->seq);
	}
	release_flow(sa, o, mono_ns());
	if (status) {
		sa->stats.failures++;
		log_warn("switch %s: %s", switch_op_name(o->op.op),
			 strerror(-status));
	}
	free(o);
	if (done)
		done(arg, status);
}

static int to_agent(struct switch_async *sa, struct aop *o, uint64_t now)
{
	int err;

	if (sa->n_agent >= ASYNC_AGENT_MAX) {
		o->phase = PH_QUEUED; /* looked at again every millisecond */
		o->retry_ns = now + 1000000ull;
		return 0;
	}
	err = switch_client_send(&sa->c, &o->op, 1, &o->seq);
	if (err)
		return err;
	o->phase = PH_AGENT;
	o->retry_ns = now + SWITCH_CLIENT_RETRY_MS * 1000000ull;
	sa->n_agent++;
	return 0;
}

/* No fast answer in time: a switch that never answered one is not asked
 * again for a while (SWITCH_FAST_RETRY_S). */
static void fast_gave_up(struct switch_async *sa, uint64_t now)
{
	struct switch_client *c = &sa->c;

	sa->stats.fallbacks++;
	if (!c->fast_seen)
		c->fast_off_until = now + SWITCH_FAST_RETRY_S * 1000000000ull;
}

/* Moves one op on at NOW; true if it completed (the list changed). */
static bool step(struct switch_async *sa, struct aop *o, uint64_t now)
{
	int err = 0;

	if (now >= o->end_ns) {
		sa->stats.timeouts++;
		complete(sa, o, o->refused ? -ECONNREFUSED : -ETIMEDOUT);
		return true;
	}
	if (o->phase == PH_BEHIND)
		return false;
	if (o->phase == PH_FAST && now >= o->retry_ns) {
		fast_gave_up(sa, now);
		err = to_agent(sa, o, now);
	} else if (o->phase == PH_QUEUED && now >= o->retry_ns) {
		err = to_agent(sa, o, now);
	} else if (o->phase == PH_AGENT && now >= o->retry_ns) {
		err = switch_client_resend(&sa->c, o->seq);
		o->retry_ns = now + SWITCH_CLIENT_RETRY_MS * 1000000ull;
	}
	if (err) {
		complete(sa, o, err);
		return true;
	}
	return false;
}

static void on_timer(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct switch_async *sa = arg;
	uint64_t now = mono_ns();
	struct aop *o;

	(void)loop;
	(void)t;
	sa->timer = NULL;
	sa->timer_ns = 0;
	/* Completing an op runs its callback, which may change the list:
	 * start over after each. */
	do
		for (o = sa->ops; o && !step(sa, o, now); o = o->next)
			;
	while (o);
	rearm(sa);
}

static struct aop *find(struct switch_async *sa, bool fast, uint64_t seq)
{
	for (struct aop *o = sa->ops; o; o = o->next)
		if (o->seq == seq &&
		    (fast ? o->phase == PH_FAST : o->phase == PH_AGENT))
			return o;
	return NULL;
}

/* An answer: the op completes, unless the fast path could not tell
 * (EALREADY: a duplicate of a request it saw) and the agent must. */
static void answered(struct switch_async *sa, bool fast, uint64_t seq,
		     int status)
{
	struct aop *o = find(sa, fast, seq);
	uint64_t now = mono_ns();
	int err;

	if (!o)
		return; /* late, or for an op that moved on */
	if (fast) {
		sa->c.fast_seen = true;
		if (status == -EALREADY) {
			err = to_agent(sa, o, now);
			if (err)
				complete(sa, o, err);
			return;
		}
		sa->stats.fast_answers++;
	} else {
		sa->stats.agent_answers++;
	}
	complete(sa, o, status);
}

static void on_readable(struct evloop *loop, int fd, uint32_t events,
			void *arg)
{
	struct switch_async *sa = arg;
	uint64_t seq;
	bool fast;
	int status, err;

	(void)loop;
	(void)fd;
	(void)events;
	for (int i = 0; i < 64; i++) {
		err = switch_client_read_any(&sa->c, &fast, &seq, &status);
		if (err == -EAGAIN || err == -EINTR)
			break;
		if (err == -ECONNREFUSED) {
			/* No agent listening (yet): the retransmissions
			 * retry; say so if they all fail. */
			for (struct aop *o = sa->ops; o; o = o->next)
				if (o->phase == PH_AGENT)
					o->refused = true;
			continue;
		}
		if (!err)
			answered(sa, fast, seq, status);
	}
	rearm(sa);
}

int switch_async_open(struct evloop *loop, const char *agent,
		      const struct auth_key *key, uint32_t peer_id,
		      int timeout_ms, struct switch_async **out)
{
	struct switch_async *sa = calloc(1, sizeof(*sa));
	int fd, err;

	if (!sa)
		return -ENOMEM;
	sa->loop = loop;
	sa->timeout_ms = timeout_ms;
	sa->tail = &sa->ops;
	fd = switch_client_open(&sa->c, agent, key, peer_id);
	if (fd < 0) {
		free(sa);
		return fd;
	}
	err = evloop_add(loop, fd, EVLOOP_READ, on_readable, sa);
	if (err) {
		switch_client_close(&sa->c);
		free(sa);
		return err;
	}
	*out = sa;
	return 0;
}

void switch_async_close(struct switch_async *sa)
{
	if (!sa)
		return;
	while (sa->ops) {
		struct aop *o = sa->ops;

		sa->ops = o->next;
		free(o);
	}
	sa->tail = &sa->ops;
	if (sa->timer)
		evloop_timer_cancel(sa->loop, sa->timer);
	evloop_del(sa->loop, sa->c.fd);
	switch_client_close(&sa->c);
	free(sa);
}

void switch_async_agent_only(struct switch_async *sa)
{
	sa->c.fast_off_until = UINT64_MAX;
}

/* The op's first request: the fast path unless it is off for now. */
static int launch(struct switch_async *sa, struct aop *o, uint64_t now)
{
	if (now >= sa->c.fast_off_until &&
	    !switch_client_fast_send(&sa->c, &o->op, &o->seq)) {
		o->phase = PH_FAST;
		o->retry_ns = now + SWITCH_FAST_WAIT_MS * 1000000ull;
		return 0;
	}
	return to_agent(sa, o, now);
}

uint64_t switch_async_op(struct switch_async *sa, const struct switch_op *op,
			 switch_done_cb done, void *arg)
{
	uint64_t now = mono_ns();
	struct aop *o;
	int err = -ENOMEM;

	if (!prism_op_wire_valid(op->op, op->backend_ip, op->tail_seq)) {
		errno = EINVAL;
		return 0;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		goto fail;
	o->handle = ++sa->next_handle;
	o->op = *op;
	o->done = done;
	o->arg = arg;
	o->end_ns = now + (uint64_t)sa->timeout_ms * 1000000ull;
	o->phase = PH_BEHIND;
	*sa->tail = o;
	sa->tail = &o->next;
	if (!flow_busy(sa, o) && (err = launch(sa, o, now))) {
		unlink_op(sa, o);
		free(o);
		goto fail;
	}
	sa->stats.ops++;
	rearm(sa);
	return o->handle;
fail:
	errno = -err;
	return 0;
}

void switch_async_cancel(struct switch_async *sa, uint64_t handle)
{
	for (struct aop *o = sa->ops; o; o = o->next)
		if (o->handle == handle) {
			o->done = NULL;
			return;
		}
}

struct drain {
	struct switch_async *sa;
	uint64_t until_ns;
	struct evtimer *t; /* NULL once it fired without re-arming */
};

static void drain_tick(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct drain *d = arg;

	if (d->sa->ops && mono_ns() < d->until_ns &&
	    !evloop_timer_mod(loop, t, 1))
		return;
	d->t = NULL;
	evloop_stop(loop);
}

int switch_async_drain(struct switch_async *sa, int max_ms)
{
	struct drain d = { sa, mono_ns() + (uint64_t)max_ms * 1000000ull,
			   NULL };

	if (!sa || !sa->ops)
		return 0;
	d.t = evloop_timer_add(sa->loop, 0, drain_tick, &d);
	if (!d.t)
		return -ENOMEM;
	evloop_run(sa->loop);
	if (d.t) /* stopped by someone else */
		evloop_timer_cancel(sa->loop, d.t);
	return sa->ops ? -ETIMEDOUT : 0;
}

const struct switch_async_stats *switch_async_stats(const struct switch_async *sa)
{
	return &sa->stats;
}

struct switch_client *switch_async_client(struct switch_async *sa)
{
	return &sa->c;
}
