/* Strict command-line numbers (lib/num.h). */
#include <errno.h>
#include <stdint.h>

#include "lib/num.h"
#include "t.h"

static void test_accepts(void)
{
	uint32_t u = 0;
	uint64_t v = 0;
	int i = 0;

	CHECK_EQ(num_parse_u32("80", 1, 65535, &u), 0);
	CHECK_EQ(u, 80);
	CHECK_EQ(num_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(num_parse_int("0", 0, 10, &i), 0);
	CHECK_EQ(i, 0);
}

static void test_refuses(void)
{
	static const char *bad[] = { "", " 5", "+5", "-1", "5x", "0x10", "1e3",
				     "18446744073709551616", NULL };
	uint32_t u = 7;

	for (int i = 0; bad[i]; i++)
		CHECK_EQ(num_parse_u32(bad[i], 0, UINT32_MAX, &u), -EINVAL);
	CHECK_EQ(num_parse_u32(NULL, 0, 1, &u), -EINVAL);
	CHECK_EQ(num_parse_u32("0", 1, 10, &u), -EINVAL);
	CHECK_EQ(num_parse_u32("11", 1, 10, &u), -EINVAL);
	CHECK_EQ(num_parse_u32("4294967296", 0, UINT32_MAX, &u), -EINVAL);
	CHECK_EQ(u, 7); /* untouched on error */
}

int main(void)
{
	t_run("num: in-range decimals accepted", test_accepts);
	t_run("num: signs, spaces, junk, overflow and bounds refused",
	      test_refuses);
	return t_done();
}
