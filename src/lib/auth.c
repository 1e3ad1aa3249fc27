/* The low-level SHA-256 calls are deprecated in OpenSSL 3 in favour of
 * EVP, whose per-call fetch and allocations are what this file avoids. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "lib/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "lib/log.h"

#define SHA_BLOCK 64

/* RFC 2104: a key longer than a block is hashed first; the block is the
 * key zero-padded, xored with 0x36 (inner) or 0x5c (outer). */
static void absorb_pads(struct auth_key *key)
{
	uint8_t k[SHA_BLOCK] = { 0 }, pad[SHA_BLOCK];

	if (key->len > SHA_BLOCK)
		SHA256(key->bytes, key->len, k);
	else
		memcpy(k, key->bytes, key->len);
	for (int i = 0; i < SHA_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&key->inner);
	SHA256_Update(&key->inner, pad, sizeof(pad));
	for (int i = 0; i < SHA_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&key->outer);
	SHA256_Update(&key->outer, pad, sizeof(pad));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
}

int auth_key_set(struct auth_key *key, const void *bytes, size_t len)
{
	if (len < AUTH_KEY_MIN)
		return -EINVAL;
	if (len > AUTH_KEY_MAX)
		return -E2BIG;
	memcpy(key->bytes, bytes, len);
	key->len = len;
	absorb_pads(key);
	return 0;
}

void auth_key_clear(struct auth_key *key)
{
	OPENSSL_cleanse(key, sizeof(*key));
}

/* Reads at most AUTH_KEY_MAX + 2 bytes so that a key followed by "\r\n"
 * still fits and anything longer is detected as too long. */
static int read_small_file(const char *path, uint8_t *buf, size_t size,
			   size_t *len)
{
	ssize_t n;
	int fd, err = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (*len < size) {
		n = read(fd, buf + *len, size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		*len += n;
	}
	close(fd);
	return err;
}

int auth_key_load(const char *path, struct auth_key *key)
{
	uint8_t buf[AUTH_KEY_MAX + 3];
	size_t len;
	int err;

	err = read_small_file(path, buf, sizeof(buf), &len);
	if (err) {
		log_err("key %s: %s", path, strerror(-err));
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	err = auth_key_set(key, buf, len);
	if (err == -EINVAL)
		log_err("key %s: %zu bytes, need at least %d", path, len,
			AUTH_KEY_MIN);
	else if (err == -E2BIG)
		log_err("key %s: longer than %d bytes", path, AUTH_KEY_MAX);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

/* HMAC from the absorbed pads: H(outer || H(inner || msg)). */
static void hmac_sha256(const struct auth_key *key, const void *msg,
			size_t len, uint8_t mac[AUTH_MAC_LEN])
{
	SHA256_CTX c = key->inner;

	SHA256_Update(&c, msg, len);
	SHA256_Final(mac, &c);
	c = key->outer;
	SHA256_Update(&c, mac, AUTH_MAC_LEN);
	SHA256_Final(mac, &c);
}

void auth_sign(const struct auth_key *key, const void *msg, size_t len,
	       uint8_t mac[AUTH_MAC_LEN])
{
	hmac_sha256(key, msg, len, mac);
}

bool auth_verify(const struct auth_key *key, const void *msg, size_t len,
		 const uint8_t mac[AUTH_MAC_LEN])
{
	uint8_t want[AUTH_MAC_LEN];
	bool ok;

	hmac_sha256(key, msg, len, want);
	ok = CRYPTO_memcmp(want, mac, AUTH_MAC_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int auth_hkdf(const void *ikm, size_t ikm_len, const char *salt,
	      const void *info, size_t info_len, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int rc = -EIO;

	if (kctx) {
		OSSL_PARAM prm[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)ikm, ikm_len),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      (void *)salt,
						      strlen(salt)),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      (void *)info, info_len),
		    OSSL_PARAM_construct_end(),
		};
		if (EVP_KDF_derive(kctx, out, len, prm) == 1)
			rc = 0;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}
