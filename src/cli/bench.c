/* PLACEHOLDER: being written; replaced before the first commit. */
#include <stdio.h>
#include "cli/commands.h"
int cmd_bench(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "prism bench: not built yet\n");
	return 2;
}
