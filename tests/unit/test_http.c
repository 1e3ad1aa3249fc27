/* The HTTP/1.1 request head parser and the chunked body decoder: tables of
 * valid and invalid inputs, every prefix of a valid head, the limits. */
#include "t.h"
#include "lib/http.h"

#include <stdlib.h>
#include <string.h>

#define H11 " / HTTP/1.1\r\nHost: a\r\n"

struct valid_case {
	const char *in;
	size_t head_len; /* 0: strlen(in) */
	enum http_method method;
	const char *target;
	int minor;
	unsigned n_headers;
	const char *host; /* NULL: absent */
	int64_t content_length;
	bool chunked, keep_alive, expect;
};

static const struct valid_case valid[] = {
	{ "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, HTTP_GET, "/", 1,
	  1, "example.com", -1, false, true, false },
	{ "GET /a?b=c HTTP/1.0\r\n\r\n", 0, HTTP_GET, "/a?b=c", 0, 0, NULL, -1,
	  false, false, false },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, HTTP_GET, "/",
	  0, 1, NULL, -1, false, true, false },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0,
	  HTTP_GET, "/", 1, 2, "a", -1, false, false, false },
	{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n",
	  0, HTTP_GET, "/", 1, 2, "a", -1, false, false, false },
	{ "HEAD /x HTTP/1.1\r\nhost:a:80\r\n\r\n", 0, HTTP_HEAD, "/x", 1, 1,
	  "a:80", -1, false, true, false },
	{ "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nbody follows",
	  48, HTTP_PUT, "/f", 1, 2, "a", 12, false, true, false },
	{ "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
	  "content-length: 000\r\n\r\n", 0, HTTP_POST, "/f", 1, 3, "a", 0,
	  false, true, false },
	{ "POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  HTTP_POST, "/f", 1, 2, "a", -1, true, true, false },
	{ "POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,CHUNKED ,\r\n\r\n",
	  0, HTTP_POST, "/f", 1, 2, "a", -1, true, true, false },
	{ "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
	  "Content-Length: 9223372036854775\r\n\r\n", 0, HTTP_PUT, "/f", 1, 3,
	  "a", 9223372036854775ll, false, true, true },
	/* The largest Content-Length taken: 2^62. */
	{ "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904"
	  "\r\n\r\n", 0, HTTP_PUT, "/f", 1, 2, "a", 4611686018427387904ll,
	  false, true, false },
	{ "DELETE /f HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0, HTTP_DELETE,
	  "/f", 1, 1, "[::1]:8080", -1, false, true, false },
	{ "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_OPTIONS, "*", 1, 1,
	  "a", -1, false, true, false },
	{ "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_GET,
	  "http://a/b", 1, 1, "a", -1, false, true, false },
	/* Empty Host is allowed (RFC 9110 7.2). */
	{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, HTTP_GET, "/", 1, 1, "", -1,
	  false, true, false },
	/* Stray CRLFs before the request line are skipped and counted. */
	{ "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_GET, "/", 1, 1,
	  "a", -1, false, true, false },
	/* OWS around values, obs-text and inner spaces in a value. */
	{ "GET / HTTP/1.1\r\nHost: \t a \t\r\nX-Y: p q\xe9\r\n\r\n", 0,
	  HTTP_GET, "/", 1, 2, "a", -1, false, true, false },
	/* Pipelined: only the first head is consumed. */
	{ "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n", 28,
	  HTTP_GET, "/1", 1, 1, "a", -1, false, true, false },
};

struct invalid_case {
	const char *in;
	int status;
};

static const struct invalid_case invalid[] = {
	/* request line */
	{ "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501 },
	{ "PATCH / HTTP/1.1\r\nHost: a\r\n\r\n", 501 },
	{ "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 501 },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505 },
	{ "GET / HTTP/0.9\r\n\r\n", 505 },
	{ "GET / HTTP/1.10\r\n\r\n", 400 },
	{ "GET / http/1.1\r\n\r\n", 400 },
	{ "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
	{ "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\rHost: a\r\n\r\n", 400 },
	{ "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400 }, /* TLS */
	{ "GET / HTTP/1.1", 0 }, /* need more, not an error */
	/* header syntax */
	{ "GET" H11 "X : y\r\n\r\n", 400 },
	{ "GET" H11 "X\t: y\r\n\r\n", 400 },
	{ "GET" H11 ": y\r\n\r\n", 400 },
	{ "GET" H11 "X y\r\n\r\n", 400 },
	{ "GET" H11 "X: y\r\n z\r\n\r\n", 400 },  /* obs-fold */
	{ "GET" H11 "X: y\r\n\tz\r\n\r\n", 400 }, /* obs-fold */
	{ "GET" H11 "X: a\x01b\r\n\r\n", 400 },
	{ "GET" H11 "X: a\rb\r\n\r\n", 400 },
	{ "GET" H11 "X: a\nb\r\n\r\n", 400 },
	{ "GET" H11 "X: a\r\n\n", 400 },
	{ "GET" H11 "X: a\r\n\r\r", 400 },
	{ "GET" H11 "X\x7f: a\r\n\r\n", 400 },
	/* Host */
	{ "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },
	/* framing: Content-Length */
	{ "POST" H11 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: 1, 1\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: -1\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: +1\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: 0x10\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: 1 2\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length:\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: 99999999999999999999\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: 4611686018427387905\r\n\r\n", 400 },
	{ "POST" H11 "Content-Length: 18446744073709551617\r\n\r\n", 400 },
	/* framing: Transfer-Encoding */
	{ "POST" H11 "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 },
	{ "POST" H11 "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  400 },
	{ "POST" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding: gzip\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: gzip\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding: xchunked\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding:\r\n\r\n", 400 },
	{ "POST" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
};

static void check_valid(const struct valid_case *c)
{
	struct http_request req;
	size_t len = strlen(c->in), want = c->head_len ? c->head_len : len;
	int r = http_parse_request(c->in, len, NULL, &req);

	if (r != (int)want) {
		printf("#   input: %s\n", c->in);
		CHECK_EQ(r, want);
		return;
	}
	CHECK_EQ(req.method, c->method);
	CHECK(req.target.len == strlen(c->target) &&
	      !memcmp(req.target.p, c->target, req.target.len));
	CHECK(req.target.p >= c->in && req.target.p < c->in + len);
	CHECK_EQ(req.minor, c->minor);
	CHECK_EQ(req.n_headers, c->n_headers);
	if (c->host)
		CHECK(req.host.p && req.host.len == strlen(c->host) &&
		      !memcmp(req.host.p, c->host, req.host.len));
	else
		CHECK(req.host.p == NULL);
	CHECK_EQ(req.content_length, c->content_length);
	CHECK_EQ(req.chunked, c->chunked);
	CHECK_EQ(req.keep_alive, c->keep_alive);
	CHECK_EQ(req.expect_continue, c->expect);
}

static void test_valid_table(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		check_valid(&valid[i]);
}

static void test_invalid_table(void)
{
	struct http_request req;

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const char *in = invalid[i].in;
		int r, status;

		r = http_parse_request(in, strlen(in), NULL, &req);
		status = r < 0 ? http_error_status(r) : r;
		if (status != invalid[i].status) {
			printf("#   case %zu: \"%s\"\n", i, in);
			CHECK_EQ(status, invalid[i].status);
		}
	}
}

static void test_nul_in_value(void)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	struct http_request req;
	int r = http_parse_request(in, sizeof(in) - 1, NULL, &req);

	CHECK_EQ(http_error_status(r), 400);
}

/* Every proper prefix of a valid head must ask for more, not fail and not
 * succeed early. */
static void test_prefixes_need_more(void)
{
	struct http_request req;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const char *in = valid[i].in;
		size_t head = valid[i].head_len ? valid[i].head_len : strlen(in);

		for (size_t n = 0; n < head; n++) {
			int r = http_parse_request(in, n, NULL, &req);

			if (r != 0) {
				printf("#   case %zu prefix %zu: %d\n", i, n, r);
				CHECK_EQ(r, 0);
				break;
			}
		}
	}
}

static void test_headers_found(void)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Req: 7 \r\n"
				 "Accept:*/*\r\n\r\n";
	struct http_request req;
	const struct http_str *v;

	CHECK_EQ(http_parse_request(in, sizeof(in) - 1, NULL, &req),
		 sizeof(in) - 1);
	v = http_header_get(&req, "x-req");
	CHECK(v && v->len == 1 && v->p[0] == '7');
	v = http_header_get(&req, "ACCEPT");
	CHECK(v && v->len == 3 && !memcmp(v->p, "*/*", 3));
	CHECK(http_header_get(&req, "cookie") == NULL);
	CHECK(req.method_text.len == 3 && !memcmp(req.method_text.p, "GET", 3));
}

/* A head of n headers "Xi: v" in buf; returns its length. */
static size_t make_head(char *buf, size_t cap, unsigned n, size_t value_len)
{
	size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: a\r\n");

	for (unsigned i = 0; i < n; i++) {
		len += (size_t)snprintf(buf + len, cap - len, "X%u: ", i);
		memset(buf + len, 'v', value_len);
		len += value_len;
		len += (size_t)snprintf(buf + len, cap - len, "\r\n");
	}
	len += (size_t)snprintf(buf + len, cap - len, "\r\n");
	return len;
}

static void test_limits(void)
{
	static char buf[65536];
	struct http_request req;
	struct http_limits lim = { .max_head = 1000, .max_line = 200,
				   .max_headers = 10 };
	size_t len;

	/* 9 headers + Host = 10: at the limit, fine; 11: too many. */
	len = make_head(buf, sizeof(buf), 9, 10);
	CHECK_EQ(http_parse_request(buf, len, &lim, &req), len);
	len = make_head(buf, sizeof(buf), 10, 10);
	CHECK_EQ(http_error_status(http_parse_request(buf, len, &lim, &req)),
		 431);
	/* The default cap is HTTP_MAX_HEADERS. */
	len = make_head(buf, sizeof(buf), HTTP_MAX_HEADERS - 1, 1);
	CHECK_EQ(http_parse_request(buf, len, NULL, &req), len);
	len = make_head(buf, sizeof(buf), HTTP_MAX_HEADERS, 1);
	CHECK_EQ(http_parse_request(buf, len, NULL, &req), HTTP_E_TOO_LARGE);
	/* A line of exactly max_line bytes (incl. CRLF) passes, one more
	 * fails, also before its end arrives. */
	len = make_head(buf, sizeof(buf), 1, 200 - 6);
	CHECK_EQ(http_parse_request(buf, len, &lim, &req), len);
	len = make_head(buf, sizeof(buf), 1, 200 - 5);
	CHECK_EQ(http_parse_request(buf, len, &lim, &req), HTTP_E_TOO_LARGE);
	CHECK_EQ(http_parse_request(buf, 25 + 200, &lim, &req),
		 HTTP_E_TOO_LARGE);
	/* The whole head: exactly max_head passes, one more fails. */
	lim.max_line = 1000;
	len = make_head(buf, sizeof(buf), 1, 1000 - 25 - 4 - 2 - 2);
	CHECK_EQ(len, 1000);
	CHECK_EQ(http_parse_request(buf, len, &lim, &req), len);
	len = make_head(buf, sizeof(buf), 1, 1000 - 25 - 4 - 2 - 2 + 1);
	CHECK_EQ(http_parse_request(buf, len, &lim, &req), HTTP_E_TOO_LARGE);
	/* An incomplete head that already fills max_head. */
	CHECK_EQ(http_parse_request(buf, 1000, &lim, &req), HTTP_E_TOO_LARGE);
	CHECK_EQ(http_parse_request(buf, 999, &lim, &req), 0);
	/* Defaults: 8 KiB head. */
	len = make_head(buf, sizeof(buf), 2, 5000);
	CHECK_EQ(http_error_status(http_parse_request(buf, len, NULL, &req)),
		 431);
}

/* A request line that does not fit is 414 (its target is too long), with
 * or without its end; header fields too large stay 431. */
static void test_uri_too_long(void)
{
	static char buf[32768];
	struct http_request req;
	struct http_limits lim = { .max_head = 1000, .max_line = 200 };
	int n;

	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n",
		     300, 0);
	CHECK_EQ(http_parse_request(buf, (size_t)n, &lim, &req),
		 HTTP_E_URI_TOO_LONG);
	CHECK_EQ(http_error_status(HTTP_E_URI_TOO_LONG), 414);
	/* Cut before its CRLF, already over the limit. */
	CHECK_EQ(http_parse_request(buf, 250, &lim, &req), HTTP_E_URI_TOO_LONG);
	CHECK_EQ(http_parse_request(buf, 150, &lim, &req), 0);
	/* Defaults: a 20 KB request line. */
	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\n\r\n", 20000, 0);
	CHECK_EQ(http_error_status(http_parse_request(buf, (size_t)n, NULL,
						      &req)),
		 414);
	CHECK(!strcmp(http_reason(414), "URI Too Long"));
}

static void test_error_status(void)
{
	CHECK_EQ(http_error_status(HTTP_E_MALFORMED), 400);
	CHECK_EQ(http_error_status(HTTP_E_TOO_LARGE), 431);
	CHECK_EQ(http_error_status(HTTP_E_METHOD), 501);
	CHECK_EQ(http_error_status(HTTP_E_CODING), 501);
	CHECK_EQ(http_error_status(HTTP_E_VERSION), 505);
	CHECK_EQ(http_error_status(-EIO), 400);
}

/* ---- chunked ---- */

/* Decodes body fed in pieces of `step` bytes.  Returns the decoder's last
 * result; *end is where the body ended, out gets the payload. */
static int decode(const char *body, size_t len, size_t step, char *out,
		  size_t *out_len, size_t *end)
{
	struct http_chunked st;
	size_t off = 0;
	int r = 0;

	http_chunked_init(&st);
	*out_len = 0;
	*end = 0;
	while (off < len) {
		size_t n = len - off < step ? len - off : step, c, doff, dlen;

		r = http_chunked_feed(&st, body + off, n, &c, &doff, &dlen);
		if (r < 0)
			return r;
		memcpy(out + *out_len, body + off + doff, dlen);
		*out_len += dlen;
		off += c;
		if (r == 1) {
			*end = off;
			if (st.payload != *out_len)
				return -EPROTO;
			return 1;
		}
	}
	return r;
}

struct chunk_case {
	const char *in;
	int result;          /* 1 done, 0 need more, <0 error */
	const char *payload; /* when done */
	size_t end;          /* when done: 0 means strlen(in) */
};

static const struct chunk_case chunk_cases[] = {
	{ "5\r\nhello\r\n0\r\n\r\n", 1, "hello", 0 },
	{ "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 1, "hello world", 0 },
	{ "0\r\n\r\n", 1, "", 0 },
	{ "000\r\n\r\n", 1, "", 0 },
	{ "A\r\n0123456789\r\n0\r\n\r\n", 1, "0123456789", 0 },
	{ "a;ext=1;y=\"q\"\r\n0123456789\r\n0 ;x\r\n\r\n", 1, "0123456789", 0 },
	{ "3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n", 1, "abc", 0 },
	{ "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 1, "abc", 13 },
	{ "5\r\nhel", 0, NULL, 0 },
	{ "5\r\nhello\r\n0\r\n", 0, NULL, 0 },
	{ "\r\n", -EBADMSG, NULL, 0 },
	{ "x\r\n", -EBADMSG, NULL, 0 },
	{ "-1\r\n", -EBADMSG, NULL, 0 },
	{ "5 \r\nhello\r\n0\r\n\r\n", -EBADMSG, NULL, 0 },
	{ "5\nhello\r\n0\r\n\r\n", -EBADMSG, NULL, 0 },
	{ "5\r\nhelloX\r\n0\r\n\r\n", -EBADMSG, NULL, 0 },
	{ "5\r\nhello\n0\r\n\r\n", -EBADMSG, NULL, 0 },
	{ "5;a\x01\r\nhello\r\n0\r\n\r\n", -EBADMSG, NULL, 0 },
	{ "0\r\nX: 1\r\n folded\r\n\r\n", -EBADMSG, NULL, 0 },
	{ "0\r\nX: 1\n\r\n", -EBADMSG, NULL, 0 },
	{ "0\r\n\r\r", -EBADMSG, NULL, 0 },
	{ "1000000000000000\r\n", -EOVERFLOW, NULL, 0 },
	{ "00000000000000000000001\r\nx\r\n0\r\n\r\n", 1, "x", 0 },
};

static void test_chunked_table(void)
{
	static char out[256];

	for (size_t i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
		const struct chunk_case *c = &chunk_cases[i];
		size_t len = strlen(c->in);

		size_t steps[] = { 1, 3, len };

		/* Byte by byte, in threes and whole: same answer. */
		for (size_t k = 0; k < 3; k++) {
			size_t step = steps[k], out_len, end;
			int r = decode(c->in, len, step, out, &out_len, &end);

			if (r != c->result) {
				printf("#   case %zu step %zu: %d\n", i, step, r);
				CHECK_EQ(r, c->result);
				continue;
			}
			if (r != 1)
				continue;
			CHECK_EQ(end, (c->end ? c->end : len));
			CHECK(out_len == strlen(c->payload) &&
			      !memcmp(out, c->payload, out_len));
		}
	}
}

static void test_chunked_limits(void)
{
	static char buf[20000];
	struct http_chunked st;
	size_t c, doff, dlen;

	/* A size line of 9000 bytes (long extension). */
	memset(buf, 'e', sizeof(buf));
	memcpy(buf, "1;", 2);
	http_chunked_init(&st);
	CHECK_EQ(http_chunked_feed(&st, buf, 9000, &c, &doff, &dlen), -EMSGSIZE);
	/* Errors stick. */
	CHECK_EQ(http_chunked_feed(&st, "0\r\n\r\n", 5, &c, &doff, &dlen),
		 -EBADMSG);
	/* A trailer section over 8 KiB. */
	http_chunked_init(&st);
	memcpy(buf, "0\r\nX: ", 6);
	CHECK_EQ(http_chunked_feed(&st, buf, 9000, &c, &doff, &dlen), -EMSGSIZE);
	/* Done stays done and consumes nothing more. */
	http_chunked_init(&st);
	CHECK_EQ(http_chunked_feed(&st, "0\r\n\r\nxx", 7, &c, &doff, &dlen), 1);
	CHECK_EQ(c, 5);
	CHECK_EQ(http_chunked_feed(&st, "xx", 2, &c, &doff, &dlen), 1);
	CHECK_EQ(c, 0);
	/* A large chunk is reported as spans across calls. */
	http_chunked_init(&st);
	CHECK_EQ(http_chunked_feed(&st, "fffffffff\r\n", 11, &c, &doff, &dlen), 0);
	CHECK_EQ(c, 11);
	CHECK_EQ(http_chunked_feed(&st, buf, 20000, &c, &doff, &dlen), 0);
	CHECK(c == 20000 && doff == 0 && dlen == 20000);
	CHECK_EQ(st.left, 0xfffffffffull - 20000);
}

int main(void)
{
	t_run("valid heads: table", test_valid_table);
	t_run("invalid heads: table of statuses", test_invalid_table);
	t_run("NUL in a header value", test_nul_in_value);
	t_run("every prefix of a valid head needs more", test_prefixes_need_more);
	t_run("header lookup", test_headers_found);
	t_run("limits give 431", test_limits);
	t_run("a request line over the limit gives 414", test_uri_too_long);
	t_run("error statuses", test_error_status);
	t_run("chunked: table, whole and in pieces", test_chunked_table);
	t_run("chunked: limits, sticky error, done, big chunk",
	      test_chunked_limits);
	return t_done();
}
