/* `prism switch`: run the agent, read its counters and flow table, send it
 * control ops.  Argument parsing only; the work is in agent.c, stats.c and
 * client.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/auth.h"
#include "lib/config.h"
#include "lib/log.h"
#include "switch/agent.h"
#include "switch/client.h"
#include "switch/stats.h"

#define CTL_TIMEOUT_MS 1000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: prism switch run --iface IF... --key FILE --peer IP[/LEN]...\n"
		"                        [--listen ADDR:PORT] [--table-size N]\n"
		"                        [--pin-dir DIR] [--ready-file PATH] [--debug]\n"
		"                        [--admin IP:PORT|off] [--fast-path on|off]\n"
		"                        [--mode switch|host [--host-role controller|backend]]\n"
		"                        [--config FILE]\n"
		"       prism switch stats [--pin-dir DIR] [--json]\n"
		"       prism switch flows [--pin-dir DIR] [--json]\n"
		"       prism switch ctl --agent ADDR:PORT --key FILE [--peer-id N]\n"
		"                        [--timeout MS] OP CLIENT_IP:PORT VIP:PORT [ARG]\n"
		"\n"
		"run      load the data plane, attach it at tc ingress of each IF, pin\n"
		"         its maps in DIR (default /sys/fs/bpf/$PRISM_TESTBED or\n"
		"         /sys/fs/bpf/prism), serve control requests (default\n"
		"         0.0.0.0:%d) from the --peer addresses until SIGINT/SIGTERM\n"
		"stats    data-plane and agent counters, flow table size\n"
		"flows    the flow table\n"
		"ctl      send one op, print its status; exit 1 unless it is ok:\n"
		"         lock [CLAIMANT_IP], lock-tail SND_NXT (from the owner),\n"
		"         own BACKEND_IP, own-open BACKEND_IP, delete\n"
		"--mode host: no program on the fabric; on this host's own port\n"
		"         (--iface), the host programs at tc ingress and egress,\n"
		"         as the controller's host or a backend's (--host-role;\n"
		"         docs/switch.md, host mode)\n"
		"--fast-path off: LOCKs are answered by the agent only, not by the\n"
		"         data plane (docs/switch.md, the fast path; default on)\n"
		"Lists take several values (--iface a b), commas, or repeats.\n",
		CTL_DEFAULT_PORT);
}

static int bad_arg(const char *what, const char *value)
{
	fprintf(stderr, "prism switch: %s '%s' (try --help)\n", what,
		value ? value : "(missing)");
	return -EINVAL;
}

/* The value of a single-value option, or NULL. */
static const char *value_of(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

typedef int (*add_fn)(struct agent_config *cfg, const char *v);

/* The values of a list option: "--opt a b", "--opt a,b", or repeated. */
static int take_list(int argc, char **argv, int *i, struct agent_config *cfg,
		     add_fn add)
{
	char item[256], *save, *tok;
	int n = 0, err;

	while (*i + 1 < argc && argv[*i + 1][0] != '-') {
		snprintf(item, sizeof(item), "%s", argv[++*i]);
		for (tok = strtok_r(item, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			err = add(cfg, tok);
			if (err)
				return err;
			n++;
		}
	}
	return n ? 0 : bad_arg("missing value after", argv[*i]);
}

static int add_iface(struct agent_config *cfg, const char *v)
{
	if (cfg->n_ifaces == AGENT_MAX_IFACES)
		return bad_arg("too many interfaces at", v);
	if (!*v || strlen(v) >= IF_NAMESIZE)
		return bad_arg("bad interface name", v);
	for (int i = 0; i < cfg->n_ifaces; i++)
		if (!strcmp(cfg->ifaces[i], v))
			return bad_arg("interface given twice", v);
	snprintf(cfg->ifaces[cfg->n_ifaces++], IF_NAMESIZE, "%s", v);
	return 0;
}

static int add_peer(struct agent_config *cfg, const char *v)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : strlen(v);
	struct in_addr addr;
	long bits = 32;
	char *end;

	if (cfg->n_peers == AGENT_MAX_PEERS)
		return bad_arg("too many peers at", v);
	if (len >= sizeof(ip))
		return bad_arg("bad peer address", v);
	memcpy(ip, v, len);
	ip[len] = '\0';
	if (slash) {
		bits = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || bits < 0 || bits > 32)
			return bad_arg("bad peer prefix length", v);
	}
	if (inet_pton(AF_INET, ip, &addr) != 1)
		return bad_arg("bad peer address", v);
	cfg->peers[cfg->n_peers].mask =
		htonl(bits ? 0xffffffffu << (32 - bits) : 0);
	cfg->peers[cfg->n_peers].net =
		addr.s_addr & cfg->peers[cfg->n_peers].mask;
	cfg->n_peers++;
	return 0;
}

static int set_pin_dir(char *dir, const char *v)
{
	if (!v || !*v || strlen(v) >= PATH_MAX)
		return bad_arg("bad --pin-dir", v);
	snprintf(dir, PATH_MAX, "%s", v);
	return 0;
}

static int parse_table_size(const char *v, uint32_t *out)
{
	unsigned long n;
	char *end;

	if (!v)
		return bad_arg("missing value after", "--table-size");
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n == 0 || n > (1ul << 24))
		return bad_arg("--table-size must be 1..16777216, not", v);
	*out = (uint32_t)n;
	return 0;
}

static bool host_role_given;

static int parse_run_opt(int argc, char **argv, int *i,
			 struct agent_config *cfg)
{
	const char *opt = argv[*i], *v;

	if (!strcmp(opt, "--iface"))
		return take_list(argc, argv, i, cfg, add_iface);
	if (!strcmp(opt, "--peer"))
		return take_list(argc, argv, i, cfg, add_peer);
	if (!strcmp(opt, "--debug")) {
		log_set_level(LOG_DEBUG);
		return 0;
	}
	v = value_of(argc, argv, i);
	if (!strcmp(opt, "--key"))
		cfg->key_path = v;
	else if (!strcmp(opt, "--ready-file"))
		cfg->ready_file = v;
	else if (!strcmp(opt, "--table-size"))
		return parse_table_size(v, &cfg->table_size);
	else if (!strcmp(opt, "--pin-dir"))
		return set_pin_dir(cfg->pin_dir, v);
	else if (!strcmp(opt, "--admin"))
		return v && (!strcmp(v, "off") ? (cfg->admin.sin_port = 0, 0)
			     : switch_parse_addr(v, 9900, &cfg->admin))
			       ? bad_arg("bad --admin address", v)
			       : 0;
	else if (!strcmp(opt, "--mode"))
		return v && (!strcmp(v, "switch") || !strcmp(v, "host"))
			       ? (cfg->mode = !strcmp(v, "host")
						      ? AGENT_MODE_HOST
						      : AGENT_MODE_SWITCH,
				  0)
			       : bad_arg("--mode takes switch or host, not", v);
	else if (!strcmp(opt, "--host-role"))
		return v && (!strcmp(v, "controller") || !strcmp(v, "backend"))
			       ? (host_role_given = true,
				  cfg->host_backend = !strcmp(v, "backend"), 0)
			       : bad_arg("--host-role takes controller or "
					 "backend, not",
					 v);
	else if (!strcmp(opt, "--fast-path"))
		return v && (!strcmp(v, "on") || !strcmp(v, "off"))
			       ? (cfg->fast_path = !strcmp(v, "on"), 0)
			       : bad_arg("--fast-path takes on or off, not", v);
	else if (!strcmp(opt, "--listen"))
		return v && !switch_parse_addr(v, CTL_DEFAULT_PORT,
					       &cfg->listen)
			       ? 0
			       : bad_arg("bad --listen address", v);
	else
		return bad_arg("unknown option", opt);
	return v ? 0 : bad_arg("missing value after", opt);
}

/* --config FILE: its [switch] section and the lines before any section,
 * as if they were flags at that point (lib/config.h).  file keeps the
 * strings alive. */
static int run_config(const char *path, struct config *file,
		      struct agent_config *cfg)
{
	char err[300], **argv = NULL;
	int argc = 0, r;

	if (!path || file->n)
		return bad_arg("--config needs one FILE, once, not", path);
	r = config_load(path, file, err, sizeof(err));
	if (r) {
		fprintf(stderr, "prism switch run: config %s\n", err);
		return r;
	}
	r = config_args(file, "switch", &argc, &argv);
	for (int i = 0; !r && i < argc; i++)
		r = parse_run_opt(argc, argv, &i, cfg);
	free(argv);
	return r;
}

int agent_config_parse(int argc, char **argv, struct agent_config *cfg,
		       struct config *file)
{
	int err;

	for (int i = 1; i < argc; i++) {
		err = !strcmp(argv[i], "--config")
			      ? run_config(i + 1 < argc ? argv[++i] : NULL,
					   file, cfg)
			      : parse_run_opt(argc, argv, &i, cfg);
		if (err)
			return err;
	}
	if (!cfg->n_ifaces || !cfg->key_path || !cfg->n_peers) {
		fprintf(stderr, "prism switch run: --iface, --key and --peer "
				"are required (try --help)\n");
		return -EINVAL;
	}
	/* A backend's host taken for the controller's would lose the drop
	 * that keeps client segments off a socket not yet (or no longer)
	 * there. */
	if ((cfg->mode == AGENT_MODE_HOST) != host_role_given) {
		fprintf(stderr, "prism switch run: --mode host and --host-role "
				"controller|backend go together\n");
		return -EINVAL;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct config file = { 0 };
	struct agent_config cfg;
	int err;

	agent_config_init(&cfg);
	if (agent_config_parse(argc, argv, &cfg, &file)) {
		config_free(&file);
		return 2;
	}
	log_init("prism-switch", log_get_level());
	err = agent_run(&cfg);
	config_free(&file);
	return err ? 1 : 0;
}

/* stats and flows: [--pin-dir DIR] [--json] */
static int cmd_read(int argc, char **argv, bool flows)
{
	char dir[PATH_MAX];
	bool json = false;
	int err;

	agent_default_pin_dir(dir, sizeof(dir));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--pin-dir")) {
			if (set_pin_dir(dir, value_of(argc, argv, &i)))
				return 2;
		} else {
			bad_arg("unknown option", argv[i]);
			return 2;
		}
	}
	err = flows ? switch_flows_print(dir, json)
		    : switch_stats_print(dir, json);
	return err ? 1 : 0;
}

struct ctl_args {
	const char *agent, *key_path;
	uint32_t peer_id;
	int timeout_ms;
	const char *pos[4];
	int n_pos;
};

static int parse_ctl_args(int argc, char **argv, struct ctl_args *c)
{
	const char *opt, *v;

	for (int i = 1; i < argc; i++) {
		opt = argv[i];
		if (opt[0] != '-') {
			if (c->n_pos == 4)
				return bad_arg("extra argument", opt);
			c->pos[c->n_pos++] = opt;
			continue;
		}
		v = value_of(argc, argv, &i);
		if (!v)
			return bad_arg("missing value after", opt);
		if (!strcmp(opt, "--agent"))
			c->agent = v;
		else if (!strcmp(opt, "--key"))
			c->key_path = v;
		else if (!strcmp(opt, "--peer-id"))
			c->peer_id = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(opt, "--timeout"))
			c->timeout_ms = atoi(v);
		else
			return bad_arg("unknown option", opt);
	}
	if (!c->agent || !c->key_path || c->n_pos < 3)
		return bad_arg("need --agent, --key, an op and two addresses; "
			       "got",
			       c->n_pos ? c->pos[0] : NULL);
	return c->timeout_ms > 0 ? 0 : bad_arg("bad --timeout", "");
}

/* Op names and whether ARG is needed (1), optional (2) or not taken (0). */
static const struct {
	const char *name;
	uint8_t op;
	int arg;
} ctl_ops[] = {
	{ "lock", PRISM_OP_LOCK, 2 },	    { "lock-tail", PRISM_OP_LOCK_TAIL, 1 },
	{ "own", PRISM_OP_OWN, 1 },	    { "own-open", PRISM_OP_OWN_OPEN, 1 },
	{ "delete", PRISM_OP_DELETE, 0 },
};

static int build_arg(const struct ctl_args *c, struct switch_op *op)
{
	struct in_addr backend;
	char *end;

	if (op->op == PRISM_OP_LOCK_TAIL) {
		errno = 0;
		op->tail_seq = (uint32_t)strtoul(c->pos[3], &end, 0);
		if (errno || *end || end == c->pos[3])
			return bad_arg("bad SND_NXT", c->pos[3]);
		return 0;
	}
	if (inet_pton(AF_INET, c->pos[3], &backend) != 1)
		return bad_arg("bad BACKEND_IP", c->pos[3]);
	op->backend_ip = backend.s_addr;
	return 0;
}

static int build_op(const struct ctl_args *c, struct switch_op *op)
{
	struct sockaddr_in client, vip;
	const char *name = c->pos[0];
	int arg = -1;

	memset(op, 0, sizeof(*op));
	for (size_t i = 0; i < sizeof(ctl_ops) / sizeof(ctl_ops[0]); i++)
		if (!strcmp(name, ctl_ops[i].name)) {
			op->op = ctl_ops[i].op;
			arg = ctl_ops[i].arg;
		}
	if (arg < 0)
		return bad_arg("unknown op (lock|lock-tail|own|own-open|delete)",
			       name);
	if (switch_parse_addr(c->pos[1], 0, &client))
		return bad_arg("bad CLIENT_IP:PORT", c->pos[1]);
	if (switch_parse_addr(c->pos[2], 0, &vip))
		return bad_arg("bad VIP:PORT", c->pos[2]);
	if ((arg == 1 && c->n_pos != 4) || (arg == 0 && c->n_pos == 4))
		return bad_arg(arg ? "this op needs its argument; op"
				   : "this op takes no argument; op",
			       name);
	if (c->n_pos == 4 && build_arg(c, op))
		return 1;
	op->key.client_ip = client.sin_addr.s_addr;
	op->key.client_port = client.sin_port;
	op->key.vip = vip.sin_addr.s_addr;
	op->key.vip_port = vip.sin_port;
	return 0;
}

static int cmd_ctl(int argc, char **argv)
{
	struct ctl_args args = { .timeout_ms = CTL_TIMEOUT_MS };
	struct switch_client c;
	struct switch_op op;
	struct auth_key key;
	int status = 0, err;

	if (parse_ctl_args(argc, argv, &args) || build_op(&args, &op))
		return 2;
	if (auth_key_load(args.key_path, &key))
		return 1;
	err = switch_client_open(&c, args.agent, &key, args.peer_id);
	auth_key_clear(&key);
	if (err < 0) {
		fprintf(stderr, "prism switch ctl: agent %s: %s\n", args.agent,
			strerror(-err));
		return 1;
	}
	err = switch_client_call(&c, &op, 1, &status, args.timeout_ms);
	switch_client_close(&c);
	if (err) {
		fprintf(stderr, "prism switch ctl: agent %s: %s%s\n",
			args.agent, strerror(-err),
			err == -ETIMEDOUT ? " (no answer)" : "");
		return 1;
	}
	if (status) {
		printf("%s: %s\n", strerrorname_np(-status), strerror(-status));
		return 1;
	}
	printf("ok\n");
	return 0;
}

int cmd_switch(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "--help";

	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") ||
	    !strcmp(sub, "help")) {
		usage(stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	if (!strcmp(sub, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(sub, "stats"))
		return cmd_read(argc - 1, argv + 1, false);
	if (!strcmp(sub, "flows"))
		return cmd_read(argc - 1, argv + 1, true);
	if (!strcmp(sub, "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	fprintf(stderr, "prism switch: unknown command '%s' (try --help)\n",
		sub);
	return 2;
}
