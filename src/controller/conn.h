/* Client connections at the controller: the connection table (slots with
 * generation-tagged ids, so that a message for a closed connection finds
 * nothing) and the socket I/O the state machine uses.  Nothing here moves
 * a connection between states or arms a timer: that is handoff_fsm.c's. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/ctrl.h"
#include "controller/handoff_fsm.h"
#include "lib/evloop.h"
#include "lib/handoff.h"
#include "lib/tcprepair.h"
#include "lib/tlsconn.h"
#include "prism_abi.h"

#define CONN_TARGET_LOG 256 /* request target kept for the access log */

struct conn {
	uint64_t id; /* generation << 32 | slot */
	struct ctrl *ctrl;
	int fd;
	enum conn_state state;
	struct prism_flow_key key;
	char *buf;
	size_t len, cap;
	size_t want; /* head + small body being received: buffer room */
	struct ctrl_backend *backend;
	struct evtimer *timer;
	bool keep_alive;
	uint64_t t_start_us; /* the request head was complete */
	/* As handed off (bytes sent, late data, reset probe), then as restored
	 * at the hand-back (a half-closed client's FIN). */
	struct tcpr_state st0;
	uint64_t head_deadline; /* ms: the request head must be complete */
	/* Handed back and unlocked in band; nothing from the client yet to
	 * prove that the marked window update reached the switch. */
	bool unlock_unconfirmed;
	bool close_when_home; /* host mode: close once the DELETE is applied */
	uint8_t unlock_resends; /* copies of that update sent since */
	/* Restored with an unacknowledged tail: our copy of the queue it is
	 * part of, sent again with tcpr_resend_unacked while the client is
	 * silent (the restored socket's own timers would take 1-3 s). */
	uint8_t *tail;
	uint32_t tail_seq, tail_len;
	uint32_t client_rtt_us; /* our socket's srtt before its first freeze */
	bool in_switch; /* may have a switch entry: DELETE before forgetting */
	/* The client has half-closed (its FIN arrived): its requests are
	 * served, then the connection is closed.  The FIN is not in our
	 * socket any more once it was handed off (tcprepair.h). */
	bool peer_fin;
	/* The client pipelines (more bytes came behind a request): a request
	 * read from it waits a round trip before its LOCK (quiescing), so
	 * that what the client sent right behind it is not dropped at the
	 * lock. */
	bool pipelining, quiescing;
	bool quiesce_tail; /* quiescing until the restored tail is acked */
	size_t quiesce_len;
	unsigned quiesce_rounds;
	uint64_t sw_op; /* the switch op whose answer we wait for, or 0 */
	/* LOCKING: what the hand-off sends once the flow is locked. */
	size_t head_len;
	bool may_split;
	/* Relayed (adaptive delivery): the request's delivery.c key; the
	 * response the client has not taken yet (WRITING); close after it. */
	uint32_t size_key;
	uint32_t relay_limit; /* the REQUEST's: no RESPONSE may be longer */
	/* Relayed responses may go on fd: the accepted socket, with a
	 * round-trip sample (handoff_fsm.c, on_new). */
	bool may_relay;
	bool relay_close;
	uint8_t *out;
	size_t out_len, out_off;
	char method[8];
	char target[CONN_TARGET_LOG];
	/* HTTPS: the session while the connection is here (NULL while a
	 * backend holds it, its state in the hand-off); is_tls for good.
	 * tls_more: records it buffered, opened from the loop (the socket
	 * is not readable for them). */
	struct tlsconn *tls;
	bool is_tls;
	bool tls_watch_write; /* READING: our records wait for the socket */
	struct evdefer tls_more;
};

/* A new connection for FD in the table, or NULL (out of memory). */
struct conn *conn_new(struct ctrl *c, int fd);
struct conn *conn_lookup(struct ctrl *c, uint64_t id);
/* Frees K: its fd (unwatched and closed), buffer and slot.  The caller
 * has released its timer and switch entry. */
void conn_free(struct conn *k);
void conn_table_free(struct ctrl *c);

/* Watching the fd for reading (CB) or not (while it is handed off). */
int conn_watch(struct conn *k, evloop_fd_cb cb);
void conn_unwatch(struct conn *k);
/* Watching the fd for room to write (CB), while a response is queued. */
int conn_watch_write(struct conn *k, evloop_fd_cb cb);
/* Writes LEN bytes from DATA; what the socket does not take now is copied
 * to k->out.  1: all written, 0: some queued, -errno. */
int conn_write_out(struct conn *k, const void *data, size_t len);
/* Writes more of k->out: 1 once empty (freed), 0 not yet, -errno. */
int conn_flush_out(struct conn *k);
/* Reads what is there, up to CONN_BUF_MAX buffered (k->want when a small
 * body is on its way).  Returns bytes read, 0 on EOF, -EAGAIN, or -errno
 * (-ENOBUFS: the buffer is full). */
ssize_t conn_read(struct conn *k);
/* The buffer holds exactly LEN bytes from DATA.  0, -E2BIG, -ENOMEM. */
int conn_set_buffer(struct conn *k, const void *data, size_t len);
/* Empties the buffer; a small body's extra room is given back. */
void conn_clear_buffer(struct conn *k);
/* The socket's TCP state (TCP_ESTABLISHED, TCP_CLOSE_WAIT, ...) or -1,
 * and its smoothed round-trip time in microseconds (*RTT_US). */
int conn_tcp_state(const struct conn *k, uint32_t *rtt_us);
/* Writes the controller's own error response; returns its length. */
size_t conn_write_error(struct conn *k, int status);
/* Our FIN (TLS: close_notify first). */
void conn_shutdown(struct conn *k);
/* TLS: the connection's records buffered but not opened: CB(K) from the
 * loop, as if the socket were readable.  No-op for plain HTTP. */
void conn_tls_more(struct conn *k, void (*cb)(void *arg));

/* Accepts every pending connection on LFD (up to 64) and gives each new
 * one, with its 4-tuple set, to ON_NEW. */
void conn_accept(struct ctrl *c, int lfd, void (*on_new)(struct conn *k));
