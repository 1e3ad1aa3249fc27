/* The controller's admin endpoint: Prometheus /metrics, a human /status
 * table, and the operations /reload, /drain/NAME, /undrain/NAME (POST). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "controller/ctrl.h"
#include "lib/log.h"
#include "lib/tlsconn.h"

static const char *backend_state(const struct ctrl_backend *b)
{
	if (b->removed)
		return "removed";
	if (!b->up)
		return "disconnected";
	if (!b->health.healthy)
		return "unhealthy";
	if (evloop_now_ms() < b->down_until_ms)
		return "backoff";
	if (b->cfg.drain)
		return "draining";
	return "up";
}

static void status_samples(struct metrics_buf *m, const char *backend,
			   const struct ctrl_status_count *s)
{
	char code[8];

	for (unsigned i = 0; i < s->used; i++) {
		if (s->status[i])
			snprintf(code, sizeof(code), "%u", s->status[i]);
		else
			snprintf(code, sizeof(code), "unknown");
		metrics_sample(m, "prism_controller_requests_total",
			       (const char *[]){ "backend", backend, "status",
						 code, NULL },
			       s->n[i]);
	}
	if (s->n[CTRL_STATUS_SLOTS])
		metrics_sample(m, "prism_controller_requests_total",
			       (const char *[]){ "backend", backend, "status",
						 "other", NULL },
			       s->n[CTRL_STATUS_SLOTS]);
}

#define FOR_BACKENDS(c, b)                                                   \
	for (struct ctrl_backend *b = (c)->backends;                          \
	     b < (c)->backends + (c)->n_bslots; b++)                          \
		if (b->in_use)

/* One gauge or counter per backend. */
#define PER_BACKEND(m, c, NAME_, TYPE_, HELP_, EXPR_)                        \
	do {                                                                  \
		metrics_family((m), (NAME_), (TYPE_), (HELP_));               \
		FOR_BACKENDS(c, b)                                            \
		metrics_sample((m), (NAME_),                                  \
			       (const char *[]){ "backend", b->cfg.name,      \
						 NULL },                      \
			       (uint64_t)(EXPR_));                            \
	} while (0)

static void backend_metrics(struct ctrl *c, struct metrics_buf *m)
{
	metrics_family(m, "prism_controller_requests_total", "counter",
		       "Requests by backend and response status (backend "
		       "\"-\": answered by the controller itself).");
	FOR_BACKENDS(c, b)
	status_samples(m, b->cfg.name, &b->statuses);
	status_samples(m, "-", &c->own_replies);
	PER_BACKEND(m, c, "prism_controller_handoffs_total", "counter",
		    "Hand-offs sent to the backend.", b->handoffs);
	PER_BACKEND(m, c, "prism_controller_backend_failures_total", "counter",
		    "Failed hand-offs to the backend.", b->failures);
	PER_BACKEND(m, c, "prism_controller_relays_total", "counter",
		    "Requests the backend answered in-line, relayed by the "
		    "controller.", b->relays);
	PER_BACKEND(m, c, "prism_controller_handoffs_in_flight", "gauge",
		    "Connections handed off to the backend and not back yet, "
		    "or relayed and not answered yet.",
		    b->member.load);
	PER_BACKEND(m, c, "prism_controller_handoff_bytes_total", "counter",
		    "Bytes handed off: request head plus socket queues.",
		    b->handoff_bytes);
	PER_BACKEND(m, c, "prism_controller_response_bytes_total", "counter",
		    "Bytes the backend sent to clients (TCP sequence space).",
		    b->response_bytes);
	PER_BACKEND(m, c, "prism_controller_backend_up", "gauge",
		    "1 if the backend gets new requests.",
		    ctrl_backend_usable(b));
	PER_BACKEND(m, c, "prism_controller_backend_healthy", "gauge",
		    "1 if active health checks pass.", b->health.healthy);
	PER_BACKEND(m, c, "prism_controller_backend_draining", "gauge",
		    "1 if the backend is draining (or removed).",
		    b->cfg.drain || b->removed);
	PER_BACKEND(m, c, "prism_controller_backend_weight", "gauge",
		    "Configured weight.", b->member.weight);
	PER_BACKEND(m, c, "prism_controller_health_checks_total", "counter",
		    "Active health checks done.", b->health.checks);
	PER_BACKEND(m, c, "prism_controller_health_check_failures_total",
		    "counter", "Active health checks failed.", b->health.failed);
}

/* The switch operations the controller made (switch/async.h). */
static void switch_metrics(struct metrics_buf *m,
			   const struct switch_async_stats *s)
{
	metrics_family(m, "prism_controller_switch_ops_total", "counter",
		       "Switch operations started.");
	metrics_sample(m, "prism_controller_switch_ops_total", NULL, s->ops);
	metrics_family(m, "prism_controller_switch_answers_total", "counter",
		       "Switch operations answered, by who answered.");
	metrics_sample(m, "prism_controller_switch_answers_total",
		       (const char *[]){ "by", "data_plane", NULL },
		       s->fast_answers);
	metrics_sample(m, "prism_controller_switch_answers_total",
		       (const char *[]){ "by", "agent", NULL },
		       s->agent_answers);
	metrics_family(m, "prism_controller_switch_errors_total", "counter",
		       "Switch operations that failed or got no answer.");
	metrics_sample(m, "prism_controller_switch_errors_total", NULL,
		       s->failures);
}

void ctrl_metrics(struct ctrl *c, struct metrics_buf *m)
{
	const struct ctrl_stats *s = &c->stats;

#define CTRL_COUNTER_METRIC(name, family, help)                               \
	metrics_family(m, "prism_controller_" family, "counter", help);       \
	metrics_sample(m, "prism_controller_" family, NULL, s->name);
	CTRL_COUNTERS(CTRL_COUNTER_METRIC)
#undef CTRL_COUNTER_METRIC
	switch_metrics(m, switch_async_stats(c->sw));
	metrics_family(m, "prism_controller_connections_open", "gauge",
		       "Client connections open (at the controller or a "
		       "backend).");
	metrics_sample(m, "prism_controller_connections_open", NULL,
		       s->accepted - s->closed);
	metrics_family(m, "prism_controller_handoff_failures_total", "counter",
		       "Failed hand-offs by reason.");
	for (int f = 0; f < FAIL_N; f++)
		metrics_sample(m, "prism_controller_handoff_failures_total",
			       (const char *[]){ "reason", ctrl_fail_name(f),
						 NULL },
			       c->fails[f]);
	metrics_family(m, "prism_controller_handoff_seconds", "histogram",
		       "From the request head to the backend's HANDOFF_ACK.");
	metrics_hist_write(m, "prism_controller_handoff_seconds", NULL,
			   &c->handoff_hist);
	metrics_family(m, "prism_controller_request_seconds", "histogram",
		       "From the request head to the connection's hand-back.");
	metrics_hist_write(m, "prism_controller_request_seconds", NULL,
			   &c->request_hist);
	metrics_family(m, "prism_controller_reloads_total", "counter",
		       "Configuration reloads (result=error: rejected).");
	metrics_sample(m, "prism_controller_reloads_total",
		       (const char *[]){ "result", "ok", NULL }, c->reloads);
	metrics_sample(m, "prism_controller_reloads_total",
		       (const char *[]){ "result", "error", NULL },
		       c->reload_errors);
	if (c->n_tls_ctx)
		tlsconn_metrics(m, "prism_controller_tls_events_total");
	backend_metrics(c, m);
}

static void status_text(struct ctrl *c, struct metrics_buf *m)
{
	char policy[80], ip[INET_ADDRSTRLEN];

	metrics_printf(m, "policy %s, connections open %llu, requests %llu\n",
		       policy_name(&c->policy, policy, sizeof(policy)),
		       (unsigned long long)(c->stats.accepted - c->stats.closed),
		       (unsigned long long)c->stats.requests);
	metrics_printf(m, "%-10s %-21s %-12s %6s %6s %10s %8s\n", "backend",
		       "handoff", "state", "weight", "load", "handoffs",
		       "failures");
	FOR_BACKENDS(c, b)
	{
		char addr[32];

		inet_ntop(AF_INET, &b->cfg.handoff.sin_addr, ip, sizeof(ip));
		snprintf(addr, sizeof(addr), "%s:%u", ip,
			 ntohs(b->cfg.handoff.sin_port));
		metrics_printf(m, "%-10s %-21s %-12s %6u %6u %10llu %8llu\n",
			       b->cfg.name, addr, backend_state(b),
			       b->member.weight, b->member.load,
			       (unsigned long long)b->handoffs,
			       (unsigned long long)b->failures);
	}
	for (unsigned r = 0; r < c->cfg->n_routes; r++) {
		const struct ctrl_route *rt = &c->cfg->routes[r];

		metrics_printf(m, "route %s%s ->", *rt->host ? rt->host : "*",
			       rt->prefix);
		for (unsigned j = 0; j < rt->n; j++)
			metrics_printf(m, " %s", rt->backends[j]);
		metrics_printf(m, "\n");
	}
}

static int set_drain(struct ctrl *c, const char *name, bool drain,
		     struct metrics_buf *body)
{
	for (unsigned i = 0; i < c->n_backends; i++)
		if (!strcmp(c->bptr[i]->cfg.name, name)) {
			c->bptr[i]->cfg.drain = drain;
			log_info("backend %s: %s", name,
				 drain ? "draining" : "serving again");
			metrics_printf(body, "backend %s %s\n", name,
				       drain ? "draining" : "serving");
			return 200;
		}
	metrics_printf(body, "no backend %s\n", name);
	return 404;
}

int ctrl_admin_handler(const char *method, const char *path,
		       struct metrics_buf *body, void *arg)
{
	struct ctrl *c = arg;
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");

	if (!strcmp(path, "/metrics") && get) {
		ctrl_metrics(c, body);
		return 200;
	}
	if (!strcmp(path, "/status") && get) {
		status_text(c, body);
		return 200;
	}
	if (!strcmp(path, "/reload") && post) {
		int err = ctrl_reload(c);

		metrics_printf(body, "%s\n", err ? "reload failed (see the log)"
						 : "reloaded");
		return err ? 409 : 200;
	}
	if (!strncmp(path, "/drain/", 7) && post)
		return set_drain(c, path + 7, true, body);
	if (!strncmp(path, "/undrain/", 9) && post)
		return set_drain(c, path + 9, false, body);
	if (!strcmp(path, "/metrics") || !strcmp(path, "/status") ||
	    !strcmp(path, "/reload"))
		return 405;
	metrics_printf(body, "not found: try /metrics, /status\n");
	return 404;
}
