/* HTTPS at the controller (docs/tls.md): the server context from the
 * configured certificate chain and key, and the port that accepts TLS.
 * Each connection's handshake and records are lib/tlsconn.h's, driven by
 * conn.c; the session moves with the hand-off (handoff_fsm.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>

#include <openssl/err.h>

#include "controller/ctrl.h"
#include "controller/handoff_fsm.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/tlsconn.h"

/* OpenSSL's reason for the last failure, for the log. */
static const char *ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "unknown error";
}

static SSL_CTX *server_ctx(const struct controller_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		log_err("tls: %s", ssl_reason());
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		log_err("tls: certificate %s: %s", cfg->tls_cert, ssl_reason());
	} else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key,
					       SSL_FILETYPE_PEM) != 1) {
		log_err("tls: key %s: %s", cfg->tls_key, ssl_reason());
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		log_err("tls: key %s does not match certificate %s",
			cfg->tls_key, cfg->tls_cert);
	} else if (tlsconn_ctx_prepare(ctx)) {
		log_err("tls: context: %s", ssl_reason());
	} else {
		ERR_clear_error();
		return ctx;
	}
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

int ctrl_tls_open(struct ctrl *c)
{
	const struct controller_config *cfg = c->cfg;
	char ip[INET_ADDRSTRLEN];

	if (!cfg->tls_cert)
		return 0;
	c->tls_ctx = server_ctx(cfg);
	if (!c->tls_ctx)
		return -EINVAL;
	c->tls_listen_fd = net_listen(&cfg->tls_listen, 4096, true);
	if (c->tls_listen_fd < 0) {
		inet_ntop(AF_INET, &cfg->tls_listen.sin_addr, ip, sizeof(ip));
		log_err("listen %s:%u (tls): %s", ip,
			ntohs(cfg->tls_listen.sin_port),
			strerror(-c->tls_listen_fd));
		return c->tls_listen_fd;
	}
	log_info("tls: serving on port %u", ntohs(cfg->tls_listen.sin_port));
	return evloop_add(c->loop, c->tls_listen_fd, EVLOOP_READ,
			  fsm_accept_tls, c);
}

void ctrl_tls_close(struct ctrl *c)
{
	if (c->tls_listen_fd >= 0)
		close(c->tls_listen_fd);
	c->tls_listen_fd = -1;
	SSL_CTX_free(c->tls_ctx);
	c->tls_ctx = NULL;
}
