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

/* The hand-off channel between a controller and its backends crosses one
 * datacenter fabric: a segment lost there should cost milliseconds, not
 * the 200 ms minimum retransmission timeout (and 40-200 ms delayed ACKs)
 * sized for the Internet, because a hand-off waits for each message.  Sets
 * TCP_NODELAY, TCP_RTO_MIN_US = NET_CHANNEL_RTO_MIN_US and
 * TCP_DELACK_MAX_US = NET_CHANNEL_DELACK_MAX_US (Linux 6.15; rounded up
 * to whole jiffies: 8 ms and 4 ms at HZ=250).  Returns 0, or -ENOPROTOOPT
 * when the kernel has only the defaults (the channel still works). */
#define NET_CHANNEL_RTO_MIN_US 5000
#define NET_CHANNEL_DELACK_MAX_US 1000
int net_tune_channel(int fd);
