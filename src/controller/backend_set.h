/* The controller's view of its backends: the hand-off channel to each, and
 * whether it is usable.  A channel that dies marks the backend down; it is
 * reconnected every CTRL_RECONNECT_MS. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "controller/controller.h"
#include "lib/evloop.h"
#include "lib/hochan.h"
#include "controller/policy.h"

#define CTRL_RECONNECT_MS 1000

struct ctrl_backend;

/* Responses by HTTP status: a few distinct statuses (0 = not reported),
 * then "other". */
#define CTRL_STATUS_SLOTS 15
struct ctrl_status_count {
	uint16_t status[CTRL_STATUS_SLOTS];
	uint64_t n[CTRL_STATUS_SLOTS + 1];
	unsigned used;
};
void ctrl_status_add(struct ctrl_status_count *s, unsigned status);

/* Active health checks (health.c): every interval, GET <path> on the
 * backend's HTTP address; 2xx passes.  `fall` failures in a row mark it
 * unhealthy, `rise` passes in a row healthy again.  Starts healthy. */
struct ctrl_health {
	const struct controller_config *const *cfg; /* the current one */
	struct evtimer *timer; /* next check, or the running one's timeout */
	int fd;
	bool sent;
	char buf[64];
	size_t len;
	unsigned fails, passes;
	bool healthy;
	uint64_t checks, failed;
};

/* Called for every hand-off message from a backend. */
typedef void (*ctrl_backend_msg_cb)(struct ctrl_backend *b,
				    const struct ho_msg *m, void *arg);
/* Called when a backend's channel dies (in-flight hand-offs fail). */
typedef void (*ctrl_backend_down_cb)(struct ctrl_backend *b, void *arg);

struct ctrl_backend {
	struct ctrl_backend_config cfg;
	struct evloop *loop;
	const struct auth_key *key;
	struct hochan *ch;
	int connecting_fd;
	struct evtimer *retry;
	ctrl_backend_msg_cb on_msg;
	ctrl_backend_down_cb on_down;
	void *arg;
	uint64_t handoffs, failures;
	uint64_t relays; /* requests it answered in-line (relayed) */
	bool up;
	struct policy_member member; /* the policy's view: weight, load */
	bool in_use;   /* slot taken (also while removed and draining) */
	bool removed;  /* gone from the configuration: closed at load 0 */
	uint64_t down_until_ms; /* passive: failed hand-off back-off */
	uint64_t handoff_bytes, response_bytes;
	struct ctrl_status_count statuses;
	struct ctrl_health health;
};

void ctrl_backend_init(struct ctrl_backend *b,
		       const struct ctrl_backend_config *cfg,
		       struct evloop *loop, const struct auth_key *key,
		       ctrl_backend_msg_cb on_msg, ctrl_backend_down_cb on_down,
		       void *arg);
/* Starts a non-blocking connect; retries on its own. */
void ctrl_backend_connect(struct ctrl_backend *b);
void ctrl_backend_close(struct ctrl_backend *b);
/* Channel up, healthy, not backing off, not draining, not removed. */
bool ctrl_backend_usable(const struct ctrl_backend *b);
/* Passive health: no new requests for backoff_ms. */
void ctrl_backend_backoff(struct ctrl_backend *b, uint32_t backoff_ms);

void health_start(struct ctrl_backend *b,
		  const struct controller_config *const *cfg);
void health_stop(struct ctrl_backend *b);
int ctrl_backend_send(struct ctrl_backend *b, struct ho_msg *m);
/* hochan_send_lazy: with the next message to b, or within 20 ms. */
int ctrl_backend_send_lazy(struct ctrl_backend *b, struct ho_msg *m);
