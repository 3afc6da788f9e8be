// SPDX-License-Identifier: LGPL-2.1-or-later
/* lib/target: slot.env parse/format; an image target on a real fixture (sfdisk, mkfs.vfat)
 * with state load/store, boot file write/read/list/prune, slot partitions; a device target
 * on a fake boot.env + boot directory + sysfs; the errors of each; on both, a directory in
 * place of state-1.txt counts as an invalid copy and the next store replaces it. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "target.h"
#include "base/log.h"

static char dir[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int has_detail(const char *word)
{
	const char *d = aim_error_detail();
	int r = d && strstr(d, word);

	if (!r)
		printf("#   detail: %s\n", d ? d : "(none)");
	return r;
}

static void test_slot_info(void)
{
	struct aim_slot_info si, back;
	char *txt = NULL;
	const char *in = "version=25.8.1\nboard=orangepi5\nfamily=rockchip-rk3588\narch=arm64\n"
			 "source=bundle\nrootfs_size=123456789\nrootfs_sha256=abc\n"
			 "installed=1700000000\nbundle=def\nfuture_key=whatever\n# comment\n\n";

	is_int(aim_slot_info_parse(in, strlen(in), &si), 0, "slot.env parses");
	is_str(si.version, "25.8.1", "version");
	is_str(si.board, "orangepi5", "board");
	is_str(si.family, "rockchip-rk3588", "family");
	is_str(si.source, "bundle", "source");
	ok(si.rootfs_size == 123456789, "rootfs_size");
	ok(si.installed == 1700000000, "installed");
	is_str(si.bundle, "def", "bundle");
	ok(aim_slot_info_format(&si, &txt) > 0, "format");
	is_int(aim_slot_info_parse(txt, strlen(txt), &back), 0, "round trip parses");
	ok(!memcmp(&si, &back, sizeof(si)), "round trip is identical");
	ok(strstr(txt, "future_key") == NULL, "unknown keys are not written back");
	free(txt);
	is_int(aim_slot_info_parse("version=1\r\nboard=x\r\n", 20, &si), 0, "CRLF accepted");
	is_int(aim_slot_info_parse("version=1\rx\nboard=x\n", 20, &si), -EBADMSG,
	       "a carriage return inside a value is refused (the formatter refuses it too)");
	is_int(aim_slot_info_parse("version=1\r\r\n", 13, &si), -EBADMSG,
	       "two carriage returns before the newline are refused");
	is_str(si.board, "x", "CR stripped");

	aim_error_clear();
	is_int(aim_slot_info_parse("version=1\nnonsense\n", 19, &si), -EBADMSG,
	       "line without '=' refused");
	ok(has_detail("line 2 has no '='"), "detail names the line");
	is_int(aim_slot_info_parse("rootfs_size=12x\n", 16, &si), -EBADMSG, "bad number refused");
	ok(has_detail("bad number for rootfs_size"), "detail names the key");
	{
		char big[200];

		snprintf(big, sizeof(big), "version=%0100d\n", 1);
		is_int(aim_slot_info_parse(big, strlen(big), &si), -EBADMSG, "too long value");
		ok(has_detail("version is too long"), "detail names the key");
	}
	memset(&si, 0, sizeof(si));
	strcpy(si.version, "1\nboard=evil");
	is_int(aim_slot_info_format(&si, &txt), -EINVAL, "value with a newline refused");

	/* ---- verity keys (docs/verity.md) ---- */
	{
		static const char *const hx =
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		char v[1024], bad[1100];

		snprintf(v, sizeof(v),
			 "version=1\nboard=b\nfamily=f\narch=arm64\nsource=convert\n"
			 "rootfs_size=8192\nrootfs_sha256=%s\ninstalled=5\nbundle=\nverity=1\n"
			 "verity_alg=sha256\nverity_block=4096\nverity_data_blocks=2\n"
			 "verity_hash_offset=8192\nverity_salt=%s\nverity_root=%s\n", hx, hx, hx);
		is_int(aim_slot_info_parse(v, strlen(v), &si), 0, "slot.env with verity parses");
		ok(si.verity == 1 && si.verity_block == 4096 && si.verity_data_blocks == 2 &&
		   si.verity_hash_offset == 8192 && !strcmp(si.verity_root, hx), "verity values");
		ok(aim_slot_info_format(&si, &txt) > 0 && !strcmp(txt, v),
		   "formats back to the same bytes (the signed form)");
		free(txt);
		snprintf(bad, sizeof(bad), "%s", v);
		*strstr(bad, "offset=8192") = 'X';
		is_int(aim_slot_info_parse(bad, strlen(bad), &si), -EBADMSG, "unknown verity key");
		snprintf(bad, sizeof(bad), "%s", v);
		strstr(bad, "offset=8192")[7] = '4';
		is_int(aim_slot_info_parse(bad, strlen(bad), &si), -EBADMSG,
		       "hash offset that is not data blocks * 4096 refused");
		ok(has_detail("verity_hash_offset"), "detail names the key");
		snprintf(bad, sizeof(bad), "%s", v);
		strstr(bad, "verity_root=")[12] = 'A';
		is_int(aim_slot_info_parse(bad, strlen(bad), &si), -EBADMSG,
		       "upper-case root refused");
		is_int(aim_slot_info_parse("verity=2\n", 9, &si), -EBADMSG, "verity=2 refused");
		is_int(aim_slot_info_parse("verity=0\nverity_root=x\n", 23, &si), 0,
		       "verity=0: the other keys are ignored");
		ok(!si.verity && !si.verity_root[0], "and left empty");
		ok(aim_slot_info_format(&si, &txt) > 0 && !strstr(txt, "verity"),
		   "no verity keys written when off");
		free(txt);
	}
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A 64 MiB MBR image: p1 FAT 16 MiB, p2/p3 16 MiB, p4 8 MiB; state-1.txt from init. */
static int make_image(const char *img, int nparts)
{
	struct aim_slotstate st;
	char rec[AIM_SLOTSTATE_MAX];
	FILE *f;

	aim_slotstate_init(&st);
	if (aim_slotstate_format(&st, rec) < 0)
		return -1;
	if (sh("cd '%s' && truncate -s 64M '%s' && printf '%s' | sfdisk -q '%s' >/dev/null && "
	       "rm -f fat.img && mkfs.vfat -C fat.img 16384 >/dev/null && "
	       "dd if=fat.img of='%s' bs=1M seek=1 conv=notrunc status=none",
	       dir, img,
	       nparts == 4 ? "1M,16M,c\\n,16M,83\\n,16M,83\\n,8M,83\\n" : "1M,16M,c\\n", img,
	       img))
		return -1;
	f = fopen("/dev/null", "w");
	if (f)
		fclose(f);
	return sh("cd '%s' && printf '%%s' '%s' > state.txt && "
		  "MTOOLS_SKIP_CHECK=1 mcopy -i '%s@@1048576' state.txt ::state-1.txt && "
		  "MTOOLS_SKIP_CHECK=1 mmd -i '%s@@1048576' ::slot-a ::slot-a/dtb "
		  "::slot-a/dtb/x && echo k > Image && "
		  "MTOOLS_SKIP_CHECK=1 mcopy -i '%s@@1048576' Image ::slot-a/Image && "
		  "MTOOLS_SKIP_CHECK=1 mcopy -i '%s@@1048576' Image ::slot-a/dtb/x/b.dtb",
		  dir, rec, img, img, img, img);
}

static void test_image(void)
{
	struct aim_target *t = NULL;
	struct aim_target_opts o = {0};
	struct aim_slotstate st, got;
	struct aim_slot_info si = {0}, sb;
	char img[300], **files = NULL, *buf = NULL;
	const char *path;
	uint64_t off, size;
	size_t n = 0, len = 0;
	int r;

	snprintf(img, sizeof(img), "%s/disk.img", dir);
	if (make_image(img, 4)) {
		ok(0, "image fixture built");
		return;
	}
	o.image = img;
	is_int(aim_target_open(&o, &t), 0, "open the image");
	if (!t)
		return;
	is_int(aim_target_is_image(t), 1, "is an image");
	is_int(aim_target_booted_slot(t), 0, "no booted slot");
	ok(aim_target_boot_env(t, "slot") == NULL, "no boot.env");
	is_int(aim_target_state_load(t, &st), 0, "state loads");
	is_int(aim_target_state_copy(t), 1, "from copy 1");
	is_int(st.seq, 1, "seq 1");
	st.good[1] = 1;
	st.seq++;
	is_int(aim_target_state_store(t, &st), 0, "store");
	is_int(aim_target_state_copy(t), 2, "went to copy 2 (the older)");
	is_int(aim_target_state_load(t, &got), 0, "reload");
	is_int(got.seq, 2, "newest seq");
	is_int(got.good[1], 1, "stored field");
	st.seq++;
	is_int(aim_target_state_store(t, &st), 0, "store again");
	is_int(aim_target_state_copy(t), 1, "went to copy 1");

	is_int(aim_target_slot_dev(t, 'b', &path, &off, &size), 0, "slot b partition");
	is_str(path, img, "the image file");
	ok(off == 33u << 20 && size == 16u << 20, "offset 33 MiB, size 16 MiB");
	is_int(aim_target_slot_dev(t, 'c', &path, &off, &size), -EINVAL, "slot c refused");

	is_int(aim_target_exists(t, "/slot-a/Image"), 1, "exists");
	is_int(aim_target_exists(t, "/slot-b/Image"), 0, "does not exist");
	is_int(aim_target_read_file(t, "/slot-b/nothing", 100, &buf, &len), -ENOENT,
	       "missing file: -ENOENT");
	aim_error_clear();
	is_int(aim_target_read_file(t, "/slot-a/../state-1.txt", 100, &buf, &len), -EINVAL,
	       "'..' refused");
	ok(has_detail("bad boot partition path"), "detail names the path");
	is_int(aim_target_read_file(t, "slot-a/Image", 100, &buf, &len), -EINVAL,
	       "relative path refused");

	is_int(aim_target_write_file(t, "/slot-b/dtb/y/new.dtb", "dtb!", 4), 0,
	       "write a file with new parents");
	is_int(aim_target_read_file(t, "/slot-b/dtb/y/new.dtb", 100, &buf, &len), 0, "read it");
	ok(len == 4 && !memcmp(buf, "dtb!", 4), "same bytes");
	free(buf);
	buf = NULL;
	is_int(aim_target_write_file(t, "/slot-b/dtb/y/new.dtb", "v2", 2), 0, "overwrite");
	is_int(aim_target_read_file(t, "/slot-b/dtb/y/new.dtb", 100, &buf, &len), 0, "read");
	ok(len == 2 && !memcmp(buf, "v2", 2), "replaced");
	free(buf);
	buf = NULL;
	is_int(aim_target_exists(t, "/slot-b/dtb/y/new.dtb.aim-tmp"), 0, "no temp file left");

	strcpy(si.version, "2.0");
	strcpy(si.board, "board-x");
	strcpy(si.source, "bundle");
	si.rootfs_size = 42;
	is_int(aim_target_slot_info_write(t, 'b', &si), 0, "slot.env written");
	is_int(aim_target_slot_info_read(t, 'b', &sb), 0, "slot.env read");
	is_str(sb.version, "2.0", "version back");
	is_int(aim_target_slot_info_read(t, 'a', &sb), -ENOENT, "slot a has no slot.env");

	is_int(aim_target_list(t, "/slot-a", &files, &n), 0, "list slot-a");
	is_int((int)n, 2, "two files (recursive)");
	if (n == 2) {
		is_str(files[0], "Image", "Image");
		is_str(files[1], "dtb/x/b.dtb", "dtb/x/b.dtb");
	}
	aim_strv_free(files);
	/* Listed through lib/fat as mdir listed them: long names, 8.3 names with their case
	 * flags, hidden and system files left out. */
	sh("cd '%s' && export MTOOLS_SKIP_CHECK=1 && printf x > boot.scr && "
	   "printf y > a-very-long-file-name.dtb && mmd -i '%s@@1048576' ::slot-c ::slot-c/d && "
	   "mcopy -i '%s@@1048576' boot.scr a-very-long-file-name.dtb ::slot-c/d/ && "
	   "mcopy -i '%s@@1048576' boot.scr ::slot-c/h && mattrib -i '%s@@1048576' +h ::slot-c/h",
	   dir, img, img, img, img);
	is_int(aim_target_list(t, "/slot-c", &files, &n), 0, "list slot-c");
	is_int((int)n, 2, "two files, the hidden one left out");
	if (n == 2) {
		is_str(files[0], "d/a-very-long-file-name.dtb", "a long name");
		is_str(files[1], "d/boot.scr", "a lower-case 8.3 name");
	}
	aim_strv_free(files);
	is_int(aim_target_list(t, "/slot-none", &files, &n), 0, "list a missing dir");
	is_int((int)n, 0, "empty");
	ok(files && !files[0], "NULL-terminated");
	aim_strv_free(files);
	{
		const char *keep[] = {"Image", NULL};

		is_int(aim_target_prune_slot(t, 'a', keep), 1, "prune removes one file");
		is_int(aim_target_exists(t, "/slot-a/dtb"), 0, "empty directories removed");
		is_int(aim_target_exists(t, "/slot-a/Image"), 1, "kept file stays");
	}
	{
		struct aim_target_file *f = NULL;

		is_int(aim_target_file_begin(t, "/slot-b/Image", &f), 0, "streamed write begins");
		for (int i = 0; i < 100; i++)
			aim_target_file_write(f, "0123456789", 10);
		is_int(aim_target_file_commit(f), 0, "commit");
		is_int(aim_target_read_file(t, "/slot-b/Image", 2000, &buf, &len), 0, "read back");
		ok(len == 1000 && !memcmp(buf + 990, "0123456789", 10), "1000 bytes");
		free(buf);
		buf = NULL;
		is_int(aim_target_file_begin(t, "/slot-b/Aborted", &f), 0, "begin another");
		aim_target_file_write(f, "x", 1);
		aim_target_file_abort(f);
		is_int(aim_target_exists(t, "/slot-b/Aborted"), 0, "aborted file absent");
	}
	is_int(aim_target_remove_file(t, "/slot-b/Image"), 0, "remove");
	is_int(aim_target_remove_file(t, "/slot-b/Image"), -ENOENT, "remove again: -ENOENT");
	aim_target_free(t);
	t = NULL;

	/* corrupt both copies: no valid state, the reason names both */
	sh("cd '%s' && printf 'garbage\\n' > g && MTOOLS_SKIP_CHECK=1 mcopy -o -i '%s@@1048576' g "
	   "::state-1.txt && MTOOLS_SKIP_CHECK=1 mcopy -o -i '%s@@1048576' g ::state-2.txt",
	   dir, img, img);
	is_int(aim_target_open(&o, &t), 0, "reopen");
	aim_error_clear();
	is_int(aim_target_state_load(t, &st), -ENOENT, "two bad copies: -ENOENT");
	ok(has_detail("no valid slot state") && has_detail("copy 1") && has_detail("copy 2"),
	   "detail names both copies");
	aim_target_free(t);
	t = NULL;

	/* A directory in place of state-1.txt, state-2.txt valid: copy 2 decides, the store
	 * replaces the directory with a valid state-1.txt. */
	{
		char rec[AIM_SLOTSTATE_MAX], rp[400];

		aim_slotstate_init(&st);
		st.seq = 7;
		snprintf(rp, sizeof(rp), "%s/rec.txt", dir);
		write_text(rp, aim_slotstate_format(&st, rec) > 0 ? rec : "");
		sh("cd '%s' && export MTOOLS_SKIP_CHECK=1 && mdel -i '%s@@1048576' ::state-1.txt && "
		   "mmd -i '%s@@1048576' ::state-1.txt && mcopy -i '%s@@1048576' g "
		   "::state-1.txt/junk && mcopy -o -i '%s@@1048576' rec.txt ::state-2.txt",
		   dir, img, img, img, img);
	}
	is_int(aim_target_open(&o, &t), 0, "reopen (state-1.txt a directory)");
	aim_error_clear();
	is_int(aim_target_state_load(t, &st), 0, "directory copy 1: state loads");
	is_int(aim_target_state_copy(t), 2, "directory copy 1: copy 2 decides");
	is_int(st.seq, 7, "directory copy 1: seq 7");
	st.seq++;
	is_int(aim_target_state_store(t, &st), 0, "store over the directory copy");
	is_int(aim_target_state_copy(t), 1, "went to copy 1");
	is_int(aim_target_read_file(t, "/state-1.txt", AIM_SLOTSTATE_MAX, &buf, &len), 0,
	       "state-1.txt is a file again");
	free(buf);
	buf = NULL;
	is_int(aim_target_exists(t, "/state-1.txt/junk"), 0, "the directory's content is gone");
	aim_target_free(t);
	t = NULL;
	is_int(aim_target_open(&o, &t), 0, "reopen");
	is_int(aim_target_state_load(t, &got), 0, "reload");
	is_int(aim_target_state_copy(t), 1, "copy 1 is valid and newest");
	is_int(got.seq, 8, "seq 8");
	aim_target_free(t);
	t = NULL;

	o.readonly = 1;
	is_int(aim_target_open(&o, &t), 0, "read-only open");
	aim_error_clear();
	is_int(aim_target_write_file(t, "/x", "", 0), -EROFS, "read-only: write refused");
	aim_target_free(t);
	t = NULL;
	o.readonly = 0;

	/* errors of open */
	snprintf(img, sizeof(img), "%s/none.img", dir);
	aim_error_clear();
	r = aim_target_open(&o, &t);
	is_int(r, -ENOENT, "missing image: -ENOENT");
	ok(has_detail("cannot open"), "detail says cannot open");
	snprintf(img, sizeof(img), "%s/one.img", dir);
	if (make_image(img, 1) == 0) {
		aim_error_clear();
		is_int(aim_target_open(&o, &t), -ENODEV, "one partition: -ENODEV");
		ok(has_detail("not a converted image") && has_detail("2 (slot a)"),
		   "detail names the missing partition");
	}
	snprintf(img, sizeof(img), "%s/blank.img", dir);
	sh("truncate -s 4M '%s'", img);
	aim_error_clear();
	ok(aim_target_open(&o, &t) < 0, "no partition table refused");
	ok(has_detail("no usable partition table"), "detail says so");
}

static void test_device(void)
{
	struct aim_target *t = NULL;
	struct aim_target_opts o = {0};
	struct aim_slotstate st;
	char run[300], boot[300], sysfs[300], devd[300], p[400];
	const char *path;
	uint64_t off, size;

	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(boot, sizeof(boot), "%s/boot", dir);
	snprintf(sysfs, sizeof(sysfs), "%s/sys", dir);
	snprintf(devd, sizeof(devd), "%s/dev", dir);
	mkdir(run, 0755);
	mkdir(boot, 0755);
	/* as the kernel lays it out: class/block/<name> links to the device's directory,
	 * a partition's directory sits in its disk's */
	sh("mkdir -p '%s' && cd '%s' && d=devices/platform/mmc/mmcblk0 && "
	   "mkdir -p $d/mmcblk0p2 $d/mmcblk0p3 class/block && echo 2 > $d/mmcblk0p2/partition && echo 3 > $d/mmcblk0p3/partition "
	   "&& echo 4096 > $d/mmcblk0p3/size && ln -s ../../$d class/block/mmcblk0 && "
	   "ln -s ../../$d/mmcblk0p2 class/block/mmcblk0p2 && "
	   "ln -s ../../$d/mmcblk0p3 class/block/mmcblk0p3",
	   sysfs, sysfs);
	o.run_dir = run;
	o.boot_dir = boot;
	o.sysfs = sysfs;
	o.dev_dir = devd;

	aim_error_clear();
	is_int(aim_target_open(&o, &t), -ENOENT, "device without boot.env: -ENOENT");
	ok(has_detail("not booted by aim-boot"), "detail says not booted by aim-boot");
	snprintf(p, sizeof(p), "%s/boot.env", run);
	write_text(p, "trial=0\n");
	aim_error_clear();
	is_int(aim_target_open(&o, &t), -EBADMSG, "boot.env without slot: -EBADMSG");
	ok(has_detail("no slot=a|b"), "detail names slot=");
	write_text(p, "slot=b\ntrial=1\nmode=tmpfs\nreason=\ndisk=mmcblk0\nroot_dev=mmcblk0p3\n"
		      "boot_dev=mmcblk0p1\nstate_seq=5\n");
	is_int(aim_target_open(&o, &t), 0, "device target opens");
	if (!t)
		return;
	is_int(aim_target_is_image(t), 0, "not an image");
	is_int(aim_target_booted_slot(t), 'b', "booted b");
	is_str(aim_target_boot_env(t, "mode"), "tmpfs", "mode from boot.env");
	is_int(aim_target_slot_dev(t, 'b', &path, &off, &size), 0, "slot b device");
	snprintf(p, sizeof(p), "%s/mmcblk0p3", devd);
	is_str(path, p, "partition 3 of the disk");
	ok(off == 0 && size == 4096 * 512, "offset 0, size from sysfs");
	aim_error_clear();
	is_int(aim_target_slot_dev(t, 'a', &path, &off, &size), -ENOENT, "no size for p2");
	is_int(aim_target_state_load(t, &st), -ENOENT, "no state files: -ENOENT");
	aim_slotstate_init(&st);
	is_int(aim_target_state_store(t, &st), 0, "store without a load: copy 2");
	is_int(aim_target_state_copy(t), 2, "copy 2");
	snprintf(p, sizeof(p), "%s/state-2.txt", boot);
	ok(access(p, F_OK) == 0, "state-2.txt in the boot dir");
	/* state-1.txt a directory (EISDIR on read) while state-2.txt is valid. */
	snprintf(p, sizeof(p), "%s/state-1.txt", boot);
	ok(mkdir(p, 0755) == 0, "device: a directory in place of state-1.txt");
	is_int(aim_target_state_load(t, &st), 0, "device: directory copy 1: state loads");
	is_int(aim_target_state_copy(t), 2, "device: copy 2 decides");
	st.seq++;
	is_int(aim_target_state_store(t, &st), 0, "device: store over the directory copy");
	is_int(aim_target_state_copy(t), 1, "device: went to copy 1");
	{
		struct stat sb;

		ok(stat(p, &sb) == 0 && S_ISREG(sb.st_mode), "device: state-1.txt is a file again");
	}
	is_int(aim_target_state_load(t, &st), 0, "device: reload");
	is_int(aim_target_state_copy(t), 1, "device: copy 1 is valid and newest");
	is_int(aim_target_write_file(t, "/slot-b/dtb/a/b.dtb", "x", 1), 0, "write with parents");
	snprintf(p, sizeof(p), "%s/slot-b/dtb/a/b.dtb", boot);
	ok(access(p, F_OK) == 0, "file in place");
	snprintf(p, sizeof(p), "%s/slot-b/dtb/a/b.dtb.aim-tmp", boot);
	ok(access(p, F_OK) != 0, "no temp file left");
	{
		const char *keep[] = {NULL};

		is_int(aim_target_prune_slot(t, 'b', keep), 1, "prune everything");
		snprintf(p, sizeof(p), "%s/slot-b/dtb", boot);
		ok(access(p, F_OK) != 0, "directories gone");
	}
	/* Sibling subdirectories (dtb/allwinner, dtb/rockchip, ...), as a real slot has:
	 * the parent is emptied of files before its last subdirectory goes. */
	is_int(aim_target_write_file(t, "/slot-b/dtb/allwinner/a.dtb", "x", 1) |
		       aim_target_write_file(t, "/slot-b/dtb/allwinner/b.dtb", "x", 1) |
		       aim_target_write_file(t, "/slot-b/dtb/rockchip/c.dtb", "x", 1) |
		       aim_target_write_file(t, "/slot-b/Image", "x", 1),
	       0, "a nested dtb tree written");
	{
		const char *keep[] = {NULL};

		is_int(aim_target_prune_slot(t, 'b', keep), 4, "prune a nested tree: 4 files");
		snprintf(p, sizeof(p), "%s/slot-b/dtb", boot);
		ok(access(p, F_OK) != 0, "nested directories gone");
	}
	aim_target_free(t);
	t = NULL;
	snprintf(p, sizeof(p), "%s/boot.env", run);
	write_text(p, "slot=a\n");
	o.boot_dir = NULL;
	aim_error_clear();
	is_int(aim_target_open(&o, &t), -EBADMSG, "no boot_dev/disk: -EBADMSG");
	ok(has_detail("boot_dev= and disk="), "detail names the keys");
	write_text(p, "slot=a\ndisk=mmcblk0\nboot_dev=mmcblk0p1\n");
	aim_error_clear();
	is_int(aim_target_open(&o, &t), -ENODEV, "boot partition node missing: -ENODEV");
	ok(has_detail("not a block device"), "detail says not a block device");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-target-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_slot_info();
	test_image();
	test_device();
	sh("rm -rf '%s'", dir);
	return done_testing();
}
