#include "controller/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* FNV-1a alone clusters short, similar strings ("b1#0", "b1#1"); the
 * finalizer spreads them over the ring. */
uint64_t policy_hash(const void *data, size_t len)
{
	const unsigned char *s = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return fmix64(h);
}

int policy_parse(struct policy *p, const char *spec)
{
	static const char hdr[] = "hash-header:";

	if (!strcmp(spec, "rr") || !strcmp(spec, "round-robin"))
		p->kind = POLICY_RR;
	else if (!strcmp(spec, "least-conn"))
		p->kind = POLICY_LEAST_CONN;
	else if (!strcmp(spec, "hash-uri"))
		p->kind = POLICY_HASH_URI;
	else if (!strncmp(spec, hdr, sizeof(hdr) - 1) &&
		 spec[sizeof(hdr) - 1] &&
		 strlen(spec + sizeof(hdr) - 1) < POLICY_HEADER_MAX) {
		p->kind = POLICY_HASH_HEADER;
		strcpy(p->header, spec + sizeof(hdr) - 1);
	} else
		return -EINVAL;
	return 0;
}

const char *policy_name(const struct policy *p, char *buf, size_t len)
{
	static const char *names[] = { "rr", "least-conn", "hash-uri" };

	if (p->kind == POLICY_HASH_HEADER)
		snprintf(buf, len, "hash-header:%s", p->header);
	else
		snprintf(buf, len, "%s", names[p->kind]);
	return buf;
}

static int point_cmp(const void *a, const void *b)
{
	const struct policy_point *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return 0;
}

/* Sorting by hash alone leaves equal points in an order qsort chooses;
 * fix it by member name so the ring does not depend on member order. */
static void order_ties(struct policy *p)
{
	for (size_t i = 1; i < p->n_points; i++) {
		for (size_t j = i; j > 0; j--) {
			struct policy_point *a = &p->ring[j - 1],
					    *b = &p->ring[j];
			struct policy_point t;

			if (a->hash != b->hash ||
			    strcmp(p->m[a->member]->name,
				   p->m[b->member]->name) <= 0)
				break;
			t = *a;
			*a = *b;
			*b = t;
		}
	}
}

static int build_ring(struct policy *p)
{
	size_t total = 0, k = 0;
	char label[64];

	for (unsigned i = 0; i < p->n; i++)
		total += (size_t)p->m[i]->weight * POLICY_VNODES;
	free(p->ring);
	p->ring = NULL;
	p->n_points = 0;
	if (!total)
		return 0;
	p->ring = calloc(total, sizeof(*p->ring));
	if (!p->ring)
		return -ENOMEM;
	for (unsigned i = 0; i < p->n; i++) {
		size_t pts = (size_t)p->m[i]->weight * POLICY_VNODES;

		for (size_t j = 0; j < pts; j++) {
			int n = snprintf(label, sizeof(label), "%s#%zu",
					 p->m[i]->name, j);

			p->ring[k].hash = policy_hash(label, (size_t)n);
			p->ring[k++].member = i;
		}
	}
	p->n_points = total;
	qsort(p->ring, total, sizeof(*p->ring), point_cmp);
	order_ties(p);
	return 0;
}

int policy_set_members(struct policy *p, struct policy_member **m,
		       unsigned n)
{
	int64_t *cur = calloc(n ? n : 1, sizeof(*cur));

	if (!cur)
		return -ENOMEM;
	free(p->current);
	p->current = cur;
	p->m = m;
	p->n = n;
	p->next = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!m[i]->weight)
			m[i]->weight = 1;
		if (m[i]->weight > POLICY_MAX_WEIGHT)
			m[i]->weight = POLICY_MAX_WEIGHT;
	}
	return build_ring(p);
}

void policy_free(struct policy *p)
{
	free(p->ring);
	free(p->current);
	p->ring = NULL;
	p->current = NULL;
	p->n = 0;
	p->n_points = 0;
}

/* Smooth weighted round-robin: each pick adds every usable member's
 * weight to its credit, takes the member with the most credit and charges
 * it the total.  Spreads a heavy member's turns instead of bunching them. */
static int pick_rr(struct policy *p)
{
	int64_t total = 0;
	int best = -1;

	for (unsigned i = 0; i < p->n; i++) {
		if (!p->m[i]->usable)
			continue;
		p->current[i] += p->m[i]->weight;
		total += p->m[i]->weight;
		if (best < 0 || p->current[i] > p->current[best])
			best = (int)i;
	}
	if (best >= 0)
		p->current[best] -= total;
	return best;
}

static int pick_least(struct policy *p)
{
	int best = -1;

	for (unsigned j = 0; j < p->n; j++) {
		unsigned i = (p->next + j) % p->n;
		const struct policy_member *a = p->m[i];

		if (!a->usable)
			continue;
		if (best < 0 ||
		    (uint64_t)a->load * p->m[best]->weight <
			    (uint64_t)p->m[best]->load * a->weight)
			best = (int)i;
	}
	if (best >= 0)
		p->next = ((unsigned)best + 1) % p->n;
	return best;
}

static int pick_hash(const struct policy *p, const char *key, size_t len)
{
	uint64_t h = policy_hash(key, len);
	size_t lo = 0, hi = p->n_points;

	if (!p->n_points)
		return -1;
	while (lo < hi) { /* first point >= h */
		size_t mid = lo + (hi - lo) / 2;

		if (p->ring[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < p->n_points; i++) {
		const struct policy_point *pt =
			&p->ring[(lo + i) % p->n_points];

		if (p->m[pt->member]->usable)
			return (int)pt->member;
	}
	return -1;
}

struct http_str policy_target_path(const char *target, size_t len)
{
	struct http_str s = { target, 0 };

	while (s.len < len && target[s.len] != '?' && target[s.len] != '#')
		s.len++;
	return s;
}

struct http_str policy_request_key(const struct policy *p,
				   const struct http_request *req)
{
	if (p->kind == POLICY_HASH_HEADER) {
		const struct http_str *v = http_header_get(req, p->header);

		if (v)
			return *v;
	}
	return policy_target_path(req->target.p, req->target.len);
}

int policy_pick_key(struct policy *p, const char *key, size_t len)
{
	if (!p->n)
		return -1;
	switch (p->kind) {
	case POLICY_LEAST_CONN:
		return pick_least(p);
	case POLICY_HASH_URI:
	case POLICY_HASH_HEADER:
		return pick_hash(p, key, len);
	case POLICY_RR:
	default:
		return pick_rr(p);
	}
}

int policy_pick(struct policy *p, const struct http_request *req)
{
	struct http_str key = { "", 0 };

	if (p->kind == POLICY_HASH_URI || p->kind == POLICY_HASH_HEADER)
		key = policy_request_key(p, req);
	return policy_pick_key(p, key.p, key.len);
}
