/* `prism backend`: an HTTP/1.1 server for direct clients and for
 * connections handed off by the controller (backend/takeover.h). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
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
	const char *store_dir;   /* object store (/obj/KEY); NULL: none */
	bool store_no_fsync;     /* acknowledge writes before they are durable */
	uint64_t max_object;     /* request body limit; 0: 1 GiB */
	struct sockaddr_in admin; /* /metrics; port 0: none */
	/* Direct HTTPS (a baseline for `prism bench e2e --tls`; handed-off
	 * connections need none of it): chain and key, and where (default:
	 * --listen's address, port 443). */
	const char *tls_cert, *tls_key;
	struct sockaddr_in tls_listen;
	bool host_mode; /* --mode host: --switch is this host's own agent */
	const char *controller_switch; /* host mode: the controller host's */
};

/* What /metrics shows (backend/bmetrics.c). */
struct backend_counters {
	const char *name;
	uint64_t requests, direct_requests, handed_requests, relayed_requests;
	uint64_t puts, body_bytes, aborted_uploads;
	uint64_t by_class[6]; /* responses by status / 100 (1xx..5xx) */
	uint64_t connections;
};

struct config;

void backend_config_init(struct backend_config *cfg);
/* Parses `prism backend`'s command line (argv[0] the command's name, and
 * the --config file it names, kept in FILE) into CFG after
 * backend_config_init.  Messages go to stderr.  0 or -errno. */
int backend_config_parse(int argc, char **argv, struct backend_config *cfg,
			 struct config *file);
int backend_run(const struct backend_config *cfg);
/* `prism check --role backend ...` (check.c): an exit code. */
int backend_check(int argc, char **argv);

/* `prism backend ...`: the entry point (cli.c); an exit code. */
int cmd_backend(int argc, char **argv);
