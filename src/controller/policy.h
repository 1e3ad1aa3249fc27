/* Backend choice: one function, so that later policies plug in here. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/http.h"

struct ctrl_backend;

struct policy {
	unsigned next; /* round-robin cursor */
};

/* Picks the backend for a request among the N backends, skipping those
 * that are down.  NULL when none is up. */
struct ctrl_backend *policy_pick(struct policy *p, struct ctrl_backend **b,
				 unsigned n, const struct http_request *req);
