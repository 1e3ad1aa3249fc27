#include "lib/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/log.h"

int daemon_ready_file(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;
	int err;

	if (!path)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		goto fail;
	if (fprintf(f, "%d\n", getpid()) < 0) {
		fclose(f);
		goto fail;
	}
	if (fclose(f) || rename(tmp, path))
		goto fail;
	return 0;
fail:
	err = -errno;
	log_err("ready file %s: %s", path, strerror(errno));
	unlink(tmp);
	return err;
}

/* One process, one set of signal handlers. */
static struct {
	void (*on_hup)(void *arg);
	void *arg;
} hup;

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		if (hup.on_hup) {
			log_info("SIGHUP: reloading the configuration");
			hup.on_hup(hup.arg);
		}
		return;
	}
	log_info("%s: shutting down", strsignal((int)si.ssi_signo));
	evloop_stop(loop);
}

int daemon_signals(struct evloop *loop, void (*on_hup)(void *arg), void *arg)
{
	hup.on_hup = on_hup;
	hup.arg = arg;
	signal(SIGPIPE, SIG_IGN);
	return evloop_add_signals(loop,
				  (const int[]){ SIGINT, SIGTERM, SIGHUP, 0 },
				  on_signal, NULL);
}

void daemon_admin_default(struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = htons(DAEMON_ADMIN_PORT);
}
