/* `prism bench e2e`: throughput, request rate and latency of Prism against
 * nginx and HAProxy as keep-alive reverse proxies and against direct access
 * to the backends, object sizes 1 KB .. 64 MB, in one run on one testbed
 * (thesis Fig 4.3).
 *
 * For each backend count N: a fresh testbed (links M, client link N*M),
 * `prism up`, nginx and HAProxy on the proxy host.  For each size the four
 * configurations run back to back (so that the machine's drift hits all
 * alike), each one wrk run over persistent connections:
 *   direct  one wrk per backend, in parallel, the C connections split
 *           over them (at least one each); results summed
 *   proxy   wrk -> nginx (198.18.3.2:80) -> b1..bN over keep-alive
 *   haproxy wrk -> HAProxy (198.18.3.2:81) -> b1..bN over keep-alive
 *   prism   wrk -> the VIP
 * Prism's ratios are over the better of the two proxies at that size
 * ("best"), and its point also counts the bytes that crossed the
 * controller's link (both ways) as a share of the client's.
 * A wrk Lua done() hook prints exact counts and percentiles (us).
 * Throughput is the bytes the client read (HTTP heads included) over the
 * run's duration, so that responses cut by the end of the run still count.
 * The client's TCP counters are read before and after every run.
 *
 * --workload put: every request is a PUT of an object of the size to
 * /obj/KEY, KEY rotating over PUT_KEYS keys per wrk thread; Prism runs as
 * an object store (`prism up --store --no-fsync`, hash-uri placement), the
 * backends' stores are emptied after every point.  Throughput is the
 * bytes the client's IP layer sent (IpExt OutOctets: request bodies, heads
 * and TCP/IP headers) less its retransmitted segments (RetransSegs, each
 * counted as a full PUT_SEG_BYTES packet), over the run's duration: wrk
 * counts only the bytes it reads, and a count of completed requests would
 * drop the uploads cut by the end of the run (most of it at 64 MB). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/bench.h"
#include "lab/bench_env.h"
#include "lib/num.h"

#define MAX_SIZES 32
#define MAX_NS 8
#define SETTLE_MS 200
#define PUT_KEYS 64
#define PUT_SEG_BYTES 1500 /* the testbed's MTU: one full IP packet */
/* Up to this many bytes per wrk thread, whole requests are built once;
 * above it, a head is joined to the one body per request. */
#define PUT_PREBUILT (16u << 20)

enum { CFG_DIRECT, CFG_PROXY, CFG_HAPROXY, CFG_PRISM, NCFG };
/* In JSON and CSV; "proxy" is nginx (the name it had before HAProxy). */
static const char *const cfg_names[NCFG] = { "direct", "proxy", "haproxy",
					     "prism" };
/* In the table. */
static const char *const cfg_labels[NCFG] = { "direct", "nginx", "haproxy",
					      "prism" };

struct e2e_opts {
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	int ns[MAX_NS]; /* backend counts */
	int nns;
	int conns;
	int duration;
	int initcwnd;
	bool put; /* --workload put */
	int pipeline; /* --pipeline N: h2load -m N (and -m 1 for the ratio) */
	bool tls;     /* --tls: HTTPS to nginx, HAProxy and Prism */
	struct bench_common c; /* name, link_mbit, json, out */
};

struct point {
	int cfg, backends;
	uint64_t size;
	double gbps, rps, p50_us, p99_us;
	double secs; /* the longest wrk run of the point */
	double rps1; /* --pipeline: the same clients without pipelining */
	uint64_t requests, errors;
	struct bench_tcp tcp; /* client counters, delta over the run */
	uint64_t ctl_bytes, client_bytes; /* the links' bytes, both ways */
	uint64_t relayed, handed_off; /* Prism: how its responses went */
	double be_cpu_s; /* the backend processes' CPU time over the run */
};

struct e2e {
	struct point *pts;
	int npts, cap;
};

/* What one wrk run reported through the done() hook. */
struct wrk_result {
	uint64_t requests, bytes, errors;
	double duration_us, p50_us, p99_us;
};

static const char lua_script[] =
	"done = function(s, lat, req)\n"
	"  local e = s.errors\n"
	"  io.write(string.format('PRISM-WRK %.0f %.0f %.0f %.0f %.0f %.0f\\n',\n"
	"    s.requests, s.bytes, s.duration, lat:percentile(50),\n"
	"    lat:percentile(99),\n"
	"    e.connect + e.read + e.write + e.status + e.timeout))\n"
	"end\n";

/* The upload workload's request(): %s (a key prefix), %d (keys), %llu
 * (size) and %u (prebuilt limit) are filled in per point.  setup() runs
 * in wrk's main state, once per thread, and numbers the threads. */
static const char put_script[] =
	"local threads = 0\n"
	"setup = function(thread)\n"
	"  thread:set('tid', threads)\n"
	"  threads = threads + 1\n"
	"end\n"
	"init = function(args)\n"
	"  local size, keys = %llu, %d\n"
	"  body = string.rep('x', size)\n"
	"  prebuilt = size * keys <= %u\n"
	"  reqs = {}\n"
	"  for k = 1, keys do\n"
	"    local head = string.format(\n"
	"      'PUT /obj/%s-t%%d-%%d HTTP/1.1\\r\\n' ..\n"
	"      'Host: %%s\\r\\nContent-Length: %%d\\r\\n\\r\\n', tid, k,\n"
	"      wrk.headers['Host'], size)\n"
	"    reqs[k] = prebuilt and head .. body or head\n"
	"  end\n"
	"  n = 0\n"
	"end\n"
	"request = function()\n"
	"  n = n %% #reqs + 1\n"
	"  if prebuilt then return reqs[n] end\n"
	"  return reqs[n] .. body\n"
	"end\n";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism bench e2e [--sizes LIST] [--backends LIST] "
		"[--connections C]\n"
		"                       [--duration S] [--link-mbit M] "
		"[--initcwnd W] [--name NAME]\n"
		"                       [--workload get|put] [--pipeline N] "
		"[--loss PCT] [--json]\n"
		"                       [--tls] [--out DIR]\n"
		"  --sizes LIST     object sizes, e.g. 1k,64k,2m (default "
		"1k,4k,16k,64k,256k,1m,4m,16m,64m)\n"
		"  --backends LIST  backend counts, one testbed each (default 2; "
		"e.g. 2,3)\n"
		"  --connections C  wrk connections (default 2, as in the "
		"thesis)\n"
		"  --duration S     seconds per point (default 3)\n"
		"  --link-mbit M    backend, controller and proxy links; client "
		"link N*M (default 1000)\n"
		"  --initcwnd W     initcwnd on the backends' routes (default 0: "
		"kernel default)\n"
		"  --name NAME      testbed name (default bench)\n"
		"  --workload W     get (default): GET /bytes/SIZE; put: PUT "
		"of SIZE bytes to\n"
		"                   /obj/KEY, %d keys per wrk thread, Prism as "
		"an object store\n"
		"                   (backends --store --no-fsync: not durable)\n"
		"  --pipeline N     GETs with h2load --h1 -m N (N requests in "
		"flight per\n"
		"                   connection), each point again with -m 1: "
		"pipe/1 is the ratio\n"
		"  --loss PCT       random loss on every host's links, both "
		"ways (0..100)\n"
		"  --tls            HTTPS (prism up --tls): direct to the "
		"backends' HTTPS, nginx\n"
		"                   and HAProxy terminating TLS, Prism\n"
		"  --json           JSON array on stdout (the table goes to "
		"stderr)\n"
		"  --out DIR        CSV + PNG (default "
		"results/bench-e2e-<timestamp>/)\n"
		"Prism runs in the controller's default delivery (adaptive); "
		"PRISM_DELIVERY=handoff\nand PRISM_RELAY_MAX=SIZE in the "
		"environment set --delivery and --relay-max.\n"
		"Needs root, nginx, haproxy and wrk.  Builds and removes its own "
		"testbed NAME\n(and refuses to touch an existing one).\n",
		PUT_KEYS);
}

/* The address wrk and h2load are pointed at for a proxy or Prism (TLS:
 * their HTTPS ports). */
static void target(int cfg, bool tls, char *buf, size_t len)
{
	if (cfg == CFG_PROXY)
		snprintf(buf, len, "%s:%d", BENCH_PROXY_IP,
			 tls ? BENCH_NGINX_TLS_PORT : BENCH_NGINX_PORT);
	else if (cfg == CFG_HAPROXY)
		snprintf(buf, len, "%s:%d", BENCH_PROXY_IP,
			 tls ? BENCH_HAPROXY_TLS_PORT : BENCH_HAPROXY_PORT);
	else
		snprintf(buf, len, "%s:%d", TESTBED_VIP, tls ? 443 : 80);
}

/* ---- one wrk run ---- */

static int parse_wrk(const char *out, struct wrk_result *r)
{
	const char *p = strstr(out, "PRISM-WRK ");
	double v[6];

	if (!p || sscanf(p + 10, "%lf %lf %lf %lf %lf %lf", &v[0], &v[1],
			 &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	r->requests = (uint64_t)v[0];
	r->bytes = (uint64_t)v[1];
	r->duration_us = v[2];
	r->p50_us = v[3];
	r->p99_us = v[4];
	r->errors = (uint64_t)v[5];
	return 0;
}

struct wrk_job {
	pid_t pid;
	int fd;
	char out[8192];
	struct wrk_result res;
};

/* wrk gives each thread connections / threads connections (integer
 * division: -t2 -c3 opens only 2), so the thread count must divide C. */
static int wrk_threads(int conns)
{
	if (conns % 2 == 0)
		return 2;
	return conns <= 5 ? conns : 1;
}

/* The upload script of one wrk run: keys KEY-tT-K, KEY naming the
 * configuration and the wrk (direct runs one per backend). */
static int write_put_script(const char *path, const char *key,
			    uint64_t size)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, put_script, (unsigned long long)size, PUT_KEYS,
		PUT_PREBUILT, key);
	fputs(lua_script, f);
	return fclose(f) ? -errno : 0;
}

static pid_t start_wrk(const struct bench_env *e, const struct e2e_opts *o,
		       const char *ip, uint64_t size, int conns,
		       const char *key, struct wrk_job *j)
{
	char t[16], c[16], d[16], url[96], script[128];
	char *argv[] = { "wrk", "-t", t, "-c", c, "-d", d, "--timeout",
			 "30s", "-s", script, url, NULL };
	int err;

	snprintf(t, sizeof(t), "%d", wrk_threads(conns));
	snprintf(c, sizeof(c), "%d", conns);
	snprintf(d, sizeof(d), "%ds", o->duration);
	if (o->put) {
		snprintf(url, sizeof(url), "http://%s/", ip);
		snprintf(script, sizeof(script), "%s/put-%s.lua", e->tmp, key);
		err = write_put_script(script, key, size);
		if (err) {
			fprintf(stderr, "prism bench e2e: %s: %s\n", script,
				strerror(-err));
			j->pid = err;
			return err;
		}
	} else {
		snprintf(url, sizeof(url), "%s://%s/bytes/%llu",
			 o->tls ? "https" : "http", ip,
			 (unsigned long long)size);
		snprintf(script, sizeof(script), "%s/report.lua", e->tmp);
	}
	j->pid = bench_spawn(e, "client", argv, &j->fd);
	return j->pid;
}

/* Runs wrk against the targets of CFG in parallel and sums them. */
static int run_wrk(const struct bench_env *e, const struct e2e_opts *o,
		   int cfg, uint64_t size, struct point *pt)
{
	static struct wrk_job jobs[TESTBED_BACKENDS_MAX];
	int n = cfg == CFG_DIRECT ? e->tb.backends : 1, started = 0, err = 0;
	char ip[32], key[32];

	for (int i = 0; i < n && !err; i++) {
		int conns = o->conns;

		snprintf(key, sizeof(key), "%s%d", cfg_names[cfg], i + 1);
		if (cfg == CFG_DIRECT) {
			conns = o->conns / n + (i < o->conns % n);
			conns = conns < 1 ? 1 : conns;
			bench_backend_ip(i + 1, ip, sizeof(ip));
			if (o->tls) /* the backends' own HTTPS (prism up --tls) */
				strcat(ip, ":443");
		} else
			target(cfg, o->tls, ip, sizeof(ip));
		if (start_wrk(e, o, ip, size, conns, key, &jobs[i]) < 0)
			err = (int)jobs[i].pid;
		else
			started++;
	}
	for (int i = 0; i < started; i++) {
		struct wrk_job *j = &jobs[i];
		int rc = bench_collect(j->pid, j->fd, j->out, sizeof(j->out));

		if (!err && (rc != 0 || parse_wrk(j->out, &j->res))) {
			fprintf(stderr, "prism bench e2e: wrk %s %llu B: exit "
					"%d:\n%s\n", cfg_names[cfg],
				(unsigned long long)size, rc, j->out);
			err = -EIO;
		}
	}
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		struct wrk_result *r = &jobs[i].res;
		double s = r->duration_us / 1e6;

		pt->requests += r->requests;
		pt->errors += r->errors;
		pt->rps += s > 0 ? (double)r->requests / s : 0;
		pt->gbps += s > 0 ? (double)r->bytes * 8 / s / 1e9 : 0;
		pt->secs = fmax(pt->secs, s);
		/* Direct: the slowest backend's percentiles. */
		pt->p50_us = fmax(pt->p50_us, r->p50_us);
		pt->p99_us = fmax(pt->p99_us, r->p99_us);
	}
	return 0;
}

/* ---- pipelining clients: h2load --h1 -m N ---- */

struct h2_job {
	pid_t pid;
	int fd;
	char out[8192];
};

/* "582us", "2.32ms", "1.18s" -> microseconds. */
static double h2_time_us(const char *s)
{
	char unit[4] = "";
	double v = 0;

	if (sscanf(s, "%lf%3s", &v, unit) < 1)
		return 0;
	return !strcmp(unit, "ms") ? v * 1e3 : !strcmp(unit, "s") ? v * 1e6 : v;
}

/* Adds one h2load's figures to PT (requests, failures, req/s, Gbit/s,
 * mean and max time per request). */
static int parse_h2load(const char *out, struct point *pt)
{
	const char *f = strstr(out, "finished in "), *q, *t;
	unsigned long long total, started, done, ok, failed;
	char min[16], max[16], mean[16], took[16], unit[8] = "";
	double rps, rate;

	q = strstr(out, "requests: ");
	t = strstr(out, "time for request:");
	/* The duration has h2load's own unit: a 1 s run that took a hair
	 * less prints "1000.00ms". */
	if (!f || !q || !t ||
	    sscanf(f, "finished in %15[^,], %lf req/s, %lf%7s", took, &rps,
		   &rate, unit) != 4 ||
	    sscanf(q, "requests: %llu total, %llu started, %llu done, %llu "
		      "succeeded, %llu failed",
		   &total, &started, &done, &ok, &failed) != 5 ||
	    sscanf(t, "time for request: %15s %15s %15s", min, max, mean) != 3)
		return -EINVAL;
	rate *= !strncmp(unit, "GB", 2)	  ? 1e9
		: !strncmp(unit, "MB", 2) ? 1e6
		: !strncmp(unit, "KB", 2) ? 1e3
					  : 1;
	pt->requests += ok;
	pt->errors += failed + (total - done);
	pt->rps += rps;
	pt->gbps += rate * 8 / 1e9;
	pt->secs = fmax(pt->secs, h2_time_us(took) / 1e6);
	pt->p50_us = fmax(pt->p50_us, h2_time_us(mean));
	pt->p99_us = fmax(pt->p99_us, h2_time_us(max));
	return 0;
}

/* h2load against the targets of CFG in parallel, DEPTH requests in flight
 * on each connection. */
static int run_h2load(const struct bench_env *e, const struct e2e_opts *o,
		      int cfg, uint64_t size, int depth, struct point *pt)
{
	static struct h2_job jobs[TESTBED_BACKENDS_MAX];
	int n = cfg == CFG_DIRECT ? e->tb.backends : 1, started = 0, err = 0;
	char c[16], m[16], d[16], url[96], ip[32];
	char *argv[] = { "h2load", "--h1", "-c", c, "-m", m, "-D", d, url,
			 NULL };

	snprintf(m, sizeof(m), "%d", depth);
	snprintf(d, sizeof(d), "%d", o->duration);
	for (int i = 0; i < n && !err; i++) {
		int conns = o->conns;

		if (cfg == CFG_DIRECT) {
			conns = o->conns / n + (i < o->conns % n);
			conns = conns < 1 ? 1 : conns;
			bench_backend_ip(i + 1, ip, sizeof(ip));
		} else
			target(cfg, false, ip, sizeof(ip));
		snprintf(c, sizeof(c), "%d", conns);
		snprintf(url, sizeof(url), "http://%s/bytes/%llu", ip,
			 (unsigned long long)size);
		jobs[i].pid = bench_spawn(e, "client", argv, &jobs[i].fd);
		if (jobs[i].pid < 0)
			err = (int)jobs[i].pid;
		else
			started++;
	}
	for (int i = 0; i < started; i++) {
		struct h2_job *j = &jobs[i];
		int rc = bench_collect(j->pid, j->fd, j->out, sizeof(j->out));

		if (!err && (rc != 0 || parse_h2load(j->out, pt))) {
			fprintf(stderr, "prism bench e2e: h2load %s %llu B -m "
					"%d: exit %d:\n%s\n", cfg_names[cfg],
				(unsigned long long)size, depth, rc, j->out);
			err = -EIO;
		}
	}
	return err;
}

/* The pipelined run, then the same without pipelining for the ratio. */
static int run_pipelined(const struct bench_env *e, const struct e2e_opts *o,
			 int cfg, uint64_t size, struct point *pt)
{
	struct point one = { 0 };
	int err = run_h2load(e, o, cfg, size, o->pipeline, pt);

	if (!err) {
		usleep(SETTLE_MS * 1000);
		err = run_h2load(e, o, cfg, size, 1, &one);
	}
	pt->rps1 = one.rps;
	return err;
}

/* The bytes on the controller's and the client's links so far, and for
 * Prism the controller's relayed and handed-off requests. */
struct links {
	uint64_t ctl, client;
	uint64_t relayed, handed_off;
};

static int links_read(const struct bench_env *e, int cfg, struct links *l)
{
	int err = bench_link_bytes(e, "controller", &l->ctl);

	if (!err)
		err = bench_link_bytes(e, "client", &l->client);
	if (err || cfg != CFG_PRISM)
		return err;
	err = bench_ctrl_counter(e, "prism_controller_relayed_total",
				 &l->relayed);
	return err ? err
		   : bench_ctrl_counter(e, "prism_controller_handoffs_total",
					&l->handed_off);
}

/* The CPU time (user + system, seconds) of every backend process so far,
 * from /proc (their pids in the run folder). */
static int backends_cpu(const struct bench_env *e, double *secs)
{
	char path[512], buf[1024], *p;
	long tick = sysconf(_SC_CLK_TCK);

	*secs = 0;
	for (int i = 1; i <= e->tb.backends; i++) {
		unsigned long long ut, st;
		FILE *f;
		int pid = 0;

		snprintf(path, sizeof(path), "%s/%s/b%d.pid", TESTBED_STATE_DIR,
			 e->name, i);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%d", &pid) != 1) {
			if (f)
				fclose(f);
			return -ENOENT;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			return -errno;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* after "(comm)": state ppid ... utime (14th) stime (15th) */
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
					"%*u %*u %llu %llu", &ut, &st) != 2)
			return -EIO;
		*secs += (double)(ut + st) / (double)tick;
	}
	return 0;
}

static int run_point(const struct bench_env *e, const struct e2e_opts *o,
		     int cfg, uint64_t size, struct point *pt)
{
	struct bench_tcp before, after;
	struct links l0, l1;
	double cpu0 = 0, cpu1 = 0;
	int err;

	memset(pt, 0, sizeof(*pt));
	pt->cfg = cfg;
	pt->backends = e->tb.backends;
	pt->size = size;
	err = bench_tcp_read(e, "client", &before);
	if (!err)
		err = links_read(e, cfg, &l0);
	if (!err)
		err = backends_cpu(e, &cpu0);
	if (!err)
		err = o->pipeline ? run_pipelined(e, o, cfg, size, pt)
				  : run_wrk(e, o, cfg, size, pt);
	if (!err)
		err = bench_tcp_read(e, "client", &after);
	if (!err)
		err = links_read(e, cfg, &l1);
	if (!err)
		err = backends_cpu(e, &cpu1);
	if (err)
		return err;
	pt->be_cpu_s = cpu1 - cpu0;
	pt->ctl_bytes = l1.ctl - l0.ctl;
	pt->client_bytes = l1.client - l0.client;
	pt->relayed = l1.relayed - l0.relayed;
	pt->handed_off = l1.handed_off - l0.handed_off;
	pt->tcp.retrans = after.retrans - before.retrans;
	pt->tcp.timeouts = after.timeouts - before.timeouts;
	pt->tcp.resets = after.resets - before.resets;
	pt->tcp.dups = after.dups - before.dups;
	pt->tcp.winprobes = after.winprobes - before.winprobes;
	pt->tcp.out_octets = after.out_octets - before.out_octets;
	if (o->put) {
		/* The wrks ran in parallel: the client's new bytes over the
		 * longest run. */
		double sent = (double)pt->tcp.out_octets -
			      (double)pt->tcp.retrans * PUT_SEG_BYTES;

		pt->gbps = pt->secs > 0 ? fmax(sent, 0) * 8 / pt->secs / 1e9
					: 0;
		err = bench_store_wipe(e);
	}
	usleep(SETTLE_MS * 1000);
	return err;
}

static struct point *add_point(struct e2e *r)
{
	if (r->npts == r->cap) {
		int cap = r->cap ? r->cap * 2 : 64;
		struct point *p = realloc(r->pts, (size_t)cap * sizeof(*p));

		if (!p)
			return NULL;
		r->pts = p;
		r->cap = cap;
	}
	return &r->pts[r->npts++];
}

/* ---- reporting ---- */

static const struct point *find(const struct e2e *r, int cfg, int n,
				uint64_t size)
{
	for (int i = 0; i < r->npts; i++)
		if (r->pts[i].cfg == cfg && r->pts[i].backends == n &&
		    r->pts[i].size == size)
			return &r->pts[i];
	return NULL;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* The proxy with the higher throughput at N backends, SIZE (either one
 * when only one was measured). */
static const struct point *best_proxy(const struct e2e *r, int n,
				      uint64_t size)
{
	const struct point *x = find(r, CFG_PROXY, n, size);
	const struct point *h = find(r, CFG_HAPROXY, n, size);

	if (!x || !h)
		return x ? x : h;
	return h->gbps > x->gbps ? h : x;
}

/* The controller's link's share of the client's, in percent. */
static double ctl_pct(const struct point *p)
{
	return p->client_bytes ? 100.0 * (double)p->ctl_bytes /
					 (double)p->client_bytes
			       : 0;
}

static const char *workload(const struct e2e_opts *o)
{
	return o->put ? "put" : o->pipeline ? "pipeline" : "get";
}

static void print_header(FILE *f, int n, const struct e2e_opts *o)
{
	fprintf(f, "\n== N = %d backends, %d connections, links %d Mbit/s "
		   "(client %d), %d s per point, workload %s\n",
		n, o->conns, o->c.link_mbit, n * o->c.link_mbit, o->duration,
		workload(o));
	if (o->c.loss > 0)
		fprintf(f, "   random loss %g%% on every host's links, both "
			   "ways\n", o->c.loss);
	if (o->tls)
		fprintf(f, "   HTTPS (wrk's default, TLS 1.3 AES-256-GCM here), one "
			   "handshake per connection: direct to the backends' "
			   "own HTTPS;\n   nginx and HAProxy terminate TLS and "
			   "proxy plain HTTP; Prism's backends seal the "
			   "responses\n");
	if (o->put)
		fprintf(f, "   PUT /obj/KEY, %d keys per wrk thread; backends "
			   "--store --no-fsync (not durable), stores emptied "
			   "after every point;\n   Gbit/s: bytes the client "
			   "sent (IP layer), retransmissions excluded\n",
			PUT_KEYS);
	if (o->pipeline)
		fprintf(f, "   h2load --h1 -m %d on each connection, then -m 1 "
			   "(pipe/1: the ratio of the two request rates); "
			   "latency columns: h2load's mean and max\n",
			o->pipeline);
	fprintf(f, "   prism/best,dir: Prism over the better proxy and over "
		   "direct; ctl%%: bytes on the controller's link / on the "
		   "client's;\n   relay%%: Prism's requests relayed through the "
		   "controller (the rest handed off); be s/GB: the backends' "
		   "CPU seconds per GB of bodies\n");
	fprintf(f, "%-8s %-7s %8s %10s %9s %9s %5s %4s %5s %5s %4s %14s %5s %6s %7s%s\n",
		"size", "config", "Gbit/s", "req/s", "p50 us", "p99 us",
		"retr", "rto", "dup", "wprb", "errs", "prism/best,dir", "ctl%",
		"relay%", "be s/GB", o->pipeline ? "  pipe/1" : "");
}

/* The backends' CPU seconds per GB of bodies served (or uploaded). */
static double be_cpu_per_gb(const struct point *p)
{
	double gb = (double)p->requests * (double)p->size / 1e9;

	return gb > 0 ? p->be_cpu_s / gb : 0;
}

static void print_point(FILE *f, const struct e2e *r, const struct point *p)
{
	char label[32], rat[32] = "", ctl[16] = "", rel[16] = "";
	const struct point *px = best_proxy(r, p->backends, p->size);
	const struct point *d = find(r, CFG_DIRECT, p->backends, p->size);

	bench_size_label(p->size, label, sizeof(label));
	if (p->cfg == CFG_PRISM && px && d)
		snprintf(rat, sizeof(rat), "%.2f %.2f", ratio(p->gbps, px->gbps),
			 ratio(p->gbps, d->gbps));
	if (p->cfg == CFG_PRISM)
		snprintf(ctl, sizeof(ctl), "%.1f", ctl_pct(p));
	if (p->cfg == CFG_PRISM && p->relayed + p->handed_off)
		snprintf(rel, sizeof(rel), "%.0f",
			 100.0 * (double)p->relayed /
				 (double)(p->relayed + p->handed_off));
	fprintf(f, "%-8s %-7s %8.3f %10.0f %9.0f %9.0f %5llu %4llu %5llu "
		   "%5llu %4llu %14s %5s %6s %7.2f",
		label, cfg_labels[p->cfg], p->gbps, p->rps, p->p50_us,
		p->p99_us, (unsigned long long)p->tcp.retrans,
		(unsigned long long)p->tcp.timeouts,
		(unsigned long long)p->tcp.dups,
		(unsigned long long)p->tcp.winprobes,
		(unsigned long long)p->errors, rat, ctl, rel, be_cpu_per_gb(p));
	if (p->rps1 > 0)
		fprintf(f, "  %6.2f", ratio(p->rps, p->rps1));
	fprintf(f, "\n");
	fflush(f);
}

static void print_json(const struct e2e *r, const struct e2e_opts *o)
{
	printf("[");
	for (int i = 0; i < r->npts; i++) {
		const struct point *p = &r->pts[i];

		printf("%s\n  {\"config\": \"%s\", \"backends\": %d, "
		       "\"size_bytes\": %llu, \"gbps\": %.4f, \"rps\": %.1f, "
		       "\"p50_us\": %.0f, \"p99_us\": %.0f, "
		       "\"client_retrans\": %llu, \"client_timeouts\": %llu, "
		       "\"client_resets\": %llu, \"client_dup_segs\": %llu, "
		       "\"client_winprobes\": %llu, \"requests\": %llu, "
		       "\"errors\": %llu, \"workload\": \"%s\", "
		       "\"rps_unpipelined\": %.1f, \"controller_link_bytes\": "
		       "%llu, \"client_link_bytes\": %llu, \"relayed\": %llu, "
		       "\"handed_off\": %llu, \"tls\": %s, "
		       "\"backend_cpu_s\": %.3f, \"backend_cpu_s_per_gb\": %.3f}",
		       i ? "," : "", cfg_names[p->cfg], p->backends,
		       (unsigned long long)p->size, p->gbps, p->rps, p->p50_us,
		       p->p99_us, (unsigned long long)p->tcp.retrans,
		       (unsigned long long)p->tcp.timeouts,
		       (unsigned long long)p->tcp.resets,
		       (unsigned long long)p->tcp.dups,
		       (unsigned long long)p->tcp.winprobes,
		       (unsigned long long)p->requests,
		       (unsigned long long)p->errors, workload(o), p->rps1,
		       (unsigned long long)p->ctl_bytes,
		       (unsigned long long)p->client_bytes,
		       (unsigned long long)p->relayed,
		       (unsigned long long)p->handed_off,
		       o->tls ? "true" : "false", p->be_cpu_s,
		       be_cpu_per_gb(p));
	}
	printf("\n]\n");
	fflush(stdout);
}

static void crossover(FILE *f, const struct e2e *r, const struct e2e_opts *o,
		      int n)
{
	uint64_t from = 0;
	char label[32];

	/* The smallest size from which Prism beats the proxy at every
	 * larger measured size too. */
	for (int i = o->nsizes - 1; i >= 0; i--) {
		const struct point *p = find(r, CFG_PRISM, n, o->sizes[i]);
		const struct point *x = best_proxy(r, n, o->sizes[i]);

		if (!p || !x || p->gbps <= x->gbps)
			break;
		from = o->sizes[i];
	}
	if (!from) {
		fprintf(f, "  crossover: prism does not beat the best proxy "
			   "at the largest size (target <= 64 KB): NOT met\n");
		return;
	}
	bench_size_label(from, label, sizeof(label));
	fprintf(f, "  crossover: prism beats the best proxy from %s on (target "
		   "<= 64 KB): %s\n", label, from <= 65536 ? "met" : "NOT met");
}

static void targets(FILE *f, const struct e2e *r, const struct e2e_opts *o,
		    int n)
{
	uint64_t rto = 0;

	fprintf(f, "targets, N = %d:\n", n);
	for (int i = 0; i < o->nsizes; i++) {
		uint64_t s = o->sizes[i];
		const struct point *p = find(r, CFG_PRISM, n, s);
		const struct point *x = best_proxy(r, n, s);
		const struct point *d = find(r, CFG_DIRECT, n, s);
		char label[32];

		if (!p || !x || !d)
			continue;
		bench_size_label(s, label, sizeof(label));
		rto += p->tcp.timeouts;
		if (s >= (2u << 20))
			fprintf(f, "  %-6s prism/best proxy %.2f (target >= %.2f: "
				   "%s), prism/direct %.2f (target >= 0.90: "
				   "%s)\n", label, ratio(p->gbps, x->gbps),
				0.95 * n,
				ratio(p->gbps, x->gbps) >= 0.95 * n ? "met"
								    : "NOT met",
				ratio(p->gbps, d->gbps),
				ratio(p->gbps, d->gbps) >= 0.9 ? "met"
							       : "NOT met");
		/* Issue 21: never slower than the better proxy; from 1 MB up
		 * the controller's link carries < 2% of the bytes. */
		fprintf(f, "  %-6s prism/best proxy request rate %.2f (target "
			   ">= 1.00: %s)", label, ratio(p->rps, x->rps),
			ratio(p->rps, x->rps) >= 1.0 ? "met" : "NOT met");
		if (s >= (1u << 20))
			fprintf(f, ", controller link %.1f%% (target < 2%%: "
				   "%s)", ctl_pct(p),
				ctl_pct(p) < 2.0 ? "met" : "NOT met");
		fprintf(f, "\n");
	}
	crossover(f, r, o, n);
	fprintf(f, "  client retransmission timeouts in prism runs: %llu "
		   "(target 0: %s)\n", (unsigned long long)rto,
		rto ? "NOT met" : "met");
}

static int write_csv(const struct e2e *r, const struct e2e_opts *o,
		     const char *dir)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/e2e.csv", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "config,backends,size_bytes,gbps,rps,p50_us,p99_us,"
		   "client_retrans,client_timeouts,client_resets,"
		   "client_dup_segs,client_winprobes,requests,errors,"
		   "workload,controller_link_bytes,client_link_bytes,relayed,"
		   "handed_off\n");
	for (int i = 0; i < r->npts; i++) {
		const struct point *p = &r->pts[i];

		fprintf(f, "%s,%d,%llu,%.4f,%.1f,%.0f,%.0f,%llu,%llu,%llu,"
			   "%llu,%llu,%llu,%llu,%s,%llu,%llu,%llu,%llu\n",
			cfg_names[p->cfg],
			p->backends,
			(unsigned long long)p->size, p->gbps, p->rps,
			p->p50_us, p->p99_us,
			(unsigned long long)p->tcp.retrans,
			(unsigned long long)p->tcp.timeouts,
			(unsigned long long)p->tcp.resets,
			(unsigned long long)p->tcp.dups,
			(unsigned long long)p->tcp.winprobes,
			(unsigned long long)p->requests,
			(unsigned long long)p->errors, workload(o),
			(unsigned long long)p->ctl_bytes,
			(unsigned long long)p->client_bytes,
			(unsigned long long)p->relayed,
			(unsigned long long)p->handed_off);
	}
	return fclose(f) ? -errno : 0;
}

/* Wide form for gnuplot: one row per size, one column per configuration
 * and backend count (a missing point is "?"). */
static int write_dat(const struct e2e *r, const struct e2e_opts *o,
		     const char *dir)
{
	char path[4200], label[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/e2e.dat", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "size label");
	for (int i = 0; i < o->nns; i++)
		for (int c = 0; c < NCFG; c++)
			fprintf(f, " \"%s N=%d\"", cfg_labels[c], o->ns[i]);
	for (int z = 0; z < o->nsizes; z++) {
		bench_size_label(o->sizes[z], label, sizeof(label));
		fprintf(f, "\n%llu \"%s\"", (unsigned long long)o->sizes[z],
			label);
		for (int i = 0; i < o->nns; i++)
			for (int c = 0; c < NCFG; c++) {
				const struct point *p =
					find(r, c, o->ns[i], o->sizes[z]);

				if (p)
					fprintf(f, " %.4f", p->gbps);
				else
					fprintf(f, " ?");
			}
	}
	fprintf(f, "\n");
	return fclose(f) ? -errno : 0;
}

/* Fig 4.3-like: throughput against object size, one line per
 * configuration and backend count, log x axis. */
static int write_plot(const struct e2e *r, const struct e2e_opts *o,
		      const char *dir)
{
	char path[4200];
	FILE *f;
	int err = write_dat(r, o, dir);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/e2e.gp", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"set terminal pngcairo size 900,540\n"
		"set output 'e2e.png'\n"
		"set title '%s by object size (%d connections, links "
		"%d Mbit/s, client link N x links)'\n"
		"set xlabel 'object size'\n"
		"set ylabel 'Gbit/s'\n"
		"set logscale x 2\n"
		"set offsets graph 0.03, graph 0.03, 0, 0\n"
		"set datafile missing '?'\n"
		"set key %s\n"
		"set grid\n"
		"set yrange [0:*]\n"
		"plot for [i=3:%d] 'e2e.dat' using 1:i:xtic(2) with "
		"linespoints lw 2 title columnheader(i)\n",
		o->put ? "Upload throughput (PUT)" : "Throughput",
		o->conns, o->c.link_mbit,
		o->nns > 1 ? "outside right top" : "bottom right",
		2 + NCFG * o->nns);
	if (fclose(f))
		return -errno;
	return bench_gnuplot(dir, "e2e.gp");
}

/* ---- the run ---- */

static int write_script(const struct bench_env *e)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/report.lua", e->tmp);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(lua_script, f);
	return fclose(f) ? -errno : 0;
}

static int run_n(struct e2e *r, const struct e2e_opts *o, int n, FILE *tbl)
{
	struct bench_env e;
	int err;

	fprintf(stderr, "prism bench e2e: testbed %s, %d backends ...\n",
		o->c.name, n);
	err = bench_env_up_opt(&e, o->c.name, n, o->c.link_mbit, o->initcwnd,
			       BENCH_ENV_HAPROXY |
				       (o->put ? BENCH_ENV_STORE : 0u) |
				       (o->tls ? BENCH_ENV_TLS : 0u));
	if (!err)
		err = bench_env_loss(&e, o->c.loss);
	if (!err)
		err = write_script(&e);
	if (!err)
		print_header(tbl, n, o);
	for (int i = 0; !err && i < o->nsizes; i++)
		for (int c = 0; !err && c < NCFG; c++) {
			struct point *pt = add_point(r);

			if (!pt) {
				err = -ENOMEM;
				break;
			}
			err = run_point(&e, o, c, o->sizes[i], pt);
			if (err)
				r->npts--;
			else
				print_point(tbl, r, pt);
			if (bench_stop)
				err = -EINTR;
		}
	bench_env_down(&e);
	return err;
}

static int parse_list(const char *arg, bool sizes, struct e2e_opts *o)
{
	char buf[512], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", arg);
	if (sizes)
		o->nsizes = 0;
	else
		o->nns = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (bench_parse_size(tok, &v))
			return -EINVAL;
		if (sizes) {
			if (o->nsizes == MAX_SIZES || v == 0)
				return -EINVAL;
			o->sizes[o->nsizes++] = v;
		} else {
			if (o->nns == MAX_NS || v < 1 || v > 16)
				return -EINVAL;
			o->ns[o->nns++] = (int)v;
		}
	}
	return (sizes ? o->nsizes : o->nns) ? 0 : -EINVAL;
}

static int e2e_opt(int c, const char *arg, void *ctx)
{
	struct e2e_opts *o = ctx;

	switch (c) {
	case 's': return parse_list(arg, true, o);
	case 'b': return parse_list(arg, false, o);
	case 'c': return num_parse_int(arg, 1, 1000, &o->conns);
	case 'd': return num_parse_int(arg, 1, 600, &o->duration);
	case 'w': return num_parse_int(arg, 0, 1000, &o->initcwnd);
	case 'W':
		o->put = !strcmp(arg, "put");
		return o->put || !strcmp(arg, "get") ? 0 : -EINVAL;
	case 'P': return num_parse_int(arg, 2, 64, &o->pipeline);
	case 'T':
		o->tls = true;
		return 0;
	}
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct e2e_opts *o)
{
	static const struct option own[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "backends", required_argument, NULL, 'b' }, /* a list */
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "initcwnd", required_argument, NULL, 'w' },
		{ "workload", required_argument, NULL, 'W' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ "tls", no_argument, NULL, 'T' },
		{ 0 },
	};
	const struct bench_cli cli = {
		.bench = "e2e", .opts = own, .opt = e2e_opt, .usage = usage,
		.ctx = o, .common = BENCH_OPT_NAME | BENCH_OPT_LINK |
				    BENCH_OPT_JSON | BENCH_OPT_OUT |
				    BENCH_OPT_LOSS,
	};

	return bench_parse_args(&cli, argc, argv, &o->c);
}

static void set_defaults(struct e2e_opts *o)
{
	static const char *const def = "1k,4k,16k,64k,256k,1m,4m,16m,64m";

	*o = (struct e2e_opts){ .conns = 2, .duration = 3, .nns = 1,
				.ns = { 2 },
				.c = { .name = "bench", .link_mbit = 1000 } };
	parse_list(def, true, o);
}

int bench_e2e(int argc, char **argv)
{
	struct e2e_opts o;
	struct e2e r = { 0 };
	char dir[4096];
	FILE *tbl;
	int rc, err = 0;

	set_defaults(&o);
	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (o.put && o.pipeline) {
		fprintf(stderr, "prism bench e2e: --pipeline is for GETs\n");
		return 2;
	}
	if (o.tls && (o.put || o.pipeline)) {
		fprintf(stderr, "prism bench e2e: --tls is for the GET workload "
				"with wrk (no --pipeline, no put)\n");
		return 2;
	}
	if (bench_start("e2e", NULL, NULL, 0))
		return 1;
	tbl = o.c.json ? stderr : stdout;
	for (int i = 0; !err && i < o.nns; i++)
		err = run_n(&r, &o, o.ns[i], tbl);
	if (err)
		fprintf(stderr, "prism bench e2e: stopped: %s\n",
			strerror(-err));
	if (r.npts && !bench_results_dir(o.put ? "e2e-put" : "e2e", o.c.out, dir,
					 sizeof(dir))) {
		write_csv(&r, &o, dir);
		write_plot(&r, &o, dir);
		fprintf(tbl, "\nresults: %s/e2e.csv, %s/e2e.png\n", dir, dir);
	}
	/* The targets are the GET benchmark's (thesis Fig 4.3). */
	for (int i = 0; !err && !o.put && i < o.nns; i++)
		targets(tbl, &r, &o, o.ns[i]);
	if (o.c.json && !err)
		print_json(&r, &o);
	free(r.pts);
	return err ? 1 : 0;
}
