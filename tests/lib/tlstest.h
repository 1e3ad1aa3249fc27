/* What the TLS tests share: the six suites Prism supports, a throw-away
 * self-signed certificate, and OpenSSL contexts pinned to one suite. */
#pragma once
#include <stdbool.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tlstest_suite {
	const char *name;
	int version;	     /* TLS1_3_VERSION or TLS1_2_VERSION */
	const char *openssl; /* ciphersuite (1.3) or cipher list (1.2) */
	int cipher_type;     /* <linux/tls.h> TLS_CIPHER_* */
};

#define TLSTEST_NSUITES 6
extern const struct tlstest_suite tlstest_suites[TLSTEST_NSUITES];

/* A P-256 key and a certificate for CN prism.test, valid for an hour;
 * made once, kept for the process. */
void tlstest_cert(EVP_PKEY **key, X509 **cert);

/* A client or server context limited to SC's version and suite (a server
 * one with the certificate of tlstest_cert). */
SSL_CTX *tlstest_ctx(const struct tlstest_suite *sc, bool server);
