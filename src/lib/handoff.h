/* The hand-off protocol between the controller and the backends: versioned,
 * length-prefixed binary messages over a persistent TCP connection.  The
 * first message each way, HELLO, is authenticated with HMAC-SHA256 under
 * the shared key (lib/auth.h); every later one is sealed with AES-256-GCM
 * under a key of its direction and channel, derived from the shared key
 * and both HELLOs' nonces (ho_aead_init): a message's TCP state, request
 * and queues, and later a TLS session's keys, never cross the fabric in
 * clear.  The header stays readable (it frames the stream) and is
 * authenticated as the AEAD's additional data.
 *
 * Wire format (network byte order):
 *   header  (44 B)  magic "PRHO", version, type, status, total length,
 *                   sequence number, connection id, flags, http status
 *                   (HANDBACK only, else 0), body lengths
 *   tcp     (68 B)  the frozen TCP state, tcpr_state_encode() (HANDOFF and
 *                   HANDBACK only); its queue lengths must match inq, outq
 *   tls    (222 B)  HO_F_TLS only (HANDOFF, HANDBACK, sealed messages
 *                   only): the session's write and read state
 *                   (tlsrec_state_encode each) and the length of
 *   tls_in          the ciphertext read from the client but not yet
 *                   opened (whole records and the start of one)
 *   pending         bytes the sender's application read but did not use
 *                   (HANDOFF: the request head and whatever followed it)
 *   inq             the socket's receive queue (unread bytes)
 *   outq            the socket's send queue (unacknowledged + unsent bytes)
 *   mac     (32 B)  HELLO: HMAC over everything before it
 *   tag     (16 B)  other types: the GCM tag; the bytes between header
 *                   and tag are encrypted; the nonce is the direction's
 *                   IV xored with the sequence number
 *
 * Messages:
 *   HANDOFF       controller -> backend: take over this connection and
 *                 serve the request in `pending`
 *   HANDOFF_ACK   backend -> controller: status 0 = taken (the backend owns
 *                 the flow at the switch), else the reason it refused
 *   HANDBACK      backend -> controller: the response is sent; here is the
 *                 connection back
 *   HANDBACK_ACK  controller -> backend: status 0 = restored
 *   HELLO         both ways, first on a channel: conn_id carries a random
 *                 nonce; the peer numbers its messages from it, so a
 *                 message recorded on another channel never verifies here
 *   CLOSED        backend -> controller: the connection ended at the
 *                 backend (client reset or closed it, or a fatal error);
 *                 the controller forgets it
 *   HANDOFF_DATA  controller -> backend, after a HANDOFF with HO_F_MORE:
 *                 more of that request's bytes (pending only, no TCP
 *                 state), appended to the HANDOFF's pending in order; the
 *                 last one has no HO_F_MORE
 *   REQUEST       controller -> backend: one request (pending: its head;
 *                 GET or HEAD, no body), to be answered in-line if the
 *                 whole response is at most relay_kb KiB
 *   RESPONSE      backend -> controller, for a REQUEST: status 0 and the
 *                 whole response in pending (http status, HO_F_CLOSE when
 *                 the connection must close after it); HO_DECLINED and no
 *                 bytes when it is larger or not one to relay (the
 *                 controller hands the connection off instead)
 *
 * Sequence numbers strictly increase on each direction of a channel and
 * start from the receiver's HELLO nonce (lib/hochan.c), so a replayed,
 * reordered or transplanted message is rejected even with a valid MAC. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/auth.h"
#include "lib/tcprepair.h"
#include "lib/tlsrec.h"

#define HO_MAGIC 0x5052484fu /* "PRHO" */
#define HO_VERSION 3 /* 2: REQUEST, RESPONSE; 3: sealed */
#define HO_TAG_LEN 16
#define HO_HEADER_LEN 44
#define HO_TCP_LEN TCPR_WIRE_LEN
#define HO_MAX_MSG (64u << 20) /* queues are bounded by socket buffers */

/* Limits both ends must agree on (controller and backend). */
/* The request buffer at either end: a request head (the parser allows
 * 8 KB) with what was pipelined behind it.  A HANDBACK's pending bytes
 * (read by the backend, not used) never exceed it. */
#define HO_REQUEST_BUF 16384
/* The same for a TLS connection: one record's plaintext more, so that a
 * whole record always fits behind a partial request head (a record is
 * opened whole or not at all).  Its HANDBACK's pending bytes never exceed
 * it. */
#define HO_TLS_REQUEST_BUF (HO_REQUEST_BUF + TLSREC_PLAIN_MAX + 256)
/* The most pending bytes a HANDOFF brings, with its HANDOFF_DATA: the
 * head, a small body the controller received, what followed them.  The
 * backend refuses more; the controller hands off no more. */
#define HO_PENDING_MAX (256u << 10)
/* HANDOFF_DATA carries at most this much each: a backend can use them
 * one by one. */
#define HO_DATA_CHUNK (64u << 10)

enum ho_type {
	HO_HANDOFF = 1,
	HO_HANDOFF_ACK = 2,
	HO_HANDBACK = 3,
	HO_HANDBACK_ACK = 4,
	HO_CLOSED = 5,
	HO_HELLO = 6,
	HO_HANDOFF_DATA = 7,
	HO_REQUEST = 8,
	HO_RESPONSE = 9,
};

/* Status codes in ACKs. */
enum ho_status {
	HO_OK = 0,
	HO_ERR_RESTORE = 1,  /* TCP_REPAIR restore failed */
	HO_ERR_SWITCH = 2,   /* the switch refused or did not answer */
	HO_ERR_OVERLOAD = 3, /* connection limit reached */
	HO_ERR_BAD = 4,      /* message inconsistent */
	HO_DECLINED = 5,     /* RESPONSE: not relayed, hand the connection off */
};


/* HANDBACK: close the connection after restore; RESPONSE: after the
 * response. */
#define HO_F_CLOSE 0x1u
/* HANDOFF: the flow is LOCKED for the address the controller connected
 * to; the backend claims it in band (prism_abi.h) if that is its own. */
#define HO_F_CLAIM 0x2u
/* HANDOFF, HANDOFF_DATA: the request's bytes continue in a HANDOFF_DATA
 * message.  An upload's body queued at the controller travels after the
 * connection instead of inside its HANDOFF, so that the backend restores
 * and claims the flow (and the client may send again) without waiting for
 * it. */
#define HO_F_MORE 0x4u
/* HANDOFF, HANDBACK: the connection is TLS; its session's state comes
 * with it (tls_tx, tls_rx, tls_in).  Never in a signed (clear) message:
 * ho_encode refuses it and ho_decode rejects it. */
#define HO_F_TLS 0x8u
#define HO_TLS_LEN (2 * TLSREC_WIRE_LEN + 4)
/* The most ciphertext that travels: TLSCONN_IN_MAX (lib/tlsconn.h). */
#define HO_TLS_IN_MAX (2 * (TLSREC_HEADER + TLSREC_CIPHER_MAX12))

struct ho_msg {
	uint8_t type;
	uint8_t status;
	uint16_t flags;
	/* HANDBACK, RESPONSE: the status of the response the backend sent,
	 * for the controller's metrics and access log (0: not reported).
	 * REQUEST: relay_kb, the longest response (KiB) to answer in-line.
	 * Carried in the header's former reserved 16 bits: 0 in other types. */
	uint16_t http_status;
	uint16_t relay_kb;
	uint64_t seq;
	uint64_t conn_id;
	struct tcpr_state tcp;
	/* HO_F_TLS: the server side's write and read directions. */
	struct tlsrec_state tls_tx, tls_rx;
	/* Point into the decoded buffer (decode) or the caller's memory
	 * (encode). */
	const uint8_t *tls_in, *pending, *inq, *outq;
	uint32_t tls_in_len, pending_len, inq_len, outq_len;
};

/* Decode errors, negative. */
enum ho_err {
	HO_E_MAGIC = 1,
	HO_E_VERSION,
	HO_E_TYPE,
	HO_E_LENGTH,
	HO_E_MAC,
	HO_E_FIELD,
};

/* Size of the encoded message. */
size_t ho_encoded_len(const struct ho_msg *m);

/* Encodes into buf (capacity cap).  Returns the length, or -ENOSPC or
 * -EMSGSIZE (larger than HO_MAX_MSG), -EINVAL for HO_F_TLS (keys are
 * only ever sealed: ho_seal). */
long ho_encode(const struct ho_msg *m, const struct auth_key *key,
	       uint8_t *buf, size_t cap);

/* Decodes one message at the start of buf.  Returns its length (> 0),
 * 0 when more bytes are needed, or -HO_E_*.  After an error the stream is
 * unusable (framing is lost): close it. */
long ho_decode(const uint8_t *buf, size_t len, const struct auth_key *key,
	       struct ho_msg *m);

/* One direction of a confidential channel (AES-256-GCM). */
struct ho_aead {
	EVP_CIPHER_CTX *ctx;
	uint8_t iv[12];
	uint64_t last_seq; /* seal: the last sequence number used */
	bool seal, used;
};

/* Keys one direction: the sender's messages, numbered from the
 * receiver's nonce.  Both ends derive the same key from the shared key
 * and the two nonces (HKDF-SHA256); each channel and direction has its
 * own, so a message never opens on another channel or reflected back to
 * its sender.  0 or -EIO. */
int ho_aead_init(struct ho_aead *a, const struct auth_key *key,
		 uint64_t sender_nonce, uint64_t receiver_nonce, bool seal);
void ho_aead_clear(struct ho_aead *a);

/* Wipes M's TLS state (HO_F_TLS) once the message is sent or used. */
void ho_wipe_tls(struct ho_msg *m);

/* Size of the sealed message. */
size_t ho_sealed_len(const struct ho_msg *m);
/* Like ho_encode, sealed.  -EINVAL when m->seq is not above every
 * sequence number sealed before under A (a GCM nonce used twice would
 * give the key away). */
long ho_seal(const struct ho_msg *m, struct ho_aead *a, uint8_t *buf,
	     size_t cap);
/* Seals the LEN bytes at BUF as they are (a header with its sequence
 * number, a body, room for the tag), whatever they say: for tests and the
 * fuzzer, which need sealed messages ho_seal would never write.  Nothing
 * checks that the nonce is new. */
long ho_seal_raw(uint8_t *buf, size_t len, struct ho_aead *a);
/* Like ho_decode, for a sealed message, decrypted in place: -HO_E_MAC
 * when it does not open (tampered, another key).  After an error the
 * buffer's bytes are garbage. */
long ho_open(uint8_t *buf, size_t len, struct ho_aead *a, struct ho_msg *m);

const char *ho_strerror(long err);
const char *ho_type_name(int type);
