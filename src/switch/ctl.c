#include "switch/ctl.h"

#include <errno.h>
#include <string.h>

static const char *const error_names[CTL_ERR_MAX] = {
	[CTL_OK] = "ok",
	[CTL_ERR_TRUNCATED] = "truncated",
	[CTL_ERR_MAGIC] = "bad_magic",
	[CTL_ERR_VERSION] = "bad_version",
	[CTL_ERR_TYPE] = "bad_type",
	[CTL_ERR_COUNT] = "bad_count",
	[CTL_ERR_LENGTH] = "bad_length",
	[CTL_ERR_AUTH] = "bad_auth",
	[CTL_ERR_OP] = "bad_op",
	[CTL_ERR_STATUS] = "bad_status",
};

const char *ctl_error_name(enum ctl_error e)
{
	return (unsigned)e < CTL_ERR_MAX ? error_names[e] : "unknown";
}

const char *switch_op_name(uint8_t op)
{
	switch (op) {
	case PRISM_OP_LOCK:
		return "lock";
	case PRISM_OP_LOCK_TAIL:
		return "lock-tail";
	case PRISM_OP_OWN:
		return "own";
	case PRISM_OP_DELETE:
		return "delete";
	case PRISM_OP_OWN_OPEN:
		return "own-open";
	}
	return "unknown";
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static size_t item_len(uint8_t type)
{
	return type == CTL_REQUEST ? CTL_OP_LEN : CTL_STATUS_LEN;
}

size_t ctl_msg_len(uint8_t type, uint16_t count)
{
	return CTL_HDR_LEN + (size_t)count * item_len(type) + AUTH_MAC_LEN;
}

static bool op_valid(const struct switch_op *op)
{
	return prism_op_wire_valid(op->op, op->backend_ip, op->tail_seq);
}

static void put_op(uint8_t *p, const struct switch_op *op)
{
	p[0] = op->op;
	p[1] = p[2] = p[3] = 0;
	/* Addresses and ports are already in network order. */
	memcpy(p + 4, &op->backend_ip, 4);
	put32(p + 8, op->tail_seq);
	memcpy(p + 12, &op->key.client_ip, 4);
	memcpy(p + 16, &op->key.vip, 4);
	memcpy(p + 20, &op->key.client_port, 2);
	memcpy(p + 22, &op->key.vip_port, 2);
}

static bool get_op(const uint8_t *p, struct switch_op *op)
{
	memset(op, 0, sizeof(*op));
	op->op = p[0];
	memcpy(&op->backend_ip, p + 4, 4);
	op->tail_seq = get32(p + 8);
	memcpy(&op->key.client_ip, p + 12, 4);
	memcpy(&op->key.vip, p + 16, 4);
	memcpy(&op->key.client_port, p + 20, 2);
	memcpy(&op->key.vip_port, p + 22, 2);
	return (p[1] | p[2] | p[3]) == 0 && op_valid(op);
}

static bool status_valid(int status)
{
	return status <= 0 && status > -4096;
}

static int encode_body(const struct ctl_msg *m, uint8_t *p)
{
	for (unsigned i = 0; i < m->count; i++) {
		if (m->type == CTL_REQUEST) {
			if (!op_valid(&m->ops[i]))
				return -EINVAL;
			put_op(p + i * CTL_OP_LEN, &m->ops[i]);
		} else {
			if (!status_valid(m->status[i]))
				return -EINVAL;
			put32(p + i * CTL_STATUS_LEN, (uint32_t)-m->status[i]);
		}
	}
	return 0;
}

int ctl_encode(const struct ctl_msg *m, const struct auth_key *key,
	       uint8_t *buf, size_t size, size_t *len)
{
	size_t body;
	int err;

	if ((m->type != CTL_REQUEST && m->type != CTL_RESPONSE) ||
	    m->count > CTL_MAX_OPS)
		return -EINVAL;
	*len = ctl_msg_len(m->type, m->count);
	if (size < *len)
		return -ENOSPC;
	put32(buf, CTL_MAGIC);
	buf[4] = CTL_VERSION;
	buf[5] = m->type;
	put16(buf + 6, m->count);
	put32(buf + 8, m->peer_id);
	put64(buf + 12, m->seq);
	err = encode_body(m, buf + CTL_HDR_LEN);
	if (err)
		return err;
	body = *len - AUTH_MAC_LEN;
	auth_sign(key, buf, body, buf + body);
	return 0;
}

/* Header checks that need no key, cheapest first. */
static enum ctl_error check_header(const uint8_t *buf, size_t len,
				   uint8_t want)
{
	uint16_t count;
	size_t need;

	if (len < CTL_HDR_LEN)
		return CTL_ERR_TRUNCATED;
	if (get32(buf) != CTL_MAGIC)
		return CTL_ERR_MAGIC;
	if (buf[4] != CTL_VERSION)
		return CTL_ERR_VERSION;
	if (buf[5] != want)
		return CTL_ERR_TYPE;
	count = get16(buf + 6);
	if (count > CTL_MAX_OPS)
		return CTL_ERR_COUNT;
	need = ctl_msg_len(want, count);
	if (len < need)
		return CTL_ERR_TRUNCATED;
	if (len > need)
		return CTL_ERR_LENGTH;
	return CTL_OK;
}

static enum ctl_error decode_body(const uint8_t *p, struct ctl_msg *m)
{
	for (unsigned i = 0; i < m->count; i++) {
		if (m->type == CTL_REQUEST) {
			if (!get_op(p + i * CTL_OP_LEN, &m->ops[i]))
				return CTL_ERR_OP;
		} else {
			uint32_t s = get32(p + i * CTL_STATUS_LEN);

			if (s >= 4096)
				return CTL_ERR_STATUS;
			m->status[i] = -(int)s;
		}
	}
	return CTL_OK;
}

int ctl_decode(const uint8_t *buf, size_t len, const struct auth_key *key,
	       uint8_t want, struct ctl_msg *m, enum ctl_error *why)
{
	size_t body;

	*why = check_header(buf, len, want);
	if (*why != CTL_OK)
		return -EBADMSG;
	body = len - AUTH_MAC_LEN;
	/* Nothing past the header is looked at before the HMAC verifies. */
	if (!auth_verify(key, buf, body, buf + body)) {
		*why = CTL_ERR_AUTH;
		return -EBADMSG;
	}
	m->type = buf[5];
	m->count = get16(buf + 6);
	m->peer_id = get32(buf + 8);
	m->seq = get64(buf + 12);
	*why = decode_body(buf + CTL_HDR_LEN, m);
	return *why == CTL_OK ? 0 : -EBADMSG;
}
