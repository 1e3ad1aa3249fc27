/* Reload: re-parse the command line (re-reading its --config files) and
 * apply the difference without touching a client connection.
 *   - a backend whose name is new is added (connect, health checks);
 *   - a backend no longer listed is removed: it gets no new request, its
 *     connections finish and come back, then its channel is closed;
 *   - a backend whose hand-off address changed is removed and re-added;
 *   - weight, drain and HTTP address changes apply at once;
 *   - policy, timeouts, health settings and the access log (reopened, so
 *     that rotation works) follow the new configuration.
 * --listen, --switch, --key and --admin need a restart: changes to them
 * are reported and ignored. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/ctrl.h"
#include "lib/log.h"

static const struct ctrl_backend_config *
find_cfg(const struct controller_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_backends; i++)
		if (!strcmp(cfg->backends[i].name, name))
			return &cfg->backends[i];
	return NULL;
}

static bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

static struct ctrl_backend *free_slot(struct ctrl *c)
{
	for (unsigned i = 0; i < CTRL_MAX_BACKENDS; i++)
		if (!c->backends[i].in_use)
			return &c->backends[i];
	return NULL;
}

static void keep_fixed(const struct controller_config *old,
		       struct controller_config *n)
{
	if (!same_addr(&old->listen, &n->listen) ||
	    !same_addr(&old->admin, &n->admin) ||
	    strcmp(old->switch_agent, n->switch_agent) ||
	    strcmp(old->key_path, n->key_path))
		log_warn("reload: --listen, --switch, --key and --admin "
			 "changes need a restart; keeping the old values");
	n->listen = old->listen;
	n->admin = old->admin;
	if (n->n_tls_cert != old->n_tls_cert ||
	    (n->n_tls_cert && (strcmp(n->tls_cert[0], old->tls_cert[0]) ||
			       !same_addr(&n->tls_listen, &old->tls_listen))))
		log_warn("reload: --tls-* changes need a restart; keeping "
			 "the old certificates");
}

/* Removed and changed backends first, then updates and additions. */
static int apply_backends(struct ctrl *c, const struct controller_config *n)
{
	for (unsigned i = 0; i < c->n_bslots; i++) {
		struct ctrl_backend *b = &c->backends[i];
		const struct ctrl_backend_config *nb;

		if (!b->in_use || b->removed)
			continue;
		nb = find_cfg(n, b->cfg.name);
		if (!nb || !same_addr(&nb->handoff, &b->cfg.handoff)) {
			log_info("reload: backend %s removed%s", b->cfg.name,
				 nb ? " (address changed)" : "");
			b->removed = true;
			health_stop(b);
			continue;
		}
		if (nb->weight != b->cfg.weight || nb->drain != b->cfg.drain)
			log_info("reload: backend %s weight %u%s", b->cfg.name,
				 nb->weight, nb->drain ? ", draining" : "");
		b->cfg.weight = nb->weight;
		b->cfg.drain = nb->drain;
		b->cfg.http = nb->http;
		b->member.weight = nb->weight;
	}
	for (unsigned i = 0; i < n->n_backends; i++) {
		struct ctrl_backend *b;

		if (ctrl_backend_find(c, n->backends[i].name))
			continue;
		b = free_slot(c);
		if (!b) {
			log_err("reload: backend %s: no free slot (%d max, "
				"removed ones count until drained)",
				n->backends[i].name, CTRL_MAX_BACKENDS);
			return -ENOSPC;
		}
		log_info("reload: backend %s added", n->backends[i].name);
		ctrl_backend_add(c, b, &n->backends[i]);
	}
	return 0;
}

int ctrl_reload(struct ctrl *c)
{
	struct controller_config *n = calloc(1, sizeof(*n));
	const struct controller_config *old = c->cfg;
	struct policy p = { 0 };
	int err;

	if (!n)
		return -ENOMEM;
	controller_config_init(n);
	err = controller_config_parse(old->argc, old->argv, n, NULL);
	if (!err)
		err = policy_parse(&p, n->policy ? n->policy : "rr");
	if (err) {
		log_err("reload: configuration rejected; keeping the old one");
		c->reload_errors++;
		controller_config_free(n);
		free(n);
		return -EINVAL;
	}
	keep_fixed(old, n);
	c->cfg = n; /* health checks read it through &c->cfg */
	err = apply_backends(c, n);
	c->policy.kind = p.kind;
	memcpy(c->policy.header, p.header, sizeof(p.header));
	c->weights_changed = true; /* the ring and the kind may differ */
	if (!err)
		err = ctrl_backends_sync(c);
	for (unsigned i = 0; i < c->n_bslots; i++)
		if (c->backends[i].in_use && !c->backends[i].removed)
			health_start(&c->backends[i], &c->cfg);
	ctrl_access_log_open(c);
	if (c->cfg_owned) {
		controller_config_free((struct controller_config *)old);
		free((void *)old);
	}
	c->cfg_owned = true;
	err ? c->reload_errors++ : c->reloads++;
	log_info("reload: %u backends, policy %s", c->n_backends,
		 n->policy ? n->policy : "rr");
	return err;
}
