/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable convert IN OUT: an Armbian image into the A/B immutable layout. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "convert-opts.h"
#include "convert-out.h"
#include "convert.h"
#include "input.h"
#include "medium.h"
#include "password.h"
#include "rpi.h"
#include "sign.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"

static struct aim_convert_opts arg = {.sqfs = {.comp = "zstd", .frag_group = AIM_SQFS_DELTA_GROUP},
				       .trial_timeout = AIM_TRIAL_TIMEOUT_DEFAULT};
static int arg_force, arg_dry_run, arg_json;
static const char *arg_sign, *arg_password_file;
static struct conv_out arg_out = {.level = -1};

/* What an interrupt must remove: the output under construction (convert-out.c) and our
 * temp dir. */
static char cleanup_dir[4096];

static void help(void)
{
	puts("Usage: armimmutable convert [OPTIONS] INPUT OUTPUT\n"
	     "Convert an Armbian disk image (.img, .img.xz, .img.zst) into an immutable A/B\n"
	     "image: p1 FAT boot partition with per-slot boot files, p2/p3 read-only squashfs\n"
	     "root slots A and B, p4 ext4 data partition for the overlay and persistent paths.\n"
	     "Runs as an ordinary user; the input is only read. See docs/convert.md.\n\n"
	     "  -c, --compressor NAME   zstd (default), xz, gzip, lz4\n"
	     "  -l, --level N           compression level (default: docs/compression.md)\n"
	     "  -b, --block-size SIZE   squashfs block size (default 128K)\n"
	     "  -j, --threads N         compressor threads (default: all CPUs)\n"
	     "      --sqfs-layout L     delta (default): small files are packed in groups\n"
	     "                          that stay put when other files change, for smaller\n"
	     "                          delta updates (~2 % larger; docs/delta.md); packed:\n"
	     "                          as mksquashfs packs them\n"
	     "      --medium-size SIZE  the card or disk the image is for (8G, 16G, ...;\n"
	     "                          default: the smallest of 8G, 16G, ... that holds it):\n"
	     "                          each root slot gets 1/8 of it, at most 4G, at least\n"
	     "                          2x the root; slots never grow after flashing\n"
	     "      --slot-size SIZE    size of each root slot (overrides --medium-size)\n"
	     "      --boot-size SIZE    boot partition size (default from /boot, >= 128M)\n"
	     "      --data-size SIZE    data partition size in the image (default 256M;\n"
	     "                          it grows to fill the medium on first boot)\n"
	     "      --overlay MODE      persistent (default) or tmpfs (kiosk: changes are\n"
	     "                          forgotten at reboot)\n"
	     "      --no-keep-identity  tmpfs mode: keep no machine-id, SSH host keys and\n"
	     "                          clock across reboots (kept by default, state.md)\n"
	     "      --persist PATH      keep PATH on the data partition in both modes\n"
	     "                          (repeatable; e.g. /home, /etc/ssh)\n"
	     "      --slot-b MODE       copy (default: B starts as a copy of A) or empty\n"
	     "      --trust KEY.pub     a minisign public key the device accepts update\n"
	     "                          bundles from (repeatable; /etc/armimmutable/keys/)\n"
	     "      --sign SECKEY       the release key (keygen or minisign -G): signs each\n"
	     "                          slot's slot.env (slot.env.minisig), salts the verity\n"
	     "                          tree, and is trusted for updates as with --trust\n"
	     "      --password-file F   password of an encrypted SECKEY: first line of F\n"
	     "      --verity MODE       auto (default: on when the image's kernel has\n"
	     "                          dm-verity), on (refused without it) or off\n"
	     "      --trial-timeout SECS  a slot on trial that is not marked good within\n"
	     "                          SECS of boot is rebooted (default 600; 0: never)\n"
	     "      --tmpdir DIR        temporary files (default $TMPDIR or /var/tmp)\n"
	     "      --compress-level N  OUTPUT ending in .xz (0-9, default 6) or .zst (1-19,\n"
	     "                          default 3): the image is written compressed with -j\n"
	     "                          threads, with OUTPUT.sha256 beside it\n"
	     "  -f, --force             overwrite OUTPUT if it exists\n"
	     "  -n, --dry-run           print the planned layout, write nothing\n"
	     "      --json              print the layout as JSON on stdout\n"
	     "  -h, --help              this help\n\n"
	     "SIZE takes K, M, G suffixes (powers of 1024). SOURCE_DATE_EPOCH sets every\n"
	     "timestamp the conversion creates; the same input and options always give the\n"
	     "same output bytes.\n\n"
	     "Exit status: 0 converted, 1 failed (nothing is left at OUTPUT), 2 usage error.");
}

enum { O_SLOT = 256, O_BOOT, O_DATA, O_SLOTB, O_JSON, O_SIGN, O_PW, O_CLEVEL, O_MEDIUM };

static int parse_size_opt(const char *name, const char *s, uint64_t *ret)
{
	if (aim_parse_size(s, ret) < 0 || *ret == 0)
		return usage_err("convert", "invalid %s '%s'", name, s);
	if (*ret % (1024 * 1024))
		return usage_err("convert", "%s must be a whole number of MiB", name);
	return 0;
}

static const struct cli_option options[] = {
	{"medium-size", O_MEDIUM, required_argument},
	{"slot-size", O_SLOT, required_argument},
	{"boot-size", O_BOOT, required_argument},
	{"data-size", O_DATA, required_argument},
	{"slot-b", O_SLOTB, required_argument},
	{"sign", O_SIGN, required_argument},
	{"password-file", O_PW, required_argument},
	{"compress-level", O_CLEVEL, required_argument},
	{"force", 'f', no_argument},
	{"dry-run", 'n', no_argument},
	{"json", O_JSON, no_argument},
	{"help", 'h', no_argument},
	{0},
};

/* Returns 0, 1 after --help, or -AIM_E_USAGE; *in and *out are the two operands. */
static int parse_argv(int argc, char **argv, const char **in, const char **out)
{
	static const struct cli_option *const tables[] = {options, convert_slot_options, NULL};
	struct cli_args a;
	const char *val;
	int c, r;

	cli_args_init(&a, "convert", argc, argv, tables);
	while ((c = cli_args_next(&a, &val)) > 0) {
		r = convert_slot_option("convert", &arg, c, val, AIM_MAX_TRUST);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		switch (c) {
		case O_MEDIUM:
			if ((r = parse_size_opt("--medium-size", val, &arg.medium_size)) < 0)
				return r;
			if (arg.medium_size < 256 * 1024 * 1024)
				return usage_err("convert", "--medium-size must be at least 256M");
			break;
		case O_SLOT:
			if ((r = parse_size_opt("--slot-size", val, &arg.slot_size)) < 0)
				return r;
			break;
		case O_BOOT:
			if ((r = parse_size_opt("--boot-size", val, &arg.boot_size)) < 0)
				return r;
			if (arg.boot_size < 33 * 1024 * 1024)
				return usage_err("convert", "--boot-size must be at least 33M "
							    "(FAT32)");
			break;
		case O_DATA:
			if ((r = parse_size_opt("--data-size", val, &arg.data_size)) < 0)
				return r;
			if (arg.data_size < 16 * 1024 * 1024)
				return usage_err("convert", "--data-size must be at least 16M");
			break;
		case O_SLOTB:
			if (!strcmp(val, "copy") || !strcmp(val, "empty"))
				arg.slot_b_empty = !strcmp(val, "empty");
			else
				return usage_err("convert", "--slot-b is copy or empty");
			break;
		case O_SIGN:
			arg_sign = val;
			break;
		case O_PW:
			arg_password_file = val;
			break;
		case O_CLEVEL: {
			unsigned u;
			if (aim_parse_uint(val, 0, 19, &u) < 0)
				return usage_err("convert", "invalid --compress-level '%s'", val);
			arg_out.level = (int)u;
			break;
		}
		case 'f':
			arg_force = 1;
			break;
		case 'n':
			arg_dry_run = 1;
			break;
		case O_JSON:
			arg_json = 1;
			break;
		case 'h':
			help();
			return 1;
		}
	}
	if (c < 0)
		return c;
	if (a.noperands != 2)
		return usage_err("convert", a.noperands < 2 ? "needs INPUT and OUTPUT"
							    : "too many arguments");
	*in = a.operand[0];
	*out = a.operand[1];
	if (conv_out_check(&arg_out, *out) < 0)
		return usage_err("convert", "%s", aim_error_detail());
	arg_out.threads = arg.sqfs.threads;
	if ((r = convert_slot_check("convert", &arg)) < 0)
		return r;
	r = source_date_epoch("convert", &arg.epoch);
	return r < 0 ? r : 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static void cleanup(void)
{
	conv_out_cleanup();
	if (cleanup_dir[0])
		nftw(cleanup_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}


static void hex32(const uint8_t *b, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void print_plan(const struct aim_convert_plan *p, int dry, const char *out)
{
	const uint64_t M = 1024 * 1024;
	/* Room for a larger root in each slot (slot B empty: all of it). */
	const uint64_t room[2] = {p->slot_size - MIN(p->slot_bytes, p->slot_size),
				  arg.slot_b_empty ? p->slot_size
						   : p->slot_size - MIN(p->slot_bytes, p->slot_size)};
	char medium[32];

	aim_medium_name(p->medium_size, medium, sizeof(medium));

	if (arg_json) {
		struct aim_json j;
		aim_json_init(&j, stdout, 1);
		aim_json_obj_begin(&j, NULL);
		aim_json_bool(&j, "dry_run", dry);
		aim_json_str(&j, "output", out);
		aim_json_str(&j, "table", p->table == AIM_PTABLE_GPT ? "gpt" : "mbr");
		aim_json_str(&j, "disk_id", p->disk_id);
		aim_json_u64(&j, "disk_size", p->disk_size);
		aim_json_u64(&j, "medium_size", p->medium_size);
		aim_json_bool(&j, "medium_size_default", p->medium_default);
		aim_json_arr_begin(&j, "partitions");
		const char *names[4] = {"boot", "root_a", "root_b", "data"};
		uint64_t st[4] = {p->boot_start, p->slot_a_start, p->slot_b_start, p->data_start};
		uint64_t sz[4] = {p->boot_size, p->slot_size, p->slot_size, p->data_size};
		for (int i = 0; i < 4; i++) {
			aim_json_obj_begin(&j, NULL);
			aim_json_u64(&j, "number", (uint64_t)i + 1);
			aim_json_str(&j, "role", names[i]);
			aim_json_u64(&j, "start", st[i]);
			aim_json_u64(&j, "size", sz[i]);
			aim_json_str(&j, "partuuid", p->partuuid[i]);
			if (i == 1 || i == 2)
				aim_json_u64(&j, "headroom", room[i - 1]);
			aim_json_obj_end(&j);
		}
		for (int i = 0; p->rpi && i < 2; i++) { /* Raspberry Pi: docs/rpi.md */
			aim_json_obj_begin(&j, NULL);
			aim_json_u64(&j, "number", (uint64_t)AIM_RPI_PART_A + (uint64_t)i);
			aim_json_str(&j, "role", i ? "boot_b" : "boot_a");
			aim_json_u64(&j, "start", p->rpi_start[i]);
			aim_json_u64(&j, "size", p->rpi_size);
			aim_json_str(&j, "partuuid", p->rpi_partuuid[i]);
			aim_json_obj_end(&j);
		}
		aim_json_arr_end(&j);
		aim_json_u64(&j, "squashfs_size", p->sqfs_size);
		aim_json_bool(&j, "squashfs_size_estimated", dry);
		aim_json_u64(&j, "boot_files_size", p->boot_content);
		aim_json_obj_begin(&j, "verity");
		aim_json_bool(&j, "enabled", p->verity);
		aim_json_str(&j, "reason", p->verity_note);
		if (p->verity && !dry) {
			char salt[65], root[65];
			hex32(p->v.salt, salt);
			hex32(p->v.root, root);
			aim_json_u64(&j, "data_blocks", p->v.data_blocks);
			aim_json_u64(&j, "hash_offset", p->v.hash_offset);
			aim_json_u64(&j, "hash_size", p->v.hash_size);
			aim_json_str(&j, "salt", salt);
			aim_json_str(&j, "root_hash", root);
		}
		aim_json_obj_end(&j);
		aim_json_bool(&j, "signed", arg_sign != NULL);
		if (!dry) {
			aim_json_u64(&j, "files", p->stats.files);
			aim_json_u64(&j, "dirs", p->stats.dirs);
			aim_json_u64(&j, "hardlinks", p->stats.hardlinks);
			aim_json_u64(&j, "xattrs_dropped", p->stats.xattrs_dropped);
			aim_json_u64(&j, "transforms", p->transforms);
		}
		aim_json_obj_end(&j);
		aim_json_end(&j);
		return;
	}
	if (aim_log_level < AIM_LOG_NORMAL && !dry)
		return;
	printf("%s %s (%s, %" PRIu64 " MiB):\n", dry ? "Would write" : "Wrote", out,
	       p->table == AIM_PTABLE_GPT ? "GPT" : "MBR", p->disk_size / M);
	if (p->rpi) {
		printf("  p1 boot    %6" PRIu64 " MiB at %6" PRIu64 " MiB  FAT32, autoboot.txt and "
		       "the slot state\n", p->boot_size / M, p->boot_start / M);
		for (int i = 0; i < 2; i++)
			printf("  p%d boot %c  %6" PRIu64 " MiB at %6" PRIu64 " MiB  FAT32, %" PRIu64
			       " MiB of firmware files (Raspberry Pi: unproven on hardware)\n",
			       AIM_RPI_PART_A + i, 'A' + i, p->rpi_size / M, p->rpi_start[i] / M,
			       (p->boot_content + M - 1) / M);
	} else {
		printf("  p1 boot    %6" PRIu64 " MiB at %6" PRIu64 " MiB  FAT32, %" PRIu64
		       " MiB of boot files per slot\n",
		       p->boot_size / M, p->boot_start / M, (p->boot_content + M - 1) / M);
	}
	printf("  p2 root A  %6" PRIu64 " MiB at %6" PRIu64 " MiB  squashfs %s%" PRIu64
	       " MiB, headroom %s%" PRIu64 " MiB\n", p->slot_size / M, p->slot_a_start / M,
	       dry ? "~" : "", (p->sqfs_size + M - 1) / M, dry ? "~" : "", room[0] / M);
	if (p->verity && !dry) {
		char root[65];
		hex32(p->v.root, root);
		printf("             verity tree %" PRIu64 " KiB after it, root hash %s\n",
		       (p->v.hash_size + 1023) / 1024, root);
	} else if (p->verity) {
		printf("             verity tree ~%" PRIu64 " KiB after it\n",
		       (p->slot_bytes - ALIGN_UP(p->sqfs_size, 4096) + 1023) / 1024);
	}
	printf("  p3 root B  %6" PRIu64 " MiB at %6" PRIu64 " MiB  %s, headroom %s%" PRIu64
	       " MiB\n", p->slot_size / M, p->slot_b_start / M,
	       arg.slot_b_empty ? "empty" : "copy of A", dry && !arg.slot_b_empty ? "~" : "",
	       room[1] / M);
	printf("  p4 data    %6" PRIu64 " MiB at %6" PRIu64 " MiB  ext4, grows on first boot\n",
	       p->data_size / M, p->data_start / M);
	printf("  slots for a medium of %s (%s); they never grow after flashing:\n"
	       "  updates whose root (squashfs and verity tree) is up to %" PRIu64 " MiB fit\n",
	       medium,
	       arg.slot_size	   ? "--slot-size"
	       : p->medium_default ? "the default"
				   : "--medium-size",
	       p->slot_size / M);
	if (!dry && !p->ab_boot)
		printf("  note: %s\n", p->boot_note);
	if (!dry && p->stats.xattrs_dropped)
		printf("  %" PRIu64 " extended attributes squashfs cannot hold were dropped "
		       "(POSIX ACLs; see inspect)\n", p->stats.xattrs_dropped);
}

int cmd_convert(int argc, char **argv)
{
	struct aim_input *in = NULL;
	struct aim_image_info *ii = NULL;
	struct aim_convert_plan plan;
	struct progress pr = {0};
	static char device_dir[4096], hooks_dir[4096];
	static struct aim_seckey sk;
	const char *in_path = NULL, *out_path = NULL;
	int r = parse_argv(argc, argv, &in_path, &out_path);

	if (r != 0)
		return r > 0 ? 0 : r;
	if (arg_sign) {
		r = seckey_load(arg_sign, arg_password_file, &sk);
		if (r < 0)
			return aim_err(r, "convert");
		arg.sign = &sk;
	}
	find_device_side(device_dir, hooks_dir, sizeof(device_dir));
	arg.device_dir = device_dir;
	arg.hooks_dir = hooks_dir;
	watch_signals(cleanup, "nothing was written");

	if (!arg_dry_run) {
		r = conv_out_open(&arg_out, out_path, arg_force);
		if (r < 0)
			return aim_err(r, "%s", out_path);
	}
	{
		const char *base = arg.tmpdir ? arg.tmpdir
					      : (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp");
		snprintf(cleanup_dir, sizeof(cleanup_dir), "%s/armimmutable-XXXXXX", base);
		if (!mkdtemp(cleanup_dir)) {
			r = aim_err(-errno, "cannot create a temporary directory in %s", base);
			cleanup_dir[0] = 0;
			goto out;
		}
		arg.tmpdir = cleanup_dir;
	}
	if (arg.sign && (r = trust_signer(arg.sign, cleanup_dir, &arg)) < 0) {
		r = aim_err(r, "convert");
		goto out;
	}
	progress_begin(&pr, "decompress", 0);
	r = aim_input_open(in_path, cleanup_dir, arg.sqfs.threads, progress_cb, &pr, &in);
	progress_end(&pr);
	if (r < 0) {
		r = aim_err(r, "%s", in_path);
		goto out;
	}
	ii = calloc(1, sizeof(*ii));
	if (!ii) {
		r = aim_err(-ENOMEM, "%s", in_path);
		goto out;
	}
	r = aim_image_analyze(aim_input_fd(in), aim_input_path(in), aim_input_size(in), ii);
	if (r < 0) {
		r = aim_err(r, "%s", in_path);
		goto out;
	}
	if (!ii->convertible) {
		r = aim_err(aim_error_set(-EOPNOTSUPP, "cannot convert this image: %s", ii->reason),
			    "%s", in_path);
		goto out;
	}
	r = verity_preflight("convert", ii, arg.verity);
	if (r < 0) {
		r = aim_err(r, "%s", in_path);
		goto out;
	}
	if (arg_dry_run) {
		r = aim_convert_plan(aim_input_path(in), aim_input_fd(in), ii, &arg, &plan);
		if (r < 0)
			r = aim_err(r, "%s", in_path);
		else
			print_plan(&plan, 1, out_path);
		goto out;
	}
	r = aim_convert_run(aim_input_path(in), aim_input_fd(in), ii, &arg, arg_out.raw_fd,
			    conv_progress, &pr, &plan);
	progress_end(&pr);
	if (r < 0) {
		r = aim_err(r, "converting %s", in_path);
		goto out;
	}
	r = conv_out_commit(&arg_out, out_path, &pr);
	if (r < 0) {
		r = aim_err(r, "%s", out_path);
		goto out;
	}
	print_plan(&plan, 0, out_path);
	if (arg_out.fmt != AIM_OUTCOMP_RAW && !arg_json && aim_log_level >= AIM_LOG_NORMAL) {
		struct stat st;
		if (stat(out_path, &st) == 0)
			printf("  %s-compressed: %" PRIu64 " MiB; its SHA-256 in %s.sha256\n",
			       aim_outcomp_name(arg_out.fmt),
			       ((uint64_t)st.st_size + 1024 * 1024 - 1) / (1024 * 1024), out_path);
	}
out:
	if (r < 0 && !arg_dry_run)
		conv_out_abort(&arg_out);
	if (cleanup_dir[0])
		nftw(cleanup_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	cleanup_dir[0] = 0;
	free(ii);
	aim_input_free(in);
	aim_seckey_wipe(&sk);
	return r < 0 ? r : 0;
}
