/* `prism bench load` and `prism bench soak`: Prism under many connections
 * and under many requests, on its own testbed (bench_env: testbed, prism
 * up; nginx is started by the environment but not used here).
 *
 * load: CONNS (10,000) keep-alive connections held by the controller,
 *       requests flowing on ACTIVE of them for DURATION seconds, then one
 *       request on every connection (the idle ones must still work).
 * soak: REQUESTS (1,000,000) requests over CONNS connections; every daemon's
 *       VmRSS and open fds sampled every INTERVAL seconds must stay flat.
 * Both read the client's TCP counters before and after (retransmissions,
 * RTO expiries, resets) and end with PASS or FAIL lines; exit 1 on FAIL.
 * The client is src/cli/loadgen.c, forked into the client host. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lab/bench.h"
#include "lab/bench_env.h"
#include "lab/bench_soak.h"
#include "lab/loadgen.h"
#include "lib/num.h"
#include "prism_abi.h"

#define MAX_DAEMONS 10
#define MAX_SAMPLES 4096
#define OUT_MAX 8192

struct soak_opts {
	struct bench_common c; /* name, backends */
	int conns, active, duration, interval;
	uint64_t requests, size;
	bool sweep;
};

struct daemon {
	char comp[16];
	pid_t pid;
	long rss_kb[MAX_SAMPLES];
	long fds[MAX_SAMPLES];
};

struct sampler {
	struct daemon d[MAX_DAEMONS];
	int n, nsamples;
	double t[MAX_SAMPLES];
};

/* ---- daemons: pids, VmRSS, open fds ---- */

static pid_t read_pid(const char *name, const char *comp)
{
	char path[256];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/%s/%s.pid", TESTBED_STATE_DIR, name,
		 comp);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -EINVAL;
	fclose(f);
	return pid;
}

static int sampler_init(struct sampler *s, const struct soak_opts *o)
{
	char comp[16];

	memset(s, 0, sizeof(*s));
	for (int i = -1; i <= o->c.backends && s->n < MAX_DAEMONS; i++) {
		struct daemon *d = &s->d[s->n];

		if (i == -1)
			snprintf(comp, sizeof(comp), "switch");
		else if (i == 0)
			snprintf(comp, sizeof(comp), "controller");
		else
			snprintf(comp, sizeof(comp), "b%d", i);
		d->pid = read_pid(o->c.name, comp);
		if (d->pid <= 0) {
			fprintf(stderr, "prism bench: %s of testbed %s: no pid "
				"file: %s\n", comp, o->c.name, strerror(-d->pid));
			return -ENOENT;
		}
		snprintf(d->comp, sizeof(d->comp), "%s", comp);
		s->n++;
	}
	return 0;
}

static long vm_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static long fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void sample_header(const struct sampler *s)
{
	printf("%8s", "t_s");
	for (int i = 0; i < s->n; i++)
		printf("  %10s rss_kb fds", s->d[i].comp);
	printf("\n");
}

static void sample(struct sampler *s, double t)
{
	int k = s->nsamples;

	if (k >= MAX_SAMPLES)
		return;
	s->t[k] = t;
	printf("%8.1f", t);
	for (int i = 0; i < s->n; i++) {
		s->d[i].rss_kb[k] = vm_rss_kb(s->d[i].pid);
		s->d[i].fds[k] = fd_count(s->d[i].pid);
		printf("  %17ld %3ld", s->d[i].rss_kb[k], s->d[i].fds[k]);
	}
	printf("\n");
	fflush(stdout);
	s->nsamples++;
}

static long max_fds(const struct sampler *s, int i)
{
	long m = 0;

	for (int k = 0; k < s->nsamples; k++)
		if (s->d[i].fds[k] > m)
			m = s->d[i].fds[k];
	return m;
}

/* ---- the client ---- */

/* Each process (client, controller) needs one fd per connection plus a
 * few; the hard limit is raised when allowed (CAP_SYS_RESOURCE), else the
 * soft limit goes up to it if that is enough. */
static int raise_nofile(long conns)
{
	long want = conns + 1024, need = conns + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if ((long)rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = (rlim_t)want;
	if ((long)rl.rlim_max < want) {
		struct rlimit up = { (rlim_t)want, (rlim_t)want };

		if (!setrlimit(RLIMIT_NOFILE, &up))
			return 0;
		rl.rlim_cur = rl.rlim_max;
	}
	if ((long)rl.rlim_cur < need || setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "prism bench: RLIMIT_NOFILE: %ld connections "
			"need %ld fds per process; the hard limit is %llu\n",
			conns, need, (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	return 0;
}

static pid_t start_client(const struct bench_env *e, const struct soak_opts *o,
			  int *fd)
{
	struct loadgen_opts lo = {
		.addr = { .sin_family = AF_INET, .sin_port = htons(80) },
		.conns = o->conns,
		.active = o->active,
		.requests = o->requests,
		.duration_s = o->duration,
		.size = o->size,
		.timeout_ms = 5000,
		.sweep = o->sweep,
	};
	struct loadgen_result r;
	pid_t pid;
	int err;

	inet_pton(AF_INET, TESTBED_VIP, &lo.addr.sin_addr);
	pid = bench_fork(e, "client", fd);
	if (pid != 0)
		return pid;
	err = loadgen_run(&lo, &r);
	loadgen_print(&r);
	_exit(err ? 1 : 0);
}

/* Collects the client's output while sampling the daemons every interval
 * seconds.  Returns the client's exit status or -errno. */
static int watch(pid_t pid, int fd, struct sampler *s, int interval,
		 char *out, size_t len)
{
	double t0 = bench_now_us(), next = t0;
	size_t off = 0;
	int status;

	sample_header(s);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double now = bench_now_us();
		int ms = next > now ? (int)((next - now) / 1e3) : 0;
		ssize_t n;

		if (now >= next) {
			sample(s, (now - t0) / 1e6);
			next += interval * 1e6;
			continue;
		}
		if (poll(&p, 1, ms) <= 0)
			continue;
		n = read(fd, off + 1 < len ? out + off : out, off + 1 < len ?
			 len - 1 - off : len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (off + 1 < len)
			off += (size_t)n;
	}
	out[off] = 0;
	close(fd);
	sample(s, (bench_now_us() - t0) / 1e6);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- verdicts ---- */

static int verdict(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int verdict(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return ok ? 0 : 1;
}

/* Under LOSS the client's own retransmission timeouts are the loss's
 * (a lost request waits for one, with any server): counted, not judged. */
static int tcp_verdicts(const struct bench_tcp *a, const struct bench_tcp *b,
			double loss)
{
	int fail = 0;

	printf("client TCP: retransmitted segments +%llu\n",
	       (unsigned long long)(b->retrans - a->retrans));
	if (loss > 0)
		printf("client TCP: RTO expiries (TCPTimeouts) +%llu at %g%% "
		       "loss\n",
		       (unsigned long long)(b->timeouts - a->timeouts), loss);
	else
		fail |= verdict(b->timeouts == a->timeouts,
				"client RTO expiries (TCPTimeouts) +%llu",
				(unsigned long long)(b->timeouts - a->timeouts));
	fail |= verdict(b->resets == a->resets,
			"client connections reset (EstabResets) +%llu",
			(unsigned long long)(b->resets - a->resets));
	return fail;
}

static void print_result(const struct loadgen_result *r)
{
	printf("client: %d connections opened (%d failed), %llu responses in "
	       "%.1f s (%.0f req/s), latency p50 %.0f us p99 %.0f us max "
	       "%.0f us\n",
	       r->opened, r->connect_failed, (unsigned long long)r->responses,
	       r->run_s, r->run_s > 0 ? r->responses / r->run_s : 0.0,
	       r->p50_us, r->p99_us, r->max_us);
	printf("client: bad %llu, resets %llu, closed by server %llu, "
	       "timeouts %llu, sweep ok %llu failed %llu, open at end %d\n",
	       (unsigned long long)r->bad, (unsigned long long)r->resets,
	       (unsigned long long)r->closed, (unsigned long long)r->timeouts,
	       (unsigned long long)r->sweep_ok,
	       (unsigned long long)r->sweep_failed, r->open_at_end);
}

static int client_verdicts(const struct loadgen_result *r)
{
	int fail = 0;

	fail |= verdict(!r->bad && !r->resets && !r->closed && !r->timeouts,
			"every response correct; no reset, close or timeout");
	if (r->sweep_ok || r->sweep_failed)
		fail |= verdict(!r->sweep_failed && (int)r->sweep_ok ==
						   r->opened,
				"sweep: a request on each of the %d connections "
				"answered (%llu)", r->opened,
				(unsigned long long)r->sweep_ok);
	return fail;
}

/* Flat: from the second sample (after warm-up) to the last, VmRSS grows by
 * less than 10% + 2 MB and the fd count does not grow. */
static int flat_verdicts(const struct sampler *s)
{
	int k0 = s->nsamples > 2 ? 1 : 0, k1 = s->nsamples - 1, fail = 0;

	if (s->nsamples < 2)
		return verdict(false, "fewer than 2 samples");
	for (int i = 0; i < s->n; i++) {
		const struct daemon *d = &s->d[i];
		long r0 = d->rss_kb[k0], r1 = d->rss_kb[k1];

		fail |= verdict(r1 >= 0 && r1 <= r0 + r0 / 10 + 2048,
				"%s VmRSS %ld -> %ld kB (t %.0f -> %.0f s)",
				d->comp, r0, r1, s->t[k0], s->t[k1]);
		fail |= verdict(d->fds[k1] >= 0 && d->fds[k1] <= d->fds[k0],
				"%s open fds %ld -> %ld", d->comp, d->fds[k0],
				d->fds[k1]);
	}
	return fail;
}

/* Entries in the switch's flow table (the pinned map), or -errno. */
static long flow_entries(const struct bench_env *e)
{
	struct prism_flow_key k, next;
	char dir[200], path[256];
	long n = 0;
	int fd, err = testbed_pin_dir(e->name, dir, sizeof(dir));

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/flows", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	for (void *at = NULL; !bpf_map_get_next_key(fd, at, &next); at = &k) {
		k = next;
		n++;
	}
	close(fd);
	return n;
}

/* The client is gone: so are its connections' switch entries, once the
 * controller has closed them (asynchronously: up to 5 s here). */
static int flows_verdict(const struct bench_env *e)
{
	long n = flow_entries(e);

	for (int i = 0; i < 50 && n > 0; i++) {
		usleep(100000);
		n = flow_entries(e);
	}
	return verdict(n == 0, "switch flow entries after the client: %ld", n);
}

/* ---- the two benchmarks ---- */

static int run(const struct soak_opts *o, bool soak)
{
	static char out[OUT_MAX];
	static struct sampler s;
	struct bench_tcp t0 = { 0 }, t1 = { 0 };
	struct loadgen_result r;
	struct bench_env e = { 0 };
	int fd, rc, fail = 0, err;
	pid_t pid;

	/* The daemons inherit the limit from `prism up` in this process. */
	err = raise_nofile(o->conns);
	if (!err)
		err = bench_env_up(&e, o->c.name, o->c.backends, 1000, 0);
	if (!err)
		err = bench_env_loss(&e, o->c.loss);
	if (!err)
		err = sampler_init(&s, o);
	if (err)
		goto out;
	bench_tcp_read(&e, "client", &t0);
	pid = start_client(&e, o, &fd);
	if (pid < 0) {
		err = pid;
		fprintf(stderr, "prism bench: client: %s\n", strerror(-err));
		goto out;
	}
	rc = watch(pid, fd, &s, o->interval, out, sizeof(out));
	bench_tcp_read(&e, "client", &t1);
	if (rc != 0 || loadgen_parse(out, &r)) {
		fprintf(stderr, "prism bench: client exited %d:\n%s\n", rc, out);
		err = -EIO;
		goto out;
	}
	print_result(&r);
	if (!soak) {
		long m = max_fds(&s, 1);

		fail |= verdict(r.opened == o->conns, "%d of %d connections "
				"established", r.opened, o->conns);
		fail |= verdict(m >= o->conns, "controller held %ld fds at the "
				"peak (>= %d connections)", m, o->conns);
	} else {
		fail |= verdict(r.responses >= o->requests,
				"%llu of %llu requests answered",
				(unsigned long long)r.responses,
				(unsigned long long)o->requests);
		fail |= flat_verdicts(&s);
	}
	fail |= client_verdicts(&r);
	fail |= tcp_verdicts(&t0, &t1, o->c.loss);
	fail |= flows_verdict(&e);
out:
	bench_env_down(&e);
	return err ? 1 : fail;
}

static void usage(FILE *f, bool soak)
{
	if (soak)
		fprintf(f, "Usage: prism bench soak [--requests N] [--conns N] "
			   "[--size S] [--interval S]\n"
			   "                        [--backends N] [--name TB] "
			   "[--loss PCT]\n"
			   "N requests (1000000) over CONNS (16) keep-alive "
			   "connections, GET /bytes/SIZE (1k);\nsamples every "
			   "daemon's VmRSS and fds every INTERVAL (10) s: they "
			   "must stay flat.\n");
	else
		fprintf(f, "Usage: prism bench load [--conns N] [--active N] "
			   "[--duration S] [--size S]\n"
			   "                        [--backends N] [--name TB] "
			   "[--no-sweep] [--loss PCT]\n"
			   "Holds CONNS (10000) keep-alive connections at the "
			   "controller, requests on ACTIVE (100)\nof them for "
			   "DURATION (10) s, then one request on every "
			   "connection.\n");
}

static int soak_opt(int c, const char *arg, void *ctx)
{
	struct soak_opts *o = ctx;

	switch (c) {
	case 'r': return num_parse_u64(arg, 1, UINT64_MAX, &o->requests);
	case 'c': return num_parse_int(arg, 1, 1000000, &o->conns);
	case 'a': return num_parse_int(arg, 1, 1000000, &o->active);
	case 'd': return num_parse_int(arg, 1, 86400, &o->duration);
	case 'i': return num_parse_int(arg, 1, 3600, &o->interval);
	case 's': return bench_parse_size(arg, &o->size);
	case 'w':
		o->sweep = false;
		return 0;
	}
	return -EINVAL;
}

static void usage_soak(FILE *f)
{
	usage(f, true);
}

static void usage_load(FILE *f)
{
	usage(f, false);
}

/* 0 go on, 1 help printed, 2 bad usage. */
static int parse(int argc, char **argv, struct soak_opts *o, bool soak)
{
	static const struct option own[] = {
		{ "requests", required_argument, NULL, 'r' },
		{ "conns", required_argument, NULL, 'c' },
		{ "active", required_argument, NULL, 'a' },
		{ "duration", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "no-sweep", no_argument, NULL, 'w' },
		{ 0 },
	};
	const struct bench_cli cli = {
		.bench = soak ? "soak" : "load", .opts = own, .opt = soak_opt,
		.usage = soak ? usage_soak : usage_load, .ctx = o,
		.common = BENCH_OPT_NAME | BENCH_OPT_BACKENDS |
			  BENCH_OPT_LOSS,
		.hint = "up to 8 backends, ACTIVE <= CONNS; ",
	};
	int rc = bench_parse_args(&cli, argc, argv, &o->c);

	if (rc)
		return rc;
	if (o->active <= 0) /* soak: every connection sends */
		o->active = o->conns;
	if (o->active > o->conns || o->c.backends > 8) {
		fprintf(stderr, "prism bench %s: up to 8 backends, ACTIVE <= "
				"CONNS (try --help)\n", cli.bench);
		return 2;
	}
	return 0;
}

int bench_load(int argc, char **argv)
{
	struct soak_opts o = { .c = { .name = "bload", .backends = 2 },
			       .conns = 10000, .active = 100, .duration = 10,
			       .interval = 2, .size = 1024, .sweep = true };
	int rc = parse(argc, argv, &o, false);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (bench_start(NULL, NULL, NULL, 0))
		return 1;
	return run(&o, false);
}

int bench_soak(int argc, char **argv)
{
	struct soak_opts o = { .c = { .name = "bsoak", .backends = 2 },
			       .conns = 16, .active = 0, .requests = 1000000,
			       .interval = 10, .size = 1024 };
	int rc = parse(argc, argv, &o, true);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (bench_start(NULL, NULL, NULL, 0))
		return 1;
	return run(&o, true);
}
