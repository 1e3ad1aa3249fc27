#include "lib/num.h"

#include <errno.h>
#include <stdlib.h>

int num_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull would take a sign and leading spaces. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int num_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;
	int err = num_parse_u64(s, lo, hi, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

int num_parse_int(const char *s, int lo, int hi, int *out)
{
	uint64_t v;
	int err;

	if (lo < 0)
		return -EINVAL;
	err = num_parse_u64(s, (uint64_t)lo, (uint64_t)hi, &v);
	if (!err)
		*out = (int)v;
	return err;
}
