/* The switch agent's admin endpoint: /metrics (Prometheus text) with the
 * data plane's verdict and drop counters, the agent's control counters and
 * the flow table's size, read from the pinned maps at each scrape. */
#pragma once
#include "lib/adminsrv.h"
#include "switch/agent.h"

/* Listens on cfg->admin (port 0: no endpoint, *out = NULL).  0 or -errno
 * (logged as a warning: the agent runs on without the endpoint). */
int switch_admin_open(struct evloop *loop, const struct agent_config *cfg,
		      struct admin **out);
