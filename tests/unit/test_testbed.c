/* The testbed's names, addresses and state file (no root needed). */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab/testbed.h"

static const char *ip_of(const struct testbed *tb, const char *host)
{
	static char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (testbed_host_ip(tb, host, &a))
		return "-";
	return inet_ntop(AF_INET, &a, buf, sizeof(buf));
}

static void test_host_addresses(void)
{
	struct testbed tb = { .backends = 200 };

	CHECK(!strcmp(ip_of(&tb, "client"), "198.18.1.2"));
	CHECK(!strcmp(ip_of(&tb, "controller"), "198.18.2.2"));
	CHECK(!strcmp(ip_of(&tb, "proxy"), "198.18.3.2"));
	CHECK(!strcmp(ip_of(&tb, "fabric"), "198.18.2.1"));
	CHECK(!strcmp(ip_of(&tb, "vip"), "198.19.0.1"));
	CHECK(!strcmp(ip_of(&tb, "b1"), "198.18.11.2"));
	CHECK(!strcmp(ip_of(&tb, "b200"), "198.18.210.2"));
}

static void test_unknown_hosts(void)
{
	struct testbed tb = { .backends = 2 };
	const char *bad[] = { "b0", "b3", "b01", "b", "b1x", "bb1", "router",
			      "", "b-1", "b99999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcmp(ip_of(&tb, bad[i]), "-"))
			t_failf(__FILE__, __LINE__, "host '%s' accepted", bad[i]);
}

static void test_names(void)
{
	char name[TESTBED_NAME_MAX + 1], long_name[64];

	CHECK(testbed_name_valid("prism"));
	CHECK(testbed_name_valid("t-tb_2"));
	CHECK(!testbed_name_valid(""));
	CHECK(!testbed_name_valid("-x"));
	CHECK(!testbed_name_valid("a/b"));
	CHECK(!testbed_name_valid("a.b"));
	memset(long_name, 'n', sizeof(long_name));
	long_name[TESTBED_NAME_MAX] = '\0';
	CHECK(testbed_name_valid(long_name));
	long_name[TESTBED_NAME_MAX] = 'n';
	long_name[TESTBED_NAME_MAX + 1] = '\0';
	CHECK(!testbed_name_valid(long_name));

	unsetenv("PRISM_TESTBED");
	CHECK_EQ(testbed_resolve_name(NULL, name, sizeof(name)), 0);
	CHECK(!strcmp(name, "prism"));
	setenv("PRISM_TESTBED", "from-env", 1);
	CHECK_EQ(testbed_resolve_name(NULL, name, sizeof(name)), 0);
	CHECK(!strcmp(name, "from-env"));
	CHECK_EQ(testbed_resolve_name("flag", name, sizeof(name)), 0);
	CHECK(!strcmp(name, "flag"));
	CHECK_EQ(testbed_resolve_name("no/slash", name, sizeof(name)), -EINVAL);
	unsetenv("PRISM_TESTBED");
}

static void test_paths(void)
{
	char buf[256];

	CHECK_EQ(testbed_netns_path("tb", "b7", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/run/netns/tb-b7"));
	CHECK_EQ(testbed_pin_dir("tb", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/sys/fs/bpf/tb"));
	CHECK_EQ(testbed_state_path("tb", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/run/prism/tb.testbed"));
	CHECK_EQ(testbed_state_path("tb", buf, 8), -ENAMETOOLONG);
}

static void test_state_roundtrip(void)
{
	char path[] = "/tmp/prism-test-testbed.XXXXXX";
	struct testbed in = { .name = "t-x", .backends = 5, .link_mbit = 300,
			      .client_mbit = 1500, .ready = true };
	struct testbed out;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(testbed_state_write(path, &in), 0);
	CHECK_EQ(testbed_state_read(path, &out), 0);
	CHECK(!strcmp(out.name, "t-x"));
	CHECK_EQ(out.backends, 5);
	CHECK_EQ(out.link_mbit, 300);
	CHECK_EQ(out.client_mbit, 1500);
	CHECK(out.ready);
	in.ready = false;
	CHECK_EQ(testbed_state_write(path, &in), 0);
	CHECK_EQ(testbed_state_read(path, &out), 0);
	CHECK(!out.ready);
	unlink(path);
	CHECK_EQ(testbed_state_read(path, &out), -ENOENT);
}

static void test_state_malformed(void)
{
	char path[] = "/tmp/prism-test-testbed.XXXXXX";
	const char *bad[] = {
		"name=t\nbackends=0\nlink_mbit=1\nclient_mbit=1\n",
		"name=t\nbackends=201\nlink_mbit=1\nclient_mbit=1\n",
		"name=t\nbackends=2\nlink_mbit=-1\nclient_mbit=1\n",
		"name=t\nbackends=2\nlink_mbit=1\n",
		"name=a/b\nbackends=2\nlink_mbit=1\nclient_mbit=1\n",
	};
	struct testbed tb;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");

		fputs(bad[i], f);
		fclose(f);
		if (testbed_state_read(path, &tb) != -EINVAL)
			t_failf(__FILE__, __LINE__, "accepted: %s", bad[i]);
	}
	unlink(path);
}

int main(void)
{
	t_run("host addresses", test_host_addresses);
	t_run("unknown hosts refused", test_unknown_hosts);
	t_run("names: valid, flag > env > default", test_names);
	t_run("paths", test_paths);
	t_run("state file round trip", test_state_roundtrip);
	t_run("malformed state refused", test_state_malformed);
	return t_done();
}
