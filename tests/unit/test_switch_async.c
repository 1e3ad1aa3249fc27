/* Switch operations from an event loop (src/switch/async.c), against a
 * fake switch on loopback in the same loop that answers fast requests
 * (as the data plane does) and agent requests, or holds them back. */
#include "t.h"
#include "switch/async.h"
#include "switch/fast.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct auth_key key;
static struct prism_sip_key fast_key;

struct fake {
	int fd;
	bool fast;       /* answer fast requests (else ignore them) */
	bool agent;      /* answer agent requests */
	bool hold;       /* keep answers back until released */
	int fast_status; /* status in fast answers (positive errno) */
	int seen_fast, seen_agent;
	uint64_t agent_seq; /* of the last agent request */
	uint8_t order[16]; /* ops in the order they arrived (either path) */
	int n_order;
	uint8_t held[4][CTL_RESP_MAX_LEN];
	size_t held_len[4];
	struct sockaddr_in held_to[4];
	int n_held;
};

struct done_rec {
	int calls;
	int status;
	int order; /* completion order */
};

static int completions;

static void on_done(void *arg, int status)
{
	struct done_rec *d = arg;

	d->calls++;
	d->status = status;
	d->order = ++completions;
}

static void answer(struct fake *f, const uint8_t *out, size_t len,
		   const struct sockaddr_in *to)
{
	if (f->hold && f->n_held < 4) {
		memcpy(f->held[f->n_held], out, len);
		f->held_len[f->n_held] = len;
		f->held_to[f->n_held++] = *to;
		return;
	}
	sendto(f->fd, out, len, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void fake_fast(struct fake *f, uint8_t *buf, const struct sockaddr_in *src)
{
	struct prism_fast_msg m;

	memcpy(&m, buf, sizeof(m));
	f->seen_fast++;
	if (f->n_order < 16)
		f->order[f->n_order++] = m.op;
	if (!f->fast)
		return;
	m.type = PRISM_FAST_RESPONSE;
	m.status = (uint8_t)f->fast_status;
	memcpy(buf, &m, sizeof(m));
	m.tag = htole64(fast_tag(&fast_key, buf));
	memcpy(buf, &m, sizeof(m));
	answer(f, buf, FAST_MSG_LEN, src);
}

static void fake_agent(struct fake *f, const uint8_t *buf, size_t n,
		       const struct sockaddr_in *src)
{
	struct ctl_msg req, resp;
	enum ctl_error why;
	uint8_t out[CTL_RESP_MAX_LEN];
	size_t len;

	if (ctl_decode(buf, n, &key, CTL_REQUEST, &req, &why))
		return;
	f->seen_agent++;
	f->agent_seq = req.seq;
	if (f->n_order < 16 && req.count)
		f->order[f->n_order++] = req.ops[0].op;
	if (!f->agent)
		return;
	resp = (struct ctl_msg){ .type = CTL_RESPONSE, .count = req.count,
				 .peer_id = req.peer_id, .seq = req.seq };
	for (unsigned i = 0; i < req.count; i++)
		resp.status[i] = req.ops[i].op == PRISM_OP_OWN ? -ENOSPC : 0;
	ctl_encode(&resp, &key, out, sizeof(out), &len);
	answer(f, out, len, src);
}

static void fake_io(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct fake *f = arg;
	uint8_t buf[CTL_REQ_MAX_LEN];
	struct sockaddr_in src;
	socklen_t slen = sizeof(src);
	ssize_t n;

	(void)loop;
	(void)events;
	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&src, &slen)) > 0) {
		if (n == FAST_MSG_LEN)
			fake_fast(f, buf, &src);
		else
			fake_agent(f, buf, (size_t)n, &src);
		slen = sizeof(src);
	}
}

static void release(struct fake *f)
{
	for (int i = 0; i < f->n_held; i++)
		sendto(f->fd, f->held[i], f->held_len[i], 0,
		       (struct sockaddr *)&f->held_to[i], sizeof(f->held_to[i]));
	f->n_held = 0;
	f->hold = false;
}

static void stop_cb(struct evloop *loop, struct evtimer *t, void *arg)
{
	(void)t;
	(void)arg;
	evloop_stop(loop);
}

static void run_for(struct evloop *loop, uint64_t ms)
{
	CHECK(evloop_timer_add(loop, ms, stop_cb, NULL) != NULL);
	CHECK_EQ(evloop_run(loop), 0);
}

static struct switch_op op_on(uint8_t op, uint16_t port)
{
	struct switch_op o = { .op = op };

	o.key.client_ip = htonl(0xc6120102u);
	o.key.vip = htonl(0xc6130001u);
	o.key.client_port = htons(port);
	o.key.vip_port = htons(80);
	if (op == PRISM_OP_OWN)
		o.backend_ip = htonl(0xc6120b02u);
	return o;
}

/* A fake and a client on one loop. */
static struct switch_async *setup(struct evloop *loop, struct fake *f,
				  int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct switch_async *sa_out = NULL;
	char addr[32];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CHECK(f->fd >= 0);
	CHECK(!bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK(!getsockname(f->fd, (struct sockaddr *)&sa, &len));
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	CHECK_EQ(evloop_add(loop, f->fd, EVLOOP_READ, fake_io, f), 0);
	CHECK_EQ(switch_async_open(loop, addr, &key, 3, timeout_ms, &sa_out),
		 0);
	return sa_out;
}

static void teardown(struct evloop *loop, struct fake *f,
		     struct switch_async *sa)
{
	switch_async_close(sa);
	evloop_del(loop, f->fd);
	close(f->fd);
	evloop_free(loop);
}

/* The fast path answers: DONE gets its status from the loop, not from
 * inside the call; the agent is never asked. */
static void test_fast_answer(void)
{
	struct evloop *loop = evloop_new();
	struct fake f = { .fast = true, .agent = true, .fast_status = ENOSPC };
	struct switch_async *sa = setup(loop, &f, 500);
	struct switch_op o = op_on(PRISM_OP_LOCK, 40000);
	struct done_rec d = { 0 };

	CHECK(switch_async_op(sa, &o, on_done, &d) > 0);
	CHECK_EQ(d.calls, 0);
	run_for(loop, 20);
	CHECK_EQ(d.calls, 1);
	CHECK_EQ(d.status, -ENOSPC);
	CHECK_EQ(f.seen_agent, 0);
	CHECK_EQ(switch_async_stats(sa)->fast_answers, 1);
	teardown(loop, &f, sa);
}

/* No fast answer: after SWITCH_FAST_WAIT_MS the agent answers; the fast
 * path is then left alone for a while (it never answered). */
static void test_agent_fallback(void)
{
	struct evloop *loop = evloop_new();
	struct fake f = { .fast = false, .agent = true };
	struct switch_async *sa = setup(loop, &f, 500);
	struct switch_op own = op_on(PRISM_OP_OWN, 40001),
			 lock = op_on(PRISM_OP_LOCK, 40002);
	struct done_rec d1 = { 0 }, d2 = { 0 };

	CHECK(switch_async_op(sa, &own, on_done, &d1) > 0);
	run_for(loop, 40);
	CHECK_EQ(d1.calls, 1);
	CHECK_EQ(d1.status, -ENOSPC);
	CHECK_EQ(f.seen_fast, 1);
	CHECK_EQ(f.seen_agent, 1);
	CHECK_EQ(switch_async_stats(sa)->fallbacks, 1);
	CHECK(switch_async_op(sa, &lock, on_done, &d2) > 0);
	run_for(loop, 20);
	CHECK_EQ(d2.calls, 1);
	CHECK_EQ(d2.status, 0);
	CHECK_EQ(f.seen_fast, 1); /* not asked again */
	teardown(loop, &f, sa);
}

/* Each path numbers its own requests: thousands of fast-path ops between
 * two agent requests must not age the first out of the agent's replay
 * window (64), or its retransmission, after a lost answer, is dropped as
 * a replay until the op times out. */
static void test_agent_seq_own_space(void)
{
	struct evloop *loop = evloop_new();
	struct fake f = { .fast = true, .agent = true,
			  .fast_status = EALREADY };
	struct switch_async *sa = setup(loop, &f, 500);
	struct done_rec d = { 0 };
	uint64_t first;

	/* EALREADY from the fast path: the agent decides. */
	struct switch_op o = op_on(PRISM_OP_DELETE, 40020);
	CHECK(switch_async_op(sa, &o, on_done, &d) > 0);
	run_for(loop, 20);
	CHECK_EQ(f.seen_agent, 1);
	first = f.agent_seq;
	f.fast_status = 0;
	for (int i = 0; i < 200; i++) {
		struct switch_op x = op_on(PRISM_OP_DELETE, (uint16_t)(41000 + i));

		CHECK(switch_async_op(sa, &x, on_done, &d) > 0);
	}
	run_for(loop, 50);
	CHECK_EQ(f.seen_agent, 1);
	CHECK_EQ(d.calls, 201);
	f.fast_status = EALREADY;
	o = op_on(PRISM_OP_DELETE, 40021);
	CHECK(switch_async_op(sa, &o, on_done, &d) > 0);
	run_for(loop, 20);
	CHECK_EQ(f.seen_agent, 2);
	CHECK_EQ(f.agent_seq - first, 1);
	teardown(loop, &f, sa);
}

/* Nothing answers: -ETIMEDOUT once, after the retransmissions. */
static void test_timeout(void)
{
	struct evloop *loop = evloop_new();
	struct fake f = { 0 };
	struct switch_async *sa = setup(loop, &f, 100);
	struct switch_op o = op_on(PRISM_OP_DELETE, 40003);
	struct done_rec d = { 0 };

	CHECK(switch_async_op(sa, &o, on_done, &d) > 0);
	run_for(loop, 300);
	CHECK_EQ(d.calls, 1);
	CHECK_EQ(d.status, -ETIMEDOUT);
	CHECK(f.seen_agent >= 3); /* resent every 20 ms */
	CHECK_EQ(switch_async_stats(sa)->timeouts, 1);
	teardown(loop, &f, sa);
}

/* Two ops on one flow: the second is not sent before the first is
 * answered (whatever path each takes); an op on another flow is not held
 * back.  A cancelled op completes at the switch without its DONE. */
static void test_flow_order_and_cancel(void)
{
	struct evloop *loop = evloop_new();
	struct fake f = { .fast = true, .agent = true, .hold = true };
	struct switch_async *sa = setup(loop, &f, 500);
	struct switch_op lock = op_on(PRISM_OP_LOCK, 40010),
			 del = op_on(PRISM_OP_DELETE, 40010),
			 other = op_on(PRISM_OP_LOCK, 40011);
	struct done_rec d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
	uint64_t h;

	completions = 0;
	h = switch_async_op(sa, &lock, on_done, &d1);
	CHECK(h > 0);
	CHECK(switch_async_op(sa, &del, on_done, &d2) > 0);
	CHECK(switch_async_op(sa, &other, on_done, &d3) > 0);
	run_for(loop, 3);
	CHECK_EQ(f.seen_fast, 2); /* the DELETE waits for the LOCK */
	CHECK_EQ(f.order[0], PRISM_OP_LOCK);
	switch_async_cancel(sa, h);
	release(&f);
	run_for(loop, 20);
	CHECK_EQ(d1.calls, 0);
	CHECK_EQ(f.seen_fast, 3);
	CHECK_EQ(f.order[2], PRISM_OP_DELETE);
	CHECK_EQ(d2.calls, 1);
	CHECK_EQ(d3.calls, 1);
	CHECK(d3.order < d2.order);
	teardown(loop, &f, sa);
}

/* A bad op is refused at once, nothing sent, no DONE. */
static void test_bad_op(void)
{
	struct evloop *loop = evloop_new();
	struct fake f = { .fast = true };
	struct switch_async *sa = setup(loop, &f, 100);
	struct switch_op o = op_on(PRISM_OP_DELETE, 40020);
	struct done_rec d = { 0 };

	o.backend_ip = htonl(1); /* DELETE names no backend */
	CHECK_EQ(switch_async_op(sa, &o, on_done, &d), 0);
	CHECK_EQ(errno, EINVAL);
	run_for(loop, 10);
	CHECK_EQ(d.calls, 0);
	CHECK_EQ(f.seen_fast + f.seen_agent, 0);
	teardown(loop, &f, sa);
}

int main(void)
{
	CHECK_EQ(auth_key_set(&key, "async-test-key-0123", 19), 0);
	fast_key_derive(&key, &fast_key);
	t_run("async: fast answer, delivered from the loop", test_fast_answer);
	t_run("async: no fast answer, the agent answers; fast path left alone",
	      test_agent_fallback);
	t_run("async: no answer at all: one -ETIMEDOUT after retries",
	      test_timeout);
	t_run("async: agent requests numbered apart from the fast path's",
	      test_agent_seq_own_space);
	t_run("async: ops on one flow in order; cancel keeps the op",
	      test_flow_order_and_cancel);
	t_run("async: a malformed op is refused at once", test_bad_op);
	return t_done();
}
