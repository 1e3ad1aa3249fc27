/* The event loop: fd readiness (epoll, level-triggered) and one-shot timers
 * (a binary min-heap, O(log n) add/cancel).  Nothing else in Prism knows
 * about epoll.  Single-threaded: every call must come from the thread that
 * runs the loop.
 *
 * Callbacks may add, modify or delete any fd or timer, including their own,
 * while the loop dispatches: an event for an fd that was deleted (or deleted
 * and re-added) earlier in the same round is not delivered.
 *
 * Typical use:
 *   struct evloop *l = evloop_new();
 *   evloop_add(l, fd, EVLOOP_READ, on_read, conn);
 *   conn->idle = evloop_timer_add(l, 30000, on_idle, conn);
 *   evloop_defer(l, &conn->flush);   // once, before the loop sleeps
 *   evloop_run(l);            // until a callback calls evloop_stop(l)
 *   evloop_free(l);
 */
#pragma once
#include <stdint.h>

struct evloop;
struct evtimer;

/* Interest and readiness bits.  EVLOOP_ERROR is only reported: on an error
 * or hang-up the callback gets EVLOOP_ERROR plus whichever of READ/WRITE it
 * asked for, so that its read or write finds out what happened. */
#define EVLOOP_READ  0x1u
#define EVLOOP_WRITE 0x2u
#define EVLOOP_ERROR 0x4u

typedef void (*evloop_fd_cb)(struct evloop *loop, int fd, uint32_t events,
			     void *arg);
typedef void (*evloop_timer_cb)(struct evloop *loop, struct evtimer *t,
				void *arg);

struct evloop *evloop_new(void);
/* Frees the loop and its pending timers; does not close registered fds.
 * Not from inside a callback: stop the loop, then free it. */
void evloop_free(struct evloop *loop);

/* Registers fd with interest `events` (READ|WRITE, may be 0).  -EEXIST if
 * already registered.  Delete an fd before closing it. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb,
	       void *arg);
/* Changes the interest set of a registered fd.  -ENOENT if not registered. */
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
/* Unregisters fd.  -ENOENT if not registered. */
int evloop_del(struct evloop *loop, int fd);

/* A one-shot timer that fires after delay_ms (0: in the next round).  The
 * handle is valid until the callback returns or the timer is cancelled;
 * the loop frees it.  Timers with equal deadlines fire in the order they
 * were added.  NULL on allocation failure. */
struct evtimer *evloop_timer_add(struct evloop *loop, uint64_t delay_ms,
				 evloop_timer_cb cb, void *arg);
/* The same with a delay in microseconds (a wait shorter than a
 * millisecond, e.g. one round trip). */
struct evtimer *evloop_timer_add_us(struct evloop *loop, uint64_t delay_us,
				    evloop_timer_cb cb, void *arg);
/* Cancels and frees a pending timer.  Called from the timer's own callback
 * it only undoes an evloop_timer_mod made there. */
void evloop_timer_cancel(struct evloop *loop, struct evtimer *t);
/* Re-arms a pending timer (or, from its own callback, the firing one: that
 * makes it periodic) to fire delay_ms from now.  Cheaper than cancel+add.
 * Returns 0, or -ENOMEM (only when re-arming the firing timer; it is then
 * freed when its callback returns, as if not re-armed). */
int evloop_timer_mod(struct evloop *loop, struct evtimer *t,
		     uint64_t delay_ms);

/* Work for the end of the loop's turn (redis ae's beforeSleep): after
 * this turn's fd events and timers, before the loop waits again, each
 * deferred node's cb(arg) runs once, in the order deferred; deferring a
 * node that is already queued does nothing.  Callbacks may defer nodes
 * (their own too), which run before the loop waits.  The node is the
 * caller's (embedded in its object): cancel it before freeing that. */
struct evdefer {
	void (*cb)(void *arg);
	void *arg;
	struct evdefer *next;
	int queued;
};
void evloop_defer(struct evloop *loop, struct evdefer *d);
void evloop_defer_cancel(struct evloop *loop, struct evdefer *d);

/* Blocks the signals listed in `signals` (0-terminated) and watches them
 * through a signalfd: cb sees the fd readable and reads a struct
 * signalfd_siginfo from it.  Returns the fd (the caller closes it) or
 * -errno. */
int evloop_add_signals(struct evloop *loop, const int *signals,
		       evloop_fd_cb cb, void *arg);

/* Runs until evloop_stop().  Returns 0, or -errno if epoll_wait failed. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t evloop_now_ms(void);
