/* Configuration file parser (lib/config.h) and the controller's use of it
 * (flags and file are equivalent; reload re-reads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/controller.h"
#include "lib/config.h"
#include "t.h"

static int parse(const char *text, struct config *c, char *err, size_t n)
{
	return config_parse(text, strlen(text), c, err, n);
}

static void test_basic(void)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"listen 198.19.0.1:80\n"
		"  policy   hash-uri   # trailing comment\n"
		"debug\n"
		"[controller]\n"
		"backend b1=198.18.11.2:7800,weight=2\r\n"
		"backend b2=198.18.12.2:7800\n"
		"[ switch ]\n"
		"access-log \"/tmp/a b#c.log\"\n"
		"name x#y\n";
	struct config c;
	char err[128] = "";

	CHECK_EQ(parse(text, &c, err, sizeof(err)), 0);
	CHECK_EQ(c.n, 7);
	if (c.n == 7) {
		CHECK(!strcmp(c.e[0].key, "listen"));
		CHECK(!strcmp(c.e[0].value, "198.19.0.1:80"));
		CHECK(!strcmp(c.e[0].section, ""));
		CHECK_EQ(c.e[0].line, 3);
		CHECK(!strcmp(c.e[1].value, "hash-uri"));
		CHECK(!strcmp(c.e[2].key, "debug"));
		CHECK(!c.e[2].has_value);
		CHECK(!strcmp(c.e[3].section, "controller"));
		CHECK(!strcmp(c.e[3].value, "b1=198.18.11.2:7800,weight=2"));
		CHECK(!strcmp(c.e[4].value, "b2=198.18.12.2:7800"));
		CHECK(!strcmp(c.e[5].section, "switch"));
		CHECK(!strcmp(c.e[5].value, "/tmp/a b#c.log"));
		CHECK(!strcmp(c.e[6].value, "x#y")); /* '#' inside a word */
		CHECK(!strcmp(c.e[6].flag, "--name"));
	}
	config_free(&c);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{ "ok 1\nBad-Key 2\n", "2: bad key" },
		{ "ok 1\n\nkey=1\n", "3: bad key" },
		{ "[open\n", "1: bad section header" },
		{ "[a] junk\n", "1: bad section header" },
		{ "k \"unterminated\n", "1: bad quoted value" },
		{ "k \"a\" b\n", "1: bad quoted value" },
	};
	char err[128];
	struct config c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(parse(bad[i].text, &c, err, sizeof(err)) < 0);
		if (strcmp(err, bad[i].err))
			t_failf(__FILE__, __LINE__, "'%s': got '%s' want '%s'",
				bad[i].text, err, bad[i].err);
		config_free(&c);
	}
	{
		char text[CONFIG_LINE_MAX + 10];

		memset(text, 'a', sizeof(text) - 1);
		text[sizeof(text) - 1] = 0;
		CHECK(parse(text, &c, err, sizeof(err)) < 0);
		config_free(&c);
	}
	CHECK(config_parse("a\0b\n", 4, &c, err, sizeof(err)) < 0);
	config_free(&c);
}

static void test_args(void)
{
	static const char text[] = "a 1\n[x]\nb 2\nflag\n[y]\nc 3\n[x]\nd \"\"\n";
	struct config c;
	char err[64], **argv = NULL;
	int argc = 0;

	CHECK_EQ(parse(text, &c, err, sizeof(err)), 0);
	CHECK_EQ(config_args(&c, "x", &argc, &argv), 0);
	CHECK_EQ(argc, 7);
	if (argc == 7) {
		CHECK(!strcmp(argv[0], "--a") && !strcmp(argv[1], "1"));
		CHECK(!strcmp(argv[2], "--b") && !strcmp(argv[3], "2"));
		CHECK(!strcmp(argv[4], "--flag"));
		/* a quoted empty value is a value */
		CHECK(!strcmp(argv[5], "--d") && !strcmp(argv[6], ""));
	}
	free(argv);
	config_free(&c);
	/* the quoted empty value is kept as a value */
	CHECK_EQ(parse(text, &c, err, sizeof(err)), 0);
	CHECK(c.e[c.n - 1].has_value);
	config_free(&c);
}

static const char *write_file(const char *text)
{
	static char path[] = "/tmp/prism-test-config.XXXXXX";
	int fd;

	strcpy(path, "/tmp/prism-test-config.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

/* The file and the flags give the same configuration. */
static void test_controller_equivalent(void)
{
	const char *path = write_file(
		"[controller]\n"
		"listen 198.19.0.1:80\nswitch 198.18.2.1:7700\nkey /k\n"
		"policy least-conn\nadmin 127.0.0.1:9911\n"
		"access-log -\nhealth-interval 250\nhealth-path /hc\n"
		"backend b1=198.18.11.2:7800,weight=3,http=198.18.11.2:8080\n"
		"backend b2=198.18.12.2:7800,drain\n"
		"[backend]\nlisten 198.18.11.2:80\n");
	char *flags[] = { "controller", "--listen", "198.19.0.1:80",
			  "--switch", "198.18.2.1:7700", "--key", "/k",
			  "--policy", "least-conn", "--admin", "127.0.0.1:9911",
			  "--access-log", "-", "--health-interval", "250",
			  "--health-path", "/hc", "--backend",
			  "b1=198.18.11.2:7800,weight=3,http=198.18.11.2:8080",
			  "--backend", "b2=198.18.12.2:7800,drain" };
	char *file_argv[] = { "controller", "--config", (char *)path };
	struct controller_config a, b;

	CHECK(path != NULL);
	if (!path)
		return;
	controller_config_init(&a);
	controller_config_init(&b);
	CHECK_EQ(controller_config_parse(21, flags, &a, NULL), 0);
	CHECK_EQ(controller_config_parse(3, file_argv, &b, NULL), 0);
	CHECK_EQ(b.n_backends, 2);
	CHECK(!memcmp(a.backends, b.backends, sizeof(a.backends)));
	CHECK(!memcmp(&a.listen, &b.listen, sizeof(a.listen)));
	CHECK(!memcmp(&a.admin, &b.admin, sizeof(a.admin)));
	CHECK(!strcmp(b.policy, "least-conn") && !strcmp(b.switch_agent, a.switch_agent));
	CHECK(!strcmp(b.access_log, "-") && !strcmp(b.health_path, "/hc"));
	CHECK_EQ(b.health_interval_ms, 250);
	CHECK_EQ(b.backends[0].weight, 3);
	CHECK_EQ(ntohs(b.backends[0].http.sin_port), 8080);
	CHECK_EQ(ntohs(b.backends[1].http.sin_port), 80); /* default */
	CHECK(b.backends[1].drain && !b.backends[0].drain);
	controller_config_free(&a);
	controller_config_free(&b);
	unlink(path);
}

static void test_controller_rejects(void)
{
	const char *path = write_file("[controller]\nbackend b1=1.2.3.4:1\n"
				      "backend b1=1.2.3.5:1\n");
	char *dup[] = { "controller", "--config", (char *)path };
	char *badw[] = { "controller", "--backend", "b1=1.2.3.4:5,weight=0" };
	char *badp[] = { "controller", "--policy", "random" };
	char *badr[] = { "controller", "--backend", "b1=1.2.3.4:5", "--route",
			 "/x=b2" };
	struct controller_config c;
	FILE *saved = stderr;

	stderr = fopen("/dev/null", "w"); /* the messages are expected */
	controller_config_init(&c);
	CHECK(controller_config_parse(3, dup, &c, NULL) < 0);
	controller_config_free(&c);
	controller_config_init(&c);
	CHECK(controller_config_parse(3, badw, &c, NULL) < 0);
	controller_config_init(&c);
	CHECK(controller_config_parse(3, badp, &c, NULL) < 0);
	controller_config_init(&c);
	CHECK(controller_config_parse(5, badr, &c, NULL) < 0);
	fclose(stderr);
	stderr = saved;
	unlink(path);
}

static void test_routes(void)
{
	struct ctrl_route r;

	CHECK_EQ(ctrl_parse_route("img.test/static/=b1,b2", &r), 0);
	CHECK(!strcmp(r.host, "img.test") && !strcmp(r.prefix, "/static/"));
	CHECK_EQ(r.n, 2);
	CHECK(!strcmp(r.backends[1], "b2"));
	CHECK_EQ(ctrl_parse_route("/=b3", &r), 0);
	CHECK(!strcmp(r.host, "") && !strcmp(r.prefix, "/") && r.n == 1);
	CHECK(ctrl_parse_route("nohost=b1", &r) < 0);
	CHECK(ctrl_parse_route("/x=", &r) < 0);
	CHECK(ctrl_parse_route("/x", &r) < 0);
	CHECK(ctrl_parse_route("/x=averyveryverylongname", &r) < 0);
}

int main(void)
{
	t_run("config_parse_basic", test_basic);
	t_run("config_parse_errors_name_the_line", test_errors);
	t_run("config_args_by_section", test_args);
	t_run("config_controller_file_equals_flags", test_controller_equivalent);
	t_run("config_controller_rejects_bad", test_controller_rejects);
	t_run("config_routes", test_routes);
	return t_done();
}
