/* The controller: owns client connections on the VIP, parses each request
 * head, hands the connection to a backend for that request, takes it back
 * afterwards.  One event loop (lib/evloop.h); everything non-blocking except
 * the switch round trips, which are bounded by a short timeout. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define CTRL_MAX_BACKENDS 64
#define CTRL_NAME_MAX 16

struct ctrl_backend_config {
	char name[CTRL_NAME_MAX];
	struct sockaddr_in handoff; /* the backend's hand-off port */
};

struct controller_config {
	struct sockaddr_in listen; /* VIP:port */
	struct ctrl_backend_config backends[CTRL_MAX_BACKENDS];
	unsigned n_backends;
	const char *switch_agent; /* "IP:PORT" */
	const char *key_path;
	uint32_t idle_timeout_ms;
	uint32_t handoff_timeout_ms;
	uint32_t switch_timeout_ms;
	const char *ready_file;
};

void controller_config_init(struct controller_config *cfg);
/* Runs until SIGINT/SIGTERM.  Returns 0 or -errno. */
int controller_run(const struct controller_config *cfg);
