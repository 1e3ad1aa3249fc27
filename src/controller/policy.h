/* Backend choice.  A policy picks one member of a pool for a request; it
 * knows members only through struct policy_member (name, weight, load,
 * usable), so tests and `prism controller --which-backend` can run it
 * without any backend process.
 *
 * Policies:
 *   rr           smooth weighted round-robin: over any window of W requests
 *                (W = sum of weights) member i gets exactly weight_i.
 *   least-conn   fewest in-flight hand-offs relative to weight
 *                (load_i / weight_i, compared as load_i * weight_j);
 *                ties go round-robin.
 *   hash-uri     consistent hashing on the request target's path (the
 *                target up to the first '?' or '#').
 *   hash-header:NAME   consistent hashing on header NAME's value; a request
 *                without that header is hashed on its path as for hash-uri.
 *
 * The hash ring (documented so that a test can compute where a key lands):
 *   h(s)   = policy_hash(s) = fmix64(FNV-1a-64(s)), where fmix64 is
 *            x ^= x >> 33; x *= 0xff51afd7ed558ccd; x ^= x >> 33;
 *            x *= 0xc4ceb9fe1a85ec53; x ^= x >> 33
 *   points: member m with weight w owns POLICY_VNODES * w points, point j
 *            (j = 0, 1, ...) at h("<name>#<j>") (j in decimal).
 *   lookup: a key k goes to the first point p with p >= h(k) (wrapping to
 *            the smallest point), ties between equal points broken by
 *            member name; if that member is not usable, the next points
 *            are tried in ring order until a usable member is found.
 * Points depend only on member names and weights, so adding or removing a
 * member moves only the keys of that member's arcs: about 1/N of them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/http.h"

#define POLICY_VNODES 100
#define POLICY_MAX_WEIGHT 100
#define POLICY_HEADER_MAX 64

enum policy_kind {
	POLICY_RR,
	POLICY_LEAST_CONN,
	POLICY_HASH_URI,
	POLICY_HASH_HEADER,
};

struct policy_member {
	const char *name;
	uint32_t weight; /* 1..POLICY_MAX_WEIGHT */
	uint32_t load;   /* in-flight hand-offs, kept by the controller */
	bool usable;     /* up, healthy and not draining */
};

struct policy_point {
	uint64_t hash;
	uint32_t member;
};

struct policy {
	enum policy_kind kind;
	char header[POLICY_HEADER_MAX]; /* for POLICY_HASH_HEADER */
	struct policy_member **m;
	unsigned n;
	unsigned next;       /* tie-break cursor */
	int64_t *current;    /* smooth weighted rr state, one per member */
	struct policy_point *ring;
	size_t n_points;
};

/* Parses "rr", "least-conn", "hash-uri" or "hash-header:NAME" into p's kind
 * (and header).  -EINVAL on anything else. */
int policy_parse(struct policy *p, const char *spec);
/* Writes the spec back ("hash-header:X-Key"). */
const char *policy_name(const struct policy *p, char *buf, size_t len);

/* (Re)sets the members (pointers kept, not copied) and rebuilds the ring
 * and rr state.  Call again whenever a name, weight or the set changes;
 * load and usable may change freely between calls.  0 or -ENOMEM. */
int policy_set_members(struct policy *p, struct policy_member **m,
		       unsigned n);
void policy_free(struct policy *p);

/* The member index for a request, or -1 when no member is usable. */
int policy_pick(struct policy *p, const struct http_request *req);
/* The same for a bare key (hash policies: the string hashed; others ignore
 * it and behave as for any request). */
int policy_pick_key(struct policy *p, const char *key, size_t len);

/* The key a hash policy would hash for req (path of the target, or the
 * header's value). */
struct http_str policy_request_key(const struct policy *p,
				   const struct http_request *req);
/* Path of a target: up to the first '?' or '#'. */
struct http_str policy_target_path(const char *target, size_t len);

uint64_t policy_hash(const void *data, size_t len);
