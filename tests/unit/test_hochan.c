/* The hand-off channel: HELLO exchange, ordered delivery, and refusal of
 * messages recorded on another channel, over socketpairs in one loop. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "lib/hochan.h"
#include "t.h"

static struct auth_key key;

struct end {
	struct hochan *ch;
	int msgs, closed;
	long close_err;
	uint64_t last_conn;
};

static void on_msg(struct hochan *ch, const struct ho_msg *m, void *arg)
{
	struct end *e = arg;

	(void)ch;
	e->msgs++;
	e->last_conn = m->conn_id;
}

static void on_close(struct hochan *ch, long err, void *arg)
{
	struct end *e = arg;

	(void)ch;
	e->closed++;
	e->close_err = err;
	e->ch = NULL;
}

static void stop(struct evloop *l, struct evtimer *t, void *arg)
{
	(void)t;
	(void)arg;
	evloop_stop(l);
}

static void run_for(struct evloop *l, uint64_t ms)
{
	evloop_timer_add(l, ms, stop, NULL);
	evloop_run(l);
}

static int pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds))
		return -errno;
	return 0;
}

static void test_hello_then_messages(void)
{
	struct evloop *l = evloop_new();
	struct end a = { 0 }, b = { 0 };
	struct ho_msg m = { .type = HO_HANDOFF_ACK, .conn_id = 42 };
	int fds[2];

	CHECK(!pair(fds));
	a.ch = hochan_new(l, fds[0], &key, on_msg, on_close, &a);
	b.ch = hochan_new(l, fds[1], &key, on_msg, on_close, &b);
	CHECK(a.ch && b.ch);
	CHECK_EQ(hochan_send(a.ch, &m), -EAGAIN); /* no HELLO yet */
	run_for(l, 20);
	CHECK(hochan_ready(a.ch) && hochan_ready(b.ch));
	for (int i = 0; i < 3; i++)
		CHECK_EQ(hochan_send(a.ch, &m), 0);
	run_for(l, 20);
	CHECK_EQ(b.msgs, 3);
	CHECK_EQ(b.last_conn, 42);
	CHECK_EQ(b.closed, 0);
	hochan_free(a.ch);
	hochan_free(b.ch);
	evloop_free(l);
}

/* A lazy message waits for the next ordinary one (both arrive, in order),
 * or for its timer when none comes. */
static void test_lazy(void)
{
	struct evloop *l = evloop_new();
	struct end a = { 0 }, b = { 0 };
	struct ho_msg lazy = { .type = HO_HANDBACK_ACK, .conn_id = 7 },
		      now = { .type = HO_HANDOFF_ACK, .conn_id = 8 };
	int fds[2];

	CHECK(!pair(fds));
	a.ch = hochan_new(l, fds[0], &key, on_msg, on_close, &a);
	b.ch = hochan_new(l, fds[1], &key, on_msg, on_close, &b);
	run_for(l, 20);
	CHECK(hochan_ready(a.ch) && hochan_ready(b.ch));
	CHECK_EQ(hochan_send_lazy(a.ch, &lazy), 0);
	run_for(l, 5);
	CHECK_EQ(b.msgs, 0);
	CHECK_EQ(hochan_send(a.ch, &now), 0);
	run_for(l, 5);
	CHECK_EQ(b.msgs, 2);
	CHECK_EQ(b.last_conn, 8);
	CHECK_EQ(hochan_send_lazy(a.ch, &lazy), 0);
	run_for(l, 5);
	CHECK_EQ(b.msgs, 2);
	run_for(l, 40);
	CHECK_EQ(b.msgs, 3);
	CHECK_EQ(b.last_conn, 7);
	CHECK_EQ(b.closed, 0);
	hochan_free(a.ch);
	hochan_free(b.ch);
	evloop_free(l);
}

/* Records what a sends to a peer; replays it to a new channel. */
static void test_transplanted_message_refused(void)
{
	struct evloop *l = evloop_new();
	struct end a = { 0 }, victim = { 0 };
	struct ho_msg m = { .type = HO_HANDOFF_ACK, .conn_id = 7 };
	uint8_t rec[4096];
	ssize_t n;
	int tap[2], fds[2];

	/* a talks to a raw socket: we see its bytes and play its peer. */
	CHECK(!pair(tap));
	a.ch = hochan_new(l, tap[0], &key, on_msg, on_close, &a);
	/* Answer a's HELLO with one of a peer channel, to get a ready. */
	CHECK(!pair(fds));
	victim.ch = hochan_new(l, fds[0], &key, on_msg, on_close, &victim);
	run_for(l, 10);
	n = read(fds[1], rec, sizeof(rec)); /* victim's HELLO */
	CHECK(n > 0);
	CHECK_EQ(write(tap[1], rec, (size_t)n), n); /* as a's peer HELLO */
	run_for(l, 10);
	CHECK(hochan_ready(a.ch));
	CHECK_EQ(hochan_send(a.ch, &m), 0);
	run_for(l, 10);
	n = read(tap[1], rec, sizeof(rec)); /* a's HELLO + the message */
	CHECK(n > 0);
	/* Replay the recording to the victim: the HELLO is fine, the message
	 * was numbered from the victim's nonce... only if a saw the victim's
	 * HELLO, which it did: so it must be accepted exactly once. */
	CHECK_EQ(write(fds[1], rec, (size_t)n), n);
	run_for(l, 10);
	CHECK_EQ(victim.msgs, 1);
	/* The same bytes again (a replay on the same channel) kill it. */
	CHECK_EQ(write(fds[1], rec, (size_t)n), n);
	run_for(l, 10);
	CHECK_EQ(victim.msgs, 1);
	CHECK_EQ(victim.closed, 1);
	close(fds[1]);
	close(tap[1]);
	hochan_free(a.ch);
	evloop_free(l);
}

static void test_replay_on_new_channel_refused(void)
{
	struct evloop *l = evloop_new();
	struct end a = { 0 }, b = { 0 }, c = { 0 };
	struct ho_msg m = { .type = HO_HANDOFF_ACK, .conn_id = 9 };
	uint8_t rec[4096];
	ssize_t n;
	int tap[2], fds[2], fds2[2];

	/* a <-> b, with a's output recorded through a tap. */
	CHECK(!pair(tap) && !pair(fds) && !pair(fds2));
	a.ch = hochan_new(l, tap[0], &key, on_msg, on_close, &a);
	b.ch = hochan_new(l, fds[0], &key, on_msg, on_close, &b);
	run_for(l, 10);
	n = read(fds[1], rec, sizeof(rec));
	CHECK_EQ(write(tap[1], rec, (size_t)n), n);
	run_for(l, 10);
	CHECK_EQ(hochan_send(a.ch, &m), 0);
	run_for(l, 10);
	n = read(tap[1], rec, sizeof(rec));
	CHECK(n > 0);
	/* A new channel c (new nonce) gets the recording. */
	c.ch = hochan_new(l, fds2[0], &key, on_msg, on_close, &c);
	CHECK_EQ(write(fds2[1], rec, (size_t)n), n);
	run_for(l, 10);
	CHECK_EQ(c.msgs, 0);
	CHECK_EQ(c.closed, 1);
	close(tap[1]);
	close(fds[1]);
	close(fds2[1]);
	hochan_free(a.ch);
	hochan_free(b.ch);
	evloop_free(l);
}

static void test_silent_peer_dropped(void)
{
	struct evloop *l = evloop_new();
	struct end a = { 0 };
	int fds[2];

	CHECK(!pair(fds));
	a.ch = hochan_new(l, fds[0], &key, on_msg, on_close, &a);
	run_for(l, 2300);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.close_err, -ETIMEDOUT);
	close(fds[1]);
	evloop_free(l);
}

/* After HELLO the bytes on the wire are sealed: the request is not in
 * them, and a message reflected back to its sender does not open there
 * (each direction has its own key). */
static void test_sealed_on_wire_reflection_refused(void)
{
	static const char secret[] = "GET /secret-object HTTP/1.1";
	struct evloop *l = evloop_new();
	struct end a = { 0 }, b = { 0 };
	struct ho_msg m = { .type = HO_HANDOFF_DATA, .conn_id = 5,
			    .pending = (const uint8_t *)secret,
			    .pending_len = sizeof(secret) - 1 };
	uint8_t rec[4096];
	ssize_t n;
	int tap[2], fds[2];

	CHECK(!pair(tap) && !pair(fds));
	a.ch = hochan_new(l, tap[0], &key, on_msg, on_close, &a);
	b.ch = hochan_new(l, fds[0], &key, on_msg, on_close, &b);
	run_for(l, 10);
	n = read(fds[1], rec, sizeof(rec)); /* b's HELLO, to a */
	CHECK(n > 0 && write(tap[1], rec, (size_t)n) == n);
	n = read(tap[1], rec, sizeof(rec)); /* a's HELLO, to b */
	CHECK(n > 0 && write(fds[1], rec, (size_t)n) == n);
	run_for(l, 10);
	CHECK(hochan_ready(a.ch) && hochan_ready(b.ch));
	CHECK_EQ(hochan_send(a.ch, &m), 0);
	run_for(l, 10);
	n = read(tap[1], rec, sizeof(rec));
	CHECK(n > 0);
	CHECK(!memmem(rec, (size_t)n, "secret-object", 13));
	CHECK_EQ(write(fds[1], rec, (size_t)n), n);
	run_for(l, 10);
	CHECK_EQ(b.msgs, 1);
	CHECK_EQ(b.last_conn, 5);
	/* a's own message, back to a */
	CHECK_EQ(write(tap[1], rec, (size_t)n), n);
	run_for(l, 10);
	CHECK_EQ(a.msgs, 0);
	CHECK_EQ(a.closed, 1);
	CHECK_EQ(a.close_err, -EBADMSG);
	close(tap[1]);
	close(fds[1]);
	hochan_free(b.ch);
	evloop_free(l);
}

int main(void)
{
	auth_key_set(&key, "0123456789abcdef-key", 20);
	t_run("hochan: a lazy message goes with the next one, or on its timer",
	      test_lazy);
	t_run("hochan: HELLO first, then messages in order",
	      test_hello_then_messages);
	t_run("hochan: a recording accepted once where it was numbered, "
	      "replay on the same channel refused",
	      test_transplanted_message_refused);
	t_run("hochan: a recording replayed on a new channel is refused",
	      test_replay_on_new_channel_refused);
	t_run("hochan: sealed on the wire, a reflected message refused",
	      test_sealed_on_wire_reflection_refused);
	t_run("hochan: a peer without HELLO is dropped after 2 s",
	      test_silent_peer_dropped);
	return t_done();
}
