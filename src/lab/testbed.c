/* `prism testbed`: up, down, status, addr, exec.  The work is in
 * testbed_net.c (building) and testbed_state.c (names and addresses). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab/testbed.h"

static const char usage_text[] =
	"Usage: prism testbed up [--backends N] [--link-mbit M] "
	"[--client-mbit M] [--loss PCT]\n"
	"                        [--fabric switch|router] [--name NAME]\n"
	"       prism testbed loss [--name NAME] HOST|all PCT\n"
	"       prism testbed down [--name NAME]\n"
	"       prism testbed status [--name NAME]\n"
	"       prism testbed addr [--name NAME] HOST\n"
	"       prism testbed exec [--name NAME] HOST -- CMD [ARG...]\n"
	"\n"
	"Hosts: client, fabric, controller, proxy, b1..bN (each a network\n"
	"namespace NAME-HOST); addr also knows vip.  NAME: --name, else\n"
	"$PRISM_TESTBED, else \"prism\".  Defaults: N = 2 backends, backend,\n"
	"controller and proxy links M = 1000 Mbit/s, client link N*M.\n"
	"--loss PCT / loss: every link of HOST (all: of every host but the\n"
	"fabric) loses PCT percent (0..100, fractions allowed) of its packets\n"
	"each way, at random: a tc program at the host's ingress (no netem\n"
	"here) draws once for the link the packet arrives on and once for the\n"
	"sender's, unless the fabric sent it.\n"
	"--fabric router: the fabric is a plain router with loose reverse-path\n"
	"filtering, as a datacenter router has it, for `prism up --mode host`\n"
	"(default switch: no source filtering, for the switch program).\n";

/* Exit codes: 0 ok, 1 failed, 2 bad usage. */
#define EXIT_USAGE 2

static int usage_error(const char *fmt, const char *arg)
	__attribute__((format(printf, 1, 0)));
static int usage_error(const char *fmt, const char *arg)
{
	fputs("prism testbed: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (try 'prism testbed --help')\n", stderr);
	return EXIT_USAGE;
}

static const struct option name_only[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parses only --name (and --help); stops at the first operand.  Returns
 * -1 to go on, else the exit code. */
static int parse_name_opts(int argc, char **argv, char *name, size_t len)
{
	const char *flag = NULL;
	int c;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+h", name_only, NULL)) != -1) {
		if (c == 'n')
			flag = optarg;
		else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else
			return usage_error("bad option to %s", argv[0]);
	}
	if (testbed_resolve_name(flag, name, len))
		return EXIT_USAGE;
	return -1;
}

static int parse_count(const char *opt, const char *s, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max) {
		fprintf(stderr,
			"prism testbed: %s '%s': must be a whole number in "
			"1..%d (try 'prism testbed --help')\n",
			opt, s, max);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static const struct option up_opts[] = {
	{ "backends", required_argument, NULL, 'b' },
	{ "link-mbit", required_argument, NULL, 'l' },
	{ "client-mbit", required_argument, NULL, 'c' },
	{ "loss", required_argument, NULL, 'L' },
	{ "fabric", required_argument, NULL, 'f' },
	{ "name", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A loss rate: a number of percent in 0..100. */
int testbed_parse_pct(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out >= 0 && *out <= 100)
		       ? -EINVAL
		       : 0;
}

static int parse_pct(const char *s, double *out)
{
	if (testbed_parse_pct(s, out)) {
		fprintf(stderr, "prism testbed: loss '%s': a percentage in "
				"0..100 (try 'prism testbed --help')\n",
			s);
		return -EINVAL;
	}
	return 0;
}

static double up_loss;

static int load_or_say(const char *name, struct testbed *tb);

/* Fills TB from up's options; returns -1 to go on, else the exit code. */
static int parse_up(int argc, char **argv, struct testbed *tb)
{
	const char *name = NULL;
	long client = 0;
	int c, err = 0;

	const char *mode = getenv("PRISM_MODE");

	/* PRISM_MODE=host (the test suite's host-mode pass): a router. */
	*tb = (struct testbed){ .backends = TESTBED_DEFAULT_BACKENDS,
				.link_mbit = TESTBED_DEFAULT_MBIT,
				.router = mode && !strcmp(mode, "host") };
	optind = 1;
	while (!err && (c = getopt_long(argc, argv, "h", up_opts, NULL)) != -1) {
		if (c == 'b')
			err = parse_count("--backends", optarg,
					  TESTBED_BACKENDS_MAX, &tb->backends);
		else if (c == 'l')
			err = parse_count("--link-mbit", optarg,
					  TESTBED_MBIT_MAX, &tb->link_mbit);
		else if (c == 'c')
			err = parse_count("--client-mbit", optarg,
					  TESTBED_MBIT_MAX, &tb->client_mbit);
		else if (c == 'L')
			err = parse_pct(optarg, &up_loss);
		else if (c == 'f' && (!strcmp(optarg, "switch") ||
				      !strcmp(optarg, "router")))
			tb->router = !strcmp(optarg, "router");
		else if (c == 'f')
			return usage_error("up: --fabric takes switch or router, "
					   "not '%s'",
					   optarg);
		else if (c == 'n')
			name = optarg;
		else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else
			return usage_error("bad option to %s", "up");
	}
	if (err)
		return EXIT_USAGE;
	if (optind < argc)
		return usage_error("up: unexpected argument '%s'", argv[optind]);
	if (testbed_resolve_name(name, tb->name, sizeof(tb->name)))
		return EXIT_USAGE;
	client = tb->client_mbit ? tb->client_mbit :
				   (long)tb->backends * tb->link_mbit;
	if (client > TESTBED_MBIT_MAX) {
		fprintf(stderr,
			"prism testbed: client link N*M = %ld Mbit/s is above "
			"%d; give --client-mbit\n",
			client, TESTBED_MBIT_MAX);
		return EXIT_USAGE;
	}
	tb->client_mbit = (int)client;
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_up(int argc, char **argv)
{
	double t0 = now_s();
	struct testbed tb;
	int rc;

	rc = parse_up(argc, argv, &tb);
	if (rc >= 0)
		return rc;
	if (testbed_up(&tb))
		return 1;
	if (up_loss > 0 && testbed_loss_all(&tb, up_loss)) {
		testbed_down(tb.name);
		return 1;
	}
	printf("testbed %s up: %d backend%s, links %d Mbit/s, client link "
	       "%d Mbit/s%s (%.1f s)\n",
	       tb.name, tb.backends, tb.backends == 1 ? "" : "s", tb.link_mbit,
	       tb.client_mbit, up_loss > 0 ? ", random loss" : "",
	       now_s() - t0);
	return 0;
}

static int do_loss(int argc, char **argv)
{
	char name[TESTBED_NAME_MAX + 1];
	struct testbed tb;
	struct in_addr a;
	const char *host;
	double pct;
	int rc;

	rc = parse_name_opts(argc, argv, name, sizeof(name));
	if (rc >= 0)
		return rc;
	if (argc - optind != 2)
		return usage_error("loss takes HOST|all and PCT%s", "");
	host = argv[optind];
	if (parse_pct(argv[optind + 1], &pct))
		return EXIT_USAGE;
	if (testbed_check_root() || load_or_say(name, &tb))
		return 1;
	if (strcmp(host, "all") &&
	    (!strcmp(host, "vip") || !strcmp(host, "fabric") ||
	     testbed_host_ip(&tb, host, &a))) {
		fprintf(stderr,
			"prism testbed: loss: unknown host '%s' (client, "
			"controller, proxy, b1..b%d, all)\n",
			host, tb.backends);
		return EXIT_USAGE;
	}
	rc = strcmp(host, "all") ? testbed_loss_set(name, host, pct)
				 : testbed_loss_all(&tb, pct);
	if (rc)
		return 1;
	printf("testbed %s: %s drops %g%% of its packets each way\n", name,
	       host, pct);
	return 0;
}

static int do_down(int argc, char **argv)
{
	char name[TESTBED_NAME_MAX + 1];
	struct testbed tb;
	int rc;

	rc = parse_name_opts(argc, argv, name, sizeof(name));
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return usage_error("down: unexpected argument '%s'",
				   argv[optind]);
	rc = testbed_load(name, &tb);
	if (testbed_down(name))
		return 1;
	if (rc == -ENOENT)
		printf("testbed %s: not up, nothing to remove\n", name);
	else
		printf("testbed %s down\n", name);
	return 0;
}

/* Loads the state of testbed NAME, with a message when it is not there. */
static int load_or_say(const char *name, struct testbed *tb)
{
	char path[256];
	int err;

	err = testbed_load(name, tb);
	if (err == -ENOENT) {
		testbed_state_path(name, path, sizeof(path));
		fprintf(stderr,
			"prism testbed: no testbed '%s' (no %s; run 'prism "
			"testbed up')\n",
			name, path);
	}
	return err;
}

static int do_addr(int argc, char **argv)
{
	char name[TESTBED_NAME_MAX + 1], ip[16];
	struct testbed tb;
	struct in_addr a;
	int rc;

	rc = parse_name_opts(argc, argv, name, sizeof(name));
	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return usage_error("addr takes one HOST%s", "");
	if (load_or_say(name, &tb))
		return 1;
	if (testbed_host_ip(&tb, argv[optind], &a)) {
		fprintf(stderr,
			"prism testbed: unknown host '%s' (client, fabric, "
			"controller, proxy, b1..b%d, vip)\n",
			argv[optind], tb.backends);
		return EXIT_USAGE;
	}
	testbed_addr(name, argv[optind], ip, sizeof(ip));
	printf("%s\n", ip);
	return 0;
}

static int do_exec(int argc, char **argv)
{
	char name[TESTBED_NAME_MAX + 1];
	struct testbed tb;
	struct in_addr a;
	const char *host;
	int rc;

	rc = parse_name_opts(argc, argv, name, sizeof(name));
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return usage_error("exec needs HOST -- CMD%s", "");
	host = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return usage_error("exec %s: no command", host);
	if (testbed_check_root() || load_or_say(name, &tb))
		return 1;
	if (!strcmp(host, "vip") || testbed_host_ip(&tb, host, &a)) {
		fprintf(stderr,
			"prism testbed: unknown host '%s' (client, fabric, "
			"controller, proxy, b1..b%d)\n",
			host, tb.backends);
		return EXIT_USAGE;
	}
	if (testbed_enter(name, host))
		return 1;
	execvp(argv[optind], argv + optind);
	rc = errno;
	fprintf(stderr, "prism testbed: exec %s in %s-%s: %s\n", argv[optind],
		name, host, strerror(rc));
	return rc == ENOENT ? 127 : 126; /* as a shell would */
}

/* "1000 Mbit/s" or "none", read back from tc; counts a mismatch in BAD. */
static void rate_cell(const char *ns, const char *dev, int want, char *buf,
		      size_t len, int *bad)
{
	long got = 0;

	if (testbed_tc_rate(ns, dev, &got) == 0 && got)
		snprintf(buf, len, "%ld Mbit/s", got);
	else
		snprintf(buf, len, "none");
	*bad += got != want;
}

/* "1% (dropped/seen)", or "-" without a loss program. */
static void loss_cell(const char *name, const char *host, char *buf,
		      size_t len)
{
	uint64_t seen, dropped;
	double pct;

	snprintf(buf, len, "-");
	if (!testbed_loss_get(name, host, &pct, &seen, &dropped) &&
	    (seen || pct > 0))
		snprintf(buf, len, "%g%% (%llu/%llu)", pct,
			 (unsigned long long)dropped, (unsigned long long)seen);
}

/* One status row; returns the number of problems found. */
static int status_row(const struct testbed *tb, const char *host, int mbit)
{
	char path[256], ns[64], fabric[64], ip[16] = "?";
	char here[32] = "-", there[32] = "-", loss[48] = "-";
	bool exists;
	int bad = 0;

	testbed_netns_path(tb->name, host, path, sizeof(path));
	exists = access(path, F_OK) == 0;
	testbed_addr(tb->name, host, ip, sizeof(ip));
	snprintf(ns, sizeof(ns), "%s-%s", tb->name, host);
	snprintf(fabric, sizeof(fabric), "%s-fabric", tb->name);
	if (!exists)
		bad++;
	if (mbit && exists) {
		rate_cell(ns, "eth0", mbit, here, sizeof(here), &bad);
		rate_cell(fabric, host, mbit, there, sizeof(there), &bad);
	}
	if (exists)
		loss_cell(tb->name, host, loss, sizeof(loss));
	printf("%-11s %-14s %-24s %-7s %-15s %-15s %s\n", host, ip, ns,
	       exists ? "yes" : "MISSING", here, there, loss);
	return bad;
}

static int do_status(int argc, char **argv)
{
	char name[TESTBED_NAME_MAX + 1], host[12];
	struct testbed tb;
	int rc, bad = 0;

	rc = parse_name_opts(argc, argv, name, sizeof(name));
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return usage_error("status: unexpected argument '%s'",
				   argv[optind]);
	if (testbed_check_root() || load_or_say(name, &tb))
		return 1;
	printf("testbed %s: %s, %d backend%s, links %d Mbit/s, client link "
	       "%d Mbit/s\n",
	       name, tb.ready ? "up" : "INCOMPLETE (up did not finish)",
	       tb.backends, tb.backends == 1 ? "" : "s", tb.link_mbit,
	       tb.client_mbit);
	printf("%-11s %-14s %-24s %-7s %-15s %-15s %s\n", "HOST", "ADDRESS",
	       "NETNS", "EXISTS", "RATE (eth0)", "RATE (fabric)",
	       "LOSS (dropped/seen)");
	bad += status_row(&tb, "client", tb.client_mbit);
	bad += status_row(&tb, "fabric", 0);
	bad += status_row(&tb, "controller", tb.link_mbit);
	bad += status_row(&tb, "proxy", tb.link_mbit);
	for (int i = 1; i <= tb.backends; i++) {
		snprintf(host, sizeof(host), "b%d", i);
		bad += status_row(&tb, host, tb.link_mbit);
	}
	printf("%-11s %-14s on the controller's lo, routed there by the "
	       "fabric\n", "vip", TESTBED_VIP);
	if (bad || !tb.ready)
		printf("testbed %s: %d problem%s (missing namespaces or "
		       "rates that differ from the state file)\n",
		       name, bad, bad == 1 ? "" : "s");
	return bad || !tb.ready ? 1 : 0;
}

int cmd_testbed(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subs[] = {
		{ "up", do_up },     { "down", do_down }, { "status", do_status },
		{ "addr", do_addr }, { "exec", do_exec }, { "loss", do_loss },
	};
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") ||
	    !strcmp(sub, "help")) {
		fputs(usage_text, sub ? stdout : stderr);
		return sub ? 0 : EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(sub, subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", sub);
}
