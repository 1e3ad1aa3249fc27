/* `prism up`, `prism down`, `prism status`: run Prism inside the testbed.
 *
 * up: the switch agent in the fabric (attached to every fabric interface),
 * one backend per backend host, the controller on the VIP, all sharing a
 * fresh HMAC key; logs, pid files and the key in one run folder
 * (/run/prism/NAME/).  Returns once every component is ready, or stops
 * them all and prints the failing one's log tail.
 *
 * up --store: an object store (docs/store.md): every backend keeps objects
 * in RUNDIR/store-bI (kept by `prism down`), and the controller places
 * each key with --policy hash-uri. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab/testbed.h"
#include "lab/tlscert.h"
#include "lib/adminsrv.h"

#define UP_SWITCH_PORT 7700
#define UP_HANDOFF_PORT 7800
#define UP_READY_MS 10000
#define UP_MAX_ARGS 96
#define UP_ARG_MAX 256 /* the longest argument (a --root path) */
#define UP_CTRL_ARGS 16
#define UP_TLS_NAME "prism.test" /* the VIP's name in its certificate */

struct run {
	char name[TESTBED_NAME_MAX + 1];
	char dir[256];
	struct testbed tb;
	bool debug;
	bool store, no_fsync; /* up --store [--no-fsync] */
	bool tls;             /* up --tls: HTTPS on VIP:443 too */
	/* up --mode host (or PRISM_MODE=host; the default on a router
	 * fabric): an agent on the controller's and each backend's host, none
	 * on the fabric (docs/switch.md, host mode).  RUN/mode keeps it for
	 * down and status. */
	bool host;
	char root[PATH_MAX];  /* up --root DIR: every backend serves DIR */
	/* up --controller-arg ARG...: appended to the controller's options */
	const char *ctrl_args[UP_CTRL_ARGS];
	int n_ctrl_args;
};

static void run_path(const struct run *r, const char *comp, const char *ext,
		     char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", r->dir, comp, ext);
}

static int write_key(const struct run *r)
{
	unsigned char raw[32];
	char hex[65], path[300];
	int fd;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", raw[i]);
	run_path(r, "key", "", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, hex, 64) != 64) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* In the child: the fabric's interfaces, comma-separated, for --iface. */
static int fabric_ifaces(char *buf, size_t len)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	size_t off = 0;

	if (!ifs)
		return -errno;
	buf[0] = 0;
	for (i = ifs; i->if_index; i++) {
		if (!strcmp(i->if_name, "lo"))
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", i->if_name);
		if (off >= len)
			break;
	}
	if_freenameindex(ifs);
	return off && off < len ? 0 : -ENOENT;
}

/* Forks COMP into HOST's namespace as a daemon; argv[0] is replaced by this
 * binary.  "@IFACES@" in argv is replaced by the fabric's interfaces. */
static pid_t spawn(const struct run *r, const char *comp, const char *host,
		   char **argv)
{
	char log[300], ifaces[1024];
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	setsid();
	run_path(r, comp, ".log", log, sizeof(log));
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	/* Daemons keep nothing of ours but stdio. */
	close_range(3, ~0u, 0);
	if (testbed_enter(r->name, host))
		_exit(126);
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], "@IFACES@")) {
			if (fabric_ifaces(ifaces, sizeof(ifaces)))
				_exit(126);
			argv[i] = ifaces;
		}
	execv("/proc/self/exe", argv);
	fprintf(stderr, "exec: %s\n", strerror(errno));
	_exit(127);
}

static int save_pid(const struct run *r, const char *comp, pid_t pid)
{
	char path[300];
	FILE *f;

	run_path(r, comp, ".pid", path, sizeof(path));
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	return 0;
}

static void log_tail(const struct run *r, const char *comp)
{
	char path[300], line[512];
	long pos;
	FILE *f;

	run_path(r, comp, ".log", path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	pos = ftell(f);
	fseek(f, pos > 2048 ? pos - 2048 : 0, SEEK_SET);
	fprintf(stderr, "--- %s (last lines)\n", path);
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  %s", line);
	fclose(f);
}

/* Waits for COMP's ready file; fails early if the process died. */
static int wait_ready(const struct run *r, const char *comp, pid_t pid)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char path[300];
	int status;

	run_path(r, comp, ".ready", path, sizeof(path));
	for (int waited = 0; waited < UP_READY_MS; waited += 20) {
		if (!access(path, F_OK))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "prism up: %s exited (status %d)\n",
				comp, WIFEXITED(status) ? WEXITSTATUS(status)
							 : 128 + WTERMSIG(status));
			log_tail(r, comp);
			return -ECHILD;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "prism up: %s not ready after %d ms\n", comp,
		UP_READY_MS);
	log_tail(r, comp);
	return -ETIMEDOUT;
}

struct args {
	char *v[UP_MAX_ARGS];
	char store[UP_MAX_ARGS][UP_ARG_MAX];
	int n;
};

static void arg(struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void arg(struct args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= UP_MAX_ARGS - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(a->store[a->n], sizeof(a->store[0]), fmt, ap);
	va_end(ap);
	a->v[a->n] = a->store[a->n];
	a->v[++a->n] = NULL;
}

static int start(const struct run *r, const char *comp, const char *host,
		 struct args *a)
{
	pid_t pid;

	if (r->debug)
		arg(a, "--debug");
	pid = spawn(r, comp, host, a->v);
	if (pid < 0)
		return -errno;
	save_pid(r, comp, pid);
	return wait_ready(r, comp, pid);
}

static int start_switch(const struct run *r)
{
	struct args a = { 0 };
	char pin[256];

	testbed_pin_dir(r->name, pin, sizeof(pin));
	arg(&a, "prism");
	arg(&a, "switch");
	arg(&a, "run");
	arg(&a, "--iface");
	arg(&a, "@IFACES@");
	arg(&a, "--key");
	arg(&a, "%s/key", r->dir);
	arg(&a, "--peer");
	arg(&a, "198.18.0.0/15");
	arg(&a, "--pin-dir");
	arg(&a, "%s", pin);
	arg(&a, "--ready-file");
	arg(&a, "%s/switch.ready", r->dir);
	return start(r, "switch", "fabric", &a);
}

/* Host mode: the agent on HOST's own port, its maps pinned where the
 * switch's would be for the controller's host (so `prism switch stats`
 * and `flows` show the client->VIP half of the table by default), in
 * /sys/fs/bpf/NAME-bI for a backend's. */
static int start_host_agent(const struct run *r, const char *host)
{
	struct args a = { 0 };
	char comp[32], pin[256], ip[INET_ADDRSTRLEN];
	bool backend = strcmp(host, "controller") != 0;
	struct in_addr in;

	testbed_host_ip(&r->tb, host, &in);
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	testbed_pin_dir(r->name, pin, sizeof(pin));
	if (backend)
		snprintf(pin + strlen(pin), sizeof(pin) - strlen(pin), "-%s",
			 host);
	snprintf(comp, sizeof(comp), "agent-%s", host);
	arg(&a, "prism");
	arg(&a, "switch");
	arg(&a, "run");
	arg(&a, "--mode");
	arg(&a, "host");
	arg(&a, "--host-role");
	arg(&a, "%s", backend ? "backend" : "controller");
	arg(&a, "--iface");
	arg(&a, "eth0");
	arg(&a, "--key");
	arg(&a, "%s/key", r->dir);
	/* Only this host's own daemon talks to it; the controller's host's
	 * hears from the backends too (a connection given up). */
	arg(&a, "--peer");
	arg(&a, backend ? "%s/32" : "198.18.0.0/15", ip);
	arg(&a, "--listen");
	arg(&a, "%s:%d", ip, UP_SWITCH_PORT);
	arg(&a, "--admin");
	arg(&a, "127.0.0.1:9910"); /* 9900: the daemon; 9901: tests' */
	arg(&a, "--pin-dir");
	arg(&a, "%s", pin);
	arg(&a, "--ready-file");
	arg(&a, "%s/%s.ready", r->dir, comp);
	return start(r, comp, host, &a);
}

static int start_host_agents(const struct run *r)
{
	char host[16];
	int err = start_host_agent(r, "controller");

	for (int i = 1; !err && i <= r->tb.backends; i++) {
		snprintf(host, sizeof(host), "b%d", i);
		err = start_host_agent(r, host);
	}
	return err;
}

/* The fabric's address on HOST's link: HOST's address with .1 at the end. */
static void gateway_of(struct in_addr ip, char *buf, size_t len)
{
	ip.s_addr = (ip.s_addr & htonl(0xffffff00)) | htonl(1);
	inet_ntop(AF_INET, &ip, buf, (socklen_t)len);
}

/* --tls-cert and --tls-key: the run folder's (make_tls). */
static void tls_args(const struct run *r, struct args *a)
{
	arg(a, "--tls-cert");
	arg(a, "%s/tls/cert.pem", r->dir);
	arg(a, "--tls-key");
	arg(a, "%s/tls/key.pem", r->dir);
}

static int start_backend(const struct run *r, int i)
{
	struct args a = { 0 };
	char host[16], ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct in_addr in;

	snprintf(host, sizeof(host), "b%d", i);
	testbed_host_ip(&r->tb, host, &in);
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	gateway_of(in, gw, sizeof(gw));
	arg(&a, "prism");
	arg(&a, "backend");
	arg(&a, "--name");
	arg(&a, "%s", host);
	arg(&a, "--listen");
	arg(&a, "%s:80", ip);
	arg(&a, "--handoff-port");
	arg(&a, "%d", UP_HANDOFF_PORT);
	/* Host mode: its own host's agent. */
	arg(&a, "--switch");
	arg(&a, "%s:%d", r->host ? ip : gw, UP_SWITCH_PORT);
	if (r->host) {
		arg(&a, "--mode");
		arg(&a, "host");
		testbed_host_ip(&r->tb, "controller", &in);
		inet_ntop(AF_INET, &in, gw, sizeof(gw));
		arg(&a, "--controller-switch");
		arg(&a, "%s:%d", gw, UP_SWITCH_PORT);
	}
	arg(&a, "--key");
	arg(&a, "%s/key", r->dir);
	arg(&a, "--peer-id");
	arg(&a, "%d", 100 + i);
	if (r->root[0]) {
		arg(&a, "--root");
		arg(&a, "%s", r->root);
	}
	if (r->store) {
		arg(&a, "--store");
		arg(&a, "%s/store-%s", r->dir, host);
		if (r->no_fsync)
			arg(&a, "--no-fsync");
	}
	/* Direct HTTPS to the backend too (the baseline of bench e2e --tls;
	 * hand-offs need none of it). */
	if (r->tls)
		tls_args(r, &a);
	arg(&a, "--ready-file");
	arg(&a, "%s/%s.ready", r->dir, host);
	return start(r, host, host, &a);
}

static int start_controller(const struct run *r)
{
	struct args a = { 0 };
	char host[16], ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct in_addr in;

	testbed_host_ip(&r->tb, "controller", &in);
	gateway_of(in, gw, sizeof(gw));
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	arg(&a, "prism");
	arg(&a, "controller");
	arg(&a, "--listen");
	arg(&a, "%s:80", TESTBED_VIP);
	/* Host mode: its own host's agent. */
	arg(&a, "--switch");
	arg(&a, "%s:%d", r->host ? ip : gw, UP_SWITCH_PORT);
	if (r->host) {
		arg(&a, "--mode");
		arg(&a, "host");
	}
	arg(&a, "--key");
	arg(&a, "%s/key", r->dir);
	for (int i = 1; i <= r->tb.backends; i++) {
		snprintf(host, sizeof(host), "b%d", i);
		testbed_host_ip(&r->tb, host, &in);
		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		arg(&a, "--backend");
		arg(&a, "%s=%s:%d", host, ip, UP_HANDOFF_PORT);
	}
	if (r->store) {
		arg(&a, "--policy");
		arg(&a, "hash-uri");
	}
	/* The test suite and the benchmarks run either delivery mode on
	 * every testbed they bring up (docs/delivery.md). */
	if (getenv("PRISM_DELIVERY")) {
		arg(&a, "--delivery");
		arg(&a, "%s", getenv("PRISM_DELIVERY"));
	}
	if (getenv("PRISM_RELAY_MAX")) {
		arg(&a, "--relay-max");
		arg(&a, "%s", getenv("PRISM_RELAY_MAX"));
	}
	if (r->tls) {
		tls_args(r, &a);
		arg(&a, "--tls-listen");
		arg(&a, "%s:443", TESTBED_VIP);
	}
	for (int i = 0; i < r->n_ctrl_args; i++)
		arg(&a, "%s", r->ctrl_args[i]);
	arg(&a, "--ready-file");
	arg(&a, "%s/controller.ready", r->dir);
	return start(r, "controller", "controller", &a);
}

static const char *components_order(int i, const struct run *r, char *buf,
				    size_t len)
{
	int n = r->tb.backends;

	/* Stop order: controller first (it cleans its switch entries),
	 * then backends, then the switch (host mode: the agents of the
	 * backends' hosts, then the controller's). */
	if (i == 0)
		return "controller";
	if (i <= n) {
		snprintf(buf, len, "b%d", i);
		return buf;
	}
	if (!r->host)
		return i == n + 1 ? "switch" : NULL;
	if (i <= 2 * n) {
		snprintf(buf, len, "agent-b%d", i - n);
		return buf;
	}
	return i == 2 * n + 1 ? "agent-controller" : NULL;
}

/* RUN/mode: what the last `prism up` started (absent: switch mode). */
static bool read_mode(const struct run *r)
{
	char path[300], mode[16] = "";
	FILE *f;

	run_path(r, "mode", "", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(mode, sizeof(mode), f))
		mode[0] = '\0';
	fclose(f);
	return !strncmp(mode, "host", 4);
}

static int write_mode(const struct run *r)
{
	char path[300];
	FILE *f;

	run_path(r, "mode", "", path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", r->host ? "host" : "switch");
	return fclose(f) ? -errno : 0;
}

static pid_t read_pid(const struct run *r, const char *comp)
{
	char path[300];
	FILE *f;
	int pid = 0;

	run_path(r, comp, ".pid", path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

static void stop_one(pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (!alive(pid))
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 300 && alive(pid); i++) {
		waitpid(pid, NULL, WNOHANG);
		nanosleep(&ts, NULL);
	}
	if (alive(pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void stop_all(const struct run *r)
{
	char buf[32], path[300];
	const char *comp;

	for (int i = 0; (comp = components_order(i, r, buf, sizeof(buf))); i++) {
		stop_one(read_pid(r, comp));
		run_path(r, comp, ".pid", path, sizeof(path));
		unlink(path);
		run_path(r, comp, ".ready", path, sizeof(path));
		unlink(path);
	}
}

static int run_open(struct run *r, int argc, char **argv)
{
	const char *flag = NULL, *mode = getenv("PRISM_MODE");
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			flag = argv[++i];
		else if (!strcmp(argv[i], "--debug"))
			r->debug = true;
		else if (!strcmp(argv[i], "--store"))
			r->store = true;
		else if (!strcmp(argv[i], "--no-fsync"))
			r->no_fsync = true;
		else if (!strcmp(argv[i], "--tls"))
			r->tls = true;
		else if (!strcmp(argv[i], "--mode") && i + 1 < argc &&
			 (!strcmp(argv[i + 1], "switch") ||
			  !strcmp(argv[i + 1], "host")))
			mode = argv[++i];
		else if (!strcmp(argv[i], "--controller-arg") && i + 1 < argc &&
			 r->n_ctrl_args < UP_CTRL_ARGS &&
			 strlen(argv[i + 1]) < UP_ARG_MAX)
			r->ctrl_args[r->n_ctrl_args++] = argv[++i];
		else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			/* absolute: the backends run from another folder */
			errno = 0;
			if (!realpath(argv[++i], r->root) ||
			    strlen(r->root) >= UP_ARG_MAX) {
				fprintf(stderr, "prism: --root %s: %s\n",
					argv[i],
					errno ? strerror(errno) : "too long");
				return -EINVAL;
			}
		} else {
			fprintf(stderr, "prism: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		}
	}
	err = testbed_resolve_name(flag, r->name, sizeof(r->name));
	if (err)
		return err;
	snprintf(r->dir, sizeof(r->dir), "%s/%s", TESTBED_STATE_DIR, r->name);
	err = testbed_load(r->name, &r->tb);
	if (err == -ENOENT)
		fprintf(stderr, "prism: no testbed '%s' (run 'prism testbed up' "
				"first)\n", r->name);
	if (!err)
		r->host = mode && *mode ? !strcmp(mode, "host") : r->tb.router;
	return err;
}

/* RUN/tls/: a throw-away CA and the VIP's certificate (lab/tlscert.h),
 * made once per run folder (kept while valid). */
static int make_tls(const struct run *r)
{
	char dir[300];
	int err;

	snprintf(dir, sizeof(dir), "%s/tls", r->dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (tlscert_usable(dir))
		return 0; /* the run folder's CA, still trusted by clients */
	err = tlscert_make(dir, TESTBED_VIP, UP_TLS_NAME);
	if (err)
		fprintf(stderr, "prism: TLS certificate in %s: %s\n", dir,
			strerror(-err));
	return err;
}

/* What the run folder's last `prism up` started, stopped. */
static void stop_previous(const struct run *r)
{
	struct run prev = *r;

	prev.host = read_mode(r);
	stop_all(&prev);
}

static int up(struct run *r)
{
	int err;

	if (!r->host && r->tb.router) {
		fprintf(stderr, "prism up: testbed '%s' has a plain router as "
				"its fabric, for --mode host\n", r->name);
		return -EINVAL;
	}
	stop_previous(r);
	mkdir(TESTBED_STATE_DIR, 0755);
	if (mkdir(r->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	err = write_key(r);
	if (!err)
		err = write_mode(r);
	if (!err && r->tls)
		err = make_tls(r);
	if (!err)
		err = r->host ? start_host_agents(r) : start_switch(r);
	for (int i = 1; !err && i <= r->tb.backends; i++)
		err = start_backend(r, i);
	if (!err)
		err = start_controller(r);
	if (err) {
		stop_all(r);
		return err;
	}
	printf("prism is up on testbed %s%s: http://%s/ (run folder %s)\n",
	       r->name, r->host ? " in host mode" : "", TESTBED_VIP, r->dir);
	if (r->tls)
		printf("  and https://%s/ (https://%s/ by name; trust %s/tls/ca.pem)\n",
		       TESTBED_VIP, UP_TLS_NAME, r->dir);
	return 0;
}

static void usage(FILE *out, const char *cmd)
{
	fprintf(out, "Usage: prism %s [--name NAME]%s\n", cmd,
		!strcmp(cmd, "up") ? " [--debug] [--store [--no-fsync]] [--root DIR]\n"
				     "                [--tls] [--mode switch|host] [--controller-arg ARG]..."
				   : "");
	if (!strcmp(cmd, "up"))
		fprintf(out, "Starts the switch agent, one backend per backend "
			     "host and the controller\ninside testbed NAME; "
			     "the service is http://%s:80/.\n"
			     "--store: an object store (PUT/GET/DELETE /obj/KEY), "
			     "each backend storing\nin RUN/store-bI, keys placed "
			     "by --policy hash-uri; --no-fsync: faster,\n"
			     "not durable.\n"
			     "--root DIR: every backend also serves the files "
			     "under DIR.\n"
			     "--tls: also https://%s/ (TLS 1.3 and 1.2), with a "
			     "throw-away CA made in\nRUN/tls/ and kept while "
			     "valid (clients trust RUN/tls/ca.pem; the\n"
			     "certificate names %s and " UP_TLS_NAME ");\n"
			     "the backends serve direct HTTPS on their :443 "
			     "too.\n"
			     "--controller-arg ARG: ARG goes on the controller's "
			     "command line (up to %d),\ne.g. --controller-arg "
			     "--health-fall --controller-arg 5.\n"
			     "--mode host: an agent on the controller's and each "
			     "backend's host, none on\nthe fabric (the default, "
			     "and the only mode, on a testbed up with\n--fabric "
			     "router; PRISM_MODE=host in the environment too).\n"
			     "PRISM_DELIVERY and PRISM_RELAY_MAX in the "
			     "environment become the controller's\n--delivery "
			     "and --relay-max.\n", TESTBED_VIP, TESTBED_VIP,
		TESTBED_VIP, UP_CTRL_ARGS);
	else if (!strcmp(cmd, "down"))
		fprintf(out, "Stops what 'prism up' started.\n");
	else
		fprintf(out, "Shows the components of 'prism up' and their "
			     "state.\n");
}

static int run_cmd(int argc, char **argv, const char *cmd, struct run *r)
{
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout, cmd);
		return 1;
	}
	memset(r, 0, sizeof(*r));
	if (strcmp(cmd, "status") && testbed_check_root())
		return -EPERM;
	err = run_open(r, argc, argv);
	if (err == -EINVAL)
		usage(stderr, cmd);
	return err;
}

int cmd_up(int argc, char **argv)
{
	struct run r;
	int err = run_cmd(argc, argv, "up", &r);

	if (err)
		return err == 1 ? 0 : err == -EINVAL ? 2 : 1;
	err = up(&r);
	return err == -EINVAL ? 2 : err ? 1 : 0;
}

int cmd_down(int argc, char **argv)
{
	struct run r;
	char path[300];
	int err = run_cmd(argc, argv, "down", &r);

	if (err == -ENOENT)
		return 0; /* nothing there: nothing to stop */
	if (err)
		return err == 1 ? 0 : err == -EINVAL ? 2 : 1;
	r.host = read_mode(&r);
	stop_all(&r);
	run_path(&r, "key", "", path, sizeof(path));
	unlink(path);
	run_path(&r, "mode", "", path, sizeof(path));
	unlink(path);
	return 0;
}

/* The controller's own view (backends with state, weight, load), from its
 * admin endpoint inside the controller host; a child process enters the
 * namespace so that this one stays where it is. */
static void controller_view(const struct run *r)
{
	struct sockaddr_in admin = { .sin_family = AF_INET,
				     .sin_port = htons(9900) };
	char *body = NULL;
	int status = 0, err;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		admin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		err = testbed_enter(r->name, "controller");
		if (!err)
			err = admin_request(&admin, "GET", "/status", 2000,
					    &status, &body);
		if (err || status != 200)
			printf("controller admin 127.0.0.1:9900: %s\n",
			       err ? strerror(-err) : "bad status");
		else
			printf("\n%s", body);
		free(body);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

int cmd_status(int argc, char **argv)
{
	char buf[32], path[300];
	const char *comp;
	struct run r;
	int err = run_cmd(argc, argv, "status", &r), down = 0;

	if (err)
		return err == 1 ? 0 : err == -EINVAL ? 2 : 1;
	r.host = read_mode(&r);
	printf("testbed %s, %d backends, %s mode, run folder %s\n", r.name,
	       r.tb.backends, r.host ? "host" : "switch", r.dir);
	printf("%-12s %-8s %-8s %s\n", "component", "pid", "state", "log");
	for (int i = 0; (comp = components_order(i, &r, buf, sizeof(buf))); i++) {
		pid_t pid = read_pid(&r, comp);
		bool up = alive(pid);

		run_path(&r, comp, ".log", path, sizeof(path));
		printf("%-12s %-8d %-8s %s\n", comp, (int)pid,
		       up ? "running" : "stopped", path);
		down += !up;
	}
	if (alive(read_pid(&r, "controller")))
		controller_view(&r);
	return down ? 1 : 0;
}
