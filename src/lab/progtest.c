/* BPF_PROG_TEST_RUN helpers and the private namespace; see progtest.h. */
#include "lab/progtest.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"

static void log_cmd_failure(char *const argv[], int status)
{
	char line[512];
	size_t n = 0;

	line[0] = '\0';
	for (int i = 0; argv[i] && n < sizeof(line) - 1; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      i ? " " : "", argv[i]);
	log_err("progtest: '%s' failed (wait status %d)", line, status);
}

int progtest_cmd(char *const argv[])
{
	int status, fd;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_cmd_failure(argv, status);
	return -EIO;
}

static int write_file(const char *path, const char *text)
{
	int fd, err = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int progtest_enter_netns(void)
{
	char *lo_up[] = { "ip", "link", "set", "lo", "up", NULL };

	if (unshare(CLONE_NEWNET) < 0) {
		log_err("progtest: unshare(CLONE_NEWNET): %s", strerror(errno));
		return -errno;
	}
	return progtest_cmd(lo_up);
}

void progtest_neigh_mac(uint32_t ip, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x02, 0x00, 0xc6, 0x12, (ip >> 8) & 0xff,
			       ip & 0xff };

	memcpy(mac, m, 6);
}

static int link_info(const char *name, int *ifindex, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	*ifindex = (int)if_nametoindex(name);
	if (!*ifindex)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

#define NEIGH(ip, mac, dev)                                                   \
	{ "ip", "neigh", "replace", ip, "lladdr", mac, "dev", dev, "nud",     \
	  "permanent", NULL }

int progtest_net_setup(struct progtest_net *net)
{
	static char *cmds[][12] = {
		{ "ip", "link", "add", "pt0", "address", "02:00:c6:12:fa:01",
		  "type", "veth", "peer", "name", "pt1", NULL },
		{ "ip", "link", "set", "pt1", "address", "02:00:c6:12:fb:01",
		  NULL },
		{ "ip", "addr", "add", PROGTEST_IN_IP "/24", "dev", "pt0",
		  NULL },
		{ "ip", "addr", "add", PROGTEST_OUT_IP "/24", "dev", "pt1",
		  NULL },
		{ "ip", "link", "set", "pt0", "up", NULL },
		{ "ip", "link", "set", "pt1", "up", NULL },
		NEIGH("198.18.250.2", "02:00:c6:12:fa:02", "pt0"),
		NEIGH("198.18.251.2", "02:00:c6:12:fb:02", "pt1"),
		NEIGH("198.18.251.3", "02:00:c6:12:fb:03", "pt1"),
	};
	int err;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		err = progtest_cmd(cmds[i]);
		if (err)
			return err;
	}
	/* bpf_fib_lookup (without BPF_FIB_LOOKUP_OUTPUT) is a forwarding
	 * lookup and answers FWD_DISABLED on a non-forwarding interface. */
	err = write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	if (err) {
		log_err("progtest: enable forwarding: %s", strerror(-err));
		return err;
	}
	err = link_info("pt0", &net->in_ifindex, net->in_mac);
	if (!err)
		err = link_info("pt1", &net->out_ifindex, net->out_mac);
	if (err)
		log_err("progtest: veth pt0/pt1: %s", strerror(-err));
	return err;
}

int progtest_run(int prog_fd, struct progtest_run *run)
{
	struct __sk_buff ctx = {
		.ifindex = run->ifindex,
		.ingress_ifindex = run->ifindex,
	};
	struct bpf_test_run_opts opts = {
		.sz = sizeof(opts),
		.data_in = run->data_in,
		.data_size_in = run->size_in,
		.data_out = run->data_out,
		.data_size_out = run->data_out ? run->size_out : 0,
		.repeat = (int)run->repeat,
	};
	int err;

	if (run->ifindex) {
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		err = -errno;
		log_err("progtest: BPF_PROG_TEST_RUN (%u bytes): %s",
			run->size_in, strerror(errno));
		return err;
	}
	run->retval = opts.retval;
	run->size_out = opts.data_size_out;
	run->duration_ns = opts.duration;
	return 0;
}

static int stats_cpu_values(uint64_t **values, int *ncpu)
{
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return *ncpu ? *ncpu : -EINVAL;
	*values = calloc((size_t)*ncpu, sizeof(uint64_t));
	return *values ? 0 : -ENOMEM;
}

int progtest_read_stats(int stats_fd, uint64_t out[PRISM_STAT_MAX])
{
	uint64_t *values = NULL;
	int ncpu, err;

	err = stats_cpu_values(&values, &ncpu);
	if (err)
		goto out;
	for (uint32_t i = 0; i < PRISM_STAT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(stats_fd, &i, values) < 0) {
			err = -errno;
			goto out;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += values[c];
	}
out:
	free(values);
	return err;
}

int progtest_clear_stats(int stats_fd)
{
	uint64_t *values = NULL;
	int ncpu, err;

	err = stats_cpu_values(&values, &ncpu);
	if (err)
		goto out;
	for (uint32_t i = 0; i < PRISM_STAT_MAX; i++) {
		if (bpf_map_update_elem(stats_fd, &i, values, BPF_ANY) < 0) {
			err = -errno;
			goto out;
		}
	}
out:
	free(values);
	return err;
}
