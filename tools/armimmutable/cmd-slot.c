/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mark-good, mark-bad, rollback, reset: placeholders until the verbs land (exit 1). */
#include <stdio.h>

#include "cmd.h"

static int not_yet(char **argv)
{
	fprintf(stderr, "armimmutable %s: not available in this build yet\n", argv[0]);
	return -1;
}

int cmd_mark_good(int argc, char **argv) { (void)argc; return not_yet(argv); }
int cmd_mark_bad(int argc, char **argv) { (void)argc; return not_yet(argv); }
int cmd_rollback(int argc, char **argv) { (void)argc; return not_yet(argv); }
int cmd_reset(int argc, char **argv) { (void)argc; return not_yet(argv); }
