/* The agent's flow-table updates (src/switch/table.c) on real BPF hash
 * maps of the data plane's key and value types (needs root).  After every
 * step the invariant is checked: a flow carrying a backend has exactly one
 * reverse entry, which points back to it. */
#include "t.h"
#include "lib/log.h"
#include "switch/table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

static struct flow_table t = { -1, -1 };

#define B1 htonl(0xc6120b02u) /* 198.18.11.2 */
#define B2 htonl(0xc6120c02u) /* 198.18.12.2 */

static int open_maps(uint32_t size)
{
	if (t.flows_fd >= 0)
		close(t.flows_fd);
	if (t.rev_fd >= 0)
		close(t.rev_fd);
	t.flows_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "flows",
				    sizeof(struct prism_flow_key),
				    sizeof(struct prism_flow_value), size, NULL);
	t.rev_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "rev_flows",
				  sizeof(struct prism_rev_key),
				  sizeof(struct prism_flow_key),
				  size + TABLE_REV_SPARE, NULL);
	return t.flows_fd < 0 || t.rev_fd < 0 ? -errno : 0;
}

static struct switch_op op(uint8_t code, int client, __be32 backend)
{
	struct switch_op o = { .op = code, .backend_ip = backend };

	o.key.client_ip = htonl(0xc6120102u);
	o.key.vip = htonl(0xc6130001u);
	o.key.client_port = htons((uint16_t)(40000 + client));
	o.key.vip_port = htons(80);
	return o;
}

static int count(int fd, size_t key_size)
{
	uint8_t k[16], next[16];
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(k, next, key_size);
		prev = k;
		n++;
	}
	return n;
}

/* State of CLIENT's flow: 0 absent, else state; *backend set. */
static int state_of(int client, __be32 *backend)
{
	struct switch_op o = op(PRISM_OP_LOCK, client, 0);
	struct prism_flow_value v;

	*backend = 0;
	if (bpf_map_lookup_elem(t.flows_fd, &o.key, &v))
		return 0;
	*backend = v.backend_ip;
	return (int)v.state;
}

static bool rev_points_to(int client, __be32 backend)
{
	struct switch_op o = op(PRISM_OP_LOCK, client, 0);
	struct prism_rev_key rk = prism_rev_key_of(&o.key, backend);
	struct prism_flow_key back;

	return bpf_map_lookup_elem(t.rev_fd, &rk, &back) == 0 &&
	       memcmp(&back, &o.key, sizeof(back)) == 0;
}

/* Every reverse entry belongs to a flow with that backend, and every flow
 * with a backend has its reverse entry. */
static bool consistent(void)
{
	struct prism_flow_key k, next, *prev = NULL;
	struct prism_flow_value v;
	int with_backend = 0;

	while (bpf_map_get_next_key(t.flows_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(t.flows_fd, &k, &v) || !v.backend_ip)
			continue;
		struct prism_rev_key rk = prism_rev_key_of(&k, v.backend_ip);
		struct prism_flow_key back;

		if (bpf_map_lookup_elem(t.rev_fd, &rk, &back) ||
		    memcmp(&back, &k, sizeof(k)))
			return false;
		with_backend++;
	}
	return with_backend == count(t.rev_fd, sizeof(struct prism_rev_key));
}

static int apply(struct switch_op o)
{
	return table_apply(&t, &o, 0);
}

static void test_lifecycle(void)
{
	__be32 b;

	CHECK_EQ(open_maps(16), 0);
	/* absent -> LOCKED -> OWNED(b1) -> LOCKED -> absent, each twice. */
	for (int rep = 0; rep < 2; rep++) {
		CHECK_EQ(apply(op(PRISM_OP_LOCK, 1, 0)), 0);
		CHECK_EQ(state_of(1, &b), PRISM_FLOW_LOCKED);
		CHECK_EQ(b, 0);
		CHECK(consistent());
	}
	for (int rep = 0; rep < 2; rep++) {
		CHECK_EQ(apply(op(PRISM_OP_OWN, 1, B1)), 0);
		CHECK_EQ(state_of(1, &b), PRISM_FLOW_OWNED);
		CHECK_EQ(b, B1);
		CHECK(rev_points_to(1, B1));
		CHECK(consistent());
	}
	for (int rep = 0; rep < 2; rep++) {
		/* LOCK keeps the backend and its reverse entry. */
		CHECK_EQ(apply(op(PRISM_OP_LOCK, 1, 0)), 0);
		CHECK_EQ(state_of(1, &b), PRISM_FLOW_LOCKED);
		CHECK_EQ(b, B1);
		CHECK(rev_points_to(1, B1));
		CHECK(consistent());
	}
	for (int rep = 0; rep < 2; rep++) {
		CHECK_EQ(apply(op(PRISM_OP_DELETE, 1, 0)), 0);
		CHECK_EQ(state_of(1, &b), 0);
		CHECK_EQ(count(t.rev_fd, sizeof(struct prism_rev_key)), 0);
	}
}

static void test_move_between_backends(void)
{
	struct switch_op o = op(PRISM_OP_OWN, 2, B1);
	struct prism_flow_value v;
	__be32 b;

	CHECK_EQ(open_maps(16), 0);
	CHECK_EQ(apply(o), 0);
	/* Counters survive a change of owner. */
	CHECK_EQ(bpf_map_lookup_elem(t.flows_fd, &o.key, &v), 0);
	v.to_client_bytes = 12345;
	CHECK_EQ(bpf_map_update_elem(t.flows_fd, &o.key, &v, BPF_EXIST), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 2, B2)), 0);
	CHECK_EQ(state_of(2, &b), PRISM_FLOW_OWNED);
	CHECK_EQ(b, B2);
	CHECK(rev_points_to(2, B2));
	CHECK(!rev_points_to(2, B1));
	CHECK(consistent());
	CHECK_EQ(bpf_map_lookup_elem(t.flows_fd, &o.key, &v), 0);
	CHECK_EQ(v.to_client_bytes, 12345);
	/* From LOCKED-with-backend to another backend too. */
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 2, 0)), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 2, B1)), 0);
	CHECK(rev_points_to(2, B1));
	CHECK(!rev_points_to(2, B2));
	CHECK(consistent());
	/* DELETE of an absent flow is fine. */
	CHECK_EQ(apply(op(PRISM_OP_DELETE, 9, 0)), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 3, 0)), -EINVAL);
}

/* OWN_OPEN (a backend reading a request body) and back to OWN: the same
 * owner and reverse entry, only the state differs. */
static void test_own_open(void)
{
	__be32 b;

	CHECK_EQ(open_maps(16), 0);
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 6, 0)), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 6, B1)), 0);
	for (int rep = 0; rep < 2; rep++) {
		CHECK_EQ(apply(op(PRISM_OP_OWN_OPEN, 6, B1)), 0);
		CHECK_EQ(state_of(6, &b), PRISM_FLOW_OWNED_OPEN);
		CHECK_EQ(b, B1);
		CHECK(rev_points_to(6, B1));
		CHECK(consistent());
	}
	CHECK_EQ(apply(op(PRISM_OP_OWN, 6, B1)), 0);
	CHECK_EQ(state_of(6, &b), PRISM_FLOW_OWNED);
	CHECK_EQ(apply(op(PRISM_OP_OWN_OPEN, 6, B1)), 0);
	/* hand-back from OWNED_OPEN: LOCK keeps the backend */
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 6, 0)), 0);
	CHECK_EQ(state_of(6, &b), PRISM_FLOW_LOCKED);
	CHECK(rev_points_to(6, B1));
	CHECK_EQ(apply(op(PRISM_OP_DELETE, 6, 0)), 0);
	CHECK_EQ(count(t.rev_fd, sizeof(struct prism_rev_key)), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN_OPEN, 7, 0)), -EINVAL);
}

static void test_full_table(void)
{
	__be32 b;

	CHECK_EQ(open_maps(4), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(apply(i % 2 ? op(PRISM_OP_OWN, i, B1)
				     : op(PRISM_OP_LOCK, i, 0)),
			 0);
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 4, 0)), -ENOSPC);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 5, B1)), -ENOSPC);
	CHECK_EQ(state_of(5, &b), 0);
	CHECK(!rev_points_to(5, B1)); /* the failed OWN rolled back */
	CHECK(consistent());
	/* Existing flows still change state in a full table. */
	CHECK_EQ(apply(op(PRISM_OP_OWN, 0, B1)), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 2, B2)), 0);
	/* All four OWNED: moving one needs the spare reverse slot. */
	CHECK_EQ(apply(op(PRISM_OP_OWN, 1, B2)), 0);
	CHECK_EQ(apply(op(PRISM_OP_OWN, 3, B2)), 0);
	CHECK(consistent());
	CHECK_EQ(apply(op(PRISM_OP_DELETE, 0, 0)), 0);
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 4, 0)), 0);
	CHECK(consistent());
}

static void test_rev_collision(void)
{
	struct switch_op a = op(PRISM_OP_OWN, 1, B1), c = a;
	struct prism_flow_value v = { .state = 77 };

	CHECK_EQ(open_maps(16), 0);
	/* Same client address and port, another VIP on the same port, to
	 * the same backend: the backend-side 4-tuple is taken. */
	c.key.vip = htonl(0xc6130002u);
	CHECK_EQ(table_apply(&t, &a, 0), 0);
	CHECK_EQ(table_apply(&t, &c, 0), -EADDRINUSE);
	CHECK(rev_points_to(1, B1));
	CHECK(consistent());
	c.backend_ip = B2;
	CHECK_EQ(table_apply(&t, &c, 0), 0);
	CHECK(consistent());
	/* An entry in no known state: only DELETE touches it. */
	a = op(PRISM_OP_LOCK, 7, 0);
	CHECK_EQ(bpf_map_update_elem(t.flows_fd, &a.key, &v, BPF_ANY), 0);
	CHECK_EQ(table_apply(&t, &a, 0), -EINVAL);
	a.op = PRISM_OP_DELETE;
	CHECK_EQ(table_apply(&t, &a, 0), 0);
}

static uint32_t flags_of(int client)
{
	struct switch_op o = op(PRISM_OP_LOCK, client, 0);
	struct prism_flow_value v;

	if (bpf_map_lookup_elem(t.flows_fd, &o.key, &v))
		return 0xffffffffu;
	return v.flags;
}

/* LOCK naming a claimant: LOCKED + CLAIM for it, with its reverse entry
 * (the data plane finds the flow from the claimant's segment through it);
 * a plain LOCK voids the claim; OWN clears it; moving the claim to another
 * backend drops the old reverse entry. */
static void test_lock_for_claim(void)
{
	__be32 b;

	CHECK_EQ(open_maps(16), 0);
	for (int rep = 0; rep < 2; rep++) {
		CHECK_EQ(apply(op(PRISM_OP_LOCK, 1, B1)), 0);
		CHECK_EQ(state_of(1, &b), PRISM_FLOW_LOCKED);
		CHECK_EQ(b, B1);
		CHECK_EQ(flags_of(1), PRISM_FLOW_F_CLAIM);
		CHECK(rev_points_to(1, B1));
		CHECK(consistent());
	}
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 1, 0)), 0);
	CHECK_EQ(state_of(1, &b), PRISM_FLOW_LOCKED);
	CHECK_EQ(b, B1);
	CHECK_EQ(flags_of(1), 0);
	CHECK(consistent());
	CHECK_EQ(apply(op(PRISM_OP_LOCK, 1, B2)), 0);
	CHECK_EQ(state_of(1, &b), PRISM_FLOW_LOCKED);
	CHECK_EQ(b, B2);
	CHECK_EQ(flags_of(1), PRISM_FLOW_F_CLAIM);
	CHECK(!rev_points_to(1, B1));
	CHECK(rev_points_to(1, B2));
	CHECK(consistent());
	CHECK_EQ(apply(op(PRISM_OP_OWN, 1, B2)), 0);
	CHECK_EQ(flags_of(1), 0);
	CHECK_EQ(apply(op(PRISM_OP_DELETE, 1, 0)), 0);
	CHECK_EQ(state_of(1, &b), 0);
	CHECK_EQ(count(t.rev_fd, sizeof(struct prism_rev_key)), 0);
}

int main(void)
{
	log_init("test_switch_table", LOG_ERR);
	if (open_maps(4)) {
		t_skip("flow table updates", strerror(errno));
		return t_done();
	}
	t_run("lifecycle lock/own/lock/delete, each op twice", test_lifecycle);
	t_run("own moves between backends, counters kept",
	      test_move_between_backends);
	t_run("full table is ENOSPC, rolled back", test_full_table);
	t_run("reverse 4-tuple collision, unknown state", test_rev_collision);
	t_run("own-open and back, lock from own-open", test_own_open);
	t_run("lock naming a claimant, voided, moved, owned",
	      test_lock_for_claim);
	close(t.flows_fd);
	close(t.rev_fd);
	return t_done();
}
