/* `prism controller`: argument parsing only; the work is in controller.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/controller.h"
#include "controller/policy.h"
#include "lib/adminsrv.h"
#include "lib/log.h"
#include "lib/num.h"
#include "switch/client.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism controller [--config FILE] --listen VIP:PORT --switch IP:PORT\n"
		"                        --key FILE --backend NAME=IP:PORT[,OPT...] ...\n"
		"                        [--policy rr|least-conn|hash-uri|hash-header:NAME]\n"
		"                        [--route [HOST]/PREFIX=NAME[,NAME...]] ...\n"
		"                        [--admin IP:PORT|off] [--access-log FILE|-|off]\n"
		"                        [--health-path PATH] [--health-interval MS|off]\n"
		"                        [--health-timeout MS] [--health-fall N]\n"
		"                        [--health-rise N] [--backoff MS]\n"
		"                        [--idle-timeout MS] [--header-timeout MS]\n"
		"                        [--handoff-timeout MS] [--peer-id N]\n"
		"                        [--delivery adaptive|handoff] [--relay-max SIZE]\n"
		"                        [--mode switch|host]\n"
		"                        [--tls-cert FILE --tls-key FILE]... [--tls-listen VIP:PORT]\n"
		"                        [--tls-ticket-keys FILE [--tls-ticket-period S]]\n"
		"                        [--ready-file PATH] [--debug]\n"
		"       prism controller --which-backend TARGET [--policy P] --backend ...\n"
		"       prism controller reload|status [--admin IP:PORT]\n"
		"       prism controller drain|undrain NAME [--admin IP:PORT]\n"
		"\n"
		"Accepts clients on VIP:PORT, parses each request head and hands\n"
		"the connection to a backend chosen by --policy (default rr) through\n"
		"its hand-off port IP:PORT; the switch agent at --switch rewrites\n"
		"the flow.  A backend is NAME=IP:PORT[,weight=N][,http=IP:PORT][,drain]\n"
		"(http: its HTTP address for health checks, default IP:80).\n"
		"--mode host: no program on the fabric; --switch is this host's own\n"
		"agent (prism switch run --mode host --host-role controller;\n"
		"docs/switch.md, host mode).\n"
		"--route sends requests for HOST (any if empty) and a path starting\n"
		"with PREFIX to the named backends only; first match wins.\n"
		"--config reads the same options from a file (docs/operations.md);\n"
		"SIGHUP or `prism controller reload` re-reads command line and files.\n"
		"--admin (default 127.0.0.1:9900) serves /metrics, /status, /reload.\n"
		"--delivery adaptive (default) relays a GET or HEAD whose response\n"
		"is at most --relay-max (default 8k; a multiple of 1k, up to 65535k)\n"
		"through the controller and hands off the rest; handoff hands off\n"
		"every request.\n"
		"--tls-cert and --tls-key (PEM: chain, key) also accept HTTPS on\n"
		"--tls-listen (default the --listen address, port 443): TLS 1.3 and\n"
		"1.2 end here, and the session moves with each hand-off.  Up to %d\n"
		"pairs: the first is the default, the others are chosen by the\n"
		"client's server name (SNI).  --tls-ticket-keys: a secret file (32\n"
		"to 4096 bytes) the session tickets' keys come from, so that\n"
		"controllers sharing it resume each other's sessions; the keys\n"
		"change every --tls-ticket-period seconds (default 43200), a ticket\n"
		"opens during its period and the next.\n"
		"--which-backend prints the backend TARGET goes to (all up) and exits.\n"
		"--key is the shared HMAC key file of switch and backends.\n",
		CTRL_TLS_CERTS);
}

/* One option of a --backend value: weight=N, http=IP:PORT or drain. */
static int backend_option(struct ctrl_backend_config *b, const char *o)
{
	char *end;

	if (!strncmp(o, "weight=", 7)) {
		unsigned long w = strtoul(o + 7, &end, 10);

		if (*end || w < 1 || w > POLICY_MAX_WEIGHT)
			return -EINVAL;
		b->weight = (uint32_t)w;
		return 0;
	}
	if (!strncmp(o, "http=", 5))
		return switch_parse_addr(o + 5, 80, &b->http);
	if (!strcmp(o, "drain")) {
		b->drain = true;
		return 0;
	}
	return -EINVAL;
}

/* NAME=IP:PORT[,weight=N][,http=IP:PORT][,drain] */
int ctrl_parse_backend(const char *v, struct ctrl_backend_config *b)
{
	const char *eq = strchr(v, '=');
	char buf[256], *save = NULL, *tok;
	int err;

	memset(b, 0, sizeof(*b));
	if (!eq || eq == v || (size_t)(eq - v) >= CTRL_NAME_MAX ||
	    strlen(eq + 1) >= sizeof(buf))
		return -EINVAL;
	memcpy(b->name, v, (size_t)(eq - v));
	b->name[eq - v] = 0;
	strcpy(buf, eq + 1);
	tok = strtok_r(buf, ",", &save);
	if (!tok || switch_parse_addr(tok, 0, &b->handoff))
		return -EINVAL;
	b->weight = 1;
	b->http = b->handoff;
	b->http.sin_port = htons(80);
	while ((tok = strtok_r(NULL, ",", &save)))
		if ((err = backend_option(b, tok)))
			return err;
	return 0;
}

int ctrl_parse_route(const char *v, struct ctrl_route *r)
{
	const char *slash = strchr(v, '/'), *eq = strrchr(v, '=');
	char names[CTRL_ROUTE_BACKENDS * CTRL_NAME_MAX], *save = NULL, *tok;

	memset(r, 0, sizeof(*r));
	if (!slash || !eq || eq < slash ||
	    (size_t)(slash - v) >= sizeof(r->host) ||
	    (size_t)(eq - slash) >= sizeof(r->prefix) ||
	    strlen(eq + 1) >= sizeof(names))
		return -EINVAL;
	memcpy(r->host, v, (size_t)(slash - v));
	memcpy(r->prefix, slash, (size_t)(eq - slash));
	strcpy(names, eq + 1);
	for (tok = strtok_r(names, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (r->n >= CTRL_ROUTE_BACKENDS || strlen(tok) >= CTRL_NAME_MAX)
			return -EINVAL;
		strcpy(r->backends[r->n++], tok);
	}
	return r->n ? 0 : -EINVAL;
}

static int add_route(struct controller_config *cfg, const char *v)
{
	if (!v || cfg->n_routes >= CTRL_MAX_ROUTES)
		return -EINVAL;
	return ctrl_parse_route(v, &cfg->routes[cfg->n_routes++]);
}

/* Every backend a route names must exist. */
static int check_routes(const struct controller_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_routes; i++)
		for (unsigned j = 0; j < cfg->routes[i].n; j++) {
			unsigned k = 0;

			while (k < cfg->n_backends &&
			       strcmp(cfg->backends[k].name,
				      cfg->routes[i].backends[j]))
				k++;
			if (k == cfg->n_backends) {
				fprintf(stderr, "prism controller: route %s%s: "
						"no backend %s\n",
					cfg->routes[i].host,
					cfg->routes[i].prefix,
					cfg->routes[i].backends[j]);
				return -EINVAL;
			}
		}
	return 0;
}

static int add_backend(struct controller_config *cfg, const char *v)
{
	if (cfg->n_backends >= CTRL_MAX_BACKENDS)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->n_backends; i++)
		if (!strncmp(cfg->backends[i].name, v,
			     strlen(cfg->backends[i].name)) &&
		    v[strlen(cfg->backends[i].name)] == '=')
			return -EEXIST;
	if (ctrl_parse_backend(v, &cfg->backends[cfg->n_backends]))
		return -EINVAL;
	cfg->n_backends++;
	return 0;
}

static int check_policy(const char *v, const char **out)
{
	struct policy p = { 0 };

	*out = v;
	return policy_parse(&p, v);
}

/* --which-backend TARGET: where the policy sends TARGET with every backend
 * up (for hash-header, TARGET is the header's value).  No daemon runs. */
static int which_backend(const struct controller_config *cfg,
			 const char *target)
{
	struct policy_member m[CTRL_MAX_BACKENDS], *mp[CTRL_MAX_BACKENDS];
	struct policy p = { 0 };
	struct http_str key = { target, strlen(target) };
	int i;

	for (unsigned j = 0; j < cfg->n_backends; j++) {
		m[j] = (struct policy_member){
			.name = cfg->backends[j].name,
			.weight = cfg->backends[j].weight,
			.usable = !cfg->backends[j].drain,
		};
		mp[j] = &m[j];
	}
	policy_parse(&p, cfg->policy ? cfg->policy : "rr");
	if (p.kind == POLICY_HASH_URI)
		key = policy_target_path(target, strlen(target));
	if (policy_set_members(&p, mp, cfg->n_backends))
		return 1;
	i = policy_pick_key(&p, key.p, key.len);
	printf("%s\n", i < 0 ? "-" : cfg->backends[i].name);
	policy_free(&p);
	return i < 0 ? 1 : 0;
}

/* "off" or "0" disables; else IP:PORT (port default 9900). */
static int parse_admin(const char *v, struct sockaddr_in *out)
{
	if (!strcmp(v, "off") || !strcmp(v, "0")) {
		out->sin_port = 0;
		return 0;
	}
	return switch_parse_addr(v, 9900, out);
}

/* Durations in ms: 1 ms .. 1 day. */
static int parse_ms(const char *v, uint32_t *out)
{
	return num_parse_u32(v, 1, 86400000u, out);
}

/* Interval 0 ("off") disables active checks. */
static int parse_interval(const char *v, uint32_t *out)
{
	if (!strcmp(v, "off") || !strcmp(v, "0")) {
		*out = 0;
		return 0;
	}
	return parse_ms(v, out);
}

static int parse_delivery(const char *v, enum ctrl_delivery *out)
{
	if (!strcmp(v, "adaptive"))
		*out = DELIVERY_ADAPTIVE;
	else if (!strcmp(v, "handoff"))
		*out = DELIVERY_HANDOFF;
	else
		return -EINVAL;
	return 0;
}

/* N, Nk or Nm bytes: whole KiB (the hand-off protocol's unit), at most
 * 65535 of them. */
static int parse_relay_max(const char *v, uint32_t *out)
{
	char num[24];
	size_t n = strlen(v);
	uint64_t x, unit = 1;

	if (!n || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, n + 1);
	if (num[n - 1] == 'k' || num[n - 1] == 'K')
		unit = 1024;
	else if (num[n - 1] == 'm' || num[n - 1] == 'M')
		unit = 1024 * 1024;
	if (unit > 1)
		num[n - 1] = 0;
	if (num_parse_u64(num, 1, 1u << 26, &x) || x * unit % 1024 ||
	    x * unit > 65535u * 1024)
		return -EINVAL;
	*out = (uint32_t)(x * unit);
	return 0;
}

static int load_file(struct controller_config *cfg, const char *path,
		     int depth, const char **which);

/* --tls-cert and --tls-key together; --tls-listen only with them, and
 * not on --listen's own address and port. */
static int check_tls(struct controller_config *cfg)
{
	struct sockaddr_in *t = &cfg->tls_listen;

	if (cfg->n_tls_cert != cfg->n_tls_key ||
	    ((t->sin_port || cfg->tls_ticket_keys) && !cfg->n_tls_cert)) {
		fprintf(stderr, "prism controller: --tls-cert and --tls-key go "
				"in pairs (and --tls-listen, --tls-ticket-keys "
				"need them)\n");
		return -EINVAL;
	}
	if (!cfg->n_tls_cert)
		return 0;
	if (!t->sin_port) {
		t->sin_family = AF_INET;
		t->sin_addr = cfg->listen.sin_addr;
		t->sin_port = htons(443);
	}
	if (t->sin_port == cfg->listen.sin_port &&
	    t->sin_addr.s_addr == cfg->listen.sin_addr.s_addr) {
		fprintf(stderr, "prism controller: --tls-listen is --listen's "
				"address\n");
		return -EINVAL;
	}
	return 0;
}

/* One option with its value (v is NULL for flags).  Returns 0, -EINVAL,
 * or 1 when the option is unknown. */
static int apply(struct controller_config *cfg, const char *a, const char *v,
		 int depth, const char **which)
{
	if (!strcmp(a, "--listen"))
		return switch_parse_addr(v, 80, &cfg->listen);
	if (!strcmp(a, "--switch"))
		return (cfg->switch_agent = v) ? 0 : -EINVAL;
	if (!strcmp(a, "--key"))
		return (cfg->key_path = v) ? 0 : -EINVAL;
	if (!strcmp(a, "--backend"))
		return add_backend(cfg, v);
	if (!strcmp(a, "--route"))
		return add_route(cfg, v);
	if (!strcmp(a, "--idle-timeout"))
		return parse_ms(v, &cfg->idle_timeout_ms);
	if (!strcmp(a, "--handoff-timeout"))
		return parse_ms(v, &cfg->handoff_timeout_ms);
	if (!strcmp(a, "--header-timeout"))
		return parse_ms(v, &cfg->header_timeout_ms);
	/* Controllers sharing a switch agent need different ids: the agent
	 * keeps one replay window per (address, peer id). */
	if (!strcmp(a, "--peer-id"))
		return num_parse_u32(v, 1, UINT32_MAX, &cfg->peer_id);
	if (!strcmp(a, "--ready-file"))
		return (cfg->ready_file = v) ? 0 : -EINVAL;
	if (!strcmp(a, "--policy"))
		return check_policy(v, &cfg->policy);
	if (!strcmp(a, "--admin"))
		return parse_admin(v, &cfg->admin);
	if (!strcmp(a, "--access-log"))
		return (cfg->access_log = strcmp(v, "off") ? v : NULL), 0;
	if (!strcmp(a, "--health-path"))
		return *v == '/' ? (cfg->health_path = v, 0) : -EINVAL;
	if (!strcmp(a, "--health-interval"))
		return parse_interval(v, &cfg->health_interval_ms);
	if (!strcmp(a, "--health-timeout"))
		return parse_ms(v, &cfg->health_timeout_ms);
	if (!strcmp(a, "--health-fall"))
		return num_parse_u32(v, 1, 1000, &cfg->health_fall);
	if (!strcmp(a, "--health-rise"))
		return num_parse_u32(v, 1, 1000, &cfg->health_rise);
	if (!strcmp(a, "--backoff"))
		return parse_ms(v, &cfg->backoff_ms);
	if (!strcmp(a, "--delivery"))
		return parse_delivery(v, &cfg->delivery);
	if (!strcmp(a, "--mode"))
		return !strcmp(v, "switch") || !strcmp(v, "host")
			       ? (cfg->host_mode = !strcmp(v, "host"), 0)
			       : -EINVAL;
	if (!strcmp(a, "--relay-max"))
		return parse_relay_max(v, &cfg->relay_max);
	if (!strcmp(a, "--tls-cert"))
		return cfg->n_tls_cert < CTRL_TLS_CERTS
			       ? (cfg->tls_cert[cfg->n_tls_cert++] = v, 0)
			       : -E2BIG;
	if (!strcmp(a, "--tls-key"))
		return cfg->n_tls_key < CTRL_TLS_CERTS
			       ? (cfg->tls_key[cfg->n_tls_key++] = v, 0)
			       : -E2BIG;
	if (!strcmp(a, "--tls-ticket-keys"))
		return (cfg->tls_ticket_keys = v) ? 0 : -EINVAL;
	if (!strcmp(a, "--tls-ticket-period"))
		return num_parse_u32(v, 1, 7 * 86400, &cfg->tls_ticket_period);
	if (!strcmp(a, "--tls-listen"))
		return switch_parse_addr(v, 443, &cfg->tls_listen);
	if (!strcmp(a, "--config"))
		return load_file(cfg, v, depth + 1, which);
	if (!strcmp(a, "--which-backend")) {
		if (which)
			*which = v;
		return 0;
	}
	return 1;
}

static int parse_list(int argc, char **argv, struct controller_config *cfg,
		      int depth, const char **which)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int err;

		if (!strcmp(a, "--debug")) {
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (!v) {
			fprintf(stderr, "prism controller: %s needs a value\n", a);
			return -EINVAL;
		}
		i++;
		err = apply(cfg, a, v, depth, which);
		if (err == 1) {
			fprintf(stderr, "prism controller: unknown option '%s'\n", a);
			return -EINVAL;
		}
		if (err) {
			fprintf(stderr, "prism controller: bad %s '%s'\n", a, v);
			return err;
		}
	}
	return 0;
}

/* A --config file: its [controller] section and the lines before any
 * section, parsed as if they were flags at that point of the command
 * line. */
static int load_file(struct controller_config *cfg, const char *path,
		     int depth, const char **which)
{
	struct config *f;
	char err[300], **argv = NULL;
	int argc, r;

	if (!path || depth > 1 || cfg->n_files >= 4) {
		fprintf(stderr, "prism controller: --config: nested or too many files\n");
		return -EINVAL;
	}
	f = &cfg->files[cfg->n_files++];
	r = config_load(path, f, err, sizeof(err));
	if (r) {
		fprintf(stderr, "prism controller: config %s\n", err);
		return -EINVAL;
	}
	r = config_args(f, "controller", &argc, &argv);
	if (!r)
		r = parse_list(argc, argv, cfg, depth, which);
	free(argv);
	return r ? -EINVAL : 0;
}

int controller_config_parse(int argc, char **argv,
			    struct controller_config *cfg, const char **which)
{
	const char *w = NULL;
	int err;

	cfg->argc = argc;
	cfg->argv = argv;
	err = parse_list(argc - 1, argv + 1, cfg, 0, &w);
	if (which)
		*which = w;
	if (err)
		return err;
	if (check_routes(cfg))
		return -EINVAL;
	if (w && cfg->n_backends)
		return 0;
	if (!cfg->switch_agent || !cfg->key_path || !cfg->n_backends ||
	    !cfg->listen.sin_addr.s_addr) {
		fprintf(stderr, "prism controller: --listen, --switch, --key and "
				"at least one --backend are required\n");
		return -EINVAL;
	}
	return check_tls(cfg);
}

void controller_config_free(struct controller_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_files; i++)
		config_free(&cfg->files[i]);
	cfg->n_files = 0;
}

/* `prism controller reload|drain|undrain|status [NAME] [--admin ADDR]`:
 * asks a running controller through its admin endpoint. */
static int admin_cmd(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	const char *name = NULL, *method = "POST";
	char path[128];
	char *body = NULL;
	int status = 0, err;

	switch_parse_addr("127.0.0.1:9900", 9900, &addr);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--admin") && i + 1 < argc) {
			if (parse_admin(argv[++i], &addr) || !addr.sin_port)
				return 2;
		} else if (!name && argv[i][0] != '-') {
			name = argv[i];
		} else {
			return 2;
		}
	}
	if (!strcmp(argv[0], "reload")) {
		snprintf(path, sizeof(path), "/reload");
	} else if (!strcmp(argv[0], "status")) {
		snprintf(path, sizeof(path), "/status");
		method = "GET";
	} else if (name) {
		snprintf(path, sizeof(path), "/%s/%s", argv[0], name);
	} else {
		return 2;
	}
	err = admin_request(&addr, method, path, 5000, &status, &body);
	if (err) {
		fprintf(stderr, "prism controller %s: admin %s: %s\n", argv[0],
			path, strerror(-err));
		return 1;
	}
	fputs(body, status == 200 ? stdout : stderr);
	free(body);
	return status == 200 ? 0 : 1;
}

int cmd_controller(int argc, char **argv)
{
	struct controller_config cfg;
	const char *which = NULL;
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && (!strcmp(argv[1], "reload") ||
			 !strcmp(argv[1], "drain") ||
			 !strcmp(argv[1], "undrain") ||
			 !strcmp(argv[1], "status"))) {
		err = admin_cmd(argc - 1, argv + 1);
		if (err == 2)
			usage(stderr);
		return err;
	}
	log_init("controller", LOG_INFO);
	controller_config_init(&cfg);
	if (controller_config_parse(argc, argv, &cfg, &which)) {
		usage(stderr);
		controller_config_free(&cfg);
		return 2;
	}
	if (which) {
		err = which_backend(&cfg, which);
		controller_config_free(&cfg);
		return err;
	}
	err = controller_run(&cfg);
	controller_config_free(&cfg);
	if (err)
		fprintf(stderr, "prism controller: %s\n", strerror(-err));
	return err ? 1 : 0;
}
