/* Command-line numbers: strict decimal (digits only: no sign, no spaces,
 * no empty string), within [lo, hi].  0 or -EINVAL (NULL s included). */
#pragma once
#include <stdint.h>

int num_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int num_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
int num_parse_int(const char *s, int lo, int hi, int *out); /* lo >= 0 */
