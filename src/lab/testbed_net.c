/* Building and removing the testbed: namespaces and veths through
 * `ip -batch`, shaping through `tc -batch` (src/lib/proc), sysctls written
 * from inside each namespace by setns, processes found through /proc. */
#include "lab/testbed.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <ifaddrs.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* A host joined to the fabric: hosts[i] has the /24 198.18.subnet.0, the
 * fabric at .1, the host at .2, a veth named after the host on the fabric
 * side and eth0 on the host side. */
struct link {
	char host[12];
	int subnet;
	int mbit;
};

/* Text fed to `ip -batch -` / `tc -batch -`. */
struct text {
	char *s;
	size_t len;
	size_t cap;
	int err;
};

static void errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errf(const char *fmt, ...)
{
	va_list ap;

	fputs("prism testbed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void text_add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	if (t->cap - t->len < 256) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		char *s = realloc(t->s, cap);

		if (!s) {
			t->err = -ENOMEM;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->err = -ENOSPC; /* one line never needs 256 bytes */
	else
		t->len += (size_t)n;
}

static void text_reset(struct text *t)
{
	t->len = 0;
	t->err = 0;
}

/* Runs TOOL [-n NS] [-force] -batch - with T as input.  Failures print
 * the tool's own error. */
static int run_batch(const char *tool, const char *ns, bool force,
		     struct text *t)
{
	char err[1024];
	struct proc_io io = { .in = t->s, .in_len = t->len, .err = err,
			      .err_size = sizeof(err), .quiet = true };
	char *argv[8];
	int n = 0, rc;

	if (t->err)
		return t->err;
	if (t->len == 0)
		return 0;
	argv[n++] = (char *)tool;
	if (ns) {
		argv[n++] = "-n";
		argv[n++] = (char *)ns;
	}
	if (force)
		argv[n++] = "-force";
	argv[n++] = "-batch";
	argv[n++] = "-";
	argv[n] = NULL;
	rc = proc_run(argv, &io);
	if (rc < 0) {
		errf("%s: %s", tool, strerror(-rc));
		return rc;
	}
	if (rc > 0 && !force) {
		err[strcspn(err, "\n")] = '\0';
		errf("%s%s%s -batch: %s", tool, ns ? " -n " : "", ns ? ns : "",
		     err);
		return -EIO;
	}
	return 0;
}

int testbed_check_root(void)
{
	if (geteuid() == 0)
		return 0;
	errf("must run as root");
	return -EPERM;
}

static int check_tools(void)
{
	static const char *const tools[] = { "ip", "tc" };

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (proc_which(tools[i], NULL, 0) == 0)
			continue;
		errf("'%s' not found in PATH (Debian package iproute2)",
		     tools[i]);
		return -ENOENT;
	}
	return 0;
}

/* The hosts on the fabric, in the order they are built and shown. */
static int links_of(const struct testbed *tb, struct link **out)
{
	int n = tb->backends + 3;
	struct link *l = calloc((size_t)n, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l[0] = (struct link){ "client", 1, tb->client_mbit };
	l[1] = (struct link){ "controller", 2, tb->link_mbit };
	l[2] = (struct link){ "proxy", 3, tb->link_mbit };
	for (int i = 1; i <= tb->backends; i++) {
		snprintf(l[2 + i].host, sizeof(l[2 + i].host), "b%d", i);
		l[2 + i].subnet = 10 + i;
		l[2 + i].mbit = tb->link_mbit;
	}
	*out = l;
	return n;
}

/* True when ENTRY (a name in /run/netns) is NAME-<host> for a host name
 * the testbed could have: client, fabric, controller, proxy, b<number>. */
static bool is_our_netns(const char *name, const char *entry)
{
	static const char *const fixed[] = { "client", "fabric", "controller",
					     "proxy" };
	size_t len = strlen(name);
	const char *host;

	if (strncmp(entry, name, len) || entry[len] != '-')
		return false;
	host = entry + len + 1;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(host, fixed[i]))
			return true;
	if (host[0] != 'b' || !host[1])
		return false;
	return strspn(host + 1, "0123456789") == strlen(host + 1);
}

/* Calls FN for every /run/netns entry that belongs to testbed NAME. */
static int each_netns(const char *name, int (*fn)(const char *entry, void *arg),
		      void *arg)
{
	struct dirent *d;
	int err = 0;
	DIR *dir;

	dir = opendir(TESTBED_NETNS_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (d = readdir(dir)))
		if (is_our_netns(name, d->d_name))
			err = fn(d->d_name, arg);
	closedir(dir);
	return err;
}

static int report_foreign(const char *entry, void *arg)
{
	const char *name = arg;

	errf("netns %s exists but testbed '%s' has no state file "
	     "(%s/%s.testbed), so prism did not create it; remove it "
	     "('ip netns del %s') or choose another --name",
	     entry, name, TESTBED_STATE_DIR, name, entry);
	return -EEXIST;
}

/* The testbed's hosts are only reachable inside its namespaces; an address
 * of 198.18.0.0/15 here means the range already serves something else on
 * this machine, and a process not started with `testbed exec` would reach
 * that instead of the testbed. */
static int check_range_free(void)
{
	struct ifaddrs *ifa, *i;
	int err = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && !err; i = i->ifa_next) {
		struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
		char buf[INET_ADDRSTRLEN];

		if (!sin || sin->sin_family != AF_INET ||
		    (ntohl(sin->sin_addr.s_addr) & 0xfffe0000) != 0xc6120000)
			continue;
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		errf("address %s is already assigned to %s in this network "
		     "namespace; the testbed needs 198.18.0.0/15 for itself",
		     buf, i->ifa_name);
		err = -EADDRINUSE;
	}
	freeifaddrs(ifa);
	return err;
}

static int mount_bpffs(void)
{
	struct statfs st;

	if (statfs(TESTBED_BPFFS, &st) < 0) {
		errf("%s: %s", TESTBED_BPFFS, strerror(errno));
		return -errno;
	}
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", TESTBED_BPFFS, "bpf", 0, "mode=0700") < 0) {
		errf("mount bpffs on %s: %s", TESTBED_BPFFS, strerror(errno));
		return -errno;
	}
	return 0;
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		errf("mkdir %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Serialises up and down of all testbeds on this machine; released when
 * the returned fd is closed. */
static int lock_state_dir(void)
{
	int fd, err;

	err = make_dir(TESTBED_STATE_DIR, 0755);
	if (err)
		return err;
	fd = open(TESTBED_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		err = -errno;
		errf("lock %s: %s", TESTBED_STATE_DIR, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* ---- sysctls, written from inside the namespace ---- */

static int write_sysctl(const char *key, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) /* no IPv6 in this kernel: nothing to turn off */
		return errno == ENOENT && !strncmp(key, "ipv6/", 5) ? 0 : -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* KV: "key=value" strings (keys under /proc/sys/net), NULL-terminated. */
static int set_sysctls(const char *name, const char *host,
		       const char *const *kv)
{
	int self, err = 0, back;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	err = testbed_enter(name, host);
	for (size_t i = 0; !err && kv[i]; i++) {
		char key[96];
		const char *eq = strchr(kv[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
		err = write_sysctl(key, eq + 1);
		if (err)
			errf("%s-%s: sysctl %s: %s", name, host, kv[i],
			     strerror(-err));
	}
	back = setns(self, CLONE_NEWNET);
	close(self);
	if (back < 0) {
		errf("setns back to the caller's namespace: %s",
		     strerror(errno));
		abort(); /* carrying on in the wrong namespace is worse */
	}
	return err;
}

/* The hosts send nothing but IPv4 in 198.18.0.0/15 (no IPv6 link-local
 * chatter); the fabric forwards, and since the switch rewrites source
 * addresses it must not filter on them. */
static int sysctls(const char *name, const char *host, bool router)
{
	static const char *const hosts[] = {
		"ipv6/conf/all/disable_ipv6=1",
		"ipv6/conf/default/disable_ipv6=1", NULL
	};
	static const char *const fabric[] = {
		"ipv6/conf/all/disable_ipv6=1",
		"ipv6/conf/default/disable_ipv6=1",
		"ipv4/ip_forward=1",
		"ipv4/conf/all/rp_filter=0",
		"ipv4/conf/default/rp_filter=0",
		"ipv4/conf/all/accept_local=1",
		"ipv4/conf/default/accept_local=1",
		NULL
	};

	/* A router's reverse-path check: loose (RFC 3704), the source must
	 * be routable at all; host mode's segments from the VIP on a
	 * backend's port and a client's on the controller's pass it. */
	static const char *const router_fabric[] = {
		"ipv6/conf/all/disable_ipv6=1",
		"ipv6/conf/default/disable_ipv6=1",
		"ipv4/ip_forward=1",
		"ipv4/conf/all/rp_filter=2",
		"ipv4/conf/default/rp_filter=2",
		NULL
	};

	if (strcmp(host, "fabric"))
		return set_sysctls(name, host, hosts);
	return set_sysctls(name, host, router ? router_fabric : fabric);
}

/* ---- shaping ---- */

/* tbf sizes for a link of MBIT.  The bucket holds 1 ms at the rate, and at
 * least 96 KiB so that a 64 KiB GSO packet passes whole (tbf would split
 * it).  The queue holds 20 ms, and at least 512 KiB: a bulk TCP flow then
 * stays within 5% of the rate with no drops from 10 to 2000 Mbit/s, while
 * 128 KiB queues dropped and 1 MiB ones add 80 ms of delay at 100 Mbit/s. */
static void tbf_sizes(int mbit, unsigned long *burst, unsigned long *limit)
{
	unsigned long bytes_per_s = (unsigned long)mbit * 125000UL;
	unsigned long b = bytes_per_s / 1000, l = bytes_per_s / 50;

	b = b < 96 * 1024 ? 96 * 1024 : b > (16UL << 20) ? 16UL << 20 : b;
	l = l < 512 * 1024 ? 512 * 1024 : l > (256UL << 20) ? 256UL << 20 : l;
	*burst = b;
	*limit = l;
}

static void add_tbf(struct text *t, const char *dev, int mbit)
{
	unsigned long burst, limit;

	tbf_sizes(mbit, &burst, &limit);
	text_add(t, "qdisc replace dev %s root tbf rate %dmbit burst %lu "
		    "limit %lu\n", dev, mbit, burst, limit);
}

int testbed_tc_rate(const char *ns, const char *dev, long *mbit)
{
	char out[2048];
	struct proc_io io = { .out = out, .out_size = sizeof(out),
			      .quiet = true };
	const char *p;
	int rc;

	*mbit = 0;
	if (ns && *ns)
		rc = proc_runl(&io, "tc", "-n", ns, "-j", "qdisc", "show",
			       "dev", dev, PROC_END);
	else
		rc = proc_runl(&io, "tc", "-j", "qdisc", "show", "dev", dev,
			       PROC_END);
	if (rc != 0)
		return rc < 0 ? rc : -ENODEV;
	p = strstr(out, "\"kind\":\"tbf\"");
	if (p)
		p = strstr(p, "\"rate\":");
	if (p) /* tc -j gives bytes per second */
		*mbit = (long)((strtoull(p + 7, NULL, 10) * 8 + 500000) /
			       1000000);
	return 0;
}

/* ---- up ---- */

static int build_netns(const char *name, struct link *l, int n,
		       bool router)
{
	struct text t = { 0 };
	int err;

	text_add(&t, "netns add %s-fabric\n", name);
	for (int i = 0; i < n; i++)
		text_add(&t, "netns add %s-%s\n", name, l[i].host);
	err = run_batch("ip", NULL, false, &t);
	if (!err)
		err = sysctls(name, "fabric", router);
	for (int i = 0; !err && i < n; i++)
		err = sysctls(name, l[i].host, false);
	free(t.s);
	return err;
}

/* The fabric side: one veth per host (created here, its peer moved into
 * the host's namespace as eth0), the /24's .1, the tbf towards the host. */
static int build_fabric(const char *name, const char *ns, struct link *l,
			int n)
{
	struct text t = { 0 };
	int err;

	text_add(&t, "link set lo up\n");
	for (int i = 0; i < n; i++) {
		text_add(&t, "link add %s type veth peer name eth0 netns %s-%s\n",
			 l[i].host, name, l[i].host);
		text_add(&t, "addr add 198.18.%d.1/24 dev %s\n", l[i].subnet,
			 l[i].host);
		text_add(&t, "link set %s up\n", l[i].host);
	}
	err = run_batch("ip", ns, false, &t);
	text_reset(&t);
	for (int i = 0; !err && i < n; i++)
		add_tbf(&t, l[i].host, l[i].mbit);
	if (!err)
		err = run_batch("tc", ns, false, &t);
	free(t.s);
	return err;
}

static int build_host(const char *name, const struct link *l)
{
	struct text t = { 0 };
	char ns[64];
	int err;

	snprintf(ns, sizeof(ns), "%s-%s", name, l->host);
	text_add(&t, "link set lo up\n");
	text_add(&t, "addr add 198.18.%d.2/24 dev eth0\n", l->subnet);
	text_add(&t, "link set eth0 up\n");
	text_add(&t, "route add 198.18.0.0/15 via 198.18.%d.1 dev eth0\n",
		 l->subnet);
	if (!strcmp(l->host, "controller"))
		text_add(&t, "addr add %s/32 dev lo\n", TESTBED_VIP);
	err = run_batch("ip", ns, false, &t);
	text_reset(&t);
	add_tbf(&t, "eth0", l->mbit);
	if (!err)
		err = run_batch("tc", ns, false, &t);
	free(t.s);
	return err;
}

static int build(const struct testbed *tb)
{
	struct link *l = NULL;
	struct text t = { 0 };
	char fabric[64];
	int n, err;

	n = links_of(tb, &l);
	if (n < 0)
		return n;
	snprintf(fabric, sizeof(fabric), "%s-fabric", tb->name);
	err = build_netns(tb->name, l, n, tb->router);
	if (!err)
		err = build_fabric(tb->name, fabric, l, n);
	for (int i = 0; !err && i < n; i++)
		err = build_host(tb->name, &l[i]);
	/* Last: the gateway must be reachable when the route is added. */
	text_add(&t, "route add %s/32 via 198.18.2.2 dev controller\n",
		 TESTBED_VIP);
	if (!err)
		err = run_batch("ip", fabric, false, &t);
	free(t.s);
	free(l);
	return err;
}

/* ---- down ---- */

struct ns_ids {
	dev_t dev[TESTBED_BACKENDS_MAX + 8];
	ino_t ino[TESTBED_BACKENDS_MAX + 8];
	int n;
};

static int collect_ns(const char *entry, void *arg)
{
	struct ns_ids *ids = arg;
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", TESTBED_NETNS_DIR, entry);
	if (stat(path, &st) < 0 ||
	    ids->n == (int)(sizeof(ids->ino) / sizeof(ids->ino[0])))
		return 0;
	ids->dev[ids->n] = st.st_dev;
	ids->ino[ids->n] = st.st_ino;
	ids->n++;
	return 0;
}

static bool in_ids(const struct ns_ids *ids, const struct stat *st)
{
	for (int i = 0; i < ids->n; i++)
		if (ids->dev[i] == st->st_dev && ids->ino[i] == st->st_ino)
			return true;
	return false;
}

/* Sends SIG to every process in one of IDS' namespaces (not ourselves);
 * returns how many there were. */
static int signal_procs(const struct ns_ids *ids, int sig)
{
	pid_t self = getpid();
	struct dirent *d;
	int count = 0;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		pid_t pid = (pid_t)atoi(d->d_name);
		char path[64];
		struct stat st;

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		if (stat(path, &st) < 0 || !in_ids(ids, &st))
			continue; /* gone, a zombie, or elsewhere */
		if (sig)
			kill(pid, sig);
		count++;
	}
	closedir(dir);
	return count;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* SIGTERM, up to 1 s to exit, then SIGKILL. */
static void kill_procs(const char *name)
{
	struct ns_ids ids = { .n = 0 };
	int found, left;

	each_netns(name, collect_ns, &ids);
	found = signal_procs(&ids, SIGTERM);
	left = found;
	for (int i = 0; left && i < 20; i++) {
		sleep_ms(50);
		left = signal_procs(&ids, 0);
	}
	if (left)
		signal_procs(&ids, SIGKILL);
	for (int i = 0; left && i < 40; i++) {
		sleep_ms(50);
		left = signal_procs(&ids, 0);
	}
	if (found)
		errf("testbed %s: stopped %d process%s left in its namespaces%s",
		     name, found, found == 1 ? "" : "es",
		     left ? " (some would not die)" : "");
}

static int add_del(const char *entry, void *arg)
{
	text_add(arg, "netns del %s\n", entry);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT) {
		errf("remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int remove_tree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -EIO : 0;
}

/* Under the lock, with a state file present (or up cleaning after itself). */
static int teardown(const char *name)
{
	struct text t = { 0 };
	char path[256];
	int err, err2;

	kill_procs(name);
	testbed_pin_dir(name, path, sizeof(path));
	err = remove_tree(path);
	each_netns(name, add_del, &t);
	/* -force: go on past a namespace that vanished meanwhile. */
	err2 = run_batch("ip", NULL, true, &t);
	err = err ? err : err2;
	free(t.s);
	testbed_state_path(name, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT) {
		err = err ? err : -errno;
		errf("remove %s: %s", path, strerror(errno));
	}
	return err;
}

static int down_locked(const char *name)
{
	char path[256];

	testbed_state_path(name, path, sizeof(path));
	if (access(path, F_OK) < 0)
		return 0;
	return teardown(name);
}

int testbed_down(const char *name)
{
	int lock, err;

	err = testbed_check_root();
	if (!err)
		err = check_tools();
	if (err)
		return err;
	lock = lock_state_dir();
	if (lock < 0)
		return lock;
	err = down_locked(name);
	close(lock);
	return err;
}

static int check_params(const struct testbed *tb)
{
	if (!testbed_name_valid(tb->name) || tb->backends < 1 ||
	    tb->backends > TESTBED_BACKENDS_MAX || tb->link_mbit < 1 ||
	    tb->link_mbit > TESTBED_MBIT_MAX || tb->client_mbit < 1 ||
	    tb->client_mbit > TESTBED_MBIT_MAX) {
		errf("bad testbed parameters");
		return -EINVAL;
	}
	return 0;
}

static int prepare(const struct testbed *tb)
{
	struct testbed st = *tb;
	char path[256];
	int err;

	err = down_locked(tb->name);
	if (!err)
		err = each_netns(tb->name, report_foreign, (void *)tb->name);
	if (!err)
		err = check_range_free();
	if (!err)
		err = mount_bpffs();
	testbed_pin_dir(tb->name, path, sizeof(path));
	if (!err)
		err = make_dir(path, 0700);
	/* The state file comes first, so a `down` after a crash in the middle
	 * of `up` finds and removes what was built. */
	if (!err) {
		char state[256];

		testbed_state_path(tb->name, state, sizeof(state));
		st.ready = false;
		err = testbed_state_write(state, &st);
		if (err)
			rmdir(path);
	}
	return err;
}

int testbed_up(const struct testbed *tb)
{
	struct testbed st = *tb;
	char path[256];
	int lock, err;

	err = testbed_check_root();
	if (!err)
		err = check_tools();
	if (!err)
		err = check_params(tb);
	if (err)
		return err;
	lock = lock_state_dir();
	if (lock < 0)
		return lock;
	err = prepare(tb);
	if (err)
		goto out;
	err = build(tb);
	testbed_state_path(tb->name, path, sizeof(path));
	st.ready = true;
	if (!err)
		err = testbed_state_write(path, &st);
	if (err)
		teardown(tb->name);
out:
	close(lock);
	return err;
}
