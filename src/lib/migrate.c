#include "lib/migrate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

/* The queues can move between the dump and the copy only if a segment was
 * still in flight when the flow was locked: a client ACK that had passed
 * the switch but waits in another CPU's receive queue (veth), which the
 * frozen socket still processes.  Answered within microseconds by the
 * switch's fast path, a LOCK no longer gives such a segment the time to
 * arrive first; backing off 50, 100, ... us (3 ms in all) lets it land. */
#define FREEZE_TRIES 7
#define FREEZE_BACKOFF_US 50

static int dump_once(int fd, struct frozen *f)
{
	int err = tcpr_dump(fd, &f->st);

	if (err)
		return err;
	f->inq = malloc(f->st.inq_len ? f->st.inq_len : 1);
	f->outq = malloc(f->st.outq_len ? f->st.outq_len : 1);
	if (!f->inq || !f->outq)
		return -ENOMEM;
	return tcpr_dump_queues(fd, &f->st, f->inq, f->outq);
}

int migrate_freeze(int fd, struct frozen *f)
{
	int err = tcpr_repair_on(fd);

	if (err) {
		memset(f, 0, sizeof(*f));
		log_warn("freeze: %s", tcpr_errmsg());
		return err;
	}
	return migrate_dump(fd, f);
}

int migrate_dump(int fd, struct frozen *f)
{
	int err = 0;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < FREEZE_TRIES; i++) {
		if (i)
			usleep(FREEZE_BACKOFF_US << (i - 1));
		err = dump_once(fd, f);
		if (err != -EAGAIN)
			break;
		log_debug("freeze, try %d: %s", i + 1, tcpr_errmsg());
		migrate_frozen_free(f);
	}
	if (err)
		log_warn("freeze: %s", tcpr_errmsg());
	return err;
}

void migrate_frozen_free(struct frozen *f)
{
	free(f->inq);
	free(f->outq);
	f->inq = f->outq = NULL;
}

int migrate_restore(const struct tcpr_state *st, const uint8_t *inq,
		    const uint8_t *outq, const struct in_addr *local,
		    unsigned flags, int *fd_out)
{
	int err = tcpr_restore(st, inq, outq, local,
			       flags | TCPR_STAY_IN_REPAIR | TCPR_NONBLOCK,
			       fd_out);

	if (err)
		log_warn("restore: %s", tcpr_errmsg());
	return err;
}

int migrate_thaw(int fd, const struct tcpr_state *st, const uint8_t *outq)
{
	int err = tcpr_restore_finish(fd, st, outq, 0), one = 1;

	if (err) {
		log_warn("thaw: %s", tcpr_errmsg());
		return err;
	}
	/* Repair off drops the forced address reuse, and the TIME_WAIT this
	 * socket may end in would keep a restarted daemon from listening on
	 * the port (EADDRINUSE; SO_REUSEADDR alone did not lift it on this
	 * kernel, SO_REUSEPORT on both sides does, see the listeners).
	 * Harmless now that the socket is connected. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	return 0;
}

void migrate_queue_as_pending(struct tcpr_state *st)
{
	uint32_t win = st->rcv_wup + st->rcv_wnd - st->rcv_seq;

	if ((int32_t)win < 0)
		win = 0;
	st->rcv_wup = st->rcv_seq;
	st->rcv_wnd = win + st->inq_len;
	st->inq_len = 0;
}
