/* Prometheus text exposition (lib/metrics.h) and the admin endpoint
 * (lib/adminsrv.h) on loopback. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/adminsrv.h"
#include "lib/metrics.h"
#include "t.h"

static void test_family_and_samples(void)
{
	struct metrics_buf b;

	metrics_init(&b);
	metrics_family(&b, "x_total", "counter", "Things\\done\nhere.");
	metrics_sample(&b, "x_total", NULL, 7);
	metrics_sample(&b, "x_total",
		       (const char *[]){ "backend", "b1", "status", "200",
					 NULL },
		       18446744073709551615ull);
	metrics_sample(&b, "x_total",
		       (const char *[]){ "path", "a\"b\\c\nd", NULL }, 1);
	metrics_sample_f(&b, "y", NULL, 0.25);
	CHECK_EQ(b.err, 0);
	CHECK(!strcmp(b.p,
		      "# HELP x_total Things\\\\done\\nhere.\n"
		      "# TYPE x_total counter\n"
		      "x_total 7\n"
		      "x_total{backend=\"b1\",status=\"200\"} 18446744073709551615\n"
		      "x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"
		      "y 0.25\n"));
	metrics_free(&b);
}

static void test_histogram(void)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	struct metrics_hist h;
	struct metrics_buf b;
	double v;

	metrics_hist_init(&h, bounds, 3);
	metrics_hist_observe(&h, 0.0005);
	metrics_hist_observe(&h, 0.001); /* le is inclusive */
	metrics_hist_observe(&h, 0.05);
	metrics_hist_observe(&h, 3);
	metrics_init(&b);
	metrics_hist_write(&b, "lat_seconds",
			   (const char *[]){ "op", "handoff", NULL }, &h);
	CHECK(!strcmp(b.p,
		      "lat_seconds_bucket{op=\"handoff\",le=\"0.001\"} 2\n"
		      "lat_seconds_bucket{op=\"handoff\",le=\"0.01\"} 2\n"
		      "lat_seconds_bucket{op=\"handoff\",le=\"0.1\"} 3\n"
		      "lat_seconds_bucket{op=\"handoff\",le=\"+Inf\"} 4\n"
		      "lat_seconds_sum{op=\"handoff\"} 3.0515\n"
		      "lat_seconds_count{op=\"handoff\"} 4\n"));
	CHECK_EQ(metrics_find(b.p, "lat_seconds_bucket",
			      (const char *[]){ "le", "0.1", NULL }, &v), 0);
	CHECK(v == 3);
	CHECK_EQ(metrics_find(b.p, "lat_seconds_count", NULL, &v), 0);
	CHECK(v == 4);
	CHECK(metrics_find(b.p, "lat_seconds", NULL, &v) < 0);
	metrics_free(&b);
}

static void test_find(void)
{
	static const char text[] =
		"# HELP a_total x\n# TYPE a_total counter\n"
		"a_total{backend=\"b1\",status=\"200\"} 5\n"
		"a_total{backend=\"b11\",status=\"200\"} 6\n"
		"a_total{backend=\"b2\",status=\"404\"} 7\n"
		"b 1.5\n";
	double v = 0;

	CHECK_EQ(metrics_find(text, "a_total",
			      (const char *[]){ "backend", "b11", NULL }, &v), 0);
	CHECK(v == 6);
	CHECK_EQ(metrics_find(text, "a_total",
			      (const char *[]){ "status", "404", NULL }, &v), 0);
	CHECK(v == 7);
	CHECK_EQ(metrics_find(text, "b", NULL, &v), 0);
	CHECK(v == 1.5);
	CHECK(metrics_find(text, "a_total",
			   (const char *[]){ "backend", "b3", NULL }, &v) < 0);
	CHECK(metrics_find(text, "b", (const char *[]){ "x", "y", NULL }, &v) < 0);
}

/* ---- admin endpoint: server in a thread's event loop, blocking client ---- */

struct srv {
	struct evloop *loop;
	struct admin *a;
	struct sockaddr_in addr;
	int calls;
};

static int handler(const char *method, const char *path,
		   struct metrics_buf *body, void *arg)
{
	struct srv *s = arg;

	s->calls++;
	if (!strcmp(path, "/stop")) {
		evloop_stop(s->loop);
		return 200;
	}
	if (strcmp(path, "/metrics"))
		return 404;
	if (strcmp(method, "GET"))
		return 405;
	/* big enough to need several writes */
	for (int i = 0; i < 20000; i++)
		metrics_printf(body, "m{i=\"%d\"} %d\n", i, i);
	return 200;
}

static void *serve(void *arg)
{
	struct srv *s = arg;

	evloop_run(s->loop);
	return NULL;
}

static void test_admin(void)
{
	struct srv s = { 0 };
	pthread_t th;
	char *body = NULL;
	int status = 0;
	double v;

	s.loop = evloop_new();
	s.addr.sin_family = AF_INET;
	s.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* port 0 would mean "no endpoint": pick one in the dynamic range */
	for (int port = 39900; port < 39950 && !s.a; port++) {
		s.addr.sin_port = htons(port);
		admin_open(s.loop, &s.addr, handler, &s, &s.a);
	}
	CHECK(s.a != NULL);
	if (!s.a)
		return;
	pthread_create(&th, NULL, serve, &s);
	CHECK_EQ(admin_request(&s.addr, "GET", "/metrics", 3000, &status, &body), 0);
	CHECK_EQ(status, 200);
	CHECK(body && metrics_find(body, "m", (const char *[]){ "i", "19999", NULL }, &v) == 0 && v == 19999);
	free(body);
	CHECK_EQ(admin_request(&s.addr, "POST", "/metrics", 3000, &status, &body), 0);
	CHECK_EQ(status, 405);
	free(body);
	CHECK_EQ(admin_request(&s.addr, "GET", "/nope", 3000, &status, &body), 0);
	CHECK_EQ(status, 404);
	free(body);
	admin_request(&s.addr, "GET", "/stop", 3000, &status, &body);
	free(body);
	pthread_join(th, NULL);
	CHECK_EQ(s.calls, 4);
	admin_close(s.a);
	evloop_free(s.loop);
}

int main(void)
{
	t_run("metrics_family_and_samples", test_family_and_samples);
	t_run("metrics_histogram", test_histogram);
	t_run("metrics_find", test_find);
	t_run("metrics_admin_endpoint", test_admin);
	return t_done();
}
