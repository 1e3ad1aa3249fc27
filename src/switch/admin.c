#include "switch/admin.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "switch/stats.h"

static void write_metrics(const struct switch_stats *st, struct metrics_buf *m)
{
	static const char *dp[] = PRISM_STAT_NAMES;
	static const char *ag[] = AGENT_STAT_NAMES;

	metrics_family(m, "prism_switch_packets_total", "counter",
		       "Data-plane packets by verdict (drop_* are drops, "
		       "the rest pass or are rewritten).");
	for (int i = 0; i < PRISM_STAT_MAX; i++)
		metrics_sample(m, "prism_switch_packets_total",
			       (const char *[]){ "verdict", dp[i], NULL },
			       st->dp[i]);
	metrics_family(m, "prism_switch_agent_events_total", "counter",
		       "Switch agent control-channel counters.");
	/* 0 and 1 are the pid and start time: not counters */
	for (int i = 2; i < AGENT_STAT_MAX; i++)
		metrics_sample(m, "prism_switch_agent_events_total",
			       (const char *[]){ "event", ag[i], NULL },
			       st->agent[i]);
	metrics_family(m, "prism_switch_flows", "gauge",
		       "Entries in the flow table.");
	metrics_sample(m, "prism_switch_flows", NULL, st->flows);
	metrics_family(m, "prism_switch_flows_capacity", "gauge",
		       "Size of the flow table.");
	metrics_sample(m, "prism_switch_flows_capacity", NULL,
		       st->flows_capacity);
	metrics_family(m, "prism_switch_owned_flows", "gauge",
		       "Flows owned by a backend (reverse entries).");
	metrics_sample(m, "prism_switch_owned_flows", NULL, st->rev_flows);
}

static int handler(const char *method, const char *path,
		   struct metrics_buf *body, void *arg)
{
	const struct agent_config *cfg = arg;
	struct switch_stats st;

	if (strcmp(path, "/metrics")) {
		metrics_printf(body, "not found: try /metrics\n");
		return 404;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return 405;
	if (switch_stats_read(cfg->pin_dir, &st)) {
		metrics_printf(body, "cannot read the maps in %s\n",
			       cfg->pin_dir);
		return 500;
	}
	write_metrics(&st, body);
	return 200;
}

int switch_admin_open(struct evloop *loop, const struct agent_config *cfg,
		      struct admin **out)
{
	char ip[INET_ADDRSTRLEN];
	int err = admin_open(loop, &cfg->admin, handler, (void *)cfg, out);

	if (err) {
		inet_ntop(AF_INET, &cfg->admin.sin_addr, ip, sizeof(ip));
		log_warn("admin %s:%u: %s: serving without /metrics", ip,
			 ntohs(cfg->admin.sin_port), strerror(-err));
	}
	return err;
}
