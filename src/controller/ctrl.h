/* The controller daemon's state (struct ctrl) and its counters, and the
 * files that work on it, bottom to top (no file calls one above it):
 *
 *   backend_set.c, health.c, policy.c   the backends, without struct ctrl
 *   conn.c        the connection table and socket I/O (conn.h)
 *   pools.c       the active backend list and route pools; ctrl_pick
 *   delivery.c    relay or hand off: which requests are offered for relay
 *   ctrl_switch.c the controller's switch operations
 *   ctrl_log.c    the access log
 *   handoff_fsm.c the hand-off state machine (handoff_fsm.h): every
 *                 transition and timer of a client connection
 *   ctrl_tls.c    HTTPS: certificates (SNI), ticket keys, the TLS port
 *   ctrl_reload.c reload (SIGHUP, /reload)
 *   ctrl_admin.c  /metrics, /status, /reload, /drain
 *   controller.c  configuration defaults, open, run, close
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "controller/backend_set.h"
#include "controller/controller.h"
#include "controller/policy.h"
#include "lib/adminsrv.h"
#include "lib/auth.h"
#include "lib/evloop.h"
#include "lib/http.h"
#include "lib/metrics.h"
#include "switch/async.h"

#include <openssl/ssl.h>

struct conn;

/* delivery.c's table of targets too large to relay. */
#define CTRL_SIZE_SLOTS 4096

/* The controller's counters: struct field, Prometheus family
 * (prism_controller_NAME), help.  One table: the struct, /metrics and the
 * shutdown log line are generated from it. */
#define CTRL_COUNTERS(X)                                                      \
	X(accepted, "connections_accepted_total",                            \
	  "Client connections accepted.")                                    \
	X(closed, "connections_closed_total", "Client connections closed.")   \
	X(requests, "requests_parsed_total", "Request heads parsed.")         \
	X(bad_requests, "bad_requests_total",                                \
	  "Requests refused by the parser.")                                 \
	X(handbacks, "handbacks_total",                                      \
	  "Connections back from a backend after a response.")               \
	X(unknown_msgs, "unknown_messages_total",                            \
	  "Channel messages for no connection of ours, or out of place.")    \
	X(late_segments, "late_segments_total",                              \
	  "Hand-offs whose frozen socket received data after the dump.")     \
	X(closed_remote, "closed_at_backend_total",                          \
	  "Connections that ended at a backend (client reset or error).")    \
	X(client_closed, "client_closed_total",                              \
	  "Requests whose client had half-closed: not handed off.")          \
	X(unlock_resends, "unlock_resends_total",                            \
	  "Window updates sent again after a hand-back because the client "  \
	  "had not sent anything yet (a copy may have been lost).")          \
	X(tail_resends, "tail_resends_total",                                \
	  "Unacknowledged tails of a hand-back sent again from the "         \
	  "controller's copy (tcpr_resend_unacked).")                        \
	X(unlock_fallbacks, "unlock_fallbacks_total",                        \
	  "Hand-backs whose client stayed silent for 200 ms, unlocked "      \
	  "again through the switch agent.")                                 \
	X(split_handoffs, "split_handoffs_total",                            \
	  "Hand-offs whose queued request body followed in HANDOFF_DATA "    \
	  "messages.")                                                       \
	X(relayed, "relayed_total",                                          \
	  "Requests answered in-line by their backend and written by the "   \
	  "controller (adaptive delivery).")                                 \
	X(relay_declined, "relay_declined_total",                           \
	  "Requests offered for relaying whose backend declined (response "  \
	  "too large): handed off instead.")                                 \
	X(relay_bytes, "relay_bytes_total",                                  \
	  "Response bytes of relayed requests, written or queued for the "   \
	  "client.")

struct ctrl_stats {
#define CTRL_COUNTER_FIELD(name, family, help) uint64_t name;
	CTRL_COUNTERS(CTRL_COUNTER_FIELD)
#undef CTRL_COUNTER_FIELD
};

/* Why a hand-off failed: enum, metrics label. */
#define CTRL_FAILS(X)                                                         \
	X(FAIL_NO_BACKEND, "no_backend")                                     \
	X(FAIL_SWITCH, "switch")                                             \
	X(FAIL_FREEZE, "freeze")                                             \
	X(FAIL_SEND, "send")                                                 \
	X(FAIL_REFUSED, "refused")                                           \
	X(FAIL_TIMEOUT, "timeout")                                           \
	X(FAIL_CHANNEL, "channel")                                           \
	X(FAIL_RESTORE, "restore")

enum ctrl_fail {
#define CTRL_FAIL_ENUM(e, label) e,
	CTRL_FAILS(CTRL_FAIL_ENUM)
#undef CTRL_FAIL_ENUM
	FAIL_N
};

/* The backends of one route, with the policy's state for them. */
struct ctrl_pool {
	struct policy policy;
	struct ctrl_backend *bptr[CTRL_ROUTE_BACKENDS];
	struct policy_member *members[CTRL_ROUTE_BACKENDS];
	unsigned n;
};

struct ctrl {
	const struct controller_config *cfg;
	bool cfg_owned; /* a reloaded configuration, freed on the next */
	char switch_name[64];
	struct evloop *loop;
	int listen_fd, raw_fd, sig_fd;
	/* HTTPS (cfg->tls_cert): a server context per certificate (the first
	 * the default, the one every handshake starts with), the listening
	 * socket. */
	SSL_CTX *tls_ctx[CTRL_TLS_CERTS];
	unsigned n_tls_ctx;
	int tls_listen_fd;
	struct auth_key key;
	struct switch_async *sw; /* the switch, without blocking the loop */
	/* The backends: slots (some removed and draining) and the active
	 * list the policy picks from (pools.c). */
	struct ctrl_backend backends[CTRL_MAX_BACKENDS];
	unsigned n_bslots; /* backends[] slots ever used */
	struct ctrl_backend *bptr[CTRL_MAX_BACKENDS];
	struct policy_member *members[CTRL_MAX_BACKENDS];
	unsigned n_backends;
	struct policy policy;
	struct ctrl_pool pools[CTRL_MAX_ROUTES]; /* cfg->routes[i] */
	bool weights_changed; /* rebuild the policy at the next sync */
	struct evtimer *sweep;
	/* What each backend's channel calls (the state machine's). */
	ctrl_backend_msg_cb on_backend_msg;
	ctrl_backend_down_cb on_backend_down;
	/* The connection table (conn.c). */
	struct conn **conns;
	uint32_t n_slots, *free_slots, n_free, generation;
	struct ctrl_stats stats;
	uint64_t fails[FAIL_N];
	struct ctrl_status_count own_replies; /* the controller's 4xx/5xx */
	/* delivery.c: by slot, the key of a target too large to relay */
	uint32_t relay_too_large[CTRL_SIZE_SLOTS];
	struct metrics_hist handoff_hist;     /* request head -> ACK */
	struct metrics_hist request_hist;     /* request head -> HANDBACK */
	uint64_t reloads, reload_errors;
	struct admin *admin;
	FILE *access_log;
	struct evdefer log_flush; /* the access log, at the end of a turn */
};

uint64_t ctrl_now_us(void);
const char *ctrl_fail_name(enum ctrl_fail f);
void ctrl_stats_log(const struct ctrl *c);

/* pools.c: the active backends and route pools follow the slots (closing
 * removed backends that have no connection left); the backend for a
 * request, or NULL. */
int ctrl_backends_sync(struct ctrl *c);
/* The live (not removed) backend called NAME, or NULL. */
struct ctrl_backend *ctrl_backend_find(struct ctrl *c, const char *name);
void ctrl_backend_add(struct ctrl *c, struct ctrl_backend *b,
		      const struct ctrl_backend_config *cfg);
struct ctrl_backend *ctrl_pick(struct ctrl *c, const struct http_request *req);

/* delivery.c: a request's key (Host and target); whether it is offered
 * for relaying first; what its response's size says for next time. */
uint32_t delivery_key(const struct http_request *req);
bool delivery_relay_first(struct ctrl *c, const struct http_request *req,
			  uint32_t key);
void delivery_learn(struct ctrl *c, uint32_t key, uint64_t bytes);

/* ctrl_switch.c: starts OP on flow KEY (BACKEND_IP: LOCK's claimant, or
 * 0); DONE(ARG, status) from the loop once it is answered (NULL: nobody
 * waits).  Returns the handle to cancel DONE with (switch_async_cancel),
 * or 0 when it could not even start (logged; DONE is not called). */
uint64_t ctrl_switch_start(struct ctrl *c, uint8_t op,
			   const struct prism_flow_key *key, __be32 backend_ip,
			   switch_done_cb done, void *arg);

/* ctrl_log.c */
int ctrl_access_log_open(struct ctrl *c);
/* HOW: "handoff", "relay", or "-" (the controller's own reply). */
void ctrl_access_log(struct ctrl *c, const struct conn *k, int status,
		     uint64_t bytes, const char *how);

/* ctrl_admin.c: /metrics, /status, /reload, /drain/NAME, /undrain/NAME */
int ctrl_admin_handler(const char *method, const char *path,
		       struct metrics_buf *body, void *arg);
void ctrl_metrics(struct ctrl *c, struct metrics_buf *b);

/* ctrl_tls.c: the certificate and key loaded, the HTTPS port open (when
 * configured); closed.  0 or -errno (logged). */
int ctrl_tls_open(struct ctrl *c);
void ctrl_tls_close(struct ctrl *c);

/* ctrl_reload.c */
int ctrl_reload(struct ctrl *c);
