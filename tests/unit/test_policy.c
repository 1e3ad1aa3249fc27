/* Balancing policies: distributions over many requests, consistent
 * hashing stability, skipping unusable members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/policy.h"
#include "t.h"

#define N_MAX 8

struct fixture {
	struct policy_member m[N_MAX];
	struct policy_member *mp[N_MAX];
	char names[N_MAX][8];
	struct policy p;
};

static void setup(struct fixture *f, const char *spec, unsigned n,
		  const uint32_t *weights)
{
	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < n; i++) {
		snprintf(f->names[i], sizeof(f->names[i]), "b%u", i + 1);
		f->m[i].name = f->names[i];
		f->m[i].weight = weights ? weights[i] : 1;
		f->m[i].usable = true;
		f->mp[i] = &f->m[i];
	}
	CHECK_EQ(policy_parse(&f->p, spec), 0);
	CHECK_EQ(policy_set_members(&f->p, f->mp, n), 0);
}

static int pick_path(struct policy *p, const char *path)
{
	struct http_str k = policy_target_path(path, strlen(path));

	return policy_pick_key(p, k.p, k.len);
}

static void test_parse(void)
{
	struct policy p = { 0 };
	char buf[80];

	CHECK_EQ(policy_parse(&p, "rr"), 0);
	CHECK_EQ(p.kind, POLICY_RR);
	CHECK_EQ(policy_parse(&p, "least-conn"), 0);
	CHECK_EQ(p.kind, POLICY_LEAST_CONN);
	CHECK_EQ(policy_parse(&p, "hash-uri"), 0);
	CHECK_EQ(p.kind, POLICY_HASH_URI);
	CHECK_EQ(policy_parse(&p, "hash-header:X-Key"), 0);
	CHECK_EQ(p.kind, POLICY_HASH_HEADER);
	CHECK(!strcmp(policy_name(&p, buf, sizeof(buf)), "hash-header:X-Key"));
	CHECK(policy_parse(&p, "hash-header:") < 0);
	CHECK(policy_parse(&p, "random") < 0);
}

/* Weights 1:2:3: every window of 6 picks gives exactly 1, 2, 3. */
static void test_rr_weights(void)
{
	static const uint32_t w[] = { 1, 2, 3 };
	struct fixture f;
	int count[3] = { 0 };

	setup(&f, "rr", 3, w);
	for (int i = 0; i < 600; i++) {
		int b = policy_pick_key(&f.p, "", 0);

		CHECK(b >= 0 && b < 3);
		if (b >= 0)
			count[b]++;
		if (i % 6 == 5) {
			CHECK(count[0] * 6 == (i + 1) * 1);
			CHECK(count[1] * 6 == (i + 1) * 2);
		}
	}
	CHECK_EQ(count[0], 100);
	CHECK_EQ(count[1], 200);
	CHECK_EQ(count[2], 300);
	policy_free(&f.p);
}

/* Smooth: the heavy member's turns are spread, never 3 in a row for 3:1:1. */
static void test_rr_smooth(void)
{
	static const uint32_t w[] = { 3, 1, 1 };
	struct fixture f;
	int run = 0, last = -1, max_run = 0;

	setup(&f, "rr", 3, w);
	for (int i = 0; i < 100; i++) {
		int b = policy_pick_key(&f.p, "", 0);

		run = b == last ? run + 1 : 1;
		last = b;
		if (run > max_run)
			max_run = run;
	}
	CHECK(max_run <= 2);
	policy_free(&f.p);
}

static void test_rr_skips_unusable(void)
{
	struct fixture f;
	int count[3] = { 0 };

	setup(&f, "rr", 3, NULL);
	f.m[1].usable = false;
	for (int i = 0; i < 100; i++)
		count[policy_pick_key(&f.p, "", 0)]++;
	CHECK_EQ(count[0], 50);
	CHECK_EQ(count[1], 0);
	CHECK_EQ(count[2], 50);
	f.m[0].usable = f.m[2].usable = false;
	CHECK_EQ(policy_pick_key(&f.p, "", 0), -1);
	policy_free(&f.p);
}

/* The controller adds load at each hand-off; least-conn must fill the
 * emptiest member first, relative to its weight. */
static void test_least_conn(void)
{
	static const uint32_t w[] = { 1, 1, 2 };
	struct fixture f;

	setup(&f, "least-conn", 3, w);
	for (int i = 0; i < 400; i++) {
		int b = policy_pick_key(&f.p, "", 0);

		CHECK(b >= 0);
		if (b >= 0)
			f.m[b].load++;
	}
	CHECK_EQ(f.m[0].load, 100);
	CHECK_EQ(f.m[1].load, 100);
	CHECK_EQ(f.m[2].load, 200);
	f.m[1].load = 0; /* b2's connections came back */
	CHECK_EQ(policy_pick_key(&f.p, "", 0), 1);
	/* equal load: ties go round, not always to the first */
	setup(&f, "least-conn", 3, NULL);
	{
		int count[3] = { 0 };

		for (int i = 0; i < 30; i++)
			count[policy_pick_key(&f.p, "", 0)]++;
		CHECK_EQ(count[0], 10);
		CHECK_EQ(count[1], 10);
		CHECK_EQ(count[2], 10);
	}
	policy_free(&f.p);
}

static void test_hash_spread(void)
{
	struct fixture f;
	int count[4] = { 0 };
	char path[64];

	setup(&f, "hash-uri", 4, NULL);
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/obj/%d", i);
		count[pick_path(&f.p, path)]++;
	}
	/* 100 points per member: each gets within +-35% of 5000. */
	for (int i = 0; i < 4; i++)
		CHECK(count[i] > 3250 && count[i] < 6750);
	policy_free(&f.p);
}

static void test_hash_query_ignored(void)
{
	struct fixture f;

	setup(&f, "hash-uri", 5, NULL);
	for (int i = 0; i < 200; i++) {
		char a[64], b[80];

		snprintf(a, sizeof(a), "/k/%d", i);
		snprintf(b, sizeof(b), "/k/%d?v=%d#frag", i, i * 7);
		CHECK_EQ(pick_path(&f.p, a), pick_path(&f.p, b));
	}
	policy_free(&f.p);
}

/* Adding a 5th member moves only keys to it (about 1/5), never between
 * the old ones; removing it moves them back. */
static void test_hash_consistent(void)
{
	struct fixture f;
	static int before[10000];
	int moved = 0;
	char path[64];

	setup(&f, "hash-uri", 4, NULL);
	for (int i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "/obj/%d", i);
		before[i] = pick_path(&f.p, path);
	}
	/* members 0..3 keep their names and indices */
	snprintf(f.names[4], sizeof(f.names[4]), "b5");
	f.m[4] = (struct policy_member){ .name = f.names[4], .weight = 1,
					 .usable = true };
	f.mp[4] = &f.m[4];
	CHECK_EQ(policy_set_members(&f.p, f.mp, 5), 0);
	for (int i = 0; i < 10000; i++) {
		int now;

		snprintf(path, sizeof(path), "/obj/%d", i);
		now = pick_path(&f.p, path);
		if (now != before[i]) {
			moved++;
			CHECK_EQ(now, 4);
		}
	}
	CHECK(moved > 1000 && moved < 3000);
	/* Member order does not matter: the ring depends on names only. */
	{
		struct policy_member *rev[5];

		for (int i = 0; i < 5; i++)
			rev[i] = f.mp[4 - i];
		struct policy q = { .kind = POLICY_HASH_URI };
		CHECK_EQ(policy_set_members(&q, rev, 5), 0);
		for (int i = 0; i < 1000; i++) {
			snprintf(path, sizeof(path), "/obj/%d", i);
			CHECK_EQ(4 - pick_path(&q, path), pick_path(&f.p, path));
		}
		policy_free(&q);
	}
	policy_free(&f.p);
}

/* A down member's keys go to the next members on the ring; others stay. */
static void test_hash_down(void)
{
	struct fixture f;
	static int before[5000];
	char path[64];

	setup(&f, "hash-uri", 3, NULL);
	for (int i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "/x%d", i);
		before[i] = pick_path(&f.p, path);
	}
	f.m[1].usable = false;
	for (int i = 0; i < 5000; i++) {
		int now;

		snprintf(path, sizeof(path), "/x%d", i);
		now = pick_path(&f.p, path);
		CHECK(now != 1);
		if (before[i] != 1)
			CHECK_EQ(now, before[i]);
	}
	policy_free(&f.p);
}

/* Computed from the documented ring definition, independently of the
 * library's lookup: the first point >= h(key). */
static void test_hash_documented(void)
{
	struct fixture f;
	char label[32];

	setup(&f, "hash-uri", 3, NULL);
	for (int k = 0; k < 300; k++) {
		char key[32];
		uint64_t h, best = UINT64_MAX, lowest = UINT64_MAX;
		int owner = -1, low_owner = -1;

		snprintf(key, sizeof(key), "/doc/%d", k);
		h = policy_hash(key, strlen(key));
		for (int m = 0; m < 3; m++)
			for (int j = 0; j < POLICY_VNODES; j++) {
				int n = snprintf(label, sizeof(label), "b%d#%d",
						 m + 1, j);
				uint64_t p = policy_hash(label, (size_t)n);

				if (p >= h && p < best) {
					best = p;
					owner = m;
				}
				if (p < lowest) {
					lowest = p;
					low_owner = m;
				}
			}
		if (owner < 0)
			owner = low_owner;
		CHECK_EQ(pick_path(&f.p, key), owner);
	}
	policy_free(&f.p);
}

static void test_hash_weight(void)
{
	static const uint32_t w[] = { 1, 3 };
	struct fixture f;
	int count[2] = { 0 };
	char path[64];

	setup(&f, "hash-uri", 2, w);
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/w/%d", i);
		count[pick_path(&f.p, path)]++;
	}
	CHECK(count[1] > 2 * count[0] && count[1] < 4 * count[0]);
	policy_free(&f.p);
}

static void test_hash_header(void)
{
	static const char head[] = "GET /a?x HTTP/1.1\r\nHost: h\r\n"
				   "X-Key: user42\r\n\r\n";
	static const char nohdr[] = "GET /a?x HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_request req;
	struct fixture f;

	setup(&f, "hash-header:x-key", 4, NULL);
	CHECK(http_parse_request(head, strlen(head), NULL, &req) > 0);
	CHECK_EQ(policy_pick(&f.p, &req), policy_pick_key(&f.p, "user42", 6));
	CHECK(http_parse_request(nohdr, strlen(nohdr), NULL, &req) > 0);
	CHECK_EQ(policy_pick(&f.p, &req), policy_pick_key(&f.p, "/a", 2));
	policy_free(&f.p);
}

int main(void)
{
	t_run("policy_parse", test_parse);
	t_run("policy_rr_weights_exact", test_rr_weights);
	t_run("policy_rr_smooth", test_rr_smooth);
	t_run("policy_rr_skips_unusable", test_rr_skips_unusable);
	t_run("policy_least_conn", test_least_conn);
	t_run("policy_hash_spread", test_hash_spread);
	t_run("policy_hash_query_ignored", test_hash_query_ignored);
	t_run("policy_hash_consistent_add", test_hash_consistent);
	t_run("policy_hash_down_member", test_hash_down);
	t_run("policy_hash_documented_ring", test_hash_documented);
	t_run("policy_hash_weight", test_hash_weight);
	t_run("policy_hash_header", test_hash_header);
	return t_done();
}
