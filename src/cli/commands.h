/* Subcommands of `prism`.  Each takes argv with argv[0] = its own name and
 * returns a process exit code.  Each prints its usage on --help. */
#pragma once

int cmd_testbed(int argc, char **argv);
int cmd_switch(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_controller(int argc, char **argv);
int cmd_backend(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
