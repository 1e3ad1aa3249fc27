/* One definition of the flow transitions (src/include/prism_flow.h), three
 * writers: every (state, op) pair is run through the agent's path
 * (src/switch/table.c, map syscalls) and through the data plane
 * (BPF_PROG_TEST_RUN: a fast-path datagram, or a marked segment for the
 * in-band CLAIM and UNLOCK), from the same starting table, and the tables
 * they leave (entries and reverse entries) and the statuses they answer
 * must be identical.  In-band ops have no agent path: the data plane's
 * table is compared with prism_flow_next()'s change applied by hand. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "fast_frame.h"
#include "lab/pkt.h"
#include "lab/progtest.h"
#include "lib/auth.h"
#include "prism_flow.h"
#include "switch/fast.h"
#include "switch/table.h"
#include "switch_load.h"

#define CTRL PKT_IP4(198, 18, 2, 2)
#define AGENT PKT_IP4(198, 18, 2, 1)
#define CLIENT PKT_IP4(198, 18, 1, 2)
#define VIP PKT_IP4(198, 19, 0, 1)
#define VIP2 PKT_IP4(198, 19, 0, 2)
#define B1 PKT_IP4(198, 18, 11, 2)
#define B2 PKT_IP4(198, 18, 12, 2)
#define CPORT 40000
#define PORT 7700
#define PEER 9
#define TAIL 1000u
#define MAX_REV 8

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 2, 2 };
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 2, 1 };

static struct switch_bpf *skel;
static struct flow_table table;
static int stats_fd, prog_fd;
static struct prism_sip_key key;
static uint64_t next_seq = 5000000;

struct start {
	const char *name;
	int present;
	struct prism_flow_value v; /* state, backend (host order), flags, seq */
};

static const struct start starts[] = {
	{ "absent", 0, { 0 } },
	{ "locked", 1, { .state = PRISM_FLOW_LOCKED } },
	{ "locked-claim-b1", 1,
	  { .state = PRISM_FLOW_LOCKED, .backend_ip = B1,
	    .flags = PRISM_FLOW_F_CLAIM } },
	{ "locked-tail-b1", 1,
	  { .state = PRISM_FLOW_LOCKED, .backend_ip = B1,
	    .flags = PRISM_FLOW_F_TAIL, .lock_seq = TAIL } },
	{ "owned-b1", 1, { .state = PRISM_FLOW_OWNED, .backend_ip = B1 } },
	{ "owned-open-b1", 1,
	  { .state = PRISM_FLOW_OWNED_OPEN, .backend_ip = B1 } },
	{ "home-b1", 1,
	  { .state = PRISM_FLOW_HOME, .backend_ip = B1,
	    .flags = PRISM_FLOW_F_TAIL, .lock_seq = TAIL } },
	{ "unknown-state", 1, { .state = 99, .backend_ip = B1 } },
};

struct op {
	const char *name;
	uint8_t op;
	uint32_t backend, sender, tail; /* host order */
};

static const struct op ops[] = {
	{ "lock", PRISM_OP_LOCK, 0, CTRL, 0 },
	{ "lock(b1)", PRISM_OP_LOCK, B1, CTRL, 0 },
	{ "lock(b2)", PRISM_OP_LOCK, B2, CTRL, 0 },
	{ "lock-tail by b1", PRISM_OP_LOCK_TAIL, 0, B1, 5000 },
	{ "lock-tail by b2", PRISM_OP_LOCK_TAIL, 0, B2, 5000 },
	{ "lock-tail by ctrl", PRISM_OP_LOCK_TAIL, 0, CTRL, 5000 },
	{ "delete", PRISM_OP_DELETE, 0, CTRL, 0 },
	{ "own(b1)", PRISM_OP_OWN, B1, B1, 0 },
	{ "own(b2)", PRISM_OP_OWN, B2, B2, 0 },
	{ "own-open(b1)", PRISM_OP_OWN_OPEN, B1, B1, 0 },
	{ "own(0)", PRISM_OP_OWN, 0, B1, 0 },
	{ "claim by b1", PRISM_OP_CLAIM, 0, B1, 0 },
	{ "claim by b2", PRISM_OP_CLAIM, 0, B2, 0 },
	{ "unlock", PRISM_OP_UNLOCK, 0, VIP, 0 },
};

/* What a run leaves: both flows' control fields and every reverse entry. */
struct snapshot {
	int status;
	int present[2];
	struct prism_flow_value v[2]; /* counters zeroed */
	int n_rev;
	struct {
		struct prism_rev_key rk;
		struct prism_flow_key to;
	} rev[MAX_REV];
};

static struct prism_flow_key flow_key(uint32_t vip)
{
	struct prism_flow_key k = { .client_ip = htonl(CLIENT),
				    .vip = htonl(vip),
				    .client_port = htons(CPORT),
				    .vip_port = htons(80) };
	return k;
}

static void clear(void)
{
	uint8_t next[16];

	while (bpf_map_get_next_key(table.flows_fd, NULL, next) == 0)
		bpf_map_delete_elem(table.flows_fd, next);
	while (bpf_map_get_next_key(table.rev_fd, NULL, next) == 0)
		bpf_map_delete_elem(table.rev_fd, next);
	CHECK_EQ(progtest_clear_stats(stats_fd), 0);
}

static void put(const struct prism_flow_key *k, const struct prism_flow_value *hv)
{
	struct prism_flow_value v = *hv;
	struct prism_rev_key rk;

	v.backend_ip = htonl(hv->backend_ip);
	CHECK_EQ(bpf_map_update_elem(table.flows_fd, k, &v, BPF_ANY), 0);
	if (!v.backend_ip)
		return;
	rk = prism_rev_key_of(k, v.backend_ip);
	CHECK_EQ(bpf_map_update_elem(table.rev_fd, &rk, k, BPF_ANY), 0);
}

/* The starting table: the flow under test, and with CONFLICT another
 * flow of the same client port to VIP2, owned by B2 (so that rev(B2) of
 * the flow under test is taken). */
static void set_start(const struct start *s, bool conflict)
{
	struct prism_flow_key k = flow_key(VIP), k2 = flow_key(VIP2);
	struct prism_flow_value other = { .state = PRISM_FLOW_OWNED,
					  .backend_ip = B2 };

	clear();
	if (s->present)
		put(&k, &s->v);
	if (conflict)
		put(&k2, &other);
}

static int rev_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct prism_rev_key));
}

static void snap(struct snapshot *sn, int status)
{
	struct prism_flow_key keys[2] = { flow_key(VIP), flow_key(VIP2) };
	struct prism_rev_key rk, next;
	void *prev = NULL;

	memset(sn, 0, sizeof(*sn));
	sn->status = status;
	for (int i = 0; i < 2; i++) {
		struct prism_flow_value v;

		if (bpf_map_lookup_elem(table.flows_fd, &keys[i], &v))
			continue;
		sn->present[i] = 1;
		sn->v[i].state = v.state;
		sn->v[i].backend_ip = v.backend_ip;
		sn->v[i].flags = v.flags;
		sn->v[i].lock_seq = v.lock_seq;
	}
	while (sn->n_rev < MAX_REV &&
	       bpf_map_get_next_key(table.rev_fd, prev, &next) == 0) {
		rk = next;
		sn->rev[sn->n_rev].rk = rk;
		bpf_map_lookup_elem(table.rev_fd, &rk, &sn->rev[sn->n_rev].to);
		sn->n_rev++;
		prev = &sn->rev[sn->n_rev - 1].rk;
	}
	qsort(sn->rev, (size_t)sn->n_rev, sizeof(sn->rev[0]), rev_cmp);
}

static struct switch_op wire_op(const struct op *o)
{
	struct switch_op w = { .op = o->op, .backend_ip = htonl(o->backend),
			       .tail_seq = o->tail, .key = flow_key(VIP) };

	if (!o->backend)
		w.backend_ip = 0;
	return w;
}

static int run_frame(const uint8_t *in, int len, uint8_t *out, uint32_t *size)
{
	struct progtest_run r = { 0 };

	r.data_in = in;
	r.size_in = (uint32_t)len;
	r.data_out = out;
	r.size_out = *size;
	if (progtest_run(prog_fd, &r))
		return -1;
	*size = r.size_out;
	return (int)r.retval;
}

/* The op as a fast-path datagram from its sender; its answer's status. */
static int via_fast_path(const struct op *o)
{
	static uint8_t in[PKT_MAX], out[PKT_MAX];
	struct switch_op w = wire_op(o);
	uint8_t msg[FAST_MSG_LEN];
	uint32_t size = sizeof(out);
	uint64_t seq = next_seq++, got;
	int len, status;

	fast_encode_op(&w, PEER, seq, &key, msg);
	len = fast_frame_build(o->sender, AGENT, PORT, mac_a, mac_b, msg, in);
	if (len < 0 || run_frame(in, len, out, &size) != TC_ACT_REDIRECT ||
	    fast_decode_response(out + FAST_FRAME_MSG_OFF, FAST_MSG_LEN, &key,
				 PEER, &got, &status) ||
	    got != seq)
		return 1; /* no answer: differs from any status */
	return status;
}

/* The in-band op as a marked segment: from B to the client (CLAIM; its
 * sequence number past the tail, so that it is not taken for one), or
 * from the VIP to the client (UNLOCK). */
static void via_segment(const struct op *o)
{
	static uint8_t in[PKT_MAX], out[PKT_MAX];
	struct pkt_spec s = { .saddr = o->sender, .daddr = CLIENT,
			      .sport = 80, .dport = CPORT,
			      .tos = PRISM_TOS_MARK, .flags = PKT_ACK,
			      .seq = 2 * TAIL, .window = 1000,
			      .payload_len = o->op == PRISM_OP_CLAIM ? 10 : 0 };
	uint32_t size = sizeof(out);
	int len;

	memcpy(s.src_mac, mac_a, 6);
	memcpy(s.dst_mac, mac_b, 6);
	len = pkt_build(&s, in, sizeof(in));
	CHECK(len > 0);
	CHECK(run_frame(in, len, out, &size) >= 0);
}

static uint64_t stat_of(enum prism_stat s)
{
	uint64_t got[PRISM_STAT_MAX];

	CHECK_EQ(progtest_read_stats(stats_fd, got), 0);
	return got[s];
}

/* prism_flow_next's change, applied to the starting table by hand (the
 * in-band ops add or drop no reverse entry). */
static void model(const struct start *s, const struct op *o, bool conflict,
		  struct snapshot *sn, bool *changed)
{
	struct prism_op_args a = { .op = o->op, .sender = htonl(o->sender) };
	struct prism_flow_value old = s->v;
	struct prism_flow_change c;

	old.backend_ip = htonl(s->v.backend_ip);
	prism_flow_next(s->present ? &old : NULL, &a, &c);
	CHECK_EQ(c.rev_add, 0);
	CHECK_EQ(c.rev_drop, 0);
	set_start(s, conflict);
	*changed = !c.status && c.action == PRISM_FLOW_WRITE;
	if (*changed) {
		struct prism_flow_key k = flow_key(VIP);

		old.state = c.state;
		old.backend_ip = c.backend_ip;
		old.flags = c.flags;
		old.lock_seq = c.lock_seq;
		CHECK_EQ(bpf_map_update_elem(table.flows_fd, &k, &old, BPF_ANY),
			 0);
	}
	snap(sn, 0);
}

static void describe(const char *path, const struct snapshot *sn)
{
	printf("#   %s: status %d, flow %s state %u backend %08x flags %u "
	       "seq %u, %d reverse entries\n",
	       path, sn->status, sn->present[0] ? "present" : "absent",
	       sn->v[0].state, ntohl(sn->v[0].backend_ip), sn->v[0].flags,
	       sn->v[0].lock_seq, sn->n_rev);
}

static int n_cases, n_changed, n_refused;

static void one_case(const struct start *s, const struct op *o, bool conflict)
{
	struct snapshot a, d;
	bool changed = false;
	int status;

	if (o->op >= PRISM_OP_CLAIM) {
		uint64_t before;
		enum prism_stat st = o->op == PRISM_OP_CLAIM ? PRISM_STAT_CLAIM
							     : PRISM_STAT_UNLOCK;

		model(s, o, conflict, &a, &changed);
		set_start(s, conflict);
		before = stat_of(st);
		via_segment(o);
		snap(&d, 0);
		if (stat_of(st) - before != (changed ? 1u : 0u))
			t_failf(__FILE__, __LINE__,
				"%s, %s%s: %s counted %llu times, model %d",
				s->name, o->name, conflict ? " (conflict)" : "",
				o->op == PRISM_OP_CLAIM ? "claim" : "unlock",
				(unsigned long long)(stat_of(st) - before),
				changed);
	} else {
		struct switch_op w = wire_op(o);
		struct prism_flow_value before;
		struct prism_flow_key k = flow_key(VIP);
		bool had;

		set_start(s, conflict);
		had = !bpf_map_lookup_elem(table.flows_fd, &k, &before);
		status = table_apply(&table, &w, htonl(o->sender));
		snap(&a, status);
		changed = !status && (!had || a.present[0] != 1 ||
				      a.v[0].state != before.state ||
				      a.v[0].flags != before.flags ||
				      a.v[0].backend_ip != before.backend_ip);
		set_start(s, conflict);
		snap(&d, via_fast_path(o));
	}
	n_cases++;
	n_changed += changed;
	n_refused += a.status != 0;
	if (memcmp(&a, &d, sizeof(a))) {
		t_failf(__FILE__, __LINE__, "%s, %s%s: the paths differ",
			s->name, o->name, conflict ? " (rev(b2) taken)" : "");
		describe(o->op >= PRISM_OP_CLAIM ? "model" : "agent", &a);
		describe("data plane", &d);
	}
}

static void test_every_pair(void)
{
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++)
			for (int conflict = 0; conflict < 2; conflict++)
				one_case(&starts[i], &ops[j], conflict);
	printf("# %d cases: %d changed the flow, %d refused\n", n_cases,
	       n_changed, n_refused);
	/* A table that never changes or never refuses tests nothing. */
	CHECK(n_changed > n_cases / 4);
	CHECK(n_refused > 10);
}

/* A few rows of the table spelled out, so that the paths cannot agree on
 * a wrong answer unnoticed. */
static void test_known_rows(void)
{
	struct prism_op_args tail = { .op = PRISM_OP_LOCK_TAIL,
				      .sender = htonl(B1), .tail_seq = 7 };
	struct prism_op_args claim = { .op = PRISM_OP_CLAIM, .sender = htonl(B1) };
	struct prism_op_args unlock = { .op = PRISM_OP_UNLOCK };
	struct prism_flow_value owned = { .state = PRISM_FLOW_OWNED,
					  .backend_ip = htonl(B1) };
	struct prism_flow_change c;

	prism_flow_next(&owned, &tail, &c);
	CHECK_EQ(c.state, PRISM_FLOW_LOCKED);
	CHECK_EQ(c.flags, PRISM_FLOW_F_TAIL);
	CHECK_EQ(c.lock_seq, 7);
	owned.state = PRISM_FLOW_LOCKED;
	owned.flags = PRISM_FLOW_F_TAIL;
	prism_flow_next(&owned, &tail, &c); /* repeated: the same tail */
	CHECK_EQ(c.flags, PRISM_FLOW_F_TAIL);
	prism_flow_next(&owned, &unlock, &c);
	CHECK_EQ(c.status, 0);
	CHECK_EQ(c.state, PRISM_FLOW_HOME);
	CHECK_EQ(c.flags, PRISM_FLOW_F_TAIL);
	owned.state = PRISM_FLOW_HOME; /* a resent update: nothing to do */
	prism_flow_next(&owned, &unlock, &c);
	CHECK_EQ(c.status, 0);
	CHECK_EQ(c.action, PRISM_FLOW_KEEP);
	owned.state = PRISM_FLOW_LOCKED;
	prism_flow_next(&owned, &claim, &c); /* no claim pending */
	CHECK_EQ(c.status, PRISM_EPERM);
	owned.flags = PRISM_FLOW_F_CLAIM;
	prism_flow_next(&owned, &claim, &c);
	CHECK_EQ(c.state, PRISM_FLOW_OWNED);
	CHECK_EQ(c.flags, 0);
	prism_flow_next(&owned, &unlock, &c); /* a claim pending */
	CHECK_EQ(c.status, PRISM_EPERM);
}

static int load(void)
{
	struct prism_fast_allow_key allow = { .prefixlen = 15,
					      .addr = htonl(PKT_IP4(198, 18, 0, 0)) };
	struct t_switch_fds fds;
	struct auth_key k;
	uint8_t one = 1;
	int err;

	CHECK_EQ(auth_key_set(&k, "flow-core-test-key", 18), 0);
	fast_key_derive(&k, &key);
	skel = t_switch_open();
	if (!skel)
		return -errno;
	skel->data->prism_rpf = 0;
	skel->bss->fast_port = htons(PORT);
	skel->bss->fast_k0 = key.k0;
	skel->bss->fast_k1 = key.k1;
	err = t_switch_load(skel, &fds);
	if (err)
		return err;
	table.flows_fd = fds.flows;
	table.rev_fd = fds.rev;
	stats_fd = fds.stats;
	prog_fd = fds.prog;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.fast_allow), &allow,
				   &one, BPF_ANY)
		       ? -errno
		       : 0;
}

int main(void)
{
	int err;

	t_run("known rows of the transition table", test_known_rows);
	if (geteuid() != 0 || progtest_enter_netns() != 0) {
		t_skip("agent vs data plane", "needs root (BPF_PROG_TEST_RUN)");
		return t_done();
	}
	err = load();
	if (err) {
		printf("# load switch_bpf: %s\n", strerror(-err));
		t_fail(__FILE__, __LINE__, "load the switch program");
		return t_done();
	}
	t_run("every (state, op): agent, fast path and in-band agree",
	      test_every_pair);
	switch_bpf__destroy(skel);
	return t_done();
}
