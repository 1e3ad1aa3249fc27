#include "lib/net.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* Linux 6.15 uapi; the build host's headers may be older. */
#ifndef TCP_RTO_MIN_US
#define TCP_RTO_MIN_US 45
#endif
#ifndef TCP_DELACK_MAX_US
#define TCP_DELACK_MAX_US 46
#endif

int net_listen(const struct sockaddr_in *addr, int backlog, bool reuseport)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, err;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    listen(fd, backlog) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int net_tune_channel(int fd)
{
	int one = 1, rto = NET_CHANNEL_RTO_MIN_US,
	    delack = NET_CHANNEL_DELACK_MAX_US;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (setsockopt(fd, IPPROTO_TCP, TCP_RTO_MIN_US, &rto, sizeof(rto)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_DELACK_MAX_US, &delack,
		       sizeof(delack)))
		return -errno;
	return 0;
}
