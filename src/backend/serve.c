/* The backend's response side; see serve.h for routes and semantics. */
#include "backend/serve.h"
#include "backend/represent.h"
#include "lib/http.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The synthetic body: byte i is i mod 251.  The buffer holds a whole number
 * of periods, so the byte at any body offset off is pattern[off % 251] and a
 * send can start there and run to the end of the buffer; one sendmsg carries
 * PATTERN_IOV copies of it.  No per-byte work when serving.
 *
 * Copying send() beat zero-copy sendfile from a memfd holding the pattern:
 * /bytes/67108864 over loopback TCP, 30 requests, 41-47 Gbit/s with 16
 * iovecs against 16-19 Gbit/s with sendfile (1 MB or 16 MB memfd); 4 iovecs
 * gave 26, 64 gave 43. */
#define PATTERN_PERIOD 251
#define PATTERN_LEN (PATTERN_PERIOD * 256)
#define PATTERN_IOV 16

static unsigned char pattern[PATTERN_LEN];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_init(void)
{
	size_t i;

	for (i = 0; i < PATTERN_LEN; i++)
		pattern[i] = i % PATTERN_PERIOD;
}

/* Unlisted statuses the server sends are 500s. */
static const char *status_text(int status)
{
	const char *t = http_reason(status);

	return strcmp(t, "Error") ? t : "Internal Server Error";
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), formatted by
 * hand so that the locale cannot change it, and cached for the second. */
static const char *http_date(void)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec" };
	static __thread time_t cached_at = -1;
	static __thread char buf[40];
	time_t now = time(NULL);
	struct tm tm;

	if (now == cached_at)
		return buf;
	gmtime_r(&now, &tm);
	snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	cached_at = now;
	return buf;
}

struct head_spec {
	int status;
	const char *type;   /* Content-Type */
	uint64_t length;    /* Content-Length */
	const char *extra;  /* more header lines, each ending in CRLF, or "" */
	const char *inline_body; /* short body stored after the head, or NULL */
};

/* Formats the head (and a short body) into resp->head. */
static int plan_head(const struct serve_config *cfg, enum serve_method m,
		     bool keep_alive, const struct head_spec *h,
		     struct serve_response *resp)
{
	const char *name = cfg->name;
	char length[48] = "";
	int n;

	if (name && strpbrk(name, "\r\n"))
		return -EINVAL;
	/* RFC 9110 8.6: no Content-Length in a 204; a 304 has no body (one
	 * would describe the representation, which the client has) */
	if (h->status != 204 && h->status != 304)
		snprintf(length, sizeof(length), "Content-Length: %llu\r\n",
			 (unsigned long long)h->length);
	n = snprintf(resp->head, sizeof(resp->head),
		     "HTTP/1.1 %d %s\r\n"
		     "Date: %s\r\n"
		     "%s%s%s"
		     "%s%s%s"
		     "%s"
		     "Connection: %s\r\n"
		     "%s\r\n"
		     "%s",
		     h->status, status_text(h->status), http_date(),
		     name ? "X-Prism-Backend: " : "", name ? name : "",
		     name ? "\r\n" : "", h->type ? "Content-Type: " : "",
		     h->type ? h->type : "", h->type ? "\r\n" : "", length,
		     keep_alive ? "keep-alive" : "close", h->extra,
		     h->inline_body && m != SERVE_HEAD ? h->inline_body : "");
	if (n < 0 || (size_t)n >= sizeof(resp->head))
		return -ENAMETOOLONG;
	resp->status = h->status;
	resp->head_len = n;
	return 0;
}

static int plan_short(const struct serve_config *cfg, enum serve_method m,
		      bool keep_alive, int status, const char *body,
		      struct serve_response *resp)
{
	struct head_spec h = {
		.status = status,
		.type = "text/plain",
		.length = strlen(body),
		.extra = status == 405 ? "Allow: GET, HEAD\r\n" : "",
		.inline_body = body,
	};

	return plan_head(cfg, m, keep_alive, &h, resp);
}

static int plan_error(const struct serve_config *cfg, enum serve_method m,
		      bool keep_alive, int status,
		      struct serve_response *resp)
{
	char body[64];

	snprintf(body, sizeof(body), "%d %s\n", status, status_text(status));
	return plan_short(cfg, m, keep_alive, status, body, resp);
}

int serve_plan_error(const struct serve_config *cfg, enum serve_method m,
		     bool keep_alive, int status, struct serve_response *resp)
{
	*resp = (struct serve_response){ .body = SERVE_BODY_NONE,
					 .file_fd = -1 };
	return plan_error(cfg, m, keep_alive, status, resp);
}

int serve_plan_status(const struct serve_config *cfg, enum serve_method m,
		      bool keep_alive, int status, const char *extra,
		      int body_fd, uint64_t body_len,
		      struct serve_response *resp)
{
	struct head_spec h = {
		.status = status,
		.type = body_fd >= 0 ? "application/octet-stream" : NULL,
		.length = body_len,
		.extra = extra ? extra : "",
	};
	int ret;

	*resp = (struct serve_response){ .body = SERVE_BODY_NONE,
					 .file_fd = -1 };
	ret = plan_head(cfg, m, keep_alive, &h, resp);
	if (ret < 0 || m == SERVE_HEAD || body_fd < 0 || !body_len) {
		if (body_fd >= 0)
			close(body_fd);
		return ret;
	}
	resp->body = SERVE_BODY_FILE;
	resp->file_fd = body_fd;
	resp->body_len = body_len;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Extracts the path of the request target into out (NUL-terminated), %XX
 * decoded, query dropped.  -EINVAL for anything a client got wrong. */
static int decode_path(const char *target, size_t len, char *out,
		       size_t out_size)
{
	const char *end = target + len, *p = target;
	size_t n = 0;

	/* absolute-form: skip "http://authority", keep the path */
	if (len >= 7 && !strncasecmp(target, "http://", 7)) {
		p = memchr(target + 7, '/', len - 7);
		if (!p) {
			p = "/";
			end = p + 1;
		}
	}
	if (p == end || *p != '/')
		return -EINVAL;
	for (; p < end && *p != '?' && *p != '#'; p++) {
		unsigned char c = *p;

		if (c == '%') {
			int hi, lo;

			if (end - p < 3)
				return -EINVAL;
			hi = hex_value(p[1]);
			lo = hex_value(p[2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			p += 2;
		}
		/* NUL would cut the path short; control bytes have no
		 * business in a path either */
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (n + 1 >= out_size)
			return -EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* N of /bytes/N: digits only, at most SERVE_BYTES_MAX. */
static int parse_count(const char *s, uint64_t *count)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		/* v <= 2^40 here, so this cannot overflow */
		v = v * 10 + (*s - '0');
		if (v > SERVE_BYTES_MAX)
			return -EINVAL;
	}
	*count = v;
	return 0;
}

static bool has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "..")) != NULL) {
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
		p += 2;
	}
	return false;
}

/* open_beneath found a directory. */
#define OPEN_DIR 1

/* Opens rel (no leading slash) beneath root into *fd_out.  Returns 0,
 * OPEN_DIR, an HTTP status (> 1) the client gets instead, or -errno for an
 * internal failure. */
static int open_beneath(const char *root, const char *rel, int *fd_out,
			uint64_t *size, time_t *mtime)
{
	/* O_NONBLOCK: opening a FIFO must not hang; cleared again below */
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int dir, fd, ret;

	dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		ret = -errno;
		log_err("serve: root %s: %s", root, strerror(-ret));
		return ret;
	}
	fd = syscall(SYS_openat2, dir, *rel ? rel : ".", &how, sizeof(how));
	if (fd < 0) {
		switch (errno) {
		case ENOENT:
		case ENOTDIR:
		case ENAMETOOLONG:
			ret = 404;
			break;
		case EXDEV: /* resolution left the root */
		case ELOOP:
		case EACCES:
		case EPERM:
			ret = 403;
			break;
		default:
			ret = -errno;
			log_err("serve: open %s/%s: %s", root, rel,
				strerror(-ret));
		}
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		log_err("serve: fstat %s/%s: %s", root, rel, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? OPEN_DIR : 403;
		goto out;
	}
	/* O_NONBLOCK on a regular file may one day mean "EAGAIN on a page
	 * cache miss", which serve_write would take for a full socket */
	if (fcntl(fd, F_SETFL, O_RDONLY) < 0) {
		ret = -errno;
		log_err("serve: fcntl %s/%s: %s", root, rel, strerror(-ret));
		goto out;
	}
	*size = st.st_size;
	*mtime = st.st_mtime;
	*fd_out = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	close(dir);
	return ret;
}

/* The validator and range headers of REP into EXTRA (SIZE bytes). */
static int rep_headers(const struct serve_rep *rep, char *extra, size_t size)
{
	char date[REP_DATE_LEN + 1] = "";
	int n;

	if (rep->mtime)
		rep_format_date(rep->mtime, date);
	n = snprintf(extra, size, "ETag: %s\r\n%s%s%sAccept-Ranges: bytes\r\n",
		     rep->etag, rep->mtime ? "Last-Modified: " : "", date,
		     rep->mtime ? "\r\n" : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* The status (200, 206, 304, 416), the body's bytes [*FIRST, *END), and
 * the headers that go with them appended to EXTRA. */
static int rep_select(enum serve_method m, const struct http_request *req,
		      const struct serve_rep *rep, char *extra, size_t size,
		      uint64_t *first, uint64_t *end)
{
	size_t used = strlen(extra);
	uint64_t a, b;
	int st, r;

	*first = 0;
	*end = rep->size;
	st = rep_check_read(req, rep->etag, rep->mtime);
	if (st) {
		*end = 0; /* 304: no body */
		return st;
	}
	r = m == SERVE_GET ? rep_range(req, rep->size, rep->etag, rep->mtime,
				       &a, &b)
			   : 0;
	if (r < 0) {
		snprintf(extra + used, size - used,
			 "Content-Range: bytes */%llu\r\n",
			 (unsigned long long)rep->size);
		*end = 0;
		return 416;
	}
	if (r == 0)
		return 200;
	snprintf(extra + used, size - used,
		 "Content-Range: bytes %llu-%llu/%llu\r\n",
		 (unsigned long long)a, (unsigned long long)b,
		 (unsigned long long)rep->size);
	*first = a;
	*end = b + 1;
	return 206;
}

/* REP's answer; REP's fd (-1: the /bytes pattern) belongs to RESP or is
 * closed. */
static int plan_rep(const struct serve_config *cfg, enum serve_method m,
		    bool keep_alive, const struct http_request *req,
		    const struct serve_rep *rep, struct serve_response *resp)
{
	char extra[320];
	struct head_spec h = { .extra = extra };
	uint64_t first = 0, end = 0;
	int ret = rep_headers(rep, extra, sizeof(extra));

	if (ret >= 0) {
		h.status = rep_select(m, req, rep, extra, sizeof(extra), &first,
				      &end);
		h.type = h.status == 304 || h.status == 416
				 ? NULL
				 : rep->type ? rep->type
					     : "application/octet-stream";
		h.length = end - first;
		ret = plan_head(cfg, m, keep_alive, &h, resp);
	}
	if (ret < 0 || m == SERVE_HEAD || end == first) {
		if (rep->fd >= 0)
			close(rep->fd);
		return ret;
	}
	resp->body = rep->fd >= 0 ? SERVE_BODY_FILE : SERVE_BODY_PATTERN;
	resp->file_fd = rep->fd;
	resp->body_start = resp->body_off = first;
	resp->body_len = end;
	return 0;
}

int serve_plan_rep(const struct serve_config *cfg, enum serve_method m,
		   bool keep_alive, const struct http_request *req,
		   const struct serve_rep *rep, struct serve_response *resp)
{
	*resp = (struct serve_response){ .body = SERVE_BODY_NONE,
					 .file_fd = -1 };
	return plan_rep(cfg, m, keep_alive, req, rep, resp);
}

/* 301 to the directory's own path with a '/': the raw target up to its
 * query, so that what the client sent comes back as it was. */
static int plan_dir_redirect(const struct serve_config *cfg,
			     enum serve_method m, bool keep_alive,
			     const char *target, size_t len,
			     struct serve_response *resp)
{
	const char *q = memchr(target, '?', len);
	size_t plen = q ? (size_t)(q - target) : len;
	char extra[SERVE_HEAD_MAX / 2];
	struct head_spec h = { .status = 301, .type = "text/plain",
			       .length = 0, .extra = extra };
	int n;

	n = snprintf(extra, sizeof(extra), "Location: %.*s/%.*s\r\n",
		     (int)plen, target, (int)(len - plen), target + plen);
	if (n < 0 || (size_t)n >= sizeof(extra) || memchr(target, '\r', len) ||
	    memchr(target, '\n', len))
		return plan_error(cfg, m, keep_alive, 414, resp);
	return plan_head(cfg, m, keep_alive, &h, resp);
}

static int plan_file(const struct serve_config *cfg, enum serve_method m,
		     bool keep_alive, const char *target, size_t target_len,
		     char *path, const struct http_request *req,
		     struct serve_response *resp)
{
	char etag[REP_ETAG_MAX];
	struct serve_rep rep = { .etag = etag, .fd = -1 };
	size_t n = strlen(path);
	int ret;

	if (!cfg->root)
		return plan_error(cfg, m, keep_alive, 404, resp);
	if (has_dotdot(path))
		return plan_error(cfg, m, keep_alive, 403, resp);
	while (*path == '/')
		path++, n--;
	ret = open_beneath(cfg->root, path, &rep.fd, &rep.size, &rep.mtime);
	if (ret == OPEN_DIR && (!n || path[n - 1] == '/')) {
		if (n + sizeof("index.html") > PATH_MAX)
			return plan_error(cfg, m, keep_alive, 414, resp);
		memcpy(path + n, "index.html", sizeof("index.html"));
		ret = open_beneath(cfg->root, path, &rep.fd, &rep.size,
				   &rep.mtime);
		if (ret == OPEN_DIR || ret == 404)
			ret = 403; /* no index: nothing to list */
	} else if (ret == OPEN_DIR) {
		return plan_dir_redirect(cfg, m, keep_alive, target, target_len,
					 resp);
	}
	if (ret < 0)
		return ret;
	if (ret > 0)
		return plan_error(cfg, m, keep_alive, ret, resp);
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
		 (unsigned long long)rep.mtime, (unsigned long long)rep.size);
	rep.type = rep_mime_type(path);
	return plan_rep(cfg, m, keep_alive, req, &rep, resp);
}

static int plan_bytes(const struct serve_config *cfg, enum serve_method m,
		      bool keep_alive, const char *count,
		      const struct http_request *req,
		      struct serve_response *resp)
{
	char etag[REP_ETAG_MAX];
	struct serve_rep rep = { .etag = etag, .fd = -1,
				 .type = "application/octet-stream" };

	if (parse_count(count, &rep.size) < 0)
		return plan_error(cfg, m, keep_alive, 400, resp);
	snprintf(etag, sizeof(etag), "\"b%llx\"", (unsigned long long)rep.size);
	return plan_rep(cfg, m, keep_alive, req, &rep, resp);
}

int serve_plan(const struct serve_config *cfg, enum serve_method m,
	       const char *target, size_t target_len, int minor_version,
	       bool keep_alive, const struct http_request *req,
	       struct serve_response *resp)
{
	char path[PATH_MAX];

	/* Always answered as HTTP/1.1 with a Content-Length (see serve.h). */
	(void)minor_version;
	pthread_once(&pattern_once, pattern_init);
	*resp = (struct serve_response){ .body = SERVE_BODY_NONE,
					 .file_fd = -1 };
	if (m != SERVE_GET && m != SERVE_HEAD)
		return plan_error(cfg, m, keep_alive, 405, resp);
	if (decode_path(target, target_len, path, sizeof(path)) < 0)
		return plan_error(cfg, m, keep_alive, 400, resp);
	if (!strcmp(path, "/health"))
		return plan_short(cfg, m, keep_alive, 200, "ok\n", resp);
	if (!strncmp(path, "/bytes/", 7))
		return plan_bytes(cfg, m, keep_alive, path + 7, req, resp);
	return plan_file(cfg, m, keep_alive, target, target_len, path, req,
			 resp);
}

/* Fills iov with up to PATTERN_IOV pattern buffers covering body offset off
 * onwards, *len bytes at most; sets *len to the bytes covered and returns
 * the number of entries. */
static int pattern_iov(struct iovec *iov, uint64_t off, uint64_t *len)
{
	size_t start = off % PATTERN_PERIOD;
	uint64_t max = *len;
	int i;

	*len = 0;
	for (i = 0; i < PATTERN_IOV && *len < max; i++) {
		size_t n = PATTERN_LEN - start;

		if (n > max - *len)
			n = max - *len;
		iov[i].iov_base = pattern + start;
		iov[i].iov_len = n;
		*len += n;
		start = 0;
	}
	return i;
}

/* One send of the pattern, with the rest of the head in front when there is
 * one, so that a small response leaves in a single call.  MSG_MORE while
 * more body follows keeps TCP from pushing a short segment between calls. */
static ssize_t send_pattern(int fd, struct serve_response *r)
{
	struct iovec iov[PATTERN_IOV + 1];
	struct msghdr msg = { .msg_iov = iov };
	uint64_t left = r->body_len - r->body_off, len = left;
	size_t n = 0;

	if (r->head_off < r->head_len) {
		iov[n].iov_base = r->head + r->head_off;
		iov[n].iov_len = r->head_len - r->head_off;
		n++;
	}
	n += pattern_iov(iov + n, r->body_off, &len);
	msg.msg_iovlen = n;
	return sendmsg(fd, &msg, MSG_NOSIGNAL | (len < left ? MSG_MORE : 0));
}

/* One step: the next system call's worth of bytes.  Returns the bytes
 * taken, or -1 with errno set. */
static ssize_t write_step(int fd, struct serve_response *r)
{
	bool body_left = r->body_off < r->body_len;
	off_t pos;

	if (r->body == SERVE_BODY_PATTERN)
		return send_pattern(fd, r);
	if (r->head_off < r->head_len)
		return send(fd, r->head + r->head_off, r->head_len - r->head_off,
			    MSG_NOSIGNAL | (body_left ? MSG_MORE : 0));
	pos = r->body_off;
	return sendfile(fd, r->file_fd, &pos, r->body_len - r->body_off);
}

static void advance(struct serve_response *r, uint64_t n)
{
	uint64_t head = r->head_len - r->head_off;

	if (head > n)
		head = n;
	r->head_off += head;
	r->body_off += n - head;
}

int serve_write(int fd, struct serve_response *resp)
{
	ssize_t n;

	while (resp->head_off < resp->head_len ||
	       resp->body_off < resp->body_len) {
		n = write_step(fd, resp);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		/* only sendfile from a file that shrank returns 0 */
		if (n == 0)
			return -EIO;
		advance(resp, n);
	}
	return 1;
}

/* The body's bytes [off, off + len) into OUT. */
static int render_body(const struct serve_response *r, uint8_t *out,
		       uint64_t off, uint64_t len)
{
	while (len) {
		if (r->body == SERVE_BODY_PATTERN) {
			/* pattern[] holds whole periods: one copy of up to
			 * PATTERN_LEN - PATTERN_PERIOD bytes from any phase */
			uint64_t n = PATTERN_LEN - off % PATTERN_PERIOD;

			n = n < len ? n : len;
			memcpy(out, pattern + off % PATTERN_PERIOD, n);
			out += n;
			off += n;
			len -= n;
			continue;
		}
		ssize_t n = pread(r->file_fd, out, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* the file shrank */
		out += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

long serve_take(struct serve_response *resp, uint8_t *out, size_t cap)
{
	uint64_t head = resp->head_len - resp->head_off, body = 0, n, b;
	int err;

	if (resp->body != SERVE_BODY_NONE)
		body = resp->body_len - resp->body_off;
	n = head < cap ? head : cap;
	memcpy(out, resp->head + resp->head_off, n);
	b = body < cap - n ? body : cap - n;
	if (b) {
		err = render_body(resp, out + n, resp->body_off, b);
		if (err)
			return err;
	}
	advance(resp, n + b);
	return (long)(n + b);
}

uint64_t serve_response_size(const struct serve_response *resp)
{
	uint64_t body = resp->body != SERVE_BODY_NONE
				? resp->body_len - resp->body_off
				: 0;

	return resp->head_len - resp->head_off + body;
}

long serve_render(const struct serve_response *resp, uint8_t *out,
		  size_t cap)
{
	uint64_t head = resp->head_len - resp->head_off;
	uint64_t body = serve_response_size(resp) - head;
	int err;

	if (head + body > cap)
		return -ENOSPC;
	memcpy(out, resp->head + resp->head_off, head);
	if (body && resp->body != SERVE_BODY_NONE) {
		err = render_body(resp, out + head, resp->body_off, body);
		if (err)
			return err;
	}
	return (long)(head + body);
}

void serve_response_release(struct serve_response *resp)
{
	if (resp->file_fd >= 0)
		close(resp->file_fd);
	resp->file_fd = -1;
}

uint64_t serve_bytes_total(const struct serve_response *resp)
{
	return resp->head_len + resp->body_len - resp->body_start;
}
