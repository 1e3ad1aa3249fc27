/* An established OpenSSL connection's record state, for tlsrec.h.
 *
 * OpenSSL has no call that returns a connection's traffic keys, but it
 * gives what they are derived from: TLS 1.3's traffic secrets through the
 * key-log callback (the lines SSLKEYLOGFILE would get), TLS 1.2's master
 * secret and the two randoms through SSL_SESSION_get_master_key() and
 * SSL_get_{client,server}_random().  The keys are derived from those with
 * OpenSSL's KDFs (HKDF, TLS1-PRF) exactly as the handshake did.  Record
 * sequence numbers have no getter either: the caller counts the records
 * that went each way since the keys changed (tlsexport_state's seqs). */
#pragma once
#include <stdint.h>

#include <openssl/ssl.h>

#include "lib/tlsrec.h"

/* Before the first connection of ctx: keeps each connection's TLS 1.3
 * traffic secrets (installs ctx's key-log callback, which must stay ours:
 * it replaces any other, such as one writing SSLKEYLOGFILE) and turns TLS
 * 1.2 renegotiation off (a renegotiated session's keys could not follow).
 * Every SSL_CTX a connection can end up with must be prepared, including
 * those an SNI callback switches to with SSL_set_SSL_CTX: OpenSSL calls
 * the key-log callback of the connection's current context.  0, or
 * -ENOMEM. */
int tlsexport_prepare(SSL_CTX *ctx);

/* After ssl's handshake: this end's write direction (tx) and read
 * direction (rx), tx_seq and rx_seq records already sealed and opened
 * with their keys.  Call it once, right after the handshake and before
 * any SSL_read or SSL_write, with read-ahead off: only the first
 * application traffic secrets are kept (a KeyUpdate OpenSSL processed
 * would make them stale), and records OpenSSL read ahead would be missing
 * from rx_seq.  The TLS 1.3 secrets are wiped from ssl by the call.
 * -EINVAL: no handshake done, a version or suite tlsrec.h does not have,
 * (1.3) ctx not prepared or the state exported already. */
int tlsexport_state(SSL *ssl, uint64_t tx_seq, uint64_t rx_seq,
		    struct tlsrec_state *tx, struct tlsrec_state *rx);
