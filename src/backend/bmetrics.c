#include "backend/bmetrics.h"

static void counter(struct metrics_buf *m, const char *name, const char *help,
		    const char *backend, uint64_t v)
{
	metrics_family(m, name, "counter", help);
	metrics_sample(m, name, (const char *[]){ "backend", backend, NULL }, v);
}

static void handoff_metrics(struct metrics_buf *m, const char *name,
			    const struct pb_stats *ps)
{
	static const char *fam = "prism_backend_handoff_events_total";

	metrics_family(m, fam, "counter",
		       "Hand-off events: connections taken over from the "
		       "controller, refused, handed back, failed, aborted.");
#define PB_EVENT_SAMPLE(field, label)                                         \
	metrics_sample(m, fam,                                                \
		       (const char *[]){ "backend", name, "event", label,     \
					 NULL },                              \
		       ps->field);
	PB_EVENTS(PB_EVENT_SAMPLE)
#undef PB_EVENT_SAMPLE
	metrics_family(m, "prism_backend_handoffs_in_flight", "gauge",
		       "Handed-off connections this backend holds now.");
	metrics_sample(m, "prism_backend_handoffs_in_flight",
		       (const char *[]){ "backend", name, NULL }, ps->active);
}

void backend_metrics_write(const struct backend_counters *c,
			   const struct pb_stats *ps, struct metrics_buf *m)
{
	static const char *classes[] = { "other", "1xx", "2xx",
					 "3xx", "4xx", "5xx" };

	metrics_family(m, "prism_backend_requests_total", "counter",
		       "Requests served, by how the connection arrived.");
	metrics_sample(m, "prism_backend_requests_total",
		       (const char *[]){ "backend", c->name, "via", "direct",
					 NULL },
		       c->direct_requests);
	metrics_sample(m, "prism_backend_requests_total",
		       (const char *[]){ "backend", c->name, "via", "handoff",
					 NULL },
		       c->handed_requests);
	metrics_sample(m, "prism_backend_requests_total",
		       (const char *[]){ "backend", c->name, "via", "relay",
					 NULL },
		       c->relayed_requests);
	metrics_family(m, "prism_backend_responses_total", "counter",
		       "Responses finished, by status class.");
	for (int i = 0; i < 6; i++)
		metrics_sample(m, "prism_backend_responses_total",
			       (const char *[]){ "backend", c->name, "class",
						 classes[i], NULL },
			       c->by_class[i]);
	counter(m, "prism_backend_uploads_total", "Objects stored (PUT/POST).",
		c->name, c->puts);
	counter(m, "prism_backend_body_bytes_total",
		"Request body bytes received.", c->name, c->body_bytes);
	counter(m, "prism_backend_aborted_uploads_total",
		"Uploads that ended before their body did.", c->name,
		c->aborted_uploads);
	metrics_family(m, "prism_backend_connections", "gauge",
		       "Client connections open (direct and handed off).");
	metrics_sample(m, "prism_backend_connections",
		       (const char *[]){ "backend", c->name, NULL },
		       c->connections);
	if (ps)
		handoff_metrics(m, c->name, ps);
}
