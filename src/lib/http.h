/* HTTP/1.1 request heads (RFC 9112) and chunked bodies: pure functions of
 * the bytes, no allocation, no state between calls except the chunked
 * decoder's small struct.  Strict about message framing, because the
 * controller and the backend must agree byte for byte on where a request
 * ends (request smuggling): anything ambiguous is an error, not a guess.
 *
 *   r = http_parse_request(buf, len, NULL, &req);
 *   r > 0   the head is buf[0..r) (request line, headers, blank line)
 *   r == 0  need more bytes (every proper prefix of a valid head gives 0)
 *   r < 0   -errno; reply with http_error_status(r) and close
 *
 * The request's strings point into buf: keep buf alive and unchanged. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64

/* Errors, mapped to statuses by http_error_status(). */
#define HTTP_E_MALFORMED   (-EBADMSG)         /* 400 */
#define HTTP_E_TOO_LARGE   (-EMSGSIZE)        /* 431: header fields */
#define HTTP_E_URI_TOO_LONG (-ENAMETOOLONG)   /* 414: the request line */
#define HTTP_E_METHOD      (-EOPNOTSUPP)      /* 501 */
#define HTTP_E_CODING      (-ENOSYS)          /* 501: transfer coding */
#define HTTP_E_VERSION     (-EPROTONOSUPPORT) /* 505 */

enum http_method {
	HTTP_GET = 1,
	HTTP_HEAD,
	HTTP_PUT,
	HTTP_POST,
	HTTP_DELETE,
	HTTP_OPTIONS,
};

struct http_str {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_str name;  /* as sent; compare case-insensitively */
	struct http_str value; /* without leading/trailing whitespace */
};

struct http_limits {
	size_t max_head;      /* whole head incl. blank line; default 8192 */
	size_t max_line;      /* one line incl. CRLF; default 8192 */
	unsigned max_headers; /* default and cap: HTTP_MAX_HEADERS */
};

struct http_request {
	enum http_method method;
	struct http_str method_text;
	struct http_str target;
	int minor;              /* HTTP/1.<minor>: 0 or 1 */
	unsigned n_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
	struct http_str host;   /* p == NULL when absent (HTTP/1.0 only) */
	int64_t content_length; /* -1 when absent */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool keep_alive;        /* 1.1 default on, 1.0 default off */
	bool expect_continue;   /* Expect: 100-continue */
};

/* Parses a request head.  lim may be NULL for the defaults.  Leading empty
 * lines (a client's stray CRLF after a body) are skipped and counted in the
 * result.  Line endings must be CRLF.  Errors:
 *   400 bad syntax, CTL/NUL bytes, obs-fold, space before a colon, missing
 *       or repeated Host in 1.1, Content-Length not all digits or too big,
 *       differing Content-Lengths, Content-Length with Transfer-Encoding,
 *       chunked not the last (or repeated) coding, Transfer-Encoding in 1.0
 *   431 head, line or header count over the limits
 *   501 a method other than GET HEAD PUT POST DELETE OPTIONS, or a transfer
 *       coding other than chunked
 *   505 a version other than HTTP/1.0 and HTTP/1.1 */
int http_parse_request(const char *buf, size_t len,
		       const struct http_limits *lim, struct http_request *req);

/* The status for an error of http_parse_request / http_chunked_feed (400
 * for anything unknown). */
int http_error_status(int err);

/* The reason phrase of STATUS ("Not Found"); "Error" for one not listed. */
const char *http_reason(int status);
/* A complete error response that closes the connection: status line,
 * Content-Length, Connection: close, a text/plain body naming the status.
 * Returns its length (cut to SIZE - 1). */
size_t http_format_error(int status, char *buf, size_t size);

/* Looks a header up by name (case-insensitive); NULL if absent. */
const struct http_str *http_header_get(const struct http_request *req,
				       const char *name);

/* ---- chunked body decoder ---- */

struct http_chunked {
	uint64_t left;    /* bytes left in the current chunk's data */
	uint64_t payload; /* data bytes seen so far */
	uint32_t line;    /* bytes in the current size/trailer line */
	uint32_t trailer; /* bytes of trailer section so far */
	uint8_t state;
	uint8_t digits;
};

void http_chunked_init(struct http_chunked *st);

/* Feeds the next len bytes of a chunked body.  Stops after the first chunk
 * data span it meets, or at the end of the body, or at the end of buf:
 *   *consumed   bytes of buf used (the caller continues at buf + consumed)
 *   *data_off, *data_len   a span of chunk data inside the consumed bytes
 *               (len 0 if none): the decoded payload
 * Returns 1 when the body ended (the last chunk, trailers and the final
 * CRLF are consumed; what follows is the next request), 0 if more is
 * needed, or an error (-EBADMSG malformed, -EMSGSIZE a line or the trailer
 * section over 8192 bytes, -EOVERFLOW a size over 2^60).  Once finished it
 * consumes nothing and returns 1. */
int http_chunked_feed(struct http_chunked *st, const char *buf, size_t len,
		      size_t *consumed, size_t *data_off, size_t *data_len);
