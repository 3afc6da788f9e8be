/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The slot step (see slot.h and docs/convert.md): root tree from ext4, transforms, the
 * image's /boot staged once per slot (lib/bootfiles.h, or mcopy from a FAT /boot) with the
 * A/B boot chain and the patched initramfs files, squashfs into the caller's sink, read
 * back once for slot.env (lib/slotenv.h) and slot B's copy.
 */
#include "slot.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootfiles.h"
#include "bootscript.h"
#include "delta-index.h"
#include "ext4.h"
#include "extlinux.h"
#include "grubboot.h"
#include "grubcfg.h"
#include "mtools.h"
#include "rpi.h"
#include "sign.h"
#include "slotenv.h"
#include "slotstate.h"
#include "transform.h"
#include "tree.h"
#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "util/copy.h"
#include "util/sha256.h"

static int is_fat_boot(const struct aim_image_info *ii)
{
	return ii->boot >= 0 && !strcmp(ii->part[ii->boot].fstype, "vfat");
}

/* The FAT partition whose files are each slot's boot files: a FAT /boot, or the
 * Raspberry Pi firmware partition (docs/rpi.md); -1 when the boot files come from /boot. */
static int fat_boot_part(const struct aim_image_info *ii)
{
	if (ii->boot_method == AIM_BOOT_RPI && ii->esp >= 0)
		return ii->esp;
	return is_fat_boot(ii) ? ii->boot : -1;
}

/* A path a child process can open: /proc/self/ means us, not the child. */
static void child_path(const char *path, char *buf, size_t n)
{
	if (!strncmp(path, "/proc/self/", 11))
		snprintf(buf, n, "/proc/%d/%s", (int)getpid(), path + 11);
	else
		snprintf(buf, n, "%s", path);
}

static int du_cb(const char *p, const struct stat *st, int flag, struct FTW *f);
static uint64_t du_total;
static int du_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p, (void)f;
	if (flag == FTW_F)
		du_total += (uint64_t)st->st_size;
	return 0;
}

/* A FAT /boot partition (Amlogic TV boxes, TI K3): its files, once per slot. */
static int stage_fat_boot(const char *in_path, const struct aim_image_info *ii,
			  const char *stage, int slot_b, uint64_t *ret_content)
{
	const struct aim_part *bp = &ii->pt.parts[fat_boot_part(ii)];
	char dst[4200], src[4096];
	int r;

	child_path(in_path, src, sizeof(src));
	for (int s = 0; s < (slot_b ? 2 : 1); s++) {
		snprintf(dst, sizeof(dst), "%s/slot-%c", stage, 'a' + s);
		if (mkdir(dst, 0755) < 0)
			return -errno;
		r = aim_mtools_l(src, bp->start, "mcopy", "-s", "-p", "-m", "-n", "-Q", "::*", dst,
				 NULL);
		if (r < 0)
			return r;
	}
	du_total = 0;
	nftw(stage, du_cb, 16, FTW_PHYS);
	*ret_content = du_total;
	return 0;
}

static int load_boot_tree(const char *in_path, const struct aim_image_info *ii,
			  struct aim_tree *root, struct aim_ext4 **ret_bfs, struct aim_tree **ret)
{
	const struct aim_part *bp;
	struct aim_node *b;
	int r;

	if (ii->boot < 0)
		return aim_transform_take_boot(root, ret);
	bp = &ii->pt.parts[ii->boot];
	if (is_fat_boot(ii)) {
		/* Staged with mcopy; the root's hidden /boot contents are dropped. */
		b = aim_tree_lookup(root, "/boot");
		while (b && b->children)
			aim_tree_remove(root, b->children);
		return aim_tree_new(ret);
	}
	if (strcmp(ii->part[ii->boot].fstype, "ext4") && strcmp(ii->part[ii->boot].fstype, "ext2") &&
	    strcmp(ii->part[ii->boot].fstype, "ext3"))
		return aim_error_set(-EOPNOTSUPP, "a %s /boot partition is not supported yet",
				     ii->part[ii->boot].fstype);
	r = aim_ext4_open(in_path, bp->start, bp->size, ret_bfs);
	if (r < 0)
		return r;
	r = aim_ext4_load_tree(*ret_bfs, ret);
	if (r < 0)
		return r;
	/* Whatever the root has under /boot was hidden by the boot partition's mount. */
	b = aim_tree_lookup(root, "/boot");
	while (b && b->children)
		aim_tree_remove(root, b->children);
	/* Drop lost+found and the "boot -> ." symlink Armbian puts on boot partitions. */
	if ((b = aim_tree_lookup(*ret, "/lost+found")))
		aim_tree_remove(*ret, b);
	if ((b = aim_tree_lookup(*ret, "/boot")) && !S_ISDIR(b->mode))
		aim_tree_remove(*ret, b);
	return 0;
}

static uint64_t tree_bytes(const struct aim_tree *t, const struct aim_node *d, int depth)
{
	uint64_t sum = 0;

	for (const struct aim_node *c = d->children; c && depth < 64; c = c->next) {
		const struct aim_node *n = S_ISLNK(c->mode)
						   ? aim_tree_resolve(t, (struct aim_node *)c)
						   : c;
		if (!n)
			continue;
		if (S_ISREG(n->mode))
			sum += n->size;
		else if (S_ISDIR(n->mode) && S_ISDIR(c->mode))
			sum += tree_bytes(t, n, depth + 1);
	}
	return sum;
}

/* Without SOURCE_DATE_EPOCH, timestamps come from the input itself so that the same
 * input always gives the same output: the release file's mtime, else the root's.
 * FAT cannot store dates before 1980. */
static uint32_t derive_epoch(const struct aim_tree *t, uint32_t given)
{
	static const char *const files[] = {"/etc/armbian-release", "/etc/os-release",
					    "/usr/lib/os-release"};
	const struct aim_node *n = NULL;
	int64_t e = given;

	for (size_t i = 0; !e && i < ARRAY_SIZE(files); i++)
		if ((n = aim_tree_lookup(t, files[i])) && n->mtime > 0)
			e = n->mtime;
	if (!e)
		e = t->root->mtime;
	return (uint32_t)MIN(MAX(e, (int64_t)315532800), (int64_t)UINT32_MAX);
}

static const char *device_arch(const char *arch)
{
	if (!strcmp(arch, "arm64") || !strcmp(arch, "armhf"))
		return arch;
	if (!strcmp(arch, "amd64"))
		return "x86_64";
	return NULL;
}

/* The script text of a legacy U-Boot script image (boot.scr): 64-byte header, then the
 * image list (BE length, 0), then the text. */
static int script_from_scr(const char *buf, size_t len, char **ret)
{
	const uint8_t *u = (const uint8_t *)buf;
	uint32_t n;

	if (len < 72 || u[0] != 0x27 || u[1] != 0x05 || u[2] != 0x19 || u[3] != 0x56 ||
	    u[30] != 6)
		return aim_error_set(-EBADMSG, "boot.scr is not a U-Boot script image");
	n = (uint32_t)u[64] << 24 | (uint32_t)u[65] << 16 | (uint32_t)u[66] << 8 | u[67];
	if (n > len - 72)
		return aim_error_set(-EBADMSG, "boot.scr is truncated");
	*ret = strndup(buf + 72, n);
	return *ret ? 0 : -ENOMEM;
}

/* /slot-X/slot.env (docs/device-cli.md): what a slot holds, for status and install; with
 * the release key, its signature next to it. */
static int write_slot_env(const char *stage, char slot, const struct aim_image_info *ii,
			  const struct aim_convert_opts *o, const struct aim_slot *p,
			  const char *sha_hex, uint32_t epoch)
{
	struct aim_slot_info si = {.source = "convert", .rootfs_size = p->slot_bytes,
				   .installed = epoch};
	char dir[4200];

	snprintf(si.version, sizeof(si.version), "%s", ii->version);
	snprintf(si.board, sizeof(si.board), "%s", ii->board);
	snprintf(si.family, sizeof(si.family), "%s", ii->family[0] ? ii->family : ii->linuxfamily);
	snprintf(si.arch, sizeof(si.arch), "%s", ii->release_arch[0] ? ii->release_arch : ii->arch);
	snprintf(si.rootfs_sha256, sizeof(si.rootfs_sha256), "%s", sha_hex);
	if (p->verity)
		aim_slot_info_set_verity(&si, &p->v);
	snprintf(dir, sizeof(dir), "%s/slot-%c", stage, slot);
	return aim_slot_env_write(dir, &si, o->sign, epoch);
}

/* The two copies of the initial state record (slot a active and good), in GRUB's
 * environment-block form on UEFI images. */
static int write_initial_state(const char *stage, int grubenv, uint32_t epoch)
{
	struct aim_slotstate st;
	char path[4300];
	int r;

	aim_slotstate_init(&st);
	st.grubenv = grubenv;
	for (int copy = 1; copy <= 2; copy++) {
		r = aim_slotstate_store(stage, &st, copy);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "%s/state-%d.txt", stage, copy);
		struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			return -errno;
	}
	return 0;
}

static void lower_uuid(const char *in, char out[37])
{
	for (int k = 0; k < 37; k++)
		out[k] = (char)tolower((unsigned char)in[k]);
}

/* UEFI images (docs/boot.md 4b): each slot's grub.env, GRUB built with its modules
 * inside at /EFI/BOOT/BOOT<arch>.EFI, the generated grub.cfg beside it, bootcount.txt as
 * a block GRUB's save_env rewrites in place, the state in GRUB's form. */
static int write_grub_chain(const struct aim_image_info *ii, const struct aim_convert_opts *o,
			    const struct aim_tree *t, const char *stage, int slot_only,
			    struct aim_slot *p, const struct aim_grub_entry *ge, uint32_t epoch)
{
	struct aim_buf env = {0}, cfg = {0};
	char bc[AIM_GRUBENV_SIZE + 1];
	const char *platform = aim_grub_platform(ii->arch);
	char uuid[2][37], moddir[4200], dir[4200], efi[4300];
	struct aim_grubcfg_opts go = {0};
	int r, tmp = 0;

	r = aim_grub_slot_env(ge, &env);
	for (int s = 0; r == 0 && s < (o->slot_b_empty ? 1 : 2); s++) {
		snprintf(dir, sizeof(dir), "%s/slot-%c", stage, 'a' + s);
		r = aim_slot_file_write(dir, AIM_GRUB_SLOT_ENV, env.p, env.len, epoch);
	}
	aim_buf_free(&env);
	if (r < 0 || slot_only) {
		p->ab_boot = r == 0;
		return r;
	}
	for (int s = 0; s < 2; s++)
		lower_uuid(p->root_partuuid[s], uuid[s]);
	go.partuuid[0] = uuid[0];
	go.partuuid[1] = uuid[1];
	go.cmdline = ge->args;
	go.slot_env = 1;
	snprintf(dir, sizeof(dir), "%s/EFI/BOOT", stage);
	if (r == 0)
		r = aim_mkdir_p(dir, 0755);
	if (r == 0)
		r = aim_grubcfg_generate(&go, &cfg);
	if (r == 0)
		r = aim_slot_file_write(dir, "grub.cfg", cfg.p, cfg.len, epoch);
	if (r == 0)
		r = aim_slotstate_format_grub_bootcount(0, 0, bc);
	if (r >= 0)
		r = aim_slot_file_write(stage, AIM_BOOTCOUNT_FILE, bc, (size_t)AIM_GRUBENV_SIZE,
					epoch);
	if (r == 0)
		r = aim_grub_find_moddir(t, platform, o->tmpdir, moddir, sizeof(moddir), &tmp);
	snprintf(efi, sizeof(efi), "%s/%s", dir, aim_grub_efi_name(ii->arch));
	if (r == 0)
		r = aim_grub_mkimage(platform, moddir, efi);
	/* The image's modules are of another GRUB release than this machine's grub-mkimage:
	 * this machine's own modules (aim_grub_find_moddir without the image). */
	if (r == -ENOTSUP && tmp) {
		aim_grub_moddir_done(moddir, tmp);
		r = aim_grub_find_moddir(NULL, platform, o->tmpdir, moddir, sizeof(moddir), &tmp);
		if (r == 0)
			r = aim_grub_mkimage(platform, moddir, efi);
	}
	if (r == 0) {
		struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
		if (utimensat(AT_FDCWD, efi, ts, 0) < 0)
			r = -errno;
	}
	aim_grub_moddir_done(moddir, tmp);
	aim_buf_free(&cfg);
	if (r == 0)
		r = write_initial_state(stage, 1, epoch);
	if (r == 0)
		p->ab_boot = 1;
	return r;
}

/* The A/B boot chain on the boot partition: boot.cmd/boot.scr generated from the
 * image's own script (docs/boot.md), each slot's armbianEnv.txt pointing at its root,
 * and the two copies of the slot state record. extlinux boards: a generated boot.scr
 * that hands over to each slot's extlinux.conf, rewritten for the slot (section 4a). */
static int write_boot_chain(const struct aim_image_info *ii, const struct aim_convert_opts *o,
			    const char *stage, struct aim_slot *p, uint32_t epoch)
{
	_cleanup_free_ char *orig = NULL, *gen = NULL;
	_cleanup_free_ uint8_t *scr = NULL;
	int ext = ii->boot_method == AIM_BOOT_EXTLINUX;
	const char *name = ext ? AIM_EXTLINUX_CONF : "armbianEnv.txt";
	char path[4300];
	size_t len;
	int r;

	if (ii->boot_method == AIM_BOOT_RPI) {
		char uuid[2][37];
		for (int s = 0; s < 2; s++)
			for (int k = 0; k < 37; k++)
				uuid[s][k] = (char)tolower((unsigned char)p->root_partuuid[s][k]);
		r = aim_rpi_boot_chain(stage, o->slot_b_empty ? 1 : 2, uuid, epoch);
		p->ab_boot = r == 0;
		return r;
	}
	if (!ext && ii->boot_method != AIM_BOOT_SCRIPT) {
		snprintf(p->boot_note, sizeof(p->boot_note),
			 "%s boot is not switched between slots yet: the output boots only "
			 "after manual changes", aim_boot_method_name(ii->boot_method));
		return 0;
	}
	snprintf(path, sizeof(path), "%s/slot-a/boot.cmd", stage);
	/* extlinux: the preamble, then sysboot of the slot's own extlinux.conf */
	r = ext ? ((orig = strdup(aim_extlinux_body)) ? 0 : -ENOMEM)
		: aim_read_file(path, 1 << 20, &orig, &len);
	if (r == -ENOENT) {
		_cleanup_free_ char *bin = NULL;
		snprintf(path, sizeof(path), "%s/slot-a/boot.scr", stage);
		r = aim_read_file(path, 1 << 20, &bin, &len);
		if (r == 0)
			r = script_from_scr(bin, len, &orig);
	}
	if (r < 0)
		return aim_error_set(r, "cannot read the image's boot script: %s",
				     aim_error_detail() ? aim_error_detail() : strerror(-r));
	r = aim_bootscript_generate(orig, NULL, &gen);
	if (r < 0)
		return r;
	r = aim_slot_file_write(stage, "boot.cmd", gen, strlen(gen), epoch);
	if (r < 0)
		return r;
	r = aim_bootscript_compile(gen, strlen(gen), epoch, NULL, &scr, &len);
	if (r < 0)
		return r;
	r = aim_slot_file_write(stage, "boot.scr", scr, len, epoch);
	if (r < 0)
		return r;
	for (int s = 0; s < (o->slot_b_empty ? 1 : 2); s++) {
		_cleanup_free_ char *env = NULL, *out = NULL;
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/slot-%c", stage, 'a' + s);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		r = aim_read_file(path, 1 << 20, &env, NULL);
		if (r < 0 && (r != -ENOENT || ext))
			return aim_error_set(r, "cannot read the image's %s: %s", name, strerror(-r));
		char uuid[37];

		/* Lower case: initramfs-tools finds root=PARTUUID= in /dev/disk/by-partuuid,
		 * where udev spells GPT GUIDs in lower case. */
		lower_uuid(p->root_partuuid[s], uuid);
		/* The boot files are the root's /boot, or a boot partition's root. */
		r = ext ? aim_extlinux_rewrite(env, ii->boot >= 0 ? "/" : "/boot/", (char)('a' + s),
					       uuid, &out)
			: aim_bootscript_rewrite_env(env, (char)('a' + s), uuid, &out);
		if (r < 0)
			return r;
		r = aim_slot_file_write(dir, name, out, strlen(out), epoch);
		if (r < 0)
			return r;
	}
	r = write_initial_state(stage, 0, epoch);
	if (r == 0)
		p->ab_boot = 1;
	return r;
}

struct sq_progress {
	aim_convert_progress_fn fn;
	void *ud;
};

static void sq_cb(void *ud, uint64_t done, uint64_t total)
{
	struct sq_progress *s = ud;

	if (s->fn)
		s->fn(s->ud, "squashfs", done, total);
}

static void copy_cb(void *ud, uint64_t done, uint64_t total)
{
	struct sq_progress *s = ud;

	if (s->fn)
		s->fn(s->ud, "slot B", done, total);
}

int aim_slot_estimate(const char *in_path, const struct aim_image_info *ii,
		      uint64_t *ret_boot_content, uint64_t *ret_sqfs)
{
	struct aim_ext4 *fs = NULL, *bfs = NULL;
	struct aim_tree *t = NULL, *bt = NULL;
	int r;

	*ret_boot_content = *ret_sqfs = 0;
	r = aim_image_open_root(in_path, ii, &fs, &t);
	if (r < 0)
		return r;
	r = load_boot_tree(in_path, ii, t, &bfs, &bt);
	/* Estimate: zstd at the default level keeps about 45% of a Debian root. */
	if (r == 0)
		*ret_sqfs = ii->root_used / 100 * 45;
	if (r == 0 && fat_boot_part(ii) >= 0)
		*ret_boot_content = ii->pt.parts[fat_boot_part(ii)].size / 2;
	else if (r == 0) {
		struct aim_strv drop = {0};
		uint64_t dropped = 0;

		*ret_boot_content = tree_bytes(bt, bt->root, 0);
		r = aim_bootfiles_dups(bt, &drop, &dropped);
		aim_strv_free(drop.v);
		*ret_boot_content -= MIN(dropped, *ret_boot_content);
	}
	aim_tree_free(bt);
	aim_tree_free(t);
	aim_ext4_free(bfs);
	aim_ext4_free(fs);
	return r;
}

/* The --sqfs-layout name for the index (docs/delta.md). */
static const char *layout_name(const struct aim_sqfs_opts *q)
{
	if (q->align > 1 || q->no_fragments)
		return "custom";
	return q->frag_group == AIM_SQFS_DELTA_GROUP ? "delta"
	       : q->frag_group			     ? "groups"
						     : "packed";
}

/* /slot-X/rootfs.idx: the block index a later delta install matches against (delta-index.h). */
static int write_index(const struct aim_convert_opts *o, const struct aim_slot_sink *k,
		       const struct aim_slot *s, int tmp_fd, const uint8_t md[AIM_SHA256_BYTES])
{
	_cleanup_(aim_delta_index_freep) struct aim_delta_index *x = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	char path[4200];
	size_t len;
	int r;

	r = aim_delta_index_make(tmp_fd >= 0 ? tmp_fd : k->fd, tmp_fd >= 0 ? 0 : k->offset,
				 s->slot_bytes, md, layout_name(&o->sqfs), &x);
	if (r == 0)
		r = aim_delta_index_format(x, &buf, &len);
	for (char c = 'a'; r == 0 && c <= (o->slot_b_empty ? 'a' : 'b'); c++) {
		snprintf(path, sizeof(path), "%s/slot-%c", k->dir, c);
		r = aim_slot_file_write(path, AIM_DELTA_INDEX_NAME, buf, len, s->epoch);
		if (r < 0)
			r = aim_error_set(r, "cannot write %s/%s: %s", path, AIM_DELTA_INDEX_NAME,
					  strerror(-r));
	}
	return r;
}

/* The slot image is made (in k->fd at k->offset, or in tmp_fd when >= 0): one read of it
 * hashes it for slot.env and makes the copy (from tmp_fd: two copies, into the sink and to
 * copy_fd). */
static int finish_slot(const struct aim_image_info *ii, const struct aim_convert_opts *o,
		       const struct aim_slot_sink *k, const struct aim_slot *s, int tmp_fd)
{
	_cleanup_(aim_sha256_done) struct aim_sha256 h = {0};
	struct sq_progress cp = {k->progress, k->ud};
	uint8_t md[AIM_SHA256_BYTES];
	char hex[2 * AIM_SHA256_BYTES + 1];
	int r;

	r = aim_sha256_init(&h);
	if (r == 0 && tmp_fd < 0)
		r = aim_copy_sparse(k->fd, k->offset, k->copy_fd, k->copy_offset, s->slot_bytes,
				    &h, copy_cb, &cp);
	if (r == 0 && tmp_fd >= 0)
		r = aim_copy_sparse(tmp_fd, 0, k->fd, k->offset, s->slot_bytes, &h, NULL, NULL);
	if (r == 0 && tmp_fd >= 0 && k->copy_fd >= 0)
		r = aim_copy_sparse(tmp_fd, 0, k->copy_fd, k->copy_offset, s->slot_bytes, NULL,
				    copy_cb, &cp);
	if (r == 0)
		r = aim_sha256_final(&h, md);
	if (r < 0)
		return r;
	aim_sha256_hex(md, hex);
	r = write_slot_env(k->dir, 'a', ii, o, s, hex, s->epoch);
	if (r == 0 && !o->slot_b_empty)
		r = write_slot_env(k->dir, 'b', ii, o, s, hex, s->epoch);
	if (r == 0)
		r = write_index(o, k, s, tmp_fd, md);
	return r;
}

int aim_slot_verity_decide(const struct aim_image_info *ii, enum aim_verity_mode mode,
			   char *why, size_t n)
{
	if (mode == AIM_VERITY_OFF) {
		snprintf(why, n, "verity off (--verity off)");
		return 0;
	}
	if (ii->verity_ok) {
		snprintf(why, n, "verity on: %s", ii->verity_note);
		return 1;
	}
	if (mode == AIM_VERITY_ON)
		return aim_error_set(-EOPNOTSUPP, "--verity on, but %s", ii->verity_note);
	snprintf(why, n, "verity off: %s", ii->verity_note);
	return 0;
}

/* A temporary file for the slot image, when the sink's squashfs does not start at byte 0
 * of its file (libcryptsetup formats a tree from the start of a file). Unlinked: gone
 * with its descriptor. */
static int slot_tmpfile(const struct aim_convert_opts *o)
{
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s/armimmutable-slot-XXXXXX",
		 o->tmpdir ? o->tmpdir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"));
	fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot create a temporary file %s: %m", p);
	unlink(p);
	return fd;
}

/* The tree after the squashfs (fd from byte 0): s->v, s->slot_bytes. */
static int make_tree(int fd, const struct aim_convert_opts *o, uint64_t max, struct aim_slot *s)
{
	struct aim_pubkey pk;
	uint8_t salt[AIM_VERITY_HASH_BYTES];
	char p[64];
	int r;

	if (o->sign)
		aim_seckey_pubkey(o->sign, &pk);
	r = aim_verity_salt(o->sign ? pk.pk : NULL, salt);
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	r = aim_verity_format(p, s->sqfs_size, salt, &s->v);
	if (r < 0)
		return r;
	s->slot_bytes = s->v.hash_offset + s->v.hash_size;
	if (s->slot_bytes > max)
		return aim_error_set(-ENOSPC, "the squashfs and its hash tree (%" PRIu64 " bytes) "
				     "do not fit the slot (%" PRIu64 " bytes)", s->slot_bytes, max);
	return 0;
}

int aim_slot_build(const char *in_path, const struct aim_image_info *ii,
		   const struct aim_convert_opts *o, struct aim_slot_sink *k, struct aim_slot *ret)
{
	struct aim_ext4 *fs = NULL, *bfs = NULL;
	struct aim_tree *t = NULL, *bt = NULL;
	struct aim_transform_opts to = {
		.overlay_tmpfs = o->overlay == AIM_OVERLAY_TMPFS,
		.no_identity = o->no_identity,
		.persist = o->persist,
		.npersist = o->npersist,
		.trial_timeout = o->trial_timeout,
		.trust = o->trust,
		.ntrust = o->ntrust,
	};
	struct aim_sqfs_opts sq = o->sqfs;
	struct sq_progress sp = {k->progress, k->ud};
	char helper[4200], uuid[2][37];
	uint64_t content = 0;
	int r, tmp_fd = -1, sq_fd, grub = ii->boot_method == AIM_BOOT_GRUB;
	struct aim_grub_entry ge;

	memcpy(uuid, ret->root_partuuid, sizeof(uuid));
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->root_partuuid, uuid, sizeof(uuid));
	r = aim_slot_verity_decide(ii, o->verity, ret->verity_note, sizeof(ret->verity_note));
	if (r < 0)
		return r;
	ret->verity = r;
	r = aim_image_open_root(in_path, ii, &fs, &t);
	if (r < 0)
		goto out;
	r = load_boot_tree(in_path, ii, t, &bfs, &bt);
	/* UEFI images: the slot holds what the image's grub.cfg boots, nothing else */
	if (r == 0 && grub)
		r = aim_grub_prune_boot(bt, &ge);
	if (r < 0)
		goto out;
	to.epoch = sq.mkfs_time = ret->epoch = derive_epoch(t, o->epoch);
	to.hooks_dir = o->hooks_dir;
	if (o->device_dir) {
		const char *a = device_arch(ii->arch);
		if (!a) {
			r = aim_error_set(-EOPNOTSUPP, "no device helper for the %s architecture",
					  ii->arch[0] ? ii->arch : "unknown");
			goto out;
		}
		snprintf(helper, sizeof(helper), "%s/%s/aim-boot", o->device_dir, a);
		to.device_helper = helper;
	}
	r = aim_transform_root(t, &to);
	if (r < 0)
		goto out;
	ret->transforms = (unsigned)r;

	if (fat_boot_part(ii) >= 0)
		r = stage_fat_boot(in_path, ii, k->dir, !o->slot_b_empty, &content);
	else
		r = aim_bootfiles_stage(bt, k->dir, !o->slot_b_empty, &content);
	if (r < 0)
		goto out;
	if (!o->slot_b_empty)
		content /= 2;
	ret->boot_content = content;
	r = grub ? write_grub_chain(ii, o, t, k->dir, k->slot_files_only, ret, &ge, ret->epoch)
		 : write_boot_chain(ii, o, k->dir, ret, ret->epoch);
	if (r == 0 && ret->ab_boot && o->device_dir && o->hooks_dir)
		r = aim_bootfiles_patch_initrds(t, bt, ii, o, k->dir, helper, ret->verity,
						ret->verity ? o->sign : NULL, ret->epoch);
	if (r == 0 && k->place_rootfs)
		r = k->place_rootfs(k, ret);
	if (r < 0)
		goto out;
	sq_fd = k->fd;
	if (ret->verity && k->offset && (r = tmp_fd = slot_tmpfile(o)) < 0)
		goto out;
	if (tmp_fd >= 0)
		sq_fd = tmp_fd;
	r = aim_sqfs_write(t, sq_fd, tmp_fd >= 0 ? 0 : k->offset, k->max, &sq, sq_cb, &sp,
			   &ret->stats);
	if (r < 0)
		goto out;
	ret->sqfs_size = ret->slot_bytes = ret->stats.bytes_out;
	if (ret->verity)
		r = make_tree(sq_fd, o, k->max, ret);
	if (r == 0 && k->place_copy)
		r = k->place_copy(k, ret);
	if (r == 0)
		r = finish_slot(ii, o, k, ret, tmp_fd);
out:
	if (tmp_fd >= 0)
		close(tmp_fd);
	aim_tree_free(bt);
	aim_tree_free(t);
	aim_ext4_free(bfs);
	aim_ext4_free(fs);
	return r;
}
