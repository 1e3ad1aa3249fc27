/* `prism check --role switch [prism switch run's options]`: what the switch
 * agent needs from the fabric host it runs on (lib/preflight.h). */
#include <errno.h>
#include <libgen.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/preflight.h"
#include "switch/agent.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* The pin dir, or the directory it would be made in, is on bpffs. */
static void check_bpffs(struct preflight *p, const char *pin_dir)
{
	char copy[PATH_MAX], fix[2 * PATH_MAX + 64];
	const char *dir = pin_dir;
	struct statfs st;

	snprintf(copy, sizeof(copy), "%s", pin_dir);
	if (access(pin_dir, F_OK))
		dir = dirname(copy);
	snprintf(fix, sizeof(fix),
		 "mount -t bpf bpf /sys/fs/bpf (fstab: bpf "
		 "/sys/fs/bpf bpf defaults 0 0) and a "
		 "--pin-dir under it, not %s",
		 dir);
	if (statfs(dir, &st))
		pf_fail(p, "bpffs", fix, "%s: %s", dir, strerror(errno));
	else if (st.f_type != BPF_FS_MAGIC)
		pf_fail(p, "bpffs", fix, "%s is not on a BPF filesystem", dir);
	else if (access(dir, W_OK | X_OK))
		pf_fail(p, "bpffs",
			"run the switch as root (uid 0; its "
			"capabilities may still be bounded)",
			"%s: this process may not pin there", dir);
	else
		pf_ok(p, "bpffs", "%s on a BPF filesystem, writable", dir);
}

static void check_load(struct preflight *p, const struct agent_config *cfg)
{
	char why[256];
	int err = agent_probe_load(cfg, why, sizeof(why));

	if (!err)
		pf_ok(p, "data-plane",
		      "the switch program loads on this kernel "
		      "(table of %u flows)",
		      cfg->table_size);
	else if (err == -EPERM)
		pf_fail(p, "data-plane", "grant CAP_BPF and CAP_NET_ADMIN",
			"loading the switch program: %s", strerror(-err));
	else
		pf_fail(p, "data-plane",
			"a kernel with BPF, tc and BTF (5.15+)",
			"loading the switch program: %s%s%s", strerror(-err),
			*why ? ": " : "", why);
}

/* The effective rp_filter of IF is the larger of "all" and IF's own. */
static long rp_filter_of(const char *ifname)
{
	char path[64];
	long all = 0, own = 0;

	pf_sysctl("net/ipv4/conf/all/rp_filter", &all);
	snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", ifname);
	pf_sysctl(path, &own);
	return all > own ? all : own;
}

/* Each interface exists and is up, and does not filter strictly on source
 * addresses: a rewritten segment that the program hands to the kernel
 * (no neighbour entry yet) has the VIP or a backend as its source, which
 * strict reverse-path filtering drops on that port. */
static void check_iface(struct preflight *p, const char *ifname, bool host)
{
	struct ifreq ifr = {0};
	char what[IF_NAMESIZE + 8], fix[128];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	snprintf(what, sizeof(what), "iface %s", ifname);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err) {
		pf_fail(p, what, "name the fabric's ports (ip -br link)", "%s",
			err == ENODEV ? "no such interface" : strerror(err));
		return;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		snprintf(fix, sizeof(fix), "ip link set %s up", ifname);
		pf_fail(p, what, fix, "down");
		return;
	}
	/* Host mode: the programs see this host's own traffic, before
	 * the reverse-path check and after routing. */
	if (!host && rp_filter_of(ifname) == 1) {
		snprintf(fix, sizeof(fix),
			 "sysctl net.ipv4.conf.all.rp_filter=0 "
			 "net.ipv4.conf.%s.rp_filter=0 (or 2, loose)",
			 ifname);
		pf_fail(p, what, fix,
			"up, but strict rp_filter drops segments "
			"the switch rewrote");
		return;
	}
	pf_ok(p, what, host ? "up" : "up, rp_filter not strict");
}

static void check_forwarding(struct preflight *p)
{
	long v = 0;
	int err = pf_sysctl("net/ipv4/ip_forward", &v);

	if (err)
		pf_fail(p, "ip-forward", NULL, "net.ipv4.ip_forward: %s",
			strerror(-err));
	else if (v != 1)
		pf_fail(p, "ip-forward", "sysctl net.ipv4.ip_forward=1",
			"off: the fabric host would not route what the switch "
			"passes");
	else
		pf_ok(p, "ip-forward", "on");
}

static void check_all(struct preflight *p, const struct agent_config *cfg)
{
	pf_capability(p, CAP_BPF, "CAP_BPF", "loads the switch program");
	pf_capability(p, CAP_NET_ADMIN, "CAP_NET_ADMIN",
		      "attaches it at tc ingress");
	check_bpffs(p, cfg->pin_dir);
	check_load(p, cfg);
	bool host = cfg->mode == AGENT_MODE_HOST;

	for (int i = 0; i < cfg->n_ifaces; i++)
		check_iface(p, cfg->ifaces[i], host);
	if (host)
		pf_ok(p, "mode", "host, as %s's host: no forwarding needed "
				 "(the router between must not filter sources "
				 "strictly: docs/deploy.md)",
		      cfg->host_backend ? "a backend" : "the controller");
	else
		check_forwarding(p);
	pf_key(p, cfg->key_path);
	pf_bindable(p, "listen", &cfg->listen, SOCK_DGRAM);
	p->soft = true; /* the agent runs on without it */
	if (cfg->admin.sin_port)
		pf_bindable(p, "admin", &cfg->admin, SOCK_STREAM);
	p->soft = false;
	if (cfg->ready_file)
		pf_writable(p, "ready-file", cfg->ready_file);
}

int agent_check(int argc, char **argv)
{
	struct config file = {0};
	struct agent_config cfg;
	struct preflight p;
	int rc = 2;

	agent_config_init(&cfg);
	log_init("prism-check", LOG_ERR);
	if (!agent_config_parse(argc, argv, &cfg, &file)) {
		pf_init(&p, stdout);
		check_all(&p, &cfg);
		rc = pf_done(&p, "switch");
	}
	config_free(&file);
	return rc;
}
