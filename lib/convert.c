/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The conversion pipeline (see convert.h and docs/convert.md): the slot step (slot.h)
 * with its squashfs straight into slot A of the output and slot B as a copy, then the rest
 * of the disk: the bootloader region copied byte for byte, the FAT boot partition with
 * the per-slot boot files (mtools), the ext4 data partition (mke2fs), the new partition
 * table.
 */
#include "convert.h"

#include <dirent.h>
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

#include "medium.h"
#include "mtools.h"
#include "rpi.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/spawn.h"
#include "util/copy.h"

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

void aim_convert_ids(const struct aim_image_info *ii, struct aim_convert_plan *p)
{
	char seed[128];

	p->table = ii->pt.type;
	p->rpi = ii->boot_method == AIM_BOOT_RPI;
	if (p->rpi) /* six partitions: GPT (docs/rpi.md) */
		p->table = AIM_PTABLE_GPT;
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
	for (int i = 0; p->rpi && i < 2; i++) {
		char u[37], what[16];
		snprintf(what, sizeof(what), "rpi-boot-%c", 'a' + i);
		derive_uuid(seed, what, p->rpi_partuuid[i]);
		snprintf(what, sizeof(what), "rpi-fs-%c", 'a' + i);
		derive_uuid(seed, what, u);
		snprintf(p->rpi_serial[i], sizeof(p->rpi_serial[i]), "%.8s", u);
	}
}

/* sqfs: the squashfs; bytes: the slot image (the squashfs and its verity tree). */
static int layout(const struct aim_image_info *ii, const struct aim_convert_opts *o,
		  uint64_t content, uint64_t sqfs, uint64_t bytes, struct aim_convert_plan *p)
{
	struct aim_medium_plan mp;
	int r;

	p->table = ii->pt.type;
	p->boot_start = ii->gap_end;
	p->boot_content = content;
	p->boot_size = boot_size_for(content, o);
	p->slot_a_start = ALIGN4M(p->boot_start + p->boot_size);
	if (ii->boot_method == AIM_BOOT_RPI) {
		/* partition 1 small (autoboot.txt, state, slot.env), then one boot partition
		 * per slot: the sizes a shared one gets, for one slot's files */
		p->rpi_size = p->boot_size;
		p->boot_size = AIM_RPI_P1_SIZE;
		p->rpi_start[0] = ALIGN4M(p->boot_start + p->boot_size);
		p->rpi_start[1] = p->rpi_start[0] + p->rpi_size;
		p->slot_a_start = ALIGN4M(p->rpi_start[1] + p->rpi_size);
	}
	p->sqfs_size = sqfs;
	p->slot_bytes = bytes;
	p->data_size = o->data_size ? o->data_size : 256 * MiB;
	/* aim_convert_ids() below sets it too; the medium plan needs it first */
	p->table = ii->boot_method == AIM_BOOT_RPI ? AIM_PTABLE_GPT : p->table;
	/* The slots for the medium (medium.h); GPT keeps its backup in the last 33 sectors. */
	r = aim_medium_plan(o->medium_size, o->slot_size, p->slot_a_start,
			    p->data_size + (p->table == AIM_PTABLE_GPT ? MiB : 0), bytes, &mp);
	p->slot_size = mp.slot_size;
	p->medium_size = mp.medium;
	p->medium_default = mp.medium_default;
	p->slot_b_start = p->slot_a_start + p->slot_size;
	p->data_start = p->slot_b_start + p->slot_size;
	p->disk_size = mp.disk_size;
	aim_convert_ids(ii, p);
	return r;
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

static int make_boot_fs(const char *img, uint64_t start, uint64_t size, const char *serial,
			const char *label, const char *stage, uint32_t epoch)
{
	char secs[32], env[64];
	const char *envp[] = {env, NULL};
	int r;

	/* mcopy "dir" copies the directory itself: slot-a/ lands at ::/slot-a. */
	snprintf(secs, sizeof(secs), "%" PRIu64, size / 512);
	snprintf(env, sizeof(env), "SOURCE_DATE_EPOCH=%" PRIu32, epoch);
	{
		const char *args[] = {"-T", secs, "-h", "64", "-s", "32", "-F", "-N", serial,
				      "-v", label, "::", NULL};
		r = aim_mtools(img, start, envp, "mformat", args);
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
				r = k > 4 ? aim_mtools(img, start, envp, "mcopy", argv) : 0;
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
	int esp = ii->boot_method == AIM_BOOT_GRUB;

	memset(pt.parts, 0, sizeof(pt.parts));
	if (p->rpi)
		return aim_rpi_table(fd, p->disk_size, p->disk_id, starts, sizes, p->partuuid,
				     roles, p->rpi_start, p->rpi_size, p->rpi_partuuid);
	pt.nparts = 4;
	pt.disk_size = p->disk_size;
	snprintf(pt.disk_id, sizeof(pt.disk_id), "%s", p->disk_id);
	for (int i = 0; i < 4; i++) {
		struct aim_part *q = &pt.parts[i];
		q->num = (unsigned)i + 1;
		q->start = starts[i];
		q->size = sizes[i];
		snprintf(q->uuid, sizeof(q->uuid), "%s", p->partuuid[i]);
		/* UEFI images: partition 1 is the ESP the firmware loads GRUB from. */
		if (pt.type == AIM_PTABLE_MBR) {
			q->mbr_type = i > 0 ? 0x83 : esp ? 0xef : 0x0c;
		} else {
			snprintf(q->type_guid, sizeof(q->type_guid), "%s",
				 i > 0 ? "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
				 : esp ? "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
				       : "BC13C2FF-59E6-4262-A352-B275FD6F7172");
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

int aim_convert_plan(const char *in_path, int in_fd, const struct aim_image_info *ii,
		     const struct aim_convert_opts *o, struct aim_convert_plan *ret)
{
	uint64_t content, sqfs, bytes;
	int r;

	(void)in_fd;
	memset(ret, 0, sizeof(*ret));
	r = aim_slot_verity_decide(ii, o->verity, ret->verity_note, sizeof(ret->verity_note));
	if (r < 0)
		return r;
	ret->verity = r;
	r = aim_slot_estimate(in_path, ii, &content, &sqfs);
	bytes = ALIGN_UP(sqfs, (uint64_t)AIM_VERITY_BLOCK);
	if (ret->verity)
		bytes += aim_verity_tree_size(bytes / AIM_VERITY_BLOCK);
	return r < 0 ? r : layout(ii, o, content, sqfs, bytes, ret);
}

/* The disk around the slot: convert's sink (slot.h). */
struct disk {
	struct aim_slot_sink sink; /* first: the callbacks get it */
	const struct aim_image_info *ii;
	const struct aim_convert_opts *o;
	int in_fd;
	struct aim_convert_plan *p;
};

/* The boot files are staged: the layout up to slot A does not depend on the squashfs size.
 * The bootloader region is copied, and the squashfs goes straight into slot A. */
static int place_rootfs(struct aim_slot_sink *k, const struct aim_slot *s)
{
	struct disk *d = (struct disk *)k;
	int r = layout(d->ii, d->o, s->boot_content, 0, 0, d->p);

	if (r < 0)
		return r;
	k->offset = d->p->slot_a_start;
	k->max = d->o->slot_size ? d->o->slot_size : 64ULL * 1024 * MiB;
	r = aim_copy_sparse(d->in_fd, 0, k->fd, 0, d->ii->gap_end, NULL, NULL, NULL);
	/* UEFI x86 (G): the BIOS boot partition is not kept, so the boot code in the
	 * protective MBR, which would jump into GRUB's core there, goes too: a BIOS-only
	 * machine says it has nothing to boot instead of running what is now the ESP. */
	if (r == 0 && !strcmp(d->ii->shape, "G")) {
		static const uint8_t zero[440];
		if (pwrite(k->fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero))
			r = -errno;
	}
	return r;
}

/* The squashfs is written: the final layout, and slot B (unless empty) as a copy of A. */
static int place_copy(struct aim_slot_sink *k, const struct aim_slot *s)
{
	struct disk *d = (struct disk *)k;
	uint64_t a = d->p->slot_a_start;
	int r = layout(d->ii, d->o, s->boot_content, s->sqfs_size, s->slot_bytes, d->p);

	if (r < 0)
		return r;
	if (d->p->slot_a_start != a)
		return aim_error_set(-EINVAL, "internal error: slot A moved");
	k->copy_fd = d->o->slot_b_empty ? -1 : k->fd;
	k->copy_offset = d->p->slot_b_start;
	return 0;
}

int aim_convert_run(const char *in_path, int in_fd, const struct aim_image_info *ii,
		    const struct aim_convert_opts *o, int out_fd, aim_convert_progress_fn fn,
		    void *ud, struct aim_convert_plan *ret)
{
	struct disk d = {
		.sink = {.fd = out_fd, .copy_fd = -1, .place_rootfs = place_rootfs,
			 .place_copy = place_copy, .progress = fn, .ud = ud},
		.ii = ii,
		.o = o,
		.in_fd = in_fd,
		.p = ret,
	};
	struct aim_slot s = {0};
	char stage[4096] = "", img[64];
	int r;

	memset(ret, 0, sizeof(*ret));
	if (sodium_init() < 0)
		return -ENOMEM;
	snprintf(img, sizeof(img), "/proc/%d/fd/%d", (int)getpid(), out_fd);
	snprintf(stage, sizeof(stage), "%s/armimmutable-boot-XXXXXX",
		 o->tmpdir ? o->tmpdir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"));
	if (!mkdtemp(stage)) {
		r = aim_error_set(-errno, "cannot create a staging directory in %s: %m",
				  o->tmpdir ? o->tmpdir : "/var/tmp");
		stage[0] = 0;
		goto out;
	}
	d.sink.dir = stage;
	/* Slot A's and B's armbianEnv.txt name their partitions. */
	aim_convert_ids(ii, ret);
	snprintf(s.root_partuuid[0], sizeof(s.root_partuuid[0]), "%s", ret->partuuid[1]);
	snprintf(s.root_partuuid[1], sizeof(s.root_partuuid[1]), "%s", ret->partuuid[2]);
	r = aim_slot_build(in_path, ii, o, &d.sink, &s);
	ret->transforms = s.transforms;
	ret->ab_boot = s.ab_boot;
	snprintf(ret->boot_note, sizeof(ret->boot_note), "%s", s.boot_note);
	ret->stats = s.stats;
	ret->verity = s.verity;
	ret->v = s.v;
	snprintf(ret->verity_note, sizeof(ret->verity_note), "%s", s.verity_note);
	if (r < 0)
		goto out;
	if (ftruncate(out_fd, (off_t)ret->disk_size) < 0) {
		r = aim_error_set(-errno, "cannot size the output to %" PRIu64 " bytes: %m",
				  ret->disk_size);
		goto out;
	}
	if (fn)
		fn(ud, "boot partition", 0, 1);
	/* Directory times: creating files in them touched their mtimes. */
	r = stamp_dirs(stage, s.epoch);
	for (int i = 0; r == 0 && ret->rpi && i < 2; i++) {
		/* Raspberry Pi: each slot's boot files on its own partition (docs/rpi.md) */
		char dir[4200], label[16];
		snprintf(dir, sizeof(dir), "%s/.rpi-%c", stage, 'a' + i);
		snprintf(label, sizeof(label), "ARMBI_BOOT%c", 'A' + i);
		r = aim_rpi_split_stage(stage, (char)('a' + i), dir, s.epoch);
		if (r == 0)
			r = make_boot_fs(img, ret->rpi_start[i], ret->rpi_size, ret->rpi_serial[i],
					 label, dir, s.epoch);
	}
	if (r == 0)
		r = make_boot_fs(img, ret->boot_start, ret->boot_size, ret->boot_serial,
				 "ARMBI_BOOT", stage, s.epoch);
	if (r < 0)
		goto out;
	if (fn)
		fn(ud, "data partition", 0, 1);
	r = make_data_fs(img, ret, s.epoch);
	if (r < 0)
		goto out;
	r = write_table(out_fd, ii, ret);
out:
	if (stage[0])
		rm_rf(stage);
	return r;
}
