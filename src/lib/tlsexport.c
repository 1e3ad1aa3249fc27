#include "lib/tlsexport.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

/* A connection's TLS 1.3 application traffic secrets, as the key log
 * gave them. */
struct secrets {
	uint8_t client[TLSREC_SECRET_MAX], server[TLSREC_SECRET_MAX];
	size_t client_len, server_len;
};

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void free_secrets(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
			 long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr)
		OPENSSL_clear_free(ptr, sizeof(struct secrets));
}

static void make_index(void)
{
	ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_secrets);
}

static void keep(uint8_t *dst, size_t *dst_len, const char *hex)
{
	size_t len = 0;

	if (OPENSSL_hexstr2buf_ex(dst, TLSREC_SECRET_MAX, &len, hex, '\0') == 1)
		*dst_len = len;
}

/* "LABEL CLIENT_RANDOM SECRET" (the NSS key log format). */
static void on_keylog(const SSL *ssl, const char *line)
{
	static const char cl[] = "CLIENT_TRAFFIC_SECRET_0 ",
			  sv[] = "SERVER_TRAFFIC_SECRET_0 ";
	bool is_client = !strncmp(line, cl, sizeof(cl) - 1);
	struct secrets *s;
	const char *hex;

	if (!is_client && strncmp(line, sv, sizeof(sv) - 1) != 0)
		return;
	hex = strchr(line + sizeof(cl) - 1, ' ');
	if (!hex)
		return;
	s = SSL_get_ex_data(ssl, ex_index);
	if (!s) {
		s = OPENSSL_zalloc(sizeof(*s));
		if (!s || !SSL_set_ex_data((SSL *)ssl, ex_index, s)) {
			OPENSSL_free(s);
			return;
		}
	}
	if (is_client)
		keep(s->client, &s->client_len, hex + 1);
	else
		keep(s->server, &s->server_len, hex + 1);
}

int tlsexport_prepare(SSL_CTX *ctx)
{
	pthread_once(&ex_once, make_index);
	if (ex_index < 0)
		return -ENOMEM;
	SSL_CTX_set_keylog_callback(ctx, on_keylog);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	return 0;
}

static int cipher_type_of(const SSL_CIPHER *c)
{
	switch (SSL_CIPHER_get_cipher_nid(c)) {
	case NID_aes_128_gcm:
		return TLS_CIPHER_AES_GCM_128;
	case NID_aes_256_gcm:
		return TLS_CIPHER_AES_GCM_256;
	case NID_chacha20_poly1305:
		return TLS_CIPHER_CHACHA20_POLY1305;
	}
	return -1;
}

static int export13(SSL *ssl, int type, uint64_t tx_seq, uint64_t rx_seq,
		    struct tlsrec_state *tx, struct tlsrec_state *rx)
{
	struct secrets *s =
	    ex_index < 0 ? NULL : SSL_get_ex_data(ssl, ex_index);
	bool server = SSL_is_server(ssl);
	int err;

	if (!s || !s->client_len || !s->server_len)
		return -EINVAL;
	err =
	    tlsrec_state_tls13(tx, type, server ? s->server : s->client,
			       server ? s->server_len : s->client_len, tx_seq);
	if (!err)
		err = tlsrec_state_tls13(
		    rx, type, server ? s->client : s->server,
		    server ? s->client_len : s->server_len, rx_seq);
	/* Exported once: the secrets need not wait in ssl until SSL_free. */
	OPENSSL_cleanse(s, sizeof(*s));
	return err;
}

/* RFC 5246 6.3: key_block = PRF(master_secret, "key expansion",
 * server_random + client_random); an AEAD suite has no MAC keys, so it is
 * client key, server key, client IV, server IV. */
static int key_block(SSL *ssl, uint8_t *out, size_t len)
{
	static const char label[13] = "key expansion"; /* no NUL */
	uint8_t master[48], seed[sizeof(label) + 2 * SSL3_RANDOM_SIZE];
	const EVP_MD *md =
	    SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(ssl));
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	size_t mlen = SSL_SESSION_get_master_key(SSL_get_session(ssl), master,
						 sizeof(master));
	int rc = -EIO;

	memcpy(seed, label, sizeof(label));
	SSL_get_server_random(ssl, seed + sizeof(label), SSL3_RANDOM_SIZE);
	SSL_get_client_random(ssl, seed + sizeof(label) + SSL3_RANDOM_SIZE,
			      SSL3_RANDOM_SIZE);
	if (kctx && md && mlen) {
		OSSL_PARAM p[] = {
		    OSSL_PARAM_construct_utf8_string(
			OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						      master, mlen),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed,
						      sizeof(seed)),
		    OSSL_PARAM_construct_end(),
		};
		if (EVP_KDF_derive(kctx, out, len, p) == 1)
			rc = 0;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(master, sizeof(master));
	return rc;
}

static int export12(SSL *ssl, int type, uint64_t tx_seq, uint64_t rx_seq,
		    struct tlsrec_state *tx, struct tlsrec_state *rx)
{
	size_t klen = type == TLS_CIPHER_AES_GCM_128 ? 16 : 32;
	size_t ivlen = type == TLS_CIPHER_CHACHA20_POLY1305 ? 12 : 4;
	uint8_t kb[2 * 32 + 2 * 12], *ckey = kb, *skey = kb + klen;
	uint8_t *civ = kb + 2 * klen, *siv = civ + ivlen;
	bool server = SSL_is_server(ssl);
	int err = key_block(ssl, kb, 2 * klen + 2 * ivlen);

	if (!err)
		err = tlsrec_state_tls12(tx, type, server ? skey : ckey,
					 server ? siv : civ, tx_seq);
	if (!err)
		err = tlsrec_state_tls12(rx, type, server ? ckey : skey,
					 server ? civ : siv, rx_seq);
	OPENSSL_cleanse(kb, sizeof(kb));
	return err;
}

int tlsexport_state(SSL *ssl, uint64_t tx_seq, uint64_t rx_seq,
		    struct tlsrec_state *tx, struct tlsrec_state *rx)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int type = c ? cipher_type_of(c) : -1, err = -EINVAL;

	if (type < 0 || !SSL_is_init_finished(ssl))
		return -EINVAL;
	if (SSL_version(ssl) == TLS1_3_VERSION)
		err = export13(ssl, type, tx_seq, rx_seq, tx, rx);
	else if (SSL_version(ssl) == TLS1_2_VERSION)
		err = export12(ssl, type, tx_seq, rx_seq, tx, rx);
	if (err) {
		OPENSSL_cleanse(tx, sizeof(*tx));
		OPENSSL_cleanse(rx, sizeof(*rx));
	}
	return err;
}
