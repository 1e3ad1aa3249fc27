/* The testbed: hosts as network namespaces around one fabric namespace,
 * each joined to the fabric by a veth pair shaped with tbf in both
 * directions.  Layout and addresses: docs/architecture.md ("Testbed").
 *
 * Used by `prism testbed` and by later commands (`prism up`) that need to
 * find hosts:
 *
 *   struct testbed tb;
 *   if (testbed_resolve_name(NULL, name, sizeof(name)) == 0 &&
 *       testbed_load(name, &tb) == 0 &&
 *       testbed_addr(name, "b1", ip, sizeof(ip)) == 0) ...
 *
 * Functions return 0 or -errno and print errors prefixed "prism testbed:".
 */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define TESTBED_NAME_MAX 32      /* [A-Za-z0-9][A-Za-z0-9_-]* */
#define TESTBED_BACKENDS_MAX 200
#define TESTBED_MBIT_MAX 1000000 /* 1 Tbit/s */
#define TESTBED_DEFAULT_NAME "prism"
#define TESTBED_DEFAULT_BACKENDS 2
#define TESTBED_DEFAULT_MBIT 1000
#define TESTBED_VIP "198.19.0.1"
#define TESTBED_STATE_DIR "/run/prism"
#define TESTBED_NETNS_DIR "/run/netns"
#define TESTBED_BPFFS "/sys/fs/bpf"

struct testbed {
	char name[TESTBED_NAME_MAX + 1];
	int backends;    /* N: hosts b1..bN */
	int link_mbit;   /* backend, controller and proxy links */
	int client_mbit; /* the client's link */
	bool ready;      /* false while `up` is still building it */
	/* --fabric router: a plain router (loose rp_filter as a datacenter
	 * router has it; no program of ours on it): for host mode. */
	bool router;
};

/* The testbed name: FLAG if not NULL, else $PRISM_TESTBED, else "prism".
 * -EINVAL (with a message) when it is not a valid name. */
int testbed_resolve_name(const char *flag, char *buf, size_t len);
bool testbed_name_valid(const char *name);

/* Reads /run/prism/NAME.testbed.  -ENOENT: no such testbed (no message). */
int testbed_load(const char *name, struct testbed *tb);
int testbed_state_read(const char *path, struct testbed *tb);
int testbed_state_write(const char *path, const struct testbed *tb);
int testbed_state_path(const char *name, char *buf, size_t len);

/* IPv4 address of HOST in a testbed of tb->backends backends: client,
 * controller, proxy, fabric (its side of the controller link, 198.18.2.1),
 * b1..bN, vip.  -EINVAL for any other name (no message). */
int testbed_host_ip(const struct testbed *tb, const char *host,
		    struct in_addr *ip);

/* Dotted-quad address of HOST in the running testbed NAME.  -ENOENT when
 * the testbed is not there, -EINVAL for an unknown host. */
int testbed_addr(const char *name, const char *host, char *buf, size_t len);

/* /run/netns/NAME-HOST and the pin directory /sys/fs/bpf/NAME. */
int testbed_netns_path(const char *name, const char *host, char *buf,
		       size_t len);
int testbed_pin_dir(const char *name, char *buf, size_t len);

/* Moves the calling thread into HOST's network namespace (setns only: the
 * mount namespace, hence /sys and bpffs pins, stays the caller's). */
int testbed_enter(const char *name, const char *host);

/* -EPERM with "prism testbed: must run as root" unless euid is 0. */
int testbed_check_root(void);

/* Builds the testbed described by TB, first removing one of the same name.
 * Needs root, ip(8) and tc(8).  On failure nothing is left behind. */
int testbed_up(const struct testbed *tb);

/* Removes everything testbed NAME created: processes in its namespaces,
 * the namespaces (and so the veths), the pin directory, the state file.
 * 0 when there was nothing to remove. */
int testbed_down(const char *name);

/* Random loss (testbed_loss.c): a packet arriving at HOST's eth0 is
 * dropped with probability PCT percent for each link it crossed (two from
 * another host, one from the fabric), from now on: the loss of links that
 * drop PCT percent each way, without a drop on any sender's own interface
 * (which its TCP would take for local congestion).  The first
 * nonzero rate attaches the program; 0 keeps it attached, dropping
 * nothing.  testbed_loss_all sets every host but the fabric.  0 or -errno
 * (said on stderr). */
int testbed_loss_set(const char *name, const char *host, double pct);
/* "1", "0.5": a percentage in 0..100, or -EINVAL. */
int testbed_parse_pct(const char *s, double *out);
int testbed_loss_all(const struct testbed *tb, double pct);
/* HOST's rate and what its program saw and dropped (all 0 without). */
int testbed_loss_get(const char *name, const char *host, double *pct,
		     uint64_t *seen, uint64_t *dropped);

/* The tbf rate of the root qdisc on DEV in namespace NS, read from tc, in
 * Mbit/s (0: no tbf there).  NS "" is the caller's namespace. */
int testbed_tc_rate(const char *ns, const char *dev, long *mbit);
