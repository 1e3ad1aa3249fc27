/* `prism check --role controller [prism controller's options]`: what the
 * controller needs from its host (lib/preflight.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/controller.h"
#include "lib/log.h"
#include "lib/preflight.h"
#include "switch/client.h"

#define CHECK_CONNECT_MS 500

/* Each backend: a route to its hand-off port, and whether it answers. */
static void check_backends(struct preflight *p,
			   const struct controller_config *cfg)
{
	char what[CTRL_NAME_MAX + 16];

	for (unsigned i = 0; i < cfg->n_backends; i++) {
		const struct ctrl_backend_config *b = &cfg->backends[i];

		snprintf(what, sizeof(what), "backend %s", b->name);
		pf_route(p, what, &b->handoff);
		pf_tcp_answers(p, what, &b->handoff, CHECK_CONNECT_MS);
	}
}

/* The session ticket secret: readable, of the size ctrl_tls.c takes. */
static void check_ticket_keys(struct preflight *p, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st)) {
		pf_fail(p, "tls-ticket-keys",
			"head -c 64 /dev/urandom > FILE, "
			"the same on every controller",
			"%s: %s", path, strerror(errno));
	} else if (st.st_size < CTRL_TICKET_SECRET_MIN ||
		   st.st_size > CTRL_TICKET_SECRET_MAX) {
		pf_fail(p, "tls-ticket-keys", "head -c 64 /dev/urandom > FILE",
			"%s: %lld bytes, not %d..%d", path,
			(long long)st.st_size, CTRL_TICKET_SECRET_MIN,
			CTRL_TICKET_SECRET_MAX);
	} else {
		pf_ok(p, "tls-ticket-keys", "%s (%lld bytes)", path,
		      (long long)st.st_size);
	}
	if (fd >= 0)
		close(fd);
}

/* What the controller opens at start and stops without: the access
 * log (a file; "-" is stderr) and the ready file. */
static void check_files(struct preflight *p,
			const struct controller_config *cfg)
{
	if (cfg->access_log && strcmp(cfg->access_log, "-"))
		pf_writable(p, "access-log", cfg->access_log);
	if (cfg->ready_file)
		pf_writable(p, "ready-file", cfg->ready_file);
}

static void check_tls(struct preflight *p, const struct controller_config *cfg)
{
	if (!cfg->n_tls_cert)
		return;
	pf_bindable(p, "tls-listen", &cfg->tls_listen, SOCK_STREAM);
	for (unsigned i = 0; i < cfg->n_tls_cert; i++)
		pf_tls_pair(p, cfg->tls_cert[i], cfg->tls_key[i]);
	if (cfg->tls_ticket_keys)
		check_ticket_keys(p, cfg->tls_ticket_keys);
}

static void check_all(struct preflight *p, const struct controller_config *cfg)
{
	struct sockaddr_in agent;

	pf_tcp_repair(p);
	pf_raw_socket(p, "window updates after each hand-back");
	pf_key(p, cfg->key_path);
	pf_bindable(p, "listen", &cfg->listen, SOCK_STREAM);
	check_tls(p, cfg);
	p->soft = true; /* the controller runs on without it */
	if (cfg->admin.sin_port)
		pf_bindable(p, "admin", &cfg->admin, SOCK_STREAM);
	p->soft = false;
	check_files(p, cfg);
	if (switch_parse_addr(cfg->switch_agent, 7700, &agent))
		pf_fail(p, "switch", "--switch IP:PORT", "bad address '%s'",
			cfg->switch_agent);
	else
		pf_route(p, "switch", &agent);
	check_backends(p, cfg);
}

int controller_check(int argc, char **argv)
{
	struct controller_config cfg;
	const char *which = NULL;
	struct preflight p;
	int rc = 2;

	controller_config_init(&cfg);
	log_init("prism-check", LOG_ERR);
	if (controller_config_parse(argc, argv, &cfg, &which)) {
		/* the parser said why */
	} else if (which) {
		fprintf(stderr, "prism check: --which-backend is not a check\n");
	} else {
		pf_init(&p, stdout);
		check_all(&p, &cfg);
		rc = pf_done(&p, "controller");
	}
	controller_config_free(&cfg);
	return rc;
}
