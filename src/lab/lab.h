/* The lab: what builds and measures a Prism deployment on one machine, apart
 * from the product it runs.  `prism testbed` (the namespace topology),
 * `prism up|down|status` (the daemons on it) and `prism bench`.  Nothing
 * in src/{lib,switch,controller,backend} includes anything of the lab.
 * Each entry point takes argv with argv[0] = its own name and returns a
 * process exit code; each prints its usage on --help. */
#pragma once

int cmd_testbed(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_bench(int argc, char **argv);
