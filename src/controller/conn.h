/* Client connections at the controller: the connection table, reading,
 * timers and closing.  The hand-off logic is in controller.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "controller/backend_set.h"
#include "controller/controller.h"
#include "controller/policy.h"
#include "lib/auth.h"
#include "lib/adminsrv.h"
#include "lib/evloop.h"
#include "lib/tcprepair.h"
#include "lib/metrics.h"
#include "prism_abi.h"
#include "switch/client.h"

#define CONN_BUF_MAX 16384 /* above the parser's 8 KB head limit */
/* A request body up to this size is received before the hand-off and
 * travels with it (controller.c, wait_for_body). */
#define CONN_BODY_MAX 65536
/* A split hand-off (HO_F_MORE) carries at most this much pending in all:
 * what a backend takes (BCONN_TAKEOVER_MAX); in HANDOFF_DATA messages of
 * at most CONN_SPLIT_CHUNK, which the backend can use one by one. */
#define CONN_SPLIT_MAX (256u << 10)
#define CONN_SPLIT_CHUNK (64u << 10)
#define CONN_LINGER_MS 1000
/* A handed-back connection whose client stays silent this long gets its
 * switch entry removed by the agent too, and a second window update: the
 * in-band unlock may have been lost with its packet (controller.c). */
#define CONN_UNLOCK_CHECK_MS 200
#define CONN_TARGET_LOG 256 /* request target kept for the access log */

/* Why a hand-off failed (metrics label). */
enum ctrl_fail {
	FAIL_NO_BACKEND,
	FAIL_SWITCH,
	FAIL_FREEZE,
	FAIL_SEND,
	FAIL_REFUSED,
	FAIL_TIMEOUT,
	FAIL_CHANNEL,
	FAIL_RESTORE,
	FAIL_N
};

enum conn_state {
	CONN_READING, /* at the controller, waiting for a request head */
	CONN_HANDOFF, /* frozen, HANDOFF sent, waiting for the ACK */
	CONN_REMOTE,  /* a backend owns it */
	CONN_CLOSING, /* error reply sent, draining until EOF or timeout */
};

struct ctrl_stats {
	uint64_t accepted, closed, requests, bad_requests, handoffs,
		handbacks, handoff_failures, switch_errors, unknown_msgs,
		late_segments, closed_remote, client_closed, errors[2],
		unlock_fallbacks, split_handoffs;
	uint64_t latency_us_sum, latency_n;
};

struct conn {
	uint64_t id; /* generation << 32 | slot */
	struct ctrl *ctrl;
	int fd;
	enum conn_state state;
	struct prism_flow_key key;
	char *buf;
	size_t len, cap;
	struct ctrl_backend *backend;
	struct evtimer *timer;
	bool keep_alive;
	uint64_t t_handoff;
	/* for metrics and the access log */
	uint64_t t_start_us, t_ack_us;
	struct tcpr_state st0; /* as handed off: bytes sent, late data, reset probe */
	uint64_t head_deadline; /* ms: the request head must be complete */
	/* Handed back and unlocked in band; nothing from the client yet to
	 * prove that the marked window update reached the switch. */
	bool unlock_unconfirmed;
	bool in_switch; /* may have a switch entry: DELETE before forgetting */
	size_t want;    /* head + small body being received: buffer room */
	char method[8];
	char target[CONN_TARGET_LOG];
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
	struct auth_key key;
	struct switch_client sw;
	struct ctrl_backend backends[CTRL_MAX_BACKENDS];
	struct ctrl_backend *bptr[CTRL_MAX_BACKENDS];
	struct policy_member *members[CTRL_MAX_BACKENDS];
	unsigned n_backends;
	struct policy policy;
	struct conn **conns;
	uint32_t n_slots, *free_slots, n_free, generation;
	struct ctrl_stats stats;
	unsigned n_bslots; /* backends[] slots ever used */
	struct admin *admin;
	FILE *access_log;
	struct evtimer *sweep;
	uint64_t fails[FAIL_N];
	struct ctrl_status_count own_replies; /* the controller's 4xx/5xx */
	struct metrics_hist handoff_hist;     /* HANDOFF sent -> ACK */
	struct metrics_hist request_hist;     /* HANDOFF sent -> HANDBACK */
	uint64_t reloads, reload_errors;
	bool weights_changed; /* rebuild the policy at the next sync */
	struct ctrl_pool pools[CTRL_MAX_ROUTES]; /* cfg->routes[i] */
};

void conn_accept(struct evloop *loop, int fd, uint32_t events, void *arg);
struct conn *conn_lookup(struct ctrl *c, uint64_t id);
void conn_destroy(struct conn *k);
void conn_set_state(struct conn *k, enum conn_state s);
const char *conn_state_name(enum conn_state s);
/* Stops watching the fd (while it is handed off). */
void conn_pause(struct conn *k);
/* Watches the fd again and arms the idle timer. */
int conn_resume(struct conn *k);
int conn_set_buffer(struct conn *k, const void *data, size_t len);
void conn_cancel_timer(struct conn *k);
/* After an error reply: stop sending, drain, close on EOF or timeout. */
void conn_linger_close(struct conn *k);
void conn_record_latency(struct conn *k);
/* The socket is ESTABLISHED (not half-closed by the client). */
bool conn_established(const struct conn *k);
void ctrl_stats_log(const struct ctrl *c);
uint64_t ctrl_now_us(void);

/* admin.c: /metrics, /status, /reload, /drain/NAME, /undrain/NAME */
int ctrl_admin_handler(const char *method, const char *path,
		       struct metrics_buf *body, void *arg);
void ctrl_metrics(struct ctrl *c, struct metrics_buf *b);
const char *ctrl_fail_name(enum ctrl_fail f);
/* access_log.c */
int ctrl_access_log_open(struct ctrl *c);
void ctrl_access_log(struct ctrl *c, const struct conn *k, int status,
		     uint64_t bytes);
/* reload.c */
int ctrl_reload(struct ctrl *c);
/* Makes the active backend list (bptr, members) and the policy follow the
 * slots; closes removed backends that have no connection left. */
int ctrl_backends_sync(struct ctrl *c);
void ctrl_backend_add(struct ctrl *c, struct ctrl_backend *b,
		      const struct ctrl_backend_config *cfg);

/* Parses the buffered bytes and acts on a complete request (controller.c). */
void conn_process(struct conn *k);
/* The fallback for an unconfirmed in-band unlock (controller.c). */
void conn_confirm_unlock(struct conn *k);
/* DELETE the connection's switch entry if it may have one (controller.c):
 * 0 or the switch's -errno. */
int conn_switch_release(struct conn *k);
