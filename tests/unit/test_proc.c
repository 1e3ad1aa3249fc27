/* src/lib/proc: exit codes, capture, stdin, no shell in between. */
#include "t.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proc.h"

static void test_exit_status(void)
{
	CHECK_EQ(proc_runl(NULL, "true", PROC_END), 0);
	CHECK_EQ(proc_runl(NULL, "sh", "-c", "exit 3", PROC_END), 3);
	CHECK_EQ(proc_runl(NULL, "sh", "-c", "kill -9 $$", PROC_END), 128 + 9);
}

static void test_missing_program(void)
{
	CHECK_EQ(proc_runl(NULL, "prism-no-such-program", PROC_END), -ENOENT);
	CHECK_EQ(proc_which("prism-no-such-program", NULL, 0), -ENOENT);
}

static void test_which(void)
{
	char path[256];

	CHECK_EQ(proc_which("sh", path, sizeof(path)), 0);
	CHECK(path[0] == '/' && strstr(path, "/sh"));
	CHECK_EQ(proc_which("/bin/sh", NULL, 0), 0);
	CHECK_EQ(proc_which("/etc/passwd", NULL, 0), -ENOENT);
}

static void test_capture_both(void)
{
	char out[64], err[64];
	struct proc_io io = { .out = out, .out_size = sizeof(out), .err = err,
			      .err_size = sizeof(err) };

	CHECK_EQ(proc_runl(&io, "sh", "-c", "echo to-out; echo to-err >&2; exit 5",
			   PROC_END), 5);
	CHECK(!strcmp(out, "to-out\n"));
	CHECK(!strcmp(err, "to-err\n"));
}

/* Arguments reach the program verbatim: no shell expands them. */
static void test_no_shell(void)
{
	char out[64];
	struct proc_io io = { .out = out, .out_size = sizeof(out) };

	CHECK_EQ(proc_runl(&io, "echo", "$HOME;", "*", "`id`", PROC_END), 0);
	CHECK(!strcmp(out, "$HOME; * `id`\n"));
}

/* 1 MiB in while the child also writes: no deadlock, every byte counted. */
static void test_stdin_large(void)
{
	size_t len = 1 << 20;
	char *in = malloc(len), out[64];
	struct proc_io io = { .in = in, .in_len = len, .out = out,
			      .out_size = sizeof(out) };

	memset(in, 'x', len);
	CHECK_EQ(proc_runl(&io, "wc", "-c", PROC_END), 0);
	CHECK_EQ(atol(out), (long)len);
	CHECK_EQ(proc_runl(&io, "cat", PROC_END), 0); /* echoes it all back */
	CHECK_EQ(strlen(out), sizeof(out) - 1);   /* cut, NUL-terminated */
	free(in);
}

/* A child that never reads its stdin: EPIPE for us, not SIGPIPE. */
static void test_stdin_unread(void)
{
	size_t len = 4 << 20;
	char *in = calloc(1, len);
	struct proc_io io = { .in = in, .in_len = len };

	CHECK_EQ(proc_runl(&io, "true", PROC_END), 0);
	free(in);
}

static void test_quiet_and_empty_stdin(void)
{
	struct proc_io io = { .in = "", .in_len = 0, .quiet = true };

	CHECK_EQ(proc_runl(&io, "sh", "-c", "echo noise; read x; exit 4",
			   PROC_END), 4);
}

static void test_big_output_truncated(void)
{
	char out[100];
	struct proc_io io = { .out = out, .out_size = sizeof(out) };

	CHECK_EQ(proc_runl(&io, "head", "-c", "1000000", "/dev/zero", PROC_END), 0);
	CHECK_EQ(proc_runl(&io, "seq", "100000", PROC_END), 0);
	CHECK_EQ(strlen(out), 99);
	CHECK(!strncmp(out, "1\n2\n3\n", 6));
}

int main(void)
{
	t_run("exit status and signal", test_exit_status);
	t_run("missing program is -ENOENT", test_missing_program);
	t_run("which", test_which);
	t_run("capture stdout and stderr", test_capture_both);
	t_run("arguments verbatim, no shell", test_no_shell);
	t_run("1 MiB through stdin", test_stdin_large);
	t_run("child ignores stdin", test_stdin_unread);
	t_run("quiet, empty stdin", test_quiet_and_empty_stdin);
	t_run("large output cut to the buffer", test_big_output_truncated);
	return t_done();
}
