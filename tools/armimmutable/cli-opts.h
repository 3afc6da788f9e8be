/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The option parser of every verb: a table of options per verb, options before and after
 * the operands (in any order), "--" ends the options, and one usage line for whatever it
 * refuses (an unknown option, a missing value).
 */
#ifndef AIM_CLI_OPTS_H
#define AIM_CLI_OPTS_H

#include <getopt.h>

/* One option of a verb. A table ends with an entry whose name is NULL. */
struct cli_option {
	const char *name; /* long name, without "--" */
	int key;          /* its short letter, or >= 256 for a long-only option */
	int has_arg;      /* no_argument or required_argument */
};

#define CLI_MAX_OPTIONS 48
#define CLI_MAX_OPERANDS 8

struct cli_args {
	const char *verb; /* for messages: "install", "bundle create" */
	int argc;
	char **argv;
	const char *operand[CLI_MAX_OPERANDS]; /* the operands, in order */
	int noperands; /* how many there were (also those past CLI_MAX_OPERANDS) */
	int done;
	struct option longopts[CLI_MAX_OPTIONS + 1];
	char shortopts[3 * CLI_MAX_OPTIONS + 3];
};

/* argv[0] is the verb itself; tables is a NULL-terminated list of option tables (a verb's
 * own, and tables shared by several verbs). */
void cli_args_init(struct cli_args *a, const char *verb, int argc, char **argv,
		   const struct cli_option *const *tables);

/* The next option: its key, with *val its value (NULL for a flag); 0 when all of argv is
 * read (the operands are then in a->operand); or -AIM_E_USAGE after printing a usage
 * error. */
int cli_args_next(struct cli_args *a, const char **val);

#endif
