/* HMAC-SHA256 authenticator and key files (src/lib/auth.c). */
#include "t.h"
#include "lib/auth.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static char tmpdir[] = "/tmp/prism-test-auth-XXXXXX";

/* Writes LEN bytes to a fresh file under tmpdir and returns its path. */
static const char *key_file(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return path;
	fwrite(data, 1, len, f);
	fclose(f);
	return path;
}

static void unhex(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* RFC 4231 test cases 1 and 4 (the keys of cases 2 and 3 are too short
 * for our minimum, case 4's is 25 bytes). */
static void test_rfc4231(void)
{
	struct auth_key k;
	uint8_t key1[20], key4[25], data4[50], mac[AUTH_MAC_LEN],
		want[AUTH_MAC_LEN];

	memset(key1, 0x0b, sizeof(key1));
	CHECK_EQ(auth_key_set(&k, key1, sizeof(key1)), 0);
	auth_sign(&k, "Hi There", 8, mac);
	unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	      want);
	CHECK(memcmp(mac, want, AUTH_MAC_LEN) == 0);
	CHECK(auth_verify(&k, "Hi There", 8, want));

	for (int i = 0; i < 25; i++)
		key4[i] = (uint8_t)(i + 1);
	memset(data4, 0xcd, sizeof(data4));
	CHECK_EQ(auth_key_set(&k, key4, sizeof(key4)), 0);
	auth_sign(&k, data4, sizeof(data4), mac);
	unhex("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
	      want);
	CHECK(memcmp(mac, want, AUTH_MAC_LEN) == 0);
}

/* RFC 4231 case 6: a key longer than SHA-256's block is hashed first. */
static void test_rfc4231_long_key(void)
{
	static const char msg[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], mac[AUTH_MAC_LEN], want[AUTH_MAC_LEN];
	struct auth_key k;

	memset(key, 0xaa, sizeof(key));
	CHECK_EQ(auth_key_set(&k, key, sizeof(key)), 0);
	auth_sign(&k, msg, strlen(msg), mac);
	unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	      want);
	CHECK(memcmp(mac, want, AUTH_MAC_LEN) == 0);
}

/* The precomputed pads against libcrypto's one-shot HMAC, for key
 * lengths around the block size and message lengths around block and
 * padding boundaries; each key used twice (the pads must not change). */
static void test_matches_libcrypto(void)
{
	static const size_t klens[] = { 16, 32, 63, 64, 65, 200, 256 };
	uint8_t key[AUTH_KEY_MAX], msg[300], mac[AUTH_MAC_LEN],
		want[AUTH_MAC_LEN];
	unsigned int wlen;
	struct auth_key k;
	int bad = 0;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 1);
	for (size_t ki = 0; ki < sizeof(klens) / sizeof(klens[0]); ki++) {
		CHECK_EQ(auth_key_set(&k, key, klens[ki]), 0);
		for (size_t len = 0; len <= sizeof(msg); len++) {
			for (int rep = 0; rep < 2; rep++) {
				auth_sign(&k, msg, len, mac);
				HMAC(EVP_sha256(), key, (int)klens[ki], msg, len,
				     want, &wlen);
				bad += memcmp(mac, want, AUTH_MAC_LEN) != 0;
				bad += !auth_verify(&k, msg, len, want);
			}
		}
	}
	CHECK_EQ(bad, 0);
}

static void test_verify_rejects(void)
{
	struct auth_key k, other;
	uint8_t msg[64], mac[AUTH_MAC_LEN];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	CHECK_EQ(auth_key_set(&k, "0123456789abcdef", 16), 0);
	CHECK_EQ(auth_key_set(&other, "0123456789abcdeF", 16), 0);
	auth_sign(&k, msg, sizeof(msg), mac);
	CHECK(auth_verify(&k, msg, sizeof(msg), mac));
	CHECK(!auth_verify(&other, msg, sizeof(msg), mac));
	CHECK(!auth_verify(&k, msg, sizeof(msg) - 1, mac));
	/* Every single flipped bit, in the message or in the MAC, fails. */
	for (size_t bit = 0; bit < sizeof(msg) * 8; bit++) {
		msg[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK(!auth_verify(&k, msg, sizeof(msg), mac));
		msg[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	for (size_t bit = 0; bit < AUTH_MAC_LEN * 8; bit++) {
		mac[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK(!auth_verify(&k, msg, sizeof(msg), mac));
		mac[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
}

static void test_key_file_newline(void)
{
	struct auth_key k, raw;
	const char *p;

	p = key_file("nl", "a-key-of-twenty-bytes\n", 22);
	CHECK_EQ(auth_key_load(p, &k), 0);
	CHECK_EQ(k.len, 21);
	CHECK(memcmp(k.bytes, "a-key-of-twenty-bytes", 21) == 0);

	p = key_file("crlf", "a-key-of-twenty-bytes\r\n", 23);
	CHECK_EQ(auth_key_load(p, &k), 0);
	CHECK_EQ(k.len, 21);

	/* Same signature as the key set from memory. */
	uint8_t m1[AUTH_MAC_LEN], m2[AUTH_MAC_LEN];
	CHECK_EQ(auth_key_set(&raw, "a-key-of-twenty-bytes", 21), 0);
	auth_sign(&k, "x", 1, m1);
	auth_sign(&raw, "x", 1, m2);
	CHECK(memcmp(m1, m2, AUTH_MAC_LEN) == 0);

	/* Binary keys keep inner newlines and NULs. */
	p = key_file("bin", "0123\n\0" "456789abcdef\n", 19);
	CHECK_EQ(auth_key_load(p, &k), 0);
	CHECK_EQ(k.len, 18);
	CHECK_EQ(k.bytes[5], 0);
}

static void test_key_file_errors(void)
{
	struct auth_key k;
	char big[AUTH_KEY_MAX + 1];
	const char *p;

	p = key_file("short", "fifteen-bytes!!\n", 16);
	CHECK_EQ(auth_key_load(p, &k), -EINVAL);
	p = key_file("empty", "", 0);
	CHECK_EQ(auth_key_load(p, &k), -EINVAL);
	p = key_file("newlines", "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", 18);
	CHECK_EQ(auth_key_load(p, &k), -EINVAL);
	memset(big, 'k', sizeof(big));
	p = key_file("big", big, sizeof(big));
	CHECK_EQ(auth_key_load(p, &k), -E2BIG);
	p = key_file("max", big, AUTH_KEY_MAX);
	CHECK_EQ(auth_key_load(p, &k), 0);
	CHECK_EQ(k.len, AUTH_KEY_MAX);
	CHECK_EQ(auth_key_load("/nonexistent/prism.key", &k), -ENOENT);
	CHECK_EQ(auth_key_set(&k, "short", 5), -EINVAL);
}

static void cleanup(void)
{
	static const char *names[] = { "nl", "crlf", "bin", "short", "empty",
				       "newlines", "big", "max" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int main(void)
{
	log_init("test_auth", LOG_ERR);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	t_run("hmac-sha256 rfc4231 vectors", test_rfc4231);
	t_run("hmac-sha256 rfc4231 key longer than a block",
	      test_rfc4231_long_key);
	t_run("precomputed pads equal libcrypto HMAC(), keys 16..256",
	      test_matches_libcrypto);
	t_run("verify rejects other key, length, any flipped bit",
	      test_verify_rejects);
	t_run("key file: trailing newline stripped", test_key_file_newline);
	t_run("key file: too short, too long, missing", test_key_file_errors);
	cleanup();
	return t_done();
}
