/* `prism bench` subcommands.  Each takes argv with argv[0] = its own name
 * and returns a process exit code. */
#pragma once

int bench_switch(int argc, char **argv);
int bench_e2e(int argc, char **argv);
int bench_latency(int argc, char **argv);

/* ---- the command line and start of every benchmark (bench_opts.c) ---- */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <getopt.h>

/* The options most benchmarks share. */
struct bench_common {
	const char *name; /* --name NAME: the testbed it builds */
	int backends;     /* --backends N (1..16) */
	int link_mbit;    /* --link-mbit M */
	bool json;        /* --json: JSON on stdout, the table on stderr */
	const char *out;  /* --out DIR */
	double loss;      /* --loss PCT: random loss on every host's links */
};

/* Which of the common options a benchmark takes (--help always). */
#define BENCH_OPT_NAME 0x1u
#define BENCH_OPT_BACKENDS 0x2u
#define BENCH_OPT_LINK 0x4u
#define BENCH_OPT_JSON 0x8u
#define BENCH_OPT_OUT 0x10u
#define BENCH_OPT_LOSS 0x20u

struct bench_cli {
	const char *bench;         /* "e2e": for messages */
	const struct option *opts; /* its own options, {0}-terminated */
	/* One of its own options (getopt's value C, its argument ARG):
	 * 0 or -EINVAL. */
	int (*opt)(int c, const char *arg, void *ctx);
	void (*usage)(FILE *f);
	void *ctx;
	unsigned common;           /* BENCH_OPT_* */
	const char *hint;          /* added to the error message, or NULL */
};

/* Parses ARGV into the benchmark's own options (through cli->opt) and B.
 * Returns 0 (go on), 1 (--help printed: exit 0) or 2 (bad usage, said on
 * stderr: exit 2). */
int bench_parse_args(const struct bench_cli *cli, int argc, char **argv,
		     struct bench_common *b);

/* What every benchmark does before it runs: root, SIGINT/SIGTERM ->
 * bench_stop, and (DIR not NULL) the results folder OUT or
 * results/bench-KIND-<timestamp>.  0 or -errno (said on stderr). */
int bench_start(const char *kind, const char *out, char *dir, size_t len);
