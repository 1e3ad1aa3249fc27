/* HTTPS at the controller (docs/tls.md): a server context per configured
 * certificate chain and key (the first the default, the others chosen by
 * the client's server name), session ticket keys from a shared secret
 * file, and the port that accepts TLS.  Each connection's handshake and
 * records are lib/tlsconn.h's, driven by conn.c; the session moves with
 * the hand-off (handoff_fsm.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/x509v3.h>

#include "controller/ctrl.h"
#include "controller/handoff_fsm.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/tlsconn.h"

/* OpenSSL's ticket key material: name, HMAC secret, AES key. */
#define TICKET_KEYS_LEN 80
#define TICKET_SECRET_MIN 32
#define TICKET_SECRET_MAX 4096

/* SNI: the first certificate that names the server name the client
 * asked for; the default (the first configured) when none does, or when
 * the client named none. */
static int pick_cert(SSL *ssl, int *alert, void *arg)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct ctrl *c = arg;

	(void)alert;
	if (!name)
		return SSL_TLSEXT_ERR_OK;
	for (unsigned i = 0; i < c->n_tls_ctx; i++) {
		X509 *x = SSL_CTX_get0_certificate(c->tls_ctx[i]);

		if (x && X509_check_host(x, name, 0, 0, NULL) == 1) {
			if (i)
				SSL_set_SSL_CTX(ssl, c->tls_ctx[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* The default, without acknowledging a name it does not carry. */
	return SSL_TLSEXT_ERR_NOACK;
}

/* The ticket keys from the secret file: HKDF-SHA256 of its bytes, so
 * that every controller given the same file encrypts and decrypts the
 * same tickets (and a restart resumes the sessions of before it). */
static int ticket_keys(const char *path, uint8_t out[TICKET_KEYS_LEN])
{
	static const char salt[] = "prism tls ticket keys v1";
	uint8_t secret[TICKET_SECRET_MAX];
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -EIO;

	if (fd < 0)
		return -errno;
	n = read(fd, secret, sizeof(secret));
	close(fd);
	if (n < TICKET_SECRET_MIN) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return n < 0 ? -errno : -EINVAL;
	}
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf)
		kctx = EVP_KDF_CTX_new(kdf);
	if (kctx) {
		OSSL_PARAM p[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      secret, (size_t)n),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      (void *)salt,
						      sizeof(salt) - 1),
		    OSSL_PARAM_construct_end(),
		};
		if (EVP_KDF_derive(kctx, out, TICKET_KEYS_LEN, p) == 1)
			rc = 0;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static int set_ticket_keys(struct ctrl *c)
{
	uint8_t keys[TICKET_KEYS_LEN];
	int err = ticket_keys(c->cfg->tls_ticket_keys, keys);

	if (err) {
		log_err("tls: ticket keys %s: %s", c->cfg->tls_ticket_keys,
			err == -EINVAL ? "shorter than 32 bytes" : strerror(-err));
		return err;
	}
	/* Tickets are the first context's business (OpenSSL keeps the
	 * session context a handshake started with). */
	for (unsigned i = 0; i < c->n_tls_ctx && !err; i++)
		if (SSL_CTX_set_tlsext_ticket_keys(c->tls_ctx[i], keys,
						   sizeof(keys)) != 1)
			err = -EIO;
	OPENSSL_cleanse(keys, sizeof(keys));
	return err;
}

int ctrl_tls_open(struct ctrl *c)
{
	const struct controller_config *cfg = c->cfg;
	char ip[INET_ADDRSTRLEN];
	int err;

	for (unsigned i = 0; i < cfg->n_tls_cert; i++) {
		c->tls_ctx[i] = tlsconn_server_ctx(cfg->tls_cert[i],
						   cfg->tls_key[i]);
		if (!c->tls_ctx[i])
			return -EINVAL;
		c->n_tls_ctx = i + 1;
	}
	if (!c->n_tls_ctx)
		return 0;
	if (c->n_tls_ctx > 1)
		SSL_CTX_set_tlsext_servername_callback(c->tls_ctx[0], pick_cert);
	SSL_CTX_set_tlsext_servername_arg(c->tls_ctx[0], c);
	if (cfg->tls_ticket_keys) {
		err = set_ticket_keys(c);
		if (err)
			return err;
	}
	c->tls_listen_fd = net_listen(&cfg->tls_listen, 4096, true);
	if (c->tls_listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->tls_listen.sin_addr, ip, sizeof(ip));
		log_err("listen %s:%u (tls): %s", ip,
			ntohs(cfg->tls_listen.sin_port),
			strerror(-c->tls_listen_fd));
		return c->tls_listen_fd;
	}
	log_info("tls: serving on port %u, %u certificate(s)%s; kTLS %s",
		 ntohs(cfg->tls_listen.sin_port), c->n_tls_ctx,
		 cfg->tls_ticket_keys ? ", shared ticket keys" : "",
		 tlsconn_ktls_status());
	return evloop_add(c->loop, c->tls_listen_fd, EVLOOP_READ,
			  fsm_accept_tls, c);
}

void ctrl_tls_close(struct ctrl *c)
{
	if (c->tls_listen_fd >= 0)
		close(c->tls_listen_fd);
	c->tls_listen_fd = -1;
	for (unsigned i = 0; i < c->n_tls_ctx; i++)
		SSL_CTX_free(c->tls_ctx[i]);
	c->n_tls_ctx = 0;
}
