#include "backend/takeover.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/auth.h"
#include "lib/handoff.h"
#include "lib/hochan.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/migrate.h"
#include "lib/tcprepair.h"
#include "lib/tlsconn.h"
#include "switch/async.h"

/* Controllers connected at once.  A connection that does not authenticate
 * (HELLO) within 2 s is dropped by lib/hochan.c, so strangers hold a slot
 * briefly; the slots beyond the few controllers a deployment has are room
 * for them. */
#define PB_MAX_CONTROLLERS 80
/* One window update.  Three more copies were meant as duplicate ACKs for a
 * fast retransmit of a body segment dropped while the flow was locked, but
 * a SACK sender does not count duplicate ACKs without SACK blocks, and they
 * took it out of the Open state, which disables its tail loss probe: the
 * dropped tail of a 64 KB body then waited for the RTO (200 ms) instead of
 * the probe (~7 ms). */
#define PB_WINDOW_ACKS 1
/* The RTT probe (tcpr_rtt_probe_send) goes PB_PROBE_FIRST_US after the
 * restore, unless the connection is on its way back by then: a small
 * response has left, and its tail is the controller's to recover (two
 * packets per request cost the 1 KB rate a third).  Then again while the
 * socket has no round-trip sample, after 5, 10 and 20 ms: with the probe
 * or its answer lost, the socket kept the kernel's 1-3 s timers until its
 * response was acknowledged, and then took a first sample as long as the
 * time since the restore (a retransmitted segment's original, SACKed). */
#define PB_PROBE_FIRST_US 1000
#define PB_PROBE_TRIES 4
#define PB_PROBE_RETRY_MS 5

struct pb {
	struct pb_config cfg;
	struct evloop *loop;
	int listen_fd;
	struct auth_key key;
	struct switch_async *sw; /* the switch, without blocking the loop */
	/* Host mode: the agent of the controller's host, told when we give a
	 * connection up (pb_abort), which no hand-back will tell it. */
	struct switch_async *ctl_sw;
	int raw_fd; /* window updates (pb_window_open); -1 if unavailable */
	pb_takeover_cb on_takeover;
	pb_data_cb on_data;
	pb_window_cb on_window;
	pb_relay_cb on_relay;
	void *arg;
	struct pb_conn *conns; /* all live pb_conns, for channel loss */
	struct hochan *chans[PB_MAX_CONTROLLERS];
	struct pb_stats stats;
	/* Taken over just now, HANDOFF_ACK not sent yet (on_handoff). */
	struct pb_conn *unacked;
};

struct pb_conn {
	struct pb *pb;
	struct hochan *ch;
	uint64_t conn_id;
	struct prism_flow_key key;
	bool handing_back; /* pb_handback called: the LOCK_TAIL in flight */
	bool returned; /* handed back, until HANDBACK_ACK */
	bool more;     /* pending bytes still to come (HANDOFF_DATA) */
	void *user;
	uint16_t http_status; /* reported in HANDBACK */
	/* The switch op whose answer this connection waits for, and what it
	 * needs then: the socket, and for a hand-back the bytes the server
	 * did not use (copied: the server's buffer is gone by then). */
	uint64_t sw_op;
	int fd;     /* the socket while the library holds it, or -1 */
	int win_fd; /* pb_window's socket (the server's) */
	bool window_open; /* the op in flight: OWN_OPEN (else OWN) */
	bool close_after;
	uint8_t *leftover;
	size_t leftover_len;
	/* A take-over that waits for OWN (no in-band claim): the request and
	 * what the thaw needs (the state, the unsent part of the queue). */
	uint8_t *pending, *outq;
	size_t pending_len;
	struct tcpr_state st;
	/* HTTPS: the client's TLS session, from the HANDOFF to the HANDBACK
	 * (HO_F_TLS). */
	struct tlsconn *tls;
	/* The RTT probe: its socket (the server's), tries, retry timer. */
	int probe_fd;
	uint8_t probe_tos, probes;
	struct evtimer *probe_timer;
	struct pb_conn *next, *prev;
};

/* Starts OP on flow K (the owner is us for OWN, OWN_OPEN); DONE(pc, status)
 * from the loop (NULL: nobody waits).  The handle, or 0 (logged) when it
 * could not start. */
static uint64_t switch_start(struct pb *pb, uint8_t op,
			     const struct prism_flow_key *k, uint32_t tail_seq,
			     switch_done_cb done, void *arg)
{
	struct switch_op o = { .op = op, .key = *k, .tail_seq = tail_seq };
	uint64_t h;

	if (op == PRISM_OP_OWN || op == PRISM_OP_OWN_OPEN)
		o.backend_ip = pb->cfg.self.s_addr;
	h = switch_async_op(pb->sw, &o, done, arg);
	if (!h)
		log_warn("%s: switch %s %s: %s", pb->cfg.name,
			 pb->cfg.switch_agent, switch_op_name(op),
			 strerror(errno));
	return h;
}

/* PC's op: the answer to any earlier one no longer matters to PC (the
 * switch still applies both, in order). */
static bool pc_switch(struct pb_conn *pc, uint8_t op, uint32_t tail_seq,
		      switch_done_cb done)
{
	if (pc->sw_op)
		switch_async_cancel(pc->pb->sw, pc->sw_op);
	pc->sw_op = switch_start(pc->pb, op, &pc->key, tail_seq, done, pc);
	return pc->sw_op != 0;
}

/* Fire and forget: a failure is only logged (async.c). */
static void switch_forget(struct pb *pb, uint8_t op,
			  const struct prism_flow_key *k)
{
	switch_start(pb, op, k, 0, NULL, NULL);
}

static struct pb_conn *pc_new(struct pb *pb, struct hochan *ch, uint64_t id)
{
	struct pb_conn *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return NULL;
	pc->pb = pb;
	pc->ch = ch;
	pc->conn_id = id;
	pc->fd = -1;
	pc->next = pb->conns;
	if (pb->conns)
		pb->conns->prev = pc;
	pb->conns = pc;
	pb->stats.active++;
	return pc;
}

static void pc_free(struct pb_conn *pc)
{
	struct pb *pb = pc->pb;

	if (pc->prev)
		pc->prev->next = pc->next;
	else
		pb->conns = pc->next;
	if (pc->next)
		pc->next->prev = pc->prev;
	if (pb->unacked == pc)
		pb->unacked = NULL;
	if (pc->sw_op)
		switch_async_cancel(pb->sw, pc->sw_op);
	if (pc->probe_timer)
		evloop_timer_cancel(pb->loop, pc->probe_timer);
	if (pc->fd >= 0)
		close(pc->fd); /* in repair mode or never thawed: silent */
	pb->stats.active--;
	tlsconn_free(pc->tls);
	free(pc->leftover);
	free(pc->pending);
	free(pc->outq);
	free(pc);
}

static void send_ack(struct hochan *ch, uint8_t type, uint64_t id,
		     uint8_t status)
{
	struct ho_msg m = { .type = type, .conn_id = id, .status = status };

	hochan_send(ch, &m);
}

/* Whether the controller locked the flow for us (HO_F_CLAIM names the
 * address it reached us at): then our first segment claims it in band. */
static bool claimable(struct pb *pb, struct hochan *ch, const struct ho_msg *m)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);

	/* Host mode: nothing claims in band (a controller in switch mode
	 * would set the flag; our own host's OWN comes first anyway). */
	if (pb->cfg.host_mode || !(m->flags & HO_F_CLAIM) || !ch ||
	    getsockname(hochan_fd(ch), (struct sockaddr *)&sa, &len) < 0)
		return false;
	return sa.sin_addr.s_addr == pb->cfg.self.s_addr;
}

/* The connection is ours: acknowledged after the server's first go at
 * it (the ACK is off the request's critical path, and a response that
 * leaves at once is handed back at once, whose HANDBACK tells the
 * controller all the ACK would). */
static void start_serving(struct pb_conn *pc, const uint8_t *pending,
			  size_t len)
{
	struct pb *pb = pc->pb;
	int fd = pc->fd;

	pc->fd = -1;
	pb->stats.takeovers++;
	pb->unacked = pc;
	pb->on_takeover(pc, fd, pending, len, pb->arg);
	if (pb->unacked == pc && !pc->handing_back && pc->ch)
		send_ack(pc->ch, HO_HANDOFF_ACK, pc->conn_id, HO_OK);
	pb->unacked = NULL;
}

/* A refused hand-off: the controller still holds its frozen copy. */
static void refuse(struct pb *pb, struct hochan *ch, uint64_t id,
		   uint8_t status)
{
	if (ch)
		send_ack(ch, HO_HANDOFF_ACK, id, status);
	pb->stats.refused++;
}

static void rtt_probe_send(struct pb_conn *pc)
{
	struct pb *pb = pc->pb;

	if (tcpr_rtt_probe_send(pb->raw_fd, &pc->st, &pb->cfg.self,
				pc->probe_tos))
		log_debug("%s: %s", pb->cfg.name, tcpr_errmsg());
	else
		pb->stats.rtt_probes++;
	pc->probes++;
}

static void on_probe_timer(struct evloop *loop, struct evtimer *t, void *arg)
{
	struct pb_conn *pc = arg;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	(void)t;
	pc->probe_timer = NULL;
	/* Handing back: the socket is frozen or closed by now. */
	if (pc->handing_back || pc->returned ||
	    getsockopt(pc->probe_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    ti.tcpi_rtt)
		return;
	rtt_probe_send(pc);
	if (pc->probes < PB_PROBE_TRIES)
		pc->probe_timer = evloop_timer_add(
			loop, PB_PROBE_RETRY_MS << (pc->probes - 1),
			on_probe_timer, pc);
}

/* The restored socket FD's first RTT sample (tcpr_rtt_probe_send): without
 * it a segment lost in the response's first flight waited 1-3 s for its
 * retransmission.  TOS PRISM_TOS_MARK: a probe that finds the flow still
 * locked is the claim. */
static void rtt_probe(struct pb_conn *pc, int fd, int tos)
{
	if (pc->pb->raw_fd < 0)
		return;
	pc->probe_fd = fd;
	pc->probe_tos = (uint8_t)tos;
	pc->probe_timer = evloop_timer_add_us(pc->pb->loop, PB_PROBE_FIRST_US,
					      on_probe_timer, pc);
}

/* OWN answered (a take-over without the in-band claim): thaw, serve. */
static void on_owned(void *arg, int status)
{
	struct pb_conn *pc = arg;
	struct pb *pb = pc->pb;

	pc->sw_op = 0;
	if (!status && !migrate_thaw(pc->fd, &pc->st, pc->outq)) {
		rtt_probe(pc, pc->fd, 0);
		start_serving(pc, pc->pending, pc->pending_len);
		return;
	}
	/* The flow may point here but there is no socket: give it back to
	 * the controller, which still holds its frozen copy. */
	switch_forget(pb, pb->cfg.host_mode ? PRISM_OP_DELETE : PRISM_OP_LOCK,
		      &pc->key);
	refuse(pb, pc->ch, pc->conn_id, status ? HO_ERR_SWITCH : HO_ERR_RESTORE);
	pc_free(pc);
}

/* Without the claim (the controller reached us at another address than
 * ours): OWN through the switch first, thaw once it is answered; the
 * request waits in a copy. */
static void own_then_serve(struct pb_conn *pc, const struct ho_msg *m)
{
	pc->pending = malloc(m->pending_len ? m->pending_len : 1);
	pc->outq = malloc(m->outq_len ? m->outq_len : 1);
	pc->st = m->tcp;
	if (pc->pending && pc->outq) {
		memcpy(pc->pending, m->pending, m->pending_len);
		memcpy(pc->outq, m->outq, m->outq_len);
		pc->pending_len = m->pending_len;
		pc_switch(pc, PRISM_OP_OWN, 0, on_owned);
	}
	if (!pc->sw_op) {
		refuse(pc->pb, pc->ch, pc->conn_id, HO_ERR_SWITCH);
		pc_free(pc);
	}
}

/* A TLS connection's session (HO_F_TLS).  Never split: a split hand-off
 * brings the socket's queue as pending bytes, which for TLS would be
 * ciphertext among plaintext.  0 or -EINVAL. */
static int take_tls(struct pb_conn *pc, const struct ho_msg *m)
{
	if (!(m->flags & HO_F_TLS))
		return 0;
	if (m->flags & HO_F_MORE)
		return -EINVAL;
	pc->tls = tlsconn_resume_msg(m);
	if (!pc->tls)
		log_warn("%s: conn %llu: TLS state refused", pc->pb->cfg.name,
			 (unsigned long long)m->conn_id);
	return pc->tls ? 0 : -EINVAL;
}

/* Steps 7-8 of the thesis' Figure 2.1: restore, claim, thaw.  Claim: the
 * restored socket carries the in-band mark, and its first segment takes
 * the flow at the switch (no round trip). */
static void on_handoff(struct pb *pb, struct hochan *ch, const struct ho_msg *m)
{
	struct prism_flow_key key = {
		.client_ip = m->tcp.remote_ip,
		.client_port = m->tcp.remote_port,
		.vip = m->tcp.local_ip,
		.vip_port = m->tcp.local_port,
	};
	int tos = PRISM_TOS_MARK, fd = -1, err;
	bool claim = claimable(pb, ch, m);
	struct pb_conn *pc;

	if (pb->cfg.max_conns && pb->stats.active >= pb->cfg.max_conns) {
		refuse(pb, ch, m->conn_id, HO_ERR_OVERLOAD);
		return;
	}
	err = migrate_restore(&m->tcp, m->inq, m->outq, &pb->cfg.self,
			      pb->raw_fd >= 0 ? TCPR_RTT_PROBE : 0, &fd);
	if (err) {
		log_warn("%s: conn %llu: restore: %s", pb->cfg.name,
			 (unsigned long long)m->conn_id, strerror(-err));
		refuse(pb, ch, m->conn_id, HO_ERR_RESTORE);
		return;
	}
	pc = pc_new(pb, ch, m->conn_id);
	if (!pc) {
		close(fd);
		refuse(pb, ch, m->conn_id, HO_ERR_OVERLOAD);
		return;
	}
	pc->key = key;
	pc->fd = fd;
	pc->more = (m->flags & HO_F_MORE) != 0;
	if (pc->more)
		pb->stats.split_takeovers++;
	if (take_tls(pc, m)) {
		refuse(pb, ch, m->conn_id, HO_ERR_BAD);
		pc_free(pc);
		return;
	}
	if (!claim) {
		own_then_serve(pc, m);
		return;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0 ||
	    migrate_thaw(fd, &m->tcp, m->outq)) {
		refuse(pb, ch, m->conn_id, HO_ERR_RESTORE);
		pc_free(pc);
		return;
	}
	pc->st = m->tcp;
	rtt_probe(pc, fd, tos);
	start_serving(pc, m->pending, m->pending_len);
}

static struct pb_conn *find_frozen(struct pb *pb, struct hochan *ch,
				   uint64_t id)
{
	for (struct pb_conn *pc = pb->conns; pc; pc = pc->next)
		if (pc->ch == ch && pc->conn_id == id && pc->returned)
			return pc;
	return NULL;
}

/* The rest of a split hand-off's pending bytes.  One for a connection that
 * is gone (closed while they travelled) is dropped. */
static void on_handoff_data(struct pb *pb, struct hochan *ch,
			    const struct ho_msg *m)
{
	struct pb_conn *pc = pb->conns;

	while (pc && !(pc->ch == ch && pc->conn_id == m->conn_id &&
		       !pc->returned && pc->more))
		pc = pc->next;
	if (!pc) {
		pb->stats.bad_msgs++;
		return;
	}
	pc->more = (m->flags & HO_F_MORE) != 0;
	/* Still waiting for its OWN (own_then_serve): the server has not got
	 * the connection yet; the bytes join the request's copy. */
	if (pc->fd >= 0) {
		uint8_t *p = realloc(pc->pending, pc->pending_len +
						       m->pending_len + 1);

		if (!p) {
			int fd = pc->fd;

			pc->fd = -1;
			pb_abort(pc, fd);
			return;
		}
		memcpy(p + pc->pending_len, m->pending, m->pending_len);
		pc->pending = p;
		pc->pending_len += m->pending_len;
		return;
	}
	if (pb->on_data)
		pb->on_data(pc, m->pending, m->pending_len, pb->arg);
}

static void on_handback_ack(struct pb *pb, struct hochan *ch,
			    const struct ho_msg *m)
{
	struct pb_conn *pc = find_frozen(pb, ch, m->conn_id);

	if (!pc) {
		pb->stats.bad_msgs++;
		return;
	}
	if (m->status != HO_OK) {
		pb->stats.handback_failures++;
		log_warn("%s: conn %llu: controller could not restore",
			 pb->cfg.name, (unsigned long long)m->conn_id);
	}
	pc_free(pc);
}

/* A relayed request: answered now, in-line or declined. */
static void on_request(struct pb *pb, struct hochan *ch, const struct ho_msg *m)
{
	struct pb_relay r = {
		.request = m->pending,
		.len = m->pending_len,
		.max = (size_t)m->relay_kb << 10,
	};
	struct ho_msg out = { .type = HO_RESPONSE, .conn_id = m->conn_id };

	if (pb->on_relay && pb->on_relay(&r, pb->arg) && r.response_len &&
	    r.response_len <= r.max) {
		out.pending = r.response;
		out.pending_len = (uint32_t)r.response_len;
		out.http_status = (uint16_t)r.http_status;
		out.flags = r.close ? HO_F_CLOSE : 0;
		pb->stats.relayed++;
	} else {
		out.status = HO_DECLINED;
		pb->stats.relay_declined++;
	}
	if (hochan_send(ch, &out))
		log_debug("%s: conn %llu: relayed response not sent",
			  pb->cfg.name, (unsigned long long)m->conn_id);
}

/* CLOSED from the controller: it gave the hand-off up (its timeout) and
 * has the connection back.  One we have restored but not thawed yet (the
 * OWN unanswered, as a stopped backend finds it when it resumes) goes
 * silently, its entry with it (after the OWN, in order); one already
 * served can only be logged: its response may reach the client after the
 * controller's 503 (in switch mode its claim finds no entry and fails). */
static void on_called_off(struct pb *pb, struct hochan *ch,
			  const struct ho_msg *m)
{
	struct pb_conn *pc = pb->conns;

	while (pc && !(pc->ch == ch && pc->conn_id == m->conn_id &&
		       !pc->returned))
		pc = pc->next;
	if (!pc)
		return; /* refused or gone already */
	if (pc->fd < 0) {
		log_warn("%s: conn %llu: called off after the take-over",
			 pb->cfg.name, (unsigned long long)m->conn_id);
		return;
	}
	pb->stats.called_off++;
	log_warn("%s: conn %llu: hand-off called off by the controller: "
		 "dropped", pb->cfg.name, (unsigned long long)m->conn_id);
	switch_forget(pb, PRISM_OP_DELETE, &pc->key);
	pc_free(pc);
}

static void chan_msg(struct hochan *ch, const struct ho_msg *m, void *arg)
{
	struct pb *pb = arg;

	if (m->type == HO_HANDOFF)
		on_handoff(pb, ch, m);
	else if (m->type == HO_HANDOFF_DATA)
		on_handoff_data(pb, ch, m);
	else if (m->type == HO_HANDBACK_ACK)
		on_handback_ack(pb, ch, m);
	else if (m->type == HO_REQUEST)
		on_request(pb, ch, m);
	else if (m->type == HO_CLOSED)
		on_called_off(pb, ch, m);
	else
		pb->stats.bad_msgs++;
}

static void chan_close(struct hochan *ch, long err, void *arg)
{
	struct pb *pb = arg;

	log_warn("%s: controller channel closed: %s", pb->cfg.name,
		 strerror((int)-err));
	for (int i = 0; i < PB_MAX_CONTROLLERS; i++)
		if (pb->chans[i] == ch)
			pb->chans[i] = NULL;
	/* Connections still being served keep going; their hand-back will
	 * fail and reset the client.  Frozen ones are released. */
	for (struct pb_conn *pc = pb->conns, *next; pc; pc = next) {
		next = pc->next;
		if (pc->ch != ch)
			continue;
		pc->ch = NULL;
		if (pc->returned)
			pc_free(pc);
	}
}

static void on_accept(struct evloop *loop, int lfd, uint32_t events, void *arg)
{
	struct pb *pb = arg;
	int fd, err, slot = -1;

	(void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < PB_MAX_CONTROLLERS && slot < 0; i++)
		if (!pb->chans[i])
			slot = i;
	if (slot < 0) {
		log_warn("%s: more than %d controllers: refused", pb->cfg.name,
			 PB_MAX_CONTROLLERS);
		close(fd);
		return;
	}
	err = net_tune_channel(fd);
	if (err)
		log_debug("%s: channel timers: %s", pb->cfg.name,
			  strerror(-err));
	pb->chans[slot] = hochan_new(loop, fd, &pb->key, chan_msg, chan_close,
				     pb);
	if (!pb->chans[slot])
		close(fd);
	else
		log_info("%s: controller connected", pb->cfg.name);
}

int pb_ready_for_handback(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int unsent = 0, unacked = 0, err = 0;

	/* A reset socket keeps its old queue counters: look at the state. */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (ti.tcpi_state != TCP_ESTABLISHED) {
		len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		return -(err ? err : ECONNRESET);
	}
	if (ioctl(fd, SIOCOUTQNSD, &unsent) < 0 ||
	    ioctl(fd, SIOCOUTQ, &unacked) < 0)
		return -errno;
	return unsent == 0 && (uint32_t)unacked <= PB_TAIL_MAX;
}

/* The LOCK_TAIL is answered: dump, send the HANDBACK, close the frozen
 * socket. */
static void on_tail_locked(void *arg, int status)
{
	struct pb_conn *pc = arg;
	struct pb *pb = pc->pb;
	struct ho_msg m = { .type = HO_HANDBACK, .conn_id = pc->conn_id,
			    .http_status = pc->http_status };
	int fd = pc->fd, err = status;
	struct frozen f;

	pc->sw_op = 0;
	if (!err && !pc->ch)
		err = -ENOTCONN;
	if (!err) {
		err = migrate_dump(fd, &f);
		if (!err) {
			m.tcp = f.st;
			m.flags = pc->close_after ? HO_F_CLOSE : 0;
			m.pending = pc->leftover;
			m.pending_len = (uint32_t)pc->leftover_len;
			m.inq = f.inq;
			m.inq_len = f.st.inq_len;
			m.outq = f.outq;
			m.outq_len = f.st.outq_len;
			/* The session goes back too, its sequence numbers
			 * advanced, with the records read but not opened. */
			err = tlsconn_export_msg(pc->tls, &m);
			if (!err)
				err = hochan_send(pc->ch, &m);
			if (pc->tls)
				ho_wipe_tls(&m);
			migrate_frozen_free(&f);
		}
	}
	free(pc->leftover);
	pc->leftover = NULL;
	pc->fd = -1;
	if (err) {
		log_warn("%s: conn %llu: hand-back: %s", pb->cfg.name,
			 (unsigned long long)pc->conn_id, strerror(-err));
		pb->stats.handback_failures++;
		pb_abort(pc, fd);
		return;
	}
	pb->stats.handbacks++;
	/* Closed at once, in repair mode, which sends nothing.  A frozen
	 * socket's timers still run: kept until HANDBACK_ACK, it sent tail
	 * loss probes with a newer timestamp than the dump, and the client
	 * then dropped the controller's segments as older (PAWS).  Nothing
	 * can reach us for this flow any more: it is locked at the switch
	 * until the controller's socket exists. */
	close(fd);
	pc->returned = true;
	/* Host mode: the entry on our own host goes now (after the LOCK_TAIL,
	 * in order): the closed socket sends nothing more, and a client
	 * segment sent on to us before the controller's DELETE is dropped
	 * without it just the same (to_owner). */
	if (pb->cfg.host_mode)
		switch_forget(pb, PRISM_OP_DELETE, &pc->key);
}

void pb_set_http_status(struct pb_conn *pc, int status)
{
	pc->http_status = status > 0 && status < 1000 ? (uint16_t)status : 0;
}

int pb_handback(struct pb_conn *pc, int fd, const void *leftover, size_t len,
		bool close_after)
{
	struct pb *pb = pc->pb;
	uint32_t snd_nxt;
	int err = -ENOTCONN;

	if (!pc->ch)
		goto fail;
	pc->handing_back = true;
	/* The probe is the controller's business now (the tail goes with
	 * the connection); a timer left to fire would wake us for nothing. */
	if (pc->probe_timer) {
		evloop_timer_cancel(pb->loop, pc->probe_timer);
		pc->probe_timer = NULL;
	}
	/* Unmarked from now on: nothing the frozen socket might still send
	 * can claim the flow again at its next hand-off to us. */
	setsockopt(fd, IPPROTO_IP, IP_TOS, &(int){ 0 }, sizeof(int));
	/* Invariant 1: lock before dumping.  Repair mode first: the socket
	 * transmits no more data (it still receives and ACKs), so its
	 * snd_nxt is final and the switch can let what it sent before catch
	 * up with the lock (LOCK_TAIL, PRISM_FLOW_F_TAIL). */
	err = tcpr_repair_on(fd);
	if (!err)
		err = tcpr_send_seq(fd, &snd_nxt);
	if (err)
		goto fail;
	err = -ENOMEM;
	pc->leftover = malloc(len ? len : 1);
	if (!pc->leftover)
		goto fail;
	memcpy(pc->leftover, leftover, len);
	pc->leftover_len = len;
	pc->close_after = close_after;
	pc->fd = fd;
	if (pc_switch(pc, PRISM_OP_LOCK_TAIL, snd_nxt, on_tail_locked))
		return 0;
	pc->fd = -1;
	err = -EIO;
fail:
	log_warn("%s: conn %llu: hand-back: %s", pb->cfg.name,
		 (unsigned long long)pc->conn_id, strerror(-err));
	pb->stats.handback_failures++;
	pb_abort(pc, fd);
	return err;
}

void pb_abort(struct pb_conn *pc, int fd)
{
	struct pb *pb = pc->pb;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	pb->stats.aborted++;
	/* Leave repair mode if we were in it, so that close() resets. */
	tcpr_repair_off(fd, false);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	switch_forget(pb, PRISM_OP_DELETE, &pc->key);
	if (pb->ctl_sw) {
		struct switch_op o = { .op = PRISM_OP_DELETE, .key = pc->key };

		switch_async_op(pb->ctl_sw, &o, NULL, NULL);
	}
	if (pc->ch)
		send_ack(pc->ch, HO_CLOSED, pc->conn_id, HO_OK);
	pc_free(pc);
}

int pb_open(struct evloop *loop, const struct pb_config *cfg,
	    pb_takeover_cb on_takeover, void *arg, struct pb **out)
{
	struct pb *pb = calloc(1, sizeof(*pb));
	int err;

	if (!pb)
		return -ENOMEM;
	pb->cfg = *cfg;
	pb->loop = loop;
	pb->on_takeover = on_takeover;
	pb->arg = arg;
	pb->listen_fd = -1;
	pb->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (pb->raw_fd < 0)
		log_warn("%s: raw socket (window updates): %s; uploads may "
			 "stall", cfg->name, strerror(errno));
	err = auth_key_load(cfg->key_path, &pb->key);
	if (err)
		goto fail;
	err = switch_async_open(loop, cfg->switch_agent, &pb->key,
				cfg->peer_id, (int)cfg->switch_timeout_ms, &pb->sw);
	if (err < 0)
		goto fail;
	if (cfg->host_mode)
		switch_async_agent_only(pb->sw);
	if (cfg->host_mode && cfg->controller_switch) {
		err = switch_async_open(loop, cfg->controller_switch, &pb->key,
					cfg->peer_id, (int)cfg->switch_timeout_ms,
					&pb->ctl_sw);
		if (err < 0)
			goto fail;
		switch_async_agent_only(pb->ctl_sw);
	}
	err = net_listen(&cfg->listen, 64, false);
	if (err < 0) {
		log_err("%s: hand-off listen port %u: %s", cfg->name,
			ntohs(cfg->listen.sin_port), strerror(-err));
		goto fail;
	}
	pb->listen_fd = err;
	err = evloop_add(loop, pb->listen_fd, EVLOOP_READ, on_accept, pb);
	if (err)
		goto fail;
	*out = pb;
	return 0;
fail:
	pb_close(pb);
	return err;
}

void pb_close(struct pb *pb)
{
	if (!pb)
		return;
	while (pb->conns)
		pc_free(pb->conns);
	/* The DELETEs of the connections the server just aborted. */
	if (pb->sw && switch_async_drain(pb->sw, (int)pb->cfg.switch_timeout_ms))
		log_warn("%s: shutdown: switch operations left unanswered",
			 pb->cfg.name);
	for (int i = 0; i < PB_MAX_CONTROLLERS; i++)
		hochan_free(pb->chans[i]);
	if (pb->listen_fd >= 0) {
		evloop_del(pb->loop, pb->listen_fd);
		close(pb->listen_fd);
	}
	if (pb->ctl_sw)
		switch_async_drain(pb->ctl_sw, (int)pb->cfg.switch_timeout_ms);
	switch_async_close(pb->sw);
	if (pb->ctl_sw)
		switch_async_close(pb->ctl_sw);
	if (pb->raw_fd >= 0)
		close(pb->raw_fd);
	auth_key_clear(&pb->key);
	free(pb);
}

/* The window op is answered.  Opened: the client may already sit at a
 * zero window that the switch wrote into our ACKs: tell it the real one
 * now rather than after its persist timer (>= 200 ms). */
static void on_window(void *arg, int status)
{
	struct pb_conn *pc = arg;
	struct pb *pb = pc->pb;

	pc->sw_op = 0;
	for (int i = 0; !status && pc->window_open && pb->raw_fd >= 0 &&
			i < PB_WINDOW_ACKS;
	     i++) {
		/* Best effort: EAGAIN means data is arriving while the state
		 * is read, so the client is sending already. */
		if (tcpr_send_window_update(pb->raw_fd, pc->win_fd, 0)) {
			log_debug("%s: conn %llu: window update: %s",
				  pb->cfg.name, (unsigned long long)pc->conn_id,
				  tcpr_errmsg());
			break;
		}
	}
	if (pb->on_window)
		pb->on_window(pc, pc->window_open, status, pb->arg);
}

int pb_window(struct pb_conn *pc, int fd, bool open)
{
	pc->win_fd = fd;
	pc->window_open = open;
	return pc_switch(pc, open ? PRISM_OP_OWN_OPEN : PRISM_OP_OWN, 0,
			 on_window)
		       ? 0
		       : -EIO;
}

void pb_set_window_cb(struct pb *pb, pb_window_cb on_window)
{
	pb->on_window = on_window;
}

void pb_set_relay_cb(struct pb *pb, pb_relay_cb on_relay)
{
	pb->on_relay = on_relay;
}

void pb_set_data_cb(struct pb *pb, pb_data_cb on_data)
{
	pb->on_data = on_data;
}

bool pb_more_coming(const struct pb_conn *pc)
{
	return pc->more;
}

void pb_conn_set_user(struct pb_conn *pc, void *user)
{
	pc->user = user;
}

struct tlsconn *pb_conn_tls(const struct pb_conn *pc)
{
	return pc->tls;
}

void *pb_conn_user(const struct pb_conn *pc)
{
	return pc->user;
}

const struct pb_stats *pb_stats(const struct pb *pb)
{
	return &pb->stats;
}
