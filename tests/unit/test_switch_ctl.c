/* The switch control protocol: codec (src/switch/ctl.c), replay window,
 * and the client's retransmission against a scripted fake agent. */
#include "t.h"
#include "lib/auth.h"
#include "lib/log.h"
#include "switch/client.h"
#include "switch/ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct auth_key key, other_key;

static struct switch_op make_op(uint8_t op, uint8_t i)
{
	struct switch_op o = { .op = op };

	o.key.client_ip = htonl(0xc6120102u + i);
	o.key.vip = htonl(0xc6130001u);
	o.key.client_port = htons((uint16_t)(40000 + i));
	o.key.vip_port = htons(80);
	if (op == PRISM_OP_OWN)
		o.backend_ip = htonl(0xc6120b02u + i);
	if (op == PRISM_OP_LOCK_TAIL)
		o.tail_seq = 0xa0b0c0d0u + i;
	return o;
}

static struct ctl_msg request(uint16_t count)
{
	struct ctl_msg m = { .type = CTL_REQUEST, .count = count,
			     .peer_id = 0x01020304, .seq = 0x1122334455667788ull };

	static const uint8_t cycle[] = { PRISM_OP_LOCK, PRISM_OP_OWN,
					 PRISM_OP_DELETE, PRISM_OP_LOCK_TAIL };

	for (uint16_t i = 0; i < count; i++)
		m.ops[i] = make_op(cycle[i % 4], (uint8_t)i);
	return m;
}

static size_t encode(const struct ctl_msg *m, uint8_t *buf)
{
	size_t len = 0;

	CHECK_EQ(ctl_encode(m, &key, buf, CTL_REQ_MAX_LEN, &len), 0);
	return len;
}

/* Decodes as WANT and returns the reason (CTL_OK on success). */
static enum ctl_error why_of(const uint8_t *buf, size_t len, uint8_t want)
{
	struct ctl_msg m;
	enum ctl_error why = CTL_ERR_MAX;
	int err = ctl_decode(buf, len, &key, want, &m, &why);

	CHECK(err == 0 ? why == CTL_OK : err == -EBADMSG && why != CTL_OK);
	return why;
}

/* Re-signs BUF after a test changed it, as a peer holding the key would. */
static void resign(uint8_t *buf, size_t len)
{
	auth_sign(&key, buf, len - AUTH_MAC_LEN, buf + len - AUTH_MAC_LEN);
}

static void test_roundtrip_request(void)
{
	static const uint16_t counts[] = { 0, 1, 3, CTL_MAX_OPS };
	uint8_t buf[CTL_REQ_MAX_LEN];
	struct ctl_msg in, out;
	enum ctl_error why;
	size_t len;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		in = request(counts[c]);
		len = encode(&in, buf);
		CHECK_EQ(len, CTL_HDR_LEN + counts[c] * CTL_OP_LEN + AUTH_MAC_LEN);
		memset(&out, 0xaa, sizeof(out));
		CHECK_EQ(ctl_decode(buf, len, &key, CTL_REQUEST, &out, &why), 0);
		CHECK_EQ(out.type, CTL_REQUEST);
		CHECK_EQ(out.count, counts[c]);
		CHECK_EQ(out.peer_id, in.peer_id);
		CHECK(out.seq == in.seq);
		CHECK(memcmp(out.ops, in.ops, counts[c] * sizeof(in.ops[0])) == 0);
	}
	/* The wire layout, byte by byte, for one OWN op. */
	in = request(2);
	len = encode(&in, buf);
	CHECK(memcmp(buf, "PRSW\x02\x01\x00\x02\x01\x02\x03\x04"
			  "\x11\x22\x33\x44\x55\x66\x77\x88", 20) == 0);
	CHECK(memcmp(buf + 44, "\x04\0\0\0\xc6\x12\x0b\x03\0\0\0\0"
			       "\xc6\x12\x01\x03\xc6\x13\x00\x01\x9c\x41"
			       "\x00\x50", 24) == 0);
	/* And a LOCK_TAIL's tail_seq. */
	in = request(4);
	len = encode(&in, buf);
	CHECK(memcmp(buf + 20 + 3 * 24, "\x02\0\0\0\0\0\0\0\xa0\xb0\xc0\xd3",
		     12) == 0);
}

static void test_roundtrip_response(void)
{
	struct ctl_msg in = { .type = CTL_RESPONSE, .count = 4, .peer_id = 9,
			      .seq = 77 };
	uint8_t buf[CTL_RESP_MAX_LEN];
	struct ctl_msg out;
	enum ctl_error why;
	size_t len;

	in.status[0] = 0;
	in.status[1] = -ENOSPC;
	in.status[2] = -EINVAL;
	in.status[3] = -4095;
	CHECK_EQ(ctl_encode(&in, &key, buf, sizeof(buf), &len), 0);
	CHECK_EQ(len, CTL_HDR_LEN + 4 * 4 + AUTH_MAC_LEN);
	CHECK_EQ(ctl_decode(buf, len, &key, CTL_RESPONSE, &out, &why), 0);
	CHECK_EQ(out.seq, 77);
	CHECK_EQ(out.count, 4);
	CHECK_EQ(out.status[1], -ENOSPC);
	CHECK_EQ(out.status[2], -EINVAL);
	CHECK_EQ(out.status[3], -4095);
	/* On the wire a status is the positive errno. */
	CHECK(memcmp(buf + CTL_HDR_LEN + 4, "\0\0\0\x1c", 4) == 0);
	/* A response is not a request, and the reverse. */
	CHECK_EQ(why_of(buf, len, CTL_REQUEST), CTL_ERR_TYPE);
}

static void test_encode_rejects(void)
{
	struct ctl_msg m = request(1);
	uint8_t buf[CTL_REQ_MAX_LEN];
	size_t len;

	m.count = CTL_MAX_OPS + 1;
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), -EINVAL);
	m = request(1);
	m.ops[0].op = 9;
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), -EINVAL);
	m = request(1);
	m.ops[0].op = PRISM_OP_DELETE;
	m.ops[0].backend_ip = htonl(1); /* DELETE with a backend */
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), -EINVAL);
	m.ops[0].op = PRISM_OP_LOCK; /* LOCK names its claimant: fine */
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), 0);
	m = request(1);
	CHECK_EQ(ctl_encode(&m, &key, buf, 10, &len), -ENOSPC);
	m.type = 3;
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), -EINVAL);
	m = (struct ctl_msg){ .type = CTL_RESPONSE, .count = 1 };
	m.status[0] = 5; /* positive: not a status */
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), -EINVAL);
	m.status[0] = -5000;
	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), -EINVAL);
}

static void test_truncated_every_length(void)
{
	struct ctl_msg m = request(3);
	uint8_t buf[CTL_REQ_MAX_LEN];
	size_t len = encode(&m, buf);

	for (size_t l = 0; l < len; l++)
		CHECK_EQ(why_of(buf, l, CTL_REQUEST), CTL_ERR_TRUNCATED);
	CHECK_EQ(why_of(buf, len, CTL_REQUEST), CTL_OK);
	/* One byte more than the count says. */
	buf[len] = 0;
	CHECK_EQ(why_of(buf, len + 1, CTL_REQUEST), CTL_ERR_LENGTH);
}

static void test_bad_header(void)
{
	struct ctl_msg m = request(2);
	uint8_t buf[CTL_REQ_MAX_LEN], copy[CTL_REQ_MAX_LEN];
	size_t len = encode(&m, buf);

	/* Each field broken, then re-signed so that only the field is
	 * wrong: the reason must name the field, not the HMAC. */
	memcpy(copy, buf, len);
	copy[0] = 'Q';
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_MAGIC);
	memcpy(copy, buf, len);
	copy[4] = 1; /* the version before tail_seq */
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_VERSION);
	memcpy(copy, buf, len);
	copy[5] = 7;
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_TYPE);
	memcpy(copy, buf, len);
	copy[7] = CTL_MAX_OPS + 1;
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_COUNT);
	memcpy(copy, buf, len);
	copy[6] = 0xff;
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_COUNT);
	/* Count and length disagree, either way. */
	memcpy(copy, buf, len);
	copy[7] = 1;
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_LENGTH);
	memcpy(copy, buf, len);
	copy[7] = 3;
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_TRUNCATED);
}

static void test_bad_ops(void)
{
	struct ctl_msg m = request(3);
	uint8_t buf[CTL_REQ_MAX_LEN], copy[CTL_REQ_MAX_LEN];
	size_t len = encode(&m, buf);
	const size_t op1 = CTL_HDR_LEN + CTL_OP_LEN;

	memcpy(copy, buf, len);
	copy[op1] = 6; /* CLAIM: in band only (5 is OWN_OPEN) */
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_OP);
	memcpy(copy, buf, len);
	copy[op1 + 11] = 1; /* a tail on an OWN */
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_OP);
	memcpy(copy, buf, len);
	copy[op1] = 0;
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_OP);
	memcpy(copy, buf, len);
	copy[op1 + 2] = 1; /* padding */
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_OP);
	memcpy(copy, buf, len);
	copy[CTL_HDR_LEN + 2 * CTL_OP_LEN + 4] = 1; /* op 2 is DELETE */
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_OP);
	memcpy(copy, buf, len);
	copy[CTL_HDR_LEN + 4] = 1; /* op 0 is LOCK: may name its claimant */
	resign(copy, len);
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_OK);
	/* Without the key, the same change is an authentication failure. */
	memcpy(copy, buf, len);
	copy[op1] = 5;
	CHECK_EQ(why_of(copy, len, CTL_REQUEST), CTL_ERR_AUTH);
}

static void test_bad_status(void)
{
	struct ctl_msg m = { .type = CTL_RESPONSE, .count = 1 };
	uint8_t buf[CTL_RESP_MAX_LEN];
	size_t len;

	CHECK_EQ(ctl_encode(&m, &key, buf, sizeof(buf), &len), 0);
	buf[CTL_HDR_LEN + 2] = 0x10; /* status 4096 */
	resign(buf, len);
	CHECK_EQ(why_of(buf, len, CTL_RESPONSE), CTL_ERR_STATUS);
}

static void test_bad_hmac_and_flipped_bits(void)
{
	struct ctl_msg m = request(2), out;
	uint8_t buf[CTL_REQ_MAX_LEN];
	size_t len = encode(&m, buf);
	enum ctl_error why, want;

	CHECK_EQ(ctl_decode(buf, len, &other_key, CTL_REQUEST, &out, &why),
		 -EBADMSG);
	CHECK_EQ(why, CTL_ERR_AUTH);
	/* Any single flipped bit is rejected, for the field's reason. */
	for (size_t bit = 0; bit < len * 8; bit++) {
		size_t byte = bit / 8;

		buf[byte] ^= (uint8_t)(1u << (bit % 8));
		want = byte < 4	   ? CTL_ERR_MAGIC
		       : byte == 4 ? CTL_ERR_VERSION
		       : byte == 5 ? CTL_ERR_TYPE
				   : CTL_ERR_AUTH;
		why = why_of(buf, len, CTL_REQUEST);
		if (byte == 6 || byte == 7)
			CHECK(why == CTL_ERR_COUNT || why == CTL_ERR_LENGTH ||
			      why == CTL_ERR_TRUNCATED);
		else if (why != want)
			t_failf(__FILE__, __LINE__, "bit %zu: %s, want %s", bit,
				ctl_error_name(why), ctl_error_name(want));
		buf[byte] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(why_of(buf, len, CTL_REQUEST), CTL_OK);
}

static void test_replay_window(void)
{
	struct prism_replay w = { 0 };
	const uint64_t s = 1700000000000000000ull;

	CHECK_EQ(prism_replay_check(&w, s), PRISM_REPLAY_NEW);
	prism_replay_mark(&w, s);
	CHECK_EQ(prism_replay_check(&w, s), PRISM_REPLAY_DUP);
	CHECK_EQ(prism_replay_check(&w, s + 1), PRISM_REPLAY_NEW);
	/* Out of order inside the window: accepted once, then a duplicate. */
	prism_replay_mark(&w, s + 5);
	CHECK_EQ(prism_replay_check(&w, s + 2), PRISM_REPLAY_NEW);
	prism_replay_mark(&w, s + 2);
	CHECK_EQ(prism_replay_check(&w, s + 2), PRISM_REPLAY_DUP);
	CHECK_EQ(prism_replay_check(&w, s + 3), PRISM_REPLAY_NEW);
	CHECK_EQ(prism_replay_check(&w, s), PRISM_REPLAY_DUP);
	CHECK_EQ(prism_replay_check(&w, s + 5), PRISM_REPLAY_DUP);
	/* The edge: top - 63 is inside, top - 64 is a replay. */
	CHECK_EQ(prism_replay_check(&w, s + 5 - 63), PRISM_REPLAY_NEW);
	CHECK_EQ(prism_replay_check(&w, s + 5 - 64), PRISM_REPLAY_OLD);
	/* s + 64 becomes the top: s + 5 (age 59) stays known, s falls out. */
	prism_replay_mark(&w, s + 64);
	CHECK_EQ(prism_replay_check(&w, s + 5), PRISM_REPLAY_DUP);
	CHECK_EQ(prism_replay_check(&w, s + 3), PRISM_REPLAY_NEW);
	CHECK_EQ(prism_replay_check(&w, s), PRISM_REPLAY_OLD);
	/* A jump beyond the window forgets everything below it. */
	prism_replay_mark(&w, s + 1000);
	CHECK_EQ(prism_replay_check(&w, s + 64), PRISM_REPLAY_OLD);
	CHECK_EQ(prism_replay_check(&w, s + 1000), PRISM_REPLAY_DUP);
	CHECK_EQ(prism_replay_check(&w, s + 999), PRISM_REPLAY_NEW);
	CHECK_EQ(prism_replay_check(&w, s + 1000 - 63), PRISM_REPLAY_NEW);
	/* A restarted client takes its clock: always ahead. */
	CHECK_EQ(prism_replay_check(&w, s + 2000000), PRISM_REPLAY_NEW);
}

/* ---- the client against a fake agent on loopback ---- */

struct fake_agent {
	int fd;
	int drop_first;     /* datagrams ignored before answering */
	int junk_first;     /* answer with a wrong key before the real one */
	int received;
	uint64_t seqs[8];
};

static void *fake_agent_run(void *arg)
{
	struct fake_agent *f = arg;
	uint8_t buf[CTL_REQ_MAX_LEN], out[CTL_RESP_MAX_LEN];
	struct sockaddr_in src;
	socklen_t slen = sizeof(src);
	struct ctl_msg req, resp;
	enum ctl_error why;
	ssize_t n;
	size_t len;

	while ((n = recvfrom(f->fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&src, &slen)) > 0) {
		if (ctl_decode(buf, (size_t)n, &key, CTL_REQUEST, &req, &why))
			continue;
		if (req.count == 0)
			break; /* a ping ends the fake */
		if (f->received < 8)
			f->seqs[f->received] = req.seq;
		if (f->received++ < f->drop_first)
			continue;
		resp = (struct ctl_msg){ .type = CTL_RESPONSE,
					 .count = req.count,
					 .peer_id = req.peer_id,
					 .seq = req.seq };
		for (unsigned i = 0; i < req.count; i++)
			resp.status[i] = req.ops[i].op == PRISM_OP_OWN ? -ENOSPC : 0;
		if (f->junk_first-- > 0) {
			ctl_encode(&resp, &other_key, out, sizeof(out), &len);
			sendto(f->fd, out, len, 0, (struct sockaddr *)&src, slen);
		}
		ctl_encode(&resp, &key, out, sizeof(out), &len);
		sendto(f->fd, out, len, 0, (struct sockaddr *)&src, slen);
	}
	return NULL;
}

static int fake_start(struct fake_agent *f, pthread_t *th, char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(f->fd, (struct sockaddr *)&sa, &len))
		return -errno;
	sprintf(addr, "127.0.0.1:%u", ntohs(sa.sin_port));
	return pthread_create(th, NULL, fake_agent_run, f) ? -EAGAIN : 0;
}

static void fake_stop(struct switch_client *c, struct fake_agent *f,
		      pthread_t th)
{
	uint64_t seq;

	switch_client_send(c, NULL, 0, &seq);
	pthread_join(th, NULL);
	close(f->fd);
}

static void test_client_retransmits(void)
{
	struct fake_agent f = { .drop_first = 2, .junk_first = 1 };
	struct switch_op ops[2] = { make_op(PRISM_OP_LOCK, 1),
				    make_op(PRISM_OP_OWN, 2) };
	struct switch_client c;
	int status[2] = { 1, 1 };
	char addr[32];
	pthread_t th;

	if (fake_start(&f, &th, addr)) {
		CHECK(!"fake agent");
		return;
	}
	CHECK(switch_client_open(&c, addr, &key, 5) >= 0);
	CHECK_EQ(switch_client_call(&c, ops, 2, status, 1000), 0);
	CHECK_EQ(status[0], 0);
	CHECK_EQ(status[1], -ENOSPC);
	/* Two drops, then the answer: three copies of one request. */
	CHECK_EQ(f.received, 3);
	CHECK(f.seqs[0] == f.seqs[1] && f.seqs[1] == f.seqs[2]);
	/* The answer signed with the wrong key was counted, not taken. */
	CHECK_EQ(c.bad_responses, 1);
	/* The next request has the next sequence number. */
	f.drop_first = 0;
	CHECK_EQ(switch_client_call(&c, ops, 1, status, 1000), 0);
	CHECK(f.seqs[3] == f.seqs[0] + 1);
	fake_stop(&c, &f, th);
	switch_client_close(&c);
}

static void test_client_async(void)
{
	struct fake_agent f = { 0 };
	struct switch_op op = make_op(PRISM_OP_DELETE, 1);
	struct switch_client c;
	uint64_t s1, s2, got;
	int status[1];
	unsigned n;
	char addr[32];
	pthread_t th;

	if (fake_start(&f, &th, addr)) {
		CHECK(!"fake agent");
		return;
	}
	CHECK(switch_client_open(&c, addr, &key, 6) >= 0);
	n = 1;
	CHECK_EQ(switch_client_recv(&c, &got, status, &n), -EAGAIN);
	CHECK_EQ(switch_client_send(&c, &op, 1, &s1), 0);
	CHECK_EQ(switch_client_send(&c, &op, 1, &s2), 0);
	CHECK(s2 == s1 + 1);
	for (int answered = 0, tries = 0; answered < 2 && tries < 1000;
	     tries++) {
		n = 1;
		int err = switch_client_recv(&c, &got, status, &n);

		if (err == -EAGAIN) {
			usleep(1000);
			continue;
		}
		CHECK_EQ(err, 0);
		CHECK(got == s1 + (uint64_t)answered);
		CHECK_EQ(n, 1);
		answered++;
	}
	/* Answered requests are no longer pending. */
	CHECK_EQ(switch_client_resend(&c, s1), -ENOENT);
	CHECK_EQ(switch_client_send(&c, &op, CTL_MAX_OPS + 1, &s1), -EINVAL);
	fake_stop(&c, &f, th);
	switch_client_close(&c);
}

static void test_client_no_agent(void)
{
	struct switch_op op = make_op(PRISM_OP_LOCK, 1);
	struct switch_client c;
	int status[1];
	char addr[32];
	int fd;

	/* A port nobody listens on: take one, close it. */
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	sprintf(addr, "127.0.0.1:%u", ntohs(sa.sin_port));
	CHECK(switch_client_open(&c, addr, &key, 7) >= 0);
	CHECK_EQ(switch_client_call(&c, &op, 1, status, 100), -ECONNREFUSED);
	switch_client_close(&c);
	CHECK(switch_client_open(&c, "1.2.3.4:x", &key, 7) < 0);
	CHECK(switch_client_open(&c, "nonsense", &key, 7) < 0);
}

static void test_parse_addr(void)
{
	struct sockaddr_in sa;

	CHECK_EQ(switch_parse_addr("198.18.2.1:7701", 0, &sa), 0);
	CHECK_EQ(ntohs(sa.sin_port), 7701);
	CHECK_EQ(ntohl(sa.sin_addr.s_addr), 0xc6120201u);
	CHECK_EQ(switch_parse_addr("198.18.2.1", 7700, &sa), 0);
	CHECK_EQ(ntohs(sa.sin_port), 7700);
	CHECK_EQ(switch_parse_addr("198.18.2.1", 0, &sa), -EINVAL);
	CHECK_EQ(switch_parse_addr("198.18.2.1:70000", 0, &sa), -EINVAL);
	CHECK_EQ(switch_parse_addr("198.18.2:80", 0, &sa), -EINVAL);
	CHECK_EQ(switch_parse_addr(":80", 0, &sa), -EINVAL);
	CHECK_EQ(switch_parse_addr("198.18.2.1:", 0, &sa), -EINVAL);
}

int main(void)
{
	log_init("test_switch_ctl", LOG_ERR);
	auth_key_set(&key, "prism-test-key-0123456789", 25);
	auth_key_set(&other_key, "prism-test-key-0123456780", 25);
	t_run("codec: request round trip and wire layout",
	      test_roundtrip_request);
	t_run("codec: response round trip", test_roundtrip_response);
	t_run("codec: encode rejects bad input", test_encode_rejects);
	t_run("codec: truncated at each length", test_truncated_every_length);
	t_run("codec: bad magic, version, type, count, length",
	      test_bad_header);
	t_run("codec: unknown op, padding, backend on delete", test_bad_ops);
	t_run("codec: response status out of range", test_bad_status);
	t_run("codec: bad hmac, every flipped bit",
	      test_bad_hmac_and_flipped_bits);
	t_run("replay window: dup, old, out of order", test_replay_window);
	t_run("client: retransmits same seq, drops forged answer",
	      test_client_retransmits);
	t_run("client: async send and recv", test_client_async);
	t_run("client: no agent is ECONNREFUSED", test_client_no_agent);
	t_run("client: address parsing", test_parse_addr);
	return t_done();
}
