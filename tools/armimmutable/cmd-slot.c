// SPDX-License-Identifier: LGPL-2.1-or-later
/* mark-good, mark-bad, rollback, reset: the verbs that change the slot state or the boot
 * partition, on the running device or on an image file (docs/device-cli.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-opts.h"
#include "cmd-target.h"
#include "cmd.h"
#include "rpi.h"
#include "base/bootenv.h"
#include "base/log.h"
#include "base/macro.h"

struct args {
	const char *image;
	const char *slot;
	int force, cancel;
};

char cli_parse_slot(const char *s)
{
	if (!strncmp(s, "slot-", 5))
		s += 5;
	if (strlen(s) == 1 && (s[0] == 'a' || s[0] == 'b' || s[0] == 'A' || s[0] == 'B'))
		return (char)(s[0] | 0x20);
	return 0;
}

int cli_target_open(const char *verb, const char *image, int readonly, struct aim_target **ret)
{
	struct aim_target_opts o = {
		.image = image,
		.run_dir = getenv("AIM_RUN_DIR"),
		.sysfs = getenv("AIM_SYSFS"),
		.dev_dir = getenv("AIM_DEV_DIR"),
		.boot_dir = image ? NULL : getenv("AIM_BOOT_DIR"),
		.boot_fstype = getenv("AIM_BOOT_FSTYPE"),
		.readonly = readonly,
	};
	int r;

	aim_error_clear();
	r = aim_target_open(&o, ret);
	if (r < 0) {
		/* the detail names the image or the device file */
		aim_err(r, "%s%s", verb, image ? "" : ": the running device");
		return -1;
	}
	return 0;
}

/* The options of each verb: --image always, --force for mark-good, --cancel for reset. */
#define OPT_IMAGE {"image", 'i', required_argument}
#define OPT_HELP {"help", 'h', no_argument}
static const struct cli_option opts_good[] = {OPT_IMAGE, {"force", 'f', no_argument}, OPT_HELP, {0}};
static const struct cli_option opts_plain[] = {OPT_IMAGE, OPT_HELP, {0}};
static const struct cli_option opts_reset[] = {OPT_IMAGE, {"cancel", 'c', no_argument}, OPT_HELP, {0}};

/* Parses the options of opts and [SLOT]. Returns 1 after --help, 0, or -AIM_E_USAGE. */
static int parse(int argc, char **argv, const struct cli_option *opts, int want_slot,
		 const char *help, struct args *ret)
{
	const struct cli_option *const tables[] = {opts, NULL};
	const char *verb = argv[0], *val;
	struct cli_args a;
	int c;

	memset(ret, 0, sizeof(*ret));
	cli_args_init(&a, verb, argc, argv, tables);
	while ((c = cli_args_next(&a, &val)) > 0) {
		switch (c) {
		case 'i':
			ret->image = val;
			break;
		case 'f':
			ret->force = 1;
			break;
		case 'c':
			ret->cancel = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return 1;
		}
	}
	if (c < 0)
		return c;
	if (a.noperands > 0 && want_slot)
		ret->slot = a.operand[0];
	if (a.noperands > !!want_slot)
		return usage_err(verb, "unexpected argument '%s'", a.operand[!!want_slot]);
	return 0;
}

/* An empty slot: no /slot-X/ directory, or nothing in it. */
static int slot_empty(struct aim_target *t, char slot)
{
	char dir[16], **files = NULL;
	size_t n = 0;
	int r;

	snprintf(dir, sizeof(dir), "/slot-%c", slot);
	r = aim_target_list(t, dir, &files, &n);
	aim_strv_free(files);
	return r < 0 ? r : n == 0;
}

static int fail(const char *verb, int r, const char *what)
{
	return aim_err(r, "%s%s%s", verb, what ? ": " : "", what ? what : "");
}

static int store(const char *verb, struct aim_target *t, const struct aim_slotstate *st)
{
	int r = aim_target_state_store(t, st);

	if (r < 0)
		return fail(verb, r, "cannot write the slot state");
	/* Raspberry Pi: autoboot.txt follows the state, only after it (docs/rpi.md) */
	r = aim_rpi_sync(t, st);
	if (r < 0)
		return fail(verb, r, "cannot write autoboot.txt");
	return 0;
}

enum op { OP_GOOD, OP_BAD, OP_ROLLBACK };

static const char help_good[] =
	"Usage: armimmutable mark-good [--image IMG] [--force] [SLOT]\n"
	"Keep SLOT (a or b; default: the booted slot): it becomes the active, good slot and\n"
	"its trial ends. The same change as aim-boot mark-good after boot-complete.target.\n\n"
	"  -i, --image IMG  act on an image file instead of the running device (SLOT required)\n"
	"  -f, --force      mark a slot that is not the booted one\n"
	"  -h, --help       this help\n\n"
	"Exit status: 0 marked (or already good), 1 refused or failed, 2 usage error.\n";
static const char help_bad[] =
	"Usage: armimmutable mark-bad [--image IMG] [SLOT]\n"
	"Give up SLOT (a or b; default: the booted slot): a trial is cancelled, the slot is\n"
	"no longer good and cannot be chosen until it is installed again, so the next boot\n"
	"uses the active slot. The active slot itself is refused (roll back first).\n\n"
	"  -i, --image IMG  act on an image file instead of the running device (SLOT required)\n"
	"  -h, --help       this help\n\n"
	"Exit status: 0 marked (or already bad), 1 refused or failed, 2 usage error.\n";
static const char help_rollback[] =
	"Usage: armimmutable rollback [--image IMG]\n"
	"Boot the other slot from the next boot on: the slot that is not the booted one (on\n"
	"an image: not the one the next boot would pick) becomes active, and any trial ends.\n"
	"Refused when that slot is empty or not good.\n\n"
	"  -i, --image IMG  act on an image file instead of the running device\n"
	"  -h, --help       this help\n\n"
	"Exit status: 0 rolled back (or already so), 1 refused or failed, 2 usage error.\n";

/* The booted slot was marked good on a running device: the trial watchdog
 * (aim-boot trial-watch, docs/boot.md 6.3b) stops waiting when this file appears. */
static void note_good(char slot)
{
	aim_bootenv_note_good(getenv("AIM_RUN_DIR") ? getenv("AIM_RUN_DIR") : AIM_RUN_DIR, slot);
}

static int slot_op(int argc, char **argv, enum op op)
{
	static const char *const help[] = {help_good, help_bad, help_rollback};
	static const struct cli_option *const opts[] = {opts_good, opts_plain, opts_plain};
	_cleanup_(aim_target_freep) struct aim_target *t = NULL;
	const char *verb = argv[0];
	struct aim_slotstate st;
	char slot = 0, booted, why[200] = "";
	struct args a;
	int r, fresh = 0;

	r = parse(argc, argv, opts[op], op != OP_ROLLBACK, help[op], &a);
	if (r != 0)
		return r < 0 ? r : 0;
	if (a.slot) {
		slot = cli_parse_slot(a.slot);
		if (!slot)
			return usage_err(verb, "no such slot '%s' (a or b)", a.slot);
	} else if (op != OP_ROLLBACK && a.image) {
		return usage_err(verb, "name the slot (a or b) for an image file");
	}
	if (cli_target_open(verb, a.image, 0, &t) < 0)
		return -1;
	booted = aim_target_booted_slot(t);
	if (!slot)
		slot = booted;
	r = aim_target_state_load(t, &st);
	if (r == -ENOENT && op == OP_GOOD) {
		/* As aim-boot mark-good: start over from the slot that is known to work. */
		aim_warn("no valid slot state (%s): writing a fresh one", st.reason);
		aim_error_clear();
		aim_slotstate_init(&st);
		st.good[0] = st.good[1] = 0;
		fresh = 1;
	} else if (r < 0) {
		return fail(verb, r, NULL);
	}
	if (op == OP_ROLLBACK) {
		char from = booted ? booted : aim_slotstate_next_boot(&st);
		char to = aim_slotstate_other(from);

		r = slot_empty(t, to);
		if (r < 0)
			return fail(verb, r, "cannot list the boot partition");
		if (r > 0) {
			aim_error_set(-ENOENT, "slot %c is empty: nothing to roll back to", to);
			return fail(verb, -ENOENT, NULL);
		}
		r = aim_slotstate_rollback(&st, from, why, sizeof(why));
		if (r < 0)
			return fail(verb, aim_error_set(r, "%s", why), NULL);
		if (r == 0) {
			printf("slot %c is already the active slot and nothing is on trial "
			       "(state seq %u)\n", to, (unsigned)st.seq);
			return 0;
		}
		if (store(verb, t, &st) < 0)
			return -1;
		printf("rolled back from slot %c to slot %c: the next boot uses slot %c "
		       "(state seq %u, state-%d.txt)\n", from, to, to, (unsigned)st.seq,
		       aim_target_state_copy(t));
		return 0;
	}
	if (op == OP_GOOD && booted && slot != booted && !a.force) {
		aim_error_set(-EPERM, "slot %c is not the booted slot (%c): use --force to mark it "
				      "anyway", slot, booted);
		return fail(verb, -EPERM, NULL);
	}
	if (op == OP_GOOD) {
		r = slot_empty(t, slot);
		if (r < 0)
			return fail(verb, r, "cannot list the boot partition");
		if (r > 0)
			return fail(verb, aim_error_set(-ENOENT, "slot %c is empty", slot), NULL);
		r = aim_slotstate_mark_good(&st, slot, why, sizeof(why));
	} else {
		r = aim_slotstate_mark_bad(&st, slot, NULL, why, sizeof(why));
	}
	if (r < 0)
		return fail(verb, aim_error_set(r, "%s", why), NULL);
	if (r == 0 && !fresh) {
		printf("slot %c already %s (state seq %u)\n", slot, op == OP_GOOD ? "good" : "bad",
		       (unsigned)st.seq);
		if (aim_rpi_sync(t, &st) < 0) /* a cut between state and autoboot.txt */
			return fail(verb, -EIO, "cannot write autoboot.txt");
		if (op == OP_GOOD && booted == slot)
			note_good(slot);
		return 0;
	}
	if (store(verb, t, &st) < 0)
		return -1;
	if (op == OP_GOOD && booted == slot)
		note_good(slot);
	printf("slot %c marked %s (state seq %u, state-%d.txt)%s\n", slot,
	       op == OP_GOOD ? "good" : "bad", (unsigned)st.seq, aim_target_state_copy(t),
	       op == OP_BAD ? (booted == slot ? ": the next boot falls back"
						: ": it cannot be chosen until reinstalled")
			    : "");
	return 0;
}

int cmd_mark_good(int argc, char **argv)
{
	return slot_op(argc, argv, OP_GOOD);
}

int cmd_mark_bad(int argc, char **argv)
{
	return slot_op(argc, argv, OP_BAD);
}

int cmd_rollback(int argc, char **argv)
{
	return slot_op(argc, argv, OP_ROLLBACK);
}

static const char help_reset[] =
	"Usage: armimmutable reset [--image IMG] [--cancel]\n"
	"Factory reset at the next boot: writes the empty file /factory-reset on the boot\n"
	"partition; the initramfs then empties the writable layer (overlay upper directories\n"
	"and persistent paths on the data partition) and removes the flag. The slots and\n"
	"their state are kept.\n\n"
	"  -i, --image IMG  act on an image file instead of the running device\n"
	"  -c, --cancel     remove a pending reset\n"
	"  -h, --help       this help\n\n"
	"Exit status: 0 done (or nothing to cancel), 1 failed, 2 usage error.\n";

int cmd_reset(int argc, char **argv)
{
	_cleanup_(aim_target_freep) struct aim_target *t = NULL;
	const char *verb = argv[0];
	struct args a;
	int r;

	r = parse(argc, argv, opts_reset, 0, help_reset, &a);
	if (r != 0)
		return r < 0 ? r : 0;
	if (cli_target_open(verb, a.image, 0, &t) < 0)
		return -1;
	r = aim_target_exists(t, AIM_FACTORY_RESET);
	if (r < 0)
		return fail(verb, r, "cannot read the boot partition");
	if (a.cancel) {
		if (r == 0) {
			printf("no factory reset pending\n");
			return 0;
		}
		r = aim_target_remove_file(t, AIM_FACTORY_RESET);
		if (r < 0)
			return fail(verb, r, "cannot remove " AIM_FACTORY_RESET);
		printf("factory reset cancelled\n");
		return 0;
	}
	if (r == 0) {
		r = aim_target_write_file(t, AIM_FACTORY_RESET, "", 0);
		if (r < 0)
			return fail(verb, r, "cannot write " AIM_FACTORY_RESET);
	}
	printf("factory reset at the next boot: the writable layer (overlay and persistent "
	       "data) will be emptied\n");
	return 0;
}
