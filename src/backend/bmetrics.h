/* The backend's Prometheus text exposition (/metrics on --admin). */
#pragma once
#include "backend/server.h"
#include "backend/takeover.h"
#include "lib/metrics.h"

/* ps may be NULL (no hand-off port). */
void backend_metrics_write(const struct backend_counters *c,
			   const struct pb_stats *ps, struct metrics_buf *m);
