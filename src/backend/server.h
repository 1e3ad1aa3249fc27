/* `prism backend`: an HTTP/1.1 server for direct clients and for
 * connections handed off by the controller (backend/takeover.h). */
#pragma once
#include <netinet/in.h>
#include <stdint.h>

struct backend_config {
	const char *name;          /* X-Prism-Backend */
	const char *root;          /* files; NULL: synthetic objects only */
	struct sockaddr_in listen; /* direct HTTP */
	struct sockaddr_in handoff; /* hand-off port; port 0: no hand-offs */
	const char *key_path;
	const char *switch_agent;
	uint32_t peer_id;
	uint32_t max_conns;
	uint32_t idle_timeout_ms;
	const char *ready_file;
};

void backend_config_init(struct backend_config *cfg);
int backend_run(const struct backend_config *cfg);
