/* The testbed, Prism, nginx and HAProxy for the end-to-end benchmarks; see
 * bench_env.h.  Prism is started and stopped through the same functions
 * as `prism up` / `prism down`; the testbed through testbed_up/down, which
 * also kills whatever is left in its namespaces. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/bench_env.h"
#include "lab/lab.h"
#include "lib/proc.h"

#define PROXY_READY_MS 5000

volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

void bench_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a blocking read returns EINTR and the loops see
	 * bench_stop.  wrk gets the terminal's SIGINT too and ends early. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void bench_backend_ip(int i, char *buf, size_t len)
{
	snprintf(buf, len, "198.18.%u.2", (unsigned int)(10 + i) & 255u);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- running things inside a host ---- */

pid_t bench_fork(const struct bench_env *e, const char *host, int *out_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (testbed_enter(e->name, host))
			_exit(126);
		return 0;
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

pid_t bench_spawn(const struct bench_env *e, const char *host,
		  char *const argv[], int *out_fd)
{
	pid_t pid = bench_fork(e, host, out_fd);

	if (pid != 0)
		return pid;
	execvp(argv[0], argv);
	fprintf(stderr, "prism bench: exec %s in %s-%s: %s\n", argv[0],
		e->name, host, strerror(errno));
	_exit(127);
}

int bench_collect(pid_t pid, int fd, char *buf, size_t len)
{
	size_t off = 0;
	char sink[4096];
	int status;
	ssize_t n;

	for (;;) {
		if (off + 1 < len)
			n = read(fd, buf + off, len - 1 - off);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue; /* the child gets the signal too and ends */
		if (n <= 0)
			break;
		if (off + 1 < len)
			off += (size_t)n;
	}
	buf[off] = 0;
	close(fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status)
				 : 128 + WTERMSIG(status);
}

/* The value of FIELD in the "PREFIX: names" / "PREFIX: values" line pair
 * of a /proc/net/snmp-style text. */
static int snmp_field(const char *text, const char *prefix, const char *field,
		      uint64_t *out)
{
	size_t plen = strlen(prefix);
	const char *names = NULL, *vals = NULL, *p;
	int col = -1, i = 0;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, plen) && p[plen] == ':') {
			if (!names)
				names = p + plen + 1;
			else {
				vals = p + plen + 1;
				break;
			}
		}
	if (!names || !vals)
		return -ENOENT;
	for (p = names; *p && *p != '\n'; i++) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " \n");
		if (n == strlen(field) && !strncmp(p, field, n)) {
			col = i;
			break;
		}
		p += n;
	}
	if (col < 0)
		return -ENOENT;
	for (p = vals, i = 0; i <= col; i++) {
		char *end;

		*out = strtoull(p, &end, 10);
		if (end == p)
			return -ENOENT;
		p = end;
	}
	return 0;
}

int bench_tcp_read(const struct bench_env *e, const char *host,
		   struct bench_tcp *c)
{
	char *argv[] = { "cat", "/proc/net/snmp", "/proc/net/netstat", NULL };
	static char text[65536];
	int fd, rc;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	pid = bench_spawn(e, host, argv, &fd);
	if (pid < 0)
		return (int)pid;
	rc = bench_collect(pid, fd, text, sizeof(text));
	if (rc != 0)
		return rc < 0 ? rc : -EIO;
	rc = snmp_field(text, "Tcp", "RetransSegs", &c->retrans);
	if (!rc)
		rc = snmp_field(text, "Tcp", "EstabResets", &c->resets);
	if (!rc)
		rc = snmp_field(text, "TcpExt", "TCPTimeouts", &c->timeouts);
	if (!rc)
		rc = snmp_field(text, "TcpExt", "TCPDSACKOldSent", &c->dups);
	if (!rc)
		rc = snmp_field(text, "TcpExt", "TCPWinProbe", &c->winprobes);
	if (!rc)
		rc = snmp_field(text, "IpExt", "OutOctets", &c->out_octets);
	if (rc)
		fprintf(stderr, "prism bench: %s-%s: TCP counters missing in "
				"/proc/net/snmp, netstat\n", e->name, host);
	return rc;
}

int bench_ctrl_counter(const struct bench_env *e, const char *name,
		       uint64_t *value)
{
	char *argv[] = { "curl", "-s", "-m", "3",
			 "http://127.0.0.1:9900/metrics", NULL };
	static char text[1 << 17];
	size_t n = strlen(name);
	unsigned long long v;
	const char *p;
	int fd, rc;
	pid_t pid = bench_spawn(e, "controller", argv, &fd);

	if (pid < 0)
		return (int)pid;
	rc = bench_collect(pid, fd, text, sizeof(text));
	if (rc != 0)
		return rc < 0 ? rc : -EIO;
	*value = 0;
	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) || (p[n] != ' ' && p[n] != '{'))
			continue;
		const char *sp = strchr(p, ' ');

		if (sp && sscanf(sp, " %llu", &v) == 1)
			*value += v;
	}
	return 0;
}

int bench_link_bytes(const struct bench_env *e, const char *host,
		     uint64_t *bytes)
{
	char *argv[] = { "cat", "/proc/net/dev", NULL };
	static char text[16384];
	unsigned long long rx, tx;
	const char *p;
	int fd, rc;
	pid_t pid = bench_spawn(e, host, argv, &fd);

	if (pid < 0)
		return (int)pid;
	rc = bench_collect(pid, fd, text, sizeof(text));
	if (rc != 0)
		return rc < 0 ? rc : -EIO;
	/* "  eth0: rx_bytes packets errs drop fifo frame compressed
	 * multicast tx_bytes ..." */
	p = strstr(text, "eth0:");
	if (!p || sscanf(p + 5, "%llu %*u %*u %*u %*u %*u %*u %*u %llu", &rx,
			 &tx) != 2) {
		fprintf(stderr, "prism bench: %s-%s: no eth0 in /proc/net/dev\n",
			e->name, host);
		return -ENOENT;
	}
	*bytes = rx + tx;
	return 0;
}

/* ---- nginx ---- */

static int write_nginx_conf(const struct bench_env *e, const char *path)
{
	char ip[INET_ADDRSTRLEN], tls[512] = "";
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	/* TLS as Prism does it: 1.3 and 1.2, the testbed's certificate. */
	if (e->tls)
		snprintf(tls, sizeof(tls),
			 "    listen %s:%d ssl;\n"
			 "    ssl_certificate %s/%s/tls/cert.pem;\n"
			 "    ssl_certificate_key %s/%s/tls/key.pem;\n"
			 "    ssl_protocols TLSv1.2 TLSv1.3;\n",
			 BENCH_PROXY_IP, BENCH_NGINX_TLS_PORT, TESTBED_STATE_DIR,
			 e->name, TESTBED_STATE_DIR, e->name);
	/* One worker, like the single-threaded controller; a keep-alive
	 * upstream; responses buffered in memory only (no temp files, which
	 * would measure the disk); request bodies of any size streamed to
	 * the upstream as they arrive (the upload workload), not spooled. */
	fprintf(f,
		"worker_processes 1;\n"
		"pid %1$s/nginx.pid;\n"
		"error_log %1$s/error.log warn;\n"
		"events { worker_connections 1024; }\n"
		"http {\n"
		"  access_log off;\n"
		"  client_max_body_size 0;\n"
		"  client_body_buffer_size 256k;\n"
		"  client_body_temp_path %1$s/body;\n"
		"  proxy_temp_path %1$s/proxy;\n"
		"  fastcgi_temp_path %1$s/fastcgi;\n"
		"  uwsgi_temp_path %1$s/uwsgi;\n"
		"  scgi_temp_path %1$s/scgi;\n"
		"  upstream backends {\n",
		e->tmp);
	for (int i = 1; i <= e->tb.backends; i++) {
		bench_backend_ip(i, ip, sizeof(ip));
		fprintf(f, "    server %s:80;\n", ip);
	}
	fprintf(f,
		"    keepalive 64;\n"
		"  }\n"
		"  server {\n"
		"    listen %s:%d;\n"
		"%s"
		"    keepalive_requests 1000000;\n"
		"    location / {\n"
		"      proxy_pass http://backends;\n"
		"      proxy_http_version 1.1;\n"
		"      proxy_set_header Connection \"\";\n"
		"      proxy_buffers 64 64k;\n"
		"      proxy_max_temp_file_size 0;\n"
		"      proxy_request_buffering off;\n"
		"    }\n"
		"  }\n"
		"}\n",
		BENCH_PROXY_IP, BENCH_NGINX_PORT, tls);
	return fclose(f) ? -errno : 0;
}

/* Forks ARGV inside the proxy host, its output in LOG; ready once PIDF
 * exists: nginx writes it once its listeners are open, HAProxy's master
 * (-W) once it has bound them and started its worker. */
static int start_proxy(struct bench_env *e, const char *what,
		       char *const argv[], const char *pidf, const char *log,
		       pid_t *out)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setsid(); /* stopped by us, not by the terminal's ^C */
		if (testbed_enter(e->name, "proxy"))
			_exit(126);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*out = pid;
	for (int ms = 0; ms < PROXY_READY_MS; ms += 20) {
		if (!access(pidf, F_OK))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			*out = 0;
			fprintf(stderr, "prism bench: %s in %s-proxy exited "
					"(see %s)\n", what, e->name, log);
			return -ECHILD;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "prism bench: %s not ready after %d ms (see %s)\n",
		what, PROXY_READY_MS, log);
	return -ETIMEDOUT;
}

static int start_nginx(struct bench_env *e)
{
	char conf[128], pidf[128], log[128];
	char *argv[] = { "nginx", "-c", conf, "-g", "daemon off;", NULL };

	snprintf(conf, sizeof(conf), "%s/nginx.conf", e->tmp);
	snprintf(pidf, sizeof(pidf), "%s/nginx.pid", e->tmp);
	snprintf(log, sizeof(log), "%s/nginx.out", e->tmp);
	if (write_nginx_conf(e, conf))
		return -errno;
	return start_proxy(e, "nginx", argv, pidf, log, &e->nginx);
}

static void stop_proxy(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		sleep_ms(10);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

/* ---- HAProxy ---- */

/* Like nginx: one thread, keep-alive to the backends with every idle
 * server connection shared by all clients (http-reuse always), no
 * logging, requests and responses streamed. */
static int write_haproxy_conf(const struct bench_env *e, const char *path)
{
	char ip[INET_ADDRSTRLEN];
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f,
		"global\n"
		"  nbthread 1\n"
		"  maxconn 4096\n"
		"  pidfile %s/haproxy.pid\n"
		"defaults\n"
		"  mode http\n"
		"  option http-keep-alive\n"
		"  http-reuse always\n"
		"  timeout connect 5s\n"
		"  timeout client 60s\n"
		"  timeout server 60s\n"
		"  timeout http-keep-alive 60s\n"
		"frontend web\n"
		"  bind %s:%d\n"
		"  default_backend backends\n",
		e->tmp, BENCH_PROXY_IP, BENCH_HAPROXY_PORT);
	if (e->tls)
		fprintf(f, "frontend web_tls\n"
			   "  bind %s:%d ssl crt %s/haproxy.pem "
			   "ssl-min-ver TLSv1.2\n"
			   "  default_backend backends\n",
			BENCH_PROXY_IP, BENCH_HAPROXY_TLS_PORT, e->tmp);
	fprintf(f, "backend backends\n"
		   "  balance roundrobin\n");
	for (int i = 1; i <= e->tb.backends; i++) {
		bench_backend_ip(i, ip, sizeof(ip));
		fprintf(f, "  server b%d %s:80\n", i, ip);
	}
	return fclose(f) ? -errno : 0;
}

/* HAProxy wants certificate chain and key in one file. */
static int haproxy_pem(const struct bench_env *e)
{
	static const char *const parts[] = { "cert.pem", "key.pem" };
	char path[512], buf[4096];
	FILE *out, *in;
	size_t n;
	int err = 0;

	snprintf(path, sizeof(path), "%s/haproxy.pem", e->tmp);
	out = fopen(path, "w");
	if (!out)
		return -errno;
	for (int i = 0; i < 2 && !err; i++) {
		snprintf(path, sizeof(path), "%s/%s/tls/%s", TESTBED_STATE_DIR,
			 e->name, parts[i]);
		in = fopen(path, "r");
		if (!in) {
			err = -errno;
			break;
		}
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(in);
	}
	if (fclose(out) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "prism bench: %s: %s\n", path, strerror(-err));
	return err;
}

static int start_haproxy(struct bench_env *e)
{
	char conf[128], pidf[128], log[128];
	char *argv[] = { "haproxy", "-W", "-db", "-f", conf, NULL };

	snprintf(conf, sizeof(conf), "%s/haproxy.cfg", e->tmp);
	snprintf(pidf, sizeof(pidf), "%s/haproxy.pid", e->tmp);
	snprintf(log, sizeof(log), "%s/haproxy.out", e->tmp);
	if (e->tls && haproxy_pem(e))
		return -EIO;
	if (write_haproxy_conf(e, conf))
		return -errno;
	return start_proxy(e, "haproxy", argv, pidf, log, &e->haproxy);
}

/* ---- the environment ---- */

/* Runs a `prism` subcommand with its stdout sent to stderr, so that
 * --json output stays clean.  STORE adds `--store --no-fsync`, TLS
 * `--tls`. */
static int run_quiet(int (*cmd)(int, char **), const char *sub,
		     const char *name, bool store, bool tls)
{
	char *argv[8] = { (char *)sub, "--name", (char *)name };
	int save, rc, argc = 3;

	if (store) {
		argv[argc++] = "--store";
		argv[argc++] = "--no-fsync";
	}
	if (tls)
		argv[argc++] = "--tls";
	fflush(stdout);
	save = dup(1);
	dup2(2, 1);
	rc = cmd(argc, argv);
	fflush(stdout);
	if (save >= 0) {
		dup2(save, 1);
		close(save);
	}
	return rc;
}

static int set_initcwnd(const struct bench_env *e, int initcwnd)
{
	char ns[64], via[32], cw[16];
	int rc;

	snprintf(cw, sizeof(cw), "%d", initcwnd);
	for (int i = 1; i <= e->tb.backends; i++) {
		snprintf(ns, sizeof(ns), "%s-b%d", e->name, i);
		snprintf(via, sizeof(via), "198.18.%d.1", 10 + i);
		rc = proc_runl(NULL, "ip", "-n", ns, "route", "change",
			       "198.18.0.0/15", "via", via, "dev", "eth0",
			       "initcwnd", cw, PROC_END);
		if (rc) {
			fprintf(stderr, "prism bench: %s: ip route change "
					"initcwnd %s: exit %d\n", ns, cw, rc);
			return -EIO;
		}
	}
	return 0;
}

static void store_dir(const struct bench_env *e, int i, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s/%s/store-b%d", TESTBED_STATE_DIR, e->name, i);
}

/* Only regular files live in a store: objects and .tmp.* files (an
 * upload cut by the end of a run keeps its fd open until the backend's
 * idle timeout; unlinking under it is safe). */
static int wipe_dir(const char *dir)
{
	struct dirent *d;
	int err = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return 0; /* not created (yet) */
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (unlinkat(dirfd(dp), d->d_name, 0) < 0 && errno != ENOENT &&
		    !err) {
			err = -errno;
			fprintf(stderr, "prism bench: %s/%s: unlink: %s\n", dir,
				d->d_name, strerror(errno));
		}
	}
	closedir(dp);
	return err;
}

int bench_env_loss(struct bench_env *e, double pct)
{
	int err;

	if (pct <= 0)
		return 0;
	err = testbed_loss_all(&e->tb, pct);
	if (err)
		fprintf(stderr, "prism bench: loss %g%%: %s\n", pct,
			strerror(-err));
	return err;
}

int bench_store_wipe(const struct bench_env *e)
{
	char dir[256];
	int err = 0, rc;

	for (int i = 1; i <= e->tb.backends; i++) {
		store_dir(e, i, dir, sizeof(dir));
		rc = wipe_dir(dir);
		err = err ? err : rc;
	}
	return err;
}

/* `prism down` keeps a store: one left by `prism up --store` on a testbed
 * of this name is somebody's data, which the bench must not fill and
 * remove.  1 (and a message) if one exists. */
static int stores_in_use(struct bench_env *e)
{
	char dir[256];

	for (int i = 1; i <= e->tb.backends; i++) {
		store_dir(e, i, dir, sizeof(dir));
		if (access(dir, F_OK) == 0) {
			fprintf(stderr, "prism bench: %s exists (data of an "
					"earlier 'prism up --store'?); remove "
					"it or pass --name\n", dir);
			e->store = false; /* not ours: left in place */
			return 1;
		}
	}
	return 0;
}

/* The stores are benchmark data: removed, unlike the daemons' logs. */
static void remove_stores(const struct bench_env *e)
{
	char dir[256];

	bench_store_wipe(e);
	for (int i = 1; i <= e->tb.backends; i++) {
		store_dir(e, i, dir, sizeof(dir));
		rmdir(dir);
	}
}

int bench_env_up(struct bench_env *e, const char *name, int backends,
		 int link_mbit, int initcwnd)
{
	return bench_env_up_opt(e, name, backends, link_mbit, initcwnd, 0);
}

int bench_env_up_opt(struct bench_env *e, const char *name, int backends,
		     int link_mbit, int initcwnd, unsigned int flags)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->store = flags & BENCH_ENV_STORE;
	e->tls = flags & BENCH_ENV_TLS;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->tmp, sizeof(e->tmp), "/tmp/prism-bench.XXXXXX");
	if (!testbed_name_valid(name) || strlen(name) > TESTBED_NAME_MAX) {
		fprintf(stderr, "prism bench: bad testbed name '%s'\n", name);
		e->tmp[0] = 0;
		return -EINVAL;
	}
	if (testbed_load(name, &e->tb) != -ENOENT) {
		/* Never rebuild somebody's testbed under them. */
		fprintf(stderr, "prism bench: testbed '%s' exists; remove it "
				"('prism testbed down --name %s') or pass "
				"--name\n", name, name);
		e->tmp[0] = 0;
		return -EEXIST;
	}
	if (!mkdtemp(e->tmp)) {
		err = -errno;
		e->tmp[0] = 0;
		fprintf(stderr, "prism bench: mkdtemp: %s\n", strerror(-err));
		return err;
	}
	/* PRISM_MODE=host: a router fabric, Prism in host mode (prism up
	 * reads it too). */
	e->tb = (struct testbed){ .backends = backends, .link_mbit = link_mbit,
				  .client_mbit = backends * link_mbit,
				  .router = getenv("PRISM_MODE") &&
					    !strcmp(getenv("PRISM_MODE"),
						    "host") };
	snprintf(e->tb.name, sizeof(e->tb.name), "%s", name);
	if (e->store && stores_in_use(e))
		return -EEXIST;
	e->tb_up = true;
	err = testbed_up(&e->tb);
	if (!err && initcwnd > 0)
		err = set_initcwnd(e, initcwnd);
	if (err || bench_stop)
		return err ? err : -EINTR;
	e->prism_up = true;
	if (run_quiet(cmd_up, "up", name, e->store, e->tls)) {
		fprintf(stderr, "prism bench: prism up on testbed %s failed\n",
			name);
		return -EIO;
	}
	err = bench_stop ? -EINTR : start_nginx(e);
	if (!err && (flags & BENCH_ENV_HAPROXY))
		err = bench_stop ? -EINTR : start_haproxy(e);
	return err;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void bench_env_down(struct bench_env *e)
{
	stop_proxy(&e->nginx);
	stop_proxy(&e->haproxy);
	if (e->prism_up) {
		/* Like `prism down`, this keeps the daemons' logs. */
		run_quiet(cmd_down, "down", e->name, false, false);
		fprintf(stderr, "prism bench: daemon logs in %s/%s/\n",
			TESTBED_STATE_DIR, e->name);
	}
	e->prism_up = false;
	if (e->store)
		remove_stores(e);
	e->store = false;
	if (e->tb_up)
		testbed_down(e->name);
	e->tb_up = false;
	if (e->tmp[0])
		nftw(e->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	e->tmp[0] = 0;
}

/* ---- results ---- */

static int mkdir_p(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int bench_results_dir(const char *kind, const char *out, char *buf,
		      size_t len)
{
	time_t now = time(NULL);
	char stamp[32];
	int err;

	if (out)
		snprintf(buf, len, "%s", out);
	else {
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S",
			 localtime(&now));
		snprintf(buf, len, "results/bench-%s-%s", kind, stamp);
	}
	err = mkdir_p(buf);
	if (err)
		fprintf(stderr, "prism bench: mkdir %s: %s\n", buf,
			strerror(-err));
	return err;
}

int bench_gnuplot(const char *dir, const char *script)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(2, 1);
		if (chdir(dir) == 0)
			execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "prism bench: gnuplot %s/%s failed (status "
				"%d); the CSV stands\n", dir, script, status);
		return -EIO;
	}
	return 0;
}

/* ---- sizes ---- */

int bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || !isdigit((unsigned char)*s))
		return -EINVAL;
	switch (tolower((unsigned char)*end)) {
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	default: break;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end || v > (1ULL << 40) >> shift)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

void bench_size_label(uint64_t size, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB" };
	int u = 0;

	while (u < 3 && size >= 1024 && size % 1024 == 0) {
		size /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)size, unit[u]);
}
