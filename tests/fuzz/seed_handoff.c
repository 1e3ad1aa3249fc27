/* Writes the seed corpus of fuzz_handoff: one message of each type, signed
 * with the fuzz key, each prefixed with the target's mode byte (1: the
 * target re-signs, so mutated seeds still get past the MAC).  Run it again
 * whenever the wire format in lib/handoff.h changes:
 *   cc -std=gnu11 -D_GNU_SOURCE -Isrc -Isrc/include tests/fuzz/seed_handoff.c \
 *      build/libprism.a -lssl -lcrypto -o /tmp/seed_handoff
 *   /tmp/seed_handoff tests/fuzz/corpus/handoff */
#include <stdio.h>
#include <string.h>

#include "lib/handoff.h"
#include "lib/tlsrec.h"

/* DIR/NAME: the mode byte, then the N message bytes at BUF + 1. */
static int write_file(const char *dir, const char *name, uint8_t *buf,
		      uint8_t mode, long n)
{
	char path[512];
	FILE *f;

	buf[0] = mode;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, (size_t)n + 1, f) != (size_t)n + 1) {
		perror(path);
		return 1;
	}
	fclose(f);
	return 0;
}

static int write_seed(const char *dir, const char *name,
		      const struct ho_msg *m, const struct auth_key *key)
{
	static uint8_t buf[1 + 4096];
	long n = ho_encode(m, key, buf + 1, sizeof(buf) - 1);

	if (n < 0) {
		fprintf(stderr, "seed %s: encode: %ld\n", name, n);
		return 1;
	}
	return write_file(dir, name, buf, 1, n);
}

/* A sealed-format message in clear (header, body, room for the tag),
 * with mode byte 2: the target seals it as it is (ho_seal_raw), so that
 * the TLS section, which only ever travels sealed, is fuzzed too. */
static int write_clear_seed(const char *dir, const char *name,
			    const struct ho_msg *m)
{
	static uint8_t buf[1 + 4096];
	struct auth_key key;
	struct ho_aead tx, rx;
	struct ho_msg d;
	long n;

	auth_key_set(&key, "seed-key-0123456789", 19);
	if (ho_aead_init(&tx, &key, 1, 2, true) ||
	    ho_aead_init(&rx, &key, 1, 2, false))
		return 1;
	n = ho_seal(m, &tx, buf + 1, sizeof(buf) - 1);
	if (n < 0 || ho_open(buf + 1, (size_t)n, &rx, &d) != n) {
		fprintf(stderr, "seed %s: seal: %ld\n", name, n);
		return 1;
	}
	ho_aead_clear(&tx);
	ho_aead_clear(&rx);
	return write_file(dir, name, buf, 2, n);
}

/* A plausible frozen connection with QLEN bytes in each queue. */
static void tcp_state(struct tcpr_state *t, uint32_t inq, uint32_t outq)
{
	memset(t, 0, sizeof(*t));
	t->local_ip = 0xc6130001;  /* 198.19.0.1 */
	t->remote_ip = 0xc6120102; /* 198.18.1.2 */
	t->local_port = 80;
	t->remote_port = 40000;
	t->snd_seq = 1000 + outq;
	t->rcv_seq = 5000 + inq;
	t->mss = 1448;
	t->snd_wscale = 7;
	t->rcv_wscale = 7;
	t->ts_val = 123456;
	t->snd_wl1 = 5000;
	t->snd_wnd = t->max_window = t->rcv_wnd = 65535;
	t->rcv_wup = 5000;
	t->inq_len = inq;
	t->outq_len = outq;
}

int main(int argc, char **argv)
{
	static const uint8_t req[] = "GET /bytes/100 HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t q[] = "0123456789abcdef";
	const char *dir = argc > 1 ? argv[1] : ".";
	struct auth_key key;
	struct ho_msg m;
	int rc = 0;

	auth_key_set(&key, "fuzz-key-0123456789", 19);
	memset(&m, 0, sizeof(m));
	m.type = HO_HANDOFF;
	m.seq = 1;
	m.conn_id = 7;
	tcp_state(&m.tcp, 0, 0);
	m.pending = req;
	m.pending_len = sizeof(req) - 1;
	rc |= write_seed(dir, "handoff", &m, &key);
	tcp_state(&m.tcp, 5, 16);
	m.inq = q;
	m.inq_len = 5;
	m.outq = q;
	m.outq_len = 16;
	rc |= write_seed(dir, "handoff_queues", &m, &key);
	{
		static const uint8_t secret[32] = {1}, in[] = "\x17\x03\x03";

		m.flags = HO_F_CLAIM | HO_F_TLS;
		tlsrec_state_tls13(&m.tls_tx, TLS_CIPHER_AES_GCM_128, secret,
				   32, 2);
		tlsrec_state_tls13(&m.tls_rx, TLS_CIPHER_AES_GCM_128, secret,
				   32, 0);
		m.tls_in = in;
		m.tls_in_len = 3;
		rc |= write_clear_seed(dir, "handoff_tls", &m);
		m.flags = 0;
		m.tls_in_len = 0;
	}
	memset(&m, 0, sizeof(m));
	m.type = HO_HANDBACK;
	m.seq = 2;
	m.conn_id = 7;
	m.http_status = 200;
	tcp_state(&m.tcp, 0, 16);
	m.outq = q;
	m.outq_len = 16;
	rc |= write_seed(dir, "handback", &m, &key);
	memset(&m, 0, sizeof(m));
	m.seq = 3;
	m.conn_id = 7;
	m.type = HO_HANDOFF_ACK;
	rc |= write_seed(dir, "ack", &m, &key);
	m.type = HO_HANDBACK_ACK;
	m.status = HO_ERR_RESTORE;
	rc |= write_seed(dir, "handback_ack", &m, &key);
	m.type = HO_CLOSED;
	m.status = 0;
	rc |= write_seed(dir, "closed", &m, &key);
	m.type = HO_HANDOFF_DATA;
	m.flags = HO_F_MORE;
	m.pending = q;
	m.pending_len = sizeof(q) - 1;
	rc |= write_seed(dir, "handoff_data", &m, &key);
	m.type = HO_REQUEST;
	m.flags = 0;
	m.relay_kb = 8;
	rc |= write_seed(dir, "request", &m, &key);
	m.type = HO_RESPONSE;
	m.relay_kb = 0;
	m.http_status = 200;
	m.flags = HO_F_CLOSE;
	rc |= write_seed(dir, "response", &m, &key);
	return rc;
}
