/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): the MAC of the switch's fast control path, which the data plane
 * verifies and computes itself (SHA-256 is out of reach of a BPF program).
 * Shared by the BPF program and user space: fixed-width types only, no
 * libc, no loops the verifier would have to bound.  The message is read
 * as little-endian 64-bit words, as the reference does; callers on a
 * big-endian host would have to swap (we build for x86-64 and arm64 LE). */
#pragma once
#include <linux/types.h>

struct prism_sip_key {
	__u64 k0, k1; /* key bytes 0..7 and 8..15, little-endian */
};

#define PRISM_SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define PRISM_SIP_ROUND(v0, v1, v2, v3)                                       \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = PRISM_SIP_ROTL(v1, 13);                                   \
		v1 ^= v0;                                                      \
		v0 = PRISM_SIP_ROTL(v0, 32);                                   \
		v2 += v3;                                                      \
		v3 = PRISM_SIP_ROTL(v3, 16);                                   \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = PRISM_SIP_ROTL(v3, 21);                                   \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = PRISM_SIP_ROTL(v1, 17);                                   \
		v1 ^= v2;                                                      \
		v2 = PRISM_SIP_ROTL(v2, 32);                                   \
	} while (0)

/* SipHash-2-4 of exactly five words (40 bytes): the fast control
 * message before its tag.  Unrolled for the verifier. */
static inline __u64 prism_siphash_40(const struct prism_sip_key *key,
				     const __u64 m[5])
{
	__u64 v0 = key->k0 ^ 0x736f6d6570736575ULL;
	__u64 v1 = key->k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = key->k0 ^ 0x6c7967656e657261ULL;
	__u64 v3 = key->k1 ^ 0x7465646279746573ULL;
	__u64 b = (__u64)40 << 56; /* length byte, no tail bytes */

#define PRISM_SIP_WORD(w)                                                      \
	do {                                                                   \
		v3 ^= (w);                                                     \
		PRISM_SIP_ROUND(v0, v1, v2, v3);                               \
		PRISM_SIP_ROUND(v0, v1, v2, v3);                               \
		v0 ^= (w);                                                     \
	} while (0)
	PRISM_SIP_WORD(m[0]);
	PRISM_SIP_WORD(m[1]);
	PRISM_SIP_WORD(m[2]);
	PRISM_SIP_WORD(m[3]);
	PRISM_SIP_WORD(m[4]);
	PRISM_SIP_WORD(b);
#undef PRISM_SIP_WORD
	v2 ^= 0xff;
	PRISM_SIP_ROUND(v0, v1, v2, v3);
	PRISM_SIP_ROUND(v0, v1, v2, v3);
	PRISM_SIP_ROUND(v0, v1, v2, v3);
	PRISM_SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
