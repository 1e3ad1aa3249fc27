/* Prometheus text exposition (format 0.0.4): a growable text buffer with
 * writers for families, samples and histograms.  No global registry: the
 * owner of the counters writes them out when /metrics is asked for.
 *
 *   struct metrics_buf b;
 *   metrics_init(&b);
 *   metrics_family(&b, "prism_requests_total", "counter", "Requests.");
 *   metrics_sample(&b, "prism_requests_total",
 *                  (const char *[]){ "backend", "b1", NULL }, 42);
 *   ... send b.p, b.len ...; metrics_free(&b);
 *
 * Label values are escaped (backslash, double quote, newline).  Allocation
 * failures are sticky: b.err becomes -ENOMEM and later writes do nothing. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct metrics_buf {
	char *p;
	size_t len, cap;
	int err;
};

void metrics_init(struct metrics_buf *b);
void metrics_free(struct metrics_buf *b);
/* printf into the buffer (no escaping). */
void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge,
 * histogram). */
void metrics_family(struct metrics_buf *b, const char *name,
		    const char *type, const char *help);
/* name{k1="v1",...} value.  labels: NULL, or pairs ending with NULL. */
void metrics_sample(struct metrics_buf *b, const char *name,
		    const char *const *labels, uint64_t value);
void metrics_sample_f(struct metrics_buf *b, const char *name,
		      const char *const *labels, double value);

/* A histogram with fixed upper bounds (ascending, +Inf implied). */
#define METRICS_HIST_MAX 24
struct metrics_hist {
	unsigned n;                            /* bounds used */
	double bounds[METRICS_HIST_MAX];
	uint64_t counts[METRICS_HIST_MAX + 1]; /* per bucket, not cumulative */
	double sum;
	uint64_t count;
};

/* Bounds are copied; more than METRICS_HIST_MAX are cut. */
void metrics_hist_init(struct metrics_hist *h, const double *bounds,
		       unsigned n);
void metrics_hist_observe(struct metrics_hist *h, double v);
/* name_bucket{...,le="x"} (cumulative), name_sum, name_count. */
void metrics_hist_write(struct metrics_buf *b, const char *name,
			const char *const *labels,
			const struct metrics_hist *h);

/* ---- reading (tests, `prism status`) ---- */

/* Finds the sample `name` whose labels include every pair of `labels`
 * (NULL: the first sample of that name) in exposition text; stores its
 * value.  0, or -ENOENT. */
int metrics_find(const char *text, const char *name,
		 const char *const *labels, double *value);
