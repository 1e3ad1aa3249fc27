/* Scaffolding check: the harness and the log module link and run. */
#include "t.h"
#include "lib/log.h"

static void test_level_roundtrip(void)
{
	log_init("test", LOG_WARN);
	CHECK_EQ(log_get_level(), LOG_WARN);
	log_set_level(LOG_DEBUG);
	CHECK_EQ(log_get_level(), LOG_DEBUG);
}

int main(void)
{
	t_run("log level round trip", test_level_roundtrip);
	return t_done();
}
