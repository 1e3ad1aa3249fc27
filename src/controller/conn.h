/* Client connections at the controller: the connection table, reading,
 * timers and closing.  The hand-off logic is in controller.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/backend_set.h"
#include "controller/controller.h"
#include "controller/policy.h"
#include "lib/auth.h"
#include "lib/evloop.h"
#include "prism_abi.h"
#include "switch/client.h"

#define CONN_BUF_MAX 16384 /* above the parser's 8 KB head limit */
#define CONN_LINGER_MS 1000

enum conn_state {
	CONN_READING, /* at the controller, waiting for a request head */
	CONN_HANDOFF, /* frozen, HANDOFF sent, waiting for the ACK */
	CONN_REMOTE,  /* a backend owns it */
	CONN_CLOSING, /* error reply sent, draining until EOF or timeout */
};

struct ctrl_stats {
	uint64_t accepted, closed, requests, bad_requests, handoffs,
		handbacks, handoff_failures, switch_errors, unknown_msgs,
		late_segments, closed_remote, errors[2];
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
	uint32_t dump_inq;
	uint64_t t_handoff;
};

struct ctrl {
	const struct controller_config *cfg;
	struct evloop *loop;
	int listen_fd, raw_fd, sig_fd;
	struct auth_key key;
	struct switch_client sw;
	struct ctrl_backend backends[CTRL_MAX_BACKENDS];
	struct ctrl_backend *bptr[CTRL_MAX_BACKENDS];
	unsigned n_backends;
	struct policy policy;
	struct conn **conns;
	uint32_t n_slots, *free_slots, n_free, generation;
	struct ctrl_stats stats;
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
/* Connection: close after a response: FIN now, wait for the peer's. */
void conn_graceful_close(struct conn *k);
void conn_record_latency(struct conn *k);
void ctrl_stats_log(const struct ctrl *c);

/* Parses the buffered bytes and acts on a complete request (controller.c). */
void conn_process(struct conn *k);
