// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * aim-carry: the state carry's library code (lib/base/carry.h, accounts.h, persist.h) on
 * directory trees, for tests/integ/t0085-carry.sh (as root: owners, whiteouts, xattrs).
 *
 *   aim-carry tree OLD_LOWER|- OLD_UPPER NEW_LOWER NEW_UPPER
 *   aim-carry layer OVERLAY SLOT IDENT NEW_LOWER OLD_LOWER|- TRASH
 *   aim-carry merge NAME BASE|- OURS THEIRS      the merged database on stdout
 *   aim-carry scan UPPER                         kept/dropped paths and bytes
 *   aim-carry ident SLOT_ENV
 *   aim-carry persist LOWER DATA NEWROOT PATH    mounts (as aim-boot does)
 * The decision log goes to stdout; errors to stderr, exit 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/accounts.h"
#include "base/carry.h"
#include "base/fileio.h"
#include "base/persist.h"

static const char *opt(const char *a)
{
	return strcmp(a, "-") ? a : NULL;
}

static void scan_line(void *ud, const char *path, int kept, uint64_t bytes)
{
	(void)ud;
	printf("%s %s %" PRIu64 "\n", kept ? "kept" : "dropped", path, bytes);
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (!path)
		return NULL;
	if (aim_read_file(path, 1 << 20, &buf, &len) < 0) {
		fprintf(stderr, "aim-carry: cannot read %s\n", path);
		exit(1);
	}
	return buf;
}

int main(int argc, char **argv)
{
	struct aim_carry_stats st = {0};
	char err[600];
	int r;

	if (argc == 6 && !strcmp(argv[1], "tree")) {
		r = aim_carry_tree(opt(argv[2]), argv[3], argv[4], argv[5], stdout, &st);
	} else if (argc == 8 && !strcmp(argv[1], "layer")) {
		struct aim_carry_layer c = {.overlay = argv[2], .slot = argv[3][0],
					    .ident = argv[4], .new_lower = argv[5],
					    .old_lower = opt(argv[6]), .trash = argv[7],
					    .log = stdout};

		r = aim_carry_layer_run(&c, &st, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "aim-carry: %s\n", err);
		else
			printf("result=%d\n", r);
	} else if (argc == 6 && !strcmp(argv[1], "merge")) {
		char *b = slurp(opt(argv[3])), *o = slurp(argv[4]), *t = slurp(argv[5]), *out;

		r = aim_accounts_merge(argv[2], opt(argv[3]) ? b : NULL, o, t, &out, stderr);
		if (r == 0)
			fputs(out, stdout), free(out);
		free(b);
		free(o);
		free(t);
		return r < 0;
	} else if (argc == 3 && !strcmp(argv[1], "scan")) {
		int64_t n = aim_carry_scan(argv[2], scan_line, NULL);

		printf("total %" PRId64 "\n", n);
		return n < 0;
	} else if (argc == 3 && !strcmp(argv[1], "ident")) {
		char id[200];

		r = aim_carry_slot_ident(argv[2], id, sizeof(id));
		printf("%s\n", id);
	} else if (argc == 6 && !strcmp(argv[1], "persist")) {
		r = aim_persist_mount(argv[2], argv[3], argv[4], argv[5], err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "aim-carry: %s\n", err);
	} else {
		fputs("usage: aim-carry tree|layer|merge|scan|ident|persist ... (see the source)\n",
		      stderr);
		return 2;
	}
	if (r >= 0 && (!strcmp(argv[1], "tree") || !strcmp(argv[1], "layer")))
		printf("stats kept=%u merged=%u conflicts=%u dropped=%u\n", st.kept, st.merged,
		       st.conflicts, st.dropped);
	return r < 0;
}
