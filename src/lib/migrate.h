/* The two halves of moving a connection, on top of lib/tcprepair.h, as the
 * controller and the backends both use them:
 *
 *   freeze:  repair on, dump the state and copies of both queues
 *            (the caller has locked the flow at the switch first)
 *   restore: a new socket with that state, still in repair mode
 *            (the caller then points the switch at it), then
 *   thaw:    repair off without a probe; unsent bytes queued normally */
#pragma once
#include <netinet/in.h>
#include <stdint.h>

#include "lib/tcprepair.h"

struct frozen {
	struct tcpr_state st;
	uint8_t *inq, *outq; /* malloc'd; st.inq_len / st.outq_len bytes */
};

/* Freezes fd (which stays open, in repair mode: close it silently once the
 * next owner has taken over, or thaw it to keep serving).  Returns 0 or
 * -errno; on error fd may be in repair mode. */
int migrate_freeze(int fd, struct frozen *f);
/* The same for an fd already in repair mode (a caller that needed the
 * socket frozen before it locked the flow). */
int migrate_dump(int fd, struct frozen *f);
void migrate_frozen_free(struct frozen *f);

/* flags: TCPR_RTT_PROBE or 0; the socket stays in repair mode until
 * migrate_thaw. */
int migrate_restore(const struct tcpr_state *st, const uint8_t *inq,
		    const uint8_t *outq, const struct in_addr *local,
		    unsigned flags, int *fd_out);
int migrate_thaw(int fd, const struct tcpr_state *st, const uint8_t *outq);

/* The receive queue moves out of the socket state into the new owner's
 * application buffer: the socket starts empty at the same rcv_nxt (those
 * bytes were acknowledged), as if they had been read, offering the window
 * that reading them would have re-opened.  For a queue that travels
 * apart (a split hand-off) or that the new owner wants parsed before its
 * socket is live (a hand-back with pipelined requests). */
void migrate_queue_as_pending(struct tcpr_state *st);
