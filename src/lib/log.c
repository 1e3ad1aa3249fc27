#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_component = "prism";
static enum log_level log_level = LOG_INFO;

void log_init(const char *component, enum log_level level)
{
	const char *env = getenv("PRISM_LOG");

	log_component = component;
	log_level = level;
	if (env && !strcmp(env, "debug"))
		log_level = LOG_DEBUG;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	struct timespec ts;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%ld.%06ld %s %s: ", (long)ts.tv_sec,
		ts.tv_nsec / 1000, log_component, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
