/* The controller: owns client connections on the VIP, parses each request
 * head, hands the connection to a backend for that request, takes it back
 * afterwards.  One event loop (lib/evloop.h); everything non-blocking except
 * the switch round trips, which are bounded by a short timeout. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"

#define CTRL_MAX_BACKENDS 64
#define CTRL_NAME_MAX 16
#define CTRL_MAX_ROUTES 16
#define CTRL_ROUTE_BACKENDS 16
#define CTRL_TLS_CERTS 8

struct ctrl_backend_config {
	char name[CTRL_NAME_MAX];
	struct sockaddr_in handoff; /* the backend's hand-off port */
	struct sockaddr_in http;    /* its HTTP port (health checks) */
	uint32_t weight;            /* 1..100, default 1 */
	bool drain;                 /* no new requests */
};

/* A route: requests whose Host (without port, case-insensitive; empty: any
 * host) and path prefix match go to this pool of backends.  First match
 * wins; no match: all backends. */
struct ctrl_route {
	char host[64];
	char prefix[128];
	char backends[CTRL_ROUTE_BACKENDS][CTRL_NAME_MAX];
	unsigned n;
};

/* How a response reaches the client (docs/delivery.md).  ADAPTIVE: a GET
 * or HEAD is first offered to the backend to answer in-line (relayed
 * through the controller) when its response is at most relay_max bytes,
 * and handed off when larger; HANDOFF: every request is handed off. */
enum ctrl_delivery { DELIVERY_ADAPTIVE, DELIVERY_HANDOFF };
#define CTRL_RELAY_MAX_DEFAULT 8192

/* --tls-ticket-keys: the shared secret's size (ctrl_tls.c, check.c). */
#define CTRL_TICKET_SECRET_MIN 32
#define CTRL_TICKET_SECRET_MAX 4096

struct controller_config {
	struct sockaddr_in listen; /* VIP:port */
	struct ctrl_backend_config backends[CTRL_MAX_BACKENDS];
	unsigned n_backends;
	const char *switch_agent; /* "IP:PORT" */
	const char *key_path;
	uint32_t idle_timeout_ms;
	uint32_t header_timeout_ms; /* a request head must arrive in this */
	uint32_t handoff_timeout_ms;
	uint32_t peer_id;           /* switch client id (one per controller) */
	uint32_t switch_timeout_ms;
	const char *ready_file;
	const char *policy;         /* "rr" (default), "least-conn", ... */
	struct ctrl_route routes[CTRL_MAX_ROUTES];
	unsigned n_routes;
	struct sockaddr_in admin;   /* /metrics etc.; port 0: none */
	const char *access_log;     /* NULL: off; "-": stderr */
	const char *health_path;    /* "/health" */
	uint32_t health_interval_ms; /* 0: no active checks */
	uint32_t health_timeout_ms;
	uint32_t health_fall, health_rise; /* consecutive results to flip */
	uint32_t backoff_ms;        /* passive: down after a failed hand-off */
	enum ctrl_delivery delivery;
	/* --mode host: --switch is this host's own agent, which holds the
	 * client->VIP half of the table; a hand-off OWNs the flow for the
	 * backend (whose host drops its segments until it has the socket),
	 * a hand-back DELETEs it once the socket is restored (docs/switch.md,
	 * host mode). */
	bool host_mode;
	uint32_t relay_max;         /* bytes, a multiple of 1 KiB */
	/* HTTPS (docs/tls.md): certificate chain and key files (PEM), paired
	 * in order, the first the default and the others chosen by SNI; the
	 * session ticket key file (several controllers share it); where to
	 * accept TLS (default: --listen's address, port 443).  Fixed at
	 * start (reload keeps them). */
	const char *tls_cert[CTRL_TLS_CERTS], *tls_key[CTRL_TLS_CERTS];
	unsigned n_tls_cert, n_tls_key;
	const char *tls_ticket_keys;
	uint32_t tls_ticket_period; /* s: ticket keys change; default 12 h */
	struct sockaddr_in tls_listen;
	/* Where the configuration came from, for reload: the command line
	 * (re-parsed, --config files re-read) and the files' storage. */
	int argc;
	char **argv;
	struct config files[4];
	unsigned n_files;
};

/* Parses [HOST]/PREFIX=NAME[,NAME...]. */
int ctrl_parse_route(const char *v, struct ctrl_route *r);
/* Parses NAME=IP:PORT[,weight=N][,http=IP:PORT][,drain]. */
int ctrl_parse_backend(const char *v, struct ctrl_backend_config *b);
void controller_config_init(struct controller_config *cfg);
/* Parses the command line (and the --config files it names) into cfg
 * (after controller_config_init).  *which: --which-backend's value or NULL
 * (may be NULL when not wanted).  Messages go to stderr.  0 or -EINVAL. */
int controller_config_parse(int argc, char **argv,
			    struct controller_config *cfg, const char **which);
/* Frees what parsing allocated (the files' storage). */
void controller_config_free(struct controller_config *cfg);
/* Runs until SIGINT/SIGTERM.  Returns 0 or -errno. */
int controller_run(const struct controller_config *cfg);
/* `prism check --role controller ...` (check.c): an exit code. */
int controller_check(int argc, char **argv);
/* `prism controller ...`: the entry point (cli.c); an exit code. */
int cmd_controller(int argc, char **argv);
