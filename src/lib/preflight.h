/* `prism check`'s probes: each one looks at one thing a daemon needs from
 * its host and prints one line, "ok", "warn" or "FAIL", with what it found
 * and, when something is missing, how to fix it.  The role checks
 * (controller/check.c, backend/check.c, switch/check.c) call them with
 * the settings the daemon itself would run with.  Nothing here changes
 * the host: sockets are bound and closed, nothing is attached or pinned. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>

struct preflight {
	FILE *out;
	unsigned failed, warned;
	/* Set around probes of what the daemon does without (its admin
	 * port, say): their failures print and count as warnings. */
	bool soft;
};

void pf_init(struct preflight *p, FILE *out);

/* One line: "ok    WHAT: ...", "warn  WHAT: ...; fix: FIX",
 * "FAIL  WHAT: ...; fix: FIX" (FIX may be NULL). */
void pf_ok(struct preflight *p, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pf_warn(struct preflight *p, const char *what, const char *fix,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void pf_fail(struct preflight *p, const char *what, const char *fix,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The last line, and the exit status: 0 when nothing failed, else 1. */
int pf_done(struct preflight *p, const char *role);

/* TCP_REPAIR can be turned on (CAP_NET_ADMIN, and a kernel with it). */
void pf_tcp_repair(struct preflight *p);

/* A raw IPv4 socket opens (CAP_NET_RAW, and nothing else refusing it),
 * which the daemons use for WHY. */
void pf_raw_socket(struct preflight *p, const char *why);

/* The capability numbered CAP (linux/capability.h) is effective. */
void pf_capability(struct preflight *p, int cap, const char *name,
		   const char *why);

/* The shared key file loads (lib/auth.h's rules) and is not readable by
 * everyone. */
void pf_key(struct preflight *p, const char *path);

/* ADDR can be bound with TYPE (SOCK_STREAM, SOCK_DGRAM) as the daemons
 * bind it: an address of this host (or 0.0.0.0), not in use (for TCP:
 * nothing accepts connections there), the port allowed (< 1024 needs
 * CAP_NET_BIND_SERVICE). */
void pf_bindable(struct preflight *p, const char *what,
		 const struct sockaddr_in *addr, int type);

/* This host has a route to TO (and which source address it would use). */
void pf_route(struct preflight *p, const char *what,
	      const struct sockaddr_in *to);

/* A TCP connection to TO is accepted within TIMEOUT_MS; only a warning if
 * not: the peer may not be running yet, which is no fault of this host. */
void pf_tcp_answers(struct preflight *p, const char *what,
		    const struct sockaddr_in *to, int timeout_ms);

/* PATH is a directory this process can read (and write, if WRITABLE). */
void pf_dir(struct preflight *p, const char *what, const char *path,
	    bool writable);

/* A certificate chain and its key (PEM) load and match, as the daemons
 * load them (tlsconn_server_ctx). */
void pf_tls_pair(struct preflight *p, const char *cert, const char *key);

/* PATH can be written, or made in its folder. */
void pf_writable(struct preflight *p, const char *what, const char *path);

/* Reads the integer in /proc/sys/PATH into *V: 0 or -errno. */
int pf_sysctl(const char *path, long *v);
