/* The access log: one line per request, written when the request ends
 * (hand-back, or the controller's own reply):
 *
 *   TIME CLIENT "METHOD TARGET" STATUS BYTES BACKEND MS DELIVERY
 *   2026-11-27T04:01:02.345Z 198.18.1.2:40312 "GET /bytes/100" 200 236 b1 0.842 relay
 *
 * TIME is UTC with milliseconds; STATUS is what the backend reported in
 * HANDBACK ("-" if it did not); BYTES are the bytes sent to the client
 * (response head and body: the socket's sequence space); BACKEND is "-"
 * when the controller answered itself; MS is the time from the request
 * head to the hand-back or the relayed response ("-" without either);
 * DELIVERY is how the response went: "handoff", "relay" (written by the
 * controller, adaptive delivery) or "-" (the controller's own reply).  The target is cut at
 * CONN_TARGET_LOG bytes; a '"' in it is written as %22. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "controller/conn.h"
#include "controller/ctrl.h"
#include "lib/log.h"

int ctrl_access_log_open(struct ctrl *c)
{
	const char *path = c->cfg->access_log;
	FILE *f;

	if (c->access_log && c->access_log != stderr)
		fclose(c->access_log);
	c->access_log = NULL;
	if (!path)
		return 0;
	if (!strcmp(path, "-")) {
		c->access_log = stderr;
		return 0;
	}
	f = fopen(path, "ae");
	if (!f) {
		int err = -errno;

		log_err("access log %s: %s", path, strerror(errno));
		return err;
	}
	/* Fully buffered, flushed once per turn of the loop (ctrl_access_log):
	 * one write for every request answered in a turn, and no line left
	 * waiting once the loop sleeps. */
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	c->access_log = f;
	return 0;
}

static void access_log_flush(void *arg)
{
	struct ctrl *c = arg;

	if (c->access_log && fflush(c->access_log))
		log_warn("access log: %s", strerror(errno));
}

static void quote_target(const char *in, char *out, size_t cap)
{
	size_t w = 0;

	for (; *in && w + 4 < cap; in++) {
		if (*in == '"') {
			memcpy(out + w, "%22", 3);
			w += 3;
		} else {
			out[w++] = *in;
		}
	}
	out[w] = 0;
}

void ctrl_access_log(struct ctrl *c, const struct conn *k, int status,
		     uint64_t bytes, const char *how)
{
	char when[40], client[INET_ADDRSTRLEN], target[CONN_TARGET_LOG * 3];
	char st[8] = "-", ms[24] = "-";
	struct in_addr ip = { .s_addr = k->key.client_ip };
	struct timeval tv;
	struct tm tm;

	if (!c->access_log)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	inet_ntop(AF_INET, &ip, client, sizeof(client));
	quote_target(k->target[0] ? k->target : "-", target, sizeof(target));
	if (status)
		snprintf(st, sizeof(st), "%d", status);
	if (k->backend && k->t_start_us)
		snprintf(ms, sizeof(ms), "%.3f",
			 (double)(ctrl_now_us() - k->t_start_us) / 1000.0);
	fprintf(c->access_log, "%s.%03dZ %s:%u \"%s %s\" %s %llu %s %s %s\n",
		when, (int)(tv.tv_usec / 1000), client, ntohs(k->key.client_port),
		k->method[0] ? k->method : "-", target, st,
		(unsigned long long)bytes, k->backend ? k->backend->cfg.name : "-",
		ms, how);
	c->log_flush.cb = access_log_flush;
	c->log_flush.arg = c;
	evloop_defer(c->loop, &c->log_flush);
}
