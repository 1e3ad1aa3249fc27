/* `prism backend`: argument parsing only; the work is in server.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/server.h"
#include "cli/commands.h"
#include "lib/log.h"
#include "switch/client.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism backend --name NAME --listen IP:PORT [--root DIR]\n"
		"                     [--handoff-port PORT --switch IP:PORT --key FILE]\n"
		"                     [--peer-id N] [--max-conns N] [--idle-timeout MS]\n"
		"                     [--ready-file PATH] [--debug]\n"
		"\n"
		"An HTTP/1.1 server: GET/HEAD of files under DIR (sendfile), of\n"
		"/bytes/N (N bytes, byte i = i mod 251) and /health.  Every response\n"
		"carries X-Prism-Backend: NAME.  With --handoff-port it also takes\n"
		"connections handed off by the controller on IP:PORT and hands them\n"
		"back after each response; --switch and --key are then required.\n");
}

static int parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*end || !*v || n > max)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
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
		if (parse_u32(v, 65535, &port) || !port)
			return -EINVAL;
		cfg->handoff.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (!strcmp(a, "--switch"))
		return cfg->switch_agent = v, 0;
	if (!strcmp(a, "--key"))
		return cfg->key_path = v, 0;
	if (!strcmp(a, "--peer-id"))
		return parse_u32(v, UINT32_MAX, &cfg->peer_id);
	if (!strcmp(a, "--max-conns"))
		return parse_u32(v, 1u << 24, &cfg->max_conns);
	if (!strcmp(a, "--idle-timeout"))
		return parse_u32(v, 86400000u, &cfg->idle_timeout_ms);
	if (!strcmp(a, "--ready-file"))
		return cfg->ready_file = v, 0;
	fprintf(stderr, "prism backend: unknown option '%s'\n", a);
	return -ENOENT;
}

static int parse_args(int argc, char **argv, struct backend_config *cfg)
{
	for (int i = 1; i < argc; i++) {
		int err;

		if (!strcmp(argv[i], "--debug")) {
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "prism backend: %s needs a value\n", argv[i]);
			return -EINVAL;
		}
		err = parse_opt(cfg, argv[i], argv[i + 1]);
		if (err == -EINVAL)
			fprintf(stderr, "prism backend: bad %s '%s'\n", argv[i],
				argv[i + 1]);
		if (err)
			return err;
		i++;
	}
	if (!cfg->listen.sin_addr.s_addr) {
		fprintf(stderr, "prism backend: --listen IP:PORT is required\n");
		return -EINVAL;
	}
	if (cfg->handoff.sin_port && (!cfg->switch_agent || !cfg->key_path)) {
		fprintf(stderr, "prism backend: --handoff-port needs --switch "
				"and --key\n");
		return -EINVAL;
	}
	cfg->handoff.sin_addr = cfg->listen.sin_addr;
	return 0;
}

int cmd_backend(int argc, char **argv)
{
	struct backend_config cfg;
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	log_init("backend", LOG_INFO);
	backend_config_init(&cfg);
	if (parse_args(argc, argv, &cfg)) {
		usage(stderr);
		return 2;
	}
	err = backend_run(&cfg);
	if (err)
		fprintf(stderr, "prism backend %s: %s\n", cfg.name, strerror(-err));
	return err ? 1 : 0;
}
