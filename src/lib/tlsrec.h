/* The TLS record layer of an established session, in user space (issue 16).
 *
 * OpenSSL does every handshake; once a connection's keys are known, its
 * records are sealed and opened here with OpenSSL's AEAD primitives (EVP),
 * because the session has to move: the backend that a connection is handed
 * to must write the response records and read the next request's, with the
 * same keys and record sequence numbers, and no TLS library can import an
 * established session (docs/tls.md says what was checked).
 *
 * One direction's state is the kernel's own layout (struct
 * tls12_crypto_info_* of <linux/tls.h>, TLS 1.2 and 1.3 alike), so that on
 * a kernel with kTLS the same bytes go to setsockopt(SOL_TLS, TLS_TX or
 * TLS_RX) as they are; TLS 1.3 also keeps the traffic secret, which a
 * KeyUpdate needs and the kernel does not.
 *
 * Suites: TLS 1.3 and 1.2 with AES-128-GCM, AES-256-GCM and
 * ChaCha20-Poly1305 (for 1.2, any suite with one of those ciphers: which
 * key exchange the handshake used is the terminator's choice; no CBC, no
 * CCM).  Records up to 2^14 bytes of plaintext; one record per call.
 *
 * Not enforced here: AES-GCM's usage limit (RFC 8446 5.5, about 2^24.5
 * full records per key).  The holder of a TLS 1.3 connection would send
 * a KeyUpdate before it; nothing does yet (docs/tls.md). */
#pragma once
#include <linux/tls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLSREC_HEADER	 5
#define TLSREC_TAG	 16
#define TLSREC_PLAIN_MAX 16384
/* TLS 1.3 (RFC 8446 5.2): ciphertext at most 2^14 + 256; TLS 1.2 (RFC
 * 5246 6.2.3): 2^14 + 2048.  Over that, record_overflow. */
#define TLSREC_CIPHER_MAX13 (16384 + 256)
#define TLSREC_CIPHER_MAX12 (16384 + 2048)
/* The largest record seal() writes: header, explicit nonce (1.2 GCM),
 * plaintext, content type (1.3), tag. */
#define TLSREC_RECORD_MAX                                                      \
	(TLSREC_HEADER + 8 + TLSREC_PLAIN_MAX + 1 + TLSREC_TAG)
#define TLSREC_SECRET_MAX 48

/* Content types (RFC 8446 5.1). */
#define TLSREC_CHANGE_CIPHER_SPEC 20
#define TLSREC_ALERT		  21
#define TLSREC_HANDSHAKE	  22
#define TLSREC_APPLICATION_DATA	  23

/* Exactly what setsockopt(SOL_TLS) takes; info.cipher_type says which. */
union tlsrec_kernel {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* One direction of one connection: what travels in a hand-off. */
struct tlsrec_state {
	union tlsrec_kernel k; /* key, salt/IV and rec_seq (big-endian) */
	uint8_t secret[TLSREC_SECRET_MAX]; /* TLS 1.3 traffic secret */
	uint8_t secret_len;		   /* 0 for TLS 1.2 */
};

struct tlsrec_dir;

/* A direction ready for use (an EVP context keyed from st), or NULL with
 * errno set (EINVAL: a version or cipher not listed above, or a secret
 * length other than the suite's hash for 1.3 and 0 for 1.2). */
struct tlsrec_dir *tlsrec_new(const struct tlsrec_state *st);
void tlsrec_free(struct tlsrec_dir *d);
/* Its state now (rec_seq current): for a hand-off, or for kTLS. */
void tlsrec_state_get(const struct tlsrec_dir *d, struct tlsrec_state *st);
uint64_t tlsrec_seq(const struct tlsrec_dir *d);
/* Bytes of the kernel struct for this cipher (setsockopt's optlen). */
size_t tlsrec_kernel_size(const union tlsrec_kernel *k);

/* The length of the whole record at the start of buf (header included),
 * 0 if fewer than TLSREC_HEADER bytes are there, or -EMSGSIZE if its
 * length is over the version's limit, -EPROTO for a header that is not a
 * TLS record (an unknown content type, a legacy version other than 3.x). */
ssize_t tlsrec_frame(const struct tlsrec_dir *d, const uint8_t *buf,
		     size_t len);

/* Seals n <= TLSREC_PLAIN_MAX bytes as one record of content type type
 * (TLSREC_ALERT .. TLSREC_APPLICATION_DATA) into out (at least
 * n + TLSREC_RECORD_MAX - TLSREC_PLAIN_MAX bytes); p may lie inside out
 * (sealing in place).  Returns the record's length; -EINVAL for a type,
 * length or capacity out of range; -EOVERFLOW once the sequence number
 * would wrap; -EIO if OpenSSL fails. */
ssize_t tlsrec_seal(struct tlsrec_dir *d, uint8_t type, const void *p, size_t n,
		    uint8_t *out, size_t cap);

/* Opens the one whole record rec[0..len) (tlsrec_frame's length) in
 * place: *type and *plain point at its content type and plaintext inside
 * rec.  -EBADMSG: the tag does not verify (bad_record_mac); -EMSGSIZE:
 * a plaintext over 2^14 (record_overflow); -EPROTO: malformed (shorter
 * than a tag, a TLS 1.3 record of an outer type other than application
 * data, an inner or 1.2 content type other than alert, handshake or
 * application data, or none at all: unexpected_message); -EINVAL: len is
 * not one whole record; -EOVERFLOW: the sequence number would wrap;
 * -EIO: OpenSSL failed.  Only a record that opens advances the sequence
 * number.  After an error rec holds garbage (the connection is over
 * anyway). */
ssize_t tlsrec_open(struct tlsrec_dir *d, uint8_t *rec, size_t len,
		    uint8_t *type, uint8_t **plain);

/* TLS 1.3 KeyUpdate (RFC 8446 4.6.3, 7.2): the next traffic secret, its
 * key and IV, sequence number 0.  -EINVAL for TLS 1.2; -EIO if OpenSSL
 * fails, the direction unchanged. */
int tlsrec_key_update(struct tlsrec_dir *d);

/* Builds one direction's state.  TLS 1.3: from its traffic secret (the
 * hash is the suite's: SHA-384 for AES-256-GCM, else SHA-256).  TLS 1.2:
 * from its write key and its IV (4-byte salt for GCM, 12 bytes for
 * ChaCha20).  seq: records already sent in that direction with these
 * keys. */
int tlsrec_state_tls13(struct tlsrec_state *st, int cipher_type,
		       const uint8_t *secret, size_t len, uint64_t seq);
int tlsrec_state_tls12(struct tlsrec_state *st, int cipher_type,
		       const uint8_t *key, const uint8_t *iv, uint64_t seq);

/* The state's wire form, for a hand-off message: TLSREC_WIRE_LEN bytes,
 * each field at its largest size and big-endian, unused bytes zero.
 * decode refuses (-EINVAL) a version or cipher not listed above, a secret
 * length that is not the suite's (1.3) or 0 (1.2), and non-zero unused
 * bytes: one encoding per state. */
#define TLSREC_WIRE_LEN (2 + 2 + 32 + 4 + 12 + 8 + 1 + TLSREC_SECRET_MAX)
void tlsrec_state_encode(const struct tlsrec_state *st,
			 uint8_t out[TLSREC_WIRE_LEN]);
int tlsrec_state_decode(struct tlsrec_state *st,
			const uint8_t in[TLSREC_WIRE_LEN]);
