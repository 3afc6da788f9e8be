/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable convert IN OUT: an Armbian image into the A/B immutable layout. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "convert.h"
#include "input.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/log.h"
#include "base/parse.h"

static struct aim_convert_opts arg = {.sqfs = {.comp = "zstd"},
				       .trial_timeout = AIM_TRIAL_TIMEOUT_DEFAULT};
static int arg_force, arg_dry_run, arg_json;

/* What an interrupt must remove: the output under construction and our temp dir. */
static char cleanup_out[4096], cleanup_dir[4096];

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
	     "      --slot-size SIZE    size of each root slot (default 1.5x the squashfs)\n"
	     "      --boot-size SIZE    boot partition size (default from /boot, >= 128M)\n"
	     "      --data-size SIZE    data partition size in the image (default 256M;\n"
	     "                          it grows to fill the medium on first boot)\n"
	     "      --overlay MODE      persistent (default) or tmpfs (kiosk: changes are\n"
	     "                          forgotten at reboot)\n"
	     "      --persist PATH      keep PATH on the data partition in both modes\n"
	     "                          (repeatable; e.g. /home, /etc/ssh)\n"
	     "      --slot-b MODE       copy (default: B starts as a copy of A) or empty\n"
	     "      --trust KEY.pub     a minisign public key the device accepts update\n"
	     "                          bundles from (repeatable; /etc/armimmutable/keys/)\n"
	     "      --trial-timeout SECS  a slot on trial that is not marked good within\n"
	     "                          SECS of boot is rebooted (default 600; 0: never)\n"
	     "      --tmpdir DIR        temporary files (default $TMPDIR or /var/tmp)\n"
	     "  -f, --force             overwrite OUTPUT if it exists\n"
	     "  -n, --dry-run           print the planned layout, write nothing\n"
	     "      --json              print the layout as JSON on stdout\n"
	     "  -h, --help              this help\n\n"
	     "SIZE takes K, M, G suffixes (powers of 1024). SOURCE_DATE_EPOCH sets every\n"
	     "timestamp the conversion creates; the same input and options always give the\n"
	     "same output bytes.\n\n"
	     "Exit status: 0 converted, 1 failed (nothing is left at OUTPUT), 2 usage error.");
}

static int parse_size_opt(const char *name, const char *s, uint64_t *ret)
{
	if (aim_parse_size(s, ret) < 0 || *ret == 0)
		return usage_err("convert", "invalid %s '%s'", name, s);
	if (*ret % (1024 * 1024))
		return usage_err("convert", "%s must be a whole number of MiB", name);
	return 0;
}

static int parse_argv(int argc, char **argv)
{
	enum { O_SLOT = 256, O_BOOT, O_DATA, O_OVERLAY, O_PERSIST, O_SLOTB, O_TMP, O_JSON, O_TRIAL, O_TRUST };
	static const struct option opts[] = {
		{"compressor", required_argument, NULL, 'c'},
		{"level", required_argument, NULL, 'l'},
		{"block-size", required_argument, NULL, 'b'},
		{"threads", required_argument, NULL, 'j'},
		{"slot-size", required_argument, NULL, O_SLOT},
		{"boot-size", required_argument, NULL, O_BOOT},
		{"data-size", required_argument, NULL, O_DATA},
		{"overlay", required_argument, NULL, O_OVERLAY},
		{"persist", required_argument, NULL, O_PERSIST},
		{"slot-b", required_argument, NULL, O_SLOTB},
		{"trial-timeout", required_argument, NULL, O_TRIAL},
		{"trust", required_argument, NULL, O_TRUST},
		{"tmpdir", required_argument, NULL, O_TMP},
		{"force", no_argument, NULL, 'f'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t v;
	unsigned u;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:l:b:j:fnh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strcmp(optarg, "zstd") && strcmp(optarg, "xz") &&
			    strcmp(optarg, "gzip") && strcmp(optarg, "lz4"))
				return usage_err("convert", "unknown compressor '%s' (zstd, xz, "
							    "gzip, lz4)", optarg);
			arg.sqfs.comp = optarg;
			break;
		case 'l':
			if (aim_parse_uint(optarg, 1, 22, &u) < 0)
				return usage_err("convert", "invalid level '%s'", optarg);
			arg.sqfs.level = (int)u;
			break;
		case 'b':
			if (aim_parse_size(optarg, &v) < 0 || v < 4096 || v > (1 << 20) ||
			    (v & (v - 1)))
				return usage_err("convert", "block size must be a power of two "
							    "from 4K to 1M");
			arg.sqfs.block_size = (uint32_t)v;
			break;
		case 'j':
			if (aim_parse_uint(optarg, 1, 256, &u) < 0)
				return usage_err("convert", "invalid thread count '%s'", optarg);
			arg.sqfs.threads = u;
			break;
		case O_SLOT:
			if ((r = parse_size_opt("--slot-size", optarg, &arg.slot_size)) < 0)
				return r;
			break;
		case O_BOOT:
			if ((r = parse_size_opt("--boot-size", optarg, &arg.boot_size)) < 0)
				return r;
			if (arg.boot_size < 33 * 1024 * 1024)
				return usage_err("convert", "--boot-size must be at least 33M "
							    "(FAT32)");
			break;
		case O_DATA:
			if ((r = parse_size_opt("--data-size", optarg, &arg.data_size)) < 0)
				return r;
			if (arg.data_size < 16 * 1024 * 1024)
				return usage_err("convert", "--data-size must be at least 16M");
			break;
		case O_OVERLAY:
			if (!strcmp(optarg, "persistent"))
				arg.overlay = AIM_OVERLAY_PERSISTENT;
			else if (!strcmp(optarg, "tmpfs"))
				arg.overlay = AIM_OVERLAY_TMPFS;
			else
				return usage_err("convert", "--overlay is persistent or tmpfs");
			break;
		case O_PERSIST:
			if (optarg[0] != '/' || strstr(optarg, "..") || strpbrk(optarg, " \t\n\"'") ||
			    !strcmp(optarg, "/"))
				return usage_err("convert", "--persist needs an absolute path "
							    "without spaces or '..': '%s'", optarg);
			if (arg.npersist >= AIM_MAX_PERSIST)
				return usage_err("convert", "at most %d --persist paths",
						 AIM_MAX_PERSIST);
			arg.persist[arg.npersist++] = optarg;
			break;
		case O_SLOTB:
			if (!strcmp(optarg, "copy") || !strcmp(optarg, "empty"))
				arg.slot_b_empty = !strcmp(optarg, "empty");
			else
				return usage_err("convert", "--slot-b is copy or empty");
			break;
		case O_TMP:
			arg.tmpdir = optarg;
			break;
		case O_TRUST:
			if (arg.ntrust >= AIM_MAX_TRUST)
				return usage_err("convert", "at most %d --trust keys", AIM_MAX_TRUST);
			arg.trust[arg.ntrust++] = optarg;
			break;
		case O_TRIAL:
			if (aim_parse_uint(optarg, 0, 86400, &u) < 0)
				return usage_err("convert", "--trial-timeout is 0..86400 seconds");
			arg.trial_timeout = u;
			break;
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
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 2)
		return usage_err("convert", argc - optind < 2 ? "needs INPUT and OUTPUT"
							       : "too many arguments");
	{
		const char *e = getenv("SOURCE_DATE_EPOCH");
		if (e && *e) {
			if (aim_parse_u64(e, &v) < 0 || v > UINT32_MAX)
				return usage_err("convert", "invalid SOURCE_DATE_EPOCH '%s'", e);
			arg.epoch = (uint32_t)v;
		}
	}
	return 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static void cleanup(void)
{
	if (cleanup_out[0])
		unlink(cleanup_out);
	if (cleanup_dir[0])
		nftw(cleanup_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}


/* The device side shipped with this binary: next to it in a build tree (build/dev/,
 * hooks/), else where `make install` put it; AIM_DEVICE_DIR and AIM_HOOKS_DIR override. */
static char device_dir[4096], hooks_dir[4096];
static void find_device_side(void)
{
	char exe[4000];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	snprintf(device_dir, sizeof(device_dir), "%s", AIM_LIBEXECDIR);
	snprintf(hooks_dir, sizeof(hooks_dir), "%s", AIM_HOOKSDIR);
	if (n > 0) {
		char d[4096], h[4096];
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(d, sizeof(d), "%s/dev", exe);
		snprintf(h, sizeof(h), "%s/../hooks", exe);
		if (stat(d, &st) == 0 && stat(h, &st) == 0) {
			memcpy(device_dir, d, sizeof(d));
			memcpy(hooks_dir, h, sizeof(h));
		}
	}
	if (getenv("AIM_DEVICE_DIR"))
		snprintf(device_dir, sizeof(device_dir), "%s", getenv("AIM_DEVICE_DIR"));
	if (getenv("AIM_HOOKS_DIR"))
		snprintf(hooks_dir, sizeof(hooks_dir), "%s", getenv("AIM_HOOKS_DIR"));
	arg.device_dir = device_dir;
	arg.hooks_dir = hooks_dir;
}

static void print_plan(const struct aim_convert_plan *p, int dry, const char *out)
{
	const uint64_t M = 1024 * 1024;

	if (arg_json) {
		struct aim_json j;
		aim_json_init(&j, stdout, 1);
		aim_json_obj_begin(&j, NULL);
		aim_json_bool(&j, "dry_run", dry);
		aim_json_str(&j, "output", out);
		aim_json_str(&j, "table", p->table == AIM_PTABLE_GPT ? "gpt" : "mbr");
		aim_json_str(&j, "disk_id", p->disk_id);
		aim_json_u64(&j, "disk_size", p->disk_size);
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
			aim_json_obj_end(&j);
		}
		aim_json_arr_end(&j);
		aim_json_u64(&j, "squashfs_size", p->sqfs_size);
		aim_json_bool(&j, "squashfs_size_estimated", dry);
		aim_json_u64(&j, "boot_files_size", p->boot_content);
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
	printf("  p1 boot    %6" PRIu64 " MiB at %6" PRIu64 " MiB  FAT32, %" PRIu64
	       " MiB of boot files per slot\n",
	       p->boot_size / M, p->boot_start / M, (p->boot_content + M - 1) / M);
	printf("  p2 root A  %6" PRIu64 " MiB at %6" PRIu64 " MiB  squashfs %s%" PRIu64 " MiB\n",
	       p->slot_size / M, p->slot_a_start / M, dry ? "~" : "", (p->sqfs_size + M - 1) / M);
	printf("  p3 root B  %6" PRIu64 " MiB at %6" PRIu64 " MiB  %s\n", p->slot_size / M,
	       p->slot_b_start / M, arg.slot_b_empty ? "empty" : "copy of A");
	printf("  p4 data    %6" PRIu64 " MiB at %6" PRIu64 " MiB  ext4, grows on first boot\n",
	       p->data_size / M, p->data_start / M);
	if (!dry && !p->ab_boot)
		printf("  note: %s\n", p->boot_note);
	if (!dry && p->stats.xattrs_dropped)
		printf("  %" PRIu64 " extended attributes squashfs cannot hold were dropped "
		       "(POSIX ACLs; see inspect)\n", p->stats.xattrs_dropped);
}

static void conv_progress(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	struct progress *p = ud;

	if (p->what != phase) {
		progress_end(p);
		progress_begin(p, phase, total);
	}
	p->total = total;
	progress_update(p, done);
}

int cmd_convert(int argc, char **argv)
{
	struct aim_input *in = NULL;
	struct aim_image_info *ii = NULL;
	struct aim_convert_plan plan;
	struct aim_outfile out = {.fd = -1};
	struct progress pr = {0};
	const char *in_path, *out_path;
	int r = parse_argv(argc, argv);

	if (r != 0)
		return r > 0 ? 0 : r;
	in_path = argv[optind];
	out_path = argv[optind + 1];
	find_device_side();
	watch_signals(cleanup, "nothing was written");

	if (!arg_dry_run) {
		r = aim_outfile_open(&out, out_path, arg_force);
		if (r < 0)
			return aim_err(r, "%s", out_path);
		snprintf(cleanup_out, sizeof(cleanup_out), "%s", out.tmp);
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
	if (arg_dry_run) {
		r = aim_convert_plan(aim_input_path(in), aim_input_fd(in), ii, &arg, &plan);
		if (r < 0)
			r = aim_err(r, "%s", in_path);
		else
			print_plan(&plan, 1, out_path);
		goto out;
	}
	r = aim_convert_run(aim_input_path(in), aim_input_fd(in), ii, &arg, out.fd, conv_progress,
			    &pr, &plan);
	progress_end(&pr);
	if (r < 0) {
		r = aim_err(r, "converting %s", in_path);
		goto out;
	}
	r = aim_outfile_commit(&out);
	cleanup_out[0] = 0;
	if (r < 0) {
		r = aim_err(r, "%s", out_path);
		goto out;
	}
	print_plan(&plan, 0, out_path);
out:
	if (r < 0 && out.tmp)
		aim_outfile_abort(&out);
	cleanup_out[0] = 0;
	if (cleanup_dir[0])
		nftw(cleanup_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	cleanup_dir[0] = 0;
	free(ii);
	aim_input_free(in);
	return r < 0 ? r : 0;
}
