#include "lib/handoff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

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

/* Bytes after the header: the TCP state and queues, or the pending bytes
 * of a type that has only those. */
static uint64_t body_len(const struct ho_msg *m)
{
	if (has_tcp(m->type))
		return HO_TCP_LEN + (uint64_t)m->pending_len + m->inq_len +
		       m->outq_len;
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

long ho_encode(const struct ho_msg *m, const struct auth_key *key,
	       uint8_t *buf, size_t cap)
{
	size_t len = ho_encoded_len(m);
	uint8_t *p = buf;
	bool tcp = has_tcp(m->type), data = has_data(m->type);

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
		if (m->pending_len)
			putraw(&p, m->pending, m->pending_len);
		if (m->inq_len)
			putraw(&p, m->inq, m->inq_len);
		if (m->outq_len)
			putraw(&p, m->outq, m->outq_len);
	} else if (data && m->pending_len) {
		putraw(&p, m->pending, m->pending_len);
	}
	auth_sign(key, buf, (size_t)(p - buf), p);
	return (long)len;
}

/* Checks the header fields that do not need the whole message. */
static long check_header(uint8_t version, uint8_t type, uint32_t total)
{
	if (version != HO_VERSION)
		return -HO_E_VERSION;
	if (type < HO_HANDOFF || type > HO_RESPONSE)
		return -HO_E_TYPE;
	if (total < HO_HEADER_LEN + AUTH_MAC_LEN || total > HO_MAX_MSG)
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

static long decode_body(const uint8_t *buf, uint32_t total,
			struct ho_msg *m, uint32_t reserved)
{
	const uint8_t *p = buf + HO_HEADER_LEN;
	uint64_t want = HO_HEADER_LEN + AUTH_MAC_LEN;
	int err;

	if (reserved)
		return -HO_E_FIELD;
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
	m->pending = p;
	m->inq = p + m->pending_len;
	m->outq = m->inq + m->inq_len;
	return total;
}

long ho_decode(const uint8_t *buf, size_t len, const struct auth_key *key,
	       struct ho_msg *m)
{
	const uint8_t *p = buf;
	uint32_t total, reserved;
	uint8_t version, type;
	long err;

	if (len < 12)
		return 0;
	if (get32(&p) != HO_MAGIC)
		return -HO_E_MAGIC;
	version = *p++;
	type = *p++;
	m->status = *p++;
	reserved = *p++;
	total = get32(&p);
	err = check_header(version, type, total);
	if (err)
		return err;
	if (len < total)
		return 0;
	/* Authenticate before trusting anything else in the message. */
	if (!auth_verify(key, buf, total - AUTH_MAC_LEN,
			 buf + total - AUTH_MAC_LEN))
		return -HO_E_MAC;
	m->type = type;
	m->seq = get64(&p);
	m->conn_id = get64(&p);
	m->flags = get16(&p);
	m->http_status = get16(&p);
	m->relay_kb = 0;
	if (type == HO_REQUEST) {
		m->relay_kb = m->http_status;
		m->http_status = 0;
	} else if (type != HO_HANDBACK && type != HO_RESPONSE) {
		reserved |= m->http_status;
	}
	m->pending_len = get32(&p);
	m->inq_len = get32(&p);
	m->outq_len = get32(&p);
	if ((m->flags & ~(HO_F_CLOSE | HO_F_CLAIM | HO_F_MORE)) ||
	    ((m->flags & HO_F_MORE) && type != HO_HANDOFF &&
	     type != HO_HANDOFF_DATA))
		return -HO_E_FIELD;
	return decode_body(buf, total, m, reserved);
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
