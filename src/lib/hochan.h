/* A hand-off channel: one persistent TCP connection between the controller
 * and a backend carrying lib/handoff.h messages, driven by the event loop.
 * Buffers partial reads and writes.  Each end opens with a HELLO carrying a
 * random nonce; the peer numbers its messages upwards from that nonce, so a
 * message replayed from another channel, or again on this one, is refused
 * even with a valid MAC.  Hands each decoded message to a callback.  Any
 * protocol error closes the channel. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/evloop.h"
#include "lib/handoff.h"

struct hochan;

/* Called for each message.  The message's byte fields point into the
 * channel's buffer and stay valid only until the callback returns. */
typedef void (*hochan_msg_cb)(struct hochan *ch, const struct ho_msg *m,
			      void *arg);
/* Called once when the channel dies (peer closed, I/O or protocol error);
 * the channel is freed right after the callback returns.  err is -errno
 * (-EBADMSG: a message failed to decode or was replayed). */
typedef void (*hochan_close_cb)(struct hochan *ch, long err, void *arg);

struct hochan_stats {
	uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
	uint64_t rejected; /* decode errors and replays */
};

/* Takes ownership of the connected non-blocking fd. */
struct hochan *hochan_new(struct evloop *loop, int fd,
			  const struct auth_key *key, hochan_msg_cb on_msg,
			  hochan_close_cb on_close, void *arg);
/* Closes the fd and frees the channel without calling on_close. */
void hochan_free(struct hochan *ch);

/* Queues a message (seq is assigned here).  Returns 0 or -errno; -EAGAIN
 * before the peer's HELLO arrived (see hochan_ready). */
int hochan_send(struct hochan *ch, struct ho_msg *m);
/* Like hochan_send, but the message waits in our buffer for the next
 * hochan_send on the channel (one write, one wake-up of the peer), or at
 * most HOCHAN_LAZY_MS: for a message nothing waits for. */
int hochan_send_lazy(struct hochan *ch, struct ho_msg *m);
/* The peer's HELLO arrived: the channel is authenticated and can send.
 * Both ends send HELLO on creation; a peer silent for 2 s is dropped. */
bool hochan_ready(const struct hochan *ch);

int hochan_fd(const struct hochan *ch);
const struct hochan_stats *hochan_stats(const struct hochan *ch);

/* Counts rejections across all channels (for metrics). */
uint64_t hochan_rejected_total(void);
