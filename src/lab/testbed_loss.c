/* Random packet loss on testbed hosts (no netem on this kernel): loss.bpf.c
 * at the ingress of a host's eth0 (why not egress: there), its map pinned as
 * /sys/fs/bpf/NAME/loss-HOST so that the rate can change while traffic
 * runs.  Attaching happens in a child that enters the host's network
 * namespace (setns only, so the pin lands in our bpffs); the tc filters
 * keep the program alive after it exits, and go with the namespace at
 * `testbed down`, which also removes the pin directory. */
#include "lab/testbed.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loss.skel.h"

struct loss_state {
	__u32 ppm;
	__be32 gw;
	__u64 seen;
	__u64 dropped;
};

static int loss_pin(const char *name, const char *host, char *buf, size_t len)
{
	char dir[200];
	int err = testbed_pin_dir(name, dir, sizeof(dir));

	if (err)
		return err;
	return snprintf(buf, len, "%s/loss-%s", dir, host) >= (int)len
		       ? -ENAMETOOLONG
		       : 0;
}

static int set_ppm(int fd, uint32_t ppm, __be32 gw)
{
	struct loss_state s = { 0 };
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &s))
		return -errno;
	s.ppm = ppm;
	if (gw)
		s.gw = gw;
	return bpf_map_update_elem(fd, &key, &s, BPF_ANY) ? -errno : 0;
}

static int attach_dir(struct loss_bpf *skel, int ifindex,
		      enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0x10,
			    .priority = 0x10,
			    .prog_fd = bpf_program__fd(skel->progs.prism_loss));

	return bpf_tc_attach(&hook, &opts);
}

/* The fabric's address on eth0's link: the .1 of its /24 (testbed.h). */
static int fabric_addr(__be32 *gw)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	if (ioctl(s, SIOCGIFADDR, &ifr))
		err = -errno;
	close(s);
	if (err)
		return err;
	*gw = (((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr &
	       htonl(0xffffff00u)) | htonl(1);
	return 0;
}

/* One clsact for both directions (creating it twice is an error the
 * kernel logs). */
static int make_clsact(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = bpf_tc_hook_create(&hook);

	return err == -EEXIST ? 0 : err;
}

/* In HOST's namespace: load, attach at ingress, pin the map. */
static int attach_in_host(const char *name, const char *host,
			  const char *pin, uint32_t ppm)
{
	struct loss_bpf *skel;
	__be32 gw = 0;
	int ifindex, err;

	err = testbed_enter(name, host);
	if (err)
		return err;
	ifindex = (int)if_nametoindex("eth0");
	if (!ifindex)
		return -errno;
	err = fabric_addr(&gw);
	if (err)
		return err;
	skel = loss_bpf__open_and_load();
	if (!skel)
		return -errno;
	err = set_ppm(bpf_map__fd(skel->maps.loss), ppm, gw);
	if (!err)
		err = make_clsact(ifindex);
	if (!err)
		err = attach_dir(skel, ifindex, BPF_TC_INGRESS);
	if (!err)
		err = bpf_obj_pin(bpf_map__fd(skel->maps.loss), pin) ? -errno
								      : 0;
	loss_bpf__destroy(skel);
	return err;
}

static int attach(const char *name, const char *host, const char *pin,
		  uint32_t ppm)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(-attach_in_host(name, host, pin, ppm) & 0xff);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

int testbed_loss_set(const char *name, const char *host, double pct)
{
	uint32_t ppm = (uint32_t)(pct * 10000 + 0.5);
	char pin[256];
	int fd, err;

	if (pct < 0 || pct > 100)
		return -EINVAL;
	err = loss_pin(name, host, pin, sizeof(pin));
	if (err)
		return err;
	fd = bpf_obj_get(pin);
	if (fd < 0) {
		err = ppm ? attach(name, host, pin, ppm) : 0;
		if (err)
			fprintf(stderr, "prism testbed: loss on %s: %s\n", host,
				strerror(-err));
		return err;
	}
	err = set_ppm(fd, ppm, 0);
	close(fd);
	return err;
}

int testbed_loss_get(const char *name, const char *host, double *pct,
		     uint64_t *seen, uint64_t *dropped)
{
	struct loss_state s = { 0 };
	char pin[256];
	__u32 key = 0;
	int fd, err;

	*pct = 0;
	*seen = *dropped = 0;
	err = loss_pin(name, host, pin, sizeof(pin));
	if (err)
		return err;
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_map_lookup_elem(fd, &key, &s) ? -errno : 0;
	close(fd);
	*pct = s.ppm / 10000.0;
	*seen = s.seen;
	*dropped = s.dropped;
	return err;
}

int testbed_loss_all(const struct testbed *tb, double pct)
{
	static const char *const fixed[] = { "client", "controller", "proxy" };
	char host[16];
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(fixed) / sizeof(fixed[0]); i++)
		err = testbed_loss_set(tb->name, fixed[i], pct);
	for (int i = 1; !err && i <= tb->backends; i++) {
		snprintf(host, sizeof(host), "b%d", i);
		err = testbed_loss_set(tb->name, host, pct);
	}
	return err;
}
