/* The testbed's names, addresses and state file: everything other commands
 * need to find a host, without touching the network. */
#include "lab/testbed.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool testbed_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > TESTBED_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return false;
	return true;
}

int testbed_resolve_name(const char *flag, char *buf, size_t len)
{
	const char *name = flag;

	if (!name)
		name = getenv("PRISM_TESTBED");
	if (!name || !*name)
		name = TESTBED_DEFAULT_NAME;
	if (!testbed_name_valid(name)) {
		fprintf(stderr,
			"prism testbed: bad name '%s': 1..%d characters of "
			"A-Z a-z 0-9 _ -, starting with a letter or digit\n",
			name, TESTBED_NAME_MAX);
		return -EINVAL;
	}
	if (snprintf(buf, len, "%s", name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int testbed_state_path(const char *name, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s.testbed", TESTBED_STATE_DIR, name) >=
	    (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int testbed_netns_path(const char *name, const char *host, char *buf,
		       size_t len)
{
	if (snprintf(buf, len, "%s/%s-%s", TESTBED_NETNS_DIR, name, host) >=
	    (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int testbed_pin_dir(const char *name, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/%s", TESTBED_BPFFS, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* "b12" -> 12; -1 unless it is 'b' and a number without leading zeros. */
static int backend_index(const char *host)
{
	long i = 0;

	if (host[0] != 'b' || host[1] < '1' || host[1] > '9')
		return -1;
	for (const char *p = host + 1; *p; p++) {
		if (!isdigit((unsigned char)*p) || i > TESTBED_BACKENDS_MAX)
			return -1;
		i = i * 10 + (*p - '0');
	}
	return (int)i;
}

int testbed_host_ip(const struct testbed *tb, const char *host,
		    struct in_addr *ip)
{
	static const struct {
		const char *name;
		const char *ip;
	} fixed[] = {
		{ "client", "198.18.1.2" },    { "controller", "198.18.2.2" },
		{ "proxy", "198.18.3.2" },     { "fabric", "198.18.2.1" },
		{ "vip", TESTBED_VIP },
	};
	int i = backend_index(host);

	for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
		if (!strcmp(host, fixed[k].name))
			return inet_pton(AF_INET, fixed[k].ip, ip) == 1 ? 0 : -EINVAL;
	if (i < 1 || i > tb->backends)
		return -EINVAL;
	ip->s_addr = htonl(0xc6120002u | (uint32_t)(10 + i) << 8); /* 198.18.(10+i).2 */
	return 0;
}

int testbed_addr(const char *name, const char *host, char *buf, size_t len)
{
	struct testbed tb;
	struct in_addr ip;
	int err;

	err = testbed_load(name, &tb);
	if (err)
		return err;
	err = testbed_host_ip(&tb, host, &ip);
	if (err)
		return err;
	if (!inet_ntop(AF_INET, &ip, buf, (socklen_t)len))
		return -errno;
	return 0;
}

int testbed_enter(const char *name, const char *host)
{
	char path[256];
	int fd, err;

	err = testbed_netns_path(name, host, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "prism testbed: host %s of testbed %s: %s: %s\n",
			host, name, path, strerror(-err));
		return err;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		err = -errno;
		fprintf(stderr, "prism testbed: setns %s: %s\n", path,
			strerror(-err));
	}
	close(fd);
	return err;
}

/* Parses "N" in 1..max. */
static int parse_int(const char *s, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int state_line(struct testbed *tb, const char *key, const char *val)
{
	if (!strcmp(key, "name")) {
		if (!testbed_name_valid(val))
			return -EINVAL;
		snprintf(tb->name, sizeof(tb->name), "%s", val);
		return 0;
	}
	if (!strcmp(key, "backends"))
		return parse_int(val, TESTBED_BACKENDS_MAX, &tb->backends);
	if (!strcmp(key, "link_mbit"))
		return parse_int(val, TESTBED_MBIT_MAX, &tb->link_mbit);
	if (!strcmp(key, "client_mbit"))
		return parse_int(val, TESTBED_MBIT_MAX, &tb->client_mbit);
	if (!strcmp(key, "state"))
		tb->ready = !strcmp(val, "up");
	if (!strcmp(key, "fabric"))
		tb->router = !strcmp(val, "router");
	return 0; /* unknown keys: written by a newer prism, ignored */
}

int testbed_state_read(const char *path, struct testbed *tb)
{
	char line[256];
	int err = 0;
	FILE *f;

	memset(tb, 0, sizeof(*tb));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		err = state_line(tb, line, eq + 1);
	}
	fclose(f);
	if (!err && (!tb->name[0] || !tb->backends || !tb->link_mbit ||
		     !tb->client_mbit))
		err = -EINVAL;
	if (err)
		fprintf(stderr, "prism testbed: %s: malformed state file\n",
			path);
	return err;
}

int testbed_load(const char *name, struct testbed *tb)
{
	char path[256];
	int err;

	err = testbed_state_path(name, path, sizeof(path));
	if (err)
		return err;
	if (access(path, F_OK) < 0)
		return -errno;
	err = testbed_state_read(path, tb);
	if (!err && strcmp(tb->name, name))
		err = -EINVAL;
	return err;
}

/* Written to a temporary file and renamed, so readers never see half. */
int testbed_state_write(const char *path, const struct testbed *tb)
{
	char tmp[300];
	int err = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		goto fail;
	fprintf(f,
		"# prism testbed state, written by `prism testbed up`\n"
		"name=%s\nstate=%s\nbackends=%d\nlink_mbit=%d\nclient_mbit=%d\n"
		"fabric=%s\n",
		tb->name, tb->ready ? "up" : "building", tb->backends,
		tb->link_mbit, tb->client_mbit, tb->router ? "router" : "switch");
	if (fclose(f) != 0)
		goto fail;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	fprintf(stderr, "prism testbed: write %s: %s\n", path, strerror(-err));
	unlink(tmp);
	return err;
}
