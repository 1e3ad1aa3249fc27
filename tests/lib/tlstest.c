#include "tlstest.h"

#include <linux/tls.h>

#include <openssl/evp.h>

const struct tlstest_suite tlstest_suites[TLSTEST_NSUITES] = {
    {"1.3 AES-128-GCM", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256",
     TLS_CIPHER_AES_GCM_128},
    {"1.3 AES-256-GCM", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384",
     TLS_CIPHER_AES_GCM_256},
    {"1.3 ChaCha20-Poly1305", TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256",
     TLS_CIPHER_CHACHA20_POLY1305},
    {"1.2 AES-128-GCM", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256",
     TLS_CIPHER_AES_GCM_128},
    {"1.2 AES-256-GCM", TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384",
     TLS_CIPHER_AES_GCM_256},
    {"1.2 ChaCha20-Poly1305", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305",
     TLS_CIPHER_CHACHA20_POLY1305},
};

void tlstest_cert(EVP_PKEY **key_out, X509 **cert_out)
{
	static EVP_PKEY *key;
	static X509 *cert;
	X509_NAME *name;

	if (!cert) {
		key = EVP_EC_gen("P-256");
		cert = X509_new();
		ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
		X509_gmtime_adj(X509_getm_notBefore(cert), 0);
		X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
		X509_set_pubkey(cert, key);
		name = X509_get_subject_name(cert);
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					   (const unsigned char *)"prism.test",
					   -1, -1, 0);
		X509_set_issuer_name(cert, name);
		X509_sign(cert, key, EVP_sha256());
	}
	*key_out = key;
	*cert_out = cert;
}

SSL_CTX *tlstest_ctx(const struct tlstest_suite *sc, bool server)
{
	SSL_CTX *ctx =
	    SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	EVP_PKEY *key;
	X509 *cert;

	SSL_CTX_set_min_proto_version(ctx, sc->version);
	SSL_CTX_set_max_proto_version(ctx, sc->version);
	if (sc->version == TLS1_3_VERSION)
		SSL_CTX_set_ciphersuites(ctx, sc->openssl);
	else
		SSL_CTX_set_cipher_list(ctx, sc->openssl);
	if (server) {
		tlstest_cert(&key, &cert);
		SSL_CTX_use_certificate(ctx, cert);
		SSL_CTX_use_PrivateKey(ctx, key);
	}
	return ctx;
}
