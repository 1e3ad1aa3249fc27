/* The switch data plane, table-driven (Katran style): each case builds an
 * input frame, sets up the flow tables, runs prism_switch once through
 * BPF_PROG_TEST_RUN and checks the verdict, the output frame byte for byte
 * against a frame built independently by lib/pkt (checksums from scratch),
 * the checksums of the output by full recomputation, the stats counters
 * and the flow's own counters.
 *
 * Runs in a private network namespace: with no routes there,
 * bpf_fib_lookup fails and rewritten packets go back to the kernel
 * (TC_ACT_OK); the redirect cases use progtest's veth pair.
 *
 * Decision recorded here: a backend->client segment of a LOCKED flow is
 * dropped when rev_flows still maps it (the agent keeps the entry while
 * locking an OWNED flow), and is a plain miss otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "lab/pkt.h"
#include "lab/progtest.h"
#include "switch_load.h"

#define CLIENT PKT_IP4(198, 18, 1, 2)
#define VIP PKT_IP4(198, 19, 0, 1)
#define B1 PKT_IP4(198, 18, 11, 2)
#define B2 PKT_IP4(198, 18, 12, 2)
#define CPORT 40000
#define VPORT 80

static const uint8_t fabric_mac[6] = { 2, 0, 0, 0, 0xf0, 1 };
static const uint8_t client_mac[6] = { 2, 0, 0, 0, 1, 2 };
static const uint8_t backend_mac[6] = { 2, 0, 0, 0, 11, 2 };

enum dir { C2V, B1_TO_C, B2_TO_C, V2C /* controller (VIP) -> client */,
	   C2B1 /* host mode: client -> B1, sent on by the controller's host */ };

/* Which program runs the case: the switch, or host mode's two (on the
 * controller's host, or with on_backend on a backend's). */
enum prog { SW, HIN, HOUT };

enum setup {
	NONE,
	LOCKED,     /* flows: LOCKED; no rev entry (lock before hand-off) */
	LOCKED_REV, /* flows: LOCKED; rev entry for B1 kept (hand-back) */
	OWNED,      /* flows: OWNED by B1; rev entry for B1 */
	STALE_REV,  /* OWNED by B1, plus a stale rev entry for B2 */
	OWNED_OPEN, /* OWNED_OPEN by B1 (reading a body); rev entry for B1 */
	CLAIM_B1,   /* LOCKED + CLAIM for B1 (hand-off); rev entry for B1 */
	TAIL_B1,    /* LOCKED by B1 with TAIL up to seq 901448; rev for B1 */
	HOME_B1,    /* HOME after B1, TAIL up to seq 901448; rev for B1 */
};

enum expect { UNTOUCHED, TO_B1, TO_CLIENT, TO_CLIENT_OPEN,
	      MARK_CLEARED /* as it came, DSCP cleared */,
	      TO_B1_MARKED /* host mode: TO_B1 with the mark set */ };

struct sw_case {
	const char *name;
	enum dir dir;
	uint8_t flags;       /* TCP flags; 0 means ACK */
	uint16_t payload;
	uint8_t tcp_opt;
	uint8_t ip_opt;
	uint16_t frag;
	uint8_t proto;       /* 0: TCP */
	uint16_t vlan;
	int (*build)(uint8_t *buf); /* replaces the spec-built frame */
	int (*mangle)(uint8_t *buf, int len);
	int cut;             /* truncate the input to this many bytes */
	int pad;             /* Ethernet padding appended (in and out) */
	uint8_t tos;
	enum setup setup;
	int verdict;
	enum expect expect;
	enum prism_stat stat;
	enum prism_stat stat2; /* a second counter, 0 if none */
	int after;             /* flow state after the case, -1 absent */
	enum prog prog;
	bool on_backend;       /* host mode: a backend's host */
};

static struct switch_bpf *skel;
static int flows_fd, rev_fd, stats_fd, prog_fd, host_in_fd, host_out_fd;

static void base_spec(enum dir d, struct pkt_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->dst_mac, fabric_mac, 6);
	s->flags = PKT_ACK;
	s->ip_id = 0x1234;
	if (d == C2V || d == C2B1) {
		memcpy(s->src_mac, client_mac, 6);
		s->saddr = CLIENT;
		s->daddr = d == C2V ? VIP : B1;
		s->sport = CPORT;
		s->dport = VPORT;
		s->seq = 1000;
		s->ack = 900000;
		s->window = 502;
		return;
	}
	memcpy(s->src_mac, backend_mac, 6);
	s->saddr = d == B1_TO_C ? B1 : d == B2_TO_C ? B2 : VIP;
	s->daddr = CLIENT;
	s->sport = VPORT;
	s->dport = CPORT;
	s->seq = 900000;
	s->ack = 1000;
	s->window = 509;
}

static void case_spec(const struct sw_case *c, struct pkt_spec *s)
{
	base_spec(c->dir, s);
	if (c->flags)
		s->flags = c->flags;
	s->payload_len = c->payload;
	s->tcp_opt_len = c->tcp_opt;
	s->ip_opt_len = c->ip_opt;
	s->frag = c->frag;
	s->proto = c->proto;
	s->vlan_id = c->vlan;
	s->tos = c->tos;
}

static struct prism_flow_key client_key(void)
{
	struct prism_flow_key k = {
		.client_ip = htonl(CLIENT),
		.vip = htonl(VIP),
		.client_port = htons(CPORT),
		.vip_port = htons(VPORT),
	};
	return k;
}

static struct prism_rev_key rev_key(uint32_t backend)
{
	struct prism_rev_key r = {
		.backend_ip = htonl(backend),
		.client_ip = htonl(CLIENT),
		.backend_port = htons(VPORT),
		.client_port = htons(CPORT),
	};
	return r;
}

static void clear_maps(void)
{
	struct prism_flow_key k = client_key();
	struct prism_rev_key r1 = rev_key(B1), r2 = rev_key(B2);

	bpf_map_delete_elem(flows_fd, &k);
	bpf_map_delete_elem(rev_fd, &r1);
	bpf_map_delete_elem(rev_fd, &r2);
	CHECK_EQ(progtest_clear_stats(stats_fd), 0);
}

static bool apply_claim, apply_tail;

static void put_flow(const struct prism_flow_key *k, uint32_t state,
		     uint32_t backend)
{
	struct prism_flow_value v = { .state = state,
				      .backend_ip = htonl(backend) };

	if (apply_claim)
		v.flags = PRISM_FLOW_F_CLAIM;
	if (apply_tail) {
		v.flags = PRISM_FLOW_F_TAIL;
		v.lock_seq = 901448; /* B1's segments start at 900000 */
	}

	CHECK_EQ(bpf_map_update_elem(flows_fd, k, &v, BPF_ANY), 0);
}

static void put_rev(uint32_t backend, const struct prism_flow_key *k)
{
	struct prism_rev_key r = rev_key(backend);

	CHECK_EQ(bpf_map_update_elem(rev_fd, &r, k, BPF_ANY), 0);
}

static void apply_setup(enum setup s)
{
	struct prism_flow_key k = client_key();

	clear_maps();
	apply_claim = s == CLAIM_B1;
	apply_tail = s == TAIL_B1 || s == HOME_B1;
	if (s == LOCKED)
		put_flow(&k, PRISM_FLOW_LOCKED, 0);
	if (s == LOCKED_REV || s == CLAIM_B1 || s == TAIL_B1)
		put_flow(&k, PRISM_FLOW_LOCKED, B1);
	if (s == HOME_B1)
		put_flow(&k, PRISM_FLOW_HOME, B1);
	if (s == OWNED || s == STALE_REV)
		put_flow(&k, PRISM_FLOW_OWNED, B1);
	if (s == OWNED_OPEN)
		put_flow(&k, PRISM_FLOW_OWNED_OPEN, B1);
	if (s == LOCKED_REV || s == OWNED || s == STALE_REV ||
	    s == OWNED_OPEN || s == CLAIM_B1 || s == TAIL_B1 || s == HOME_B1)
		put_rev(B1, &k);
	if (s == STALE_REV)
		put_rev(B2, &k);
}

/* --- inputs that the spec cannot express ------------------------------ */

static int build_arp(uint8_t *buf)
{
	return pkt_build_arp(client_mac, CLIENT, VIP, buf, PKT_MAX);
}

static int build_ipv6(uint8_t *buf)
{
	return pkt_build_ipv6(fabric_mac, client_mac, buf, PKT_MAX);
}

static void fix_ip_csum(uint8_t *buf)
{
	uint8_t *ip = buf + PKT_ETH_LEN;
	uint16_t sum;

	ip[10] = ip[11] = 0;
	sum = pkt_csum(ip, (ip[0] & 0x0f) * 4u, 0);
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
}

static void set_tot_len(uint8_t *buf, unsigned int v)
{
	buf[PKT_ETH_LEN + 2] = v >> 8;
	buf[PKT_ETH_LEN + 3] = v & 0xff;
	fix_ip_csum(buf);
}

static int ihl_4(uint8_t *buf, int len)
{
	buf[PKT_ETH_LEN] = 0x44;
	fix_ip_csum(buf);
	return len;
}

static int version_6(uint8_t *buf, int len)
{
	buf[PKT_ETH_LEN] = 0x65;
	return len;
}

static int tot_len_over_frame(uint8_t *buf, int len)
{
	set_tot_len(buf, (unsigned int)(len - PKT_ETH_LEN + 1));
	return len;
}

static int tot_len_under_header(uint8_t *buf, int len)
{
	set_tot_len(buf, PKT_IP_LEN - 1);
	return len;
}

/* An IP header that promises only itself: no room for TCP. */
static int ip_header_only(uint8_t *buf, int len)
{
	(void)len;
	set_tot_len(buf, PKT_IP_LEN);
	return PKT_ETH_LEN + PKT_IP_LEN;
}

static int doff_4(uint8_t *buf, int len)
{
	buf[PKT_ETH_LEN + PKT_IP_LEN + 12] = 4 << 4;
	return len;
}

static int doff_15(uint8_t *buf, int len)
{
	buf[PKT_ETH_LEN + PKT_IP_LEN + 12] = 15 << 4;
	return len;
}

/* --- the table ----------------------------------------------------------- */

#define OK TC_ACT_OK
#define SHOT TC_ACT_SHOT
#define S(x) PRISM_STAT_##x
#define MARK PRISM_TOS_MARK
#define GONE -1

static const struct sw_case cases[] = {
	/* States and directions. */
	{ "c2v_miss_passed", C2V, .payload = 100, .setup = NONE,
	  .verdict = OK, .stat = S(MISS) },
	{ "b2c_miss_passed", B1_TO_C, .payload = 100, .setup = NONE,
	  .verdict = OK, .stat = S(MISS) },
	{ "c2v_locked_dropped", C2V, .payload = 100, .setup = LOCKED,
	  .verdict = SHOT, .stat = S(DROP_LOCKED) },
	{ "c2v_locked_fin_dropped", C2V, .flags = PKT_FIN | PKT_ACK,
	  .setup = LOCKED_REV, .verdict = SHOT, .stat = S(DROP_LOCKED) },
	{ "b2c_locked_without_rev_is_miss", B1_TO_C, .payload = 10,
	  .setup = LOCKED, .verdict = OK, .stat = S(MISS) },
	{ "b2c_locked_with_rev_dropped", B1_TO_C, .payload = 10,
	  .setup = LOCKED_REV, .verdict = SHOT, .stat = S(DROP_LOCKED) },
	{ "c2v_owned_payload_0_to_backend", C2V, .setup = OWNED,
	  .verdict = OK, .expect = TO_B1, .stat = S(TO_BACKEND) },
	{ "c2v_owned_payload_1_to_backend", C2V, .payload = 1,
	  .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "c2v_owned_payload_333_to_backend", C2V, .payload = 333,
	  .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "c2v_owned_payload_1460_to_backend", C2V, .payload = 1460,
	  .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "c2v_owned_fin_cleared", C2V, .flags = PKT_FIN | PKT_ACK,
	  .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "c2v_owned_fin_psh_payload_77_fin_cleared", C2V,
	  .flags = PKT_FIN | PKT_PSH | PKT_ACK, .payload = 77,
	  .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "c2v_owned_tcp_timestamps_to_backend", C2V, .tcp_opt = 12,
	  .payload = 200, .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "c2v_owned_padded_min_frame_to_backend", C2V, .pad = 6,
	  .setup = OWNED, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	{ "b2c_owned_payload_0_to_client", B1_TO_C, .setup = OWNED,
	  .verdict = OK, .expect = TO_CLIENT, .stat = S(TO_CLIENT) },
	{ "b2c_owned_payload_1_to_client", B1_TO_C, .payload = 1,
	  .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT) },
	{ "b2c_owned_payload_1023_to_client", B1_TO_C, .payload = 1023,
	  .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT) },
	{ "b2c_owned_payload_1460_to_client", B1_TO_C, .payload = 1460,
	  .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT) },
	{ "b2c_owned_tcp_timestamps_to_client", B1_TO_C, .tcp_opt = 12,
	  .payload = 1448, .setup = OWNED, .verdict = OK,
	  .expect = TO_CLIENT, .stat = S(TO_CLIENT) },
	{ "b2c_owned_fin_kept", B1_TO_C, .flags = PKT_FIN | PKT_ACK,
	  .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT) },
	{ "b2c_owned_padded_min_frame_to_client", B1_TO_C, .pad = 6,
	  .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT) },
	{ "b2c_owned_open_ack_window_kept", B1_TO_C, .setup = OWNED_OPEN,
	  .verdict = OK, .expect = TO_CLIENT_OPEN, .stat = S(TO_CLIENT) },
	{ "b2c_owned_open_payload_window_kept", B1_TO_C, .payload = 25,
	  .setup = OWNED_OPEN, .verdict = OK, .expect = TO_CLIENT_OPEN,
	  .stat = S(TO_CLIENT) },
	{ "c2v_owned_open_body_to_backend", C2V, .payload = 1448,
	  .setup = OWNED_OPEN, .verdict = OK, .expect = TO_B1,
	  .stat = S(TO_BACKEND) },
	/* In-band claim and unlock (marked segments). */
	{ "b2c_marked_claims_flow_locked_for_it", B1_TO_C, .payload = 100,
	  .tos = MARK, .setup = CLAIM_B1, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT), .stat2 = S(CLAIM), .after = PRISM_FLOW_OWNED },
	{ "b2c_marked_ecn_kept_on_claim", B1_TO_C, .payload = 10,
	  .tos = MARK | 2, .setup = CLAIM_B1, .verdict = OK,
	  .expect = TO_CLIENT, .stat = S(TO_CLIENT), .stat2 = S(CLAIM),
	  .after = PRISM_FLOW_OWNED },
	{ "b2c_unmarked_does_not_claim", B1_TO_C, .payload = 100,
	  .setup = CLAIM_B1, .verdict = SHOT, .stat = S(DROP_LOCKED),
	  .after = PRISM_FLOW_LOCKED },
	{ "b2c_dscp_other_than_mark_does_not_claim", B1_TO_C, .payload = 1,
	  .tos = 0xb8, .setup = CLAIM_B1, .verdict = SHOT,
	  .stat = S(DROP_LOCKED), .after = PRISM_FLOW_LOCKED },
	{ "b2c_marked_locked_without_claim_dropped", B1_TO_C, .payload = 10,
	  .tos = MARK, .setup = LOCKED_REV, .verdict = SHOT,
	  .stat = S(DROP_LOCKED), .stat2 = S(MARK_REFUSED),
	  .after = PRISM_FLOW_LOCKED },
	{ "b2c_marked_other_backend_cannot_claim", B2_TO_C, .payload = 10,
	  .tos = MARK, .setup = CLAIM_B1, .verdict = OK,
	  .stat = S(MISS), .stat2 = S(MARK_REFUSED),
	  .after = PRISM_FLOW_LOCKED },
	{ "b2c_marked_owned_mark_cleared", B1_TO_C, .payload = 1448,
	  .tos = MARK, .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT), .after = PRISM_FLOW_OWNED },
	{ "v2c_marked_unlocks_locked_flow", V2C, .tcp_opt = 12,
	  .tos = MARK, .setup = LOCKED_REV, .verdict = OK,
	  .expect = MARK_CLEARED, .stat = S(UNLOCK), .after = PRISM_FLOW_HOME },
	{ "v2c_marked_unlocks_locked_flow_without_backend", V2C,
	  .tos = MARK, .setup = LOCKED, .verdict = OK,
	  .expect = MARK_CLEARED, .stat = S(UNLOCK), .after = PRISM_FLOW_HOME },
	{ "v2c_marked_unlocks_tail_flow", V2C, .tos = MARK, .setup = TAIL_B1,
	  .verdict = OK, .expect = MARK_CLEARED, .stat = S(UNLOCK),
	  .after = PRISM_FLOW_HOME },
	{ "v2c_marked_home_again_mark_cleared", V2C, .tos = MARK,
	  .setup = HOME_B1, .verdict = OK, .expect = MARK_CLEARED,
	  .stat = S(UNLOCK_REPEAT), .after = PRISM_FLOW_HOME },
	/* The owner's segments sent before its LOCK (tail). */
	{ "b2c_tail_within_lock_seq_translated", B1_TO_C, .payload = 1448,
	  .setup = TAIL_B1, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT), .stat2 = S(TAIL), .after = PRISM_FLOW_LOCKED },
	{ "b2c_tail_marked_within_lock_seq_translated", B1_TO_C,
	  .payload = 100, .tos = MARK, .setup = TAIL_B1, .verdict = OK,
	  .expect = TO_CLIENT, .stat = S(TO_CLIENT), .stat2 = S(TAIL),
	  .after = PRISM_FLOW_LOCKED },
	/* The owner's kernel answering a late client segment after it closed
	 * its frozen socket: never passed on as a tail. */
	{ "b2c_tail_rst_dropped", B1_TO_C, .flags = PKT_RST, .setup = TAIL_B1,
	  .verdict = SHOT, .stat = S(DROP_LOCKED), .after = PRISM_FLOW_LOCKED },
	{ "b2c_home_tail_rst_passed_untranslated", B1_TO_C, .flags = PKT_RST,
	  .setup = HOME_B1, .verdict = OK, .stat = S(MISS),
	  .after = PRISM_FLOW_HOME },
	{ "b2c_tail_beyond_lock_seq_dropped", B1_TO_C, .payload = 1449,
	  .setup = TAIL_B1, .verdict = SHOT, .stat = S(DROP_LOCKED),
	  .after = PRISM_FLOW_LOCKED },
	{ "b2c_home_tail_within_lock_seq_translated", B1_TO_C,
	  .payload = 1448, .tos = MARK, .setup = HOME_B1, .verdict = OK,
	  .expect = TO_CLIENT, .stat = S(TO_CLIENT), .stat2 = S(TAIL),
	  .after = PRISM_FLOW_HOME },
	{ "b2c_home_beyond_lock_seq_passed", B1_TO_C, .payload = 1449,
	  .setup = HOME_B1, .verdict = OK, .stat = S(MISS),
	  .after = PRISM_FLOW_HOME },
	{ "b2c_home_other_backend_passed", B2_TO_C, .payload = 10,
	  .setup = HOME_B1, .verdict = OK, .stat = S(MISS),
	  .after = PRISM_FLOW_HOME },
	{ "c2v_home_passed_to_the_controller", C2V, .payload = 47,
	  .setup = HOME_B1, .verdict = OK, .stat = S(MISS),
	  .after = PRISM_FLOW_HOME },
	{ "v2c_marked_does_not_unlock_a_pending_claim", V2C, .tos = MARK,
	  .setup = CLAIM_B1, .verdict = OK, .stat = S(MISS),
	  .stat2 = S(MARK_REFUSED), .after = PRISM_FLOW_LOCKED },
	{ "v2c_marked_does_not_unlock_owned", V2C, .tos = MARK,
	  .setup = OWNED, .verdict = OK, .stat = S(MISS),
	  .stat2 = S(MARK_REFUSED), .after = PRISM_FLOW_OWNED },
	{ "v2c_marked_without_flow_passed", V2C, .tos = MARK, .setup = NONE,
	  .verdict = OK, .stat = S(MISS), .stat2 = S(MARK_REFUSED),
	  .after = GONE },
	{ "v2c_unmarked_does_not_unlock", V2C, .setup = LOCKED_REV,
	  .verdict = OK, .stat = S(MISS), .after = PRISM_FLOW_LOCKED },
	{ "c2v_marked_locked_still_dropped", C2V, .payload = 10, .tos = MARK,
	  .setup = LOCKED_REV, .verdict = SHOT, .stat = S(DROP_LOCKED),
	  .after = PRISM_FLOW_LOCKED },
	{ "b2c_wrong_backend_stale_rev_not_rewritten", B2_TO_C,
	  .payload = 100, .setup = STALE_REV, .verdict = OK,
	  .stat = S(MISS) },
	{ "b2c_wrong_backend_no_rev_not_rewritten", B2_TO_C, .payload = 100,
	  .setup = OWNED, .verdict = OK, .stat = S(MISS) },
	/* Not ours: passed untouched although the flow is OWNED. */
	{ "ip_options_passed", C2V, .ip_opt = 4, .payload = 10,
	  .setup = OWNED, .verdict = OK, .stat = S(IP_OPTIONS) },
	{ "fragment_mf_passed", C2V, .frag = 0x2000, .payload = 100,
	  .setup = OWNED, .verdict = OK, .stat = S(FRAGMENT) },
	{ "fragment_offset_passed", C2V, .frag = 0x0010, .payload = 100,
	  .setup = OWNED, .verdict = OK, .stat = S(FRAGMENT) },
	{ "udp_passed", C2V, .proto = IPPROTO_UDP, .payload = 30,
	  .setup = OWNED, .verdict = OK, .stat = S(NOT_TCP) },
	{ "icmp_passed", C2V, .proto = IPPROTO_ICMP, .payload = 56,
	  .setup = OWNED, .verdict = OK, .stat = S(NOT_TCP) },
	{ "vlan_tagged_passed", C2V, .vlan = 100, .payload = 10,
	  .setup = OWNED, .verdict = OK, .stat = S(NOT_IPV4) },
	{ "arp_passed", C2V, .build = build_arp, .setup = OWNED,
	  .verdict = OK, .stat = S(NOT_IPV4) },
	{ "ipv6_passed", C2V, .build = build_ipv6, .setup = OWNED,
	  .verdict = OK, .stat = S(NOT_IPV4) },
	/* Malformed: passed untouched, counted. */
	{ "short_eth_only", C2V, .cut = 14, .setup = OWNED, .verdict = OK,
	  .stat = S(MALFORMED) },
	{ "short_ip_1_byte", C2V, .cut = 15, .setup = OWNED, .verdict = OK,
	  .stat = S(MALFORMED) },
	{ "short_ip_19_bytes", C2V, .cut = 33, .setup = OWNED,
	  .verdict = OK, .stat = S(MALFORMED) },
	{ "short_ip_header_only", C2V, .cut = 34, .setup = OWNED,
	  .verdict = OK, .stat = S(MALFORMED) },
	{ "short_tcp_1_byte", C2V, .cut = 35, .setup = OWNED,
	  .verdict = OK, .stat = S(MALFORMED) },
	{ "short_tcp_19_bytes", C2V, .cut = 53, .setup = OWNED,
	  .verdict = OK, .stat = S(MALFORMED) },
	{ "short_payload_cut", C2V, .payload = 100, .cut = 100,
	  .setup = OWNED, .verdict = OK, .stat = S(MALFORMED) },
	{ "ip_tot_len_20_no_tcp", C2V, .mangle = ip_header_only,
	  .setup = OWNED, .verdict = OK, .stat = S(MALFORMED) },
	{ "ip_ihl_4", C2V, .mangle = ihl_4, .payload = 10, .setup = OWNED,
	  .verdict = OK, .stat = S(MALFORMED) },
	{ "ip_version_6_in_ipv4_frame", C2V, .mangle = version_6,
	  .payload = 10, .setup = OWNED, .verdict = OK,
	  .stat = S(MALFORMED) },
	{ "ip_tot_len_beyond_frame", C2V, .mangle = tot_len_over_frame,
	  .payload = 10, .setup = OWNED, .verdict = OK,
	  .stat = S(MALFORMED) },
	{ "ip_tot_len_below_header", C2V, .mangle = tot_len_under_header,
	  .payload = 10, .setup = OWNED, .verdict = OK,
	  .stat = S(MALFORMED) },
	{ "tcp_doff_4", C2V, .mangle = doff_4, .payload = 10,
	  .setup = OWNED, .verdict = OK, .stat = S(MALFORMED) },
	{ "tcp_doff_beyond_segment", C2V, .mangle = doff_15, .payload = 10,
	  .setup = OWNED, .verdict = OK, .stat = S(MALFORMED) },
	{ "b2c_tcp_doff_beyond_segment", B1_TO_C, .mangle = doff_15,
	  .payload = 30, .setup = OWNED, .verdict = OK,
	  .stat = S(MALFORMED) },
	/* Host mode, tc ingress of the controller's host: client->VIP to
	 * the owner, marked for its host, redirected back out through the
	 * kernel's route and neighbour (bpf_redirect_neigh). */
	{ "host_in_c2v_owned_to_b1_marked", C2V, .payload = 333,
	  .setup = OWNED, .verdict = TC_ACT_REDIRECT, .expect = TO_B1_MARKED,
	  .stat = S(TO_BACKEND), .stat2 = S(REDIRECT), .prog = HIN },
	{ "host_in_c2v_owned_fin_cleared_marked", C2V,
	  .flags = PKT_FIN | PKT_ACK, .setup = OWNED,
	  .verdict = TC_ACT_REDIRECT, .expect = TO_B1_MARKED,
	  .stat = S(TO_BACKEND), .stat2 = S(REDIRECT), .prog = HIN },
	{ "host_in_c2v_owned_ecn_kept_under_the_mark", C2V, .payload = 10,
	  .tos = 2, .setup = OWNED_OPEN, .verdict = TC_ACT_REDIRECT,
	  .expect = TO_B1_MARKED, .stat = S(TO_BACKEND), .stat2 = S(REDIRECT),
	  .prog = HIN },
	{ "host_in_c2v_locked_dropped", C2V, .payload = 100,
	  .setup = LOCKED_REV, .verdict = SHOT, .stat = S(DROP_LOCKED),
	  .prog = HIN },
	{ "host_in_c2v_miss_passed", C2V, .payload = 100, .setup = NONE,
	  .verdict = OK, .stat = S(MISS), .prog = HIN },
	{ "host_in_c2v_home_passed", C2V, .payload = 100, .setup = HOME_B1,
	  .verdict = OK, .stat = S(MISS), .after = PRISM_FLOW_HOME,
	  .prog = HIN },
	{ "host_in_c2v_client_dscp_63_passed_on_the_controllers_host", C2V,
	  .payload = 10, .tos = MARK, .setup = NONE, .verdict = OK,
	  .stat = S(MISS), .prog = HIN },
	{ "host_in_udp_passed", C2V, .proto = IPPROTO_UDP, .payload = 30,
	  .setup = OWNED, .verdict = OK, .stat = S(NOT_TCP), .prog = HIN },
	{ "host_in_short_tcp_passed", C2V, .cut = 53, .setup = OWNED,
	  .verdict = OK, .stat = S(MALFORMED), .prog = HIN },
	/* Host mode, tc ingress of a backend's host: a segment the
	 * controller's host sent on reaches the socket only while owned. */
	{ "host_in_c2b_marked_owned_delivered_mark_cleared", C2B1,
	  .payload = 200, .tos = MARK, .setup = OWNED, .verdict = OK,
	  .expect = MARK_CLEARED, .stat = S(TO_OWNER), .prog = HIN,
	  .on_backend = true },
	{ "host_in_c2b_marked_owned_open_delivered", C2B1, .payload = 1448,
	  .tos = MARK | 1, .setup = OWNED_OPEN, .verdict = OK,
	  .expect = MARK_CLEARED, .stat = S(TO_OWNER), .prog = HIN,
	  .on_backend = true },
	{ "host_in_c2b_marked_before_the_restore_dropped", C2B1,
	  .payload = 10, .tos = MARK, .setup = NONE, .verdict = SHOT,
	  .stat = S(DROP_NOT_OWNER), .prog = HIN, .on_backend = true },
	{ "host_in_c2b_marked_frozen_for_hand_back_dropped", C2B1,
	  .payload = 10, .tos = MARK, .setup = TAIL_B1, .verdict = SHOT,
	  .stat = S(DROP_NOT_OWNER), .after = PRISM_FLOW_LOCKED, .prog = HIN,
	  .on_backend = true },
	{ "host_in_c2b_unmarked_passed", C2B1, .payload = 10, .setup = NONE,
	  .verdict = OK, .stat = S(MISS), .prog = HIN, .on_backend = true },
	{ "host_in_c2b_unmarked_owned_passed_untouched", C2B1, .payload = 10,
	  .setup = OWNED, .verdict = OK, .stat = S(MISS), .prog = HIN,
	  .on_backend = true },
	/* Host mode, tc egress of a backend's host: the owner's segments
	 * leave from the VIP, windows zeroed, the tail still translated. */
	{ "host_out_b2c_owned_from_the_vip", B1_TO_C, .payload = 1460,
	  .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT), .prog = HOUT, .on_backend = true },
	{ "host_out_b2c_owned_marked_cleared", B1_TO_C, .payload = 100,
	  .tos = MARK, .setup = OWNED, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT), .prog = HOUT, .on_backend = true },
	{ "host_out_b2c_owned_open_window_kept", B1_TO_C, .payload = 25,
	  .setup = OWNED_OPEN, .verdict = OK, .expect = TO_CLIENT_OPEN,
	  .stat = S(TO_CLIENT), .prog = HOUT, .on_backend = true },
	{ "host_out_b2c_tail_translated", B1_TO_C, .payload = 1448,
	  .setup = TAIL_B1, .verdict = OK, .expect = TO_CLIENT,
	  .stat = S(TO_CLIENT), .stat2 = S(TAIL), .after = PRISM_FLOW_LOCKED,
	  .prog = HOUT, .on_backend = true },
	{ "host_out_b2c_beyond_tail_dropped", B1_TO_C, .payload = 1449,
	  .setup = TAIL_B1, .verdict = SHOT, .stat = S(DROP_LOCKED),
	  .after = PRISM_FLOW_LOCKED, .prog = HOUT, .on_backend = true },
	{ "host_out_b2c_miss_passed", B1_TO_C, .payload = 100, .setup = NONE,
	  .verdict = OK, .stat = S(MISS), .prog = HOUT, .on_backend = true },
	{ "host_out_udp_passed_no_fast_path_at_egress", C2V,
	  .proto = IPPROTO_UDP, .payload = 30, .setup = OWNED, .verdict = OK,
	  .stat = S(NOT_TCP), .prog = HOUT },
	/* Host mode, tc egress of the controller's host: its in-band
	 * unlock. */
	{ "host_out_v2c_marked_unlocks", V2C, .tos = MARK,
	  .setup = LOCKED_REV, .verdict = OK, .expect = MARK_CLEARED,
	  .stat = S(UNLOCK), .after = PRISM_FLOW_HOME, .prog = HOUT },
	{ "host_out_v2c_marked_does_not_unlock_owned", V2C, .tos = MARK,
	  .setup = OWNED, .verdict = OK, .stat = S(MISS),
	  .stat2 = S(MARK_REFUSED), .after = PRISM_FLOW_OWNED, .prog = HOUT },
	{ "host_out_v2c_unmarked_passed", V2C, .payload = 100, .setup = OWNED,
	  .verdict = OK, .stat = S(MISS), .after = PRISM_FLOW_OWNED,
	  .prog = HOUT },
};

static const struct sw_case *cur;

static int build_input(const struct sw_case *c, uint8_t *buf)
{
	struct pkt_spec s;
	int len;

	if (c->build) {
		len = c->build(buf);
	} else {
		case_spec(c, &s);
		len = pkt_build(&s, buf, PKT_MAX);
	}
	if (len > 0 && c->mangle)
		len = c->mangle(buf, len);
	if (len > 0 && c->cut)
		len = c->cut;
	if (len > 0 && c->pad) {
		memset(buf + len, 0, (size_t)c->pad);
		len += c->pad;
	}
	return len;
}

/* The expected output, built from scratch with the rewritten fields. */
static int build_expected(const struct sw_case *c, const uint8_t *in,
			  int in_len, uint8_t *buf)
{
	struct pkt_spec s;
	int len;

	if (c->expect == UNTOUCHED) {
		memcpy(buf, in, (size_t)in_len);
		return in_len;
	}
	case_spec(c, &s);
	if (c->expect != TO_B1)
		s.tos &= (uint8_t)~PRISM_TOS_DSCP_MASK; /* the mark is cleared */
	if (c->expect == TO_B1_MARKED)
		s.tos |= PRISM_TOS_MARK;
	if (c->expect == MARK_CLEARED) {
		/* unchanged otherwise */
	} else if (c->expect == TO_B1 || c->expect == TO_B1_MARKED) {
		s.daddr = B1;
		s.flags &= (uint8_t)~PKT_FIN;
	} else {
		s.saddr = VIP;
		/* OWNED_OPEN: the backend's window reaches the client */
		if (c->expect == TO_CLIENT)
			s.window = 0;
	}
	len = pkt_build(&s, buf, PKT_MAX);
	if (len > 0 && c->pad) {
		memset(buf + len, 0, (size_t)c->pad);
		len += c->pad;
	}
	return len;
}

static void check_stats(const uint64_t want[PRISM_STAT_MAX])
{
	static const char *names[] = PRISM_STAT_NAMES;
	uint64_t got[PRISM_STAT_MAX];

	CHECK_EQ(progtest_read_stats(stats_fd, got), 0);
	for (int i = 0; i < PRISM_STAT_MAX; i++)
		if (got[i] != want[i])
			t_failf(__FILE__, __LINE__, "stat %s: %llu != %llu",
				names[i], (unsigned long long)got[i],
				(unsigned long long)want[i]);
}

static void check_flow_counters(const struct sw_case *c)
{
	struct prism_flow_key k = client_key();
	struct prism_flow_value v;
	uint64_t tb = 0, tbb = 0, tc = 0, tcb = 0, ld = 0;

	if (bpf_map_lookup_elem(flows_fd, &k, &v) < 0) {
		CHECK(c->setup == NONE || c->after == GONE);
		return;
	}
	if (c->expect == TO_B1 || c->expect == TO_B1_MARKED ||
	    c->stat == PRISM_STAT_TO_OWNER) {
		tb = 1;
		tbb = c->payload;
	} else if (c->expect == TO_CLIENT || c->expect == TO_CLIENT_OPEN) {
		tc = 1;
		tcb = c->payload;
	} else if (c->stat == PRISM_STAT_DROP_LOCKED ||
		   c->stat == PRISM_STAT_DROP_NOT_OWNER) {
		ld = 1;
	}
	CHECK_EQ(v.to_backend_packets, tb);
	CHECK_EQ(v.to_backend_bytes, tbb);
	CHECK_EQ(v.to_client_packets, tc);
	CHECK_EQ(v.to_client_bytes, tcb);
	CHECK_EQ(v.locked_drops, ld);
}

/* The flow's state after the case, and the reverse entry of a removed
 * flow removed with it. */
static void check_state_after(const struct sw_case *c)
{
	struct prism_flow_key k = client_key();
	struct prism_rev_key r = rev_key(B1);
	struct prism_flow_value v;
	struct prism_flow_key back;

	if (c->after == GONE) {
		CHECK(bpf_map_lookup_elem(flows_fd, &k, &v) < 0);
		CHECK(bpf_map_lookup_elem(rev_fd, &r, &back) < 0);
		return;
	}
	CHECK_EQ(bpf_map_lookup_elem(flows_fd, &k, &v), 0);
	CHECK_EQ(v.state, (uint32_t)c->after);
	if (c->stat2 == PRISM_STAT_CLAIM)
		CHECK_EQ(v.flags, 0);
}

static void check_bytes(const uint8_t *got, int got_len, const uint8_t *want,
			int want_len)
{
	CHECK_EQ(got_len, want_len);
	for (int i = 0; i < got_len && i < want_len; i++) {
		if (got[i] != want[i]) {
			t_failf(__FILE__, __LINE__,
				"output byte %d: 0x%02x != 0x%02x", i, got[i],
				want[i]);
			return;
		}
	}
}

static void run_case(void)
{
	static uint8_t in[PKT_MAX], out[PKT_MAX], want[PKT_MAX];
	const struct sw_case *c = cur;
	uint64_t stats[PRISM_STAT_MAX] = { 0 };
	struct progtest_run run = { 0 };
	int in_len, want_len;

	in_len = build_input(c, in);
	CHECK(in_len >= PKT_ETH_LEN);
	want_len = build_expected(c, in, in_len, want);
	CHECK(want_len > 0);
	if (in_len < PKT_ETH_LEN || want_len <= 0)
		return;
	apply_setup(c->setup);
	run.data_in = in;
	run.size_in = (uint32_t)in_len;
	run.data_out = out;
	run.size_out = sizeof(out);
	skel->bss->prism_host_backend = c->on_backend;
	CHECK_EQ(progtest_run(c->prog == HIN	? host_in_fd
			      : c->prog == HOUT ? host_out_fd
						: prog_fd,
			      &run),
		 0);
	CHECK_EQ(run.retval, c->verdict);
	check_bytes(out, (int)run.size_out, want, want_len);
	if (c->expect != UNTOUCHED)
		CHECK_EQ(pkt_verify_csums(out, run.size_out), 0);
	stats[PRISM_STAT_PACKETS] = 1;
	stats[c->stat] = 1;
	if (c->stat2)
		stats[c->stat2] = 1;
	if (c->verdict == TC_ACT_OK && c->stat != PRISM_STAT_TO_OWNER &&
	    (c->expect == UNTOUCHED || c->expect == MARK_CLEARED))
		stats[PRISM_STAT_PASS] = 1;
	check_stats(stats);
	check_flow_counters(c);
	if (c->after)
		check_state_after(c);
}

/* --- the redirect path (progtest's veth pair) ---------------------------- */

static struct progtest_net net;
static bool have_net;

#define R_CLIENT PKT_IP4(198, 18, 250, 2)
#define R_BACKEND PKT_IP4(198, 18, 251, 2)
#define R_UNRESOLVED PKT_IP4(198, 18, 251, 9)

static void redirect_setup(uint32_t backend)
{
	struct prism_flow_key k = {
		.client_ip = htonl(R_CLIENT),
		.vip = htonl(VIP),
		.client_port = htons(CPORT),
		.vip_port = htons(VPORT),
	};
	struct prism_rev_key r = {
		.backend_ip = htonl(backend),
		.client_ip = htonl(R_CLIENT),
		.backend_port = htons(VPORT),
		.client_port = htons(CPORT),
	};

	clear_maps();
	put_flow(&k, PRISM_FLOW_OWNED, backend);
	CHECK_EQ(bpf_map_update_elem(rev_fd, &r, &k, BPF_ANY), 0);
}

static void redirect_cleanup(uint32_t backend)
{
	struct prism_flow_key k = {
		.client_ip = htonl(R_CLIENT),
		.vip = htonl(VIP),
		.client_port = htons(CPORT),
		.vip_port = htons(VPORT),
	};
	struct prism_rev_key r = {
		.backend_ip = htonl(backend),
		.client_ip = htonl(R_CLIENT),
		.backend_port = htons(VPORT),
		.client_port = htons(CPORT),
	};

	bpf_map_delete_elem(flows_fd, &k);
	bpf_map_delete_elem(rev_fd, &r);
}

/* Runs spec `in` arriving on ifindex and checks the result against spec
 * `want` and the verdict and stats. */
static void run_redirect(const struct pkt_spec *in, int ifindex,
			 const struct pkt_spec *want, int verdict,
			 enum prism_stat stat)
{
	static uint8_t ibuf[PKT_MAX], obuf[PKT_MAX], wbuf[PKT_MAX];
	uint64_t stats[PRISM_STAT_MAX] = { 0 };
	struct progtest_run run = { 0 };
	int in_len, want_len;

	in_len = pkt_build(in, ibuf, sizeof(ibuf));
	want_len = pkt_build(want, wbuf, sizeof(wbuf));
	CHECK(in_len > 0 && want_len > 0);
	run.data_in = ibuf;
	run.size_in = (uint32_t)in_len;
	run.data_out = obuf;
	run.size_out = sizeof(obuf);
	run.ifindex = (uint32_t)ifindex;
	CHECK_EQ(progtest_run(prog_fd, &run), 0);
	CHECK_EQ(run.retval, verdict);
	check_bytes(obuf, (int)run.size_out, wbuf, want_len);
	CHECK_EQ(pkt_verify_csums(obuf, run.size_out), 0);
	stats[PRISM_STAT_PACKETS] = 1;
	stats[stat] = 1;
	if (verdict == TC_ACT_REDIRECT)
		stats[PRISM_STAT_REDIRECT] = 1;
	check_stats(stats);
}

static void test_c2v_redirect(void)
{
	struct pkt_spec in, want;

	redirect_setup(R_BACKEND);
	base_spec(C2V, &in);
	memcpy(in.dst_mac, net.in_mac, 6);
	in.saddr = R_CLIENT;
	in.flags = PKT_FIN | PKT_ACK;
	in.payload_len = 512;
	want = in;
	want.daddr = R_BACKEND;
	want.flags = PKT_ACK;
	progtest_neigh_mac(R_BACKEND, want.dst_mac);
	memcpy(want.src_mac, net.out_mac, 6);
	run_redirect(&in, net.in_ifindex, &want, TC_ACT_REDIRECT,
		     PRISM_STAT_TO_BACKEND);
	redirect_cleanup(R_BACKEND);
}

static void test_b2c_redirect(void)
{
	struct pkt_spec in, want;

	redirect_setup(R_BACKEND);
	base_spec(B1_TO_C, &in);
	memcpy(in.dst_mac, net.out_mac, 6);
	in.saddr = R_BACKEND;
	in.daddr = R_CLIENT;
	in.payload_len = 1460;
	want = in;
	want.saddr = VIP;
	want.window = 0;
	progtest_neigh_mac(R_CLIENT, want.dst_mac);
	memcpy(want.src_mac, net.in_mac, 6);
	run_redirect(&in, net.out_ifindex, &want, TC_ACT_REDIRECT,
		     PRISM_STAT_TO_CLIENT);
	redirect_cleanup(R_BACKEND);
}

/* Route known, neighbour not: the kernel must resolve it (TC_ACT_OK), the
 * packet is rewritten but its MACs are left alone. */
static void test_c2v_unresolved_neighbour_to_kernel(void)
{
	struct pkt_spec in, want;

	redirect_setup(R_UNRESOLVED);
	base_spec(C2V, &in);
	memcpy(in.dst_mac, net.in_mac, 6);
	in.saddr = R_CLIENT;
	want = in;
	want.daddr = R_UNRESOLVED;
	run_redirect(&in, net.in_ifindex, &want, TC_ACT_OK,
		     PRISM_STAT_TO_BACKEND);
	redirect_cleanup(R_UNRESOLVED);
}

/* The reverse-path check of in-band claims, on progtest's veth pair: a
 * marked segment from R_BACKEND claims its flow when it comes in on the
 * port R_BACKEND is routed to, and is refused on the other port. */
static void test_claim_rpf(void)
{
	static uint8_t ibuf[PKT_MAX], obuf[PKT_MAX], wbuf[PKT_MAX];
	struct prism_flow_key k = {
		.client_ip = htonl(R_CLIENT),
		.vip = htonl(VIP),
		.client_port = htons(CPORT),
		.vip_port = htons(VPORT),
	};
	struct prism_flow_value v = { .state = PRISM_FLOW_LOCKED,
				      .backend_ip = htonl(R_BACKEND),
				      .flags = PRISM_FLOW_F_CLAIM };
	uint64_t got[PRISM_STAT_MAX];
	struct pkt_spec in, want;

	skel->data->prism_rpf = 1;
	for (int right = 0; right < 2; right++) {
		struct progtest_run run = { 0 };

		redirect_setup(R_BACKEND);
		CHECK_EQ(bpf_map_update_elem(flows_fd, &k, &v, BPF_ANY), 0);
		base_spec(B1_TO_C, &in);
		memcpy(in.dst_mac, net.out_mac, 6);
		in.saddr = R_BACKEND;
		in.daddr = R_CLIENT;
		in.tos = PRISM_TOS_MARK;
		in.payload_len = 100;
		want = in;
		if (right) {
			want.saddr = VIP;
			want.window = 0;
			want.tos = 0;
			progtest_neigh_mac(R_CLIENT, want.dst_mac);
			memcpy(want.src_mac, net.in_mac, 6);
		}
		CHECK(pkt_build(&in, ibuf, sizeof(ibuf)) > 0);
		CHECK(pkt_build(&want, wbuf, sizeof(wbuf)) > 0);
		run.data_in = ibuf;
		run.size_in = (uint32_t)pkt_build(&in, ibuf, sizeof(ibuf));
		run.data_out = obuf;
		run.size_out = sizeof(obuf);
		run.ifindex = (uint32_t)(right ? net.out_ifindex
					       : net.in_ifindex);
		CHECK_EQ(progtest_run(prog_fd, &run), 0);
		CHECK_EQ(run.retval, right ? TC_ACT_REDIRECT : TC_ACT_SHOT);
		check_bytes(obuf, (int)run.size_out, wbuf,
			    pkt_build(&want, wbuf, sizeof(wbuf)));
		CHECK_EQ(progtest_read_stats(stats_fd, got), 0);
		CHECK_EQ(got[PRISM_STAT_CLAIM], (uint64_t)right);
		CHECK_EQ(got[PRISM_STAT_MARK_REFUSED], (uint64_t)!right);
		CHECK_EQ(got[PRISM_STAT_DROP_LOCKED], (uint64_t)!right);
		CHECK_EQ(got[PRISM_STAT_TO_CLIENT], (uint64_t)right);
		redirect_cleanup(R_BACKEND);
	}
	skel->data->prism_rpf = 0;
}

/* --- whole-program checks ---------------------------------------------- */

static void test_default_table_size_loads(void)
{
	struct switch_bpf *s = switch_bpf__open_and_load();

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_EQ(bpf_map__max_entries(s->maps.flows),
		 PRISM_FLOW_TABLE_DEFAULT);
	CHECK_EQ(bpf_map__max_entries(s->maps.rev_flows),
		 PRISM_FLOW_TABLE_DEFAULT);
	switch_bpf__destroy(s);
}

/* Counters accumulate over packets and both directions of one flow. */
static void test_flow_counters_accumulate(void)
{
	static uint8_t buf[PKT_MAX];
	struct prism_flow_key k = client_key();
	struct progtest_run run = { 0 };
	struct prism_flow_value v;
	struct pkt_spec s;
	int len;

	apply_setup(OWNED);
	for (int i = 0; i < 3; i++) {
		base_spec(i == 1 ? B1_TO_C : C2V, &s);
		s.payload_len = (uint16_t)(100 * (i + 1));
		len = pkt_build(&s, buf, sizeof(buf));
		run.data_in = buf;
		run.size_in = (uint32_t)len;
		CHECK_EQ(progtest_run(prog_fd, &run), 0);
		CHECK_EQ(run.retval, TC_ACT_OK);
	}
	CHECK_EQ(bpf_map_lookup_elem(flows_fd, &k, &v), 0);
	CHECK_EQ(v.to_backend_packets, 2);
	CHECK_EQ(v.to_backend_bytes, 100 + 300);
	CHECK_EQ(v.to_client_packets, 1);
	CHECK_EQ(v.to_client_bytes, 200);
	CHECK_EQ(v.locked_drops, 0);
}

/* Some kernels refuse IPv4 frames shorter than Ethernet + 20 bytes in
 * BPF_PROG_TEST_RUN, so those cases cannot be injected: ask first. */
static bool kernel_accepts(const struct sw_case *c)
{
	static uint8_t buf[PKT_MAX];
	int len = build_input(c, buf);
	struct bpf_test_run_opts opts = {
		.sz = sizeof(opts),
		.data_in = buf,
		.data_size_in = (uint32_t)len,
	};

	if (len <= 0)
		return true; /* let run_case report the builder failure */
	clear_maps();
	return !(bpf_prog_test_run_opts(prog_fd, &opts) < 0 &&
		 errno == EINVAL);
}

static int load(void)
{
	struct t_switch_fds fds;
	int err;

	skel = t_switch_open();
	if (!skel)
		return -errno;
	/* No routes to the test addresses here: the reverse-path check of
	 * in-band transitions is tested on its own (test_claim_rpf). */
	skel->data->prism_rpf = 0;
	err = t_switch_load(skel, &fds);
	if (err)
		return err;
	flows_fd = fds.flows;
	rev_fd = fds.rev;
	stats_fd = fds.stats;
	prog_fd = fds.prog;
	host_in_fd = bpf_program__fd(skel->progs.prism_host_in);
	host_out_fd = bpf_program__fd(skel->progs.prism_host_out);
	return 0;
}

int main(void)
{
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	int err;

	if (geteuid() != 0 || progtest_enter_netns() != 0) {
		t_skip("switch", "needs root (unshare, BPF_PROG_TEST_RUN)");
		return t_done();
	}
	err = load();
	if (err) {
		printf("# load switch_bpf: %s\n", strerror(-err));
		t_run("switch_program_loads", test_default_table_size_loads);
		return 1;
	}
	have_net = progtest_net_setup(&net) == 0;
	for (size_t i = 0; i < n; i++) {
		cur = &cases[i];
		if (kernel_accepts(cur))
			t_run(cur->name, run_case);
		else
			t_skip(cur->name, "BPF_PROG_TEST_RUN on this kernel "
					  "refuses the frame (EINVAL)");
	}
	t_run("flow_counters_accumulate", test_flow_counters_accumulate);
	if (have_net) {
		t_run("c2v_owned_fib_redirect_to_backend", test_c2v_redirect);
		t_run("b2c_owned_fib_redirect_to_client", test_b2c_redirect);
		t_run("c2v_owned_unresolved_neighbour_to_kernel",
		      test_c2v_unresolved_neighbour_to_kernel);
		t_run("b2c_claim_only_from_the_backends_own_port",
		      test_claim_rpf);
	} else {
		t_skip("fib_redirect",
		       "veth setup in the private netns failed");
	}
	t_run("default_table_size_loads", test_default_table_size_loads);
	switch_bpf__destroy(skel);
	return t_done();
}
