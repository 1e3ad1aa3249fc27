/* Message authentication: HMAC-SHA256 with a shared key read from a file.
 * Used by the switch control protocol and the hand-off protocol.  A key is
 * the file's bytes with trailing newlines stripped; at least AUTH_KEY_MIN
 * bytes.  auth_verify compares in constant time. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#define AUTH_MAC_LEN 32  /* HMAC-SHA256 */
#define AUTH_KEY_MIN 16
#define AUTH_KEY_MAX 256

struct auth_key {
	size_t len;
	uint8_t bytes[AUTH_KEY_MAX];
	/* HMAC's inner and outer pads absorbed once, when the key is set:
	 * a MAC then costs the message's blocks plus two, with no allocation
	 * (libcrypto's one-shot HMAC() fetched the digest and allocated two
	 * contexts per call: a fifth of the daemons' CPU per request). */
	SHA256_CTX inner, outer;
};

/* Reads the key from PATH.  Returns 0, or -errno with an error logged:
 * -ENOENT/-EACCES (open), -EINVAL (shorter than AUTH_KEY_MIN after
 * stripping), -E2BIG (longer than AUTH_KEY_MAX). */
int auth_key_load(const char *path, struct auth_key *key);

/* Sets the key from memory (tests, keys received out of band).  Same
 * length rules as auth_key_load, no stripping. */
int auth_key_set(struct auth_key *key, const void *bytes, size_t len);

/* Wipes the key material. */
void auth_key_clear(struct auth_key *key);

void auth_sign(const struct auth_key *key, const void *msg, size_t len,
	       uint8_t mac[AUTH_MAC_LEN]);

/* HKDF-SHA256 (RFC 5869, extract then expand): LEN bytes into OUT from
 * the input keying material IKM, SALT and INFO.  0 or -EIO. */
int auth_hkdf(const void *ikm, size_t ikm_len, const char *salt,
	      const void *info, size_t info_len, uint8_t *out, size_t len);

/* True when MAC is the HMAC of MSG under KEY (constant-time compare). */
bool auth_verify(const struct auth_key *key, const void *msg, size_t len,
		 const uint8_t mac[AUTH_MAC_LEN]);
