/* PLACEHOLDER: being written; replaced before the first commit. */
#include <stdio.h>
#include "cli/commands.h"
int cmd_testbed(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "prism testbed: not built yet\n");
	return 2;
}
