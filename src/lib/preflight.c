/* `prism check`'s probes (preflight.h). */
#include "lib/preflight.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "lib/auth.h"
#include "lib/tlsconn.h"

void pf_init(struct preflight *p, FILE *out)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
}

static void line(struct preflight *p, const char *tag, const char *what,
		 const char *fix, const char *fmt, va_list ap)
{
	fprintf(p->out, "%-5s %s: ", tag, what);
	vfprintf(p->out, fmt, ap);
	if (fix)
		fprintf(p->out, "; fix: %s", fix);
	fputc('\n', p->out);
	fflush(p->out);
}

void pf_ok(struct preflight *p, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(p, "ok", what, NULL, fmt, ap);
	va_end(ap);
}

void pf_warn(struct preflight *p, const char *what, const char *fix,
	     const char *fmt, ...)
{
	va_list ap;

	p->warned++;
	va_start(ap, fmt);
	line(p, "warn", what, fix, fmt, ap);
	va_end(ap);
}

void pf_fail(struct preflight *p, const char *what, const char *fix,
	     const char *fmt, ...)
{
	va_list ap;

	if (p->soft)
		p->warned++;
	else
		p->failed++;
	va_start(ap, fmt);
	line(p, p->soft ? "warn" : "FAIL", what, fix, fmt, ap);
	va_end(ap);
}

int pf_done(struct preflight *p, const char *role)
{
	if (p->failed)
		fprintf(p->out,
			"%s: %u problem%s, %u warning%s: the %s cannot "
			"run here yet\n",
			role, p->failed, p->failed == 1 ? "" : "s", p->warned,
			p->warned == 1 ? "" : "s", role);
	else
		fprintf(p->out, "%s: ready (%u warning%s)\n", role, p->warned,
			p->warned == 1 ? "" : "s");
	return p->failed ? 1 : 0;
}

void pf_tcp_repair(struct preflight *p)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1, err = 0;

	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (!err)
		pf_ok(p, "tcp-repair", "TCP_REPAIR available");
	else if (err == EPERM)
		pf_fail(p, "tcp-repair",
			"run as root, or grant CAP_NET_ADMIN (systemd: "
			"AmbientCapabilities=CAP_NET_ADMIN)",
			"TCP_REPAIR refused: this process lacks CAP_NET_ADMIN");
	else
		pf_fail(p, "tcp-repair",
			"a Linux kernel with TCP_REPAIR (3.5+)",
			"TCP_REPAIR: %s", strerror(err));
}

void pf_raw_socket(struct preflight *p, const char *why)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd >= 0) {
		close(fd);
		pf_ok(p, "raw-socket", "available (%s)", why);
	} else if (errno == EPERM) {
		pf_fail(p, "raw-socket",
			"run as root, or grant CAP_NET_RAW (systemd: "
			"AmbientCapabilities=CAP_NET_RAW)",
			"refused: this process lacks CAP_NET_RAW (%s)", why);
	} else {
		pf_fail(p, "raw-socket", NULL, "socket(SOCK_RAW): %s (%s)",
			strerror(errno), why);
	}
}

/* Whether CAP is in this process's effective set (capget(2) directly:
 * no libcap for one bit). */
static int cap_effective(int cap, bool *has)
{
	struct __user_cap_header_struct hdr = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*has = data[cap / 32].effective & (1u << (cap % 32));
	return 0;
}

void pf_capability(struct preflight *p, int cap, const char *name,
		   const char *why)
{
	char fix[160];
	bool has = false;
	int err = cap_effective(cap, &has);

	snprintf(fix, sizeof(fix),
		 "run as root, or grant it (systemd: AmbientCapabilities=%s)",
		 name);
	if (err)
		pf_fail(p, name, fix, "capget: %s", strerror(-err));
	else if (!has)
		pf_fail(p, name, fix, "missing: %s", why);
	else
		pf_ok(p, name, "effective (%s)", why);
}

void pf_key(struct preflight *p, const char *path)
{
	struct auth_key key;
	struct stat st;
	char fix[400];
	int err;

	err = auth_key_load(path, &key);
	auth_key_clear(&key);
	/* Never advise a new secret for a key that exists: a host with its
	 * own would disagree with every other. */
	if (err == -EACCES)
		snprintf(fix, sizeof(fix),
			 "let the daemon's user read it, keeping its bytes: "
			 "chown root:prism %s; chmod 0640 %s",
			 path, path);
	else
		snprintf(fix, sizeof(fix),
			 "one secret of %d-%d bytes, made once and copied to "
			 "every host: (umask 027; head -c 32 /dev/urandom > "
			 "%s)",
			 AUTH_KEY_MIN, AUTH_KEY_MAX, path);
	if (err == -EINVAL || err == -E2BIG) {
		pf_fail(p, "key", fix, "%s: %s than the %d-%d bytes a key has",
			path, err == -EINVAL ? "shorter" : "longer",
			AUTH_KEY_MIN, AUTH_KEY_MAX);
		return;
	}
	if (err) {
		pf_fail(p, "key", fix, "%s: %s", path, strerror(-err));
		return;
	}
	if (!stat(path, &st) && (st.st_mode & S_IROTH)) {
		pf_warn(p, "key", "chmod o-rwx on it",
			"%s: readable by every user of this host", path);
		return;
	}
	pf_ok(p, "key", "%s loads", path);
}

/* A TCP connection to TO within TIMEOUT_MS: 0 or an errno. */
static int tcp_connect_within(const struct sockaddr_in *to, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) &&
	    errno != EINPROGRESS)
		err = errno;
	else if (poll(&pfd, 1, timeout_ms) != 1)
		err = errno == EINTR ? EINTR : ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	close(fd);
	return err;
}

/* Whether something accepts TCP connections on ADDR (0.0.0.0: on the
 * loopback), within a moment: a daemon running already. */
static bool tcp_listening(const struct sockaddr_in *addr)
{
	struct sockaddr_in to = *addr;

	if (to.sin_addr.s_addr == htonl(INADDR_ANY))
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return tcp_connect_within(&to, 200) == 0;
}

/* Binds as the daemons do (lib/net.c: TCP with SO_REUSEADDR and
 * SO_REUSEPORT, so that restored sockets in TIME_WAIT on the port do not
 * count; UDP with neither): 0 or an errno. */
static int try_bind(const struct sockaddr_in *addr, int type)
{
	int fd = socket(AF_INET, type, 0), one = 1, err = 0;

	if (fd < 0)
		return errno;
	if (type == SOCK_STREAM &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))))
		err = errno;
	if (!err && bind(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		err = errno;
	close(fd);
	return err;
}

void pf_bindable(struct preflight *p, const char *what,
		 const struct sockaddr_in *addr, int type)
{
	const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
	char ip[INET_ADDRSTRLEN], fix[200];
	unsigned port = ntohs(addr->sin_port);
	int err;

	inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip));
	err = try_bind(addr, type);
	if (!err && type == SOCK_STREAM && tcp_listening(addr))
		err = EADDRINUSE;
	if (!err) {
		pf_ok(p, what, "%s %s:%u free", proto, ip, port);
	} else if (err == EADDRNOTAVAIL) {
		snprintf(fix, sizeof(fix), "ip addr add %s/32 dev lo (or on the "
					   "interface that should own it)",
			 ip);
		pf_fail(p, what, fix, "%s is not an address of this host", ip);
	} else if (err == EADDRINUSE) {
		pf_fail(p, what, "stop what holds it (ss -lnp), or pick another port",
			"%s %s:%u in use (is a daemon already running here?)",
			proto, ip, port);
	} else if (err == EACCES) {
		pf_fail(p, what,
			"run as root, or grant CAP_NET_BIND_SERVICE (systemd: "
			"AmbientCapabilities=CAP_NET_BIND_SERVICE)",
			"%s port %u is below 1024 and this process may not bind it",
			proto, port);
	} else {
		pf_fail(p, what, NULL, "%s %s:%u: bind: %s", proto, ip, port,
			strerror(err));
	}
}

void pf_route(struct preflight *p, const char *what,
	      const struct sockaddr_in *to)
{
	struct sockaddr_in src;
	socklen_t len = sizeof(src);
	char ip[INET_ADDRSTRLEN], via[INET_ADDRSTRLEN], fix[160];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	/* A UDP connect sends nothing: it only asks the routing table. */
	if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof(*to)) ||
	    getsockname(fd, (struct sockaddr *)&src, &len))
		err = errno;
	if (fd >= 0)
		close(fd);
	inet_ntop(AF_INET, &to->sin_addr, ip, sizeof(ip));
	if (err) {
		snprintf(fix, sizeof(fix),
			 "ip route add %s via GATEWAY (or a "
			 "default route)",
			 ip);
		pf_fail(p, what, fix, "no route to %s: %s", ip, strerror(err));
		return;
	}
	inet_ntop(AF_INET, &src.sin_addr, via, sizeof(via));
	pf_ok(p, what, "route to %s (from %s)", ip, via);
}

void pf_tcp_answers(struct preflight *p, const char *what,
		    const struct sockaddr_in *to, int timeout_ms)
{
	int err = tcp_connect_within(to, timeout_ms);
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &to->sin_addr, ip, sizeof(ip));
	if (err)
		pf_warn(p, what, "start it, or check the firewall between",
			"%s:%u does not answer (%s)", ip, ntohs(to->sin_port),
			strerror(err));
	else
		pf_ok(p, what, "%s:%u answers", ip, ntohs(to->sin_port));
}

void pf_dir(struct preflight *p, const char *what, const char *path,
	    bool writable)
{
	struct stat st;
	int mode = R_OK | X_OK | (writable ? W_OK : 0);

	char parent[PATH_MAX];

	snprintf(parent, sizeof(parent), "%s", path);
	if (stat(path, &st) && errno == ENOENT && writable &&
	    !access(dirname(parent), W_OK | X_OK))
		pf_ok(p, what, "%s will be made at start", path);
	else if (stat(path, &st))
		pf_fail(p, what, writable ? "mkdir -p it" : NULL, "%s: %s",
			path, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		pf_fail(p, what, NULL, "%s is not a directory", path);
	else if (access(path, mode))
		pf_fail(p, what, "chown it to the daemon's user",
			"%s: this process may not %s it", path,
			writable ? "write" : "read");
	else
		pf_ok(p, what, "%s %s", path,
		      writable ? "writable" : "readable");
}

int pf_sysctl(const char *path, long *v)
{
	char full[256], buf[32];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*v = strtol(buf, NULL, 10);
	return 0;
}

/* The chain and key load and match, as the daemon would load them. */
void pf_tls_pair(struct preflight *p, const char *cert, const char *key)
{
	SSL_CTX *ctx = tlsconn_server_ctx(cert, key);

	if (!ctx) {
		pf_fail(p, "tls",
			"a PEM chain (server certificate first) and "
			"its key, readable by the daemon",
			"%s with %s does not load (the reason is above)", cert,
			key);
		return;
	}
	SSL_CTX_free(ctx);
	pf_ok(p, "tls", "%s with %s loads", cert, key);
}

void pf_writable(struct preflight *p, const char *what, const char *path)
{
	char parent[PATH_MAX];

	snprintf(parent, sizeof(parent), "%s", path);
	if (!access(path, W_OK))
		pf_ok(p, what, "%s writable", path);
	else if (errno == ENOENT && !access(dirname(parent), W_OK | X_OK))
		pf_ok(p, what, "%s can be made", path);
	else
		pf_fail(p, what, "a path in a folder the daemon's user may "
				 "write (under systemd's ProtectSystem=strict: "
				 "a ReadWritePaths= or LogsDirectory= one)",
			"%s: %s", path, strerror(errno));
}
