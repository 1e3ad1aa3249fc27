/* `prism bench load` and `prism bench soak` (bench_soak.c); argv[0] is the
 * benchmark's name; they return a process exit code (1: a FAIL line). */
#pragma once

int bench_load(int argc, char **argv);
int bench_soak(int argc, char **argv);
