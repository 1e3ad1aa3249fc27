/* TCP_REPAIR: freeze a connected IPv4 TCP socket, dump its state, and
 * restore it into a new socket, on this host or another one.  CRIU's soccr
 * is the model.  Needs CAP_NET_ADMIN.  ESTABLISHED sockets, and CLOSE_WAIT
 * ones (the peer half-closed): those are dumped as if the peer's FIN had
 * not arrived (peer_fin set, rcv_seq before the FIN) and restore as
 * ESTABLISHED; tcpr_peer_fin_send() gives a restored socket the FIN.
 *
 * DUMP, on the current owner, once the flow is locked at the switch and
 * in-flight segments have drained (a socket in repair mode still receives
 * and ACKs data: whatever it ACKs must be in the dump):
 *   1. tcpr_repair_on(fd)       freeze: the socket transmits nothing more
 *   2. tcpr_dump(fd, &st)       info: TCP_INFO options, MSS, window scales;
 *                               queue sequence numbers (TCP_REPAIR_QUEUE +
 *                               TCP_QUEUE_SEQ) and lengths (SIOCINQ,
 *                               SIOCOUTQ, SIOCOUTQNSD); window
 *                               (TCP_REPAIR_WINDOW); TCP_TIMESTAMP;
 *                               addresses
 *   3. tcpr_dump_queues(fd, &st, inq, outq)
 *                               MSG_PEEK copies of the receive queue
 *                               (st.inq_len bytes) and the send queue
 *                               (st.outq_len bytes: sent-but-unacked, then
 *                               unsent); -EAGAIN if the queues moved since 2
 *   4. close(fd)                a socket in repair mode closes silently:
 *                               no FIN, no RST
 *   tcpr_state_encode() puts st on the wire (versioned, network order).
 *
 * RESTORE, on the next owner, before the switch sends it the flow's
 * segments: tcpr_restore() does, in this order,
 *   socket; repair on (this forces address reuse: the 4-tuple can be bound
 *   while a listener holds the port -- never set SO_REUSEADDR afterwards,
 *   that undoes it); bind (the dumped local address or an override, e.g.
 *   the backend's own IP instead of the VIP; same port); queue sequence
 *   numbers = the dumped ones MINUS the queue lengths (the queue contents
 *   sent below advance them back); connect (no SYN in repair mode);
 *   TCP_REPAIR_OPTIONS (only what was negotiated: MSS, window scale, SACK,
 *   timestamps; the kernel refuses them once data was sent); TCP_TIMESTAMP;
 *   the receive queue (repair-mode send on TCP_RECV_QUEUE); the sent part of
 *   the send queue (repair-mode send on TCP_SEND_QUEUE: queued as sent and
 *   unacked, retransmitted on timeout); TCP_REPAIR_WINDOW; then, unless
 *   TCPR_STAY_IN_REPAIR, tcpr_restore_finish(): repair off and a normal send
 *   of the unsent part.
 * SO_SNDBUF/SO_RCVBUF are never forced (that would disable autotuning).
 *
 * Repair off with a probe (TCPR_PROBE, TCP_REPAIR_OFF) sends a zero-length
 * segment with an old sequence number; the peer answers it at most once per
 * 500 ms and it does not re-open a window the peer saw as zero.  Without
 * (TCP_REPAIR_OFF_NO_WP) nothing is sent.  To re-open the peer's view of
 * our window, send tcpr_send_window_update().
 *
 * Errors: every function returns 0 (or a length) or -errno; the failing
 * step with its context is in tcpr_errmsg(). */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Options negotiated on the SYN exchange. */
#define TCPR_F_TS     0x1 /* timestamps */
#define TCPR_F_SACK   0x2
#define TCPR_F_WSCALE 0x4

/* The state of one connection, fixed-width.  Addresses and ports in
 * network order, everything else in host order. */
struct tcpr_state {
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
	uint32_t snd_seq;    /* end of the send queue (write_seq) */
	uint32_t rcv_seq;    /* end of the receive queue (rcv_nxt) */
	uint32_t mss;        /* MSS clamp (the peer's announced MSS) */
	uint8_t snd_wscale;  /* the peer's shift, applied to its windows */
	uint8_t rcv_wscale;  /* our shift */
	uint16_t flags;      /* TCPR_F_* */
	uint32_t ts_val;     /* TCP_TIMESTAMP: our TSval clock now */
	/* TCP_REPAIR_WINDOW */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	uint32_t inq_len;    /* unread bytes in the receive queue */
	uint32_t outq_len;   /* bytes in the send queue: unacked + unsent */
	uint32_t unsent_len; /* of which never sent */
	/* tcpr_dump: the socket was in CLOSE_WAIT (rcv_seq excludes the
	 * peer's FIN).  Not on the wire: the dumping side keeps it. */
	bool peer_fin;
};

/* tcpr_restore / tcpr_restore_finish flags */
#define TCPR_PROBE          0x1 /* repair off with TCP_REPAIR_OFF */
#define TCPR_STAY_IN_REPAIR 0x2 /* restore only; call tcpr_restore_finish */
#define TCPR_NONBLOCK       0x4 /* the new socket is O_NONBLOCK */
/* The send queue starts one byte early, at the last byte the peer
 * acknowledged (value 0: the peer discards it), so that the socket holds
 * one sent, unacknowledged byte; see tcpr_rtt_probe_send(). */
#define TCPR_RTT_PROBE      0x8

int tcpr_repair_on(int fd);
/* probe: TCP_REPAIR_OFF (sends a window probe), else TCP_REPAIR_OFF_NO_WP */
int tcpr_repair_off(int fd, bool probe);

/* fd in repair mode.  Fills st (queue lengths included). */
int tcpr_dump(int fd, struct tcpr_state *st);
/* fd in repair mode: *seq = the sequence number after the last byte queued
 * for sending (snd_nxt once nothing is unsent). */
int tcpr_send_seq(int fd, uint32_t *seq);
/* fd in repair mode, st from tcpr_dump.  inq gets st->inq_len bytes, outq
 * st->outq_len bytes (either may be NULL when its length is 0). */
int tcpr_dump_queues(int fd, const struct tcpr_state *st, uint8_t *inq,
		     uint8_t *outq);

/* Creates the socket and restores st into it (see the order above).
 * local_override: bind this address instead of st->local_ip (NULL: keep).
 * On success *fd_out is the socket: out of repair mode with the unsent data
 * queued, or still in repair mode with TCPR_STAY_IN_REPAIR.  On failure
 * nothing is left open and nothing was sent. */
int tcpr_restore(const struct tcpr_state *st, const uint8_t *inq,
		 const uint8_t *outq, const struct in_addr *local_override,
		 unsigned flags, int *fd_out);
/* Repair off (TCPR_PROBE: with a probe) and queues the unsent part of outq
 * with a normal send.  -ENOBUFS if the send buffer cannot take it all
 * (the socket is then live with part of it queued). */
int tcpr_restore_finish(int fd, const struct tcpr_state *st,
			const uint8_t *outq, unsigned flags);

/* Serialization: version 1, TCPR_WIRE_LEN bytes, network byte order.
 * encode returns TCPR_WIRE_LEN or -ENOSPC; decode returns TCPR_WIRE_LEN,
 * -EMSGSIZE (short), -EPROTONOSUPPORT (version) or -EBADMSG (bad values). */
#define TCPR_WIRE_VERSION 1
#define TCPR_WIRE_LEN 68
int tcpr_state_encode(const struct tcpr_state *st, uint8_t *buf, size_t len);
int tcpr_state_decode(struct tcpr_state *st, const uint8_t *buf, size_t len);

/* The window update that re-opens the peer's view of our receive window
 * after the switch zeroed it: an IPv4 pure ACK from st's local to remote
 * address, seq = snd_nxt (snd_seq - unsent_len), ack = rcv_nxt, window =
 * what the socket believes it advertised (rcv_wup + rcv_wnd - rcv_nxt,
 * scaled; 0 with ZERO: the peer must not send yet), with TSval = st->ts_val and TSecr 0 when timestamps are on; IP
 * and TCP checksums filled in, IP TOS byte TOS (PRISM_TOS_MARK makes it
 * the switch's in-band unlock).  Returns the packet length or -ENOSPC. */
#define TCPR_WU_MAX 52
int tcpr_window_update_build(const struct tcpr_state *st, uint8_t tos,
			     bool zero, uint8_t *pkt, size_t len);
/* Builds it from fd's current state (fd briefly in repair mode, left with
 * TCP_REPAIR_OFF_NO_WP; fd must not be in repair mode) and sends it on
 * raw_fd, a socket(AF_INET, SOCK_RAW, IPPROTO_RAW), with IP TOS TOS. */
int tcpr_send_window_update(int raw_fd, int fd, uint8_t tos);
/* Builds it from st and sends it on raw_fd: for a socket just restored
 * from st, whose state is st, this spares the repair round trip. */
int tcpr_window_update_send(int raw_fd, const struct tcpr_state *st,
			    uint8_t tos, bool zero);
/* Sends the first unacknowledged byte of st's send queue again (outq:
 * the dumped queue), from st's local to remote address, advertising a
 * zero window: a peer that has it already must answer at once with its
 * current ACK (a duplicate: RFC 9293 3.10.7.4), where an ACK it sent
 * earlier may have been lost.  -EINVAL when nothing is unacknowledged. */
int tcpr_tail_probe_send(int raw_fd, const struct tcpr_state *st,
			 const uint8_t *outq);
/* A restored socket has no round-trip sample: the kernel gives it a 3 s
 * retransmission timeout and a 1 s tail loss probe (tcp_init_metrics(),
 * RFC 6298 5.7), where the socket it replaces had ~200 ms, and no socket
 * option or BPF hook sets either (BPF_SOCK_OPS_TIMEOUT_INIT is overwritten
 * there).  For a socket restored with TCPR_RTT_PROBE this sends its
 * probe byte (seq snd_una - 1, from LOCAL or st's local address, IP TOS
 * TOS): data the peer already has, which it must acknowledge at once (a
 * duplicate, with a D-SACK), and that ACK covers the byte the socket holds
 * as sent at restore: its first RTT sample, one round trip after the
 * restore, whatever becomes of the data sent after it. */
int tcpr_rtt_probe_send(int raw_fd, const struct tcpr_state *st,
			const struct in_addr *local, uint8_t tos);
/* FD, a live socket whose send queue held the LEN bytes of DATA from
 * sequence number DATA_SEQ on (a restored queue), sends again from
 * raw_fd, in segments of its MSS, whatever of them it has sent and the
 * peer not acknowledged.  Where the kernel's own recovery of a restored
 * queue waits for its retransmission timeout (its first RTT sample has
 * the timestamp clock's 1 ms resolution, and a SACK of a retransmission
 * that comes back sooner is ignored), this takes a round trip.  Returns
 * the bytes sent (0: all acknowledged) or -errno. */
int tcpr_resend_unacked(int raw_fd, int fd, uint32_t data_seq,
			const uint8_t *data, uint32_t len);
/* The peer's FIN, as the peer would send it (from st's remote to local
 * address, seq = rcv_seq, ack = our snd_una, no options), for a socket
 * restored from a peer_fin state: delivered locally (the socket's own
 * address), it moves the socket to CLOSE_WAIT, so that it reads EOF and
 * its close() ends the connection as the peer expects (LAST_ACK), where a
 * socket left ESTABLISHED would wait in FIN_WAIT2 for a FIN the peer sent
 * long ago. */
int tcpr_peer_fin_build(const struct tcpr_state *st, uint8_t *pkt, size_t len);
int tcpr_peer_fin_send(int raw_fd, const struct tcpr_state *st);

/* What the last failing call in this thread was doing, e.g.
 * "restore 198.18.1.2:40000->198.19.0.1:80: TCP_REPAIR_OPTIONS: Operation
 * not permitted". */
const char *tcpr_errmsg(void);
