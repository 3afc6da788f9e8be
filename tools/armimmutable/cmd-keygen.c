/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable keygen: placeholder until the verb lands (refuses, exit 1). */
#include <stdio.h>

#include "cmd.h"

int cmd_keygen(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "armimmutable %s: not available in this build yet\n", argv[0]);
	return -1;
}
