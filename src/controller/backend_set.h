/* The controller's view of its backends: the hand-off channel to each, and
 * whether it is usable.  A channel that dies marks the backend down; it is
 * reconnected every CTRL_RECONNECT_MS. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "controller/controller.h"
#include "lib/evloop.h"
#include "lib/hochan.h"

#define CTRL_RECONNECT_MS 1000

struct ctrl_backend;

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
	bool up;
};

void ctrl_backend_init(struct ctrl_backend *b,
		       const struct ctrl_backend_config *cfg,
		       struct evloop *loop, const struct auth_key *key,
		       ctrl_backend_msg_cb on_msg, ctrl_backend_down_cb on_down,
		       void *arg);
/* Starts a non-blocking connect; retries on its own. */
void ctrl_backend_connect(struct ctrl_backend *b);
void ctrl_backend_close(struct ctrl_backend *b);
bool ctrl_backend_usable(const struct ctrl_backend *b);
int ctrl_backend_send(struct ctrl_backend *b, struct ho_msg *m);
