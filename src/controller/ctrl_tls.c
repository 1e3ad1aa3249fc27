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

#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "controller/ctrl.h"
#include "controller/handoff_fsm.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/tlsconn.h"


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

/* Session tickets from a shared secret (--tls-ticket-keys): the keys of
 * period P (P = time / --tls-ticket-period) are HKDF-SHA256 of the secret
 * with P in the info, so every controller given the same file seals and
 * opens the same tickets, and a restarted one those of before it.  A
 * ticket opens during its period and the next (then it is renewed), never
 * later: a secret that leaks opens no ticket older than two periods'
 * worth.  One controller per process: the state is the module's. */
struct ticket_keys {
	uint8_t name[16], hmac[32], aes[32];
};

static struct {
	uint8_t secret[CTRL_TICKET_SECRET_MAX];
	size_t len;
	uint32_t period;	    /* seconds */
	uint64_t cur_p;		    /* the period cur holds (prev: cur_p - 1) */
	struct ticket_keys cur, prev;
	bool have;
} tickets;

static int derive_period(uint64_t p, struct ticket_keys *k)
{
	uint8_t info[8];

	for (int i = 0; i < 8; i++)
		info[i] = (uint8_t)(p >> (56 - 8 * i));
	return auth_hkdf(tickets.secret, tickets.len, "prism tls ticket keys v2",
			 info, sizeof(info), (uint8_t *)k, sizeof(*k));
}

/* The keys of this period and the one before, derived when it changes. */
static int current_keys(void)
{
	uint64_t p = (uint64_t)time(NULL) / tickets.period;

	if (tickets.have && p == tickets.cur_p)
		return 0;
	if (derive_period(p, &tickets.cur) || derive_period(p - 1, &tickets.prev))
		return -EIO;
	tickets.cur_p = p;
	tickets.have = true;
	return 0;
}

static int use_keys(const struct ticket_keys *k, unsigned char *iv,
		    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM prm[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
						  (void *)k->hmac,
						  sizeof(k->hmac)),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv,
			      enc) != 1 ||
	    EVP_MAC_CTX_set_params(hctx, prm) != 1)
		return -1;
	return 0;
}

/* OpenSSL's ticket callback: seal with this period's keys; open with
 * this period's (1) or the last one's (2: issue a fresh ticket), else
 * not at all (0: a full handshake). */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
		     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	(void)ssl;
	if (current_keys())
		return -1;
	if (enc) {
		memcpy(name, tickets.cur.name, 16);
		if (RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) != 1)
			return -1;
		return use_keys(&tickets.cur, iv, cctx, hctx, 1) ? -1 : 1;
	}
	if (!CRYPTO_memcmp(name, tickets.cur.name, 16))
		return use_keys(&tickets.cur, iv, cctx, hctx, 0) ? -1 : 1;
	if (!CRYPTO_memcmp(name, tickets.prev.name, 16))
		return use_keys(&tickets.prev, iv, cctx, hctx, 0) ? -1 : 2;
	return 0;
}

/* The secret: CTRL_TICKET_SECRET_MIN .. CTRL_TICKET_SECRET_MAX bytes. */
static int read_secret(const char *path)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size < CTRL_TICKET_SECRET_MIN ||
	    st.st_size > CTRL_TICKET_SECRET_MAX)
		err = -EINVAL;
	n = err ? -1 : read(fd, tickets.secret, (size_t)st.st_size);
	if (!err && n != st.st_size)
		err = n < 0 ? -errno : -EIO;
	close(fd);
	tickets.len = err ? 0 : (size_t)n;
	return err;
}

static int set_ticket_keys(struct ctrl *c)
{
	const struct controller_config *cfg = c->cfg;
	int err = read_secret(cfg->tls_ticket_keys);

	if (err) {
		log_err("tls: ticket keys %s: %s", cfg->tls_ticket_keys,
			err == -EINVAL ? "not 32 to 4096 bytes" : strerror(-err));
		return err;
	}
	tickets.period = cfg->tls_ticket_period;
	tickets.have = false;
	if (current_keys())
		return -EIO;
	/* Tickets are the first context's business (OpenSSL keeps the
	 * session context a handshake started with); a session lives as
	 * long as its ticket opens. */
	for (unsigned i = 0; i < c->n_tls_ctx && !err; i++) {
		if (SSL_CTX_set_tlsext_ticket_key_evp_cb(c->tls_ctx[i],
							 ticket_cb) != 1)
			err = -EIO;
		SSL_CTX_set_timeout(c->tls_ctx[i], 2 * (long)tickets.period);
	}
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
	OPENSSL_cleanse(&tickets, sizeof(tickets));
	if (c->tls_listen_fd >= 0)
		close(c->tls_listen_fd);
	c->tls_listen_fd = -1;
	for (unsigned i = 0; i < c->n_tls_ctx; i++)
		SSL_CTX_free(c->tls_ctx[i]);
	c->n_tls_ctx = 0;
}
