/* The switch program, opened and loaded for BPF_PROG_TEST_RUN tests
 * (tests/bpf): a 1024-entry flow table, which keeps the tests fast (the
 * default size is loaded by a case of its own).  Between t_switch_open()
 * and t_switch_load() a test sets what it needs in .data/.bss. */
#pragma once
#include "switch.skel.h"

struct t_switch_fds {
	int flows, rev, stats, prog;
};

/* NULL with errno set on failure. */
struct switch_bpf *t_switch_open(void);
/* Loads SKEL and fills FDS.  0 or -errno. */
int t_switch_load(struct switch_bpf *skel, struct t_switch_fds *fds);
