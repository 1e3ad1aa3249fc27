/* The environment shared by the end-to-end benchmarks (`prism bench e2e`,
 * `prism bench latency`): one testbed, Prism on it (`prism up`), nginx
 * (and on request HAProxy) on the proxy host as the traditional proxies,
 * and helpers to run programs in a host and read a host's TCP counters.
 *
 *   struct bench_env e;
 *   bench_signals();                      SIGINT/SIGTERM -> bench_stop
 *   if (bench_env_up(&e, "bench", 2, 1000, 0) == 0) {
 *           ... bench_spawn(&e, "client", argv, &fd) ... bench_collect(...)
 *   }
 *   bench_env_down(&e);                   always, also after a failed up
 *
 * Functions return 0 or -errno and print their errors prefixed "prism
 * bench:". */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lab/testbed.h"

#define BENCH_NGINX_PORT 80
#define BENCH_HAPROXY_PORT 81
/* BENCH_ENV_TLS: where nginx and HAProxy terminate TLS (Prism: VIP:443). */
#define BENCH_NGINX_TLS_PORT 443
#define BENCH_HAPROXY_TLS_PORT 444

struct bench_env {
	char name[TESTBED_NAME_MAX + 1];
	struct testbed tb;
	char tmp[64]; /* proxy configs and temp files, wrk scripts */
	pid_t nginx, haproxy;
	bool tb_up, prism_up;
	bool store; /* Prism runs as an object store (bench_env_up_opt) */
	bool tls;   /* BENCH_ENV_TLS */
};

/* The client's counters that tell whether TCP had to recover. */
struct bench_tcp {
	uint64_t retrans;  /* Tcp: RetransSegs */
	uint64_t timeouts; /* TcpExt: TCPTimeouts (RTO expiries) */
	uint64_t resets;   /* Tcp: EstabResets */
	uint64_t dups;     /* TcpExt: TCPDSACKOldSent (duplicate data seen) */
	uint64_t winprobes; /* TcpExt: TCPWinProbe (zero-window probes sent) */
	uint64_t out_octets; /* IpExt: OutOctets (bytes the IP layer sent) */
};

/* Set by SIGINT/SIGTERM once bench_signals() ran; loops check it. */
extern volatile sig_atomic_t bench_stop;
void bench_signals(void);

/* Builds testbed NAME with BACKENDS backends and links of LINK_MBIT (client
 * link BACKENDS * LINK_MBIT), starts Prism and nginx.  INITCWND > 0 sets
 * that initial congestion window on every backend's route (0: kernel
 * default).  On failure the caller still calls bench_env_down. */
int bench_env_up(struct bench_env *e, const char *name, int backends,
		 int link_mbit, int initcwnd);

/* bench_env_up with FLAGS: BENCH_ENV_STORE starts Prism as `prism up
 * --store --no-fsync` (an object store, controller --policy hash-uri);
 * the backends' store folders RUN/store-bI are removed by
 * bench_env_down.  BENCH_ENV_HAPROXY also starts HAProxy on the proxy
 * host (BENCH_PROXY_IP:BENCH_HAPROXY_PORT), next to nginx. */
#define BENCH_ENV_STORE 1u
#define BENCH_ENV_HAPROXY 2u
/* BENCH_ENV_TLS: `prism up --tls`, and nginx and HAProxy also terminate
 * TLS (BENCH_NGINX_TLS_PORT, BENCH_HAPROXY_TLS_PORT) with the testbed's
 * certificate (RUN/tls/), as proxies to the backends' plain HTTP. */
#define BENCH_ENV_TLS 4u
int bench_env_up_opt(struct bench_env *e, const char *name, int backends,
		     int link_mbit, int initcwnd, unsigned int flags);

/* PCT percent random loss on every host of the testbed but the fabric,
 * both ways (prism testbed loss all PCT), once everything is up; 0 does
 * nothing. */
int bench_env_loss(struct bench_env *e, double pct);

/* Removes every object (and temporary file) from the backends' stores,
 * so that a benchmark's uploads do not pile up between its points. */
int bench_store_wipe(const struct bench_env *e);
void bench_env_down(struct bench_env *e);

/* Starts ARGV (searched in PATH) inside HOST of the testbed; its stdout
 * and stderr go to the pipe returned in *out_fd.  Returns the pid or
 * -errno. */
pid_t bench_spawn(const struct bench_env *e, const char *host,
		  char *const argv[], int *out_fd);

/* Reads everything from FD into BUF (NUL-terminated, cut at LEN - 1),
 * closes FD, waits for PID.  Returns its exit status (128 + N: signal N)
 * or -errno. */
int bench_collect(pid_t pid, int fd, char *buf, size_t len);

/* fork() with the child inside HOST, its stdout (and stderr) on the pipe
 * returned in *out_fd.  Returns 0 in the child, the pid in the parent,
 * -errno on failure.  A child that cannot enter HOST exits 126. */
pid_t bench_fork(const struct bench_env *e, const char *host, int *out_fd);

/* The TCP counters of HOST's namespace. */
int bench_tcp_read(const struct bench_env *e, const char *host,
		   struct bench_tcp *c);

/* The sum of the controller's /metrics samples of NAME (all labels). */
int bench_ctrl_counter(const struct bench_env *e, const char *name,
		       uint64_t *value);
/* The bytes HOST's link (its eth0) received and sent so far. */
int bench_link_bytes(const struct bench_env *e, const char *host,
		     uint64_t *bytes);

/* The address of backend I (1-based) and of the proxy, dotted quad. */
void bench_backend_ip(int i, char *buf, size_t len);
#define BENCH_PROXY_IP "198.18.3.2"

/* OUT, or results/bench-KIND-<timestamp>; created with its parents. */
int bench_results_dir(const char *kind, const char *out, char *buf,
		      size_t len);

/* Runs gnuplot on SCRIPT inside DIR; a missing gnuplot is a warning. */
int bench_gnuplot(const char *dir, const char *script);

/* "1024", "64k", "2M", "1g" (powers of 1024) -> bytes; -EINVAL if bad. */
int bench_parse_size(const char *s, uint64_t *out);

/* "1 KB", "64 MB": SIZE in the largest unit that divides it. */
void bench_size_label(uint64_t size, char *buf, size_t len);

double bench_now_us(void);
