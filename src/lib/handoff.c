#include "lib/handoff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static bool has_tcp(int type)
{
	return type == HO_HANDOFF || type == HO_HANDBACK;
}

/* Types whose only body is pending bytes. */
static bool has_data(int type)
{
	return type == HO_HANDOFF_DATA || type == HO_REQUEST ||
	       type == HO_RESPONSE;
}

/* The header's 16-bit slot: a status, a limit, or nothing. */
static uint16_t slot16(const struct ho_msg *m)
{
	if (m->type == HO_HANDBACK || m->type == HO_RESPONSE)
		return m->http_status;
	return m->type == HO_REQUEST ? m->relay_kb : 0;
}

static bool has_tls(const struct ho_msg *m)
{
	return has_tcp(m->type) && (m->flags & HO_F_TLS);
}

/* Bytes after the header: the TCP state (and TLS session) and queues, or
 * the pending bytes of a type that has only those. */
static uint64_t body_len(const struct ho_msg *m)
{
	uint64_t tls = has_tls(m) ? HO_TLS_LEN + (uint64_t)m->tls_in_len : 0;

	if (has_tcp(m->type))
		return HO_TCP_LEN + tls + (uint64_t)m->pending_len +
		       m->inq_len + m->outq_len;
	return has_data(m->type) ? m->pending_len : 0;
}

static void put16(uint8_t **p, uint16_t v)
{
	v = htons(v);
	memcpy(*p, &v, 2);
	*p += 2;
}

static void put32(uint8_t **p, uint32_t v)
{
	v = htonl(v);
	memcpy(*p, &v, 4);
	*p += 4;
}

static void put64(uint8_t **p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p, (uint32_t)v);
}

/* Raw bytes already in network order (addresses, ports). */
static void putraw(uint8_t **p, const void *v, size_t n)
{
	memcpy(*p, v, n);
	*p += n;
}

static uint16_t get16(const uint8_t **p)
{
	uint16_t v;

	memcpy(&v, *p, 2);
	*p += 2;
	return ntohs(v);
}

static uint32_t get32(const uint8_t **p)
{
	uint32_t v;

	memcpy(&v, *p, 4);
	*p += 4;
	return ntohl(v);
}

static uint64_t get64(const uint8_t **p)
{
	uint64_t hi = get32(p);

	return hi << 32 | get32(p);
}

size_t ho_encoded_len(const struct ho_msg *m)
{
	return HO_HEADER_LEN + AUTH_MAC_LEN + (size_t)body_len(m);
}

size_t ho_sealed_len(const struct ho_msg *m)
{
	return HO_HEADER_LEN + HO_TAG_LEN + (size_t)body_len(m);
}

/* The TLS section: both directions' state, the unopened ciphertext. */
static void put_tls(uint8_t **p, const struct ho_msg *m)
{
	tlsrec_state_encode(&m->tls_tx, *p);
	tlsrec_state_encode(&m->tls_rx, *p + TLSREC_WIRE_LEN);
	*p += 2 * TLSREC_WIRE_LEN;
	put32(p, m->tls_in_len);
	if (m->tls_in_len)
		putraw(p, m->tls_in, m->tls_in_len);
}

/* Writes header and body, leaving TRAILER bytes for the MAC or tag (a TLS
 * session only when sealed).  Returns the whole length or -errno. */
static long encode_clear(const struct ho_msg *m, size_t trailer,
			 uint8_t *buf, size_t cap)
{
	size_t len = HO_HEADER_LEN + trailer + (size_t)body_len(m);
	uint8_t *p = buf;
	bool tcp = has_tcp(m->type), data = has_data(m->type);

	if ((m->flags & HO_F_TLS) &&
	    (!tcp || trailer != HO_TAG_LEN || m->tls_in_len > HO_TLS_IN_MAX))
		return -EINVAL;
	if (len > HO_MAX_MSG)
		return -EMSGSIZE;
	if (len > cap)
		return -ENOSPC;
	put32(&p, HO_MAGIC);
	*p++ = HO_VERSION;
	*p++ = m->type;
	*p++ = m->status;
	*p++ = 0;
	put32(&p, (uint32_t)len);
	put64(&p, m->seq);
	put64(&p, m->conn_id);
	put16(&p, m->flags);
	put16(&p, slot16(m));
	put32(&p, tcp || data ? m->pending_len : 0);
	put32(&p, tcp ? m->inq_len : 0);
	put32(&p, tcp ? m->outq_len : 0);
	if (tcp) {
		if (tcpr_state_encode(&m->tcp, p, HO_TCP_LEN) != HO_TCP_LEN)
			return -EINVAL;
		p += HO_TCP_LEN;
		if (has_tls(m))
			put_tls(&p, m);
		if (m->pending_len)
			putraw(&p, m->pending, m->pending_len);
		if (m->inq_len)
			putraw(&p, m->inq, m->inq_len);
		if (m->outq_len)
			putraw(&p, m->outq, m->outq_len);
	} else if (data && m->pending_len) {
		putraw(&p, m->pending, m->pending_len);
	}
	return (long)len;
}

long ho_encode(const struct ho_msg *m, const struct auth_key *key,
	       uint8_t *buf, size_t cap)
{
	long len = encode_clear(m, AUTH_MAC_LEN, buf, cap);

	if (len > 0)
		auth_sign(key, buf, (size_t)len - AUTH_MAC_LEN,
			  buf + len - AUTH_MAC_LEN);
	return len;
}

/* Checks the header fields that do not need the whole message. */
static long check_header(uint8_t version, uint8_t type, uint32_t total,
			 size_t trailer)
{
	if (version != HO_VERSION)
		return -HO_E_VERSION;
	if (type < HO_HANDOFF || type > HO_RESPONSE)
		return -HO_E_TYPE;
	if (total < HO_HEADER_LEN + trailer || total > HO_MAX_MSG)
		return -HO_E_LENGTH;
	return 0;
}

/* HANDOFF_DATA and REQUEST carry bytes; a RESPONSE carries them exactly
 * when it is not declined, and a REQUEST names a limit.  No flag but
 * HO_F_CLOSE on an answered RESPONSE; a declined one says nothing else. */
static bool data_consistent(const struct ho_msg *m)
{
	if (m->type == HO_HANDOFF_DATA)
		return m->pending_len;
	if (m->type == HO_REQUEST)
		return m->pending_len && m->relay_kb && !m->flags;
	if (m->type == HO_RESPONSE && m->status == HO_OK)
		return m->pending_len && !(m->flags & ~HO_F_CLOSE);
	if (m->type == HO_RESPONSE)
		return m->status == HO_DECLINED && !m->pending_len &&
		       !m->flags && !m->http_status;
	return true;
}

/* The TLS section at P (inside a message of TOTAL bytes at BUF): its
 * ciphertext length first, so that the body's length can be checked. */
static long decode_tls_len(const uint8_t *buf, uint32_t total, size_t trailer,
			   struct ho_msg *m)
{
	const uint8_t *p = buf + HO_HEADER_LEN + HO_TCP_LEN;

	m->tls_in_len = 0;
	if (!has_tls(m))
		return 0;
	if (trailer != HO_TAG_LEN)
		return -HO_E_FIELD; /* keys in a message sent in clear */
	if (total < HO_HEADER_LEN + HO_TCP_LEN + HO_TLS_LEN + trailer)
		return -HO_E_LENGTH;
	p += 2 * TLSREC_WIRE_LEN;
	m->tls_in_len = get32(&p);
	return m->tls_in_len > HO_TLS_IN_MAX ? -HO_E_FIELD : 0;
}

static long decode_tls(const uint8_t **p, struct ho_msg *m)
{
	if (tlsrec_state_decode(&m->tls_tx, *p) ||
	    tlsrec_state_decode(&m->tls_rx, *p + TLSREC_WIRE_LEN) ||
	    m->tls_tx.k.info.version != m->tls_rx.k.info.version ||
	    m->tls_tx.k.info.cipher_type != m->tls_rx.k.info.cipher_type)
		return -HO_E_FIELD;
	*p += HO_TLS_LEN;
	m->tls_in = *p;
	*p += m->tls_in_len;
	return 0;
}

static long decode_body(const uint8_t *buf, uint32_t total, size_t trailer,
			struct ho_msg *m, uint32_t reserved)
{
	const uint8_t *p = buf + HO_HEADER_LEN;
	uint64_t want = HO_HEADER_LEN + trailer;
	long lerr;
	int err;

	if (reserved)
		return -HO_E_FIELD;
	lerr = decode_tls_len(buf, total, trailer, m);
	if (lerr)
		return lerr;
	if (!has_tcp(m->type) && (m->inq_len || m->outq_len ||
				  (!has_data(m->type) && m->pending_len)))
		return -HO_E_LENGTH;
	if (!data_consistent(m))
		return -HO_E_FIELD;
	want += body_len(m);
	if (want != total)
		return -HO_E_LENGTH;
	if (has_data(m->type)) {
		m->pending = p;
		return total;
	}
	if (!has_tcp(m->type))
		return total;
	err = tcpr_state_decode(&m->tcp, p, HO_TCP_LEN);
	if (err != HO_TCP_LEN || m->tcp.inq_len != m->inq_len ||
	    m->tcp.outq_len != m->outq_len ||
	    m->tcp.unsent_len > m->outq_len)
		return -HO_E_FIELD;
	p += HO_TCP_LEN;
	if (has_tls(m) && decode_tls(&p, m))
		return -HO_E_FIELD;
	m->pending = p;
	m->inq = p + m->pending_len;
	m->outq = m->inq + m->inq_len;
	return total;
}

/* The first 12 bytes: magic, version, type, status and length.  Returns
 * the whole message's length, 0 when more bytes are needed, or -HO_E_*. */
static long frame(const uint8_t *buf, size_t len, size_t trailer,
		  struct ho_msg *m, uint32_t *reserved)
{
	const uint8_t *p = buf;
	uint32_t total;
	uint8_t version;
	long err;

	if (len < 12)
		return 0;
	if (get32(&p) != HO_MAGIC)
		return -HO_E_MAGIC;
	version = *p++;
	m->type = *p++;
	m->status = *p++;
	*reserved = *p++;
	total = get32(&p);
	err = check_header(version, m->type, total, trailer);
	if (err)
		return err;
	return len < total ? 0 : (long)total;
}

/* The rest of the header and the body, once authenticated. */
static long decode_fields(const uint8_t *buf, uint32_t total, size_t trailer,
			  struct ho_msg *m, uint32_t reserved)
{
	const uint8_t *p = buf + 12;

	m->seq = get64(&p);
	m->conn_id = get64(&p);
	m->flags = get16(&p);
	m->http_status = get16(&p);
	m->relay_kb = 0;
	if (m->type == HO_REQUEST) {
		m->relay_kb = m->http_status;
		m->http_status = 0;
	} else if (m->type != HO_HANDBACK && m->type != HO_RESPONSE) {
		reserved |= m->http_status;
	}
	m->pending_len = get32(&p);
	m->inq_len = get32(&p);
	m->outq_len = get32(&p);
	if ((m->flags & ~(HO_F_CLOSE | HO_F_CLAIM | HO_F_MORE | HO_F_TLS)) ||
	    ((m->flags & HO_F_MORE) && m->type != HO_HANDOFF &&
	     m->type != HO_HANDOFF_DATA) ||
	    ((m->flags & HO_F_TLS) && !has_tcp(m->type)))
		return -HO_E_FIELD;
	return decode_body(buf, total, trailer, m, reserved);
}

long ho_decode(const uint8_t *buf, size_t len, const struct auth_key *key,
	       struct ho_msg *m)
{
	uint32_t reserved;
	long total = frame(buf, len, AUTH_MAC_LEN, m, &reserved);

	if (total <= 0)
		return total;
	/* Authenticate before trusting anything else in the message. */
	if (!auth_verify(key, buf, (size_t)total - AUTH_MAC_LEN,
			 buf + total - AUTH_MAC_LEN))
		return -HO_E_MAC;
	return decode_fields(buf, (uint32_t)total, AUTH_MAC_LEN, m, reserved);
}

/* --- the confidential channel ---------------------------------------- */

#define HO_KEY_LEN 32 /* AES-256 */
#define HO_IV_LEN 12

/* HKDF-SHA256 (RFC 5869) from the shared key: a key and an IV for one
 * direction of one channel, named by both ends' nonces. */
static int derive(const struct auth_key *key, uint64_t from, uint64_t to,
		  uint8_t out[HO_KEY_LEN + HO_IV_LEN])
{
	static const char label[] = "prism ho aes-256-gcm";
	uint8_t info[sizeof(label) - 1 + 16], *p = info + sizeof(label) - 1;

	memcpy(info, label, sizeof(label) - 1);
	put64(&p, from);
	put64(&p, to);
	return auth_hkdf(key->bytes, key->len, "prism hand-off channel v3", info,
			 sizeof(info), out, HO_KEY_LEN + HO_IV_LEN);
}

int ho_aead_init(struct ho_aead *a, const struct auth_key *key,
		 uint64_t sender_nonce, uint64_t receiver_nonce, bool seal)
{
	uint8_t km[HO_KEY_LEN + HO_IV_LEN];
	int rc;

	memset(a, 0, sizeof(*a));
	rc = derive(key, sender_nonce, receiver_nonce, km);
	a->ctx = rc ? NULL : EVP_CIPHER_CTX_new();
	if (a->ctx &&
	    EVP_CipherInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, km, NULL,
			      seal) == 1) {
		memcpy(a->iv, km + HO_KEY_LEN, HO_IV_LEN);
		a->seal = seal;
		rc = 0;
	} else {
		EVP_CIPHER_CTX_free(a->ctx);
		a->ctx = NULL;
		rc = -EIO;
	}
	OPENSSL_cleanse(km, sizeof(km));
	return rc;
}

void ho_wipe_tls(struct ho_msg *m)
{
	OPENSSL_cleanse(&m->tls_tx, sizeof(m->tls_tx));
	OPENSSL_cleanse(&m->tls_rx, sizeof(m->tls_rx));
}

void ho_aead_clear(struct ho_aead *a)
{
	EVP_CIPHER_CTX_free(a->ctx);
	OPENSSL_cleanse(a, sizeof(*a));
}

/* The message's nonce: the IV with the sequence number xored into its
 * last 8 bytes (as TLS 1.3 does).  Unique while seq only grows. */
static void nonce(const struct ho_aead *a, uint64_t seq,
		  uint8_t out[HO_IV_LEN])
{
	memcpy(out, a->iv, HO_IV_LEN);
	for (int i = 0; i < 8; i++)
		out[HO_IV_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* Encrypts or decrypts BODY in place, the header as additional data;
 * the tag is written (seal) or checked (open).  0 or -1. */
static int aead_crypt(struct ho_aead *a, uint64_t seq, uint8_t *msg, size_t total)
{
	uint8_t iv[HO_IV_LEN], *body = msg + HO_HEADER_LEN;
	uint8_t *tag = msg + total - HO_TAG_LEN;
	int blen = (int)(total - HO_HEADER_LEN - HO_TAG_LEN), n, ok;

	nonce(a, seq, iv);
	ok = EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, a->seal) == 1 &&
	     EVP_CipherUpdate(a->ctx, NULL, &n, msg, HO_HEADER_LEN) == 1 &&
	     (!blen || EVP_CipherUpdate(a->ctx, body, &n, body, blen) == 1);
	if (ok && !a->seal)
		ok = EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG,
					 HO_TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(a->ctx, body + blen, &n) == 1;
	if (ok && a->seal)
		ok = EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG,
					 HO_TAG_LEN, tag) == 1;
	return ok ? 0 : -1;
}

long ho_seal(const struct ho_msg *m, struct ho_aead *a, uint8_t *buf,
	     size_t cap)
{
	long len;

	if (!a->ctx || !a->seal || (a->used && m->seq <= a->last_seq))
		return -EINVAL; /* a nonce must never be used twice */
	len = encode_clear(m, HO_TAG_LEN, buf, cap);
	if (len < 0)
		return len;
	if (aead_crypt(a, m->seq, buf, (size_t)len))
		return -EIO;
	a->last_seq = m->seq;
	a->used = true;
	return len;
}

long ho_seal_raw(uint8_t *buf, size_t len, struct ho_aead *a)
{
	const uint8_t *p = buf + 12;

	if (!a->ctx || !a->seal || len < HO_HEADER_LEN + HO_TAG_LEN)
		return -EINVAL;
	return aead_crypt(a, get64(&p), buf, len) ? -EIO : (long)len;
}

long ho_open(uint8_t *buf, size_t len, struct ho_aead *a, struct ho_msg *m)
{
	uint32_t reserved;
	long total = frame(buf, len, HO_TAG_LEN, m, &reserved);
	const uint8_t *p = buf + 12;

	if (total <= 0)
		return total;
	if (!a->ctx || a->seal || aead_crypt(a, get64(&p), buf, (size_t)total))
		return -HO_E_MAC;
	return decode_fields(buf, (uint32_t)total, HO_TAG_LEN, m, reserved);
}

const char *ho_strerror(long err)
{
	switch (-err) {
	case HO_E_MAGIC: return "bad magic";
	case HO_E_VERSION: return "unsupported version";
	case HO_E_TYPE: return "unknown message type";
	case HO_E_LENGTH: return "inconsistent length";
	case HO_E_MAC: return "bad authenticator";
	case HO_E_FIELD: return "invalid field";
	default: return "unknown error";
	}
}

const char *ho_type_name(int type)
{
	static const char *names[] = { "?", "HANDOFF", "HANDOFF_ACK",
				       "HANDBACK", "HANDBACK_ACK", "CLOSED",
				       "HELLO", "HANDOFF_DATA", "REQUEST",
				       "RESPONSE" };

	return type >= HO_HANDOFF && type <= HO_RESPONSE ? names[type] : "?";
}
