/* `prism bench`: dispatch to one benchmark.  Benchmarks report; tests
 * assert. */
#include <stdio.h>
#include <string.h>

#include "lab/bench.h"
#include "lab/bench_soak.h"
#include "lab/lab.h"

struct bench {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	/* A bare `prism bench` (make bench) runs the ones with default
	 * arguments, in their short form; NULL: not run by default. */
	const char *const *short_args;
};

static const char *const switch_short[] = { "switch", NULL };
static const char *const e2e_short[] = { "e2e", "--sizes", "1k,64k,1m,16m",
					 "--duration", "2", NULL };
static const char *const latency_short[] = { "latency", "--requests", "300",
					     NULL };

static const struct bench benches[] = {
	{ "switch", bench_switch,
	  "ns per packet of the switch program vs noop and l2fwd",
	  switch_short },
	{ "e2e", bench_e2e,
	  "throughput, req/s, latency: prism vs nginx proxy vs direct",
	  e2e_short },
	{ "latency", bench_latency,
	  "per-request startup and teardown overhead over direct",
	  latency_short },
	{ "load", bench_load,
	  "10,000 keep-alive connections held by the controller", NULL },
	{ "soak", bench_soak,
	  "1M requests: RSS and fds of every daemon stay flat", NULL },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: prism bench BENCHMARK [ARGS...]\n"
		     "       prism bench BENCHMARK --help\n"
		     "       prism bench        (a short run of the ones marked *)\n"
		     "\nBenchmarks:\n");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		fprintf(out, "  %-10s %s%s\n", benches[i].name,
			benches[i].summary,
			benches[i].short_args ? " (*)" : "");
}

static int run_defaults(void)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		const char *const *a = benches[i].short_args;
		char *argv[16];
		int n = 0;

		if (!a)
			continue;
		while (n < 15 && a[n]) {
			argv[n] = (char *)a[n];
			n++;
		}
		argv[n] = NULL;
		if (benches[i].run(n, argv))
			rc = 1;
	}
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name)
		return run_defaults();
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (!strcmp(name, benches[i].name))
			return benches[i].run(argc - 1, argv + 1);
	fprintf(stderr, "prism bench: unknown benchmark '%s'\n", name);
	usage(stderr);
	return 2;
}
