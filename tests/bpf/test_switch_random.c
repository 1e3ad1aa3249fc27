/* Randomized packets through the switch (BPF_PROG_TEST_RUN): random bytes,
 * valid TCP/IPv4 frames drawn from small address pools (so that many hit a
 * flow), and mutated copies of those (bytes changed, frames cut), against a
 * table holding OWNED and LOCKED flows.
 *
 * Every frame is also classified by a model written here (its own code, no
 * BPF): the rules of docs/switch.md plus the frame acceptance rules of
 * src/bpf/parse.h (IPv4 without options, no fragment, consistent lengths,
 * sane data offset), restated.  A frame that does not match a flow
 * must come out byte for byte unchanged with TC_ACT_OK; a client segment of
 * a LOCKED flow is dropped; a matching segment of an OWNED flow differs from
 * the input only in the rewritten fields (and checksums, which must still
 * verify when they did on input).  The flow table must not change and the
 * per-flow counters must add up to what the model rewrote.
 *
 * PRISM_RANDOM_SEED and PRISM_RANDOM_COUNT override the seed and the number
 * of frames (defaults: fixed seed, 30000 frames); a failure prints the seed
 * and the frame number so that it can be replayed. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "lab/pkt.h"
#include "lab/progtest.h"
#include "switch_load.h"

#define N_CLIENT_IPS 3
#define N_PORTS 6
#define N_VIPS 2
#define N_BACKENDS 3
#define VPORT 80

static const uint32_t client_ips[N_CLIENT_IPS] = {
	PKT_IP4(198, 18, 1, 2), PKT_IP4(198, 18, 1, 3), PKT_IP4(198, 18, 1, 4),
};
static const uint32_t vips[N_VIPS] = {
	PKT_IP4(198, 19, 0, 1), PKT_IP4(198, 19, 0, 2),
};
static const uint32_t backends[N_BACKENDS] = {
	PKT_IP4(198, 18, 11, 2), PKT_IP4(198, 18, 12, 2),
	PKT_IP4(198, 18, 13, 2),
};
static const uint16_t ports[N_PORTS] = { 40000, 40001, 40002, 40003, 80,
					 81 };

/* The model's copy of the table: one slot per (client ip, client port)
 * with VIP vips[0] and port 80.  state 0: absent. */
struct mflow {
	uint32_t client;
	uint16_t port;
	uint32_t state;
	uint32_t backend;
	uint64_t to_backend;
	uint64_t to_client;
	uint64_t drops;
};

#define N_FLOWS (N_CLIENT_IPS * 4)

static struct mflow model[N_FLOWS];
static struct switch_bpf *skel;
static int flows_fd, rev_fd, stats_fd, prog_fd;
static uint64_t rng;
static unsigned long long seed;
static long count = 30000;

/* Counts for the summary line. */
static long n_refused, n_rewritten, n_dropped, n_untouched;

static uint32_t rnd(void)
{
	/* xorshift64*: small, deterministic, good enough for test inputs. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ULL) >> 32);
}

static uint32_t pick(uint32_t n) { return rnd() % n; }

static struct prism_flow_key mkey(const struct mflow *f)
{
	struct prism_flow_key k = {
		.client_ip = htonl(f->client),
		.vip = htonl(vips[0]),
		.client_port = htons(f->port),
		.vip_port = htons(VPORT),
	};
	return k;
}

/* Flows: per client IP, ports 40000..40003 are OWNED by b1, OWNED by b2,
 * LOCKED (hand-off in progress, no reverse entry) and LOCKED with the
 * reverse entry of b1 kept (hand-back in progress). */
static int setup_flows(void)
{
	for (int i = 0; i < N_FLOWS; i++) {
		struct mflow *f = &model[i];
		int kind = i % 4;
		struct prism_flow_key k;
		struct prism_flow_value v = { 0 };
		struct prism_rev_key r;

		f->client = client_ips[i / 4];
		f->port = (uint16_t)(40000 + kind);
		f->state = kind < 2 ? PRISM_FLOW_OWNED : PRISM_FLOW_LOCKED;
		f->backend = kind == 1 ? backends[1] : backends[0];
		k = mkey(f);
		v.state = f->state;
		v.backend_ip = htonl(f->backend);
		if (bpf_map_update_elem(flows_fd, &k, &v, BPF_NOEXIST))
			return -errno;
		if (kind == 2)
			continue;
		r.backend_ip = htonl(f->backend);
		r.client_ip = htonl(f->client);
		r.backend_port = htons(VPORT);
		r.client_port = htons(f->port);
		if (bpf_map_update_elem(rev_fd, &r, &k, BPF_NOEXIST))
			return -errno;
	}
	return 0;
}

/* --- inputs ------------------------------------------------------------- */

static int gen_valid(uint8_t *buf)
{
	struct pkt_spec s = { 0 };
	bool to_vip = pick(2);
	uint32_t c = client_ips[pick(N_CLIENT_IPS)];
	uint16_t cp = ports[pick(N_PORTS)];

	for (int i = 0; i < 6; i++) {
		s.dst_mac[i] = (uint8_t)rnd();
		s.src_mac[i] = (uint8_t)rnd();
	}
	if (to_vip) {
		s.saddr = c;
		s.daddr = pick(4) ? vips[0] : vips[1];
		s.sport = cp;
		s.dport = pick(5) ? VPORT : ports[pick(N_PORTS)];
	} else {
		s.saddr = backends[pick(N_BACKENDS)];
		s.daddr = c;
		s.sport = pick(5) ? VPORT : ports[pick(N_PORTS)];
		s.dport = cp;
	}
	s.seq = rnd();
	s.ack = rnd();
	s.flags = (uint8_t)(rnd() & 0x3f);
	s.window = (uint16_t)rnd();
	s.ip_id = (uint16_t)rnd();
	s.tcp_opt_len = pick(2) ? 12 : 0;
	s.payload_len = (uint16_t)(pick(4) ? pick(64) : pick(1461));
	return pkt_build(&s, buf, PKT_MAX);
}

static int gen_random(uint8_t *buf)
{
	int len = PKT_ETH_LEN + (int)pick(200);

	for (int i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
	if (pick(4)) { /* mostly IPv4, so the parser gets past Ethernet */
		buf[12] = 0x08;
		buf[13] = 0x00;
	}
	if (pick(2) && len > PKT_ETH_LEN + 9) {
		buf[PKT_ETH_LEN] = 0x45;
		buf[PKT_ETH_LEN + 9] = IPPROTO_TCP;
	}
	return len;
}

static void fix_ip_csum(uint8_t *ip)
{
	uint16_t sum;

	ip[10] = ip[11] = 0;
	sum = pkt_csum(ip, 20, 0);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

/* A valid frame with 1..4 bytes changed (mostly in the headers), then
 * maybe cut short or padded. */
static int gen_mutated(uint8_t *buf)
{
	int len = gen_valid(buf), n = 1 + (int)pick(4);

	if (len <= 0)
		return len;
	for (int i = 0; i < n; i++) {
		int at = pick(5) ? (int)pick(PKT_ETH_LEN + 40) : (int)pick((uint32_t)len);

		if (at < len)
			buf[at] = pick(2) ? (uint8_t)rnd() : buf[at] ^ (uint8_t)(1u << pick(8));
	}
	if (pick(2))
		fix_ip_csum(buf + PKT_ETH_LEN);
	if (!pick(6))
		len = PKT_ETH_LEN + (int)pick((uint32_t)(len - PKT_ETH_LEN + 1));
	else if (!pick(10)) {
		int pad = 1 + (int)pick(32);

		memset(buf + len, 0, (size_t)pad);
		len += pad;
	}
	return len;
}

/* --- the model ------------------------------------------------------------ */

enum mverdict { M_UNTOUCHED, M_DROP, M_TO_BACKEND, M_TO_CLIENT };

struct mresult {
	enum mverdict v;
	struct mflow *flow;
	uint32_t payload;
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static struct mflow *find_client(uint32_t c, uint32_t vip, uint16_t cp,
				 uint16_t vp)
{
	for (int i = 0; i < N_FLOWS; i++)
		if (model[i].client == c && vip == vips[0] &&
		    model[i].port == cp && vp == VPORT)
			return &model[i];
	return NULL;
}

/* The reverse table holds OWNED flows and LOCKED ones that keep it. */
static struct mflow *find_rev(uint32_t b, uint32_t c, uint16_t bp, uint16_t cp)
{
	for (int i = 0; i < N_FLOWS; i++) {
		struct mflow *f = &model[i];

		if (i % 4 == 2)
			continue;
		if (f->backend == b && f->client == c && f->port == cp &&
		    bp == VPORT)
			return f;
	}
	return NULL;
}

/* Only untagged Ethernet + IPv4 without options, not a fragment, with a
 * consistent total length + TCP with a sane data offset is ever looked at. */
static struct mresult classify(const uint8_t *f, int len)
{
	struct mresult r = { M_UNTOUCHED, NULL, 0 };
	const uint8_t *ip = f + PKT_ETH_LEN, *tcp = ip + 20;
	uint32_t tot, doff, saddr, daddr;
	uint16_t sport, dport;

	if (len < PKT_ETH_LEN + 40 || rd16(f + 12) != 0x0800)
		return r;
	if (ip[0] != 0x45 || ip[9] != IPPROTO_TCP || (rd16(ip + 6) & 0x3fff))
		return r;
	tot = rd16(ip + 2);
	doff = (tcp[12] >> 4) * 4u;
	if (tot > (uint32_t)(len - PKT_ETH_LEN) || tot < 40 || doff < 20 ||
	    doff > tot - 20)
		return r;
	saddr = rd32(ip + 12);
	daddr = rd32(ip + 16);
	sport = rd16(tcp);
	dport = rd16(tcp + 2);
	r.payload = tot - 20 - doff;
	r.flow = find_client(saddr, daddr, sport, dport);
	if (r.flow) {
		r.v = r.flow->state == PRISM_FLOW_LOCKED ? M_DROP : M_TO_BACKEND;
		return r;
	}
	r.flow = find_rev(saddr, daddr, sport, dport);
	if (!r.flow)
		return r;
	if (r.flow->state == PRISM_FLOW_LOCKED)
		r.v = M_DROP;
	else if (r.flow->backend == saddr)
		r.v = M_TO_CLIENT;
	return r;
}

/* --- checks ------------------------------------------------------------- */

static void fail_frame(long i, const char *what)
{
	t_failf(__FILE__, __LINE__, "seed %llu frame %ld: %s", seed, i, what);
}

static bool is_csum_byte(int at)
{
	int ipc = PKT_ETH_LEN + 10, tcpc = PKT_ETH_LEN + 20 + 16;

	return at == ipc || at == ipc + 1 || at == tcpc || at == tcpc + 1;
}

/* The expected output: the input with the rewritten fields stored; the
 * checksums are not compared here but verified on their own. */
static void check_rewrite(long i, const struct mresult *m, const uint8_t *in,
			  const uint8_t *out, int len)
{
	static uint8_t want[PKT_MAX + 64];
	uint8_t *tcp = want + PKT_ETH_LEN + 20;
	uint32_t a;

	memcpy(want, in, (size_t)len);
	if (m->v == M_TO_BACKEND) {
		a = htonl(m->flow->backend);
		memcpy(want + PKT_ETH_LEN + 16, &a, 4);
		tcp[13] &= (uint8_t)~0x01; /* FIN */
		m->flow->to_backend++;
	} else {
		a = htonl(vips[0]);
		memcpy(want + PKT_ETH_LEN + 12, &a, 4);
		tcp[14] = tcp[15] = 0; /* window */
		m->flow->to_client++;
	}
	for (int j = 0; j < len; j++) {
		if (!is_csum_byte(j) && out[j] != want[j]) {
			fail_frame(i, m->v == M_TO_BACKEND ?
				"client segment rewritten beyond daddr/FIN" :
				"backend segment rewritten beyond saddr/window");
			return;
		}
	}
	if (pkt_verify_csums(in, (size_t)len) == 0 &&
	    pkt_verify_csums(out, (size_t)len) != 0)
		fail_frame(i, "valid checksums broken by the rewrite");
}

static void check_one(long i, const uint8_t *in, int len)
{
	static uint8_t out[PKT_MAX + 64];
	struct mresult m = classify(in, len);
	/* Called directly rather than through progtest_run, which logs every
	 * refusal: the kernel refuses some short IPv4 frames before the
	 * program runs, and those are expected here. */
	struct bpf_test_run_opts run = {
		.sz = sizeof(run),
		.data_in = in,
		.data_size_in = (uint32_t)len,
		.data_out = out,
		.data_size_out = sizeof(out),
	};
	int err = bpf_prog_test_run_opts(prog_fd, &run) ? -errno : 0;

	if (err == -EINVAL && len < PKT_ETH_LEN + 20) {
		n_refused++;
		return;
	}
	if (err) {
		fail_frame(i, strerror(-err));
		return;
	}
	if (m.v == M_DROP) {
		n_dropped++;
		m.flow->drops++;
		if (run.retval != TC_ACT_SHOT)
			fail_frame(i, "segment of a LOCKED flow not dropped");
		return;
	}
	if (run.retval != TC_ACT_OK) {
		fail_frame(i, "verdict is not TC_ACT_OK");
		return;
	}
	if ((int)run.data_size_out != len) {
		fail_frame(i, "output length differs");
		return;
	}
	if (m.v == M_UNTOUCHED) {
		n_untouched++;
		if (memcmp(in, out, (size_t)len))
			fail_frame(i, "frame matching no flow was rewritten");
		return;
	}
	n_rewritten++;
	check_rewrite(i, &m, in, out, len);
}

static void check_table(void)
{
	struct prism_flow_key k, next, *prev = NULL;
	struct prism_flow_value v;
	int n = 0;

	while (bpf_map_get_next_key(flows_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	CHECK_EQ(n, N_FLOWS);
	for (int i = 0; i < N_FLOWS; i++) {
		k = mkey(&model[i]);
		CHECK_EQ(bpf_map_lookup_elem(flows_fd, &k, &v), 0);
		CHECK_EQ(v.state, model[i].state);
		CHECK_EQ(v.backend_ip, htonl(model[i].backend));
		CHECK_EQ(v.to_backend_packets, model[i].to_backend);
		CHECK_EQ(v.to_client_packets, model[i].to_client);
		CHECK_EQ(v.locked_drops, model[i].drops);
	}
}

static void test_random_frames(void)
{
	static uint8_t buf[PKT_MAX + 64];
	uint64_t stats[PRISM_STAT_MAX];
	long bad0 = 0;

	for (long i = 0; i < count; i++) {
		uint32_t mode = pick(10);
		int len = mode < 2 ? gen_random(buf) :
			  mode < 5 ? gen_valid(buf) : gen_mutated(buf);

		if (len < PKT_ETH_LEN) {
			fail_frame(i, "generator failed");
			return;
		}
		check_one(i, buf, len);
	}
	check_table();
	CHECK_EQ(progtest_read_stats(stats_fd, stats), 0);
	CHECK_EQ(stats[PRISM_STAT_PACKETS], count - n_refused);
	CHECK_EQ(stats[PRISM_STAT_TO_BACKEND] + stats[PRISM_STAT_TO_CLIENT],
		 n_rewritten);
	CHECK_EQ(stats[PRISM_STAT_DROP_LOCKED], n_dropped);
	CHECK_EQ(stats[PRISM_STAT_DROP_REWRITE], bad0);
	printf("# seed %llu: %ld frames: %ld rewritten, %ld dropped (locked), "
	       "%ld untouched, %ld refused by the kernel; malformed %llu, "
	       "miss %llu\n",
	       seed, count, n_rewritten, n_dropped, n_untouched, n_refused,
	       (unsigned long long)stats[PRISM_STAT_MALFORMED],
	       (unsigned long long)stats[PRISM_STAT_MISS]);
	/* The pools are small on purpose: make sure they did their job. */
	CHECK(n_rewritten > count / 20);
	CHECK(n_dropped > count / 50);
}

static int load(void)
{
	struct t_switch_fds fds;
	int err;

	skel = t_switch_open();
	if (!skel)
		return -errno;
	err = t_switch_load(skel, &fds);
	if (err)
		return err;
	flows_fd = fds.flows;
	rev_fd = fds.rev;
	stats_fd = fds.stats;
	prog_fd = fds.prog;
	return setup_flows();
}

int main(void)
{
	const char *s = getenv("PRISM_RANDOM_SEED");
	const char *n = getenv("PRISM_RANDOM_COUNT");
	int err;

	seed = s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	rng = seed ? seed : 1;
	if (n)
		count = strtol(n, NULL, 0);
	if (geteuid() != 0 || progtest_enter_netns() != 0) {
		t_skip("switch_random", "needs root (unshare, BPF_PROG_TEST_RUN)");
		return t_done();
	}
	err = load();
	if (err) {
		printf("# load switch_bpf with flows: %s\n", strerror(-err));
		switch_bpf__destroy(skel);
		return 1;
	}
	t_run("random_and_mutated_frames_rewritten_only_on_flow_match",
	      test_random_frames);
	switch_bpf__destroy(skel);
	return t_done();
}
