// SPDX-License-Identifier: LGPL-2.1-or-later
/* armimmutable status: the booted slot, both slots, the slot state, a pending factory
 * reset; text or JSON (docs/device-cli.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-opts.h"
#include "cmd-target.h"
#include "cmd.h"
#include "layer.h"
#include "rpi.h"
#include "base/json.h"
#include "base/log.h"
#include "base/macro.h"

static void help(void)
{
	puts("Usage: armimmutable status [--image IMG] [--json]\n"
	     "Show the booted slot, what each slot holds (/slot-X/slot.env: version, board),\n"
	     "whether it is good, active or on trial and its tries left, the slot state\n"
	     "(sequence number, last reason), the overlay mode and a pending factory reset.\n\n"
	     "  -i, --image IMG  read an image file instead of the running device\n"
	     "  -j, --json       machine-readable output (docs/device-cli.md)\n"
	     "  -h, --help       this help\n\n"
	     "Exit status: 0 shown, 1 the target or its slot state could not be read (the\n"
	     "rest is still shown when possible), 2 usage error.");
}

struct slot_view {
	char name;
	int empty;      /* no files under /slot-X/ */
	int have_info;  /* slot.env read */
	char info_err[160];
	struct aim_slot_info info;
	int sig;        /* slot.env.minisig is there */
	const char *dev;
	uint64_t dev_off, dev_size;
};

/* Bytes of the slot partition a larger root could use; -1 unknown. */
static int64_t headroom(const struct slot_view *s)
{
	if (!s->dev)
		return -1;
	if (s->empty)
		return (int64_t)s->dev_size;
	if (!s->have_info)
		return -1;
	return s->info.rootfs_size > s->dev_size ? 0
						 : (int64_t)(s->dev_size - s->info.rootfs_size);
}

struct view {
	const char *image;
	char booted;
	const char *trial, *mode, *boot_reason, *verity;
	int have_state, copy;
	char state_err[200];
	struct aim_slotstate st;
	struct slot_view slot[2];
	int reset_pending;
	/* Raspberry Pi (docs/rpi.md): autoboot.txt's partitions, 0 when not found */
	int rpi;
	unsigned ab_all, ab_try;
};

/* The slot of a Raspberry Pi boot partition number, '?' for another. */
static char rpi_slot(unsigned part)
{
	return part == AIM_RPI_PART_A ? 'a' : part == AIM_RPI_PART_B ? 'b' : '?';
}

static void slot_json(struct aim_json *j, const struct view *v, const struct slot_view *s)
{
	const struct aim_slotstate *st = &v->st;
	int i = s->name - 'a';
	char n[2] = {s->name, 0};

	aim_json_obj_begin(j, NULL);
	aim_json_str(j, "name", n);
	aim_json_bool(j, "booted", v->booted == s->name);
	aim_json_bool(j, "empty", s->empty);
	if (v->have_state) {
		aim_json_bool(j, "good", st->good[i]);
		aim_json_bool(j, "active", st->active == s->name);
		aim_json_bool(j, "on_trial", st->try_slot == s->name);
		aim_json_u64(j, "tries_left", st->tries[i]);
	} else {
		aim_json_str(j, "good", NULL);
		aim_json_str(j, "active", NULL);
		aim_json_str(j, "on_trial", NULL);
		aim_json_str(j, "tries_left", NULL);
	}
	if (s->have_info) {
		aim_json_str(j, "version", s->info.version);
		aim_json_str(j, "board", s->info.board);
		aim_json_str(j, "family", s->info.family);
		aim_json_str(j, "arch", s->info.arch);
		aim_json_str(j, "source", s->info.source);
		aim_json_u64(j, "rootfs_size", s->info.rootfs_size);
		aim_json_str(j, "rootfs_sha256", s->info.rootfs_sha256);
		aim_json_i64(j, "installed", s->info.installed);
		aim_json_str(j, "bundle", s->info.bundle);
		aim_json_bool(j, "verity", s->info.verity);
		aim_json_str(j, "verity_root", s->info.verity ? s->info.verity_root : NULL);
	} else {
		static const char *const keys[] = {"version", "board", "family", "arch", "source",
						   "rootfs_size", "rootfs_sha256", "installed",
						   "bundle", "verity", "verity_root"};
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			aim_json_str(j, keys[k], NULL);
	}
	aim_json_bool(j, "slot_env_signed", s->sig);
	aim_json_str(j, "info_error", s->info_err[0] ? s->info_err : NULL);
	aim_json_obj_begin(j, "partition");
	aim_json_str(j, "path", s->dev);
	aim_json_u64(j, "offset", s->dev_off);
	aim_json_u64(j, "size", s->dev_size);
	aim_json_obj_end(j);
	if (headroom(s) >= 0)
		aim_json_u64(j, "headroom", (uint64_t)headroom(s));
	else
		aim_json_str(j, "headroom", NULL);
	aim_json_obj_end(j);
}

static void print_json(const struct view *v)
{
	struct aim_json j;
	char b[2] = {v->booted, 0}, nb[2] = {0, 0}, a[2] = {v->st.active, 0},
	     t[2] = {v->st.try_slot, 0};

	aim_json_init(&j, stdout, 1);
	aim_json_obj_begin(&j, NULL);
	aim_json_u64(&j, "format_version", 1);
	aim_json_str(&j, "target", v->image ? "image" : "device");
	aim_json_str(&j, "image", v->image);
	aim_json_str(&j, "booted_slot", v->booted ? b : NULL);
	if (v->trial)
		aim_json_bool(&j, "booted_trial", !strcmp(v->trial, "1"));
	else
		aim_json_str(&j, "booted_trial", NULL);
	aim_json_str(&j, "overlay_mode", v->mode);
	aim_json_str(&j, "boot_reason", v->boot_reason);
	if (v->verity)
		aim_json_bool(&j, "booted_verity", !strcmp(v->verity, "1"));
	else
		aim_json_str(&j, "booted_verity", NULL);
	aim_json_obj_begin(&j, "state");
	aim_json_bool(&j, "valid", v->have_state);
	if (v->have_state) {
		nb[0] = aim_slotstate_next_boot(&v->st);
		aim_json_u64(&j, "seq", v->st.seq);
		aim_json_u64(&j, "copy", (uint64_t)v->copy);
		aim_json_str(&j, "active", a);
		aim_json_str(&j, "trial_slot", v->st.try_slot ? t : NULL);
		aim_json_str(&j, "next_boot", nb);
		aim_json_str(&j, "reason", v->st.reason);
		aim_json_u64(&j, "uboot_count", v->st.uboot_count);
		aim_json_str(&j, "error", NULL);
	} else {
		static const char *const keys[] = {"seq", "copy", "active", "trial_slot",
						   "next_boot", "reason", "uboot_count"};
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			aim_json_str(&j, keys[k], NULL);
		aim_json_str(&j, "error", v->state_err);
	}
	aim_json_obj_end(&j);
	aim_json_arr_begin(&j, "slots");
	for (int s = 0; s < 2; s++)
		slot_json(&j, v, &v->slot[s]);
	aim_json_arr_end(&j);
	aim_json_bool(&j, "factory_reset_pending", v->reset_pending);
	if (v->rpi) {
		char sa[2] = {rpi_slot(v->ab_all), 0}, stt[2] = {rpi_slot(v->ab_try), 0};
		aim_json_obj_begin(&j, "autoboot");
		aim_json_u64(&j, "boot_partition", v->ab_all);
		aim_json_str(&j, "slot", sa);
		aim_json_u64(&j, "tryboot_partition", v->ab_try);
		aim_json_str(&j, "tryboot_slot", stt);
		aim_json_obj_end(&j);
	}
	cli_layer_json(&j, v->image ? NULL : v->mode, v->booted);
	aim_json_obj_end(&j);
	aim_json_end(&j);
}

static void print_text(const struct view *v)
{
	const struct aim_slotstate *st = &v->st;

	if (v->image)
		printf("image:          %s\n", v->image);
	else
		printf("booted:         slot %c%s\n", v->booted,
		       v->trial && !strcmp(v->trial, "1") ? " (trial boot)" : "");
	for (int s = 0; s < 2; s++) {
		const struct slot_view *sv = &v->slot[s];
		char flags[96] = "";

		if (v->have_state)
			snprintf(flags, sizeof(flags), "%s%s%s, %u tries left",
				 st->good[s] ? "good" : "not good",
				 st->active == sv->name ? ", active" : "",
				 st->try_slot == sv->name ? ", on trial" : "", st->tries[s]);
		printf("slot %c:         ", sv->name);
		if (sv->empty)
			printf("empty");
		else if (sv->have_info)
			printf("%s %s (%s)", sv->info.board[0] ? sv->info.board : "?",
			       sv->info.version[0] ? sv->info.version : "?",
			       sv->info.source[0] ? sv->info.source : "?");
		else
			printf("unknown contents (%s)", sv->info_err);
		printf("%s%s%s\n", flags[0] ? "; " : "", flags,
		       v->booted == sv->name ? "; booted" : "");
		if (sv->have_info)
			printf("  verity:       %s%s%s\n", sv->info.verity ? "on, root " : "off",
			       sv->info.verity ? sv->info.verity_root : "",
			       sv->sig ? "; slot.env signed" : "");
		if (sv->dev && headroom(sv) >= 0)
			printf("  size:         %" PRIu64 " MiB, headroom %" PRIu64
			       " MiB (updates with a root up to %" PRIu64 " MiB fit)\n",
			       sv->dev_size >> 20, (uint64_t)headroom(sv) >> 20, sv->dev_size >> 20);
		else if (sv->dev)
			printf("  size:         %" PRIu64 " MiB\n", sv->dev_size >> 20);
	}
	if (v->have_state) {
		if (v->rpi) /* the firmware decides: a trial needs reboot '0 tryboot' */
			printf("next boot:      slot %c; reboot '0 tryboot': slot %c%s\n"
			       "autoboot.txt:   [all] partition %u, [tryboot] partition %u\n",
			       rpi_slot(v->ab_all), rpi_slot(v->ab_try),
			       st->try_slot && rpi_slot(v->ab_try) == st->try_slot ? " (trial)" : "",
			       v->ab_all, v->ab_try);
		else
			printf("next boot:      slot %c%s\n", aim_slotstate_next_boot(st),
			       st->try_slot && aim_slotstate_next_boot(st) == st->try_slot
				       ? " (trial)" : "");
		printf("state:          seq %u (state-%d.txt)\n", (unsigned)st->seq, v->copy);
		printf("last reason:    %s\n", st->reason[0] ? st->reason : "-");
	} else {
		printf("state:          invalid (%s)\n", v->state_err);
	}
	if (!v->image) {
		printf("overlay:        %s\n", v->mode ? v->mode : "?");
		if (v->boot_reason && v->boot_reason[0])
			printf("boot note:      %s\n", v->boot_reason);
		if (v->verity)
			printf("root verity:    %s\n", !strcmp(v->verity, "1") ? "on (this boot's "
			       "root is mapped through dm-verity)" : "off");
		cli_layer_text(v->mode, v->booted);
	}
	printf("factory reset:  %s\n", v->reset_pending ? "pending (next boot)" : "no");
}

int cmd_status(int argc, char **argv)
{
	static const struct cli_option opts[] = {
		{"image", 'i', required_argument},
		{"json", 'j', no_argument},
		{"help", 'h', no_argument},
		{0},
	};
	static const struct cli_option *const tables[] = {opts, NULL};
	struct cli_args a;
	const char *val;
	_cleanup_(aim_target_freep) struct aim_target *t = NULL;
	struct view v = {0};
	int c, r, json = 0, ret = 0;

	cli_args_init(&a, argv[0], argc, argv, tables);
	while ((c = cli_args_next(&a, &val)) > 0) {
		switch (c) {
		case 'i':
			v.image = val;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			help();
			return 0;
		}
	}
	if (c < 0)
		return c;
	if (a.noperands)
		return usage_err(argv[0], "unexpected argument '%s'", a.operand[0]);
	if (cli_target_open(argv[0], v.image, 1, &t) < 0)
		return -1;
	v.booted = aim_target_booted_slot(t);
	v.trial = aim_target_boot_env(t, "trial");
	v.mode = aim_target_boot_env(t, "mode");
	v.boot_reason = aim_target_boot_env(t, "reason");
	v.verity = aim_target_boot_env(t, "verity");
	aim_error_clear();
	r = aim_target_state_load(t, &v.st);
	if (r == 0) {
		v.have_state = 1;
		v.copy = aim_target_state_copy(t);
	} else {
		snprintf(v.state_err, sizeof(v.state_err), "%s",
			 aim_error_text(r));
		aim_error_clear();
		ret = -1;
	}
	for (int s = 0; s < 2; s++) {
		struct slot_view *sv = &v.slot[s];
		char dir[16], **files = NULL;
		size_t n = 0;

		sv->name = (char)('a' + s);
		snprintf(dir, sizeof(dir), "/slot-%c", sv->name);
		r = aim_target_list(t, dir, &files, &n);
		aim_strv_free(files);
		sv->empty = r == 0 && n == 0;
		r = aim_target_slot_info_read(t, sv->name, &sv->info);
		if (r == 0) {
			char p[48];
			sv->have_info = 1;
			snprintf(p, sizeof(p), "%s/" AIM_SLOT_ENV_SIG, dir);
			sv->sig = aim_target_exists(t, p) > 0;
		} else
			snprintf(sv->info_err, sizeof(sv->info_err), "%s",
				 r == -ENOENT ? "no slot.env"
				 : aim_error_text(r));
		aim_error_clear();
		if (aim_target_slot_dev(t, sv->name, &sv->dev, &sv->dev_off, &sv->dev_size) < 0)
			sv->dev = NULL;
		aim_error_clear();
	}
	v.reset_pending = aim_target_exists(t, AIM_FACTORY_RESET) > 0;
	aim_error_clear();
	{
		_cleanup_free_ char *ab = NULL;
		size_t n = 0;
		if (aim_target_read_file(t, AIM_RPI_AUTOBOOT, 4096, &ab, &n) == 0 &&
		    aim_rpi_autoboot_parse(ab, n, &v.ab_all, &v.ab_try) == 0)
			v.rpi = 1;
		aim_error_clear();
	}
	if (json)
		print_json(&v);
	else
		print_text(&v);
	if (ret < 0)
		fprintf(stderr, "armimmutable: status: no valid slot state: %s\n", v.state_err);
	return ret;
}
