/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The conversion pipeline (see convert.h and docs/layout.md): root tree from ext4,
 * transforms, squashfs straight into slot A of the output, slot B as a copy, FAT boot
 * partition with per-slot boot files (mtools), ext4 data partition (mke2fs), the
 * bootloader region copied byte for byte, then the new partition table.
 */
#include "convert.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootfiles.h"
#include "bootscript.h"
#include "ext4.h"
#include "initrd.h"
#include "mtools.h"
#include "slotenv.h"
#include "slotstate.h"
#include "transform.h"
#include "tree.h"
#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "util/sha256.h"
#include "base/spawn.h"

#define MiB (1024ULL * 1024)
#define ALIGN4M(x) ALIGN_UP((x), 4 * MiB)

static const char *const roles[4] = {"boot", "rootfs_a", "rootfs_b", "data"};

/* A UUID derived from a seed and a purpose: stable for the same input, distinct per
 * partition, shaped as an RFC 4122 version 4 UUID. */
static void derive_uuid(const char *seed, const char *what, char out[37])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"armimmutable:", 13);
	crypto_hash_sha256_update(&st, (const uint8_t *)seed, strlen(seed));
	crypto_hash_sha256_update(&st, (const uint8_t *)":", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)what, strlen(what));
	crypto_hash_sha256_final(&st, h);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x40);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", h[0],
		 h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
		 h[14], h[15]);
}

static void seed_of(const struct aim_image_info *ii, char *seed, size_t n)
{
	snprintf(seed, n, "%s/%s", ii->pt.disk_id, ii->part[ii->root].uuid);
}

static uint64_t boot_size_for(uint64_t content, const struct aim_convert_opts *o)
{
	if (o->boot_size)
		return o->boot_size;
	/* Two slots of boot files plus room for a larger kernel in an update. */
	return MAX(128 * MiB, ALIGN4M(3 * content + 32 * MiB));
}

static void layout(const struct aim_image_info *ii, const struct aim_convert_opts *o,
		   uint64_t content, uint64_t sqfs, struct aim_convert_plan *p)
{
	char seed[128];

	p->table = ii->pt.type;
	p->boot_start = ii->gap_end;
	p->boot_content = content;
	p->boot_size = boot_size_for(content, o);
	p->slot_a_start = ALIGN4M(p->boot_start + p->boot_size);
	p->sqfs_size = sqfs;
	p->slot_size = o->slot_size ? o->slot_size : MAX(64 * MiB, ALIGN4M(sqfs + sqfs / 2));
	p->slot_b_start = p->slot_a_start + p->slot_size;
	p->data_start = p->slot_b_start + p->slot_size;
	p->data_size = o->data_size ? o->data_size : 256 * MiB;
	/* GPT keeps its backup entries and header in the last 33 sectors. */
	p->disk_size = p->data_start + p->data_size + (p->table == AIM_PTABLE_GPT ? MiB : 0);

	seed_of(ii, seed, sizeof(seed));
	if (p->table == AIM_PTABLE_MBR) {
		snprintf(p->disk_id, sizeof(p->disk_id), "%s", ii->pt.disk_id);
		for (int i = 0; i < 4; i++)
			snprintf(p->partuuid[i], sizeof(p->partuuid[i]), "%.8s-%02d", p->disk_id,
				 i + 1);
	} else {
		derive_uuid(seed, "disk", p->disk_id);
		for (int i = 0; i < 4; i++)
			derive_uuid(seed, roles[i], p->partuuid[i]);
	}
	derive_uuid(seed, "data-fs", p->data_uuid);
	for (char *c = p->data_uuid; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
	snprintf(p->boot_serial, sizeof(p->boot_serial), "%.8s", p->partuuid[0] + 0);
	if (p->table == AIM_PTABLE_MBR) {
		char u[37];
		derive_uuid(seed, "boot-fs", u);
		snprintf(p->boot_serial, sizeof(p->boot_serial), "%.8s", u);
	}
}

/* Copies len bytes from in_fd at from to out_fd at to, 1 MiB at a time, leaving
 * all-zero 4 KiB blocks unwritten (the output is sparse). Used for the bootloader region
 * (the old table is rewritten afterwards) and for slot B. */
/* Copies len bytes, skipping all-zero 4 KiB blocks (the output is sparse). With
 * out_fd < 0 it only reads; h (may be NULL) hashes every byte read. */
static int copy_sparse_hash(int in_fd, uint64_t from, int out_fd, uint64_t to, uint64_t len,
			    aim_convert_progress_fn fn, void *ud, struct aim_sha256 *h)
{
	_cleanup_free_ uint8_t *buf = malloc(MiB);
	static const uint8_t zero[4096];

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)MIN((uint64_t)MiB, len - off);
		int r = aim_pread_full(in_fd, buf, n, from + off);
		if (r < 0)
			return r;
		if (h && (r = aim_sha256_update(h, buf, n)) < 0)
			return r;
		for (size_t b = 0; out_fd >= 0 && b < n; b += 4096) {
			size_t l = MIN((size_t)4096, n - b);
			if (memcmp(buf + b, zero, l)) {
				r = aim_pwrite_full(out_fd, buf + b, l, to + off + b);
				if (r < 0)
					return r;
			}
		}
		off += n;
		if (fn)
			fn(ud, "slot B", off, len);
	}
	return 0;
}

static int copy_sparse(int in_fd, uint64_t from, int out_fd, uint64_t to, uint64_t len,
		       aim_convert_progress_fn fn, void *ud)
{
	return copy_sparse_hash(in_fd, from, out_fd, to, len, fn, ud, NULL);
}


static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Sets the mtime of every directory under dir to the epoch (mcopy -m carries them
 * into FAT), after all their contents were written. */
static uint32_t stamp_epoch;
static int stamp_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	struct timespec ts[2] = {{stamp_epoch, 0}, {stamp_epoch, 0}};

	(void)st, (void)f;
	if (flag == FTW_DP && utimensat(AT_FDCWD, p, ts, 0) < 0)
		return -1;
	return 0;
}

static int stamp_dirs(const char *dir, uint32_t epoch)
{
	stamp_epoch = epoch;
	return nftw(dir, stamp_cb, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

static int make_boot_fs(const char *img, const struct aim_convert_plan *p, const char *stage,
			uint32_t epoch)
{
	char secs[32], serial[16], env[64];
	const char *envp[] = {env, NULL};
	int r;

	/* mcopy "dir" copies the directory itself: slot-a/ lands at ::/slot-a. */
	snprintf(secs, sizeof(secs), "%" PRIu64, p->boot_size / 512);
	snprintf(serial, sizeof(serial), "%s", p->boot_serial);
	snprintf(env, sizeof(env), "SOURCE_DATE_EPOCH=%" PRIu32, epoch);
	{
		const char *args[] = {"-T", secs, "-h", "64", "-s", "32", "-F", "-N", serial,
				      "-v", "ARMBI_BOOT", "::", NULL};
		r = aim_mtools(img, p->boot_start, envp, "mformat", args);
		if (r < 0)
			return r;
	}
	{
		struct dirent **ents = NULL;
		int n = scandir(stage, &ents, NULL, alphasort), k = 0;
		const char **argv = calloc((size_t)(n > 0 ? n : 0) + 10, sizeof(char *));
		char **paths = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(char *));

		if (n < 0 || !argv || !paths) {
			r = n < 0 ? -errno : -ENOMEM;
		} else {
			const char *head[] = {"-s", "-p", "-m", "-Q"};
			for (size_t h = 0; h < ARRAY_SIZE(head); h++)
				argv[k++] = head[h];
			for (int i = 0; i < n; i++) {
				if (ents[i]->d_name[0] == '.')
					continue;
				if (asprintf(&paths[i], "%s/%s", stage, ents[i]->d_name) < 0) {
					paths[i] = NULL;
					r = -ENOMEM;
					break;
				}
				argv[k++] = paths[i];
			}
			argv[k++] = "::/";
			argv[k] = NULL;
			if (r == 0)
				r = aim_mtools(img, p->boot_start, envp, "mcopy", argv);
		}
		for (int i = 0; i < n; i++) {
			free(paths ? paths[i] : NULL);
			free(ents[i]);
		}
		free(ents);
		free(paths);
		free(argv);
	}
	return r;
}

static int make_data_fs(const char *img, const struct aim_convert_plan *p, uint32_t epoch)
{
	char ext[256], kib[32], env[64];
	const char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-L", "armi_data", "-U",
			p->data_uuid, "-E", ext, "-b", "4096", "-m", "1", img, kib, NULL};
	const char *envp[] = {env, NULL};

	snprintf(ext, sizeof(ext), "offset=%" PRIu64 ",root_owner=0:0,hash_seed=%s,nodiscard",
		 p->data_start, p->data_uuid);
	snprintf(kib, sizeof(kib), "%" PRIu64 "k", p->data_size / 1024);
	snprintf(env, sizeof(env), "E2FSPROGS_FAKE_TIME=%" PRIu32, epoch);
	return aim_spawn(argv, envp);
}

static int write_table(int fd, const struct aim_image_info *ii, const struct aim_convert_plan *p)
{
	struct aim_ptable pt = ii->pt;
	const uint64_t starts[4] = {p->boot_start, p->slot_a_start, p->slot_b_start,
				    p->data_start};
	const uint64_t sizes[4] = {p->boot_size, p->slot_size, p->slot_size, p->data_size};

	memset(pt.parts, 0, sizeof(pt.parts));
	pt.nparts = 4;
	pt.disk_size = p->disk_size;
	snprintf(pt.disk_id, sizeof(pt.disk_id), "%s", p->disk_id);
	for (int i = 0; i < 4; i++) {
		struct aim_part *q = &pt.parts[i];
		q->num = (unsigned)i + 1;
		q->start = starts[i];
		q->size = sizes[i];
		snprintf(q->uuid, sizeof(q->uuid), "%s", p->partuuid[i]);
		if (pt.type == AIM_PTABLE_MBR) {
			q->mbr_type = i == 0 ? 0x0c : 0x83;
		} else {
			snprintf(q->type_guid, sizeof(q->type_guid), "%s",
				 i == 0 ? "BC13C2FF-59E6-4262-A352-B275FD6F7172"
					: "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
			snprintf(q->name, sizeof(q->name), "%s", roles[i]);
		}
	}
	if (pt.type == AIM_PTABLE_GPT) {
		pt.last_usable = p->disk_size / pt.sector_size - 34;
		if (pt.first_usable * pt.sector_size > p->boot_start)
			pt.first_usable = p->boot_start / pt.sector_size;
	}
	return aim_ptable_write(fd, &pt);
}

static int is_fat_boot(const struct aim_image_info *ii)
{
	return ii->boot >= 0 && !strcmp(ii->part[ii->boot].fstype, "vfat");
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
	const struct aim_part *bp = &ii->pt.parts[ii->boot];
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

int aim_convert_plan(const char *in_path, int in_fd, const struct aim_image_info *ii,
		     const struct aim_convert_opts *o, struct aim_convert_plan *ret)
{
	struct aim_ext4 *fs = NULL, *bfs = NULL;
	struct aim_tree *t = NULL, *bt = NULL;
	int r;

	(void)in_fd;
	memset(ret, 0, sizeof(*ret));
	r = aim_image_open_root(in_path, ii, &fs, &t);
	if (r < 0)
		return r;
	r = load_boot_tree(in_path, ii, t, &bfs, &bt);
	if (r == 0 && is_fat_boot(ii))
		layout(ii, o, ii->pt.parts[ii->boot].size / 2, ii->root_used / 100 * 45, ret);
	else if (r == 0)
		/* Estimate: zstd at the default level keeps about 45% of a Debian root. */
		layout(ii, o, tree_bytes(bt, bt->root, 0), ii->root_used / 100 * 45, ret);
	aim_tree_free(bt);
	aim_tree_free(t);
	aim_ext4_free(bfs);
	aim_ext4_free(fs);
	return r;
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

static int write_text(const char *dir, const char *name, const void *buf, size_t len,
		      uint32_t epoch)
{
	char p[4200];
	struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
	int r;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	r = aim_write_file_atomic(p, buf, len, 0644);
	if (r == 0 && utimensat(AT_FDCWD, p, ts, 0) < 0)
		r = -errno;
	return r;
}

/* /slot-X/slot.env (docs/device-cli.md): what a slot holds, for status and install. */
static int write_slot_env(const char *stage, char slot, const struct aim_image_info *ii,
			  const struct aim_convert_plan *p, const char *sha_hex, uint32_t epoch)
{
	struct aim_slot_info si = {.source = "convert", .rootfs_size = p->sqfs_size,
				   .installed = epoch};
	char dir[4200], *txt = NULL;
	int r, n;

	snprintf(si.version, sizeof(si.version), "%s", ii->version);
	snprintf(si.board, sizeof(si.board), "%s", ii->board);
	snprintf(si.family, sizeof(si.family), "%s", ii->family[0] ? ii->family : ii->linuxfamily);
	snprintf(si.arch, sizeof(si.arch), "%s", ii->release_arch[0] ? ii->release_arch : ii->arch);
	snprintf(si.rootfs_sha256, sizeof(si.rootfs_sha256), "%s", sha_hex);
	n = aim_slot_info_format(&si, &txt);
	if (n < 0)
		return n;
	snprintf(dir, sizeof(dir), "%s/slot-%c", stage, slot);
	r = write_text(dir, AIM_SLOT_ENV, txt, (size_t)n, epoch);
	free(txt);
	return r;
}

/* The A/B boot chain on the boot partition: boot.cmd/boot.scr generated from the
 * image's own script (docs/boot.md), each slot's armbianEnv.txt pointing at its root,
 * and the two copies of the slot state record. */
static int write_boot_chain(const struct aim_image_info *ii, const struct aim_convert_opts *o,
			    const char *stage, struct aim_convert_plan *p, uint32_t epoch)
{
	_cleanup_free_ char *orig = NULL, *gen = NULL;
	_cleanup_free_ uint8_t *scr = NULL;
	struct aim_slotstate st;
	char path[4300];
	size_t len;
	int r;

	if (ii->boot_method != AIM_BOOT_SCRIPT) {
		snprintf(p->boot_note, sizeof(p->boot_note),
			 "%s boot is not switched between slots yet: the output boots only "
			 "after manual changes", aim_boot_method_name(ii->boot_method));
		return 0;
	}
	snprintf(path, sizeof(path), "%s/slot-a/boot.cmd", stage);
	r = aim_read_file(path, 1 << 20, &orig, &len);
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
	r = write_text(stage, "boot.cmd", gen, strlen(gen), epoch);
	if (r < 0)
		return r;
	r = aim_bootscript_compile(gen, strlen(gen), epoch, NULL, &scr, &len);
	if (r < 0)
		return r;
	r = write_text(stage, "boot.scr", scr, len, epoch);
	if (r < 0)
		return r;
	for (int s = 0; s < (o->slot_b_empty ? 1 : 2); s++) {
		_cleanup_free_ char *env = NULL, *out = NULL;
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/slot-%c", stage, 'a' + s);
		snprintf(path, sizeof(path), "%s/armbianEnv.txt", dir);
		r = aim_read_file(path, 1 << 20, &env, NULL);
		if (r < 0 && r != -ENOENT)
			return r;
		char uuid[37];

		/* Lower case: initramfs-tools finds root=PARTUUID= in /dev/disk/by-partuuid,
		 * where udev spells GPT GUIDs in lower case. */
		for (int k = 0; k < 37; k++)
			uuid[k] = (char)tolower((unsigned char)p->partuuid[1 + s][k]);
		r = aim_bootscript_rewrite_env(env, (char)('a' + s), uuid, &out);
		if (r < 0)
			return r;
		r = write_text(dir, "armbianEnv.txt", out, strlen(out), epoch);
		if (r < 0)
			return r;
	}
	aim_slotstate_init(&st);
	for (int copy = 1; copy <= 2; copy++) {
		r = aim_slotstate_store(stage, &st, copy);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "%s/state-%d.txt", stage, copy);
		struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			return -errno;
	}
	p->ab_boot = 1;
	return 0;
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

int aim_convert_run(const char *in_path, int in_fd, const struct aim_image_info *ii,
		    const struct aim_convert_opts *o, int out_fd, aim_convert_progress_fn fn,
		    void *ud, struct aim_convert_plan *ret)
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
	struct sq_progress sp = {fn, ud};
	char stage[4096] = "", img[64], helper[4200];
	uint64_t content = 0, sq_max;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (sodium_init() < 0)
		return -ENOMEM;
	snprintf(img, sizeof(img), "/proc/%d/fd/%d", (int)getpid(), out_fd);
	r = aim_image_open_root(in_path, ii, &fs, &t);
	if (r < 0)
		goto out;
	r = load_boot_tree(in_path, ii, t, &bfs, &bt);
	if (r < 0)
		goto out;
	to.epoch = sq.mkfs_time = derive_epoch(t, o->epoch);
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

	snprintf(stage, sizeof(stage), "%s/armimmutable-boot-XXXXXX",
		 o->tmpdir ? o->tmpdir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"));
	if (!mkdtemp(stage)) {
		r = aim_error_set(-errno, "cannot create a staging directory in %s: %m",
				  o->tmpdir ? o->tmpdir : "/var/tmp");
		stage[0] = 0;
		goto out;
	}
	if (is_fat_boot(ii))
		r = stage_fat_boot(in_path, ii, stage, !o->slot_b_empty, &content);
	else
		r = aim_bootfiles_stage(bt, stage, !o->slot_b_empty, &content);
	if (r < 0)
		goto out;
	if (!o->slot_b_empty)
		content /= 2;

	/* The layout up to slot A does not depend on the squashfs size. */
	layout(ii, o, content, 0, ret);
	r = write_boot_chain(ii, o, stage, ret, to.epoch);
	if (r == 0 && ret->ab_boot && o->device_dir && o->hooks_dir)
		r = aim_bootfiles_patch_initrds(t, bt, ii, o, stage, helper, to.epoch);
	if (r < 0)
		goto out;
	r = copy_sparse(in_fd, 0, out_fd, 0, ii->gap_end, NULL, NULL);
	if (r < 0)
		goto out;
	sq_max = o->slot_size ? o->slot_size : 64ULL * 1024 * MiB;
	r = aim_sqfs_write(t, out_fd, ret->slot_a_start, sq_max, &sq, sq_cb, &sp,
			   &ret->stats);
	if (r < 0)
		goto out;
	{
		uint64_t a = ret->slot_a_start;
		layout(ii, o, content, ret->stats.bytes_out, ret);
		if (ret->slot_a_start != a) {
			r = aim_error_set(-EINVAL, "internal error: slot A moved");
			goto out;
		}
	}
	{
		_cleanup_(aim_sha256_done) struct aim_sha256 h = {0};
		uint8_t md[AIM_SHA256_BYTES];
		char hex[2 * AIM_SHA256_BYTES + 1];

		/* Slot B is a copy of A; the copy also hashes it for slot.env. */
		r = aim_sha256_init(&h);
		if (r == 0)
			r = copy_sparse_hash(out_fd, ret->slot_a_start,
					     o->slot_b_empty ? -1 : out_fd, ret->slot_b_start,
					     ret->sqfs_size, fn, ud, &h);
		if (r == 0)
			r = aim_sha256_final(&h, md);
		if (r < 0)
			goto out;
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		r = write_slot_env(stage, 'a', ii, ret, hex, to.epoch);
		if (r == 0 && !o->slot_b_empty)
			r = write_slot_env(stage, 'b', ii, ret, hex, to.epoch);
		if (r < 0)
			goto out;
	}
	if (ftruncate(out_fd, (off_t)ret->disk_size) < 0) {
		r = aim_error_set(-errno, "cannot size the output to %" PRIu64 " bytes: %m",
				  ret->disk_size);
		goto out;
	}
	if (fn)
		fn(ud, "boot partition", 0, 1);
	/* Directory times: creating files in them touched their mtimes. */
	r = stamp_dirs(stage, to.epoch);
	if (r == 0)
		r = make_boot_fs(img, ret, stage, to.epoch);
	if (r < 0)
		goto out;
	if (fn)
		fn(ud, "data partition", 0, 1);
	r = make_data_fs(img, ret, to.epoch);
	if (r < 0)
		goto out;
	r = write_table(out_fd, ii, ret);
out:
	if (stage[0])
		rm_rf(stage);
	aim_tree_free(bt);
	aim_tree_free(t);
	aim_ext4_free(bfs);
	aim_ext4_free(fs);
	return r;
}
