#include "switch/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "prism_flow.h"
#include "switch/table.h"

static const char *const dp_names[PRISM_STAT_MAX] = PRISM_STAT_NAMES;
static const char *const agent_names[AGENT_STAT_MAX] = AGENT_STAT_NAMES;

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fd = -errno;
		log_err("%s: %s%s", path, strerror(errno),
			fd == -ENOENT ? " (is `prism switch run` running "
					"with this --pin-dir?)" : "");
	}
	return fd;
}

static int read_percpu(int fd, struct switch_stats *st)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < PRISM_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			st->dp[k] += v[c];
	}
	free(v);
	return err;
}

static int read_array(int fd, uint64_t *out, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		if (bpf_map_lookup_elem(fd, &k, &out[k]))
			return -errno;
	return 0;
}

/* Entries (by walking the keys) and capacity of a hash map. */
static int count_entries(int fd, size_t key_size, uint32_t *n,
			 uint32_t *cap)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	uint8_t key[64], next[64];
	void *prev = NULL;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*cap = info.max_entries;
	*n = 0;
	if (key_size > sizeof(key))
		return -EINVAL;
	/* Bounded: under churn a deleted cursor restarts the walk. */
	while (*n < 2 * *cap + 16 &&
	       bpf_map_get_next_key(fd, prev, next) == 0) {
		(*n)++;
		memcpy(key, next, key_size);
		prev = key;
	}
	return *n >= 2 * *cap + 16 || errno == ENOENT ? 0 : -errno;
}

int switch_stats_read(const char *pin_dir, struct switch_stats *st)
{
	int fds[4] = { -1, -1, -1, -1 }, err;

	memset(st, 0, sizeof(*st));
	fds[0] = open_pin(pin_dir, PIN_STATS);
	fds[1] = open_pin(pin_dir, PIN_FLOWS);
	fds[2] = open_pin(pin_dir, PIN_REV_FLOWS);
	err = fds[0] < 0 ? fds[0] : fds[1] < 0 ? fds[1] : fds[2];
	if (err < 0)
		goto out;
	err = read_percpu(fds[0], st);
	if (!err)
		err = count_entries(fds[1], sizeof(struct prism_flow_key),
				    &st->flows, &st->flows_capacity);
	if (!err)
		err = count_entries(fds[2], sizeof(struct prism_rev_key),
				    &st->rev_flows, &st->rev_capacity);
	if (err) {
		log_err("switch maps in %s: read: %s", pin_dir, strerror(-err));
		goto out;
	}
	fds[3] = open_pin(pin_dir, PIN_AGENT_STATS);
	st->have_agent = fds[3] >= 0 &&
			 read_array(fds[3], st->agent, AGENT_STAT_MAX) == 0;
out:
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err < 0 ? err : 0;
}

static uint64_t rejected(const struct switch_stats *st)
{
	uint64_t n = st->agent[AGENT_STAT_REPLAYS] +
		     st->agent[AGENT_STAT_UNKNOWN_PEER] +
		     st->agent[AGENT_STAT_PEERS_FULL];

	for (int i = AGENT_STAT_TRUNCATED; i <= AGENT_STAT_BAD_OP; i++)
		n += st->agent[i];
	return n;
}

static void print_json(const struct switch_stats *st)
{
	printf("{\"data_plane\": {");
	for (int i = 0; i < PRISM_STAT_MAX; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", dp_names[i],
		       (unsigned long long)st->dp[i]);
	printf("}, \"agent\": {");
	for (int i = 0; st->have_agent && i < AGENT_STAT_MAX; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", agent_names[i],
		       (unsigned long long)st->agent[i]);
	if (st->have_agent)
		printf(", \"rejected\": %llu",
		       (unsigned long long)rejected(st));
	printf("}, \"flows\": {\"entries\": %u, \"capacity\": %u}, "
	       "\"rev_flows\": {\"entries\": %u, \"capacity\": %u}}\n",
	       st->flows, st->flows_capacity, st->rev_flows, st->rev_capacity);
}

static void print_text(const struct switch_stats *st)
{
	printf("data plane (summed over CPUs):\n");
	for (int i = 0; i < PRISM_STAT_MAX; i++)
		printf("  %-16s %llu\n", dp_names[i],
		       (unsigned long long)st->dp[i]);
	if (st->have_agent) {
		printf("agent (pid %llu%s):\n",
		       (unsigned long long)st->agent[AGENT_STAT_PID],
		       st->agent[AGENT_STAT_PID] ? "" : ", stopped");
		for (int i = AGENT_STAT_DATAGRAMS; i < AGENT_STAT_MAX; i++)
			printf("  %-16s %llu\n", agent_names[i],
			       (unsigned long long)st->agent[i]);
		printf("  %-16s %llu\n", "rejected",
		       (unsigned long long)rejected(st));
	}
	printf("flow table: %u / %u entries (rev_flows %u / %u)\n", st->flows,
	       st->flows_capacity, st->rev_flows, st->rev_capacity);
}

int switch_stats_print(const char *pin_dir, bool json)
{
	struct switch_stats st;
	int err;

	err = switch_stats_read(pin_dir, &st);
	if (err)
		return err;
	if (json)
		print_json(&st);
	else
		print_text(&st);
	return 0;
}

static const char *state_name(uint32_t state)
{
	return state == PRISM_FLOW_LOCKED  ? "locked"
	       : state == PRISM_FLOW_OWNED ? "owned"
	       : state == PRISM_FLOW_OWNED_OPEN ? "owned-open"
	       : state == PRISM_FLOW_HOME	? "home"
					   : "invalid";
}

/* "ok" when the reverse entry of the flow's backend points back to it. */
static const char *rev_status(int rev_fd, const struct prism_flow_key *k,
			      const struct prism_flow_value *v)
{
	struct prism_rev_key rk = prism_rev_key_of(k, v->backend_ip);
	struct prism_flow_key back;

	if (!v->backend_ip)
		return "-";
	if (bpf_map_lookup_elem(rev_fd, &rk, &back))
		return "missing";
	return memcmp(&back, k, sizeof(back)) ? "other" : "ok";
}

static void print_flow(const struct prism_flow_key *k,
		       const struct prism_flow_value *v, const char *rev,
		       bool json, bool first)
{
	char c[INET_ADDRSTRLEN], vip[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	char cs[32], vs[32];

	inet_ntop(AF_INET, &k->client_ip, c, sizeof(c));
	inet_ntop(AF_INET, &k->vip, vip, sizeof(vip));
	inet_ntop(AF_INET, &v->backend_ip, b, sizeof(b));
	snprintf(cs, sizeof(cs), "%s:%u", c, ntohs(k->client_port));
	snprintf(vs, sizeof(vs), "%s:%u", vip, ntohs(k->vip_port));
	if (json) {
		printf("%s\n  {\"client\": \"%s\", \"vip\": \"%s\", "
		       "\"state\": \"%s\", \"backend\": \"%s\", \"rev\": "
		       "\"%s\", \"to_backend_packets\": %llu, "
		       "\"to_backend_bytes\": %llu, \"to_client_packets\": "
		       "%llu, \"to_client_bytes\": %llu, \"locked_drops\": "
		       "%llu}",
		       first ? "" : ",", cs, vs, state_name(v->state),
		       v->backend_ip ? b : "", rev,
		       (unsigned long long)v->to_backend_packets,
		       (unsigned long long)v->to_backend_bytes,
		       (unsigned long long)v->to_client_packets,
		       (unsigned long long)v->to_client_bytes,
		       (unsigned long long)v->locked_drops);
		return;
	}
	printf("%-21s %-21s %-7s %-15s %-7s %10llu %12llu %10llu %12llu "
	       "%8llu\n",
	       cs, vs, state_name(v->state), v->backend_ip ? b : "-", rev,
	       (unsigned long long)v->to_backend_packets,
	       (unsigned long long)v->to_backend_bytes,
	       (unsigned long long)v->to_client_packets,
	       (unsigned long long)v->to_client_bytes,
	       (unsigned long long)v->locked_drops);
}

int switch_flows_print(const char *pin_dir, bool json)
{
	struct prism_flow_key key, next, *prev = NULL;
	struct prism_flow_value v;
	int flows_fd, rev_fd = -1, err = 0, n = 0;

	flows_fd = open_pin(pin_dir, PIN_FLOWS);
	if (flows_fd < 0)
		return flows_fd;
	rev_fd = open_pin(pin_dir, PIN_REV_FLOWS);
	if (rev_fd < 0) {
		err = rev_fd;
		goto out;
	}
	if (json)
		printf("{\"flows\": [");
	else
		printf("%-21s %-21s %-7s %-15s %-7s %10s %12s %10s %12s %8s\n",
		       "CLIENT", "VIP", "STATE", "BACKEND", "REV", "TO_B_PKTS",
		       "TO_B_BYTES", "TO_C_PKTS", "TO_C_BYTES", "LOCKDROP");
	while (bpf_map_get_next_key(flows_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		/* Deleted between the two calls: not an error. */
		if (bpf_map_lookup_elem(flows_fd, &key, &v))
			continue;
		print_flow(&key, &v, rev_status(rev_fd, &key, &v), json,
			   n == 0);
		n++;
	}
	if (errno != ENOENT) {
		err = -errno;
		log_err("%s/%s: walk: %s", pin_dir, PIN_FLOWS, strerror(errno));
	}
	if (json)
		printf("%s], \"entries\": %d}\n", n ? "\n" : "", n);
out:
	close(flows_fd);
	if (rev_fd >= 0)
		close(rev_fd);
	return err;
}
