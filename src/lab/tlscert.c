#include "lab/tlscert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLSCERT_DAYS 2

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A certificate for KEY named CN, signed by ISSUER_KEY (ISSUER NULL:
 * self-signed, a CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *issuer_key, const char *san)
{
	X509 *c = X509_new();
	X509_NAME *name;
	int err = !c;

	if (!err) {
		/* Random: a client that met an earlier throw-away CA of the
		 * same name must not see the same issuer and serial again. */
		BIGNUM *bn = BN_new();

		err = !bn || !BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
		      !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
		BN_free(bn);
	}
	if (!err) {
		X509_gmtime_adj(X509_getm_notBefore(c), -3600);
		X509_gmtime_adj(X509_getm_notAfter(c), TLSCERT_DAYS * 86400L);
		X509_set_version(c, 2);
		X509_set_pubkey(c, key);
		name = X509_get_subject_name(c);
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					   (const unsigned char *)cn, -1, -1, 0);
		X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer)
					       : name);
	}
	if (!err && !issuer)
		err = add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") ||
		      add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		      add_ext(c, c, NID_subject_key_identifier, "hash");
	if (!err && issuer)
		err = add_ext(c, issuer, NID_basic_constraints, "CA:FALSE") ||
		      add_ext(c, issuer, NID_key_usage,
			      "critical,digitalSignature") ||
		      add_ext(c, issuer, NID_ext_key_usage, "serverAuth") ||
		      add_ext(c, issuer, NID_subject_alt_name, san) ||
		      add_ext(c, issuer, NID_authority_key_identifier,
			      "keyid:always");
	if (!err)
		err = !X509_sign(c, issuer_key, EVP_sha256());
	if (err) {
		X509_free(c);
		return NULL;
	}
	return c;
}

/* PEM to DIR/NAME with MODE; CERTS (NULL-terminated) or KEY. */
static int write_pem(const char *dir, const char *name, mode_t mode,
		     X509 *const *certs, EVP_PKEY *key)
{
	char path[512];
	FILE *f;
	int fd, ok = 1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	for (int i = 0; certs && certs[i] && ok; i++)
		ok = PEM_write_X509(f, certs[i]);
	if (key && ok)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) || !ok)
		return -EIO;
	return 0;
}

bool tlscert_usable(const char *dir)
{
	char path[512];
	time_t soon = time(NULL) + 3600;
	bool ok = false;
	X509 *cert;
	FILE *f;

	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (access(path, R_OK))
		return false;
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if (access(path, R_OK))
		return false;
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert)
		ok = X509_cmp_time(X509_get0_notAfter(cert), &soon) > 0;
	/* and the key is the certificate's (not half of an earlier set) */
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	f = ok ? fopen(path, "r") : NULL;
	if (f) {
		EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);

		fclose(f);
		ok = key && X509_check_private_key(cert, key) == 1;
		EVP_PKEY_free(key);
	} else {
		ok = false;
	}
	X509_free(cert);
	return ok;
}

int tlscert_make(const char *dir, const char *ip, const char *dns)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *cert = NULL;
	char san[256];
	int err = -EIO;

	snprintf(san, sizeof(san), "IP:%s,DNS:%s", ip, dns);
	if (ca_key && key)
		ca = make_cert(ca_key, "Prism testbed CA (throw-away)", NULL,
			       ca_key, NULL);
	if (ca)
		cert = make_cert(key, dns, ca, ca_key, san);
	if (cert) {
		err = write_pem(dir, "ca.pem", 0644, (X509 *[]){ ca, NULL },
				NULL);
		if (!err)
			err = write_pem(dir, "cert.pem", 0644,
					(X509 *[]){ cert, ca, NULL }, NULL);
		if (!err)
			err = write_pem(dir, "key.pem", 0600, NULL, key);
	}
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key); /* never written: the CA signs nothing else */
	return err;
}
