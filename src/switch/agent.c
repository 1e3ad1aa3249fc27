#include "switch/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/auth.h"
#include "lib/daemon.h"
#include "lib/evloop.h"
#include "lib/log.h"
#include "switch.skel.h"
#include "switch/admin.h"
#include "switch/ctl.h"
#include "switch/fast.h"
#include "switch/table.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define RECV_BURST 64 /* datagrams per wakeup, so signals get a turn */

/* The answers to one peer's recent requests, one per window slot. */
struct cached_resp {
	bool valid;
	uint16_t len;
	uint64_t seq;
	uint8_t buf[CTL_RESP_MAX_LEN];
};

struct peer_state {
	uint32_t addr; /* network order */
	uint32_t peer_id;
	struct prism_replay win;
	struct cached_resp cache[CTL_WINDOW];
};

enum pin_slot { PIN_SLOT_FLOWS, PIN_SLOT_REV, PIN_SLOT_STATS, PIN_SLOT_AGENT,
		PIN_SLOT_MAX };

static const char *const pin_names[PIN_SLOT_MAX] = {
	PIN_FLOWS, PIN_REV_FLOWS, PIN_STATS, PIN_AGENT_STATS,
};

struct agent {
	const struct agent_config *cfg;
	struct auth_key key;
	struct switch_bpf *skel;
	struct flow_table table;
	int stats_fd;
	uint64_t *stats; /* agent_stats, mapped */
	size_t stats_len;
	int sock;
	int sig_fd;
	sigset_t old_mask;
	bool mask_set;
	struct evloop *loop;
	int ifindex[AGENT_MAX_IFACES];
	bool hook_created[AGENT_MAX_IFACES];
	unsigned attached[AGENT_MAX_IFACES]; /* BPF_TC_INGRESS | _EGRESS */
	bool pinned[PIN_SLOT_MAX];
	bool made_pin_dir;
	bool ready_written;
	struct peer_state *peers[AGENT_MAX_PEER_IDS];
	int n_peers;
};

void agent_default_pin_dir(char *buf, size_t size)
{
	const char *name = getenv("PRISM_TESTBED");

	snprintf(buf, size, BPFFS_ROOT "/%s", name && *name ? name : "prism");
}

void agent_config_init(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen.sin_family = AF_INET;
	cfg->listen.sin_port = htons(CTL_DEFAULT_PORT);
	cfg->table_size = PRISM_FLOW_TABLE_DEFAULT;
	cfg->fast_path = true;
	agent_default_pin_dir(cfg->pin_dir, sizeof(cfg->pin_dir));
	daemon_admin_default(&cfg->admin);
}

static void stat_inc(struct agent *a, enum agent_stat s)
{
	a->stats[s]++;
}

/* ---- setup and teardown, in the order agent_run calls them ---- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char buf[512];
	size_t n;

	if (level != LIBBPF_WARN && log_get_level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_msg(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, "libbpf: %s",
		buf);
	return 0;
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* bpffs is not mounted on a fresh machine; the pin dir needs it. */
static int prepare_pin_dir(struct agent *a)
{
	const char *dir = a->cfg->pin_dir;

	if (!strncmp(dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1) &&
	    !on_bpffs(BPFFS_ROOT)) {
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			log_err("mount bpffs on %s: %s", BPFFS_ROOT,
				strerror(errno));
			return -errno;
		}
		log_info("mounted bpffs on %s", BPFFS_ROOT);
	}
	if (mkdir(dir, 0700) == 0)
		a->made_pin_dir = true;
	else if (errno != EEXIST) {
		log_err("pin dir %s: mkdir: %s", dir, strerror(errno));
		return -errno;
	}
	if (!on_bpffs(dir)) {
		log_err("pin dir %s: not on a bpf filesystem", dir);
		return -ENOTSUP;
	}
	return 0;
}

static bool agent_alive(uint32_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid == 0 || pid == (uint32_t)getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "prism", 5);
}

/* A running agent owns the pin dir: refuse.  Pins left by a dead one are
 * removed, so that a restarted agent starts with an empty table. */
static int clear_stale_pins(struct agent *a)
{
	const char *dir = a->cfg->pin_dir;
	char path[PATH_MAX + 32];
	uint32_t key = AGENT_STAT_PID;
	uint64_t pid = 0;
	int fd, removed = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, PIN_AGENT_STATS);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_map_lookup_elem(fd, &key, &pid))
			pid = 0;
		close(fd);
	}
	if (agent_alive((uint32_t)pid)) {
		log_err("pin dir %s: in use by the agent with pid %llu; stop "
			"it first",
			dir, (unsigned long long)pid);
		return -EBUSY;
	}
	for (int i = 0; i < PIN_SLOT_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
		if (unlink(path) == 0)
			removed++;
		else if (errno != ENOENT) {
			log_err("stale pin %s: unlink: %s", path,
				strerror(errno));
			return -errno;
		}
	}
	if (removed)
		log_warn("pin dir %s: removed %d pins of a stopped agent", dir,
			 removed);
	return 0;
}

/* The fast path answers on our port with a key derived from ours. */
static void fast_path_config(struct agent *a)
{
	struct prism_sip_key k;

	fast_key_derive(&a->key, &k);
	a->skel->bss->fast_port = a->cfg->listen.sin_port;
	a->skel->bss->fast_k0 = k.k0;
	a->skel->bss->fast_k1 = k.k1;
	memset(&k, 0, sizeof(k));
}

/* The data plane's copy of --peer, as an LPM trie. */
static int fast_path_allow(struct agent *a)
{
	int fd = bpf_map__fd(a->skel->maps.fast_allow);
	uint8_t one = 1;

	for (int i = 0; i < a->cfg->n_peers; i++) {
		struct prism_fast_allow_key k = {
			.prefixlen = (uint32_t)__builtin_popcount(
				a->cfg->peers[i].mask),
			.addr = a->cfg->peers[i].net,
		};

		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY)) {
			log_err("fast path: peer %d: %s", i, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int load_program(struct agent *a)
{
	uint32_t n = a->cfg->table_size;
	int err;

	a->skel = switch_bpf__open();
	if (!a->skel) {
		err = -errno;
		log_err("switch program: open: %s", strerror(-err));
		return err;
	}
	err = bpf_map__set_max_entries(a->skel->maps.flows, n);
	if (!err)
		err = bpf_map__set_max_entries(a->skel->maps.rev_flows,
					       n + TABLE_REV_SPARE);
	if (!err && a->cfg->fast_path)
		fast_path_config(a);
	a->skel->bss->prism_host_backend = a->cfg->host_backend;
	if (!err)
		err = switch_bpf__load(a->skel);
	if (err) {
		log_err("switch program: load with a table of %u flows: %s", n,
			strerror(-err));
		return err;
	}
	if (a->cfg->fast_path)
		err = fast_path_allow(a);
	if (err)
		return err;
	a->table.flows_fd = bpf_map__fd(a->skel->maps.flows);
	a->table.rev_fd = bpf_map__fd(a->skel->maps.rev_flows);
	return 0;
}

/* While probing: libbpf's first warning (which program failed, and why)
 * and the verifier's last line, its verdict. */
static char probe_why[512];

static int probe_print(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	char msg[8192], *end, *last;
	size_t n = strlen(probe_why);

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	end = strstr(msg, "-- END PROG LOAD LOG --");
	if (end) {
		while (end > msg && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		*end = '\0';
		last = strrchr(msg, '\n');
		snprintf(probe_why + n, sizeof(probe_why) - n, "; verifier: %.200s",
			 last ? last + 1 : msg);
		return 0;
	}
	if (n)
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(probe_why, sizeof(probe_why), "%.300s", msg);
	return 0;
}

int agent_probe_load(const struct agent_config *cfg, char *why, size_t len)
{
	struct agent a = { .cfg = cfg };
	libbpf_print_fn_t old = libbpf_set_print(probe_print);
	int err;

	probe_why[0] = '\0';
	err = load_program(&a);
	switch_bpf__destroy(a.skel);
	libbpf_set_print(old);
	snprintf(why, len, "%s", probe_why);
	return err;
}

/* Our counters in a BPF array that we map: increments are plain stores,
 * and any process can read the pinned map. */
static int create_agent_stats(struct agent *a)
{
	struct bpf_map_create_opts opts = { .sz = sizeof(opts),
					    .map_flags = BPF_F_MMAPABLE };
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	a->stats_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, PIN_AGENT_STATS,
				     sizeof(uint32_t), sizeof(uint64_t),
				     AGENT_STAT_MAX, &opts);
	if (a->stats_fd < 0) {
		log_err("agent_stats: create map: %s", strerror(errno));
		return -errno;
	}
	a->stats_len = (AGENT_STAT_MAX * sizeof(uint64_t) + page - 1) /
		       page * page;
	p = mmap(NULL, a->stats_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 a->stats_fd, 0);
	if (p == MAP_FAILED) {
		log_err("agent_stats: mmap: %s", strerror(errno));
		return -errno;
	}
	a->stats = p;
	a->stats[AGENT_STAT_PID] = (uint64_t)getpid();
	a->stats[AGENT_STAT_START] = (uint64_t)time(NULL);
	return 0;
}

static int open_socket(struct agent *a)
{
	const struct sockaddr_in *sa = &a->cfg->listen;
	char ip[INET_ADDRSTRLEN];

	a->sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (a->sock < 0) {
		log_err("control socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(a->sock, (const struct sockaddr *)sa, sizeof(*sa))) {
		inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
		log_err("listen %s:%u: bind: %s", ip, ntohs(sa->sin_port),
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* The programs of the mode: the switch at ingress; host mode's two at
 * ingress and egress (docs/switch.md, host mode). */
static int attach_point(struct agent *a, int i, enum bpf_tc_attach_point at,
			const struct bpf_program *prog)
{
	struct bpf_tc_hook hook = { .sz = sizeof(hook),
				    .ifindex = a->ifindex[i],
				    .attach_point = at };
	struct bpf_tc_opts opts = {
		.sz = sizeof(opts),
		.handle = AGENT_TC_HANDLE,
		.priority = AGENT_TC_PRIORITY,
		.prog_fd = bpf_program__fd(prog),
		.flags = BPF_TC_F_REPLACE,
	};
	/* REPLACE: a filter left by an agent that crashed is taken over. */
	int err = bpf_tc_attach(&hook, &opts);

	if (err) {
		log_err("interface %s: attach at tc %s: %s", a->cfg->ifaces[i],
			at == BPF_TC_INGRESS ? "ingress" : "egress",
			strerror(-err));
		return err;
	}
	a->attached[i] |= at;
	return 0;
}

static int attach_iface(struct agent *a, int i)
{
	const char *name = a->cfg->ifaces[i];
	int idx = (int)if_nametoindex(name), err;
	struct bpf_tc_hook hook = { .sz = sizeof(hook), .ifindex = idx,
				    .attach_point = BPF_TC_INGRESS };
	bool host = a->cfg->mode == AGENT_MODE_HOST;

	if (!idx) {
		log_err("interface %s: %s", name, strerror(errno));
		return -errno;
	}
	a->ifindex[i] = idx;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		log_err("interface %s: create clsact qdisc: %s", name,
			strerror(-err));
		return err;
	}
	a->hook_created[i] = err == 0;
	err = attach_point(a, i, BPF_TC_INGRESS,
			   host ? a->skel->progs.prism_host_in
				: a->skel->progs.prism_switch);
	if (!err && host)
		err = attach_point(a, i, BPF_TC_EGRESS,
				   a->skel->progs.prism_host_out);
	return err;
}

static void detach_iface(struct agent *a, int i)
{
	static const enum bpf_tc_attach_point points[] = { BPF_TC_INGRESS,
							   BPF_TC_EGRESS };
	const char *name = a->cfg->ifaces[i];
	struct bpf_tc_hook hook = { .sz = sizeof(hook),
				    .ifindex = a->ifindex[i] };
	struct bpf_tc_opts opts = { .sz = sizeof(opts),
				    .handle = AGENT_TC_HANDLE,
				    .priority = AGENT_TC_PRIORITY };
	int err;

	for (int p = 0; p < 2; p++) {
		if (!(a->attached[i] & points[p]))
			continue;
		hook.attach_point = points[p];
		err = bpf_tc_detach(&hook, &opts);
		if (err)
			log_warn("interface %s: detach: %s", name,
				 strerror(-err));
	}
	a->attached[i] = 0;
	/* Only a qdisc we created goes away with us. */
	if (a->hook_created[i]) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		err = bpf_tc_hook_destroy(&hook);
		if (err)
			log_warn("interface %s: remove clsact qdisc: %s", name,
				 strerror(-err));
		a->hook_created[i] = false;
	}
}

static int pin_maps(struct agent *a)
{
	int fds[PIN_SLOT_MAX] = {
		a->table.flows_fd,
		a->table.rev_fd,
		bpf_map__fd(a->skel->maps.stats),
		a->stats_fd,
	};
	char path[PATH_MAX + 32];

	for (int i = 0; i < PIN_SLOT_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", a->cfg->pin_dir,
			 pin_names[i]);
		if (bpf_obj_pin(fds[i], path)) {
			log_err("pin %s: %s", path, strerror(errno));
			return -errno;
		}
		a->pinned[i] = true;
	}
	return 0;
}

static void unpin_maps(struct agent *a)
{
	char path[PATH_MAX + 32];

	for (int i = 0; i < PIN_SLOT_MAX; i++) {
		if (!a->pinned[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->cfg->pin_dir,
			 pin_names[i]);
		if (unlink(path))
			log_warn("unpin %s: %s", path, strerror(errno));
		a->pinned[i] = false;
	}
	if (a->made_pin_dir && rmdir(a->cfg->pin_dir) && errno != ENOTEMPTY)
		log_warn("pin dir %s: rmdir: %s", a->cfg->pin_dir,
			 strerror(errno));
}

/* Written once serving; renamed into place so readers never see half. */
static int write_ready_file(struct agent *a)
{
	int err = daemon_ready_file(a->cfg->ready_file);

	a->ready_written = !err && a->cfg->ready_file;
	return err;
}

static int block_signals(struct agent *a)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &a->old_mask))
		return -errno;
	a->mask_set = true;
	a->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sig_fd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void agent_close(struct agent *a)
{
	for (int i = 0; i < a->cfg->n_ifaces; i++)
		detach_iface(a, i);
	unpin_maps(a);
	if (a->ready_written && unlink(a->cfg->ready_file))
		log_warn("ready file %s: unlink: %s", a->cfg->ready_file,
			 strerror(errno));
	if (a->loop)
		evloop_free(a->loop);
	if (a->sock >= 0)
		close(a->sock);
	if (a->sig_fd >= 0)
		close(a->sig_fd);
	if (a->mask_set)
		sigprocmask(SIG_SETMASK, &a->old_mask, NULL);
	if (a->stats) {
		a->stats[AGENT_STAT_PID] = 0;
		munmap(a->stats, a->stats_len);
	}
	if (a->stats_fd >= 0)
		close(a->stats_fd);
	switch_bpf__destroy(a->skel);
	for (int i = 0; i < a->n_peers; i++)
		free(a->peers[i]);
	auth_key_clear(&a->key);
}

/* ---- the control protocol ---- */

static bool peer_allowed(const struct agent_config *cfg, uint32_t addr)
{
	for (int i = 0; i < cfg->n_peers; i++)
		if ((addr & cfg->peers[i].mask) == cfg->peers[i].net)
			return true;
	return false;
}

static struct peer_state *peer_state(struct agent *a, uint32_t addr,
				     uint32_t peer_id)
{
	struct peer_state *ps;

	for (int i = 0; i < a->n_peers; i++)
		if (a->peers[i]->addr == addr &&
		    a->peers[i]->peer_id == peer_id)
			return a->peers[i];
	/* Never evicted: a forgotten window would let old requests replay. */
	if (a->n_peers == AGENT_MAX_PEER_IDS)
		return NULL;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->addr = addr;
	ps->peer_id = peer_id;
	a->peers[a->n_peers++] = ps;
	return ps;
}

static const char *addr_str(const struct sockaddr_in *sa, char *buf,
			    size_t size)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(buf, size, "%s:%u", ip, ntohs(sa->sin_port));
	return buf;
}

/* Counts a dropped datagram; logs the 1st, 2nd, 4th, 8th... of a kind. */
static void reject(struct agent *a, enum agent_stat s,
		   const struct sockaddr_in *src, const char *why)
{
	uint64_t n = ++a->stats[s];
	char buf[32];

	if ((n & (n - 1)) == 0)
		log_warn("control datagram from %s dropped: %s (%llu so far)",
			 addr_str(src, buf, sizeof(buf)), why,
			 (unsigned long long)n);
}

static enum agent_stat decode_stat(enum ctl_error why)
{
	switch (why) {
	case CTL_ERR_TRUNCATED:
		return AGENT_STAT_TRUNCATED;
	case CTL_ERR_MAGIC:
		return AGENT_STAT_BAD_MAGIC;
	case CTL_ERR_VERSION:
		return AGENT_STAT_BAD_VERSION;
	case CTL_ERR_TYPE:
		return AGENT_STAT_BAD_TYPE;
	case CTL_ERR_COUNT:
		return AGENT_STAT_BAD_COUNT;
	case CTL_ERR_LENGTH:
		return AGENT_STAT_BAD_LENGTH;
	case CTL_ERR_AUTH:
		return AGENT_STAT_BAD_AUTH;
	default:
		return AGENT_STAT_BAD_OP;
	}
}

static void send_to(struct agent *a, const uint8_t *buf, size_t len,
		    const struct sockaddr_in *dst)
{
	char b[32];

	if (sendto(a->sock, buf, len, 0, (const struct sockaddr *)dst,
		   sizeof(*dst)) == (ssize_t)len) {
		stat_inc(a, AGENT_STAT_RESPONSES);
		return;
	}
	stat_inc(a, AGENT_STAT_SEND_ERRORS);
	log_debug("response to %s: sendto: %s",
		  addr_str(dst, b, sizeof(b)), strerror(errno));
}

static void log_op(const struct ctl_msg *req, unsigned i, int status)
{
	const struct switch_op *op = &req->ops[i];
	char c[INET_ADDRSTRLEN], v[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &op->key.client_ip, c, sizeof(c));
	inet_ntop(AF_INET, &op->key.vip, v, sizeof(v));
	inet_ntop(AF_INET, &op->backend_ip, b, sizeof(b));
	log_debug("peer %u seq %llu: %s %s:%u %s:%u %s: %s", req->peer_id,
		  (unsigned long long)req->seq, switch_op_name(op->op), c,
		  ntohs(op->key.client_port), v, ntohs(op->key.vip_port),
		  op->backend_ip ? b : "-",
		  status ? strerror(-status) : "ok");
}

static void count_status(struct agent *a, int status)
{
	stat_inc(a, AGENT_STAT_OPS);
	if (!status)
		return;
	stat_inc(a, AGENT_STAT_OP_ERRORS);
	if (status == -ENOSPC)
		stat_inc(a, AGENT_STAT_TABLE_FULL);
	else if (status == -EINVAL || status == -EADDRINUSE)
		stat_inc(a, AGENT_STAT_BAD_STATE);
}

static void execute(struct agent *a, struct peer_state *ps,
		    const struct ctl_msg *req, const struct sockaddr_in *src)
{
	struct cached_resp *c = &ps->cache[req->seq % CTL_WINDOW];
	struct ctl_msg resp = { .type = CTL_RESPONSE, .count = req->count,
				.peer_id = req->peer_id, .seq = req->seq };
	size_t len;

	for (unsigned i = 0; i < req->count; i++) {
		int st = table_apply(&a->table, &req->ops[i], ps->addr);

		/* The wire carries errno values below 4096. */
		resp.status[i] = st > -4096 ? st : -EIO;
		count_status(a, resp.status[i]);
		log_op(req, i, resp.status[i]);
	}
	stat_inc(a, AGENT_STAT_EXECUTED);
	prism_replay_mark(&ps->win, req->seq);
	c->valid = false;
	if (ctl_encode(&resp, &a->key, c->buf, sizeof(c->buf), &len)) {
		log_err("peer %u seq %llu: cannot encode the response",
			req->peer_id, (unsigned long long)req->seq);
		return;
	}
	c->valid = true;
	c->seq = req->seq;
	c->len = (uint16_t)len;
	send_to(a, c->buf, len, src);
}

/* A retransmission: the same answer again, nothing re-executed. */
static void answer_cached(struct agent *a, struct peer_state *ps,
			  uint64_t seq, const struct sockaddr_in *src)
{
	struct cached_resp *c = &ps->cache[seq % CTL_WINDOW];

	if (!c->valid || c->seq != seq) {
		reject(a, AGENT_STAT_REPLAYS, src, "duplicate, no answer kept");
		return;
	}
	stat_inc(a, AGENT_STAT_RETRANSMITS);
	send_to(a, c->buf, c->len, src);
}

static void handle_datagram(struct agent *a, const uint8_t *buf, size_t len,
			    const struct sockaddr_in *src)
{
	struct peer_state *ps;
	enum ctl_error why;
	struct ctl_msg req;

	stat_inc(a, AGENT_STAT_DATAGRAMS);
	if (!peer_allowed(a->cfg, src->sin_addr.s_addr)) {
		reject(a, AGENT_STAT_UNKNOWN_PEER, src, "unknown peer");
		return;
	}
	if (ctl_decode(buf, len, &a->key, CTL_REQUEST, &req, &why)) {
		reject(a, decode_stat(why), src, ctl_error_name(why));
		return;
	}
	ps = peer_state(a, src->sin_addr.s_addr, req.peer_id);
	if (!ps) {
		reject(a, AGENT_STAT_PEERS_FULL, src, "too many peer ids");
		return;
	}
	switch (prism_replay_check(&ps->win, req.seq)) {
	case PRISM_REPLAY_OLD:
		reject(a, AGENT_STAT_REPLAYS, src, "replay (old sequence)");
		return;
	case PRISM_REPLAY_DUP:
		answer_cached(a, ps, req.seq, src);
		return;
	case PRISM_REPLAY_NEW:
		execute(a, ps, &req, src);
		return;
	}
}

static void on_datagram(struct evloop *loop, int fd, uint32_t events,
			void *arg)
{
	uint8_t buf[CTL_REQ_MAX_LEN + 1];
	struct sockaddr_in src;
	struct agent *a = arg;
	socklen_t slen;
	ssize_t n;

	(void)loop;
	(void)events;
	for (int i = 0; i < RECV_BURST; i++) {
		slen = sizeof(src);
		/* MSG_TRUNC: the real length, so oversize is seen as such. */
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
			     (struct sockaddr *)&src, &slen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				stat_inc(a, AGENT_STAT_RECV_ERRORS);
			return;
		}
		if (src.sin_family != AF_INET)
			continue;
		if ((size_t)n > sizeof(buf)) {
			stat_inc(a, AGENT_STAT_DATAGRAMS);
			reject(a, AGENT_STAT_BAD_LENGTH, &src, "oversize");
			continue;
		}
		handle_datagram(a, buf, (size_t)n, &src);
	}
}

static void on_signal(struct evloop *loop, int fd, uint32_t events,
		      void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("%s: shutting down", strsignal((int)si.ssi_signo));
	evloop_stop(loop);
}

static int serve(struct agent *a)
{
	char ip[INET_ADDRSTRLEN];
	struct admin *admin = NULL;
	int err;

	a->loop = evloop_new();
	if (!a->loop)
		return -ENOMEM;
	err = evloop_add(a->loop, a->sock, EVLOOP_READ, on_datagram, a);
	if (!err)
		err = evloop_add(a->loop, a->sig_fd, EVLOOP_READ, on_signal, a);
	if (!err)
		switch_admin_open(a->loop, a->cfg, &admin); /* optional */
	if (!err)
		err = write_ready_file(a);
	if (err) {
		admin_close(admin);
		return err;
	}
	inet_ntop(AF_INET, &a->cfg->listen.sin_addr, ip, sizeof(ip));
	log_info("ready: control on %s:%u, %d interface(s), table of %u "
		 "flows, pins in %s",
		 ip, ntohs(a->cfg->listen.sin_port), a->cfg->n_ifaces,
		 a->cfg->table_size, a->cfg->pin_dir);
	err = evloop_run(a->loop);
	if (err)
		log_err("event loop: %s", strerror(-err));
	admin_close(admin);
	return err;
}

int agent_run(const struct agent_config *cfg)
{
	struct agent a = { .cfg = cfg, .stats_fd = -1, .sock = -1,
			   .sig_fd = -1 };
	int err;

	libbpf_set_print(libbpf_print);
	/* Signals first: a SIGTERM during setup still ends in cleanup. */
	err = block_signals(&a);
	if (!err)
		err = auth_key_load(cfg->key_path, &a.key);
	if (!err)
		err = prepare_pin_dir(&a);
	if (!err)
		err = clear_stale_pins(&a);
	if (!err)
		err = load_program(&a);
	if (!err)
		err = create_agent_stats(&a);
	if (!err)
		err = open_socket(&a);
	for (int i = 0; !err && i < cfg->n_ifaces; i++)
		err = attach_iface(&a, i);
	if (!err)
		err = pin_maps(&a);
	if (!err)
		err = serve(&a);
	agent_close(&a);
	return err;
}
