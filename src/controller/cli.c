/* `prism controller`: argument parsing only; the work is in controller.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "controller/controller.h"
#include "lib/log.h"
#include "switch/client.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism controller --listen VIP:PORT --switch IP:PORT --key FILE\n"
		"                        --backend NAME=IP:PORT [--backend ...]\n"
		"                        [--idle-timeout MS] [--handoff-timeout MS]\n"
		"                        [--ready-file PATH] [--debug]\n"
		"\n"
		"Accepts clients on VIP:PORT, parses each request head and hands\n"
		"the connection to a backend (round-robin) through its hand-off\n"
		"port IP:PORT; the switch agent at --switch rewrites the flow.\n"
		"--key is the shared HMAC key file of switch and backends.\n");
}

static int add_backend(struct controller_config *cfg, const char *v)
{
	const char *eq = strchr(v, '=');
	struct ctrl_backend_config *b;

	if (!eq || eq == v || (size_t)(eq - v) >= CTRL_NAME_MAX ||
	    cfg->n_backends >= CTRL_MAX_BACKENDS)
		return -EINVAL;
	b = &cfg->backends[cfg->n_backends];
	memcpy(b->name, v, (size_t)(eq - v));
	b->name[eq - v] = 0;
	if (switch_parse_addr(eq + 1, 0, &b->handoff))
		return -EINVAL;
	cfg->n_backends++;
	return 0;
}

static int parse_ms(const char *v, uint32_t *out)
{
	char *end;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;

	if (!v || *end || n == 0 || n > 86400000ul)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

static int parse_args(int argc, char **argv, struct controller_config *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int err = 0;

		if (!strcmp(a, "--debug")) {
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (!v) {
			fprintf(stderr, "prism controller: %s needs a value\n", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--listen"))
			err = switch_parse_addr(v, 80, &cfg->listen);
		else if (!strcmp(a, "--switch"))
			cfg->switch_agent = v;
		else if (!strcmp(a, "--key"))
			cfg->key_path = v;
		else if (!strcmp(a, "--backend"))
			err = add_backend(cfg, v);
		else if (!strcmp(a, "--idle-timeout"))
			err = parse_ms(v, &cfg->idle_timeout_ms);
		else if (!strcmp(a, "--handoff-timeout"))
			err = parse_ms(v, &cfg->handoff_timeout_ms);
		else if (!strcmp(a, "--ready-file"))
			cfg->ready_file = v;
		else {
			fprintf(stderr, "prism controller: unknown option '%s'\n", a);
			return -EINVAL;
		}
		if (err) {
			fprintf(stderr, "prism controller: bad %s '%s'\n", a, v);
			return err;
		}
	}
	if (!cfg->switch_agent || !cfg->key_path || !cfg->n_backends ||
	    !cfg->listen.sin_addr.s_addr) {
		fprintf(stderr, "prism controller: --listen, --switch, --key and "
				"at least one --backend are required\n");
		return -EINVAL;
	}
	return 0;
}

int cmd_controller(int argc, char **argv)
{
	struct controller_config cfg;
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	log_init("controller", LOG_INFO);
	controller_config_init(&cfg);
	if (parse_args(argc, argv, &cfg)) {
		usage(stderr);
		return 2;
	}
	err = controller_run(&cfg);
	if (err)
		fprintf(stderr, "prism controller: %s\n", strerror(-err));
	return err ? 1 : 0;
}
