/* The command line every benchmark shares (bench.h): its own options and
 * the common ones in one getopt_long table, one error message. */
#include "lab/bench.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "lab/bench_env.h"
#include "lab/testbed.h"
#include "lib/num.h"

enum { OPT_NAME = 0x1000, OPT_BACKENDS, OPT_LINK, OPT_JSON, OPT_OUT,
       OPT_LOSS, OPT_HELP };

static const struct option common_opts[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "backends", required_argument, NULL, OPT_BACKENDS },
	{ "link-mbit", required_argument, NULL, OPT_LINK },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "help", no_argument, NULL, OPT_HELP },
};
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))
#define MAX_OPTS 32

/* The benchmark's own options first, then the common ones it takes. */
static int build_table(const struct bench_cli *cli, struct option *t)
{
	size_t n = 0;

	for (const struct option *o = cli->opts; o && o->name; o++) {
		if (n == MAX_OPTS - N_COMMON - 1)
			return -E2BIG;
		t[n++] = *o;
	}
	for (size_t i = 0; i < N_COMMON; i++)
		if (common_opts[i].val == OPT_HELP ||
		    (cli->common & 1u << (common_opts[i].val - OPT_NAME)))
			t[n++] = common_opts[i];
	memset(&t[n], 0, sizeof(t[n]));
	return 0;
}

static int common_opt(int c, const char *arg, struct bench_common *b)
{
	switch (c) {
	case OPT_NAME:
		b->name = arg;
		return 0;
	case OPT_BACKENDS:
		return num_parse_int(arg, 1, 16, &b->backends);
	case OPT_LINK:
		return num_parse_int(arg, 1, 100000, &b->link_mbit);
	case OPT_JSON:
		b->json = true;
		return 0;
	case OPT_OUT:
		b->out = arg;
		return 0;
	case OPT_LOSS:
		return testbed_parse_pct(arg, &b->loss);
	}
	return -EINVAL;
}

int bench_parse_args(const struct bench_cli *cli, int argc, char **argv,
		     struct bench_common *b)
{
	struct option table[MAX_OPTS];
	int c, err = 0;

	if (build_table(cli, table))
		return 2;
	optind = 1;
	while (!err && (c = getopt_long(argc, argv, "h", table, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			cli->usage(stdout);
			return 1;
		}
		if (c == '?') {
			cli->usage(stderr);
			return 2;
		}
		err = c >= OPT_NAME ? common_opt(c, optarg, b)
				    : cli->opt(c, optarg, cli->ctx);
	}
	if (err || optind < argc) {
		fprintf(stderr, "prism bench %s: bad option value or argument "
				"(%stry --help)\n",
			cli->bench, cli->hint ? cli->hint : "");
		return 2;
	}
	return 0;
}

int bench_start(const char *kind, const char *out, char *dir, size_t len)
{
	if (testbed_check_root())
		return -EPERM;
	bench_signals();
	return dir ? bench_results_dir(kind, out, dir, len) : 0;
}
