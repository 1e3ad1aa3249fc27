/* Small socket helpers shared by the daemons. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>

/* A non-blocking TCP listener on addr with SO_REUSEADDR.  reuseport also
 * sets SO_REUSEPORT: a daemon that restores sockets on this port needs it
 * to listen again after a restart while those sockets sit in TIME_WAIT
 * (lib/migrate.c); the price is that a second copy started by mistake on
 * the host would share the port.  Returns the fd or -errno. */
int net_listen(const struct sockaddr_in *addr, int backlog, bool reuseport);
