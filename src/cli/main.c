/* prism: one binary, subcommands in the style of ip(8) and bpftool(8). */
#include <stdio.h>
#include <string.h>

#include "backend/server.h"
#include "controller/controller.h"
#include "lab/lab.h"
#include "lib/log.h"
#include "switch/agent.h"

#define PRISM_VERSION "0.1.0"

/* `prism check --role ROLE [the daemon's options]`: the daemon's own
 * parser reads the options, then the role's preflight runs. */
static int cmd_check(int argc, char **argv)
{
	static const struct {
		const char *role;
		int (*check)(int argc, char **argv);
	} roles[] = {
		{ "controller", controller_check },
		{ "backend", backend_check },
		{ "switch", agent_check },
	};

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: prism check --role controller|backend|switch "
		       "[OPTIONS...]\n\n"
		       "OPTIONS are the role's daemon's own (prism controller, "
		       "prism backend,\nprism switch run), --config FILE "
		       "included.  One line per thing the\ndaemon needs from "
		       "this host: ok, warn, or FAIL with how to fix it.\n"
		       "Exit 0 when the role can run here, 1 when something is "
		       "missing, 2 on bad\noptions.  Nothing on the host is "
		       "changed.\n");
		return 0;
	}
	for (size_t i = 0; argc > 2 && !strcmp(argv[1], "--role") &&
			   i < sizeof(roles) / sizeof(roles[0]);
	     i++)
		if (!strcmp(argv[2], roles[i].role)) {
			argv[2] = argv[0];
			return roles[i].check(argc - 2, argv + 2);
		}
	fprintf(stderr, "prism check: --role controller|backend|switch comes "
			"first (try prism check --help)\n");
	return 2;
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "testbed", cmd_testbed, "build the namespace topology (up|down|status|addr|exec)" },
	{ "switch", cmd_switch, "the eBPF switch agent (run|stats|flows|ctl)" },
	{ "controller", cmd_controller, "the controller: accept, parse, hand off" },
	{ "backend", cmd_backend, "an HTTP backend that takes hand-offs" },
	{ "check", cmd_check, "preflight: what a role needs from this host" },
	{ "up", cmd_up, "start switch, backends and controller in the testbed" },
	{ "down", cmd_down, "stop what 'prism up' started" },
	{ "status", cmd_status, "show the components of 'prism up'" },
	{ "bench", cmd_bench, "benchmarks (switch)" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: prism COMMAND [ARGS...]\n"
		     "       prism COMMAND --help\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "  %-12s %s\n  %-12s %s\n", "help", "this text",
		"version", "print the version");
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "help";

	log_init("prism", LOG_INFO);
	if (!strcmp(name, "help") || !strcmp(name, "--help") ||
	    !strcmp(name, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "version") || !strcmp(name, "--version")) {
		printf("prism %s\n", PRISM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "prism: unknown command '%s' (try 'prism help')\n",
		name);
	return 2;
}
