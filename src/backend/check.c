/* `prism check --role backend [prism backend's options]`: what a backend
 * needs from its host (lib/preflight.h). */
#include <arpa/inet.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/socket.h>

#include "backend/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/preflight.h"
#include "switch/client.h"

static long unprivileged_port_start(void)
{
	long v = 1024;

	pf_sysctl("net/ipv4/ip_unprivileged_port_start", &v);
	return v;
}

static void check_handoffs(struct preflight *p,
			   const struct backend_config *cfg)
{
	struct sockaddr_in agent;

	if (!cfg->handoff.sin_port) {
		pf_ok(p, "handoff", "no --handoff-port: direct HTTP only");
		return;
	}
	pf_tcp_repair(p);
	/* The backend runs on without these, but uploads may stall, and a
	 * restored socket on the VIP's port below 1024 fails. */
	p->soft = true;
	pf_raw_socket(p, "window updates for uploads");
	if (unprivileged_port_start() > 80)
		pf_capability(p, CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE",
			      "restored sockets take the VIP's port, 80 or 443");
	p->soft = false;
	pf_key(p, cfg->key_path);
	pf_bindable(p, "handoff", &cfg->handoff, SOCK_STREAM);
	if (switch_parse_addr(cfg->switch_agent, 7700, &agent))
		pf_fail(p, "switch", "--switch IP:PORT", "bad address '%s'",
			cfg->switch_agent);
	else
		pf_route(p, "switch", &agent);
}

static void check_all(struct preflight *p, const struct backend_config *cfg)
{
	pf_bindable(p, "listen", &cfg->listen, SOCK_STREAM);
	check_handoffs(p, cfg);
	if (cfg->tls_cert) {
		pf_bindable(p, "tls-listen", &cfg->tls_listen, SOCK_STREAM);
		pf_tls_pair(p, cfg->tls_cert, cfg->tls_key);
	}
	p->soft = true; /* the backend runs on without it */
	if (cfg->admin.sin_port)
		pf_bindable(p, "admin", &cfg->admin, SOCK_STREAM);
	p->soft = false;
	if (cfg->ready_file)
		pf_writable(p, "ready-file", cfg->ready_file);
	if (cfg->root)
		pf_dir(p, "root", cfg->root, false);
	if (cfg->store_dir)
		pf_dir(p, "store", cfg->store_dir, true);
}

int backend_check(int argc, char **argv)
{
	struct backend_config cfg;
	struct config file = {0};
	struct preflight p;
	int rc = 2;

	backend_config_init(&cfg);
	log_init("prism-check", LOG_ERR);
	if (!backend_config_parse(argc, argv, &cfg, &file)) {
		pf_init(&p, stdout);
		check_all(&p, &cfg);
		rc = pf_done(&p, "backend");
	}
	config_free(&file);
	return rc;
}
