/* A tiny test harness.  Each case prints one line, which tests/run.sh counts:
 *   ok - NAME          not ok - NAME          skip - NAME # reason
 * Usage:
 *   static void test_x(void) { CHECK(1 + 1 == 2); CHECK_EQ(f(), 3); }
 *   int main(void) { t_run("x", test_x); return t_done(); }
 */
#pragma once
#include <stdbool.h>
#include <stdio.h>

void t_fail(const char *file, int line, const char *what);
void t_failf(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void t_run(const char *name, void (*fn)(void));
void t_skip(const char *name, const char *reason);
int t_done(void);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c))                                                     \
			t_fail(__FILE__, __LINE__, #c);                       \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b)                                                 \
			t_failf(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
				#a, #b, _a, _b);                              \
	} while (0)
