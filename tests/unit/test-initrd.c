// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/initrd: fixtures built with the real tools (cpio -H newc, gzip, zstd, xz, lz4,
 * mkimage), patched, then checked with the real tools again: mkimage -l (CRCs), a
 * byte comparison with mkimage's own uImage of the patched payload, GNU cpio extraction
 * of both archives into one tree (modes, contents, merged-usr symlinks kept), kmod's
 * modprobe --show-depends over the generated modules.dep.bin, and every error path.
 * With the sample rootfs cache (tests/sample/mkbootable.sh) the real Debian initrd is
 * patched too, and our modules.dep.bin is compared byte for byte with depmod's.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initrd.h"
#include "moddep.h"
#include "base/buf.h"
#include "tap.h"
#include "base/log.h"
#include "base/macro.h"

#define KVER "6.1.0-test"
#define EPOCH 1700000000u

static char tmp[256];

static const char *detail(void)
{
	return aim_error_detail() ? aim_error_detail() : "";
}

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char *cmd, *full;
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&full, "cd '%s' && { %s ; }", tmp, cmd) < 0)
		abort();
	r = system(full);
	free(cmd);
	free(full);
	return r;
}

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *b = NULL;
	size_t n = 0, cap = 0, got;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			b = realloc(b, cap);
			if (!b)
				abort();
		}
		got = fread(b + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

static int spit(const char *name, const void *d, size_t len)
{
	char path[512];
	FILE *f;
	int ok_;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	ok_ = fwrite(d, 1, len, f) == len;
	return fclose(f) == 0 && ok_ ? 0 : -1;
}

static unsigned mode_of(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return lstat(path, &st) ? 0 : st.st_mode;
}

/* ---- module dependency closure ---- */

static const char *image_dep =
	"kernel/fs/mbcache.ko:\n"
	"kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
	"kernel/fs/jbd2/jbd2.ko:\n"
	"kernel/lib/crc16.ko:\n"
	/* Debian 6.1 has squashfs.ko with no dependencies (zstd/xz decompressors built
	 * in); a kernel with them as modules lists them all, as depmod does: the full
	 * closure, in reverse load order (kmod loads from the end of the line). */
	"kernel/fs/squashfs/squashfs.ko: kernel/lib/zstd/zstd_decompress.ko "
	"kernel/lib/xz/xz_dec.ko "
	"kernel/lib/zstd/zstd_common.ko\n"
	"kernel/fs/overlayfs/overlay.ko:\n"
	"kernel/lib/zstd/zstd_decompress.ko: kernel/lib/zstd/zstd_common.ko\n"
	"kernel/lib/zstd/zstd_common.ko:\n"
	"kernel/lib/zstd/zstd_compress.ko: kernel/lib/zstd/zstd_common.ko\n"
	"kernel/lib/xz/xz_dec.ko:\n"
	"kernel/fs/btrfs/btrfs.ko: kernel/crypto/xor.ko kernel/lib/raid6/raid6_pq.ko "
	"kernel/lib/zstd/zstd_compress.ko kernel/lib/libcrc32c.ko\n"
	"kernel/crypto/xor.ko:\n"
	"kernel/lib/raid6/raid6_pq.ko:\n"
	"kernel/lib/libcrc32c.ko:\n"
	"kernel/drivers/md/dm-mod.ko: kernel/drivers/dax/dax.ko\n"
	"kernel/drivers/dax/dax.ko:\n";

static char *joinv(char **v)
{
	static char s[2048];

	s[0] = 0;
	for (; v && *v; v++) {
		strcat(s, *v);
		if (v[1])
			strcat(s, " ");
	}
	return s;
}

static void test_module_deps(void)
{
	const char *want[] = { "squashfs", "overlay", NULL };
	const char *dm[] = { "dm-mod", "dm_mod", NULL };
	const char *bi[] = { "squashfs", "overlay", "vfat", NULL };
	const char *missing[] = { "overlay", "nosuchfs", NULL };
	const char *compressed =
		"kernel/fs/squashfs/squashfs.ko.xz: kernel/lib/zstd/zstd_decompress.ko.zst\n"
		"kernel/lib/zstd/zstd_decompress.ko.zst: kernel/lib/zstd/zstd_common.ko.zst\n"
				 "kernel/lib/zstd/zstd_common.ko.zst:\n"
				 "kernel/fs/overlayfs/overlay.ko.gz:\n";
	char **v = NULL;
	char nm[64];

	is_int(aim_kmod_deps(image_dep, NULL, want, &v), 0,
	       "module_deps squashfs overlay");
	is_str(joinv(v), "kernel/lib/zstd/zstd_common.ko kernel/lib/zstd/zstd_decompress.ko "
			 "kernel/lib/xz/xz_dec.ko kernel/fs/squashfs/squashfs.ko "
			 "kernel/fs/overlayfs/overlay.ko",
	       "transitive closure, dependencies first, each once");
	aim_strv_free(v);

	is_int(aim_kmod_deps("k/sq.ko: k/zd.ko\nk/zd.ko: k/zc.ko\nk/zc.ko:\nk/ov.ko:\n",
				      NULL, (const char *[]){ "sq", NULL }, &v),
	       0, "module_deps over direct-only lines");
	is_str(joinv(v), "k/zc.ko k/zd.ko k/sq.ko", "the closure recurses");
	aim_strv_free(v);

	is_int(aim_kmod_deps(compressed, NULL, want, &v), 0,
	       ".ko.xz/.ko.zst/.ko.gz names");
	is_str(joinv(v), "kernel/lib/zstd/zstd_common.ko.zst "
			 "kernel/lib/zstd/zstd_decompress.ko.zst "
			 "kernel/fs/squashfs/squashfs.ko.xz kernel/fs/overlayfs/overlay.ko.gz",
	       "compressed module names resolved");
	aim_strv_free(v);

	is_int(aim_kmod_deps(image_dep, NULL, dm, &v), 0, "dm-mod / dm_mod");
	is_str(joinv(v), "kernel/drivers/dax/dax.ko kernel/drivers/md/dm-mod.ko",
	       "'-' and '_' are the same module, listed once");
	aim_strv_free(v);

	is_int(aim_kmod_deps("kernel/fs/overlayfs/overlay.ko:\n",
				      "kernel/fs/squashfs/squashfs.ko\nkernel/fs/fat/vfat.ko\n", bi,
				      &v),
	       0, "built-in squashfs and vfat");
	is_str(joinv(v), "kernel/fs/overlayfs/overlay.ko", "built-in modules are skipped");
	aim_strv_free(v);

	v = NULL;
	is_int(aim_kmod_deps(image_dep, NULL, missing, &v), -ENOENT, "unknown module");
	ok(strstr(detail(), "nosuchfs"), "detail names it (%s)", detail());
	ok(v == NULL, "nothing returned on error");
	is_int(aim_kmod_deps("a/x.ko: a/gone.ko\n", NULL, (const char *[]){ "x", NULL },
				      &v),
	       -ENOENT, "dependency without a line");
	ok(strstr(detail(), "a/gone.ko"), "detail names the dependency (%s)", detail());
	is_int(aim_kmod_deps("a/x.ko: a/y.ko\na/y.ko: a/x.ko\n", NULL,
				      (const char *[]){ "x", NULL }, &v),
	       -ELOOP, "a dependency cycle is refused");
	ok(strstr(detail(), "cycle") && strstr(detail(), "a/x.ko"), "detail: %s", detail());

	is_int(aim_kmod_modname("kernel/fs/nls/nls-utf8.ko.zst", nm, sizeof(nm)), 0, "modname");
	is_str(nm, "nls_utf8", "modname strips .ko.zst and maps '-'");
	is_int(aim_kmod_modname("kernel/fs/readme.txt", nm, sizeof(nm)), -EINVAL,
	       "modname refuses a non-module");
}

/* ---- fixtures ---- */

static const char *orig_order = "/scripts/local-bottom/ntfs_3g_detect \"$@\"\n"
				"[ -e /conf/param.conf ] && . /conf/param.conf\n";
static const char *orig_dep = "kernel/fs/mbcache.ko:\n"
			      "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko "
			      "kernel/fs/jbd2/jbd2.ko\n"
			      "kernel/fs/jbd2/jbd2.ko:\n"
			      "kernel/lib/crc16.ko:\n";

/* An initramfs-tools shaped tree (merged-usr symlinks, ORDER, modules.dep, conf/modules)
 * in $tmp/root, archived like mkinitramfs does into $tmp/initrd.cpio. */
static int make_fixture(void)
{
	int r = sh("rm -rf root && mkdir -p root/usr/lib/modules/" KVER "/kernel/fs/ext4 "
		   "root/usr/sbin root/usr/bin root/scripts/local-bottom root/conf && "
		   "ln -s usr/lib root/lib && ln -s usr/sbin root/sbin && "
		   "ln -s usr/bin root/bin && "
		   "echo '#!/bin/sh' > root/init && chmod 755 root/init && "
		   "echo 'modprobe binary' > root/usr/sbin/modprobe-placeholder && "
		   "echo ext4 > root/usr/lib/modules/" KVER "/kernel/fs/ext4/ext4.ko && "
		   "mkdir -p root/usr/lib/modules/" KVER "/kernel/fs/jbd2 "
		   "root/usr/lib/modules/" KVER "/kernel/lib/ && cd root/usr/lib/modules/" KVER
		   " && touch kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko && "
		   "cd - >/dev/null && "
		   "printf 'virtio_blk \\next4 \\n' > root/conf/modules && "
		   "echo '#!/bin/sh' > root/scripts/local-bottom/ntfs_3g_detect && "
		   "chmod 755 root/scripts/local-bottom/ntfs_3g_detect");

	if (r)
		return r;
	if (spit("root/scripts/local-bottom/ORDER", orig_order, strlen(orig_order)) ||
	    spit("root/usr/lib/modules/" KVER "/modules.dep", orig_dep, strlen(orig_dep)))
		return -1;
	return sh("cd root && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > "
		  "../initrd.cpio");
}

static const char aim_boot[] = "\x7f" "ELF fake static aim-boot\n";
static char *script;
static size_t script_len;

static struct aim_initrd_file mods[] = {
	{ "kernel/lib/zstd/zstd_common.ko", "ZSTD_COMMON\n", 12 },
	{ "kernel/lib/zstd/zstd_decompress.ko", "ZSTD_DECOMPRESS\n", 16 },
	{ "kernel/lib/xz/xz_dec.ko", "XZ_DEC\n", 7 },
	{ "kernel/fs/squashfs/squashfs.ko", "SQUASHFS\n", 9 },
	{ "kernel/fs/overlayfs/overlay.ko", "OVERLAY\n", 8 },
};
static const char *load[] = { "squashfs", "overlay", NULL };

static struct aim_initrd_add add_default(void)
{
	return (struct aim_initrd_add){
		.kver = KVER,
		.aim_boot = aim_boot,
		.aim_boot_len = sizeof(aim_boot) - 1,
		.local_bottom = script,
		.local_bottom_len = script_len,
		.modules = mods,
		.n_modules = 5,
		.modules_dep = image_dep,
		.load = load,
		.mtime = EPOCH,
	};
}

/* Patches in to out with aim_initrd_patch(), and checks that the streaming
 * aim_initrd_patch_fd() gives the same result and the same bytes. */
static int patch_file(const char *in, const char *out, const struct aim_initrd_add *add)
{
	size_t len = 0, olen = 0, flen = 0;
	char *buf = slurp(in, &len), *fbuf, ip[600], op[600];
	void *o = NULL;
	uint64_t written = 0;
	int r, rf, in_fd, out_fd;

	if (!buf)
		return -ENOENT;
	snprintf(ip, sizeof(ip), in[0] == '/' ? "%.0s%s" : "%s/%s", tmp, in);
	snprintf(op, sizeof(op), "%s/fd.out", tmp);
	in_fd = open(ip, O_RDONLY | O_CLOEXEC);
	out_fd = open(op, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rf = aim_initrd_patch_fd(in_fd, out_fd, add, &written);
	close(in_fd);
	close(out_fd);
	r = aim_initrd_patch(buf, len, add, &o, &olen);
	free(buf);
	fbuf = slurp("fd.out", &flen);
	ok(rf == r && (r < 0 || (flen == olen && written == olen && !memcmp(fbuf, o, olen))),
	   "%s: the streaming patch gives the same (%d, %zu bytes)", in, rf, flen);
	free(fbuf);
	if (r == 0 && spit(out, o, olen))
		r = -EIO;
	free(o);
	return r;
}

/* Extracts both archives of a raw patched payload into dir: the original with the
 * decompressor, ours with GNU cpio from its (4-aligned) offset after the original. */
static int extract(const char *payload, size_t orig_len, const char *decomp, const char *dir)
{
	size_t off = (orig_len + 3) / 4 * 4;

	return sh("rm -rf %s && mkdir %s && head -c %zu %s | %s | (cd %s && cpio --quiet -idm) && "
		  "tail -c +%zu %s > %s.ours && (cd %s && cpio --quiet -idmu < ../%s.ours)",
		  dir, dir, orig_len, payload, decomp, dir, off + 1, payload, dir, dir, dir);
}

static void check_tree(const char *dir, const char *what)
{
	char p[256];
	char *s;
	size_t n;

#define P(x) (snprintf(p, sizeof(p), "%s/%s", dir, x), p)
	ok(S_ISLNK(mode_of(P("lib"))) && S_ISLNK(mode_of(P("sbin"))),
	   "%s: merged-usr symlinks lib, sbin still symlinks", what);
	s = slurp(P("sbin/aim-boot"), &n);
	ok(s && n == sizeof(aim_boot) - 1 && !memcmp(s, aim_boot, n), "%s: /sbin/aim-boot content",
	   what);
	free(s);
	is_int(mode_of(P("usr/sbin/aim-boot")), S_IFREG | 0755, "%s: aim-boot 0755 in usr/sbin",
	       what);
	s = slurp(P("scripts/local-bottom/armimmutable"), &n);
	ok(s && n == script_len && !memcmp(s, script, n), "%s: local-bottom script content", what);
	free(s);
	is_int(mode_of(P("scripts/local-bottom/armimmutable")), S_IFREG | 0755,
	       "%s: local-bottom script 0755", what);
	s = slurp(P("scripts/local-bottom/ntfs_3g_detect"), NULL);
	ok(s != NULL, "%s: the original's local-bottom script is still there", what);
	free(s);
	s = slurp(P("scripts/local-bottom/ORDER"), NULL);
	is_str(s, "/scripts/local-bottom/ntfs_3g_detect \"$@\"\n"
		  "[ -e /conf/param.conf ] && . /conf/param.conf\n"
		  "/scripts/local-bottom/armimmutable \"$@\"\n"
		  "[ -e /conf/param.conf ] && . /conf/param.conf\n",
	       "%s: ORDER keeps the original lines and adds ours", what);
	free(s);
	s = slurp(P("lib/modules/" KVER "/modules.dep"), NULL);
	is_str(s, "kernel/fs/mbcache.ko:\n"
		  "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko "
		  "kernel/fs/jbd2/jbd2.ko\n"
		  "kernel/fs/jbd2/jbd2.ko:\n"
		  "kernel/lib/crc16.ko:\n"
		  "kernel/lib/zstd/zstd_common.ko:\n"
		  "kernel/lib/zstd/zstd_decompress.ko: kernel/lib/zstd/zstd_common.ko\n"
		  "kernel/lib/xz/xz_dec.ko:\n"
		  "kernel/fs/squashfs/squashfs.ko: kernel/lib/zstd/zstd_decompress.ko "
		  "kernel/lib/xz/xz_dec.ko kernel/lib/zstd/zstd_common.ko\n"
		  "kernel/fs/overlayfs/overlay.ko:\n",
	       "%s: modules.dep = original + the image's lines for the added modules", what);
	free(s);
	s = slurp(P("lib/modules/" KVER "/kernel/fs/squashfs/squashfs.ko"), NULL);
	is_str(s, "SQUASHFS\n", "%s: squashfs.ko content", what);
	free(s);
	s = slurp(P("lib/modules/" KVER "/kernel/fs/ext4/ext4.ko"), NULL);
	is_str(s, "ext4\n", "%s: original module untouched", what);
	free(s);
	s = slurp(P("conf/modules"), NULL);
	is_str(s, "virtio_blk \next4 \nsquashfs\noverlay\n", "%s: /conf/modules loads ours too",
	       what);
	free(s);
#undef P
}

static int show_depends(const char *dir, const char *kver, const char *mod, char *out,
			size_t size)
{
	char cmd[1024];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && modprobe -d \"$PWD/%s\" -S %s --show-depends %s 2>&1 | "
		 "sed \"s#$PWD/%s##\"",
		 tmp, dir, kver, mod, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, size - 1, f);
	out[n] = 0;
	return pclose(f);
}

static bool have(const char *tool)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "command -v %s >/dev/null 2>&1 || test -x /sbin/%s || test -x /usr/sbin/%s", tool,
		 tool, tool);
	return system(cmd) == 0;
}

static void test_uimage(void)
{
	struct aim_initrd_add add = add_default();
	size_t glen = 0, olen = 0, olen2 = 0;
	char *o1, *o2, *s;
	char out[4096];

	ok(sh("gzip -9n < initrd.cpio > initrd.gz && SOURCE_DATE_EPOCH=%u mkimage -A arm64 -O "
	      "linux -T ramdisk -C gzip -n uInitrd -d initrd.gz uInitrd > /dev/null",
	      EPOCH) == 0,
	   "fixture: gzip cpio wrapped by mkimage");
	free(slurp("initrd.gz", &glen));
	is_int(patch_file("uInitrd", "uInitrd.new", &add), 0, "patch the uInitrd");
	is_int(sh("mkimage -l uInitrd.new > list.txt 2>&1"), 0, "mkimage -l accepts the result");
	s = slurp("list.txt", NULL);
	ok(s && strstr(s, "uInitrd") && strstr(s, "RAMDisk Image") && strstr(s, "gzip"),
	   "mkimage -l: name, type and compression kept");
	free(s);
	ok(sh("tail -c +65 uInitrd.new > payload && SOURCE_DATE_EPOCH=%u mkimage -A arm64 -O linux "
	      "-T ramdisk -C gzip -n uInitrd -d payload ref > /dev/null && cmp -s ref uInitrd.new",
	      EPOCH) == 0,
	   "byte-identical to mkimage's uImage of the same payload and time");
	o1 = slurp("payload", &olen);
	ok(o1 && olen > glen, "payload grew");
	if (o1 && olen > glen) {
		size_t off = (glen + 3) / 4 * 4;
		bool zeros = true;

		for (size_t i = glen; i < off; i++)
			zeros = zeros && o1[i] == 0;
		ok(zeros && !memcmp(o1 + off, "070701", 6),
		   "our archive starts at 4-aligned offset %zu of the payload after zeros", off);
		s = slurp("initrd.gz", NULL);
		ok(s && !memcmp(o1, s, glen), "the original payload is unchanged in front");
		free(s);
	}
	free(o1);
	is_int(extract("payload", glen, "zcat", "x"), 0,
	       "extract both archives with zcat and cpio");
	check_tree("x", "uInitrd");
	is_int(sh("cpio -itv < x.ours > ours.lst 2>/dev/null"), 0, "cpio -itv lists our archive");
	s = slurp("ours.lst", NULL);
	ok(s && !strstr(s, " lib\n") && !strstr(s, " sbin\n") && strstr(s, "usr/sbin/aim-boot") &&
		   strstr(s, "usr/lib/modules/" KVER "/kernel/fs/squashfs\n") &&
		   strstr(s, "-rwxr-xr-x   1 root     root           26 Nov 14  2023 "
			     "usr/sbin/aim-boot"),
	   "our archive: paths through the symlinks, no entry for lib/sbin, root-owned, mtime");
	ok(s && strstr(s, "drwxr-xr-x   2 root     root            0 Nov 14  2023 "
			  "usr/lib/modules/" KVER "/kernel/lib/zstd") &&
		   !strstr(s, "usr/lib/modules/" KVER "/kernel/fs\n") &&
		   !strstr(s, "usr/lib/modules/" KVER "/kernel/lib\n"),
	   "directories only for paths the original lacks, 0755");
	free(s);

	if (have("modprobe")) {
		is_int(show_depends("x", KVER, "squashfs", out, sizeof(out)), 0,
		       "kmod modprobe --show-depends squashfs on the patched tree");
		is_str(out, "insmod /lib/modules/" KVER "/kernel/lib/zstd/zstd_common.ko \n"
			    "insmod /lib/modules/" KVER "/kernel/lib/xz/xz_dec.ko \n"
			    "insmod /lib/modules/" KVER "/kernel/lib/zstd/zstd_decompress.ko \n"
			    "insmod /lib/modules/" KVER "/kernel/fs/squashfs/squashfs.ko \n",
		       "kmod finds squashfs and its dependencies in our modules.dep.bin");
		is_int(show_depends("x", KVER, "overlay", out, sizeof(out)), 0, "modprobe overlay");
		is_int(show_depends("x", KVER, "ext4", out, sizeof(out)), 0,
		       "modprobe ext4 (an original module) still resolves");
		ok(strstr(out, "kernel/fs/jbd2/jbd2.ko"), "ext4's dependencies still listed");
	} else {
		for (int i = 0; i < 5; i++)
			ok(1, "# SKIP kmod's modprobe not installed");
	}

	/* deterministic */
	o1 = slurp("uInitrd.new", &olen);
	is_int(patch_file("uInitrd", "uInitrd.new2", &add), 0, "patch again");
	o2 = slurp("uInitrd.new2", &olen2);
	ok(o1 && o2 && olen == olen2 && !memcmp(o1, o2, olen), "same input, same bytes");
	free(o1);
	free(o2);

	/* patching a patched image does not add our ORDER line twice */
	is_int(patch_file("uInitrd.new", "uInitrd.twice", &add), 0, "patch a patched uInitrd");
	ok(sh("tail -c +65 uInitrd.twice > payload2 && rm -rf y && mkdir y && cd y && "
	      "zcat ../payload2 2>/dev/null | cpio --quiet -idm; "
	      "tail -c +$(( ($(stat -c %%s ../initrd.gz) + 3) / 4 * 4 + 1 )) ../payload2 | "
	      "cpio --quiet -idmu && "
	      "test $(grep -c armimmutable scripts/local-bottom/ORDER) = 1") == 0,
	   "our ORDER line appears once after two patches (last archive read)");
}

static void test_raw_variants(void)
{
	struct aim_initrd_add add = add_default();
	struct {
		const char *name, *make, *decomp;
	} v[] = {
		{ "zstd", "zstd -q -19 < initrd.cpio > raw.in", "zstd -dc" },
		{ "xz", "xz --check=crc32 -9 < initrd.cpio > raw.in", "xz -dc" },
		{ "gzip", "gzip -9n < initrd.cpio > raw.in", "zcat" },
		{ "none", "cp initrd.cpio raw.in", "cat" },
		{ "early cpio + gzip",
		  "mkdir -p early/kernel/firmware && echo ucode > early/kernel/firmware/x.bin && "
		  "(cd early && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) "
		  "> raw.in && "
		  "gzip -9n < initrd.cpio >> raw.in",
		  NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		size_t len = 0;
		char dir[32];

		snprintf(dir, sizeof(dir), "raw%zu", i);
		is_int(sh("%s", v[i].make), 0, "fixture: raw %s initramfs", v[i].name);
		free(slurp("raw.in", &len));
		is_int(patch_file("raw.in", "raw.out", &add), 0, "patch raw %s initramfs",
		       v[i].name);
		if (!v[i].decomp) {
			/* the early archive is uncompressed: cpio -i stops at its trailer;
			 * extract the gzip member by offset */
			is_int(sh("rm -rf %s && mkdir %s && size=$(stat -c %%s initrd.cpio) && "
				  "early=$(( $(stat -c %%s raw.in) - "
				  "$(gzip -9n < initrd.cpio | wc -c) )) && "
				  "tail -c +$((early + 1)) raw.out | zcat 2>/dev/null | "
				  "(cd %s && cpio --quiet -idm); "
				  "tail -c +$(( (%zu + 3) / 4 * 4 + 1 )) raw.out > %s.ours && "
				  "(cd %s && cpio --quiet -idmu < ../%s.ours)",
				  dir, dir, dir, len, dir, dir, dir),
			       0, "extract early + gzip + ours");
		} else {
			is_int(extract("raw.out", len, v[i].decomp, dir), 0, "extract raw %s",
			       v[i].name);
		}
		check_tree(dir, v[i].name);
	}
}

static void test_bare_initramfs(void)
{
	struct aim_initrd_add add = add_default();
	char *s;

	/* no scripts/, no modules, no conf/modules, no merged-usr */
	add.n_modules = 0;
	ok(sh("rm -rf bare && mkdir -p bare && echo '#!/bin/sh' > bare/init && "
	      "(cd bare && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | "
	      "gzip -n > bare.gz") == 0,
	   "fixture: bare initramfs");
	is_int(patch_file("bare.gz", "bare.out", &add), 0, "patch a bare initramfs (no modules)");
	ok(sh("size=$(stat -c %%s bare.gz) && rm -rf bx && mkdir bx && "
	      "tail -c +$(( (size + 3) / 4 * 4 + 1 )) bare.out | "
	      "(cd bx && cpio --quiet -idm)") == 0,
	   "extract our archive");
	s = slurp("bx/scripts/local-bottom/ORDER", NULL);
	is_str(s, "/scripts/local-bottom/armimmutable \"$@\"\n"
		  "[ -e /conf/param.conf ] && . /conf/param.conf\n",
	       "ORDER with only our script");
	free(s);
	is_int(mode_of("bx/scripts"), S_IFDIR | 0755, "scripts/ created 0755");
	is_int(mode_of("bx/sbin"), S_IFDIR | 0755, "sbin/ created (no symlink to follow)");
	is_int(mode_of("bx/sbin/aim-boot"), S_IFREG | 0755, "sbin/aim-boot 0755");
	s = slurp("bx/conf/modules", NULL);
	is_str(s, "squashfs\noverlay\n", "conf/modules with ours only");
	free(s);
	ok(mode_of("bx/lib") == 0, "no lib/ without modules");
}

static void test_errors(void)
{
	struct aim_initrd_add add = add_default();
	size_t len = 0;
	char *u = slurp("uInitrd", &len), *bad;
	void *o = NULL;
	size_t olen = 0;

	if (!u) {
		ok(0, "uInitrd fixture");
		return;
	}
	bad = malloc(len);
	memcpy(bad, u, len);
	bad[40] ^= 1; /* name */
	is_int(aim_initrd_patch(bad, len, &add, &o, &olen), -EBADMSG, "bad header CRC refused");
	ok(strstr(detail(), "header CRC"), "detail: %s", detail());
	memcpy(bad, u, len);
	bad[len - 5] ^= 1;
	is_int(aim_initrd_patch(bad, len, &add, &o, &olen), -EBADMSG, "bad data CRC refused");
	ok(strstr(detail(), "data CRC"), "detail: %s", detail());
	is_int(aim_initrd_patch(u, len - 10, &add, &o, &olen), -EBADMSG,
	       "truncated uImage refused");
	ok(strstr(detail(), "truncated") && strstr(detail(), "data bytes"), "detail: %s", detail());
	is_int(aim_initrd_patch(u, 40, &add, &o, &olen), -EBADMSG, "truncated header refused");
	ok(strstr(detail(), "truncated"), "detail: %s", detail());
	free(bad);
	free(u);

	is_int(sh("SOURCE_DATE_EPOCH=1 mkimage -A arm64 -O linux -T kernel -C none -n k "
		  "-d initrd.gz "
		  "kern.img >/dev/null"),
	       0, "fixture: kernel-type uImage");
	is_int(patch_file("kern.img", "x.out", &add), -EOPNOTSUPP, "non-ramdisk uImage refused");
	ok(strstr(detail(), "not a ramdisk"), "detail: %s", detail());

	if (have("lz4")) {
		is_int(sh("lz4 -q -9 -l < initrd.cpio > lz4.raw && "
			  "SOURCE_DATE_EPOCH=1 mkimage -A arm64 "
			  "-O linux -T ramdisk -C gzip -n uInitrd -d lz4.raw lz4.img >/dev/null"),
		       0, "fixture: lz4 (legacy, as initramfs-tools makes it) initramfs");
		is_int(patch_file("lz4.img", "x.out", &add), -EOPNOTSUPP, "lz4 uInitrd refused");
		ok(strstr(detail(), "lz4"), "detail names lz4: %s", detail());
		is_int(patch_file("lz4.raw", "x.out", &add), -EOPNOTSUPP, "raw lz4 refused");
	} else {
		for (int i = 0; i < 4; i++)
			ok(1, "# SKIP lz4 not installed");
	}
	is_int(sh("bzip2 -9 < initrd.cpio > bz.raw"), 0, "fixture: bzip2 initramfs");
	is_int(patch_file("bz.raw", "x.out", &add), -EOPNOTSUPP, "bzip2 refused");
	ok(strstr(detail(), "bzip2"), "detail names bzip2: %s", detail());

	is_int(sh("head -c 300 initrd.gz > trunc.gz"), 0, "fixture: truncated gzip");
	is_int(patch_file("trunc.gz", "x.out", &add), -EBADMSG, "truncated gzip member refused");
	ok(strstr(detail(), "gzip") && strstr(detail(), "truncated"), "detail: %s", detail());
	is_int(sh("head -c 1000 initrd.cpio > trunc.cpio"), 0, "fixture: truncated cpio");
	is_int(patch_file("trunc.cpio", "x.out", &add), -EBADMSG, "truncated cpio refused");
	ok(strstr(detail(), "truncated"), "detail: %s", detail());
	is_int(sh("printf 'hello world, not an initramfs' > junk"), 0, "fixture: junk");
	is_int(patch_file("junk", "x.out", &add), -EBADMSG, "junk refused");
	ok(strstr(detail(), "unrecognised"), "detail: %s", detail());

	add.modules_dep = "kernel/fs/overlayfs/overlay.ko:\n";
	is_int(patch_file("initrd.gz", "x.out", &add), -EINVAL,
	       "module missing from the image's modules.dep refused");
	ok(strstr(detail(), "zstd_common.ko"), "detail names the module: %s", detail());
	add = add_default();
	add.n_modules = 4; /* squashfs without ... overlay is fine, drop xz_dec instead */
	{
		struct aim_initrd_file m[] = { mods[0], mods[1], mods[3] };

		add.modules = m;
		add.n_modules = 3;
		is_int(patch_file("initrd.gz", "x.out", &add), -EINVAL,
		       "a dependency neither added nor present refused");
		ok(strstr(detail(), "xz_dec.ko"), "detail names the dependency: %s", detail());
	}
	add = add_default();
	add.kver = NULL;
	is_int(patch_file("initrd.gz", "x.out", &add), -EINVAL, "missing kver refused");
	ok(strstr(detail(), "kver"), "detail: %s", detail());
}

/* The real Debian initrd from the sample rootfs cache, when there is one. */
static void test_real(void)
{
	const char *cache = getenv("AIM_CACHE") ? getenv("AIM_CACHE") : "/var/cache/armimmutable";
	char pat[512], out[4096];
	glob_t g;
	struct aim_initrd_add add = add_default();
	const char *want[] = { "squashfs", "overlay", NULL };
	struct aim_initrd_file m[8];
	char **deps = NULL, *dep, *bin, *ours;
	size_t n = 0, blen = 0, olen = 0;
	void *ob = NULL;
	int i = 0;

	snprintf(pat, sizeof(pat), "%s/rootfs-*.tar", cache);
	if (glob(pat, 0, NULL, &g) || !g.gl_pathc || !have("modprobe")) {
		for (int k = 0; k < 8; k++)
			ok(1, "# SKIP no sample rootfs cache or no kmod");
		return;
	}
	ok(sh("tar xf '%s' --wildcards './boot/initrd.img-*' './usr/lib/modules/*/modules.dep' "
	      "'./usr/lib/modules/*/modules.builtin' './usr/lib/modules/*/kernel/fs/squashfs/*' "
	      "'./usr/lib/modules/*/kernel/fs/overlayfs/*' && "
	      "basename boot/initrd.img-* | sed 's/^initrd.img-//' > kver",
	      g.gl_pathv[0]) == 0,
	   "real initrd, modules.dep and modules from %s", g.gl_pathv[0]);
	globfree(&g);
	dep = slurp("kver", NULL);
	if (!dep) {
		ok(0, "kver");
		return;
	}
	dep[strcspn(dep, "\n")] = 0;
	add.kver = dep;
	snprintf(pat, sizeof(pat), "usr/lib/modules/%s/modules.dep", dep);
	add.modules_dep = slurp(pat, NULL);
	snprintf(pat, sizeof(pat), "usr/lib/modules/%s/modules.builtin", dep);
	ours = slurp(pat, NULL);
	is_int(aim_kmod_deps(add.modules_dep, ours, want, &deps), 0,
	       "module_deps on the real modules.dep: %s", joinv(deps));
	free(ours);
	for (i = 0; deps && deps[i] && i < 8; i++) {
		snprintf(pat, sizeof(pat), "usr/lib/modules/%s/%s", dep, deps[i]);
		m[i] = (struct aim_initrd_file){ deps[i], slurp(pat, &n), 0 };
		m[i].len = n;
	}
	add.modules = m;
	add.n_modules = (size_t)i;
	snprintf(pat, sizeof(pat), "boot/initrd.img-%s", dep);
	is_int(patch_file(pat, "real.out", &add), 0, "patch the real Debian initrd: %s", detail());
	is_int(sh("rm -rf rx && mkdir rx && size=$(stat -c %%s %s) && "
		  "zcat %s | (cd rx && cpio --quiet -idm) && "
		  "cp rx/usr/lib/modules/%s/modules.dep.bin depmod.bin && "
		  "tail -c +$(( (size + 3) / 4 * 4 + 1 )) real.out | (cd rx && cpio --quiet -idmu)",
		  pat, pat, dep),
	       0, "extract the real initrd and our archive");
	ok(S_ISLNK(mode_of("rx/lib")) && S_ISLNK(mode_of("rx/sbin")) &&
		   S_ISLNK(mode_of("rx/sbin/modprobe")),
	   "real: lib, sbin and sbin/modprobe still symlinks");
	snprintf(pat, sizeof(pat), "rx/usr/lib/modules/%s/modules.dep", dep);
	ours = slurp(pat, NULL);
	/* depmod's own index of the original modules.dep vs ours of the same text */
	bin = slurp("depmod.bin", &blen);
	{
		char *orig = NULL;
		size_t k;

		/* the original text is our file minus the lines we appended */
		if (ours) {
			orig = strdup(ours);
			for (k = 0; deps && deps[k]; k++) {
				char *l = strstr(orig, deps[k]);

				if (l && (l == orig || l[-1] == '\n'))
					*l = 0;
			}
		}
		ok(orig && aim_kmod_depbin(orig, &ob, &olen) == 0 && bin && olen == blen &&
			   !memcmp(ob, bin, blen),
		   "our modules.dep.bin of the original text == depmod's (%zu bytes)", blen);
		free(orig);
	}
	free(ob);
	free(bin);
	free(ours);
	is_int(show_depends("rx", dep, "squashfs", out, sizeof(out)), 0,
	       "kmod resolves squashfs in the patched real initrd");
	ok(strstr(out, "kernel/fs/squashfs/squashfs.ko"), "squashfs.ko: %s", out);
	is_int(show_depends("rx", dep, "overlay", out, sizeof(out)), 0, "and overlay");
	for (int k = 0; k < i; k++)
		free((void *)m[k].data);
	aim_strv_free(deps);
	free((void *)add.modules_dep);
	free(dep);
}

int main(void)
{
	const char *top = getenv("AIM_TOP"), *t = getenv("TMPDIR");
	char path[512], cwd[256];

	snprintf(tmp, sizeof(tmp), "%s/test-initrd-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	snprintf(path, sizeof(path), "%s/hooks/initramfs-tools/scripts/local-bottom/armimmutable",
		 top ? top : getcwd(cwd, sizeof(cwd)));
	script = slurp(path, &script_len);
	ok(script && strstr(script, "aim-boot overlay"), "the real local-bottom script read");
	if (!script) {
		script = strdup("#!/bin/sh\n");
		script_len = strlen(script);
	}
	test_module_deps();
	is_int(make_fixture(), 0, "fixture: initramfs-tools shaped tree and newc archive");
	test_uimage();
	test_raw_variants();
	test_bare_initramfs();
	test_errors();
	test_real();
	free(script);
	ok(getenv("KEEP") || sh("cd / && rm -rf '%s'", tmp) == 0, "temporary directory removed");
	return done_testing();
}
