#include "lib/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_init(struct metrics_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void metrics_free(struct metrics_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int reserve(struct metrics_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->err)
		return b->err;
	if (b->len + more + 1 <= b->cap)
		return 0;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void vappend(struct metrics_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || reserve(b, (size_t)n))
		return;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(b, fmt, ap);
	va_end(ap);
}

static void putc_buf(struct metrics_buf *b, char c)
{
	if (reserve(b, 1))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = 0;
}

void metrics_family(struct metrics_buf *b, const char *name,
		    const char *type, const char *help)
{
	metrics_printf(b, "# HELP %s ", name);
	/* help text escapes backslash and newline */
	for (const char *s = help; *s; s++) {
		if (*s == '\\' || *s == '\n')
			metrics_printf(b, "\\%c", *s == '\n' ? 'n' : '\\');
		else
			putc_buf(b, *s);
	}
	metrics_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void write_labels(struct metrics_buf *b, const char *const *labels,
			 const char *le)
{
	bool any = false;

	if ((!labels || !labels[0]) && !le)
		return;
	putc_buf(b, '{');
	for (unsigned i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		metrics_printf(b, "%s%s=\"", any ? "," : "", labels[i]);
		for (const char *s = labels[i + 1]; *s; s++) {
			if (*s == '\\' || *s == '"')
				putc_buf(b, '\\');
			if (*s == '\n')
				metrics_printf(b, "\\n");
			else
				putc_buf(b, *s);
		}
		putc_buf(b, '"');
		any = true;
	}
	if (le)
		metrics_printf(b, "%sle=\"%s\"", any ? "," : "", le);
	putc_buf(b, '}');
}

void metrics_sample(struct metrics_buf *b, const char *name,
		    const char *const *labels, uint64_t value)
{
	metrics_printf(b, "%s", name);
	write_labels(b, labels, NULL);
	metrics_printf(b, " %llu\n", (unsigned long long)value);
}

void metrics_sample_f(struct metrics_buf *b, const char *name,
		      const char *const *labels, double value)
{
	metrics_printf(b, "%s", name);
	write_labels(b, labels, NULL);
	metrics_printf(b, " %.9g\n", value);
}

void metrics_hist_init(struct metrics_hist *h, const double *bounds,
		       unsigned n)
{
	memset(h, 0, sizeof(*h));
	if (n > METRICS_HIST_MAX)
		n = METRICS_HIST_MAX;
	memcpy(h->bounds, bounds, n * sizeof(*bounds));
	h->n = n;
}

void metrics_hist_observe(struct metrics_hist *h, double v)
{
	unsigned i = 0;

	while (i < h->n && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

void metrics_hist_write(struct metrics_buf *b, const char *name,
			const char *const *labels,
			const struct metrics_hist *h)
{
	uint64_t cum = 0;
	char le[32];

	for (unsigned i = 0; i <= h->n; i++) {
		cum += h->counts[i];
		if (i < h->n)
			snprintf(le, sizeof(le), "%.9g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		metrics_printf(b, "%s_bucket", name);
		write_labels(b, labels, le);
		metrics_printf(b, " %llu\n", (unsigned long long)cum);
	}
	metrics_printf(b, "%s_sum", name);
	write_labels(b, labels, NULL);
	metrics_printf(b, " %.9g\n", h->sum);
	metrics_printf(b, "%s_count", name);
	write_labels(b, labels, NULL);
	metrics_printf(b, " %llu\n", (unsigned long long)h->count);
}

/* Does the label set {...} (without braces, len bytes) hold k="v"? */
static bool has_label(const char *set, size_t len, const char *k,
		      const char *v)
{
	char want[256];
	int n = snprintf(want, sizeof(want), "%s=\"%s\"", k, v);

	if (n < 0 || (size_t)n >= sizeof(want))
		return false;
	for (size_t i = 0; i + (size_t)n <= len; i++)
		if ((i == 0 || set[i - 1] == ',') &&
		    !memcmp(set + i, want, (size_t)n))
			return true;
	return false;
}

static bool line_matches(const char *line, size_t nlen, const char *name,
			 const char *const *labels, const char **value)
{
	const char *p = line + nlen, *end;

	if (strncmp(line, name, nlen) || (*p != '{' && *p != ' '))
		return false;
	if (*p == '{') {
		end = strchr(p, '}');
		if (!end)
			return false;
		for (unsigned i = 0; labels && labels[i] && labels[i + 1];
		     i += 2)
			if (!has_label(p + 1, (size_t)(end - p - 1), labels[i],
				       labels[i + 1]))
				return false;
		p = end + 1;
	} else if (labels && labels[0]) {
		return false;
	}
	*value = p;
	return true;
}

int metrics_find(const char *text, const char *name,
		 const char *const *labels, double *value)
{
	size_t nlen = strlen(name);

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *v;

		if (*line != '#' && line_matches(line, nlen, name, labels, &v)) {
			*value = strtod(v, NULL);
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}
