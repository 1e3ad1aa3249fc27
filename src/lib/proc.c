/* Subprocesses: posix_spawnp with explicit file actions, then one poll loop
 * that feeds stdin and drains stdout/stderr together, so that a child which
 * writes a lot before reading its input cannot deadlock against us. */
#include "lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PROC_ARGS_MAX 64

/* One captured stream in the parent. */
struct sink {
	int fd;
	char *buf;
	size_t size;
	size_t used;
};

/* The parent's ends of the child's stdin, stdout and stderr (-1: none). */
struct pipes {
	int in;
	struct sink out;
	struct sink err;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reads what is there; past the buffer's room the bytes are discarded so
 * the child never blocks on a full pipe. */
static void sink_read(struct sink *s)
{
	char scratch[4096];
	char *dst = scratch;
	size_t room = sizeof(scratch);
	ssize_t n;

	if (s->buf && s->size > s->used + 1) {
		dst = s->buf + s->used;
		room = s->size - s->used - 1;
	}
	n = read(s->fd, dst, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(&s->fd);
		return;
	}
	if (dst != scratch) {
		s->used += (size_t)n;
		s->buf[s->used] = '\0';
	}
}

/* Child's fd TARGET reads or writes /dev/null. */
static int to_null(posix_spawn_file_actions_t *fa, int target)
{
	int flags = target == STDIN_FILENO ? O_RDONLY : O_WRONLY;

	return -posix_spawn_file_actions_addopen(fa, target, "/dev/null",
						 flags, 0);
}

/* stdin goes through a socket pair rather than a pipe: send() with
 * MSG_NOSIGNAL turns a child that exits without reading into EPIPE instead
 * of a SIGPIPE that would kill us. */
static int stdin_from(posix_spawn_file_actions_t *fa, int *parent,
		      int *child)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*parent = sv[0];
	*child = sv[1];
	return -posix_spawn_file_actions_adddup2(fa, sv[1], STDIN_FILENO);
}

static int output_to(posix_spawn_file_actions_t *fa, int target,
		     struct sink *s, int *child)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	s->fd = p[0];
	*child = p[1];
	return -posix_spawn_file_actions_adddup2(fa, p[1], target);
}

static int setup_stream(posix_spawn_file_actions_t *fa, int target,
			struct sink *s, const struct proc_io *io, int *child)
{
	if (s->buf && s->size)
		return output_to(fa, target, s, child);
	if (io && io->quiet)
		return to_null(fa, target);
	return 0; /* inherited */
}

static int setup_files(posix_spawn_file_actions_t *fa, const struct proc_io *io,
		       struct pipes *p, int child[3])
{
	int err;

	if (io && io->in)
		err = stdin_from(fa, &p->in, &child[0]);
	else
		err = to_null(fa, STDIN_FILENO);
	if (!err)
		err = setup_stream(fa, STDOUT_FILENO, &p->out, io, &child[1]);
	if (!err)
		err = setup_stream(fa, STDERR_FILENO, &p->err, io, &child[2]);
	return err;
}

static void feed(int *fd, const char *in, size_t len, size_t *sent)
{
	size_t chunk = len - *sent > 65536 ? 65536 : len - *sent;
	ssize_t n;

	n = send(*fd, in + *sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0) { /* the child closed its stdin: stop feeding */
		close_fd(fd);
		return;
	}
	*sent += (size_t)n;
	if (*sent == len)
		close_fd(fd); /* EOF for the child */
}

/* Feeds stdin and drains both outputs until all three are closed. */
static void pump(struct pipes *p, const struct proc_io *io)
{
	size_t sent = 0;

	if (p->in >= 0 && io->in_len == 0)
		close_fd(&p->in);
	while (p->in >= 0 || p->out.fd >= 0 || p->err.fd >= 0) {
		struct pollfd pfd[3] = {
			{ .fd = p->in, .events = POLLOUT },
			{ .fd = p->out.fd, .events = POLLIN },
			{ .fd = p->err.fd, .events = POLLIN },
		};

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			feed(&p->in, io->in, io->in_len, &sent);
		if (pfd[1].revents)
			sink_read(&p->out);
		if (pfd[2].revents)
			sink_read(&p->err);
	}
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -ECHILD;
}

static void sink_init(struct sink *s, char *buf, size_t size)
{
	s->fd = -1;
	s->buf = buf;
	s->size = size;
	s->used = 0;
	if (buf && size)
		buf[0] = '\0';
}

int proc_run(char *const argv[], const struct proc_io *io)
{
	posix_spawn_file_actions_t fa;
	struct pipes p = { .in = -1 };
	int child[3] = { -1, -1, -1 };
	pid_t pid;
	int err;

	sink_init(&p.out, io ? io->out : NULL, io ? io->out_size : 0);
	sink_init(&p.err, io ? io->err : NULL, io ? io->err_size : 0);
	if (!argv || !argv[0])
		return -EINVAL;
	err = -posix_spawn_file_actions_init(&fa);
	if (err)
		return err;
	err = setup_files(&fa, io, &p, child);
	if (err)
		goto out;
	err = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	if (err)
		goto out;
	for (int i = 0; i < 3; i++)
		close_fd(&child[i]);
	pump(&p, io);
	err = wait_child(pid);
out:
	for (int i = 0; i < 3; i++)
		close_fd(&child[i]);
	close_fd(&p.in);
	close_fd(&p.out.fd);
	close_fd(&p.err.fd);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int proc_runl(const struct proc_io *io, const char *file, ...)
{
	char *argv[PROC_ARGS_MAX];
	const char *arg = file;
	size_t n = 0;
	va_list ap;

	va_start(ap, file);
	while (arg && n < PROC_ARGS_MAX - 1) {
		argv[n++] = (char *)arg;
		arg = va_arg(ap, const char *);
	}
	va_end(ap);
	if (arg)
		return -E2BIG;
	argv[n] = NULL;
	return proc_run(argv, io);
}

static bool is_executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static int copy_path(char *buf, size_t len, const char *path)
{
	if (buf && snprintf(buf, len, "%s", path) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int proc_which(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];

	if (!prog || !*prog)
		return -EINVAL;
	if (strchr(prog, '/'))
		return is_executable(prog) ? copy_path(buf, len, prog) : -ENOENT;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	while (*path) {
		size_t dlen = strcspn(path, ":");

		if (snprintf(cand, sizeof(cand), "%.*s/%s", (int)dlen, path,
			     prog) < (int)sizeof(cand) &&
		    dlen && is_executable(cand))
			return copy_path(buf, len, cand);
		path += dlen;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}
