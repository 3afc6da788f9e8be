/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One option parser for every verb (cli-opts.h), on getopt_long in its "return operands in
 * order" mode: nothing is permuted, operands may come before, between and after the
 * options whatever POSIXLY_CORRECT says, and "--" ends the options. */
#include <string.h>

#include "cli-opts.h"
#include "cmd.h"
#include "base/log.h"

void cli_args_init(struct cli_args *a, const char *verb, int argc, char **argv,
		   const struct cli_option *const *tables)
{
	size_t n = 0, s = 0;

	memset(a, 0, sizeof(*a));
	a->verb = verb;
	a->argc = argc;
	a->argv = argv;
	/* '-': operands come back as key 1; ':': a missing value is ':', and quietly. */
	a->shortopts[s++] = '-';
	a->shortopts[s++] = ':';
	for (; *tables; tables++)
		for (const struct cli_option *o = *tables; o->name && n < CLI_MAX_OPTIONS; o++) {
			a->longopts[n++] = (struct option){o->name, o->has_arg, NULL, o->key};
			if (o->key > 0 && o->key < 256) {
				a->shortopts[s++] = (char)o->key;
				if (o->has_arg == required_argument)
					a->shortopts[s++] = ':';
			}
		}
	a->shortopts[s] = 0;
	optind = 0; /* getopt starts over: a verb may parse twice */
	opterr = 0;
}

static void add_operand(struct cli_args *a, const char *s)
{
	if (a->noperands < CLI_MAX_OPERANDS)
		a->operand[a->noperands] = s;
	a->noperands++;
}

int cli_args_next(struct cli_args *a, const char **val)
{
	int c, at;

	*val = NULL;
	if (a->done)
		return 0;
	do {
		at = optind ? optind : 1; /* 0 only before the first call */
		c = getopt_long(a->argc, a->argv, a->shortopts, a->longopts, NULL);
		if (c == 1)
			add_operand(a, optarg);
	} while (c == 1);
	if (c == -1) {
		/* after "--": the rest are operands, even those that start with '-' */
		for (; optind < a->argc; optind++)
			add_operand(a, a->argv[optind]);
		a->done = 1;
		return 0;
	}
	if (c == '?' || c == ':') {
		/* The element getopt refused: past it, or still inside a cluster like -fz. */
		const char *arg = a->argv[optind > at ? optind - 1 : at];
		char shortname[3] = {'-', (char)optopt, 0};

		a->done = 1;
		if (strncmp(arg, "--", 2) && optopt)
			arg = shortname;
		if (c == ':')
			return usage_err(a->verb, "option %s needs an argument", arg);
		return usage_err(a->verb, "unknown option %s", arg);
	}
	*val = optarg;
	return c;
}
