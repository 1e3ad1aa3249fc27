/* `prism backend`: argument parsing only; the work is in server.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/num.h"
#include "switch/client.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism backend --name NAME --listen IP:PORT [--root DIR]\n"
		"                     [--handoff-port PORT --switch IP:PORT --key FILE]\n"
		"                     [--peer-id N] [--max-conns N] [--idle-timeout MS]\n"
		"                     [--store DIR [--no-fsync]] [--max-object BYTES]\n"
		"                     [--admin IP:PORT|off] [--config FILE]\n"
		"                     [--tls-cert FILE --tls-key FILE [--tls-listen IP:PORT]]\n"
		"                     [--mode switch|host [--controller-switch IP:PORT]]\n"
		"                     [--ready-file PATH] [--debug]\n"
		"\n"
		"An HTTP/1.1 server: GET/HEAD of files under DIR (sendfile), of\n"
		"/bytes/N (N bytes, byte i = i mod 251) and /health.  Every response\n"
		"carries X-Prism-Backend: NAME.  With --handoff-port it also takes\n"
		"connections handed off by the controller on IP:PORT and hands them\n"
		"back after each response; --switch and --key are then required.\n"
		"--mode host: no program on the fabric; --switch names this host's\n"
		"own agent (prism switch run --mode host --host-role backend), and\n"
		"--controller-switch IP:PORT the controller's host's, told when a\n"
		"connection is given up.\n"
		"/metrics (Prometheus text) is on --admin (default 127.0.0.1:9900).\n"
		"--config FILE reads the [backend] section: one flag per line,\n"
		"without the dashes (see examples/prism.conf).\n"
		"\n"
		"With --store DIR it is also an object store (docs/store.md): PUT or\n"
		"POST /obj/KEY stores the body (201 new, 200 replaced), GET/HEAD\n"
		"return it with an ETag (SHA-256), DELETE removes it (204).  Writes\n"
		"are fsync'ed before the answer unless --no-fsync.  Bodies over\n"
		"--max-object (default 1 GiB) get 413.\n"
		"--tls-cert and --tls-key: direct HTTPS too, on --tls-listen (default\n"
		"the --listen address, port 443); hand-offs need none of it (the\n"
		"controller's session comes with each connection).\n");
}

static int parse_opt(struct backend_config *cfg, const char *a, const char *v)
{
	uint32_t port;

	if (!strcmp(a, "--name"))
		return strlen(v) < 32 && !strpbrk(v, "\r\n") ? (cfg->name = v, 0)
							      : -EINVAL;
	if (!strcmp(a, "--listen"))
		return switch_parse_addr(v, 80, &cfg->listen);
	if (!strcmp(a, "--root"))
		return cfg->root = v, 0;
	if (!strcmp(a, "--handoff-port")) {
		if (num_parse_u32(v, 1, 65535, &port))
			return -EINVAL;
		cfg->handoff.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (!strcmp(a, "--switch"))
		return cfg->switch_agent = v, 0;
	if (!strcmp(a, "--key"))
		return cfg->key_path = v, 0;
	if (!strcmp(a, "--peer-id"))
		return num_parse_u32(v, 0, UINT32_MAX, &cfg->peer_id);
	if (!strcmp(a, "--max-conns"))
		return num_parse_u32(v, 0, 1u << 24, &cfg->max_conns);
	if (!strcmp(a, "--idle-timeout"))
		return num_parse_u32(v, 0, 86400000u, &cfg->idle_timeout_ms);
	if (!strcmp(a, "--store"))
		return cfg->store_dir = v, 0;
	if (!strcmp(a, "--max-object"))
		return num_parse_u64(v, 1, UINT64_MAX, &cfg->max_object);
	if (!strcmp(a, "--admin"))
		return !strcmp(v, "off") ? (cfg->admin.sin_port = 0, 0)
					 : switch_parse_addr(v, 9900, &cfg->admin);
	if (!strcmp(a, "--ready-file"))
		return cfg->ready_file = v, 0;
	if (!strcmp(a, "--tls-cert"))
		return cfg->tls_cert = v, 0;
	if (!strcmp(a, "--tls-key"))
		return cfg->tls_key = v, 0;
	if (!strcmp(a, "--controller-switch"))
		return cfg->controller_switch = v, 0;
	if (!strcmp(a, "--mode"))
		return !strcmp(v, "switch") || !strcmp(v, "host")
			       ? (cfg->host_mode = !strcmp(v, "host"), 0)
			       : -EINVAL;
	if (!strcmp(a, "--tls-listen"))
		return switch_parse_addr(v, 443, &cfg->tls_listen);
	fprintf(stderr, "prism backend: unknown option '%s'\n", a);
	return -ENOENT;
}

/* Options from i = first on; --config is handled by the caller. */
static int parse_list(int argc, char **argv, int first,
		      struct backend_config *cfg)
{
	for (int i = first; i < argc; i++) {
		int err;

		if (!strcmp(argv[i], "--debug")) {
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (!strcmp(argv[i], "--no-fsync")) {
			cfg->store_no_fsync = true;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "prism backend: %s needs a value\n", argv[i]);
			return -EINVAL;
		}
		err = strcmp(argv[i], "--config") ? parse_opt(cfg, argv[i], argv[i + 1])
						  : 0;
		if (err == -EINVAL)
			fprintf(stderr, "prism backend: bad %s '%s'\n", argv[i],
				argv[i + 1]);
		if (err)
			return err;
		i++;
	}
	return 0;
}

/* --config FILE: its [backend] section (and the lines before any section)
 * as flags, before the command line's own (which win). */
static int parse_config(int argc, char **argv, struct backend_config *cfg,
			struct config *file)
{
	char err[256];
	char **args = NULL;
	int n = 0, r;

	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--config"))
			continue;
		r = config_load(argv[i + 1], file, err, sizeof(err));
		if (r) {
			fprintf(stderr, "prism backend: config %s\n", err);
			return r;
		}
		r = config_args(file, "backend", &n, &args);
		if (!r)
			r = parse_list(n, args, 0, cfg);
		free(args);
		return r;
	}
	return 0;
}

int backend_config_parse(int argc, char **argv, struct backend_config *cfg,
			 struct config *file)
{
	int err = parse_config(argc, argv, cfg, file);

	if (!err)
		err = parse_list(argc, argv, 1, cfg);
	if (err)
		return err;
	if (!cfg->listen.sin_addr.s_addr) {
		fprintf(stderr, "prism backend: --listen IP:PORT is required\n");
		return -EINVAL;
	}
	if (cfg->handoff.sin_port && (!cfg->switch_agent || !cfg->key_path)) {
		fprintf(stderr, "prism backend: --handoff-port needs --switch "
				"and --key\n");
		return -EINVAL;
	}
	if (!cfg->tls_cert != !cfg->tls_key ||
	    (cfg->tls_listen.sin_port && !cfg->tls_cert)) {
		fprintf(stderr, "prism backend: --tls-cert and --tls-key go "
				"together (and --tls-listen needs them)\n");
		return -EINVAL;
	}
	if (cfg->tls_cert && !cfg->tls_listen.sin_port) {
		cfg->tls_listen.sin_family = AF_INET;
		cfg->tls_listen.sin_addr = cfg->listen.sin_addr;
		cfg->tls_listen.sin_port = htons(443);
	}
	/* Listening sockets share ports (SO_REUSEPORT): the kernel would
	 * split one port's connections between HTTP and HTTPS silently. */
	if (cfg->tls_cert &&
	    cfg->tls_listen.sin_addr.s_addr == cfg->listen.sin_addr.s_addr &&
	    (cfg->tls_listen.sin_port == cfg->listen.sin_port ||
	     cfg->tls_listen.sin_port == cfg->handoff.sin_port)) {
		fprintf(stderr, "prism backend: --tls-listen's port is "
				"--listen's or --handoff-port\n");
		return -EINVAL;
	}
	if (cfg->controller_switch && !cfg->host_mode) {
		fprintf(stderr, "prism backend: --controller-switch is for "
				"--mode host\n");
		return -EINVAL;
	}
	cfg->handoff.sin_addr = cfg->listen.sin_addr;
	return 0;
}

int cmd_backend(int argc, char **argv)
{
	struct backend_config cfg;
	struct config file = { 0 };
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	log_init("backend", LOG_INFO);
	backend_config_init(&cfg);
	if (backend_config_parse(argc, argv, &cfg, &file)) {
		usage(stderr);
		config_free(&file);
		return 2;
	}
	err = backend_run(&cfg);
	if (err)
		fprintf(stderr, "prism backend %s: %s\n", cfg.name, strerror(-err));
	config_free(&file);
	return err ? 1 : 0;
}
