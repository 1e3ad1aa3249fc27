/* The switch on real interfaces: kernel TCP through an OWNED flow.
 *
 *   client ns  eth0 198.18.1.2 --- fc [fabric: this process's private
 *   netns, prism_switch at tc ingress on fc and fb] fb --- eth0 198.18.11.2
 *   backend ns
 *
 * The client knows only the VIP (198.19.0.1, unrouted in the fabric); the
 * backend has no VIP address.  A connection can only work if the switch
 * rewrites both directions with correct checksums, here also for
 * CHECKSUM_PARTIAL and TSO/GSO packets, which BPF_PROG_TEST_RUN cannot
 * produce (checksum_setup makes wrong checksums fatal).  Checked: bytes
 * exact end to end, the client sees a zero window and cannot send, a
 * LOCKED flow blocks the client's SYN, and the counters agree. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "lab/progtest.h"
#include "switch.skel.h"

#define CLIENT_IP "198.18.1.2"
#define BACKEND_IP "198.18.11.2"
#define VIP_IP "198.19.0.1"
#define VPORT 80
#define NBYTES (4u << 20)

static char ns_client[64], ns_backend[64];
static struct switch_bpf *skel;
static int setup_err;

/* Exit codes of the client child. */
enum { C_OK, C_CONNECT, C_SHORT, C_DATA, C_WINDOW, C_SETUP };

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 13 + (i >> 12));
}

static int enter_ns(const char *name)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* ip(8) with the given arguments. */
#define ip(...) ip_argv((const char *[]){ "ip", __VA_ARGS__, NULL })

static int ip_argv(const char **argv)
{
	return progtest_cmd((char *const *)argv);
}

static int ns_link(const char *ns, const char *fab_if, const char *fab_ip,
		   const char *host_ip, const char *gw)
{
	char host_cidr[32], fab_cidr[32];
	int err;

	snprintf(host_cidr, sizeof(host_cidr), "%s/24", host_ip);
	snprintf(fab_cidr, sizeof(fab_cidr), "%s/24", fab_ip);
	err = ip("link", "add", fab_if, "type", "veth", "peer", "name", "eth0");
	if (!err)
		err = ip("link", "set", "eth0", "netns", ns);
	if (!err)
		err = ip("addr", "add", fab_cidr, "dev", fab_if);
	if (!err)
		err = ip("link", "set", fab_if, "up");
	if (!err)
		err = ip("-n", ns, "addr", "add", host_cidr, "dev", "eth0");
	if (!err)
		err = ip("-n", ns, "link", "set", "eth0", "up");
	if (!err)
		err = ip("-n", ns, "link", "set", "lo", "up");
	if (!err)
		err = ip("-n", ns, "route", "add", "198.18.0.0/15", "via",
			 gw);
	if (!err)
		err = ip("-n", ns, "route", "add", "198.19.0.0/16", "via",
			 gw);
	return err;
}

static int ethtool(const char *ns, const char *dev, const char *feature,
		   const char *onoff)
{
	char *in_ns[] = { "ip", "netns", "exec", (char *)ns, "ethtool", "-K",
			  (char *)dev, (char *)feature, (char *)onoff, NULL };
	char *here[] = { "ethtool", "-K", (char *)dev, (char *)feature,
			 (char *)onoff, NULL };

	return progtest_cmd(ns ? in_ns : here);
}

/* Receivers verify checksums in software (rx off), and the fabric's
 * egress finishes CHECKSUM_PARTIAL packets in software (tx off), so a
 * wrong checksum or a wrong pseudo-header seed makes the receiver drop
 * the segment.  Senders keep their offloads: partial checksums and TSO. */
static int checksum_setup(void)
{
	int err = ethtool(ns_client, "eth0", "rx", "off");

	if (!err)
		err = ethtool(ns_backend, "eth0", "rx", "off");
	if (!err)
		err = ethtool(NULL, "fc", "tx", "off");
	if (!err)
		err = ethtool(NULL, "fb", "tx", "off");
	return err;
}

static int attach(const char *ifname)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	int err;

	hook.ifindex = (int)if_nametoindex(ifname);
	opts.prog_fd = bpf_program__fd(skel->progs.prism_switch);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

static int setup(void)
{
	int fd, err;

	snprintf(ns_client, sizeof(ns_client), "h2sw-c-%d", getpid());
	snprintf(ns_backend, sizeof(ns_backend), "h2sw-b-%d", getpid());
	err = progtest_enter_netns();
	if (!err)
		err = ip("netns", "add", ns_client);
	if (!err)
		err = ip("netns", "add", ns_backend);
	if (!err)
		err = ns_link(ns_client, "fc", "198.18.1.1", CLIENT_IP,
			      "198.18.1.1");
	if (!err)
		err = ns_link(ns_backend, "fb", "198.18.11.1", BACKEND_IP,
			      "198.18.11.1");
	if (!err)
		err = checksum_setup();
	if (err)
		return err;
	fd = open("/proc/sys/net/ipv4/conf/all/forwarding", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		return err;
	skel = switch_bpf__open_and_load();
	if (!skel)
		return -errno;
	err = attach("fc");
	if (!err)
		err = attach("fb");
	return err;
}

static void cleanup(void)
{
	switch_bpf__destroy(skel);
	if (ns_client[0])
		ip("netns", "del", ns_client);
	if (ns_backend[0])
		ip("netns", "del", ns_backend);
}

static struct prism_flow_key key_for(uint16_t cport)
{
	struct prism_flow_key k = { .client_port = htons(cport),
				    .vip_port = htons(VPORT) };

	inet_pton(AF_INET, CLIENT_IP, &k.client_ip);
	inet_pton(AF_INET, VIP_IP, &k.vip);
	return k;
}

static void set_flow(uint16_t cport, uint32_t state)
{
	struct prism_flow_key k = key_for(cport);
	struct prism_flow_value v = { .state = state };
	struct prism_rev_key r = { .client_ip = k.client_ip,
				   .backend_port = htons(VPORT),
				   .client_port = htons(cport) };

	inet_pton(AF_INET, BACKEND_IP, &v.backend_ip);
	r.backend_ip = v.backend_ip;
	CHECK_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.flows), &k, &v,
				     BPF_ANY), 0);
	if (state == PRISM_FLOW_OWNED)
		CHECK_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.rev_flows),
					     &r, &k, BPF_ANY), 0);
}

static int tcp_socket(const char *ip_str, uint16_t port, int timeout_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	int s, one = 1;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	inet_pton(AF_INET, ip_str, &a.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Backend child: accept one connection, send NBYTES, shut down writing,
 * then make sure nothing arrives from the client for one second (the
 * client is held by the zero window).  Exit 0 ok, 3 data arrived. */
static int backend_main(int ready_fd)
{
	char byte;
	struct pollfd pfd;
	static uint8_t buf[65536];
	size_t sent = 0;
	int ls, c;

	if (enter_ns(ns_backend))
		return 1;
	ls = tcp_socket("0.0.0.0", VPORT, 10000);
	if (ls < 0 || listen(ls, 4) < 0)
		return 1;
	if (write(ready_fd, "r", 1) != 1)
		return 1;
	c = accept(ls, NULL, NULL);
	if (c < 0)
		return 2;
	while (sent < NBYTES) {
		size_t n = NBYTES - sent;
		ssize_t w;

		if (n > sizeof(buf))
			n = sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(sent + i);
		w = send(c, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return 2;
		sent += (size_t)w;
	}
	shutdown(c, SHUT_WR);
	pfd.fd = c;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) > 0 && recv(c, &byte, 1, MSG_DONTWAIT) == 1)
		return 3;
	close(c);
	close(ls);
	return 0;
}

/* Client child: connect to the VIP from cport, read until EOF, check
 * the bytes and the zero window, try to send one byte. */
static int client_main(uint16_t cport, int timeout_ms)
{
	struct sockaddr_in vip = { .sin_family = AF_INET,
				   .sin_port = htons(VPORT) };
	static uint8_t buf[65536];
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	size_t got = 0;
	ssize_t n;
	int s;

	if (enter_ns(ns_client))
		return C_SETUP;
	s = tcp_socket(CLIENT_IP, cport, timeout_ms);
	if (s < 0)
		return C_SETUP;
	inet_pton(AF_INET, VIP_IP, &vip.sin_addr);
	if (connect(s, (struct sockaddr *)&vip, sizeof(vip)) < 0)
		return C_CONNECT;
	while ((n = recv(s, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(got + (size_t)i))
				return C_DATA;
		got += (size_t)n;
	}
	if (n < 0 || got != NBYTES)
		return C_SHORT;
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0 ||
	    ti.tcpi_snd_wnd != 0)
		return C_WINDOW;
	if (send(s, "x", 1, MSG_NOSIGNAL) != 1)
		return C_SETUP;
	usleep(1200 * 1000); /* the backend watches for one second */
	close(s);
	return C_OK;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static pid_t fork_backend(void)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(backend_main(p[1]));
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		wait_child(pid);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static pid_t fork_client(uint16_t cport, int timeout_ms)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(client_main(cport, timeout_ms));
	return pid;
}

static void owned_flow_carries_tcp(uint16_t cport)
{
	struct prism_flow_key k = key_for(cport);
	uint64_t st[PRISM_STAT_MAX];
	struct prism_flow_value v;
	pid_t srv, cli;

	set_flow(cport, PRISM_FLOW_OWNED);
	srv = fork_backend();
	CHECK(srv > 0);
	if (srv <= 0)
		return;
	cli = fork_client(cport, 5000);
	CHECK_EQ(wait_child(cli), C_OK);
	CHECK_EQ(wait_child(srv), 0);
	CHECK_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, &v), 0);
	CHECK(v.to_backend_packets >= 2); /* SYN, ACKs */
	CHECK(v.to_client_packets >= 2);
	CHECK(v.to_client_bytes >= NBYTES);
	CHECK_EQ(v.locked_drops, 0);
	CHECK_EQ(progtest_read_stats(bpf_map__fd(skel->maps.stats), st), 0);
	CHECK(st[PRISM_STAT_REDIRECT] > 0);
	CHECK_EQ(st[PRISM_STAT_DROP_REWRITE], 0);
}

/* Senders with offloads: CHECKSUM_PARTIAL and TSO/GSO packets. */
static void test_partial_csum_gso(void)
{
	owned_flow_carries_tcp(40000);
}

/* Senders without offloads: full checksums, one segment per packet. */
static void test_full_csum(void)
{
	CHECK_EQ(ethtool(ns_client, "eth0", "tx", "off"), 0);
	CHECK_EQ(ethtool(ns_backend, "eth0", "tx", "off"), 0);
	owned_flow_carries_tcp(40002);
}

static void test_locked_flow_blocks_client(void)
{
	const uint16_t cport = 40001;
	struct prism_flow_key k = key_for(cport);
	struct prism_flow_value v;

	set_flow(cport, PRISM_FLOW_LOCKED);
	CHECK_EQ(wait_child(fork_client(cport, 1500)), C_CONNECT);
	CHECK_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, &v), 0);
	CHECK(v.locked_drops >= 1);
	CHECK_EQ(v.to_backend_packets, 0);
}

static void test_setup(void)
{
	if (setup_err)
		t_failf(__FILE__, __LINE__, "setup: %s", strerror(-setup_err));
}

int main(void)
{
	if (geteuid() != 0) {
		t_skip("switch_live", "needs root");
		return t_done();
	}
	setup_err = setup();
	t_run("live_setup_topology_and_tc_attach", test_setup);
	if (!setup_err) {
		t_run("live_owned_flow_4mb_partial_csum_gso_zero_window",
		      test_partial_csum_gso);
		t_run("live_owned_flow_4mb_full_csum_zero_window",
		      test_full_csum);
		t_run("live_locked_flow_drops_client_syn",
		      test_locked_flow_blocks_client);
	}
	cleanup();
	return t_done();
}
