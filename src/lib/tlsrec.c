#include "lib/tlsrec.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

struct tlsrec_dir {
	struct tlsrec_state st;
	EVP_CIPHER_CTX *ctx;
	uint64_t seq;
	uint8_t nonce_base[12]; /* 1.3 and ChaCha20: the IV; 1.2 GCM: salt */
};

/* What differs between the three suites. */
struct suite {
	int cipher_type;
	size_t key_len, salt_len, iv_len; /* the kernel struct's fields */
	const char *evp;		  /* OpenSSL's cipher name */
	const char *md;			  /* TLS 1.3 hash */
};

static const struct suite suites[] = {
    {TLS_CIPHER_AES_GCM_128, 16, 4, 8, "AES-128-GCM", "SHA256"},
    {TLS_CIPHER_AES_GCM_256, 32, 4, 8, "AES-256-GCM", "SHA384"},
    {TLS_CIPHER_CHACHA20_POLY1305, 32, 0, 12, "ChaCha20-Poly1305", "SHA256"},
};

static const struct suite *suite_of(int cipher_type)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].cipher_type == cipher_type)
			return &suites[i];
	return NULL;
}

/* TLS 1.3: the suite's hash length; 1.2 has no secret. */
static size_t secret_len_of(uint16_t version, int cipher_type)
{
	const struct suite *s = suite_of(cipher_type);

	if (version != TLS_1_3_VERSION)
		return 0;
	return strcmp(s->md, "SHA384") ? 32 : 48;
}

/* Pointers to the fields of whichever kernel struct k is. */
struct fields {
	uint8_t *key, *salt, *iv, *rec_seq;
};

static void fields_of(union tlsrec_kernel *k, struct fields *f)
{
	switch (k->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		*f = (struct fields){k->gcm128.key, k->gcm128.salt,
				     k->gcm128.iv, k->gcm128.rec_seq};
		break;
	case TLS_CIPHER_AES_GCM_256:
		*f = (struct fields){k->gcm256.key, k->gcm256.salt,
				     k->gcm256.iv, k->gcm256.rec_seq};
		break;
	default:
		*f = (struct fields){k->chacha.key, k->chacha.salt,
				     k->chacha.iv, k->chacha.rec_seq};
	}
}

size_t tlsrec_kernel_size(const union tlsrec_kernel *k)
{
	switch (k->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		return sizeof(k->gcm128);
	case TLS_CIPHER_AES_GCM_256:
		return sizeof(k->gcm256);
	case TLS_CIPHER_CHACHA20_POLY1305:
		return sizeof(k->chacha);
	}
	return 0;
}

static bool is13(const struct tlsrec_dir *d)
{
	return d->st.k.info.version == TLS_1_3_VERSION;
}

/* RFC 8446 7.1: HKDF-Expand(secret, HkdfLabel, len), the label prefixed
 * with "tls13 " and an empty context. */
static int expand_label(const char *md, const uint8_t *secret, size_t slen,
			const char *label, uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t llen = strlen("tls13 ") + strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, rc = -EIO;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;

	info[n++] = len >> 8;
	info[n++] = len & 0xff;
	info[n++] = llen;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, llen - 6);
	n += llen;
	info[n++] = 0; /* context: empty */
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf)
		kctx = EVP_KDF_CTX_new(kdf);
	if (kctx) {
		OSSL_PARAM p[] = {
		    OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)md, 0),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)secret, slen),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
						      n),
		    OSSL_PARAM_construct_end(),
		};
		if (EVP_KDF_derive(kctx, out, len, p) == 1)
			rc = 0;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

static void set_seq(union tlsrec_kernel *k, uint64_t seq)
{
	struct fields f;
	uint64_t be = htobe64(seq);

	fields_of(k, &f);
	memcpy(f.rec_seq, &be, 8);
}

/* key and IV of a TLS 1.3 direction from its secret (RFC 8446 7.3). */
static int keys_from_secret(struct tlsrec_state *st, const struct suite *s)
{
	uint8_t iv[12];
	struct fields f;
	int err;

	fields_of(&st->k, &f);
	err = expand_label(s->md, st->secret, st->secret_len, "key", f.key,
			   s->key_len);
	if (!err)
		err = expand_label(s->md, st->secret, st->secret_len, "iv", iv,
				   sizeof(iv));
	if (!err) {
		memcpy(f.salt, iv, s->salt_len);
		memcpy(f.iv, iv + s->salt_len, s->iv_len);
	}
	OPENSSL_cleanse(iv, sizeof(iv));
	return err;
}

int tlsrec_state_tls13(struct tlsrec_state *st, int cipher_type,
		       const uint8_t *secret, size_t len, uint64_t seq)
{
	const struct suite *s = suite_of(cipher_type);
	int err;

	if (!s || len != secret_len_of(TLS_1_3_VERSION, cipher_type))
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->k.info.version = TLS_1_3_VERSION;
	st->k.info.cipher_type = cipher_type;
	memcpy(st->secret, secret, len);
	st->secret_len = len;
	err = keys_from_secret(st, s);
	if (err) {
		OPENSSL_cleanse(st, sizeof(*st));
		return err;
	}
	set_seq(&st->k, seq);
	return 0;
}

int tlsrec_state_tls12(struct tlsrec_state *st, int cipher_type,
		       const uint8_t *key, const uint8_t *iv, uint64_t seq)
{
	const struct suite *s = suite_of(cipher_type);
	struct fields f;
	uint64_t be = htobe64(seq);

	if (!s)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->k.info.version = TLS_1_2_VERSION;
	st->k.info.cipher_type = cipher_type;
	fields_of(&st->k, &f);
	memcpy(f.key, key, s->key_len);
	if (s->salt_len) {
		/* GCM: the 4-byte implicit salt; our explicit nonce is the
		 * sequence number, as kTLS expects in iv (OpenSSL counts from
		 * a random start instead: any unique value will do). */
		memcpy(f.salt, iv, s->salt_len);
		memcpy(f.iv, &be, 8);
	} else {
		memcpy(f.iv, iv, s->iv_len);
	}
	set_seq(&st->k, seq);
	return 0;
}

static int dir_key(struct tlsrec_dir *d)
{
	const struct suite *s = suite_of(d->st.k.info.cipher_type);
	EVP_CIPHER *c;
	struct fields f;
	int ok;

	fields_of(&d->st.k, &f);
	memcpy(d->nonce_base, f.salt, s->salt_len);
	memcpy(d->nonce_base + s->salt_len, f.iv, s->iv_len);
	memcpy(&d->seq, f.rec_seq, 8);
	d->seq = be64toh(d->seq);
	c = EVP_CIPHER_fetch(NULL, s->evp, NULL);
	if (!c)
		return -EIO;
	ok = EVP_CipherInit_ex(d->ctx, c, NULL, f.key, NULL, 1);
	EVP_CIPHER_free(c);
	return ok == 1 ? 0 : -EIO;
}

struct tlsrec_dir *tlsrec_new(const struct tlsrec_state *st)
{
	struct tlsrec_dir *d;
	uint16_t v = st->k.info.version;

	if ((v != TLS_1_2_VERSION && v != TLS_1_3_VERSION) ||
	    !suite_of(st->k.info.cipher_type) ||
	    st->secret_len != secret_len_of(v, st->k.info.cipher_type)) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->st = *st;
	d->ctx = EVP_CIPHER_CTX_new();
	if (!d->ctx || dir_key(d)) {
		tlsrec_free(d);
		errno = EIO;
		return NULL;
	}
	return d;
}

void tlsrec_free(struct tlsrec_dir *d)
{
	if (!d)
		return;
	EVP_CIPHER_CTX_free(d->ctx);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

void tlsrec_state_get(const struct tlsrec_dir *d, struct tlsrec_state *st)
{
	*st = d->st;
	set_seq(&st->k, d->seq);
	if (!is13(d) &&
	    st->k.info.cipher_type != TLS_CIPHER_CHACHA20_POLY1305) {
		struct fields f;
		uint64_t be = htobe64(d->seq);

		fields_of(&st->k, &f);
		memcpy(f.iv, &be, 8); /* the next explicit nonce */
	}
}

uint64_t tlsrec_seq(const struct tlsrec_dir *d)
{
	return d->seq;
}

static size_t cipher_max(const struct tlsrec_dir *d)
{
	return is13(d) ? TLSREC_CIPHER_MAX13 : TLSREC_CIPHER_MAX12;
}

ssize_t tlsrec_frame(const struct tlsrec_dir *d, const uint8_t *buf, size_t len)
{
	size_t n;

	if (len < TLSREC_HEADER)
		return 0;
	/* TLS 1.3's legacy_record_version is ignored (RFC 8446 5.1); 1.2's
	 * is authenticated by nothing, so it must be 3,3 as OpenSSL wants. */
	if (buf[0] < TLSREC_CHANGE_CIPHER_SPEC ||
	    buf[0] > TLSREC_APPLICATION_DATA || buf[1] != 3 ||
	    (!is13(d) && buf[2] != 3))
		return -EPROTO;
	n = (size_t)buf[3] << 8 | buf[4];
	if (n > cipher_max(d))
		return -EMSGSIZE;
	return TLSREC_HEADER + n;
}

/* Nonce: the base xored with the sequence number (1.3, ChaCha20), or
 * the salt followed by the explicit nonce (1.2 GCM). */
static bool explicit_nonce(const struct tlsrec_dir *d)
{
	return !is13(d) &&
	       d->st.k.info.cipher_type != TLS_CIPHER_CHACHA20_POLY1305;
}

static void make_nonce(const struct tlsrec_dir *d, const uint8_t *explicit,
		       uint8_t nonce[12])
{
	uint64_t be = htobe64(d->seq);

	memcpy(nonce, d->nonce_base, 12);
	if (explicit) {
		memcpy(nonce + 4, explicit, 8);
		return;
	}
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= ((uint8_t *)&be)[i];
}

/* TLS 1.2's additional data (RFC 5246 6.2.3.3): seq, type, version,
 * plaintext length; TLS 1.3's is the record header. */
static size_t make_aad(const struct tlsrec_dir *d, const uint8_t *hdr,
		       uint8_t type, size_t plain_len, uint8_t aad[13])
{
	uint64_t be = htobe64(d->seq);

	if (is13(d)) {
		memcpy(aad, hdr, TLSREC_HEADER);
		return TLSREC_HEADER;
	}
	memcpy(aad, &be, 8);
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = plain_len >> 8;
	aad[12] = plain_len & 0xff;
	return 13;
}

static int aead(struct tlsrec_dir *d, int enc, const uint8_t nonce[12],
		const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t n,
		uint8_t *out, uint8_t *tag)
{
	int len;

	if (EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, nonce, enc) != 1 ||
	    EVP_CipherUpdate(d->ctx, NULL, &len, aad, aad_len) != 1 ||
	    (n && EVP_CipherUpdate(d->ctx, out, &len, in, n) != 1))
		return -EIO;
	if (!enc && EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG,
					TLSREC_TAG, tag) != 1)
		return -EIO;
	if (EVP_CipherFinal_ex(d->ctx, out + n, &len) != 1)
		return enc ? -EIO : -EBADMSG;
	if (enc && EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG,
				       TLSREC_TAG, tag) != 1)
		return -EIO;
	return 0;
}

/* What an established session carries in a protected record: no
 * change_cipher_spec (RFC 8446 5: unexpected_message), nothing unknown. */
static bool sealable(uint8_t type)
{
	return type >= TLSREC_ALERT && type <= TLSREC_APPLICATION_DATA;
}

ssize_t tlsrec_seal(struct tlsrec_dir *d, uint8_t type, const void *p, size_t n,
		    uint8_t *out, size_t cap)
{
	size_t ex = explicit_nonce(d) ? 8 : 0, inner = n + is13(d);
	size_t body = ex + inner + TLSREC_TAG, aad_len;
	uint8_t nonce[12], aad[13], *ct = out + TLSREC_HEADER + ex;
	uint64_t be = htobe64(d->seq);
	int err;

	if (n > TLSREC_PLAIN_MAX || cap < TLSREC_HEADER + body ||
	    !sealable(type))
		return -EINVAL;
	if (d->seq == UINT64_MAX)
		return -EOVERFLOW;
	/* First, as p may be in out (sealing in place, plaintext at ct). */
	memmove(ct, p, n);
	out[0] = is13(d) ? TLSREC_APPLICATION_DATA : type;
	out[1] = 3;
	out[2] = 3;
	out[3] = body >> 8;
	out[4] = body & 0xff;
	if (ex)
		memcpy(out + TLSREC_HEADER, &be, 8);
	if (is13(d))
		ct[n] = type;
	make_nonce(d, ex ? out + TLSREC_HEADER : NULL, nonce);
	aad_len = make_aad(d, out, type, n, aad);
	err = aead(d, 1, nonce, aad, aad_len, ct, inner, ct, ct + inner);
	if (err)
		return err;
	d->seq++;
	return TLSREC_HEADER + body;
}

/* TLS 1.3 (RFC 8446 5.4): the content type is the last non-zero byte of
 * the inner plaintext; zeros after it are padding. */
static ssize_t strip_inner(uint8_t *p, size_t n, uint8_t *type)
{
	while (n && !p[n - 1])
		n--;
	if (!n)
		return -EPROTO;
	*type = p[n - 1];
	return n - 1;
}

ssize_t tlsrec_open(struct tlsrec_dir *d, uint8_t *rec, size_t len,
		    uint8_t *type, uint8_t **plain)
{
	size_t ex = explicit_nonce(d) ? 8 : 0, n, aad_len;
	uint8_t nonce[12], aad[13], *ct = rec + TLSREC_HEADER + ex;
	ssize_t framed = tlsrec_frame(d, rec, len), plen;
	int err;

	if (framed < 0)
		return framed;
	if (framed == 0 || (size_t)framed != len)
		return -EINVAL;
	if (len < TLSREC_HEADER + ex + TLSREC_TAG + is13(d))
		return -EPROTO;
	if (is13(d) && rec[0] != TLSREC_APPLICATION_DATA)
		return -EPROTO;
	if (d->seq == UINT64_MAX)
		return -EOVERFLOW;
	n = len - TLSREC_HEADER - ex - TLSREC_TAG;
	if (n > TLSREC_PLAIN_MAX + (size_t)is13(d))
		return -EMSGSIZE;
	make_nonce(d, ex ? rec + TLSREC_HEADER : NULL, nonce);
	aad_len = make_aad(d, rec, rec[0], n, aad);
	err = aead(d, 0, nonce, aad, aad_len, ct, n, ct, ct + n);
	if (err)
		return err;
	*plain = ct;
	if (!is13(d)) {
		*type = rec[0];
		plen = n;
	} else {
		plen = strip_inner(ct, n, type);
	}
	if (plen >= 0 && !sealable(*type))
		plen = -EPROTO;
	if (plen >= 0)
		d->seq++;
	return plen;
}

int tlsrec_key_update(struct tlsrec_dir *d)
{
	const struct suite *s = suite_of(d->st.k.info.cipher_type);
	struct tlsrec_state next = d->st;
	int err;

	if (!is13(d))
		return -EINVAL;
	/* Into a copy: on an error the direction keeps its generation. */
	err = expand_label(s->md, d->st.secret, d->st.secret_len, "traffic upd",
			   next.secret, next.secret_len);
	if (!err)
		err = keys_from_secret(&next, s);
	if (!err) {
		set_seq(&next.k, 0);
		d->st = next;
		err = dir_key(d);
	}
	OPENSSL_cleanse(&next, sizeof(next));
	return err;
}

/* --- the state's wire form --------------------------------------------- */

/* version, cipher, key[32], salt[4], iv[12], rec_seq[8], secret_len,
 * secret[48]: each field at its largest, the unused bytes zero. */
void tlsrec_state_encode(const struct tlsrec_state *st,
			 uint8_t out[TLSREC_WIRE_LEN])
{
	union tlsrec_kernel k = st->k;
	const struct suite *s = suite_of(k.info.cipher_type);
	struct fields f;
	uint8_t *p = out;

	memset(out, 0, TLSREC_WIRE_LEN);
	*p++ = k.info.version >> 8;
	*p++ = k.info.version & 0xff;
	*p++ = k.info.cipher_type >> 8;
	*p++ = k.info.cipher_type & 0xff;
	if (!s)
		return; /* decodes to an error */
	fields_of(&k, &f);
	memcpy(p, f.key, s->key_len);
	memcpy(p + 32, f.salt, s->salt_len);
	memcpy(p + 36, f.iv, s->iv_len);
	memcpy(p + 48, f.rec_seq, 8);
	p[56] = st->secret_len <= TLSREC_SECRET_MAX ? st->secret_len : 0;
	memcpy(p + 57, st->secret, p[56]);
	OPENSSL_cleanse(&k, sizeof(k));
}

static bool zeros(const uint8_t *p, size_t n)
{
	uint8_t any = 0;

	for (size_t i = 0; i < n; i++)
		any |= p[i];
	return !any;
}

int tlsrec_state_decode(struct tlsrec_state *st,
			const uint8_t in[TLSREC_WIRE_LEN])
{
	uint16_t version = (uint16_t)(in[0] << 8 | in[1]);
	int cipher = in[2] << 8 | in[3];
	const struct suite *s = suite_of(cipher);
	const uint8_t *p = in + 4;
	struct fields f;

	if (!s || (version != TLS_1_2_VERSION && version != TLS_1_3_VERSION) ||
	    p[56] != secret_len_of(version, cipher) ||
	    !zeros(p + s->key_len, 32 - s->key_len) ||
	    !zeros(p + 32 + s->salt_len, 4 - s->salt_len) ||
	    !zeros(p + 36 + s->iv_len, 12 - s->iv_len) ||
	    !zeros(p + 57 + p[56], TLSREC_SECRET_MAX - p[56]))
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->k.info.version = version;
	st->k.info.cipher_type = (uint16_t)cipher;
	fields_of(&st->k, &f);
	memcpy(f.key, p, s->key_len);
	memcpy(f.salt, p + 32, s->salt_len);
	memcpy(f.iv, p + 36, s->iv_len);
	memcpy(f.rec_seq, p + 48, 8);
	st->secret_len = p[56];
	memcpy(st->secret, p + 57, p[56]);
	return 0;
}
