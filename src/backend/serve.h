/* The backend's response side: turn a parsed request into a planned HTTP/1.1
 * response, then write it to a non-blocking socket in as many steps as the
 * socket needs.
 *
 *   struct serve_response r;
 *   if (serve_plan(&cfg, SERVE_GET, target, len, minor, keep_alive, &r) < 0)
 *           -> internal failure (EMFILE, ENOMEM, ...): close the connection
 *   loop: switch (serve_write(fd, &r)) {
 *           case 1: done;  case 0: wait for EPOLLOUT and call again;
 *           default (-errno): close the connection }
 *   serve_response_release(&r);
 *
 * Routes (GET and HEAD; every other method gets 405 with Allow: GET, HEAD):
 *   /health       200 "ok\n"
 *   /bytes/N      200 with N bytes, byte i = i mod 251; N decimal, leading
 *                 zeros allowed, 0 <= N <= 2^40; anything else after /bytes/
 *                 (sign, letters, a trailing slash, N > 2^40) is 400.  These
 *                 two routes take precedence over files of the same name.
 *   /PATH         the regular file PATH under cfg->root, sent with sendfile,
 *                 its Content-Type from its extension (represent.h); a
 *                 directory: PATH/index.html when PATH ends in '/', else
 *                 301 to PATH/; 403 for non-regular files, ".." segments,
 *                 anything that resolves outside the root (symlinks
 *                 included: openat2 RESOLVE_BENEATH) and a directory
 *                 without index.html; 404 when missing or no root.
 * Files and /bytes/N carry an ETag (files: "<mtime>-<size>" in hex, as
 * nginx; /bytes/N: "b<N>"), files a Last-Modified, both Accept-Ranges:
 * bytes.  GET and HEAD honour If-None-Match and If-Modified-Since (304);
 * GET honours a single byte Range (206 with Content-Range; 416 when it
 * cannot be satisfied) and If-Range; several ranges get the whole body.
 * The target may be origin-form or absolute-form (http://host/path); the
 * query string is ignored everywhere.  %XX escapes are decoded before routing;
 * a bad escape, %00 or a control byte is 400.
 *
 * Every response has an HTTP/1.1 status line, Date, X-Prism-Backend (when
 * cfg->name is set), Content-Type, Content-Length and Connection: keep-alive
 * or close as asked; HEAD gets the headers of the GET and no body.
 *
 * sendfile(2) cannot suppress SIGPIPE: the process must ignore SIGPIPE. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct serve_config {
	const char *root; /* document root; NULL: no files are served */
	const char *name; /* X-Prism-Backend value (b1..); NULL: omitted */
};

enum serve_method { SERVE_GET, SERVE_HEAD, SERVE_OTHER };

enum serve_body {
	SERVE_BODY_NONE,    /* no body, or a short one kept inside head[] */
	SERVE_BODY_PATTERN, /* synthetic /bytes/N */
	SERVE_BODY_FILE,    /* file_fd, sent with sendfile */
};

#define SERVE_HEAD_MAX 768
#define SERVE_BYTES_MAX (1ULL << 40)

/* Filled by serve_plan, advanced by serve_write.  Callers read status and
 * the counters; the rest is private. */
struct serve_response {
	int status;
	enum serve_body body;
	int file_fd; /* owned; -1 unless body == SERVE_BODY_FILE */
	uint32_t head_len, head_off;
	/* The body is bytes [body_start, body_len) of the representation
	 * (a range); body_off runs from body_start to body_len. */
	uint64_t body_start, body_len, body_off;
	char head[SERVE_HEAD_MAX];
};

/* Plans the response to one request.  Client errors become a planned 4xx;
 * returns -errno only for internal failures (cfg->name too long or holding
 * CR/LF, root unusable, out of file descriptors), and then resp holds
 * nothing to release.  minor_version is the request's HTTP/1.x minor; the
 * reply is always HTTP/1.1 with a Content-Length, which 1.0 clients read
 * fine; keep-alive defaults per version are the caller's to apply. */
struct http_request;
/* REQ (may be NULL) supplies the preconditions and the Range. */
int serve_plan(const struct serve_config *cfg, enum serve_method m,
	       const char *target, size_t target_len, int minor_version,
	       bool keep_alive, const struct http_request *req,
	       struct serve_response *resp);

/* A representation served from outside this file (the object store). */
struct serve_rep {
	uint64_t size;
	const char *type;  /* Content-Type, or NULL for the default */
	const char *etag;  /* quoted */
	time_t mtime;      /* 0: no Last-Modified */
	int fd;            /* the bytes; owned by the plan from the call on */
};
/* Plans the answer to GET or HEAD of REP with REQ's preconditions and
 * Range (200, 206, 304, 416), as for files. */
int serve_plan_rep(const struct serve_config *cfg, enum serve_method m,
		   bool keep_alive, const struct http_request *req,
		   const struct serve_rep *rep, struct serve_response *resp);

/* Plans an error response (status >= 400) with a short text body. */
int serve_plan_error(const struct serve_config *cfg, enum serve_method m,
		     bool keep_alive, int status, struct serve_response *resp);

/* Plans a response for a route served outside this file (the object
 * store): status, extra header lines (each ending in CRLF; NULL for none)
 * and body_len bytes from body_fd, sent with sendfile.  resp owns body_fd
 * from this call on, whatever it returns; body_fd -1: no body and no
 * Content-Type, Content-Length still body_len (HEAD, empty PUT replies).
 * 204 gets no Content-Length (RFC 9110 8.6).  HEAD gets the head only. */
int serve_plan_status(const struct serve_config *cfg, enum serve_method m,
		      bool keep_alive, int status, const char *extra,
		      int body_fd, uint64_t body_len,
		      struct serve_response *resp);

/* Writes as much of resp as fd takes.  Returns 1 when everything is written,
 * 0 when fd would block (call again once writable), -errno on error (-EIO:
 * the file shrank under us, the promised length cannot be met). */
int serve_write(int fd, struct serve_response *resp);

/* The next bytes serve_write would write, at most CAP, copied to OUT and
 * taken (as if written): for a writer that transforms them first (TLS).
 * Returns their length (0: nothing left) or -EIO (the file shrank). */
long serve_take(struct serve_response *resp, uint8_t *out, size_t cap);

/* The bytes serve_write has still to write. */
uint64_t serve_response_size(const struct serve_response *resp);

/* The whole (unwritten) response as bytes in OUT, for a response relayed
 * through the controller instead of written to the client: its length,
 * -ENOSPC when it is longer than CAP, -EIO when the file shrank. */
long serve_render(const struct serve_response *resp, uint8_t *out,
		  size_t cap);

/* Closes the file, if any.  Safe to call twice. */
void serve_response_release(struct serve_response *resp);

/* Head plus body bytes of the whole response, for logs. */
uint64_t serve_bytes_total(const struct serve_response *resp);
