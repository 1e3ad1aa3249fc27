/* `prism bench` subcommands.  Each takes argv with argv[0] = its own name
 * and returns a process exit code. */
#pragma once

int bench_switch(int argc, char **argv);
int bench_e2e(int argc, char **argv);
int bench_latency(int argc, char **argv);
