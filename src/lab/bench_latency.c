/* `prism bench latency`: the per-request startup and teardown overheads of
 * the proxies (nginx, HAProxy) and of Prism over direct access (thesis
 * Table 4.1).
 *
 * A small client (below, run inside the client host) keeps one persistent
 * connection and sends one GET of a small object at a time, timing with
 * CLOCK_MONOTONIC around non-blocking socket calls.  Requests alternate
 * between two kinds:
 *   spaced  sent after GAP us of idle connection (the previous request is
 *           long finished, the connection rests wherever it rests between
 *           requests): its time to first response byte is the STARTUP cost
 *   b2b     sent the moment the previous response's last byte arrived: its
 *           time to first byte is startup plus whatever is still going on
 *           after the previous response (Prism: the hand-back and the
 *           window re-opening)
 * teardown = mean(b2b) - mean(spaced): how long after the last byte the
 * connection is not yet ready to serve the next request.  The client
 * only sleeps in poll() between its socket calls: a busy-waiting client
 * would take a core from the daemons on a small machine.
 * Overheads are the configuration's means minus direct's; the standard
 * deviations are those of the configuration's samples (startup) and of
 * the difference of the two sample sets (teardown: sqrt(sd_b2b^2 +
 * sd_spaced^2)). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/bench.h"
#include "lab/bench_env.h"
#include "lib/num.h"

#define LAT_WARMUP 20
#define LAT_IO_TIMEOUT_MS 5000
#define LAT_BUF 65536
#define LAT_ROUNDS 5

/* "proxy" is nginx (the name it had before HAProxy came). */
enum { CFG_DIRECT, CFG_PROXY, CFG_HAPROXY, CFG_PRISM, NCFG };
static const char *const cfg_names[NCFG] = { "direct", "proxy", "haproxy",
					     "prism" };

struct lat_opts {
	int requests; /* per kind, per configuration */
	uint64_t size;
	int gap_us;
	struct bench_common c; /* name, backends, link_mbit, json, out */
};

/* Mean, standard deviation and median of one kind of sample. */
struct stat1 {
	double sum, sum2;
	int n, cap;
	double *v; /* the samples, for the median */
};

/* The slowest requests, both kinds together: what a lost packet costs. */
struct lat_tail {
	double p99, max; /* us */
	int over_200ms, over_1s;
};

struct lat_result {
	struct stat1 spaced, b2b;
	double spaced_p50, b2b_p50; /* medians, us */
	struct lat_tail tail;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism bench latency [--requests N] [--size S] "
		"[--gap-us G] [--backends N]\n"
		"                           [--link-mbit M] [--name NAME] "
		"[--loss PCT] [--json]\n"
		"                           [--out DIR]\n"
		"  --requests N  requests of each kind per configuration "
		"(default 1000)\n"
		"  --size S      object size (default 1k)\n"
		"  --gap-us G    idle time before a spaced request (default "
		"2000)\n"
		"  --backends N  testbed backends (default 2; direct uses b1)\n"
		"  --loss PCT    random loss on every host's links, both ways "
		"(0..100)\n"
		"Startup = time to first byte of a request on an idle "
		"persistent connection;\nteardown = extra time to first byte "
		"of a request sent the moment the previous\nresponse ended.  "
		"Both as overhead over direct.  Needs root, nginx and haproxy.\n"
		"Builds and removes its own testbed NAME (default bench-lat; "
		"an existing\none is refused).\n");
}

/* ---- the client (runs inside the client host) ---- */

static double now_us(void)
{
	return bench_now_us();
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int rc = poll(&p, 1, LAT_IO_TIMEOUT_MS);

	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

static int lat_connect(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int fd, one = 1, err = 0;
	socklen_t len = sizeof(err);

	inet_pton(AF_INET, ip, &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS)
		err = -errno;
	if (!err)
		err = wait_fd(fd, POLLOUT);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		close(fd);
		return err < 0 ? err : -err;
	}
	return fd;
}

/* Content-Length of a complete response head, or -1. */
static long content_length(const char *head, size_t len)
{
	const char *p = head, *end = head + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;
		if (!strncasecmp(p, "Content-Length:", 15))
			return strtol(p + 15, NULL, 10);
		p = nl + 1;
	}
	return -1;
}

/* Reads one whole response; *first_us = when its first byte arrived. */
static int read_response(int fd, char *buf, double *first_us)
{
	size_t got = 0, head = 0;
	long body = -1;
	ssize_t n;

	*first_us = 0;
	for (;;) {
		n = recv(fd, buf + (head ? 0 : got), head ? LAT_BUF : LAT_BUF - got,
			 0);
		if (n < 0 && errno == EAGAIN) {
			int err = wait_fd(fd, POLLIN);

			if (err)
				return err;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		if (!*first_us)
			*first_us = now_us();
		got += (size_t)n;
		if (!head) {
			char *e = memmem(buf, got, "\r\n\r\n", 4);

			if (!e) {
				if (got == LAT_BUF)
					return -EMSGSIZE;
				continue;
			}
			head = (size_t)(e + 4 - buf);
			body = content_length(buf, head);
			if (body < 0)
				return -EPROTO;
		}
		if (got >= head + (size_t)body)
			return got == head + (size_t)body ? 0 : -EPROTO;
	}
}

/* One request; prints "KIND ttfb_us" (S: spaced, B: back to back). */
static int one_request(int fd, const char *req, size_t len, char *buf,
		       int kind, bool record)
{
	double t0, first;
	int err;

	t0 = now_us();
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -EIO; /* a small request into an empty socket */
	err = read_response(fd, buf, &first);
	if (!err && record)
		printf("%c %.2f\n", kind ? 'B' : 'S', first - t0);
	return err;
}

static int lat_client(const char *ip, int port, const struct lat_opts *o)
{
	struct timespec gap = { o->gap_us / 1000000,
				(long)(o->gap_us % 1000000) * 1000 };
	static char buf[LAT_BUF];
	char req[128];
	int fd, err = 0, len;

	len = snprintf(req, sizeof(req),
		       "GET /bytes/%llu HTTP/1.1\r\nHost: %s\r\n\r\n",
		       (unsigned long long)o->size, ip);
	fd = lat_connect(ip, port);
	if (fd < 0) {
		printf("error: connect %s:%d: %s\n", ip, port, strerror(-fd));
		return 1;
	}
	for (int i = 0; !err && i < LAT_WARMUP; i++)
		err = one_request(fd, req, (size_t)len, buf, 1, false);
	for (int i = 0; !err && i < 2 * o->requests; i++) {
		/* Even: spaced, after an idle gap; odd: back to back. */
		if (!(i & 1))
			nanosleep(&gap, NULL);
		err = one_request(fd, req, (size_t)len, buf, i & 1, true);
	}
	if (err)
		printf("error: %s request: %s\n", ip, strerror(-err));
	fflush(stdout);
	close(fd);
	return err ? 1 : 0;
}

/* ---- statistics ---- */

static void stat_add(struct stat1 *s, double v)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 256;
		double *nv = realloc(s->v, (size_t)cap * sizeof(*nv));

		if (nv) {
			s->v = nv;
			s->cap = cap;
		}
	}
	if (s->n < s->cap)
		s->v[s->n] = v;
	s->sum += v;
	s->sum2 += v * v;
	s->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(struct stat1 *s)
{
	int n = s->n < s->cap ? s->n : s->cap;

	if (!n)
		return 0;
	qsort(s->v, (size_t)n, sizeof(double), cmp_double);
	return n & 1 ? s->v[n / 2] : (s->v[n / 2 - 1] + s->v[n / 2]) / 2;
}

/* After median(): both sample sets are sorted. */
static void tail_of(struct lat_result *r)
{
	int na = r->spaced.n < r->spaced.cap ? r->spaced.n : r->spaced.cap;
	int nb = r->b2b.n < r->b2b.cap ? r->b2b.n : r->b2b.cap;
	int n = na + nb, i = 0, j = 0, k = 0, at = n - 1 - n / 100;
	struct lat_tail *t = &r->tail;

	memset(t, 0, sizeof(*t));
	while (k < n) { /* merge: the value of rank k */
		double v = j >= nb || (i < na && r->spaced.v[i] <= r->b2b.v[j])
				   ? r->spaced.v[i++]
				   : r->b2b.v[j++];

		if (k == at)
			t->p99 = v;
		t->max = v;
		t->over_200ms += v > 200e3;
		t->over_1s += v > 1e6;
		k++;
	}
}

static void stat_free(struct stat1 *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static double mean(const struct stat1 *s)
{
	return s->n ? s->sum / s->n : 0;
}

static double sd(const struct stat1 *s)
{
	double m = mean(s), v;

	if (s->n < 2)
		return 0;
	v = (s->sum2 - s->n * m * m) / (s->n - 1);
	return v > 0 ? sqrt(v) : 0;
}

static double teardown(const struct lat_result *r)
{
	return mean(&r->b2b) - mean(&r->spaced);
}

static double teardown_sd(const struct lat_result *r)
{
	return sqrt(sd(&r->b2b) * sd(&r->b2b) +
		    sd(&r->spaced) * sd(&r->spaced));
}

/* ---- one configuration ---- */

static int parse_samples(char *out, struct lat_result *r, FILE *raw,
			 const char *cfg)
{
	char *save = NULL;

	for (char *l = strtok_r(out, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		double ttfb;
		char kind;

		if (sscanf(l, "%c %lf", &kind, &ttfb) != 2 ||
		    (kind != 'S' && kind != 'B'))
			continue;
		stat_add(kind == 'S' ? &r->spaced : &r->b2b, ttfb);
		if (raw)
			fprintf(raw, "%s,%s,%.2f\n", cfg,
				kind == 'S' ? "spaced" : "b2b", ttfb);
	}
	return r->spaced.n && r->b2b.n ? 0 : -EIO;
}

/* One client run of N requests of each kind; samples add up in R. */
static int run_config(const struct bench_env *e, const struct lat_opts *o,
		      int cfg, int n, struct lat_result *r, FILE *raw)
{
	struct lat_opts one = *o;
	char ip[32], *out;
	size_t cap = (size_t)n * 2 * 40 + 4096;
	int fd, rc, port = cfg == CFG_HAPROXY ? BENCH_HAPROXY_PORT : 80;
	pid_t pid;

	if (cfg == CFG_DIRECT)
		bench_backend_ip(1, ip, sizeof(ip));
	else
		snprintf(ip, sizeof(ip), "%s",
			 cfg == CFG_PRISM ? TESTBED_VIP : BENCH_PROXY_IP);
	out = malloc(cap);
	if (!out)
		return -ENOMEM;
	one.requests = n;
	pid = bench_fork(e, "client", &fd);
	if (pid == 0)
		_exit(lat_client(ip, port, &one));
	if (pid < 0) {
		free(out);
		return (int)pid;
	}
	rc = bench_collect(pid, fd, out, cap);
	if (rc != 0) {
		char *err = strstr(out, "error:");

		fprintf(stderr, "prism bench latency: %s (%s): client exit "
				"%d: %s\n", cfg_names[cfg], ip, rc,
			err ? err : "(no message)");
		free(out);
		return -EIO;
	}
	rc = parse_samples(out, r, raw, cfg_names[cfg]);
	free(out);
	return rc;
}

/* ---- reporting ---- */

/* Issue 21: a request's time to first byte no longer than through the
 * faster of the two proxies. */
static void print_vs_best(FILE *f, const struct lat_result *r)
{
	int best = mean(&r[CFG_HAPROXY].spaced) < mean(&r[CFG_PROXY].spaced)
			   ? CFG_HAPROXY
			   : CFG_PROXY;
	double prism = mean(&r[CFG_PRISM].spaced), px = mean(&r[best].spaced);

	fprintf(f, "         prism startup %.1f us vs the better proxy's "
		   "(%s) %.1f us (no longer: %s)\n",
		prism, best == CFG_HAPROXY ? "haproxy" : "nginx", px,
		prism <= px ? "met" : "NOT met");
}

static void print_table(FILE *f, const struct lat_result *r,
			const struct lat_opts *o)
{
	char label[32];

	bench_size_label(o->size, label, sizeof(label));
	fprintf(f, "\nper-request latency, %s objects, %d requests of each "
		   "kind, gap %d us (mean +- sd, us)\n",
		label, o->requests, o->gap_us);
	if (o->c.loss > 0)
		fprintf(f, "loss %g%% on every host's links, both ways\n",
			o->c.loss);
	fprintf(f, "%-7s %18s %18s %18s %13s | %22s %22s\n", "config",
		"startup (ttfb)", "b2b ttfb", "teardown", "p50 st/b2b",
		"startup over direct", "teardown over direct");
	for (int c = 0; c < NCFG; c++) {
		const struct lat_result *x = &r[c], *d = &r[CFG_DIRECT];

		fprintf(f, "%-7s %9.1f +- %5.1f %9.1f +- %5.1f %9.1f +- %5.1f "
			   "%6.0f/%6.0f | %12.1f +- %6.1f %12.1f +- %6.1f\n",
			cfg_names[c], mean(&x->spaced), sd(&x->spaced),
			mean(&x->b2b), sd(&x->b2b), teardown(x),
			teardown_sd(x), x->spaced_p50, x->b2b_p50,
			mean(&x->spaced) - mean(&d->spaced), sd(&x->spaced),
			teardown(x) - teardown(d), teardown_sd(x));
	}
	fprintf(f, "\nslowest requests (both kinds)\n%-7s %10s %10s %9s %7s "
		   "| %13s %13s\n",
		"config", "p99 (us)", "max (us)", "> 200 ms", "> 1 s",
		"p99 / direct", "max / direct");
	for (int c = 0; c < NCFG; c++) {
		const struct lat_tail *t = &r[c].tail,
				      *d = &r[CFG_DIRECT].tail;

		fprintf(f, "%-7s %10.0f %10.0f %9d %7d | %13.2f %13.2f\n",
			cfg_names[c], t->p99, t->max, t->over_200ms,
			t->over_1s, d->p99 > 0 ? t->p99 / d->p99 : 0,
			d->max > 0 ? t->max / d->max : 0);
	}
	if (o->c.loss > 0)
		return; /* the targets are for a clean fabric */
	fprintf(f, "targets: prism startup overhead %.1f us (<= 100: %s), "
		   "teardown overhead %.1f us (<= 50: %s)\n",
		mean(&r[CFG_PRISM].spaced) - mean(&r[CFG_DIRECT].spaced),
		mean(&r[CFG_PRISM].spaced) - mean(&r[CFG_DIRECT].spaced) <= 100
			? "met" : "NOT met",
		teardown(&r[CFG_PRISM]) - teardown(&r[CFG_DIRECT]),
		teardown(&r[CFG_PRISM]) - teardown(&r[CFG_DIRECT]) <= 50
			? "met" : "NOT met");
	print_vs_best(f, r);
}

static void print_json(FILE *f, const struct lat_result *r,
		       const struct lat_opts *o)
{
	fprintf(f, "[");
	for (int c = 0; c < NCFG; c++) {
		const struct lat_result *x = &r[c], *d = &r[CFG_DIRECT];

		fprintf(f, "%s\n  {\"config\": \"%s\", \"size_bytes\": %llu, "
			   "\"requests\": %d, \"startup_us\": %.1f, "
			   "\"startup_sd_us\": %.1f, \"startup_p50_us\": %.1f, "
			   "\"b2b_us\": %.1f, \"b2b_p50_us\": %.1f, "
			   "\"b2b_sd_us\": %.1f, \"teardown_us\": %.1f, "
			   "\"teardown_sd_us\": %.1f, "
			   "\"startup_overhead_us\": %.1f, "
			   "\"teardown_overhead_us\": %.1f, \"p99_us\": %.1f, "
			   "\"max_us\": %.1f, \"over_200ms\": %d, "
			   "\"over_1s\": %d, \"loss_pct\": %g}",
			c ? "," : "", cfg_names[c],
			(unsigned long long)o->size, x->spaced.n,
			mean(&x->spaced), sd(&x->spaced), x->spaced_p50,
			mean(&x->b2b), x->b2b_p50, sd(&x->b2b), teardown(x),
			teardown_sd(x),
			mean(&x->spaced) - mean(&d->spaced),
			teardown(x) - teardown(d), x->tail.p99, x->tail.max,
			x->tail.over_200ms, x->tail.over_1s, o->c.loss);
	}
	fprintf(f, "\n]\n");
}

static int write_results(const struct lat_result *r,
			 const struct lat_opts *o, const char *dir)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/latency.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	print_json(f, r, o);
	return fclose(f) ? -errno : 0;
}

/* ---- options and the run ---- */

static int lat_opt(int c, const char *arg, void *ctx)
{
	struct lat_opts *o = ctx;
	int err;

	switch (c) {
	case 'r': return num_parse_int(arg, 1, 100000, &o->requests);
	case 'g': return num_parse_int(arg, 0, 1000000, &o->gap_us);
	case 's':
		err = bench_parse_size(arg, &o->size);
		/* one buffer holds it */
		return err || o->size > (32u << 10) ? -EINVAL : 0;
	}
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct lat_opts *o)
{
	static const struct option own[] = {
		{ "requests", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ 0 },
	};
	const struct bench_cli cli = {
		.bench = "latency", .opts = own, .opt = lat_opt,
		.usage = usage, .ctx = o, .hint = "sizes up to 32k; ",
		.common = BENCH_OPT_NAME | BENCH_OPT_BACKENDS |
			  BENCH_OPT_LINK | BENCH_OPT_JSON | BENCH_OPT_OUT |
			  BENCH_OPT_LOSS,
	};

	return bench_parse_args(&cli, argc, argv, &o->c);
}

static int run(const struct lat_opts *o, struct lat_result *r, FILE *raw)
{
	struct bench_env e;
	int err;

	fprintf(stderr, "prism bench latency: testbed %s, %d backends ...\n",
		o->c.name, o->c.backends);
	err = bench_env_up_opt(&e, o->c.name, o->c.backends, o->c.link_mbit, 0,
			       BENCH_ENV_HAPROXY);
	if (!err)
		err = bench_env_loss(&e, o->c.loss);
	/* Rounds, each with a fresh connection per configuration, so that
	 * the machine's drift hits all four alike. */
	for (int i = 0; !err && i < LAT_ROUNDS; i++) {
		int n = o->requests / LAT_ROUNDS +
			(i < o->requests % LAT_ROUNDS);

		for (int c = 0; !err && n && c < NCFG; c++) {
			err = run_config(&e, o, c, n, &r[c], raw);
			if (!err && bench_stop)
				err = -EINTR;
		}
	}
	bench_env_down(&e);
	for (int c = 0; !err && c < NCFG; c++) {
		r[c].spaced_p50 = median(&r[c].spaced);
		r[c].b2b_p50 = median(&r[c].b2b);
		tail_of(&r[c]);
	}
	return err;
}

int bench_latency(int argc, char **argv)
{
	struct lat_opts o = { .requests = 1000, .size = 1024, .gap_us = 2000,
			      .c = { .backends = 2, .link_mbit = 1000,
				     .name = "bench-lat" } };
	struct lat_result r[NCFG] = { 0 };
	char dir[4096], path[4200];
	FILE *raw = NULL, *tbl;
	int rc, err;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (bench_start("latency", o.c.out, dir, sizeof(dir)))
		return 1;
	tbl = o.c.json ? stderr : stdout;
	snprintf(path, sizeof(path), "%s/latency-samples.csv", dir);
	raw = fopen(path, "w");
	if (raw)
		fprintf(raw, "config,kind,ttfb_us\n");
	err = run(&o, r, raw);
	if (raw)
		fclose(raw);
	if (!err) {
		print_table(tbl, r, &o);
		if (o.c.json)
			print_json(stdout, r, &o);
		write_results(r, &o, dir);
		fprintf(tbl, "results: %s/latency.json, %s\n", dir, path);
	} else
		fprintf(stderr, "prism bench latency: stopped: %s\n",
			strerror(-err));
	for (int c = 0; c < NCFG; c++) {
		stat_free(&r[c].spaced);
		stat_free(&r[c].b2b);
	}
	return err ? 1 : 0;
}
