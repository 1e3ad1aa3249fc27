/* A throw-away certificate authority for the testbed's HTTPS (`prism up
 * --tls`): a CA made on the spot, whose key is never written, and one
 * server certificate it signs for the VIP's address and name. */
#pragma once
#include <stdbool.h>

/* Writes DIR/ca.pem (the CA certificate, for clients to trust),
 * DIR/cert.pem (the server certificate for IP and DNS, valid two days,
 * followed by the CA's) and DIR/key.pem (its key, mode 0600).  P-256 keys,
 * SHA-256 signatures.  0 or -errno (-EIO: OpenSSL failed). */
int tlscert_make(const char *dir, const char *ip, const char *dns);

/* Whether DIR holds what tlscert_make writes, the certificate valid for
 * at least another hour: `prism up --tls` keeps it then, so that clients
 * that trust the CA (and sessions resumed across a restart) keep working. */
bool tlscert_usable(const char *dir);
