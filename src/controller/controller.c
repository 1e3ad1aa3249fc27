/* The controller daemon: configuration defaults, setup, the event loop,
 * shutdown.  What happens to a connection is handoff_fsm.c's; the files
 * are listed in ctrl.h. */
#include "controller/controller.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "controller/conn.h"
#include "controller/ctrl.h"
#include "controller/handoff_fsm.h"
#include "lib/daemon.h"
#include "lib/log.h"
#include "lib/net.h"

void controller_config_init(struct controller_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen.sin_family = AF_INET;
	cfg->listen.sin_port = htons(80);
	cfg->idle_timeout_ms = 60000;
	cfg->header_timeout_ms = 10000;
	cfg->peer_id = 1;
	cfg->handoff_timeout_ms = 2000;
	cfg->switch_timeout_ms = 500;
	daemon_admin_default(&cfg->admin);
	cfg->health_path = "/health";
	cfg->health_interval_ms = 1000;
	cfg->health_timeout_ms = 500;
	cfg->health_fall = 2;
	cfg->health_rise = 2;
	cfg->backoff_ms = 2000;
	cfg->delivery = DELIVERY_ADAPTIVE;
	cfg->relay_max = CTRL_RELAY_MAX_DEFAULT;
	cfg->tls_ticket_period = 43200;
}

uint64_t ctrl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

const char *ctrl_fail_name(enum ctrl_fail f)
{
#define CTRL_FAIL_NAME(e, label) [e] = label,
	static const char *names[FAIL_N] = { CTRL_FAILS(CTRL_FAIL_NAME) };
#undef CTRL_FAIL_NAME

	return f < FAIL_N ? names[f] : "?";
}

/* One line of every counter, then one per backend. */
void ctrl_stats_log(const struct ctrl *c)
{
	char line[1024];
	size_t n = 0;

#define CTRL_COUNTER_LOG(name, family, help)                                  \
	if (n < sizeof(line))                                                 \
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu", \
				      #name,                                  \
				      (unsigned long long)c->stats.name);
	CTRL_COUNTERS(CTRL_COUNTER_LOG)
#undef CTRL_COUNTER_LOG
	log_info("counters:%s", line);
	for (unsigned i = 0; i < c->n_bslots; i++)
		if (c->backends[i].in_use)
			log_info("backend %s: handoffs %llu relays %llu "
				 "failures %llu",
				 c->backends[i].cfg.name,
				 (unsigned long long)c->backends[i].handoffs,
				 (unsigned long long)c->backends[i].relays,
				 (unsigned long long)c->backends[i].failures);
}

/* ---- setup ---- */

static void on_hup(void *arg)
{
	ctrl_reload(arg);
}

static int ctrl_open(struct ctrl *c, const struct controller_config *cfg)
{
	char ip[INET_ADDRSTRLEN];
	int err;

	static const double buckets[] = { 0.0001, 0.00025, 0.0005, 0.001,
					  0.0025, 0.005, 0.01, 0.025, 0.05,
					  0.1, 0.25, 0.5, 1, 2.5, 10 };

	c->cfg = cfg;
	c->on_backend_msg = fsm_backend_msg;
	c->on_backend_down = fsm_backend_down;
	snprintf(c->switch_name, sizeof(c->switch_name), "%s", cfg->switch_agent);
	metrics_hist_init(&c->handoff_hist, buckets, 15);
	metrics_hist_init(&c->request_hist, buckets, 15);
	c->listen_fd = c->raw_fd = c->sig_fd = c->tls_listen_fd = -1;
	c->loop = evloop_new();
	if (!c->loop)
		return -ENOMEM;
	err = auth_key_load(cfg->key_path, &c->key);
	if (err)
		return err;
	err = switch_async_open(c->loop, cfg->switch_agent, &c->key,
				cfg->peer_id, (int)cfg->switch_timeout_ms, &c->sw);
	if (err < 0) {
		log_err("switch agent %s: %s", cfg->switch_agent, strerror(-err));
		return err;
	}
	if (cfg->host_mode)
		switch_async_agent_only(c->sw);
	c->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (c->raw_fd < 0) {
		log_err("raw socket (window updates): %s", strerror(errno));
		return -errno;
	}
	c->listen_fd = net_listen(&cfg->listen, 4096, true);
	if (c->listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->listen.sin_addr, ip, sizeof(ip));
		log_err("listen %s:%u: %s", ip, ntohs(cfg->listen.sin_port),
			strerror(-c->listen_fd));
		return c->listen_fd;
	}
	err = ctrl_tls_open(c);
	if (err)
		return err;
	c->sig_fd = daemon_signals(c->loop, on_hup, c);
	if (c->sig_fd < 0)
		return c->sig_fd;
	/* Not fatal: serving clients matters more than the endpoint (two
	 * controllers in one host would otherwise not both start). */
	err = admin_open(c->loop, &cfg->admin, ctrl_admin_handler, c, &c->admin);
	if (err) {
		inet_ntop(AF_INET, &cfg->admin.sin_addr, ip, sizeof(ip));
		log_warn("admin %s:%u: %s: no admin endpoint", ip,
			 ntohs(cfg->admin.sin_port), strerror(-err));
	}
	err = ctrl_access_log_open(c);
	if (err)
		return err;
	return evloop_add(c->loop, c->listen_fd, EVLOOP_READ, fsm_accept, c);
}

static void ctrl_close(struct ctrl *c)
{
	/* Flows a backend owns or that are locked must not outlive the
	 * controller at the switch: their DELETEs are answered before the
	 * switch client goes.  No new connection meanwhile. */
	if (c->listen_fd >= 0)
		evloop_del(c->loop, c->listen_fd);
	if (c->tls_listen_fd >= 0)
		evloop_del(c->loop, c->tls_listen_fd);
	fsm_close_all(c);
	if (c->sw && switch_async_drain(c->sw, (int)c->cfg->switch_timeout_ms))
		log_warn("shutdown: switch operations left unanswered");
	for (unsigned i = 0; i < c->n_bslots; i++)
		if (c->backends[i].in_use)
			ctrl_backend_close(&c->backends[i]);
	if (c->sweep)
		evloop_timer_cancel(c->loop, c->sweep);
	admin_close(c->admin);
	if (c->access_log && c->access_log != stderr)
		fclose(c->access_log);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	ctrl_tls_close(c);
	if (c->raw_fd >= 0)
		close(c->raw_fd);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	switch_async_close(c->sw);
	conn_table_free(c);
	if (c->loop)
		evloop_free(c->loop);
	auth_key_clear(&c->key);
}

/* Ready means: listening, and a hand-off channel to every backend. */
static void ready_poll(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct ctrl *c = arg;

	for (unsigned i = 0; i < c->n_backends; i++)
		if (!ctrl_backend_usable(c->bptr[i]) && !c->bptr[i]->cfg.drain) {
			if (evloop_timer_mod(loop, t, 20)) {
				log_err("ready: no timer; stopping");
				evloop_stop(loop);
			}
			return;
		}
	if (daemon_ready_file(c->cfg->ready_file))
		evloop_stop(loop); /* `prism up` would wait for it forever */
	else
		log_info("ready: %u backends connected", c->n_backends);
}

int controller_run(const struct controller_config *cfg)
{
	struct ctrl *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = ctrl_open(c, cfg);
	if (err)
		goto out;
	for (unsigned i = 0; i < cfg->n_backends; i++)
		ctrl_backend_add(c, &c->backends[i], &cfg->backends[i]);
	err = policy_parse(&c->policy, cfg->policy ? cfg->policy : "rr");
	c->weights_changed = true;
	if (!err)
		err = ctrl_backends_sync(c);
	if (err)
		goto out;
	if (!evloop_timer_add(c->loop, 0, ready_poll, c))
		err = -ENOMEM;
	if (err)
		goto out;
	log_info("serving on port %u with %u backends",
		 ntohs(cfg->listen.sin_port), cfg->n_backends);
	err = evloop_run(c->loop);
	ctrl_stats_log(c);
out:
	ctrl_close(c);
	policy_free(&c->policy);
	for (unsigned i = 0; i < CTRL_MAX_ROUTES; i++)
		policy_free(&c->pools[i].policy);
	if (c->cfg_owned) {
		controller_config_free((struct controller_config *)c->cfg);
		free((void *)c->cfg);
	}
	free(c);
	return err;
}
