/* A small HTTP/1.1 load generator for `prism bench load` and `prism bench
 * soak`: many keep-alive connections held open with non-blocking sockets
 * and epoll, requests (GET /bytes/SIZE) flowing on some of them, every
 * response checked (status 200, Content-Length SIZE, body byte i = i mod
 * 251, as the backends serve it).
 *
 * Phases: open CONNS connections (in batches, so that the server's accept
 * backlog never overflows); run: ACTIVE of them send one request at a time
 * until REQUESTS responses or DURATION_S seconds; sweep (optional): one
 * request on every connection still open, so that the idle ones prove they
 * are alive; close.  Runs in the calling process (in the client's network
 * namespace); the caller raises RLIMIT_NOFILE. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct loadgen_opts {
	struct sockaddr_in addr;
	int conns;          /* connections opened and held */
	int active;         /* of which this many send requests (<= conns) */
	uint64_t requests;  /* stop after this many responses; 0: no limit */
	int duration_s;     /* stop after this long; 0: no limit */
	uint64_t size;      /* GET /bytes/SIZE */
	int timeout_ms;     /* per request and per connect batch */
	bool sweep;
};

struct loadgen_result {
	int opened;           /* connections established */
	int connect_failed;
	uint64_t responses;   /* complete, correct responses in the run phase */
	uint64_t bad;         /* wrong status, length or body bytes */
	uint64_t resets;      /* ECONNRESET / EPIPE on a connection */
	uint64_t closed;      /* orderly close by the server */
	uint64_t timeouts;    /* requests without a full answer in time */
	uint64_t sweep_ok, sweep_failed;
	int open_at_end;      /* connections still open before closing */
	double run_s;         /* length of the run phase */
	double p50_us, p99_us, max_us; /* response latency, run phase */
};

/* 0, or -errno when the generator itself could not run (epoll, memory);
 * failures of connections and requests are counted in *r. */
int loadgen_run(const struct loadgen_opts *o, struct loadgen_result *r);

/* "key value" lines, one per field, parsed back by loadgen_parse. */
void loadgen_print(const struct loadgen_result *r);
int loadgen_parse(const char *text, struct loadgen_result *r);
