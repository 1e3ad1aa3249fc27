/* The backend's response side: plan a response, write it through a real
 * socket, and check what a client reads: status line, headers and every body
 * byte.  Runs over TCP on a loopback in a private network namespace
 * (198.18.0.1) when it may create one (root), else over a unix socketpair. */
#include "t.h"
#include "backend/represent.h"
#include "backend/serve.h"
#include "lib/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define TEST_ADDR "198.18.0.1"

static bool use_tcp;
static int listener = -1;
static struct sockaddr_in listen_addr;
static char tmp_dir[64], root_dir[96];
static const struct serve_config cfg_b1 = { .root = root_dir, .name = "b1" };

/* Fault injection: while inject is set, the send calls serve.c makes (these
 * definitions take the place of libc's in this binary) take at most a few
 * bytes each, and some fail with EAGAIN or EINTR first, so that every
 * partial-write path runs deterministically. */
static bool inject;
static unsigned inject_calls, inject_eagain, inject_eintr;

/* How many bytes this call may take, or 0 after setting errno. */
static size_t inject_cap(size_t len)
{
	size_t cap;

	if (!inject)
		return len;
	inject_calls++;
	if (inject_calls % 5 == 1) {
		inject_eagain++;
		errno = EAGAIN;
		return 0;
	}
	if (inject_calls % 5 == 3) {
		inject_eintr++;
		errno = EINTR;
		return 0;
	}
	cap = 1 + inject_calls * 37 % 64;
	return len < cap ? len : cap;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	size_t n = inject_cap(len);

	if (len && !n)
		return -1;
	return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct iovec iov[64];
	struct msghdr m = *msg;
	size_t i, total = 0, n;

	for (i = 0; i < msg->msg_iovlen && i < 64; i++)
		total += msg->msg_iov[i].iov_len;
	n = inject_cap(total);
	if (total && !n)
		return -1;
	if (inject) {
		/* keep the first n bytes of the vector */
		for (i = 0; i < msg->msg_iovlen && n; i++) {
			iov[i] = msg->msg_iov[i];
			if (iov[i].iov_len > n)
				iov[i].iov_len = n;
			n -= iov[i].iov_len;
		}
		m.msg_iov = iov;
		m.msg_iovlen = i;
	}
	return syscall(SYS_sendmsg, fd, &m, flags);
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	size_t n = inject_cap(count);

	if (count && !n)
		return -1;
	return syscall(SYS_sendfile, out, in, off, n);
}

/* A fresh network namespace whose loopback carries TEST_ADDR: no traffic
 * leaves it, and it disappears with the process. */
static int netns_setup(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s, ret = 0;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, TEST_ADDR, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0 ||
	    ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

static int listener_setup(void)
{
	socklen_t len = sizeof(listen_addr);

	listen_addr.sin_family = AF_INET;
	inet_pton(AF_INET, TEST_ADDR, &listen_addr.sin_addr);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 ||
	    bind(listener, (struct sockaddr *)&listen_addr, len) < 0 ||
	    listen(listener, 8) < 0 ||
	    getsockname(listener, (struct sockaddr *)&listen_addr, &len) < 0)
		return -errno;
	return 0;
}

/* A connected pair: *w (non-blocking, the server side) and *r (the client).
 * sndbuf/rcvbuf > 0 shrink the buffers to force partial writes. */
static int make_pair(int *w, int *r, int sndbuf, int rcvbuf)
{
	int sv[2];

	if (!use_tcp) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		*w = sv[0], *r = sv[1];
	} else {
		*r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* before connect, so that the window scale follows it */
		if (rcvbuf)
			setsockopt(*r, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				   sizeof(rcvbuf));
		if (connect(*r, (struct sockaddr *)&listen_addr,
			    sizeof(listen_addr)) < 0)
			return -errno;
		*w = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (*w < 0)
			return -errno;
	}
	if (sndbuf)
		setsockopt(*w, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (!use_tcp && rcvbuf)
		setsockopt(*r, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fcntl(*w, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
}

/* What the client read. */
struct reply {
	int plan_ret, write_ret;
	int status;
	char head[SERVE_HEAD_MAX + 1];
	size_t head_len;
	unsigned char *body;
	size_t body_len, cap;
	uint64_t total;
};

static void reply_append(struct reply *rp, const unsigned char *p, size_t n)
{
	if (rp->body_len + n > rp->cap) {
		rp->cap = (rp->body_len + n) * 2;
		rp->body = realloc(rp->body, rp->cap);
	}
	memcpy(rp->body + rp->body_len, p, n);
	rp->body_len += n;
}

/* Reads what is there (all of it until EOF when block). */
static void drain(int fd, struct reply *rp, bool block)
{
	static unsigned char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), block ? 0 : MSG_DONTWAIT)) > 0)
		reply_append(rp, buf, n);
}

/* Splits the raw bytes into head and body and reads the status code. */
static void reply_split(struct reply *rp)
{
	unsigned char *end;
	size_t n;

	if (!rp->body)
		return;
	end = memmem(rp->body, rp->body_len, "\r\n\r\n", 4);
	if (!end)
		return;
	n = end + 4 - rp->body;
	if (n > SERVE_HEAD_MAX)
		return;
	memcpy(rp->head, rp->body, n);
	rp->head[n] = '\0';
	rp->head_len = n;
	memmove(rp->body, rp->body + n, rp->body_len - n);
	rp->body_len -= n;
	sscanf(rp->head, "HTTP/1.1 %d ", &rp->status);
}

#define FETCH_MAX (16u << 20)

/* Plans and writes one response, reading it on the other end between
 * EAGAINs (one thread: the writer's buffer only drains when we read). */
static void fetch_with(const struct serve_config *cfg, enum serve_method m,
		       const char *target, bool keep_alive,
		       const struct http_request *req, struct reply *rp)
{
	struct serve_response resp;
	int w, r;

	memset(rp, 0, sizeof(*rp));
	rp->plan_ret = serve_plan(cfg, m, target, strlen(target), 1,
				  keep_alive, req, &resp);
	if (rp->plan_ret < 0)
		return;
	rp->total = serve_bytes_total(&resp);
	if (make_pair(&w, &r, 0, 0) < 0) {
		rp->write_ret = -1;
		return;
	}
	while ((rp->write_ret = serve_write(w, &resp)) == 0) {
		drain(r, rp, false);
		/* a wrong length must fail here, not stream for hours */
		if (rp->body_len > FETCH_MAX) {
			rp->write_ret = -E2BIG;
			break;
		}
	}
	serve_response_release(&resp);
	shutdown(w, SHUT_WR);
	drain(r, rp, true);
	close(w);
	close(r);
	reply_split(rp);
}

static void fetch(const struct serve_config *cfg, enum serve_method m,
		  const char *target, bool keep_alive, struct reply *rp)
{
	fetch_with(cfg, m, target, keep_alive, NULL, rp);
}

/* A GET of TARGET with header lines HDRS ("Name: v\r\n"...). */
static void fetch_hdrs(const char *target, const char *hdrs, struct reply *rp)
{
	static char head[2048];
	struct http_request req;
	int n = snprintf(head, sizeof(head),
			 "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", target, hdrs);

	CHECK(http_parse_request(head, (size_t)n, NULL, &req) == n);
	fetch_with(&cfg_b1, SERVE_GET, target, true, &req, rp);
}

/* The value of header name, copied into out ("" when absent). */
static const char *header(const struct reply *rp, const char *name,
			  char *out, size_t size)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	out[0] = '\0';
	p = strstr(rp->head, key);
	if (!p)
		return out;
	p += strlen(key);
	e = strstr(p, "\r\n");
	snprintf(out, size, "%.*s", (int)(e - p), p);
	return out;
}

static long long content_length(const struct reply *rp)
{
	char v[32];

	header(rp, "Content-Length", v, sizeof(v));
	return v[0] ? atoll(v) : -1;
}

static bool is_pattern(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != i % 251)
			return false;
	return true;
}

static void check_bytes(const char *target, size_t n)
{
	struct reply rp;
	char v[32];

	fetch(&cfg_b1, SERVE_GET, target, true, &rp);
	CHECK_EQ(rp.plan_ret, 0);
	CHECK_EQ(rp.write_ret, 1);
	CHECK_EQ(rp.status, 200);
	CHECK_EQ(content_length(&rp), n);
	CHECK_EQ(rp.body_len, n);
	CHECK_EQ(rp.total, rp.head_len + n);
	CHECK(is_pattern(rp.body, rp.body_len));
	CHECK(!strcmp(header(&rp, "X-Prism-Backend", v, sizeof(v)), "b1"));
	CHECK(!strcmp(header(&rp, "Connection", v, sizeof(v)), "keep-alive"));
	if (rp.body_len != n || !is_pattern(rp.body, rp.body_len))
		printf("#   %s: got %zu bytes\n", target, rp.body_len);
	free(rp.body);
}

static void test_bytes_sizes(void)
{
	check_bytes("/bytes/0", 0);
	check_bytes("/bytes/1", 1);
	check_bytes("/bytes/250", 250);
	check_bytes("/bytes/251", 251);
	check_bytes("/bytes/252", 252);
	check_bytes("/bytes/64256", 64256);  /* one pattern buffer */
	check_bytes("/bytes/64257", 64257);
	check_bytes("/bytes/1048577", 1048577);
	check_bytes("/bytes/3000000", 3000000); /* several sendmsg calls */
	check_bytes("/bytes/00012", 12);
	check_bytes("/bytes/%31%32", 12);  /* decoded before routing */
	check_bytes("/bytes/5?x=1", 5);    /* query ignored */
	check_bytes("http://vip:8080/bytes/7", 7);
}

/* Expects status and, unless HEAD, a body that is exactly Content-Length. */
static void check_status(const struct serve_config *cfg, enum serve_method m,
			 const char *target, int status)
{
	struct reply rp;

	fetch(cfg, m, target, true, &rp);
	CHECK_EQ(rp.plan_ret, 0);
	CHECK_EQ(rp.write_ret, 1);
	if (rp.status != status)
		printf("#   %s: status %d, want %d\n", target, rp.status,
		       status);
	CHECK_EQ(rp.status, status);
	if (m != SERVE_HEAD)
		CHECK_EQ(content_length(&rp), rp.body_len);
	free(rp.body);
}

static void test_bytes_bad(void)
{
	static const char *bad[] = {
		"/bytes/-1", "/bytes/abc", "/bytes/99999999999999999999",
		"/bytes/", "/bytes/+1", "/bytes/1/", "/bytes/1x",
		"/bytes/1099511627777", "/bytes/ 1", "/bytes/1%20",
	};
	struct reply rp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_status(&cfg_b1, SERVE_GET, bad[i], 400);
	/* 2^40 is allowed: check the head only */
	fetch(&cfg_b1, SERVE_HEAD, "/bytes/1099511627776", true, &rp);
	CHECK_EQ(rp.status, 200);
	CHECK_EQ(content_length(&rp), 1099511627776LL);
	CHECK_EQ(rp.body_len, 0);
	free(rp.body);
}

static void test_health(void)
{
	struct reply rp;
	char v[32];

	fetch(&cfg_b1, SERVE_GET, "/health", true, &rp);
	CHECK_EQ(rp.status, 200);
	CHECK(!strncmp(rp.head, "HTTP/1.1 200 OK\r\n", 17));
	CHECK_EQ(rp.body_len, 3);
	CHECK(rp.body_len == 3 && !memcmp(rp.body, "ok\n", 3));
	CHECK_EQ(content_length(&rp), 3);
	CHECK(!strcmp(header(&rp, "X-Prism-Backend", v, sizeof(v)), "b1"));
	CHECK(!strcmp(header(&rp, "Connection", v, sizeof(v)), "keep-alive"));
	CHECK(strlen(header(&rp, "Date", v, sizeof(v))) == 29);
	CHECK_EQ(rp.total, rp.head_len + 3);
	free(rp.body);
}

static void test_connection_close(void)
{
	struct reply rp;
	char v[32];

	fetch(&cfg_b1, SERVE_GET, "/bytes/10", false, &rp);
	CHECK_EQ(rp.status, 200);
	CHECK(!strcmp(header(&rp, "Connection", v, sizeof(v)), "close"));
	free(rp.body);
	fetch(&cfg_b1, SERVE_GET, "/nope", false, &rp);
	CHECK_EQ(rp.status, 404);
	CHECK(!strcmp(header(&rp, "Connection", v, sizeof(v)), "close"));
	free(rp.body);
}

/* The head of a HEAD response is the GET's, byte for byte but the Date. */
static void check_head_matches(const char *target)
{
	struct reply get, head;
	char a[64], b[64];

	fetch(&cfg_b1, SERVE_GET, target, true, &get);
	fetch(&cfg_b1, SERVE_HEAD, target, true, &head);
	CHECK_EQ(head.write_ret, 1);
	CHECK_EQ(head.status, get.status);
	CHECK_EQ(head.body_len, 0);
	CHECK_EQ(head.total, head.head_len);
	CHECK_EQ(content_length(&head), get.body_len);
	CHECK(!strcmp(header(&head, "Content-Type", a, sizeof(a)),
		      header(&get, "Content-Type", b, sizeof(b))));
	CHECK(!strcmp(header(&head, "X-Prism-Backend", a, sizeof(a)), "b1"));
	free(get.body);
	free(head.body);
}

static void test_head(void)
{
	check_head_matches("/bytes/1000");
	check_head_matches("/health");
	check_head_matches("/hello.txt");
	check_head_matches("/missing");
	check_head_matches("/bytes/abc");
}

static void test_method_not_allowed(void)
{
	struct reply rp;
	char v[32];

	fetch(&cfg_b1, SERVE_OTHER, "/bytes/10", true, &rp);
	CHECK_EQ(rp.status, 405);
	CHECK(!strcmp(header(&rp, "Allow", v, sizeof(v)), "GET, HEAD"));
	CHECK_EQ(content_length(&rp), rp.body_len);
	CHECK(rp.body_len > 0);
	free(rp.body);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

#define OUTSIDE_MARK "OUTSIDE-THE-ROOT\n"
#define INNER_LEN 300007

static unsigned char inner[INNER_LEN];

/* tmp_dir/outside.txt, tmp_dir/root/{hello.txt, with space, sub/inner.bin,
 * link-in, link-out, link-rel-out, link-dir-out, fifo} */
static int tree_setup(void)
{
	char p[256], out_path[256];
	size_t i;

	strcpy(tmp_dir, "/tmp/prism-serve-XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -errno;
	snprintf(root_dir, sizeof(root_dir), "%s/root", tmp_dir);
	snprintf(out_path, sizeof(out_path), "%s/outside.txt", tmp_dir);
	for (i = 0; i < INNER_LEN; i++)
		inner[i] = (i * 7 + i / 1000) & 0xff;
#define PATH(fmt, ...) (snprintf(p, sizeof(p), fmt, __VA_ARGS__), p)
	if (mkdir(root_dir, 0755) < 0 ||
	    mkdir(PATH("%s/sub", root_dir), 0755) < 0 ||
	    mkdir(PATH("%s/site", root_dir), 0755) < 0 ||
	    write_file(PATH("%s/site/index.html", root_dir), "<p>hi</p>\n",
		       10) < 0 ||
	    write_file(PATH("%s/site/a.PNG", root_dir), "\x89PNG", 4) < 0 ||
	    write_file(PATH("%s/outside.txt", tmp_dir), OUTSIDE_MARK,
		       strlen(OUTSIDE_MARK)) < 0 ||
	    write_file(PATH("%s/hello.txt", root_dir), "hello\n", 6) < 0 ||
	    write_file(PATH("%s/with space", root_dir), "sp", 2) < 0 ||
	    write_file(PATH("%s/empty", root_dir), "", 0) < 0 ||
	    write_file(PATH("%s/sub/inner.bin", root_dir), inner,
		       INNER_LEN) < 0 ||
	    write_file(PATH("%s/shrinks", root_dir), inner, INNER_LEN) < 0 ||
	    symlink("hello.txt", PATH("%s/link-in", root_dir)) < 0 ||
	    symlink(out_path, PATH("%s/link-out", root_dir)) < 0 ||
	    symlink("../outside.txt", PATH("%s/link-rel-out", root_dir)) < 0 ||
	    symlink(tmp_dir, PATH("%s/link-dir-out", root_dir)) < 0 ||
	    symlink("/etc/passwd", PATH("%s/link-passwd", root_dir)) < 0 ||
	    mkfifo(PATH("%s/fifo", root_dir), 0644) < 0)
		return -errno;
#undef PATH
	return 0;
}

static void tree_cleanup(void)
{
	static const char *files[] = {
		"root/hello.txt", "root/with space", "root/empty", "root/sub/inner.bin",
		"root/shrinks", "root/link-in", "root/link-out",
		"root/link-rel-out", "root/link-dir-out", "root/link-passwd",
		"root/fifo", "outside.txt", "root/site/index.html",
		"root/site/a.PNG",
	};
	char p[256];
	size_t i;

	if (!tmp_dir[0])
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmp_dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/root/sub", tmp_dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/root/site", tmp_dir);
	rmdir(p);
	rmdir(root_dir);
	rmdir(tmp_dir);
}

static void check_typed(const char *target, const void *data, size_t len,
			const char *type)
{
	struct reply rp;
	char v[64];

	fetch(&cfg_b1, SERVE_GET, target, true, &rp);
	CHECK_EQ(rp.write_ret, 1);
	CHECK_EQ(rp.status, 200);
	CHECK_EQ(content_length(&rp), len);
	CHECK(rp.body_len == len && !memcmp(rp.body, data, len));
	if (strcmp(header(&rp, "Content-Type", v, sizeof(v)), type))
		printf("#   %s: Content-Type %s, want %s\n", target, v, type);
	CHECK(!strcmp(v, type));
	if (rp.status != 200)
		printf("#   %s: status %d\n", target, rp.status);
	free(rp.body);
}

static void check_file(const char *target, const void *data, size_t len)
{
	check_typed(target, data, len,
		    strstr(target, ".txt") ? "text/plain"
						: "application/octet-stream");
}

static void test_files(void)
{
	const struct serve_config noroot = { .root = NULL, .name = "b1" };

	check_file("/hello.txt", "hello\n", 6);
	check_file("/%68ello.txt", "hello\n", 6);
	check_file("/hello.txt?x=../../etc/passwd", "hello\n", 6);
	check_file("//hello.txt", "hello\n", 6);
	check_file("/./hello.txt", "hello\n", 6);
	check_file("/with%20space", "sp", 2);
	check_file("/empty", "", 0);
	check_file("/sub/inner.bin", inner, INNER_LEN);
	check_file("/link-in", "hello\n", 6); /* symlink inside the root */
	check_file("http://vip/hello.txt", "hello\n", 6);
	check_status(&cfg_b1, SERVE_GET, "/sub", 301);
	check_status(&cfg_b1, SERVE_GET, "/sub/", 403); /* no index.html */
	check_status(&cfg_b1, SERVE_GET, "/", 403);
	check_status(&cfg_b1, SERVE_GET, "/fifo", 403); /* and no hang */
	check_status(&cfg_b1, SERVE_GET, "/missing", 404);
	check_status(&cfg_b1, SERVE_GET, "/sub/missing", 404);
	check_status(&cfg_b1, SERVE_GET, "/hello.txt/", 404);
	check_status(&noroot, SERVE_GET, "/hello.txt", 404);
	check_status(&noroot, SERVE_GET, "/bytes/3", 200);
	check_status(&cfg_b1, SERVE_GET, "hello.txt", 400);
	check_status(&cfg_b1, SERVE_GET, "*", 400);
	check_status(&cfg_b1, SERVE_GET, "", 400);
}

/* Types from the extension; a directory's index.html, or a 301 to its
 * path with a slash. */
static void test_types_and_dirs(void)
{
	struct reply rp;
	char v[64];

	check_typed("/site/", "<p>hi</p>\n", 10, "text/html");
	check_typed("/site/index.html", "<p>hi</p>\n", 10, "text/html");
	check_typed("/site/a.PNG", "\x89PNG", 4, "image/png");
	fetch(&cfg_b1, SERVE_GET, "/site?q=1", true, &rp);
	CHECK_EQ(rp.status, 301);
	CHECK(!strcmp(header(&rp, "Location", v, sizeof(v)), "/site/?q=1"));
	free(rp.body);
	check_status(&cfg_b1, SERVE_GET, "/", 403);
	CHECK(!strcmp(rep_mime_type("x/y.css"), "text/css"));
	CHECK(!strcmp(rep_mime_type("x.d/noext"), "application/octet-stream"));
	CHECK(!strcmp(rep_mime_type(".hidden"), "application/octet-stream") ||
	      rep_mime_type(".hidden")[0]);
}

static bool is_pattern_from(const unsigned char *p, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (off + i) % 251)
			return false;
	return true;
}

/* One byte range: 206 with its bytes and Content-Range; unsatisfiable
 * 416; several ranges, another unit, a stale If-Range: the whole 200. */
static void test_ranges(void)
{
	struct reply rp;
	char v[96], etag[64];

	fetch_hdrs("/bytes/3000000", "Range: bytes=0-99\r\n", &rp);
	CHECK_EQ(rp.status, 206);
	CHECK_EQ(content_length(&rp), 100);
	CHECK(rp.body_len == 100 && is_pattern_from(rp.body, 100, 0));
	CHECK(!strcmp(header(&rp, "Content-Range", v, sizeof(v)),
		      "bytes 0-99/3000000"));
	header(&rp, "ETag", etag, sizeof(etag));
	free(rp.body);
	fetch_hdrs("/bytes/3000000", "Range: bytes=2999000-\r\n", &rp);
	CHECK_EQ(rp.status, 206);
	CHECK(rp.body_len == 1000 && is_pattern_from(rp.body, 1000, 2999000));
	CHECK_EQ(rp.total, rp.head_len + 1000);
	free(rp.body);
	fetch_hdrs("/bytes/3000000", "Range: bytes=-10\r\n", &rp);
	CHECK(rp.status == 206 && rp.body_len == 10 &&
	      is_pattern_from(rp.body, 10, 2999990));
	free(rp.body);
	fetch_hdrs("/bytes/3000000", "Range: bytes=3000000-\r\n", &rp);
	CHECK_EQ(rp.status, 416);
	CHECK(!strcmp(header(&rp, "Content-Range", v, sizeof(v)),
		      "bytes */3000000"));
	CHECK_EQ(rp.body_len, 0);
	free(rp.body);
	fetch_hdrs("/bytes/300", "Range: bytes=0-9,20-29\r\n", &rp);
	CHECK(rp.status == 200 && rp.body_len == 300);
	free(rp.body);
	fetch_hdrs("/bytes/300", "Range: lines=0-9\r\n", &rp);
	CHECK(rp.status == 200 && rp.body_len == 300);
	free(rp.body);
	snprintf(v, sizeof(v), "Range: bytes=10-19\r\nIf-Range: %s\r\n", etag);
	fetch_hdrs("/bytes/3000000", v, &rp);
	CHECK_EQ(rp.status, 206);
	free(rp.body);
	fetch_hdrs("/bytes/300", "Range: bytes=10-19\r\nIf-Range: \"old\"\r\n",
		   &rp);
	CHECK(rp.status == 200 && rp.body_len == 300);
	free(rp.body);
	/* a file: sendfile from the offset */
	fetch_hdrs("/sub/inner.bin", "Range: bytes=1000-1999\r\n", &rp);
	CHECK(rp.status == 206 && rp.body_len == 1000 &&
	      !memcmp(rp.body, inner + 1000, 1000));
	free(rp.body);
}

/* ETag and Last-Modified, and the 304s they allow. */
static void test_conditional(void)
{
	struct reply rp;
	char etag[64], lm[64], h[160];

	fetch(&cfg_b1, SERVE_GET, "/hello.txt", true, &rp);
	header(&rp, "ETag", etag, sizeof(etag));
	header(&rp, "Last-Modified", lm, sizeof(lm));
	CHECK(etag[0] == '"' && lm[0]);
	free(rp.body);
	snprintf(h, sizeof(h), "If-None-Match: \"x\", %s\r\n", etag);
	fetch_hdrs("/hello.txt", h, &rp);
	CHECK_EQ(rp.status, 304);
	CHECK_EQ(rp.body_len, 0);
	CHECK_EQ(content_length(&rp), -1);
	if (content_length(&rp) != -1)
		printf("#   %s\n", rp.head);
	free(rp.body);
	snprintf(h, sizeof(h), "If-None-Match: W/%s\r\n", etag);
	fetch_hdrs("/hello.txt", h, &rp);
	CHECK_EQ(rp.status, 304); /* weak comparison */
	free(rp.body);
	fetch_hdrs("/hello.txt", "If-None-Match: \"other\"\r\n", &rp);
	CHECK(rp.status == 200 && rp.body_len == 6);
	free(rp.body);
	snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", lm);
	fetch_hdrs("/hello.txt", h, &rp);
	CHECK_EQ(rp.status, 304);
	free(rp.body);
	fetch_hdrs("/hello.txt",
		   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &rp);
	CHECK_EQ(rp.status, 200);
	free(rp.body);
	/* If-None-Match wins over If-Modified-Since */
	snprintf(h, sizeof(h),
		 "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n", lm);
	fetch_hdrs("/hello.txt", h, &rp);
	CHECK_EQ(rp.status, 200);
	free(rp.body);
	fetch_hdrs("/bytes/10", "If-None-Match: \"ba\"\r\n", &rp);
	CHECK_EQ(rp.status, 304);
	free(rp.body);
}

static void test_dates(void)
{
	static const char *forms[] = { "Sun, 06 Nov 1994 08:49:37 GMT",
				       "Sunday, 06-Nov-94 08:49:37 GMT",
				       "Sun Nov  6 08:49:37 1994" };
	char buf[REP_DATE_LEN + 1];
	time_t t;

	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ(rep_parse_date(forms[i], strlen(forms[i]), &t), 0);
		CHECK_EQ(t, 784111777);
	}
	rep_format_date(784111777, buf);
	CHECK(!strcmp(buf, forms[0]));
	CHECK(rep_parse_date("yesterday", 9, &t) < 0);
	CHECK(rep_parse_date("Sun, 06 Foo 1994 08:49:37 GMT", 29, &t) < 0);
}

/* Never the outside file, never /etc/passwd: 400, 403 or 404 only. */
static void test_traversal(void)
{
	static const char *bad[] = {
		"/../etc/passwd", "/../outside.txt", "/%2e%2e/outside.txt",
		"/%2E%2E%2Foutside.txt", "/a/../../x", "/..%2f..%2fetc/passwd",
		"/sub/../../outside.txt", "/sub/%2e%2e/%2e%2e/outside.txt",
		"/..", "/sub/..", "/link-out", "/link-rel-out",
		"/link-dir-out/outside.txt", "/link-passwd",
		"/hello.txt%00.png", "/%00", "/%zz", "/%4", "/%",
		"/hello.txt%0a", "http://vip/../outside.txt",
		"/../../../../../../../../etc/passwd",
	};
	struct reply rp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fetch(&cfg_b1, SERVE_GET, bad[i], true, &rp);
		CHECK_EQ(rp.plan_ret, 0);
		if (rp.status != 400 && rp.status != 403 && rp.status != 404) {
			printf("#   %s: status %d\n", bad[i], rp.status);
			CHECK(!"status 400/403/404");
		}
		CHECK(!memmem(rp.body, rp.body_len, "OUTSIDE", 7));
		CHECK(!memmem(rp.body, rp.body_len, "root:", 5));
		free(rp.body);
	}
	/* the specific answers: escapes are 403, bad escapes 400 */
	check_status(&cfg_b1, SERVE_GET, "/../etc/passwd", 403);
	check_status(&cfg_b1, SERVE_GET, "/%2e%2e/outside.txt", 403);
	check_status(&cfg_b1, SERVE_GET, "/a/../../x", 403);
	check_status(&cfg_b1, SERVE_GET, "/link-out", 403);
	check_status(&cfg_b1, SERVE_GET, "/link-rel-out", 403);
	check_status(&cfg_b1, SERVE_GET, "/hello.txt%00.png", 400);
	/* a NUL byte inside the target itself */
	{
		struct serve_response resp;

		CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, "/hello.txt\0x", 12, 1,
				    true, NULL, &resp), 0);
		CHECK_EQ(resp.status, 400);
		serve_response_release(&resp);
	}
}

/* A client that reads slowly in small pieces, in its own thread. */
struct slow_reader {
	int fd;
	size_t chunk;
	struct reply rp;
};

static void *slow_read(void *arg)
{
	struct slow_reader *s = arg;
	unsigned char buf[4096];
	size_t reads = 0;
	ssize_t n;

	while ((n = recv(s->fd, buf, s->chunk, 0)) > 0) {
		reply_append(&s->rp, buf, n);
		if (++reads % 64 == 0)
			usleep(1000);
	}
	return NULL;
}

/* Writes resp from an event loop (poll) to a slow reader through small
 * socket buffers; returns how many times serve_write said "would block". */
static int write_slowly(struct serve_response *resp, struct slow_reader *s,
			int *head_partial)
{
	pthread_t th;
	int w, ret, blocked = 0;

	memset(&s->rp, 0, sizeof(s->rp));
	if (make_pair(&w, &s->fd, 4096, 4096) < 0)
		return -1;
	pthread_create(&th, NULL, slow_read, s);
	while ((ret = serve_write(w, resp)) == 0) {
		struct pollfd p = { .fd = w, .events = POLLOUT };

		blocked++;
		if (resp->head_off > 0 && resp->head_off < resp->head_len)
			(*head_partial)++;
		poll(&p, 1, 1000);
	}
	CHECK_EQ(ret, 1);
	shutdown(w, SHUT_WR);
	pthread_join(th, NULL);
	close(w);
	close(s->fd);
	reply_split(&s->rp);
	return blocked;
}

static void test_partial_writes(void)
{
	struct slow_reader s = { .chunk = 1000 };
	struct serve_response resp;
	int blocked, head_partial = 0;

	CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, "/bytes/1048577", 14, 1, true, NULL,
			    &resp), 0);
	blocked = write_slowly(&resp, &s, &head_partial);
	printf("# /bytes/1048577: serve_write blocked %d times\n", blocked);
	CHECK(blocked > 10);
	CHECK_EQ(s.rp.status, 200);
	CHECK_EQ(s.rp.body_len, 1048577);
	CHECK(is_pattern(s.rp.body, s.rp.body_len));
	serve_response_release(&resp);
	free(s.rp.body);

	s.chunk = 777;
	CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, "/sub/inner.bin", 14, 1, true, NULL,
			    &resp), 0);
	blocked = write_slowly(&resp, &s, &head_partial);
	printf("# /sub/inner.bin: serve_write blocked %d times\n", blocked);
	CHECK(blocked > 0);
	CHECK_EQ(s.rp.status, 200);
	CHECK(s.rp.body_len == INNER_LEN &&
	      !memcmp(s.rp.body, inner, INNER_LEN));
	serve_response_release(&resp);
	free(s.rp.body);
}

/* Many responses back to back on one connection (keep-alive) through small
 * buffers: heads get cut too, and the stream must still parse exactly. */
static void test_pipelined_partial(void)
{
	static const char *targets[] = { "/health", "/bytes/333", "/missing",
					 "/hello.txt", "/bytes/0" };
	struct slow_reader s = { .chunk = 61 };
	struct serve_response resp;
	unsigned char *p, *end;
	int w, i, ret, blocked = 0, head_partial = 0, parsed = 0;
	const int rounds = 400;
	pthread_t th;

	memset(&s.rp, 0, sizeof(s.rp));
	if (make_pair(&w, &s.fd, 4096, 4096) < 0) {
		CHECK(!"socket pair");
		return;
	}
	pthread_create(&th, NULL, slow_read, &s);
	for (i = 0; i < rounds; i++) {
		const char *t = targets[i % 5];

		CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, t, strlen(t), 1, true, NULL,
				    &resp), 0);
		while ((ret = serve_write(w, &resp)) == 0) {
			struct pollfd pfd = { .fd = w, .events = POLLOUT };

			blocked++;
			if (resp.head_off > 0 && resp.head_off < resp.head_len)
				head_partial++;
			poll(&pfd, 1, 1000);
		}
		CHECK_EQ(ret, 1);
		serve_response_release(&resp);
	}
	shutdown(w, SHUT_WR);
	pthread_join(th, NULL);
	close(w);
	close(s.fd);
	/* walk the stream: each head's Content-Length finds the next one */
	p = s.rp.body, end = p + s.rp.body_len;
	while (p < end) {
		unsigned char *h = memmem(p, end - p, "\r\n\r\n", 4);
		const char *cl;

		if (!h)
			break;
		cl = memmem(p, h - p, "Content-Length: ", 16);
		if (!cl)
			break;
		p = h + 4 + atoll(cl + 16);
		parsed++;
	}
	printf("# %d responses: blocked %d times, %d with a partial head\n",
	       rounds, blocked, head_partial);
	CHECK(p == end);
	CHECK_EQ(parsed, rounds);
	CHECK(blocked > 0);
	free(s.rp.body);
}

/* Writes through the injector; the reader drains between calls. */
static void check_injected(const char *target, const void *body, size_t len,
			   unsigned *head_partial)
{
	struct serve_response resp;
	struct reply rp;
	int w, r, ret;

	memset(&rp, 0, sizeof(rp));
	CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, target, strlen(target), 1,
			    true, NULL, &resp), 0);
	if (make_pair(&w, &r, 0, 0) < 0) {
		CHECK(!"socket pair");
		return;
	}
	inject = true;
	while ((ret = serve_write(w, &resp)) == 0) {
		if (resp.head_off > 0 && resp.head_off < resp.head_len)
			(*head_partial)++;
		drain(r, &rp, false);
	}
	inject = false;
	CHECK_EQ(ret, 1);
	serve_response_release(&resp);
	shutdown(w, SHUT_WR);
	drain(r, &rp, true);
	close(w);
	close(r);
	reply_split(&rp);
	CHECK_EQ(rp.status, 200);
	CHECK_EQ(content_length(&rp), len);
	CHECK(rp.body_len == len &&
	      (body ? !memcmp(rp.body, body, len) : is_pattern(rp.body, len)));
	free(rp.body);
}

static void test_injected_partial(void)
{
	unsigned head_partial = 0;

	inject_calls = inject_eagain = inject_eintr = 0;
	check_injected("/health", "ok\n", 3, &head_partial);
	check_injected("/bytes/1000", NULL, 1000, &head_partial);
	check_injected("/bytes/70000", NULL, 70000, &head_partial);
	check_injected("/hello.txt", "hello\n", 6, &head_partial);
	check_injected("/sub/inner.bin", inner, INNER_LEN, &head_partial);
	printf("# %u calls, %u EAGAIN, %u EINTR, %u waits inside a head\n",
	       inject_calls, inject_eagain, inject_eintr, head_partial);
	CHECK(head_partial >= 5);
	CHECK(inject_eintr > 0);
}

static void test_file_shrinks(void)
{
	struct serve_response resp;
	char p[256];
	int w, r, ret;

	CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, "/shrinks", 8, 1, true, NULL, &resp),
		 0);
	CHECK_EQ(resp.body_len, INNER_LEN);
	snprintf(p, sizeof(p), "%s/shrinks", root_dir);
	CHECK_EQ(truncate(p, 1000), 0);
	if (make_pair(&w, &r, 0, 0) < 0) {
		CHECK(!"socket pair");
		return;
	}
	/* the reader never reads: 1000 bytes fit in any buffer */
	ret = serve_write(w, &resp);
	CHECK_EQ(ret, -EIO);
	CHECK_EQ(resp.body_off, 1000);
	serve_response_release(&resp);
	serve_response_release(&resp); /* twice is fine */
	CHECK_EQ(resp.file_fd, -1);
	close(w);
	close(r);
}

static void test_peer_gone(void)
{
	struct serve_response resp;
	int w, r, ret;

	CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, "/bytes/1048577", 14, 1, true, NULL,
			    &resp), 0);
	if (make_pair(&w, &r, 0, 0) < 0) {
		CHECK(!"socket pair");
		return;
	}
	close(r);
	do
		ret = serve_write(w, &resp);
	while (ret == 0);
	CHECK(ret == -EPIPE || ret == -ECONNRESET);
	serve_response_release(&resp);
	close(w);
}

static void test_config(void)
{
	struct serve_config c = { .root = root_dir, .name = "b1\r\nX: y" };
	struct serve_response resp;
	struct reply rp;
	char longname[900], v[32];

	CHECK_EQ(serve_plan(&c, SERVE_GET, "/health", 7, 1, true, NULL, &resp),
		 -EINVAL);
	memset(longname, 'b', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	c.name = longname;
	CHECK_EQ(serve_plan(&c, SERVE_GET, "/health", 7, 1, true, NULL, &resp),
		 -ENAMETOOLONG);
	serve_response_release(&resp);
	c.name = NULL;
	fetch(&c, SERVE_GET, "/health", true, &rp);
	CHECK_EQ(rp.status, 200);
	CHECK(!*header(&rp, "X-Prism-Backend", v, sizeof(v)));
	free(rp.body);
	/* an HTTP/1.0 request still gets an HTTP/1.1 status line */
	CHECK_EQ(serve_plan(&cfg_b1, SERVE_GET, "/health", 7, 0, false, NULL,
			    &resp), 0);
	CHECK(!strncmp(resp.head, "HTTP/1.1 200 OK\r\n", 17));
	serve_response_release(&resp);
}

/* A hang (a write loop that never ends, a FIFO open that blocks) fails the
 * run in a minute instead of at the runner's timeout, and still removes the
 * tree (snprintf is not async-signal-safe; the process ends right after). */
static void on_alarm(int sig)
{
	static const char msg[] = "not ok - timed out after 60 s\n";

	(void)sig;
	tree_cleanup();
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

int main(void)
{
	int ret;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(60);
	ret = netns_setup();
	use_tcp = !ret && !listener_setup();
	printf("# transport: %s\n", use_tcp ? "TCP on loopback in a private "
					      "netns" : "unix socketpair");
	if (tree_setup() < 0) {
		printf("not ok - test tree in /tmp: %s\n", strerror(errno));
		tree_cleanup();
		return 1;
	}
	t_run("GET /health", test_health);
	t_run("GET /bytes/N exact bodies", test_bytes_sizes);
	t_run("bad /bytes/ values are 400", test_bytes_bad);
	t_run("HEAD has the GET's headers and no body", test_head);
	t_run("other methods are 405 with Allow", test_method_not_allowed);
	t_run("Connection: close when not keep-alive", test_connection_close);
	t_run("files under the root", test_files);
	t_run("nothing outside the root", test_traversal);
	t_run("content types; index.html; 301 to a directory's slash",
	      test_types_and_dirs);
	t_run("single byte ranges: 206, 416, If-Range", test_ranges);
	t_run("ETag, Last-Modified, If-None-Match, If-Modified-Since: 304",
	      test_conditional);
	t_run("HTTP dates: the three forms, formatted back", test_dates);
	t_run("partial writes with a slow reader", test_partial_writes);
	t_run("pipelined responses through small buffers",
	      test_pipelined_partial);
	t_run("partial writes and EINTR, injected", test_injected_partial);
	t_run("file shrinking under sendfile is -EIO", test_file_shrinks);
	t_run("peer gone is -EPIPE/-ECONNRESET", test_peer_gone);
	t_run("name checks and HTTP/1.0", test_config);
	tree_cleanup();
	if (listener >= 0)
		close(listener);
	return t_done();
}
