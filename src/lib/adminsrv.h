/* A tiny HTTP/1.1 admin endpoint in the event loop (/metrics, /status,
 * /reload ...): one request per connection, answered with Connection:
 * close.  The handler produces the whole body at once; slow peers are
 * served with non-blocking writes and dropped after ADMIN_TIMEOUT_MS. */
#pragma once
#include <netinet/in.h>

#include "lib/evloop.h"
#include "lib/metrics.h"

#define ADMIN_TIMEOUT_MS 5000
#define ADMIN_MAX_CONNS 32

struct admin;

/* Fills body; returns the HTTP status (200, 404, 405 ...).  method and
 * path are NUL-terminated copies; path includes any query string. */
typedef int (*admin_handler)(const char *method, const char *path,
			     struct metrics_buf *body, void *arg);

/* Listens on addr (port 0: no admin endpoint, *out = NULL).  0 or -errno. */
int admin_open(struct evloop *loop, const struct sockaddr_in *addr,
	       admin_handler h, void *arg, struct admin **out);
void admin_close(struct admin *a);

/* Client side, blocking with a timeout: sends METHOD PATH to addr and reads
 * the whole response.  *status gets the HTTP status; body (NUL-terminated)
 * is malloc'd into *body.  0 or -errno. */
int admin_request(const struct sockaddr_in *addr, const char *method,
		  const char *path, int timeout_ms, int *status, char **body);
