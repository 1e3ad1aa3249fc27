/* The switch's fast control path (src/bpf/fast.h) through
 * BPF_PROG_TEST_RUN: a LOCK (OWN, DELETE) datagram is authenticated, checked against its
 * sender's replay window, executed on the flow table and turned into its
 * answer in place, bounced back out of the port it came in on.  Also the
 * SipHash it uses (prism_siphash.h) against the reference vectors, and the
 * user-space codec (src/switch/fast.c). */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "lib/auth.h"
#include "lab/pkt.h"
#include "switch/fast.h"
#include "lab/progtest.h"
#include "fast_frame.h"
#include "switch_load.h"

#define CTRL PKT_IP4(198, 18, 2, 2)
#define AGENT PKT_IP4(198, 18, 2, 1)
#define STRANGER PKT_IP4(198, 18, 9, 9)
#define CLIENT PKT_IP4(198, 18, 1, 2)
#define VIP PKT_IP4(198, 19, 0, 1)
#define B1 PKT_IP4(198, 18, 11, 2)
#define B2 PKT_IP4(198, 18, 12, 2)
#define PORT 7700
#define PEER 7
#define MSG_OFF FAST_FRAME_MSG_OFF

static const uint8_t ctrl_mac[6] = { 2, 0, 0, 0, 2, 2 };
static const uint8_t fabric_mac[6] = { 2, 0, 0, 0, 2, 1 };

static struct switch_bpf *skel;
static int flows_fd, rev_fd, stats_fd, prog_fd;
static struct prism_sip_key key;
static uint64_t next_seq = 1000000;

/* Reference vectors: key 00..0f, message 00..n-1 (SipHash paper, and
 * the reference implementation's vectors_sip64[40] for n = 40). */
static void test_siphash_vectors(void)
{
	struct prism_sip_key k = { .k0 = 0x0706050403020100ULL,
				   .k1 = 0x0f0e0d0c0b0a0908ULL };
	uint8_t msg[40];
	__u64 w[5];

	for (int i = 0; i < 40; i++)
		msg[i] = (uint8_t)i;
	memcpy(w, msg, sizeof(w));
	for (int i = 0; i < 5; i++)
		w[i] = le64toh(w[i]);
	CHECK_EQ(prism_siphash_40(&k, w), 0x0e3ea96b5304a7d0ULL);
	/* Any flipped message bit changes the tag. */
	for (int bit = 0; bit < 320; bit++) {
		__u64 f[5];

		memcpy(f, w, sizeof(f));
		f[bit / 64] ^= 1ULL << (bit % 64);
		if (prism_siphash_40(&k, f) == 0x0e3ea96b5304a7d0ULL)
			t_failf(__FILE__, __LINE__, "bit %d: same tag", bit);
	}
}

static struct switch_op lock_op(uint32_t claimant, uint16_t cport)
{
	struct switch_op o = { .op = PRISM_OP_LOCK,
			       .backend_ip = claimant ? htonl(claimant) : 0 };

	o.key.client_ip = htonl(CLIENT);
	o.key.vip = htonl(VIP);
	o.key.client_port = htons(cport);
	o.key.vip_port = htons(80);
	return o;
}

/* The codec: what it encodes it decodes once answered; a flipped byte,
 * another peer id or another key is refused. */
static void test_codec(void)
{
	struct switch_op o = lock_op(B1, 40000);
	struct prism_sip_key other = key;
	uint8_t buf[FAST_MSG_LEN], copy[FAST_MSG_LEN];
	struct prism_fast_msg m;
	uint64_t seq;
	int status;

	fast_encode_op(&o, PEER, 42, &key, buf);
	memcpy(&m, buf, sizeof(m));
	CHECK_EQ(be32toh(m.magic), PRISM_FAST_MAGIC);
	CHECK_EQ(m.type, PRISM_FAST_REQUEST);
	CHECK_EQ(be64toh(m.seq), 42);
	CHECK(!memcmp(&m.key, &o.key, sizeof(o.key)));
	/* Turn it into an answer the way the data plane does. */
	m.type = PRISM_FAST_RESPONSE;
	m.status = EADDRINUSE;
	memcpy(buf, &m, sizeof(m));
	m.tag = htole64(fast_tag(&key, buf));
	memcpy(buf, &m, sizeof(m));
	CHECK_EQ(fast_decode_response(buf, sizeof(buf), &key, PEER, &seq,
				      &status), 0);
	CHECK_EQ(seq, 42);
	CHECK_EQ(status, -EADDRINUSE);
	CHECK_EQ(fast_decode_response(buf, sizeof(buf) - 1, &key, PEER, &seq,
				      &status), -EBADMSG);
	CHECK_EQ(fast_decode_response(buf, sizeof(buf), &key, PEER + 1, &seq,
				      &status), -EBADMSG);
	other.k1 ^= 1;
	CHECK_EQ(fast_decode_response(buf, sizeof(buf), &other, PEER, &seq,
				      &status), -EBADMSG);
	for (size_t i = 0; i < sizeof(buf); i++) {
		memcpy(copy, buf, sizeof(buf));
		copy[i] ^= 0x10;
		if (!fast_decode_response(copy, sizeof(copy), &key, PEER, &seq,
					  &status))
			t_failf(__FILE__, __LINE__, "byte %zu flipped: accepted",
				i);
	}
}

static int build_request(uint32_t src, uint16_t dport, const uint8_t *msg,
			 uint8_t *frame)
{
	return fast_frame_build(src, AGENT, dport, ctrl_mac, fabric_mac, msg,
				frame);
}

struct answer {
	int verdict;
	int status;      /* decoded status (0 or -errno); 1: no answer */
	uint64_t seq;
	bool swapped;    /* addresses, ports and MACs swapped */
	bool csums_ok;
};

static struct answer run(uint32_t src, uint16_t dport, const uint8_t *msg)
{
	static uint8_t in[PKT_MAX], out[PKT_MAX];
	struct progtest_run r = { 0 };
	struct answer a = { .status = 1 };
	int len = build_request(src, dport, msg, in);

	CHECK(len > 0);
	r.data_in = in;
	r.size_in = (uint32_t)len;
	r.data_out = out;
	r.size_out = sizeof(out);
	CHECK_EQ(progtest_run(prog_fd, &r), 0);
	a.verdict = (int)r.retval;
	a.csums_ok = pkt_verify_csums(out, r.size_out) == 0;
	a.swapped = !memcmp(out, ctrl_mac, 6) && !memcmp(out + 6, fabric_mac, 6) &&
		    !memcmp(out + 26, in + 30, 4) && !memcmp(out + 30, in + 26, 4) &&
		    !memcmp(out + 34, in + 36, 2) && !memcmp(out + 36, in + 34, 2);
	if (fast_decode_response(out + MSG_OFF, FAST_MSG_LEN, &key, PEER,
				 &a.seq, &a.status))
		a.status = 1;
	return a;
}

static struct answer lock(struct switch_op o)
{
	uint8_t msg[FAST_MSG_LEN];
	uint64_t seq = next_seq++;
	struct answer a;

	fast_encode_op(&o, PEER, seq, &key, msg);
	a = run(CTRL, PORT, msg);
	CHECK_EQ(a.seq, seq);
	return a;
}

static void clear(void)
{
	uint8_t k[16], next[16];

	while (bpf_map_get_next_key(flows_fd, NULL, next) == 0)
		bpf_map_delete_elem(flows_fd, next);
	while (bpf_map_get_next_key(rev_fd, NULL, next) == 0)
		bpf_map_delete_elem(rev_fd, next);
	(void)k;
	CHECK_EQ(progtest_clear_stats(stats_fd), 0);
}

static bool flow(uint16_t cport, uint32_t *state, uint32_t *backend,
		 uint32_t *flags)
{
	struct switch_op o = lock_op(0, cport);
	struct prism_flow_value v;

	if (bpf_map_lookup_elem(flows_fd, &o.key, &v))
		return false;
	*state = v.state;
	*backend = ntohl(v.backend_ip);
	*flags = v.flags;
	return true;
}

static bool rev_names(uint32_t backend, uint16_t cport)
{
	struct switch_op o = lock_op(0, cport);
	struct prism_rev_key rk = {
		.backend_ip = htonl(backend), .client_ip = o.key.client_ip,
		.backend_port = o.key.vip_port, .client_port = o.key.client_port,
	};
	struct prism_flow_key back;

	return bpf_map_lookup_elem(rev_fd, &rk, &back) == 0 &&
	       !memcmp(&back, &o.key, sizeof(back));
}

static uint64_t stat(enum prism_stat s)
{
	uint64_t got[PRISM_STAT_MAX];

	CHECK_EQ(progtest_read_stats(stats_fd, got), 0);
	return got[s];
}

static void put(uint16_t cport, uint32_t state, uint32_t backend)
{
	struct switch_op o = lock_op(0, cport);
	struct prism_flow_value v = { .state = state,
				      .backend_ip = htonl(backend) };
	struct prism_rev_key rk = {
		.backend_ip = htonl(backend), .client_ip = o.key.client_ip,
		.backend_port = o.key.vip_port, .client_port = o.key.client_port,
	};

	CHECK_EQ(bpf_map_update_elem(flows_fd, &o.key, &v, BPF_ANY), 0);
	if (backend)
		CHECK_EQ(bpf_map_update_elem(rev_fd, &rk, &o.key, BPF_ANY), 0);
}

/* LOCK from absent, from OWNED (backend kept), naming a claimant (from
 * absent and moving from another backend); each answered in place. */
static void test_lock_transitions(void)
{
	uint32_t st, b, fl;
	struct answer a;

	clear();
	a = lock(lock_op(0, 40000));
	CHECK_EQ(a.verdict, TC_ACT_REDIRECT);
	CHECK_EQ(a.status, 0);
	CHECK(a.swapped);
	CHECK(a.csums_ok);
	CHECK(flow(40000, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_LOCKED);
	CHECK_EQ(b, 0);

	put(40001, PRISM_FLOW_OWNED, B1);
	CHECK_EQ(lock(lock_op(0, 40001)).status, 0);
	CHECK(flow(40001, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_LOCKED);
	CHECK_EQ(b, B1);
	CHECK_EQ(fl, 0);
	CHECK(rev_names(B1, 40001));

	CHECK_EQ(lock(lock_op(B1, 40002)).status, 0);
	CHECK(flow(40002, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_LOCKED);
	CHECK_EQ(b, B1);
	CHECK_EQ(fl, PRISM_FLOW_F_CLAIM);
	CHECK(rev_names(B1, 40002));

	put(40003, PRISM_FLOW_OWNED, B2);
	CHECK_EQ(lock(lock_op(B1, 40003)).status, 0);
	CHECK(flow(40003, &st, &b, &fl));
	CHECK_EQ(b, B1);
	CHECK_EQ(fl, PRISM_FLOW_F_CLAIM);
	CHECK(rev_names(B1, 40003));
	CHECK(!rev_names(B2, 40003));
	CHECK_EQ(stat(PRISM_STAT_FAST_OPS), 4);
	CHECK_EQ(stat(PRISM_STAT_REDIRECT), 4);
}

/* The claimant's backend-side 4-tuple belongs to another live flow of
 * that backend (same client port, another VIP): EADDRINUSE, untouched. */
static void test_lock_rev_collision(void)
{
	struct switch_op other = lock_op(0, 40010);
	struct prism_flow_value v = { .state = PRISM_FLOW_OWNED,
				      .backend_ip = htonl(B1) };
	struct prism_rev_key rk = {
		.backend_ip = htonl(B1), .client_ip = other.key.client_ip,
		.backend_port = other.key.vip_port,
		.client_port = other.key.client_port,
	};
	uint32_t st, b, fl;

	clear();
	other.key.vip = htonl(VIP + 1);
	CHECK_EQ(bpf_map_update_elem(flows_fd, &other.key, &v, BPF_ANY), 0);
	CHECK_EQ(bpf_map_update_elem(rev_fd, &rk, &other.key, BPF_ANY), 0);
	CHECK_EQ(lock(lock_op(B1, 40010)).status, -EADDRINUSE);
	CHECK(!flow(40010, &st, &b, &fl));
}

/* The same seq twice: the second is answered EALREADY and not executed
 * again (the flow moved on in between); a seq 64 below the newest is
 * dropped; one inside the window but unseen is executed. */
static void test_replay_window(void)
{
	struct switch_op o = lock_op(0, 40020);
	uint8_t msg[FAST_MSG_LEN];
	uint32_t st, b, fl;
	uint64_t seq = next_seq;
	struct answer a;

	clear();
	next_seq += 100;
	fast_encode_op(&o, PEER, seq + 50, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).status, 0);
	put(40020, PRISM_FLOW_OWNED, B1);
	a = run(CTRL, PORT, msg);
	CHECK_EQ(a.status, -EALREADY);
	CHECK(flow(40020, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED);
	CHECK_EQ(stat(PRISM_STAT_FAST_DUPLICATE), 1);
	/* seq + 10 is inside the window (40 below) and fresh. */
	fast_encode_op(&o, PEER, seq + 10, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).status, 0);
	CHECK(flow(40020, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_LOCKED);
	/* Move the window up, then seq + 10 is 64 below: dropped. */
	fast_encode_op(&o, PEER, seq + 74, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).status, 0);
	put(40020, PRISM_FLOW_OWNED, B1);
	fast_encode_op(&o, PEER, seq + 10, &key, msg);
	a = run(CTRL, PORT, msg);
	CHECK_EQ(a.verdict, TC_ACT_SHOT);
	CHECK_EQ(a.status, 1);
	CHECK_EQ(stat(PRISM_STAT_FAST_REPLAY), 1);
	CHECK(flow(40020, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED);
}

/* Refused without effect: a wrong tag or a flipped byte (dropped,
 * fast_bad), a sender outside the allowlist (dropped), another port or
 * another magic (passed on to the kernel: the agent's business). */
static void test_refused(void)
{
	struct switch_op o = lock_op(0, 40030);
	uint8_t msg[FAST_MSG_LEN], bad[FAST_MSG_LEN];
	struct prism_sip_key other = key;
	uint32_t st, b, fl;
	struct answer a;

	clear();
	other.k0 ^= 1;
	fast_encode_op(&o, PEER, next_seq++, &other, msg);
	a = run(CTRL, PORT, msg);
	CHECK_EQ(a.verdict, TC_ACT_SHOT);
	for (size_t i = 0; i < FAST_MSG_LEN; i++) {
		fast_encode_op(&o, PEER, next_seq++, &key, msg);
		memcpy(bad, msg, sizeof(bad));
		bad[i] ^= 0x01;
		a = run(CTRL, PORT, bad);
		/* magic, version and type bytes: not ours, passed on */
		if (i < 6)
			CHECK_EQ(a.verdict, TC_ACT_OK);
		else
			CHECK_EQ(a.verdict, TC_ACT_SHOT);
	}
	CHECK_EQ(stat(PRISM_STAT_FAST_BAD), 1 + FAST_MSG_LEN - 6);
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(STRANGER, PORT, msg).verdict, TC_ACT_SHOT);
	CHECK_EQ(stat(PRISM_STAT_FAST_UNKNOWN_PEER), 1);
	a = run(CTRL, PORT + 1, msg);
	CHECK_EQ(a.verdict, TC_ACT_OK);
	CHECK_EQ(a.status, 1);
	CHECK(!flow(40030, &st, &b, &fl));
	CHECK_EQ(stat(PRISM_STAT_FAST_OPS), 0);
}

/* A full table: ENOSPC, counted, and a claimant's reverse entry rolled
 * back (nothing half-done stays in the maps). */
static void test_table_full(void)
{
	struct prism_flow_value v = { .state = PRISM_FLOW_LOCKED };
	uint32_t st, b, fl;
	int n = 0;

	clear();
	for (uint32_t i = 0; i < 4096; i++) {
		struct switch_op o = lock_op(0, (uint16_t)(1000 + i));

		o.key.vip = htonl(VIP + 100);
		if (bpf_map_update_elem(flows_fd, &o.key, &v, BPF_NOEXIST))
			break;
		n++;
	}
	CHECK_EQ(n, 1024);
	CHECK_EQ(lock(lock_op(0, 40040)).status, -ENOSPC);
	CHECK_EQ(lock(lock_op(B1, 40041)).status, -ENOSPC);
	CHECK(!flow(40041, &st, &b, &fl));
	CHECK(!rev_names(B1, 40041));
	CHECK_EQ(stat(PRISM_STAT_FAST_TABLE_FULL), 2);
	clear();
}

/* LOCK_TAIL from the owner records its tail; from anyone else it is a
 * plain LOCK.  DELETE removes the flow and its reverse entry. */
static void test_tail_and_delete(void)
{
	struct switch_op o = lock_op(0, 40050);
	uint8_t msg[FAST_MSG_LEN];
	uint32_t st, b, fl, tail = 123456789;
	struct prism_flow_value v;

	clear();
	put(40050, PRISM_FLOW_OWNED, B1);
	o.op = PRISM_OP_LOCK_TAIL;
	o.tail_seq = tail;
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).status, 0);
	CHECK(flow(40050, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_LOCKED);
	CHECK_EQ(fl, 0);
	put(40050, PRISM_FLOW_OWNED, B1);
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(B1, PORT, msg).status, 0);
	CHECK(flow(40050, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_LOCKED);
	CHECK_EQ(fl, PRISM_FLOW_F_TAIL);
	CHECK_EQ(bpf_map_lookup_elem(flows_fd, &o.key, &v), 0);
	CHECK_EQ(v.lock_seq, tail);
	o.op = PRISM_OP_DELETE;
	o.tail_seq = 0;
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).status, 0);
	CHECK(!flow(40050, &st, &b, &fl));
	CHECK(!rev_names(B1, 40050));
	/* Again: nothing to delete, still 0. */
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).status, 0);
	/* A tail on a LOCK naming a claimant is malformed: dropped. */
	o = lock_op(B2, 40051);
	o.tail_seq = tail;
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).verdict, TC_ACT_SHOT);
	CHECK(!flow(40051, &st, &b, &fl));
}

static struct switch_op own_op(uint8_t op, uint32_t backend, uint16_t cport)
{
	struct switch_op o = lock_op(backend, cport);

	o.op = op;
	return o;
}

/* OWN and OWN_OPEN as the agent applies them: a claim served (LOCKED with
 * CLAIM for B1 -> OWNED_OPEN(B1), the claim flag gone), the window closed
 * again (OWN), a flow moved to another backend (the old reverse entry
 * dropped), from absent; without a backend EINVAL; an entry in no known
 * state untouched; a rev collision EADDRINUSE. */
static void test_own(void)
{
	struct prism_flow_value odd = { .state = 77 };
	struct switch_op o = own_op(PRISM_OP_OWN_OPEN, B1, 40060);
	uint32_t st, b, fl;

	clear();
	CHECK_EQ(lock(lock_op(B1, 40060)).status, 0);
	CHECK_EQ(lock(o).status, 0);
	CHECK(flow(40060, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED_OPEN);
	CHECK_EQ(b, B1);
	CHECK_EQ(fl, 0);
	CHECK(rev_names(B1, 40060));
	CHECK_EQ(lock(own_op(PRISM_OP_OWN, B1, 40060)).status, 0);
	CHECK(flow(40060, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED);
	CHECK(rev_names(B1, 40060));

	CHECK_EQ(lock(own_op(PRISM_OP_OWN, B2, 40060)).status, 0);
	CHECK(flow(40060, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED);
	CHECK_EQ(b, B2);
	CHECK(rev_names(B2, 40060));
	CHECK(!rev_names(B1, 40060));

	CHECK_EQ(lock(own_op(PRISM_OP_OWN_OPEN, B1, 40061)).status, 0);
	CHECK(flow(40061, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED_OPEN);
	CHECK(rev_names(B1, 40061));

	CHECK_EQ(lock(own_op(PRISM_OP_OWN, 0, 40062)).status, -EINVAL);
	CHECK(!flow(40062, &st, &b, &fl));
	o = own_op(PRISM_OP_OWN, B1, 40063);
	CHECK_EQ(bpf_map_update_elem(flows_fd, &o.key, &odd, BPF_ANY), 0);
	CHECK_EQ(lock(o).status, -EINVAL);
	CHECK(flow(40063, &st, &b, &fl));
	CHECK_EQ(st, 77);
	CHECK(!rev_names(B1, 40063));

	/* 40061's backend-side 4-tuple at B1 belongs to a live flow of
	 * another VIP on the same client port. */
	o = own_op(PRISM_OP_OWN, B1, 40061);
	o.key.vip = htonl(VIP + 1);
	CHECK_EQ(lock(o).status, -EADDRINUSE);
	CHECK(bpf_map_lookup_elem(flows_fd, &o.key, &odd) != 0);
	CHECK_EQ(stat(PRISM_STAT_FAST_OPS), 8);
}

/* The op byte: a DELETE or LOCK_TAIL naming a backend, and an unknown op,
 * are malformed: dropped, counted, nothing done. */
static void test_bad_ops(void)
{
	struct switch_op o = own_op(PRISM_OP_DELETE, B1, 40070);
	uint8_t msg[FAST_MSG_LEN];
	struct prism_fast_msg m;
	uint32_t st, b, fl, tail = 5;

	clear();
	put(40070, PRISM_FLOW_OWNED, B1);
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(CTRL, PORT, msg).verdict, TC_ACT_SHOT);
	o.op = PRISM_OP_LOCK;
	o.tail_seq = tail;
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	CHECK_EQ(run(B1, PORT, msg).verdict, TC_ACT_SHOT);
	o = own_op(PRISM_OP_OWN, B1, 40070);
	fast_encode_op(&o, PEER, next_seq++, &key, msg);
	memcpy(&m, msg, sizeof(m));
	m.op = PRISM_OP_OWN_OPEN + 1;
	memcpy(msg, &m, sizeof(m));
	m.tag = htole64(fast_tag(&key, msg));
	memcpy(msg, &m, sizeof(m));
	CHECK_EQ(run(CTRL, PORT, msg).verdict, TC_ACT_SHOT);
	CHECK_EQ(stat(PRISM_STAT_FAST_BAD), 3);
	CHECK_EQ(stat(PRISM_STAT_FAST_OPS), 0);
	CHECK(flow(40070, &st, &b, &fl));
	CHECK_EQ(st, PRISM_FLOW_OWNED);
}

static int load(void)
{
	struct prism_fast_allow_key allow = { .prefixlen = 24,
					      .addr = htonl(CTRL & ~0xffu) };
	struct t_switch_fds fds;
	struct auth_key k;
	uint8_t one = 1;
	int err;

	CHECK_EQ(auth_key_set(&k, "0123456789abcdef-test", 21), 0);
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
	flows_fd = fds.flows;
	rev_fd = fds.rev;
	stats_fd = fds.stats;
	prog_fd = fds.prog;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.fast_allow), &allow,
				&one, BPF_ANY))
		return -errno;
	allow.prefixlen = 32;
	allow.addr = htonl(B1);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.fast_allow), &allow,
				   &one, BPF_ANY)
		       ? -errno
		       : 0;
}

int main(void)
{
	int err;

	t_run("siphash-2-4 reference vector, 40 bytes", test_siphash_vectors);
	if (geteuid() != 0 || progtest_enter_netns() != 0) {
		t_skip("fast path", "needs root (unshare, BPF_PROG_TEST_RUN)");
		return t_done();
	}
	err = load();
	if (err) {
		printf("# load switch_bpf: %s\n", strerror(-err));
		t_fail(__FILE__, __LINE__, "load the switch program");
		return t_done();
	}
	t_run("codec round trip, every flipped byte refused", test_codec);
	t_run("lock: absent, owned, for a claimant, moved claimant",
	      test_lock_transitions);
	t_run("lock for a claimant whose 4-tuple is taken: EADDRINUSE",
	      test_lock_rev_collision);
	t_run("own and own_open: claim served, moved, refusals", test_own);
	t_run("malformed ops: dropped and counted", test_bad_ops);
	t_run("replay window: duplicate EALREADY, old dropped, gap fresh",
	      test_replay_window);
	t_run("bad tag, flipped bytes, stranger, other port", test_refused);
	t_run("full table: ENOSPC, counted, claimant's entry rolled back",
	      test_table_full);
	t_run("lock with the owner's tail; delete", test_tail_and_delete);
	switch_bpf__destroy(skel);
	return t_done();
}
