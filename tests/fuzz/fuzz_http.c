/* libFuzzer target for src/lib/http.c.  Besides "no crash, no sanitizer
 * report" it checks the parser's contract on every input:
 *   - a result > 0 lies within the input, every string points inside the
 *     head, and re-parsing exactly the head gives the same answer, while
 *     the head minus its last byte needs more;
 *   - 0 (need more) only below the head limit;
 *   - errors map to 400/431/501/505;
 *   - the chunked decoder gives the same verdict, end and payload whether
 *     fed whole or byte by byte.
 * Build: make fuzz; run: build/fuzz/fuzz_http tests/fuzz/corpus/http */
#include "lib/http.h"

#include <stdlib.h>
#include <string.h>

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_str(const struct http_str *s, const char *buf, int r)
{
	if (!s->p)
		return;
	check(s->p >= buf && s->p + s->len <= buf + r);
}

static void check_head(const char *buf, size_t len,
		       const struct http_limits *lim)
{
	struct http_request req, again;
	int r = http_parse_request(buf, len, lim, &req), st;

	if (r < 0) {
		st = http_error_status(r);
		check(st == 400 || st == 414 || st == 431 || st == 501 ||
		      st == 505);
		return;
	}
	if (r == 0) {
		check(len < (lim && lim->max_head ? lim->max_head : 8192));
		return;
	}
	check((size_t)r <= len);
	check(req.method >= HTTP_GET && req.method <= HTTP_OPTIONS);
	check(req.minor == 0 || req.minor == 1);
	check(req.n_headers <= HTTP_MAX_HEADERS);
	check(req.content_length >= -1);
	check(!(req.chunked && req.content_length >= 0));
	check(req.minor == 0 || req.host.p);
	check_str(&req.method_text, buf, r);
	check_str(&req.target, buf, r);
	check_str(&req.host, buf, r);
	for (unsigned i = 0; i < req.n_headers; i++) {
		check_str(&req.headers[i].name, buf, r);
		check_str(&req.headers[i].value, buf, r);
	}
	check(http_parse_request(buf, (size_t)r, lim, &again) == r);
	check(again.content_length == req.content_length &&
	      again.chunked == req.chunked &&
	      again.keep_alive == req.keep_alive);
	check(http_parse_request(buf, (size_t)r - 1, lim, &again) == 0);
}

/* Decodes in pieces of `step`; returns the verdict, *end and the payload
 * checksum. */
static int chunked(const char *buf, size_t len, size_t step, size_t *end,
		   uint64_t *sum, uint64_t *payload)
{
	struct http_chunked st;
	size_t off = 0;
	int r = 0;

	http_chunked_init(&st);
	*sum = 0;
	while (off < len) {
		size_t n = len - off < step ? len - off : step, c, doff, dlen;

		r = http_chunked_feed(&st, buf + off, n, &c, &doff, &dlen);
		check(c <= n);
		check(doff + dlen <= c);
		for (size_t i = 0; i < dlen; i++)
			*sum = *sum * 31 + (unsigned char)buf[off + doff + i];
		off += c;
		if (r != 0)
			break;
		if (c == 0)
			abort(); /* 0 = need more must consume everything */
	}
	*end = off;
	*payload = st.payload;
	return r;
}

static void check_chunked(const char *buf, size_t len)
{
	size_t e1, e2;
	uint64_t s1, s2, p1, p2;
	int r1 = chunked(buf, len, len ? len : 1, &e1, &s1, &p1);
	int r2 = chunked(buf, len, 1, &e2, &s2, &p2);

	check(r1 == r2);
	if (r1 >= 0)
		check(e1 == e2 && s1 == s2 && p1 == p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The input is copied so that ASan catches reads past its end. */
	char *buf = malloc(size ? size : 1);
	struct http_limits small = { .max_head = 256, .max_line = 64,
				     .max_headers = 4 };

	memcpy(buf, data, size);
	check_head(buf, size, NULL);
	check_head(buf, size, &small);
	check_chunked(buf, size);
	free(buf);
	return 0;
}
