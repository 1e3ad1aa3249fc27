/* `prism bench`: dispatch to one benchmark.  Benchmarks report; tests
 * assert. */
#include <stdio.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/commands.h"

struct bench {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	int by_default; /* run by a bare `prism bench` (make bench) */
};

static const struct bench benches[] = {
	{ "switch", bench_switch,
	  "ns per packet of the switch program vs noop and l2fwd", 1 },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: prism bench BENCHMARK [ARGS...]\n"
		     "       prism bench BENCHMARK --help\n"
		     "       prism bench        (runs the default ones, *)\n"
		     "\nBenchmarks:\n");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		fprintf(out, "  %-10s %s%s\n", benches[i].name,
			benches[i].summary,
			benches[i].by_default ? " (*)" : "");
}

static int run_defaults(void)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		char *argv[] = { (char *)benches[i].name, NULL };

		if (benches[i].by_default && benches[i].run(1, argv))
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
