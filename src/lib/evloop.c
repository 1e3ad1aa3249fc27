/* The event loop: epoll for fds, a binary min-heap for timers.  See
 * evloop.h for the contract. */
#include "lib/evloop.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define EVLOOP_BATCH 256

/* Registered fds live in an array indexed by fd.  The generation, also
 * stored in the epoll cookie, tells an event for the current registration
 * from a stale one whose fd was deleted (and maybe re-added) by a callback
 * earlier in the same round. */
struct fd_slot {
	evloop_fd_cb cb;
	void *arg;
	uint32_t events;
	uint32_t gen;
	bool used;
};

struct evtimer {
	uint64_t deadline_ns;
	uint64_t seq;   /* tie-break: equal deadlines fire in add order */
	long idx;       /* position in the heap, -1 when not in it */
	bool firing;    /* its callback is running: freed when it returns */
	evloop_timer_cb cb;
	void *arg;
};

struct evloop {
	int epfd;
	bool stop;
	struct fd_slot *slots;
	size_t nslots;
	struct evtimer **heap;
	size_t nheap, capheap;
	uint64_t next_seq;
	struct evdefer *defer_head, **defer_tail;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t evloop_now_ms(void)
{
	return now_ns() / 1000000u;
}

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->defer_tail = &loop->defer_head;
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->nheap; i++)
		free(loop->heap[i]);
	free(loop->heap);
	free(loop->slots);
	close(loop->epfd);
	free(loop);
}

/* ---- fds ---- */

static uint32_t to_epoll(uint32_t events)
{
	return (events & EVLOOP_READ ? EPOLLIN : 0) |
	       (events & EVLOOP_WRITE ? EPOLLOUT : 0);
}

static int grow_slots(struct evloop *loop, int fd)
{
	size_t n = loop->nslots ? loop->nslots : 64;
	struct fd_slot *s;

	while (n <= (size_t)fd)
		n *= 2;
	s = realloc(loop->slots, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + loop->nslots, 0, (n - loop->nslots) * sizeof(*s));
	loop->slots = s;
	loop->nslots = n;
	return 0;
}

static struct fd_slot *slot_of(struct evloop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nslots || !loop->slots[fd].used)
		return NULL;
	return &loop->slots[fd];
}

static int ctl(struct evloop *loop, int op, int fd, const struct fd_slot *s)
{
	struct epoll_event ev = {
		.events = to_epoll(s->events),
		.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd,
	};

	return epoll_ctl(loop->epfd, op, fd, &ev) ? -errno : 0;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb,
	       void *arg)
{
	struct fd_slot *s;
	int err;

	if (fd < 0 || !cb)
		return -EINVAL;
	if (slot_of(loop, fd))
		return -EEXIST;
	if ((size_t)fd >= loop->nslots) {
		err = grow_slots(loop, fd);
		if (err)
			return err;
	}
	s = &loop->slots[fd];
	s->cb = cb;
	s->arg = arg;
	s->events = events;
	s->gen++;
	err = ctl(loop, EPOLL_CTL_ADD, fd, s);
	if (err)
		return err;
	s->used = true;
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct fd_slot *s = slot_of(loop, fd);
	uint32_t old;
	int err;

	if (!s)
		return -ENOENT;
	old = s->events;
	s->events = events;
	err = ctl(loop, EPOLL_CTL_MOD, fd, s);
	if (err)
		s->events = old;
	return err;
}

int evloop_del(struct evloop *loop, int fd)
{
	struct fd_slot *s = slot_of(loop, fd);

	if (!s)
		return -ENOENT;
	s->used = false;
	s->gen++;
	/* The fd may already be closed (EBADF), which removed it from the
	 * epoll set anyway; the slot is free either way. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) && errno != EBADF &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

static void dispatch_fd(struct evloop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct fd_slot *s = slot_of(loop, fd);
	uint32_t got = 0;

	if (!s || s->gen != gen)
		return; /* deleted earlier in this round */
	if (ev->events & (EPOLLIN | EPOLLRDHUP))
		got |= EVLOOP_READ;
	if (ev->events & EPOLLOUT)
		got |= EVLOOP_WRITE;
	if (ev->events & (EPOLLERR | EPOLLHUP))
		got |= EVLOOP_ERROR | (s->events & (EVLOOP_READ | EVLOOP_WRITE));
	got &= s->events | EVLOOP_ERROR;
	if (got)
		s->cb(loop, fd, got, s->arg);
}

/* ---- timers: a binary min-heap keyed by (deadline, seq) ---- */

static bool earlier(const struct evtimer *a, const struct evtimer *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->seq < b->seq;
}

static void heap_set(struct evloop *loop, size_t i, struct evtimer *t)
{
	loop->heap[i] = t;
	t->idx = (long)i;
}

static void sift_up(struct evloop *loop, size_t i)
{
	struct evtimer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!earlier(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void sift_down(struct evloop *loop, size_t i)
{
	struct evtimer *t = loop->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= loop->nheap)
			break;
		if (c + 1 < loop->nheap && earlier(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!earlier(loop->heap[c], t))
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

static int heap_push(struct evloop *loop, struct evtimer *t)
{
	if (loop->nheap == loop->capheap) {
		size_t cap = loop->capheap ? loop->capheap * 2 : 64;
		struct evtimer **h = realloc(loop->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->capheap = cap;
	}
	heap_set(loop, loop->nheap++, t);
	sift_up(loop, loop->nheap - 1);
	return 0;
}

static void heap_remove(struct evloop *loop, struct evtimer *t)
{
	size_t i = (size_t)t->idx;
	struct evtimer *last = loop->heap[--loop->nheap];

	t->idx = -1;
	if (i == loop->nheap)
		return;
	heap_set(loop, i, last);
	sift_down(loop, i);
	sift_up(loop, (size_t)last->idx);
}

static void arm_ns(struct evloop *loop, struct evtimer *t, uint64_t delay_ns)
{
	t->deadline_ns = now_ns() + delay_ns;
	t->seq = loop->next_seq++;
}

static void arm(struct evloop *loop, struct evtimer *t, uint64_t delay_ms)
{
	arm_ns(loop, t, delay_ms * 1000000u);
}

static struct evtimer *timer_new(struct evloop *loop, uint64_t delay_ns,
				 evloop_timer_cb cb, void *arg)
{
	struct evtimer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->idx = -1;
	t->cb = cb;
	t->arg = arg;
	arm_ns(loop, t, delay_ns);
	if (heap_push(loop, t)) {
		free(t);
		return NULL;
	}
	return t;
}

struct evtimer *evloop_timer_add_us(struct evloop *loop, uint64_t delay_us,
				    evloop_timer_cb cb, void *arg)
{
	return timer_new(loop, delay_us * 1000u, cb, arg);
}

struct evtimer *evloop_timer_add(struct evloop *loop, uint64_t delay_ms,
				 evloop_timer_cb cb, void *arg)
{
	return timer_new(loop, delay_ms * 1000000u, cb, arg);
}

void evloop_timer_cancel(struct evloop *loop, struct evtimer *t)
{
	if (t->idx >= 0)
		heap_remove(loop, t);
	if (!t->firing)
		free(t);
}

int evloop_timer_mod(struct evloop *loop, struct evtimer *t,
		     uint64_t delay_ms)
{
	arm(loop, t, delay_ms);
	if (t->idx < 0)
		return heap_push(loop, t); /* the firing timer */
	/* The new deadline may be earlier or later than the old one. */
	sift_up(loop, (size_t)t->idx);
	sift_down(loop, (size_t)t->idx);
	return 0;
}

/* Fires the timers due now.  Timers added or re-armed by these callbacks
 * wait for the next round, so a zero-delay timer cannot starve the fds. */
static void run_timers(struct evloop *loop)
{
	uint64_t now = now_ns(), limit = loop->next_seq;

	while (loop->nheap && !loop->stop) {
		struct evtimer *t = loop->heap[0];

		if (t->deadline_ns > now || t->seq >= limit)
			break;
		heap_remove(loop, t);
		t->firing = true;
		t->cb(loop, t, t->arg);
		t->firing = false;
		if (t->idx < 0)
			free(t);
	}
}

/* How long epoll may wait for the first timer: -1 (none), 0, or the time
 * left, which epoll_pwait2 takes to the nanosecond (a sub-millisecond
 * timer must not be rounded up to a whole one). */
static bool next_timeout(struct evloop *loop, struct timespec *ts)
{
	uint64_t now, wait;

	if (!loop->nheap)
		return false;
	now = now_ns();
	wait = loop->heap[0]->deadline_ns > now
		       ? loop->heap[0]->deadline_ns - now
		       : 0;
	ts->tv_sec = (time_t)(wait / 1000000000u);
	ts->tv_nsec = (long)(wait % 1000000000u);
	return true;
}

void evloop_defer(struct evloop *loop, struct evdefer *d)
{
	if (d->queued)
		return;
	d->queued = 1;
	d->next = NULL;
	*loop->defer_tail = d;
	loop->defer_tail = &d->next;
}

void evloop_defer_cancel(struct evloop *loop, struct evdefer *d)
{
	struct evdefer **p;

	if (!d->queued)
		return;
	for (p = &loop->defer_head; *p && *p != d; p = &(*p)->next)
		;
	if (*p) {
		*p = d->next;
		if (loop->defer_tail == &d->next)
			loop->defer_tail = p;
	}
	d->queued = 0;
}

/* The deferred work, until none is left (callbacks may defer more). */
static void run_deferred(struct evloop *loop)
{
	struct evdefer *d;

	while ((d = loop->defer_head) && !loop->stop) {
		loop->defer_head = d->next;
		if (!loop->defer_head)
			loop->defer_tail = &loop->defer_head;
		d->queued = 0;
		d->cb(d->arg);
	}
}

int evloop_run(struct evloop *loop)
{
	struct epoll_event evs[EVLOOP_BATCH];

	loop->stop = false;
	while (!loop->stop) {
		struct timespec ts;
		bool timed;
		int n;

		run_deferred(loop);
		if (loop->stop)
			break;
		if (loop->defer_head)
			timed = true, ts = (struct timespec){ 0 };
		else
			timed = next_timeout(loop, &ts);
		n = epoll_pwait2(loop->epfd, evs, EVLOOP_BATCH,
				 timed ? &ts : NULL, NULL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++)
			dispatch_fd(loop, &evs[i]);
		run_timers(loop);
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	loop->stop = true;
}

int evloop_add_signals(struct evloop *loop, const int *signals,
		       evloop_fd_cb cb, void *arg)
{
	sigset_t set;
	int fd, err;

	sigemptyset(&set);
	for (; *signals; signals++)
		sigaddset(&set, *signals);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = evloop_add(loop, fd, EVLOOP_READ, cb, arg);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
