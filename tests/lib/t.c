#include "t.h"

#include <stdarg.h>
#include <stdlib.h>

static int t_case_failures, t_passed, t_failed, t_skipped;

void t_fail(const char *file, int line, const char *what)
{
	printf("#   %s:%d: check failed: %s\n", file, line, what);
	t_case_failures++;
}

void t_failf(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("#   %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	t_case_failures++;
}

void t_run(const char *name, void (*fn)(void))
{
	t_case_failures = 0;
	fn();
	if (t_case_failures) {
		printf("not ok - %s\n", name);
		t_failed++;
	} else {
		printf("ok - %s\n", name);
		t_passed++;
	}
	fflush(stdout);
}

void t_skip(const char *name, const char *reason)
{
	printf("skip - %s # %s\n", name, reason);
	t_skipped++;
}

int t_done(void)
{
	printf("# %d passed, %d failed, %d skipped\n", t_passed, t_failed,
	       t_skipped);
	return t_failed ? 1 : 0;
}
