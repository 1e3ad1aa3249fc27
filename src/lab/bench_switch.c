/* `prism bench switch`: nanoseconds per packet of the switch program
 * (flow hit and miss) against a no-op program and plain L2 forwarding,
 * for 64 B and 1514 B frames, through BPF_PROG_TEST_RUN with many repeats.
 * Programs run interleaved round by round and each result is the median
 * of the rounds, so that drift on a shared machine hits all alike.  It
 * runs in a forked child inside a private network namespace (progtest),
 * where the veth pair gives bpf_fib_lookup a real next hop: the hit case
 * and l2fwd both end in bpf_redirect. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/bench.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lab/pkt.h"
#include "lab/progtest.h"
#include "l2fwd.skel.h"
#include "noop.skel.h"
#include "switch.skel.h"

enum { P_HIT, P_MISS, P_HOST_IN, P_HOST_OUT, P_NOOP, P_L2FWD, NPROG };
enum { NSIZE = 2, MAX_ROUNDS = 101 };

/* host-in: host mode at the controller's host (client->VIP to the
 * owner, marked, bpf_redirect_neigh); host-out: at a backend's egress
 * (from the VIP, window zeroed, passed on). */
static const char *const prog_names[NPROG] = { "prism-hit", "prism-miss",
					       "host-in-hit", "host-out-hit",
					       "noop", "l2fwd" };
static const int prog_verdicts[NPROG] = { TC_ACT_REDIRECT, TC_ACT_OK,
					  TC_ACT_REDIRECT, TC_ACT_OK,
					  TC_ACT_OK, TC_ACT_REDIRECT };
static const unsigned int frame_sizes[NSIZE] = { 64, 1514 };

/* The hit case: the test run repeats the program on one skb, so each run
 * sees what the previous one wrote.  Two entries keep every run a real
 * rewrite: client->VIP is owned by X, and a flow keyed as if X were the
 * VIP is owned by the VIP address.  The packet goes C->V, C->X, C->V, ...
 * and both V and X have a static neighbour on pt1, so every run also does
 * the FIB lookup, the MAC write and the redirect. */
#define B_CLIENT PKT_IP4(198, 18, 250, 2)
#define B_VIP PKT_IP4(198, 18, 251, 3)
#define B_BACKEND PKT_IP4(198, 18, 251, 2)
#define B_CPORT 40000
#define B_MISS_CPORT 40001
#define B_VPORT 80

struct bench_opts {
	unsigned int repeat;
	unsigned int rounds;
	struct bench_common c; /* json, out */
};

struct bench {
	struct switch_bpf *sw;
	struct noop_bpf *noop;
	struct l2fwd_bpf *l2;
	struct progtest_net net;
	int fds[NPROG];
	uint8_t frames[NPROG][NSIZE][1514];
	int lens[NPROG][NSIZE];
	double ns[NPROG][NSIZE];
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism bench switch [--repeat N] [--rounds N] [--json] "
		"[--out DIR]\n"
		"  --repeat N  runs per BPF_PROG_TEST_RUN call "
		"(default 1000000)\n"
		"  --rounds N  interleaved rounds, median reported "
		"(default 5)\n"
		"  --json      JSON array on stdout (the table goes to "
		"stderr)\n"
		"  --out DIR   CSV + PNG plot (default "
		"results/bench-switch-<timestamp>/)\n"
		"Needs root.  Targets: prism-hit <= 1.5x l2fwd; 1514 B <= 1.1x "
		"64 B.\n");
}

static int put_flow(int fd, uint32_t client, uint32_t vip, uint32_t owner)
{
	struct prism_flow_key k = {
		.client_ip = htonl(client),
		.vip = htonl(vip),
		.client_port = htons(B_CPORT),
		.vip_port = htons(B_VPORT),
	};
	struct prism_flow_value v = { .state = PRISM_FLOW_OWNED,
				      .backend_ip = htonl(owner) };

	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0)
		return -errno;
	return 0;
}

/* rev(OWNER) -> the flow (client, VIP). */
static int put_rev(int fd, uint32_t owner, uint32_t vip)
{
	struct prism_rev_key r = {
		.backend_ip = htonl(owner),
		.client_ip = htonl(B_CLIENT),
		.backend_port = htons(B_VPORT),
		.client_port = htons(B_CPORT),
	};
	struct prism_flow_key k = {
		.client_ip = htonl(B_CLIENT),
		.vip = htonl(vip),
		.client_port = htons(B_CPORT),
		.vip_port = htons(B_VPORT),
	};

	return bpf_map_update_elem(fd, &r, &k, BPF_ANY) < 0 ? -errno : 0;
}

static int load_programs(struct bench *b)
{
	int err;

	b->sw = switch_bpf__open_and_load();
	b->noop = noop_bpf__open_and_load();
	b->l2 = l2fwd_bpf__open();
	if (!b->sw || !b->noop || !b->l2) {
		err = -errno;
		log_err("bench switch: open/load BPF programs: %s",
			strerror(errno));
		return err ? err : -EINVAL;
	}
	b->l2->rodata->out_ifindex = (__u32)b->net.out_ifindex;
	progtest_neigh_mac(B_BACKEND, b->l2->rodata->dst_mac);
	memcpy(b->l2->rodata->src_mac, b->net.out_mac, 6);
	err = l2fwd_bpf__load(b->l2);
	if (err) {
		log_err("bench switch: load l2fwd: %s", strerror(-err));
		return err;
	}
	b->fds[P_HIT] = bpf_program__fd(b->sw->progs.prism_switch);
	b->fds[P_MISS] = b->fds[P_HIT];
	b->fds[P_HOST_IN] = bpf_program__fd(b->sw->progs.prism_host_in);
	b->fds[P_HOST_OUT] = bpf_program__fd(b->sw->progs.prism_host_out);
	b->fds[P_NOOP] = bpf_program__fd(b->noop->progs.prism_noop);
	b->fds[P_L2FWD] = bpf_program__fd(b->l2->progs.prism_l2fwd);
	err = put_flow(bpf_map__fd(b->sw->maps.flows), B_CLIENT, B_VIP,
		       B_BACKEND);
	if (!err)
		err = put_flow(bpf_map__fd(b->sw->maps.flows), B_CLIENT,
			       B_BACKEND, B_VIP);
	/* host-out's two reverse entries: B->C is rewritten to V->C, which
	 * the next run finds owned by "V", and back. */
	if (!err)
		err = put_rev(bpf_map__fd(b->sw->maps.rev_flows), B_BACKEND,
			      B_VIP);
	if (!err)
		err = put_rev(bpf_map__fd(b->sw->maps.rev_flows), B_VIP,
			      B_BACKEND);
	if (err)
		log_err("bench switch: add flows: %s", strerror(-err));
	return err;
}

static int build_frames(struct bench *b)
{
	struct pkt_spec s = { 0 };

	memcpy(s.dst_mac, b->net.in_mac, 6);
	progtest_neigh_mac(B_CLIENT, s.src_mac);
	s.saddr = B_CLIENT;
	s.daddr = B_VIP;
	s.dport = B_VPORT;
	s.seq = 1;
	s.ack = 1;
	s.flags = PKT_ACK | PKT_PSH;
	s.window = 502;
	for (int i = 0; i < NPROG * NSIZE; i++) {
		int p = i / NSIZE, z = i % NSIZE;

		s.saddr = p == P_HOST_OUT ? B_BACKEND : B_CLIENT;
		s.daddr = p == P_HOST_OUT ? B_CLIENT : B_VIP;
		s.sport = p == P_HOST_OUT ? B_VPORT
			  : p == P_MISS	  ? B_MISS_CPORT
					  : B_CPORT;
		s.dport = p == P_HOST_OUT ? B_CPORT : B_VPORT;
		s.payload_len = (uint16_t)(frame_sizes[z] - PKT_ETH_LEN -
					   PKT_IP_LEN - PKT_TCP_LEN);
		b->lens[p][z] = pkt_build(&s, b->frames[p][z],
					  sizeof(b->frames[p][z]));
		if (b->lens[p][z] != (int)frame_sizes[z])
			return -EINVAL;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One BPF_PROG_TEST_RUN call of program p on frame size z. */
static int run_once(const struct bench *b, const struct bench_opts *o, int p,
		    int z, double *ns)
{
	struct progtest_run run = {
		.data_in = b->frames[p][z],
		.size_in = (uint32_t)b->lens[p][z],
		/* host-out: sent by this host (no ingress interface) */
		.ifindex = p == P_HOST_OUT ? 0 : (uint32_t)b->net.in_ifindex,
		.repeat = o->repeat,
	};
	int err;

	err = progtest_run(b->fds[p], &run);
	if (err)
		return err;
	if ((int)run.retval != prog_verdicts[p]) {
		log_err("bench switch: %s %u B: verdict %u, want %d",
			prog_names[p], frame_sizes[z], run.retval,
			prog_verdicts[p]);
		return -EPROTO;
	}
	*ns = run.duration_ns;
	return 0;
}

static int measure(struct bench *b, const struct bench_opts *o)
{
	static double samples[NPROG][NSIZE][MAX_ROUNDS];
	int err;

	for (unsigned int r = 0; r < o->rounds; r++)
		for (int z = 0; z < NSIZE; z++)
			for (int p = 0; p < NPROG; p++) {
				err = run_once(b, o, p, z, &samples[p][z][r]);
				if (err)
					return err;
			}
	for (int p = 0; p < NPROG; p++) {
		for (int z = 0; z < NSIZE; z++) {
			qsort(samples[p][z], o->rounds, sizeof(double),
			      cmp_double);
			b->ns[p][z] = samples[p][z][o->rounds / 2];
		}
	}
	return 0;
}

/* Every hit run must have been a rewrite and every miss run a miss: the
 * counters prove that the numbers measure what their names say. */
static int check_counters(struct bench *b, const struct bench_opts *o)
{
	uint64_t st[PRISM_STAT_MAX];
	uint64_t runs = (uint64_t)o->rounds * o->repeat * NSIZE;
	int err;

	err = progtest_read_stats(bpf_map__fd(b->sw->maps.stats), st);
	if (err)
		return err;
	/* prism-hit and host-in-hit: to the backend, redirected. */
	if (st[PRISM_STAT_TO_BACKEND] != 2 * runs ||
	    st[PRISM_STAT_REDIRECT] != 2 * runs ||
	    st[PRISM_STAT_MISS] != runs || st[PRISM_STAT_TO_CLIENT] != runs) {
		log_err("bench switch: counters: to_backend %llu redirect %llu "
			"miss %llu to_client %llu, want %llu, %llu, %llu, %llu",
			(unsigned long long)st[PRISM_STAT_TO_BACKEND],
			(unsigned long long)st[PRISM_STAT_REDIRECT],
			(unsigned long long)st[PRISM_STAT_MISS],
			(unsigned long long)st[PRISM_STAT_TO_CLIENT],
			(unsigned long long)(2 * runs),
			(unsigned long long)(2 * runs),
			(unsigned long long)runs, (unsigned long long)runs);
		return -EPROTO;
	}
	return 0;
}

static void print_table(const struct bench *b, const struct bench_opts *o,
			FILE *out)
{
	double hit_l2_64 = b->ns[P_HIT][0] / b->ns[P_L2FWD][0];
	double hit_l2_1514 = b->ns[P_HIT][1] / b->ns[P_L2FWD][1];
	double hit_size = b->ns[P_HIT][1] / b->ns[P_HIT][0];

	fprintf(out, "# BPF_PROG_TEST_RUN, %u runs x %u rounds, "
		     "median ns/packet\n", o->repeat, o->rounds);
	fprintf(out, "%-12s %10s %10s\n", "program", "64 B", "1514 B");
	for (int p = 0; p < NPROG; p++)
		fprintf(out, "%-12s %10.1f %10.1f\n", prog_names[p],
			b->ns[p][0], b->ns[p][1]);
	fprintf(out, "prism-hit / l2fwd: %.2f (64 B), %.2f (1514 B)  "
		     "target <= 1.5: %s\n", hit_l2_64, hit_l2_1514,
		hit_l2_64 <= 1.5 && hit_l2_1514 <= 1.5 ? "met" : "MISSED");
	fprintf(out, "prism-hit 1514 B / 64 B: %.2f  target <= 1.1: %s\n",
		hit_size, hit_size <= 1.1 ? "met" : "MISSED");
	fprintf(out, "host mode / l2fwd (64 B, 1514 B): host-in-hit %.2f, "
		     "%.2f; host-out-hit %.2f, %.2f\n",
		b->ns[P_HOST_IN][0] / b->ns[P_L2FWD][0],
		b->ns[P_HOST_IN][1] / b->ns[P_L2FWD][1],
		b->ns[P_HOST_OUT][0] / b->ns[P_L2FWD][0],
		b->ns[P_HOST_OUT][1] / b->ns[P_L2FWD][1]);
}

static void print_json(const struct bench *b)
{
	const char *sep = "";

	printf("[");
	for (int i = 0; i < NPROG * NSIZE; i++) {
		int p = i / NSIZE, z = i % NSIZE;

		printf("%s\n  {\"program\": \"%s\", \"frame_bytes\": %u, "
		       "\"ns_per_packet\": %.1f}", sep, prog_names[p],
		       frame_sizes[z], b->ns[p][z]);
		sep = ",";
	}
	printf("\n]\n");
}

static int mkdir_p(const char *path)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, "w");
}

static int write_csv(const struct bench *b, const char *dir)
{
	FILE *csv = open_in(dir, "switch.csv");
	FILE *dat = open_in(dir, "plot.dat");
	int err = 0;

	if (!csv || !dat) {
		err = -errno;
		goto out;
	}
	fprintf(csv, "program,frame_bytes,ns_per_packet\n");
	for (int p = 0; p < NPROG; p++)
		for (int z = 0; z < NSIZE; z++)
			fprintf(csv, "%s,%u,%.1f\n", prog_names[p],
				frame_sizes[z], b->ns[p][z]);
	/* Wide form for gnuplot: one row per frame size. */
	fprintf(dat, "frame");
	for (int p = 0; p < NPROG; p++)
		fprintf(dat, " %s", prog_names[p]);
	for (int z = 0; z < NSIZE; z++) {
		fprintf(dat, "\n\"%u B\"", frame_sizes[z]);
		for (int p = 0; p < NPROG; p++)
			fprintf(dat, " %.1f", b->ns[p][z]);
	}
	fprintf(dat, "\n");
out:
	if (csv && fclose(csv) && !err)
		err = -errno;
	if (dat && fclose(dat) && !err)
		err = -errno;
	return err;
}

/* gnuplot switch.gp, run in dir (the script names files relative to it). */
static int run_gnuplot(const char *dir)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (chdir(dir) == 0)
			execlp("gnuplot", "gnuplot", "switch.gp", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warn("bench switch: gnuplot failed (status %d); "
			 "%s/switch.gp kept", status, dir);
		return -EIO;
	}
	return 0;
}

static int write_plot(const char *dir)
{
	FILE *gp = open_in(dir, "switch.gp");

	if (!gp)
		return -errno;
	fprintf(gp,
		"set terminal pngcairo size 800,480\n"
		"set output 'switch.png'\n"
		"set title 'Packet processing cost (BPF\\_PROG\\_TEST\\_RUN)'\n"
		"set ylabel 'ns per packet'\n"
		"set style data histogram\n"
		"set style histogram clustered gap 1\n"
		"set style fill solid 0.8 border -1\n"
		"set key outside below horizontal\n"
		"set yrange [0:*]\n"
		"set grid ytics\n"
		"plot for [i=2:%d] 'plot.dat' using i:xtic(1) "
		"title columnheader(i)\n",
		NPROG + 1);
	if (fclose(gp))
		return -errno;
	return run_gnuplot(dir);
}

static int write_results(const struct bench *b, const struct bench_opts *o)
{
	char def[256];
	const char *dir = o->c.out;
	time_t now = time(NULL);
	int err;

	if (!dir) {
		strftime(def, sizeof(def),
			 "results/bench-switch-%Y%m%d-%H%M%S", localtime(&now));
		dir = def;
	}
	err = mkdir_p(dir);
	if (!err)
		err = write_csv(b, dir);
	if (err) {
		log_err("bench switch: write %s: %s", dir, strerror(-err));
		return err;
	}
	write_plot(dir); /* the CSV stands without the plot */
	fprintf(o->c.json ? stderr : stdout,
		"results: %s/switch.csv, %s/switch.png\n", dir, dir);
	return 0;
}

static int run_bench(const struct bench_opts *o)
{
	static struct bench b;
	int err;

	err = progtest_enter_netns();
	if (!err)
		err = progtest_net_setup(&b.net);
	if (!err)
		err = load_programs(&b);
	if (!err)
		err = build_frames(&b);
	if (!err)
		err = measure(&b, o);
	if (!err)
		err = check_counters(&b, o);
	if (err)
		goto out;
	print_table(&b, o, o->c.json ? stderr : stdout);
	if (o->c.json)
		print_json(&b);
	err = write_results(&b, o);
out:
	l2fwd_bpf__destroy(b.l2);
	noop_bpf__destroy(b.noop);
	switch_bpf__destroy(b.sw);
	return err;
}

static int switch_opt(int c, const char *arg, void *ctx)
{
	struct bench_opts *o = ctx;

	if (c == 'r')
		return num_parse_u32(arg, 1, 100000000, &o->repeat);
	return num_parse_u32(arg, 1, MAX_ROUNDS, &o->rounds);
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option own[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ 0 },
	};
	const struct bench_cli cli = {
		.bench = "switch", .opts = own, .opt = switch_opt,
		.usage = usage, .ctx = o,
		.common = BENCH_OPT_JSON | BENCH_OPT_OUT,
	};

	return bench_parse_args(&cli, argc, argv, &o->c);
}

int bench_switch(int argc, char **argv)
{
	struct bench_opts o = { .repeat = 1000000, .rounds = 5 };
	int rc, status;
	pid_t pid;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (bench_start(NULL, NULL, NULL, 0))
		return 1;
	/* The child owns the private namespace; ours stays as it was. */
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		log_err("bench switch: fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		rc = run_bench(&o);
		fflush(stdout);
		_exit(rc ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
