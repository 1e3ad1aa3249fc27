/* HTTP/1.1 request heads and chunked bodies.  See http.h.
 *
 * The head parser rescans from the start on every call (heads are small)
 * and validates every byte it passes, so that garbage is refused as soon as
 * it arrives rather than when the size limit is hit. */
#include "lib/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_DEFAULT_HEAD 8192
#define HTTP_DEFAULT_LINE 8192
#define CHUNK_LINE_MAX 8192
#define CHUNK_TRAILER_MAX 8192
#define CHUNK_SIZE_MAX (1ull << 60)
/* Content-Length values above this are refused (and cannot overflow). */
#define CONTENT_LENGTH_MAX (1ll << 62)

/* ---- character classes (RFC 9110 5.6.2, 5.5) ---- */

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_vchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

/* field-vchar or obs-text */
static bool is_value_char(unsigned char c)
{
	return is_vchar(c) || c >= 0x80;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool str_ieq(const struct http_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && !strncasecmp(s->p, lit, n);
}

/* ---- lines ---- */

/* The end of a line has been reached without its CRLF: need more, unless
 * the complete line could no longer fit in max_line. */
static int partial_line(size_t have, size_t max_line)
{
	return have + 1 > max_line ? HTTP_E_TOO_LARGE : 0;
}

/* Expects CRLF at b[i].  Returns the line length, 0 or an error. */
static int line_end(const char *b, size_t len, size_t i, size_t max_line)
{
	if (i == len)
		return partial_line(len, max_line);
	if (b[i] != '\r')
		return HTTP_E_MALFORMED;
	if (i + 1 == len)
		return partial_line(len, max_line);
	if (b[i + 1] != '\n')
		return HTTP_E_MALFORMED;
	if (i + 2 > max_line)
		return HTTP_E_TOO_LARGE;
	return (int)(i + 2);
}

static const struct {
	const char *name;
	enum http_method m;
} methods[] = {
	{ "GET", HTTP_GET },       { "HEAD", HTTP_HEAD },
	{ "PUT", HTTP_PUT },       { "POST", HTTP_POST },
	{ "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS },
};

/* "HTTP/" DIGIT "." DIGIT, checked as far as the bytes go.  Returns 8 when
 * complete, 0 when cut short, or an error. */
static int scan_version(const char *b, size_t len)
{
	static const char pat[] = "HTTP/1.1";

	for (size_t k = 0; k < 8; k++) {
		if (k == len)
			return 0;
		if (k == 5 || k == 7) {
			if (!is_digit((unsigned char)b[k]))
				return HTTP_E_MALFORMED;
		} else if (b[k] != pat[k]) {
			return HTTP_E_MALFORMED;
		}
	}
	return 8;
}

/* What the complete request line means: method, version, target form. */
static int request_line_meaning(const char *ver, struct http_request *req)
{
	req->method = 0;
	/* Methods are case-sensitive (RFC 9110 9.1). */
	for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
		if (req->method_text.len == strlen(methods[k].name) &&
		    !memcmp(req->method_text.p, methods[k].name,
			    req->method_text.len))
			req->method = methods[k].m;
	if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1'))
		return HTTP_E_VERSION;
	if (!req->method)
		return HTTP_E_METHOD;
	req->minor = ver[7] - '0';
	/* asterisk-form is for OPTIONS only; origin- and absolute-form are
	 * otherwise taken as they are (the controller only routes). */
	if (req->target.len == 1 && req->target.p[0] == '*' &&
	    req->method != HTTP_OPTIONS)
		return HTTP_E_MALFORMED;
	return 0;
}

/* method SP request-target SP HTTP-version CRLF */
static int parse_request_line(const char *b, size_t len, size_t max_line,
			      struct http_request *req)
{
	size_t i = 0, t;
	int r;

	while (i < len && is_tchar((unsigned char)b[i]))
		i++;
	if (i == len)
		return partial_line(len, max_line);
	if (i == 0 || b[i] != ' ')
		return HTTP_E_MALFORMED;
	req->method_text = (struct http_str){ b, i };
	t = ++i;
	while (i < len && is_vchar((unsigned char)b[i]))
		i++;
	if (i == len)
		return partial_line(len, max_line);
	if (i == t || b[i] != ' ')
		return HTTP_E_MALFORMED;
	req->target = (struct http_str){ b + t, i - t };
	i++;
	r = scan_version(b + i, len - i);
	if (r <= 0)
		return r < 0 ? r : partial_line(len, max_line);
	r = line_end(b, len, i + 8, max_line);
	if (r <= 0)
		return r;
	return request_line_meaning(b + i, req) ?: r;
}

/* field-name ":" OWS field-value OWS CRLF; the line does not start with
 * CR (the caller handles the blank line). */
static int parse_header_line(const char *b, size_t len, size_t max_line,
			     struct http_header *h)
{
	size_t i = 0, v, vend;

	while (i < len && is_tchar((unsigned char)b[i]))
		i++;
	if (i == len)
		return partial_line(len, max_line);
	/* Catches obs-fold (leading SP/HT), an empty name and whitespace
	 * between name and colon. */
	if (i == 0 || b[i] != ':')
		return HTTP_E_MALFORMED;
	h->name = (struct http_str){ b, i };
	i++;
	while (i < len && is_ws((unsigned char)b[i]))
		i++;
	v = vend = i;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)b[i];

		if (is_value_char(c))
			vend = i + 1;
		else if (!is_ws(c))
			break;
	}
	h->value = (struct http_str){ b + v, vend - v };
	return line_end(b, len, i, max_line);
}

/* ---- header meaning ---- */

struct framing {
	bool cl_seen, te_seen, te_last_chunked, te_other, te_bad;
	int te_chunked;
	bool close, keep_alive;
};

static int parse_content_length(const struct http_str *v, int64_t *out)
{
	int64_t n = 0;

	if (!v->len)
		return HTTP_E_MALFORMED;
	for (size_t i = 0; i < v->len; i++) {
		int d = v->p[i] - '0';

		if (!is_digit((unsigned char)v->p[i]))
			return HTTP_E_MALFORMED;
		if (n > (CONTENT_LENGTH_MAX - d) / 10)
			return HTTP_E_MALFORMED;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* Calls fn on each element of a comma-separated list, trimmed, skipping
 * empty elements (RFC 9110 5.6.1). */
static void for_each_element(const struct http_str *v,
			     void (*fn)(const struct http_str *e, void *arg),
			     void *arg)
{
	size_t i = 0;

	while (i < v->len) {
		size_t s, e;

		while (i < v->len && (is_ws((unsigned char)v->p[i]) ||
				      v->p[i] == ','))
			i++;
		s = i;
		while (i < v->len && v->p[i] != ',')
			i++;
		e = i;
		while (e > s && is_ws((unsigned char)v->p[e - 1]))
			e--;
		if (e > s)
			fn(&(struct http_str){ v->p + s, e - s }, arg);
	}
}

static void te_element(const struct http_str *e, void *arg)
{
	struct framing *f = arg;

	if (str_ieq(e, "chunked")) {
		f->te_chunked++;
		f->te_last_chunked = true;
		return;
	}
	f->te_last_chunked = false;
	f->te_other = true;
}

static void connection_element(const struct http_str *e, void *arg)
{
	struct framing *f = arg;

	if (str_ieq(e, "close"))
		f->close = true;
	else if (str_ieq(e, "keep-alive"))
		f->keep_alive = true;
}

static bool valid_host(const struct http_str *v)
{
	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      is_digit(c) || strchr("-._~!$&'()*+,;=:[]%", c)))
			return false;
	}
	return true;
}

static int header_meaning(const struct http_header *h, struct framing *f,
			  struct http_request *req)
{
	int64_t cl;
	int err;

	if (str_ieq(&h->name, "content-length")) {
		err = parse_content_length(&h->value, &cl);
		if (err)
			return err;
		if (f->cl_seen && cl != req->content_length)
			return HTTP_E_MALFORMED;
		f->cl_seen = true;
		req->content_length = cl;
	} else if (str_ieq(&h->name, "transfer-encoding")) {
		f->te_seen = true;
		for_each_element(&h->value, te_element, f);
	} else if (str_ieq(&h->name, "host")) {
		if (req->host.p || !valid_host(&h->value))
			return HTTP_E_MALFORMED;
		req->host = h->value;
	} else if (str_ieq(&h->name, "connection")) {
		for_each_element(&h->value, connection_element, f);
	} else if (str_ieq(&h->name, "expect")) {
		if (str_ieq(&h->value, "100-continue"))
			req->expect_continue = true;
	}
	return 0;
}

/* Decides the body framing and connection handling from all headers. */
static int request_meaning(struct http_request *req)
{
	struct framing f = { 0 };
	int err;

	for (unsigned i = 0; i < req->n_headers; i++) {
		err = header_meaning(&req->headers[i], &f, req);
		if (err)
			return err;
	}
	if (f.te_seen) {
		/* RFC 9112 6.1: TE in 1.0 means broken framing; chunked must
		 * be the last coding, once; other codings we cannot undo. */
		if (f.cl_seen || req->minor == 0 || !f.te_last_chunked ||
		    f.te_chunked != 1)
			return HTTP_E_MALFORMED;
		if (f.te_other)
			return HTTP_E_CODING;
		req->chunked = true;
	}
	if (req->minor == 1 && !req->host.p)
		return HTTP_E_MALFORMED;
	req->keep_alive = !f.close && (req->minor == 1 || f.keep_alive);
	return 0;
}

/* ---- the head ---- */

static void resolve_limits(const struct http_limits *lim,
			   struct http_limits *out)
{
	out->max_head = lim && lim->max_head ? lim->max_head : HTTP_DEFAULT_HEAD;
	out->max_line = lim && lim->max_line ? lim->max_line : HTTP_DEFAULT_LINE;
	out->max_headers = lim && lim->max_headers &&
					   lim->max_headers < HTTP_MAX_HEADERS
				   ? lim->max_headers
				   : HTTP_MAX_HEADERS;
}

static void request_reset(struct http_request *req)
{
	req->method = 0;
	req->method_text = req->target = req->host = (struct http_str){ 0 };
	req->minor = 0;
	req->n_headers = 0;
	req->content_length = -1;
	req->chunked = req->keep_alive = req->expect_continue = false;
}

/* The bytes ran out before the blank line. */
static int need_more(size_t len, const struct http_limits *lim)
{
	return len >= lim->max_head ? HTTP_E_TOO_LARGE : 0;
}

int http_parse_request(const char *buf, size_t len,
		       const struct http_limits *limits,
		       struct http_request *req)
{
	struct http_limits lim;
	size_t pos = 0;
	int r;

	resolve_limits(limits, &lim);
	request_reset(req);
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (pos < len && buf[pos] == '\r') {
		if (pos + 1 == len)
			return need_more(len, &lim);
		if (buf[pos + 1] != '\n')
			return HTTP_E_MALFORMED;
		pos += 2;
	}
	r = parse_request_line(buf + pos, len - pos, lim.max_line, req);
	/* A request line that does not fit is a target too long (RFC 9112
	 * 3: 414), not header fields too large. */
	if (r == HTTP_E_TOO_LARGE || (r == 0 && need_more(len, &lim)))
		return HTTP_E_URI_TOO_LONG;
	if (r <= 0)
		return r;
	pos += (size_t)r;
	for (;;) {
		if (pos > lim.max_head)
			return HTTP_E_TOO_LARGE;
		if (pos == len)
			return need_more(len, &lim);
		if (buf[pos] == '\r') {
			if (pos + 1 == len)
				return need_more(len, &lim);
			if (buf[pos + 1] != '\n')
				return HTTP_E_MALFORMED;
			pos += 2;
			break;
		}
		if (req->n_headers == lim.max_headers)
			return HTTP_E_TOO_LARGE;
		r = parse_header_line(buf + pos, len - pos, lim.max_line,
				      &req->headers[req->n_headers]);
		if (r <= 0)
			return r < 0 ? r : need_more(len, &lim);
		req->n_headers++;
		pos += (size_t)r;
	}
	if (pos > lim.max_head)
		return HTTP_E_TOO_LARGE;
	r = request_meaning(req);
	return r ? r : (int)pos;
}

int http_error_status(int err)
{
	switch (err) {
	case HTTP_E_TOO_LARGE:
		return 431;
	case HTTP_E_URI_TOO_LONG:
		return 414;
	case HTTP_E_METHOD:
	case HTTP_E_CODING:
		return 501;
	case HTTP_E_VERSION:
		return 505;
	default:
		return 400;
	}
}

const struct http_str *http_header_get(const struct http_request *req,
				       const char *name)
{
	for (unsigned i = 0; i < req->n_headers; i++)
		if (str_ieq(&req->headers[i].name, name))
			return &req->headers[i].value;
	return NULL;
}

/* ---- chunked bodies (RFC 9112 7.1) ---- */

enum {
	CH_SIZE,          /* hex digits of the chunk size */
	CH_SIZE_WS,       /* BWS after the size: only before ';' */
	CH_EXT,           /* chunk extensions, up to CR */
	CH_SIZE_LF,       /* LF of the size line */
	CH_DATA,
	CH_DATA_CR,       /* CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER_START, /* start of a trailer line or of the final CRLF */
	CH_TRAILER,
	CH_TRAILER_LF,
	CH_END_LF,
	CH_DONE,
	CH_ERROR,
};

void http_chunked_init(struct http_chunked *st)
{
	memset(st, 0, sizeof(*st));
	st->state = CH_SIZE;
}

static int hexval(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One byte of the size line. */
static int chunk_size_byte(struct http_chunked *st, unsigned char c)
{
	int h = hexval(c);

	if (++st->line > CHUNK_LINE_MAX)
		return -EMSGSIZE;
	if (st->state == CH_SIZE && h >= 0) {
		if (st->left >= CHUNK_SIZE_MAX >> 4)
			return -EOVERFLOW;
		st->left = st->left << 4 | (uint64_t)h;
		st->digits++;
		return 0;
	}
	if (st->state == CH_SIZE && !st->digits)
		return -EBADMSG;
	if (c == '\r' && st->state != CH_SIZE_WS)
		st->state = CH_SIZE_LF;
	else if (c == ';')
		st->state = CH_EXT;
	else if (is_ws(c) && st->state != CH_EXT)
		st->state = CH_SIZE_WS;
	else if (st->state != CH_EXT || (is_ctl(c) && c != '\t'))
		return -EBADMSG;
	return 0;
}

/* One byte of the trailer section (after the last chunk). */
static int trailer_byte(struct http_chunked *st, unsigned char c)
{
	if (++st->trailer > CHUNK_TRAILER_MAX)
		return -EMSGSIZE;
	switch (st->state) {
	case CH_TRAILER_START:
		if (c == '\r')
			st->state = CH_END_LF;
		else if (is_ctl(c) || is_ws(c)) /* obs-fold, bare LF */
			return -EBADMSG;
		else
			st->state = CH_TRAILER;
		return 0;
	case CH_TRAILER:
		if (c == '\r')
			st->state = CH_TRAILER_LF;
		else if (is_ctl(c) && c != '\t')
			return -EBADMSG;
		return 0;
	case CH_TRAILER_LF:
		if (c != '\n')
			return -EBADMSG;
		st->state = CH_TRAILER_START;
		return 0;
	default: /* CH_END_LF */
		if (c != '\n')
			return -EBADMSG;
		st->state = CH_DONE;
		return 0;
	}
}

/* One byte outside chunk data.  */
static int chunk_byte(struct http_chunked *st, unsigned char c)
{
	switch (st->state) {
	case CH_SIZE:
	case CH_SIZE_WS:
	case CH_EXT:
		return chunk_size_byte(st, c);
	case CH_SIZE_LF:
		if (c != '\n')
			return -EBADMSG;
		st->state = st->left ? CH_DATA : CH_TRAILER_START;
		st->line = 0;
		st->digits = 0;
		return 0;
	case CH_DATA_CR:
		if (c != '\r')
			return -EBADMSG;
		st->state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (c != '\n')
			return -EBADMSG;
		st->state = CH_SIZE;
		return 0;
	default:
		return trailer_byte(st, c);
	}
}

int http_chunked_feed(struct http_chunked *st, const char *buf, size_t len,
		      size_t *consumed, size_t *data_off, size_t *data_len)
{
	size_t i = 0;
	int err;

	*data_off = *data_len = 0;
	while (i < len && st->state != CH_DONE && st->state != CH_ERROR) {
		if (st->state == CH_DATA) {
			size_t n = len - i < st->left ? len - i : st->left;

			*data_off = i;
			*data_len = n;
			st->left -= n;
			st->payload += n;
			i += n;
			if (!st->left)
				st->state = CH_DATA_CR;
			break;
		}
		err = chunk_byte(st, (unsigned char)buf[i]);
		if (err) {
			st->state = CH_ERROR;
			*consumed = i;
			return err;
		}
		i++;
	}
	*consumed = i;
	if (st->state == CH_ERROR)
		return -EBADMSG;
	return st->state == CH_DONE;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

size_t http_format_error(int status, char *buf, size_t size)
{
	const char *text = http_reason(status);
	int n = snprintf(buf, size,
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\nContent-Type: text/plain\r\n"
			 "\r\n%s\n",
			 status, text, strlen(text) + 1, text);

	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}
