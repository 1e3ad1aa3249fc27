/* What every Prism daemon (switch agent, controller, backend) does the same
 * way around its event loop: the ready file, signals, the admin endpoint's
 * default address. */
#pragma once
#include <netinet/in.h>

#include "lib/evloop.h"

/* Writes our pid to PATH atomically (a temporary file renamed into place:
 * `prism up` polls for it and must never read half of it).  NULL: nothing
 * to do.  0 or -errno (logged). */
int daemon_ready_file(const char *path);

/* SIGPIPE ignored (a peer that closes is an error return, not death);
 * SIGINT and SIGTERM stop LOOP; SIGHUP calls ON_HUP(ARG) if given, else
 * is ignored.  Returns the signalfd (the caller closes it) or -errno. */
int daemon_signals(struct evloop *loop, void (*on_hup)(void *arg), void *arg);

/* The admin endpoint (/metrics) every daemon opens by default:
 * 127.0.0.1:9900 in its own network namespace. */
#define DAEMON_ADMIN_PORT 9900
void daemon_admin_default(struct sockaddr_in *sa);
