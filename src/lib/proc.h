/* Subprocesses without a shell: a program and its argv, optional bytes for
 * its stdin, optional capture of its stdout and stderr, and its exit status.
 *
 *   char out[256];
 *   struct proc_io io = { .out = out, .out_size = sizeof(out) };
 *   int rc = proc_runl(&io, "tc", "-n", ns, "-j", "qdisc", "show", PROC_END);
 *   rc < 0: could not start it (-ENOENT: not in PATH); else its exit status.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct proc_io {
	const char *in;   /* fed to stdin; NULL: stdin is /dev/null */
	size_t in_len;
	char *out;        /* stdout, NUL-terminated, cut at out_size - 1 */
	size_t out_size;
	char *err;        /* stderr, same rules */
	size_t err_size;
	bool quiet;       /* stdout/stderr not captured go to /dev/null */
};

/* Runs argv[0] (searched in PATH) with argv and waits for it.  io may be
 * NULL: stdin from /dev/null, stdout and stderr inherited.  Returns the exit
 * status (0..255), 128 + N when killed by signal N, or -errno when it could
 * not be started (-ENOENT: no such program). */
int proc_run(char *const argv[], const struct proc_io *io);

/* The end of proc_runl's list: a null pointer of the right type (a bare
 * NULL may be an int 0 in a variadic call). */
#define PROC_END ((const char *)0)

/* The same with the arguments listed, ending with PROC_END (at most 63). */
int proc_runl(const struct proc_io *io, const char *file, ...)
	__attribute__((sentinel));

/* Finds PROG as an executable file in PATH (or as given when it holds a
 * '/').  Returns 0 and its path in buf (may be NULL), or -ENOENT. */
int proc_which(const char *prog, char *buf, size_t len);
