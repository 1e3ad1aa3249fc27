/* libprism-backend: what a C HTTP server needs to serve connections that the
 * Prism controller hands off, and to hand them back.
 *
 *   pb_open(loop, &cfg, on_takeover, srv, &pb);
 *       listens for the controller on cfg.listen.  For each HANDOFF it
 *       restores the TCP connection (TCP_REPAIR, local address = cfg.self),
 *       claims the flow at the switch, thaws the socket, acknowledges, and
 *       calls
 *   on_takeover(pc, fd, pending, len, arg)
 *       fd: a live, non-blocking TCP socket to the client;
 *       pending: bytes the controller already read (the request head and
 *       whatever followed); serve them as if read from fd first.  When
 *       pb_more_coming(pc), more of them follow: on_data(pc, data, len,
 *       arg) delivers them in order (set with pb_set_data_cb); read
 *       nothing from fd while pb_more_coming(pc) (false in the call that
 *       brings the last of them).
 *   ... the server writes its response on fd as usual ...
 *   pb_handback(pc, fd, leftover, len, close)
 *       once the response is fully handed to the kernel and sent (see
 *       pb_ready_for_handback): freezes the socket, locks the flow at the
 *       switch (LOCK_TAIL), and once the switch answered exports the
 *       socket (unacknowledged bytes travel too), sends it with the bytes
 *       the server read but did not use, and closes fd silently (in
 *       repair mode).  fd belongs to the library from this call on,
 *       whatever it returns.
 *
 * No call waits for the switch: its operations are asynchronous
 * (switch/async.h) and their answers continue the work from the loop.
 *   pb_abort(pc, fd)
 *       gives up a handed-off connection (fatal error): the client is reset.
 *
 * Ordering (../shared/DESIGN.md): the socket is restored before the flow is
 * claimed; the flow is locked before the socket is frozen. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/evloop.h"

struct pb;
struct pb_conn;

struct pb_config {
	const char *name;           /* for logs */
	struct in_addr self;        /* this backend's address */
	struct sockaddr_in listen;  /* hand-off port for the controller */
	const char *key_path;       /* shared HMAC key */
	const char *switch_agent;   /* "IP:PORT" */
	uint32_t peer_id;           /* switch client peer id */
	uint32_t max_conns;         /* refuse hand-offs above this */
	uint32_t switch_timeout_ms;
	/* Host mode (docs/switch.md): switch_agent is this host's own agent;
	 * a handed-back flow's entry there goes once the controller has it. */
	bool host_mode;
	const char *controller_switch; /* host mode: "IP:PORT" or NULL */
};

typedef void (*pb_takeover_cb)(struct pb_conn *pc, int fd,
			       const uint8_t *pending, size_t len, void *arg);
typedef void (*pb_data_cb)(struct pb_conn *pc, const uint8_t *data,
			   size_t len, void *arg);
/* A pb_window() is done: OPEN as asked, ERR 0 or -errno (then the client
 * would wait at a zero window: abort the connection). */
typedef void (*pb_window_cb)(struct pb_conn *pc, bool open, int err,
			     void *arg);

/* Hand-off events: field, the event label of
 * prism_backend_handoff_events_total.  One table for the struct, the
 * metrics and the log line. */
#define PB_EVENTS(X)                                                          \
	X(takeovers, "takeover")                                             \
	X(split_takeovers, "split_takeover") /* pending in HANDOFF_DATA */   \
	X(refused, "refused")                                                \
	X(handbacks, "handback")                                             \
	X(handback_failures, "handback_failure")                             \
	X(aborted, "aborted")                                                \
	X(bad_msgs, "bad_message")                                           \
	X(rtt_probes, "rtt_probe") /* tcpr_rtt_probe_send, one per restore */ \
	X(relayed, "relayed") /* REQUEST answered in-line */                 \
	X(relay_declined, "relay_declined") /* REQUEST: hand it off */       \
	X(called_off, "called_off") /* CLOSED before the thaw: dropped */

struct pb_stats {
#define PB_EVENT_FIELD(field, label) uint64_t field;
	PB_EVENTS(PB_EVENT_FIELD)
#undef PB_EVENT_FIELD
	uint32_t active;
};

int pb_open(struct evloop *loop, const struct pb_config *cfg,
	    pb_takeover_cb on_takeover, void *arg, struct pb **out);
void pb_close(struct pb *pb);
void pb_set_data_cb(struct pb *pb, pb_data_cb on_data);

/* Whether more pending bytes are on their way (HO_F_MORE). */
bool pb_more_coming(const struct pb_conn *pc);
/* HTTPS: the client's TLS session (lib/tlsconn.h), or NULL for plain
 * HTTP.  The server reads the request and writes the response through it
 * (tlsconn_read, tlsconn_write) and leaves nothing queued in it before
 * pb_handback; the library owns it and hands it back with the connection. */
struct tlsconn;
struct tlsconn *pb_conn_tls(const struct pb_conn *pc);
/* The server's object for pc, given to nobody else. */
void pb_conn_set_user(struct pb_conn *pc, void *user);
void *pb_conn_user(const struct pb_conn *pc);

/* 1 once nothing of the response is left unsent (only unacknowledged
 * bytes remain, and at most PB_TAIL_MAX of them), 0 not yet, -errno when
 * the connection died (the client reset it): abort it then. */
#define PB_TAIL_MAX (64u << 10)
int pb_ready_for_handback(int fd);

/* Returns 0 once the hand-back is under way (the LOCK_TAIL asked of the
 * switch; dump and HANDBACK follow its answer, from the loop) or -errno
 * (the connection was aborted).  LEFTOVER is copied. */
int pb_handback(struct pb_conn *pc, int fd, const void *leftover, size_t len,
		bool close);
/* The status of the response, reported to the controller in HANDBACK
 * (its metrics and access log); call before pb_handback. */
void pb_set_http_status(struct pb_conn *pc, int status);

/* The switch zeroes the window of our segments to the client, so that the
 * client sends nothing more while the connection is ours.  A request body
 * needs the window: pb_window(pc, fd, true) before reading one (and before
 * a 100 Continue); once the switch has answered, the client gets a window
 * update.  pb_window(pc, fd, false) once the body is read; the response
 * waits for its answer.  Asynchronous: the callback set with
 * pb_set_window_cb reports each one (but one overtaken by a later
 * pb_window or pb_handback of the connection).  0 (started) or -EIO. */
int pb_window(struct pb_conn *pc, int fd, bool open);
void pb_set_window_cb(struct pb *pb, pb_window_cb on_window);
void pb_abort(struct pb_conn *pc, int fd);
const struct pb_stats *pb_stats(const struct pb *pb);

/* A request the controller relays (HO_REQUEST): the connection stays at
 * the controller, which writes the response the server returns.  The
 * server's callback either fills in the response and returns true (the
 * bytes stay valid until the call returns), or returns false: the
 * response is longer than MAX or not one to relay (the controller then
 * hands the connection off as usual).  Answered before it returns: a
 * relayed request has no state here. */
struct pb_relay {
	const uint8_t *request; /* one request head, GET or HEAD, no body */
	size_t len;
	size_t max;             /* the longest response to answer in-line */
	const uint8_t *response;
	size_t response_len;
	int http_status;
	bool close;             /* the connection ends after the response */
};
typedef bool (*pb_relay_cb)(struct pb_relay *r, void *arg);
/* Without one, every REQUEST is declined. */
void pb_set_relay_cb(struct pb *pb, pb_relay_cb on_relay);
