#include "switch_load.h"

#include <errno.h>

#define T_SWITCH_TABLE 1024

struct switch_bpf *t_switch_open(void)
{
	struct switch_bpf *skel = switch_bpf__open();

	if (!skel)
		return NULL;
	if (bpf_map__set_max_entries(skel->maps.flows, T_SWITCH_TABLE) ||
	    bpf_map__set_max_entries(skel->maps.rev_flows, T_SWITCH_TABLE)) {
		switch_bpf__destroy(skel);
		errno = EINVAL;
		return NULL;
	}
	return skel;
}

int t_switch_load(struct switch_bpf *skel, struct t_switch_fds *fds)
{
	int err = switch_bpf__load(skel);

	if (err)
		return err;
	fds->flows = bpf_map__fd(skel->maps.flows);
	fds->rev = bpf_map__fd(skel->maps.rev_flows);
	fds->stats = bpf_map__fd(skel->maps.stats);
	fds->prog = bpf_program__fd(skel->progs.prism_switch);
	return 0;
}
