/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where the slots and the slot state of a converted system live: the running device or an
 * image file (docs/device-cli.md).
 *
 * Running device: <run_dir>/boot.env (written by aim-boot at boot: slot=, trial=, mode=,
 * disk=, root_dev=, boot_dev=, data_dev=, state_seq=, ...) names the booted slot and the
 * devices. The boot partition (vfat) is mounted with libmount under <run_dir>/boot-mnt
 * (in a private mount namespace when the process may create one) while the target is open
 * and unmounted by aim_target_free(). Writes: temp file, fsync, rename, fsync(dir).
 *
 * Image file: the partition table (lib/base/ptable) gives p1..p4; FAT reads and listings
 * go through lib/fat, writes through lib/mtools (mcopy/mmd/mdel -i IMG@@OFFSET), rootless.
 *
 * The core (target.c) and the two back-ends (target-image.c, target-device.c with
 * target-disk.c) meet in one table of operations: target-backend.h.
 *
 * Paths on the boot partition are absolute ("/slot-b/Image", "/factory-reset"), '/'
 * separated, without "." or ".." components. Every call that changes the boot partition
 * calls aim_fault_point() after each step.
 */
#ifndef AIM_TARGET_H
#define AIM_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "base/bootenv.h"
#include "base/buf.h"
#include "base/slotstate.h"
#include "slotenv.h"

#define AIM_TARGET_RUN_DIR AIM_RUN_DIR
#define AIM_FACTORY_RESET "/factory-reset"

struct aim_target;

struct aim_target_opts {
	const char *image;   /* image file; NULL: the running device */
	const char *run_dir; /* NULL: AIM_TARGET_RUN_DIR (tests point it elsewhere) */
	const char *sysfs;   /* NULL: "/sys" */
	const char *dev_dir; /* NULL: "/dev" */
	int readonly;        /* image opened O_RDONLY; the device's boot partition mounted ro */
	const char *boot_fstype; /* device: NULL is "vfat" (tests use ext4 where the kernel
				  * has no vfat) */
	const char *boot_dir; /* device: the boot partition is already mounted here (or a
			       * copy of it, for tests): no mount, boot_dev= not needed */
};

/* Opens the target. Errors (with a detail): -ENOENT (no boot.env: not booted by aim-boot;
 * image missing), -EBADMSG (boot.env or the partition table unusable), -EPERM/-EACCES
 * (mounting needs root), -ENODEV (a partition is missing). */
int aim_target_open(const struct aim_target_opts *o, struct aim_target **ret);

/* Unmounts the boot partition (device) and frees t. Accepts NULL, returns NULL. */
struct aim_target *aim_target_free(struct aim_target *t);

static inline void aim_target_freep(struct aim_target **t)
{
	aim_target_free(*t);
}

/* 1 for an image file, 0 for the running device. */
int aim_target_is_image(const struct aim_target *t);

/* The booted slot ('a' or 'b'), 0 for an image. */
char aim_target_booted_slot(const struct aim_target *t);

/* A value of boot.env ("mode", "trial", "reason", ...), NULL when absent or for an image.
 * Valid until aim_target_free(). */
const char *aim_target_boot_env(const struct aim_target *t, const char *key);

/* The newest valid copy of the slot state; a copy that cannot be read (a directory in its
 * place, an I/O error) counts as invalid. -ENOENT when none is valid (st->reason says
 * why), or the read error of a copy that could not be read. Remembers which copy it came
 * from for aim_target_state_store(). */
int aim_target_state_load(struct aim_target *t, struct aim_slotstate *st);

/* The copy (1 or 2) the last load returned or the last store wrote, 0 before either. */
int aim_target_state_copy(const struct aim_target *t);

/* Writes st into the older copy (the one the last load did not return; copy 2 when no
 * load succeeded), removing a directory in its place first. After a successful store, the
 * stored copy is the newer one. */
int aim_target_state_store(struct aim_target *t, const struct aim_slotstate *st);

/* Reads a file of the boot partition (at most max bytes, else -EFBIG), NUL-terminated.
 * -ENOENT when absent. */
int aim_target_read_file(struct aim_target *t, const char *path, size_t max, char **ret,
			 size_t *ret_len);

/* 1 when path exists on the boot partition, 0 when not, <0 on errors. */
int aim_target_exists(struct aim_target *t, const char *path);

/* Writes a whole file power-safely: parents created, temp name beside it, fsync, rename
 * over path, fsync(dir) (image: one mcopy -o to path, not atomic: see commit_image()). */
int aim_target_write_file(struct aim_target *t, const char *path, const void *buf, size_t len);

/* The same, streamed: begin, write chunks, commit (or abort: the temp file goes). */
struct aim_target_file;
int aim_target_file_begin(struct aim_target *t, const char *path, struct aim_target_file **ret);
int aim_target_file_write(struct aim_target_file *f, const void *buf, size_t len);
int aim_target_file_commit(struct aim_target_file *f); /* frees f, whatever the result */
void aim_target_file_abort(struct aim_target_file *f); /* frees f; accepts NULL */

/* Removes a file of the boot partition (fsync of its directory). -ENOENT when absent. */
int aim_target_remove_file(struct aim_target *t, const char *path);

/* The regular files under dir ("/slot-b"), recursively, as paths relative to it
 * ("Image", "dtb/allwinner/x.dtb"), sorted; a NULL-terminated array the caller frees with
 * aim_strv_free() (base/buf.h). An absent dir gives an empty list. */
int aim_target_list(struct aim_target *t, const char *dir, char ***ret, size_t *ret_n);

/* Removes the files under /slot-X/ that keep[] (relative paths, NULL-terminated) does not
 * name, then the directories left empty. Returns the number of files removed. */
int aim_target_prune_slot(struct aim_target *t, char slot, const char *const *keep);

/* The slot partition (2 for a, 3 for b) for streaming a root image: a path to open
 * (the image file, or /dev/<disk partition>), the offset of the slot in it and its size.
 * *ret_path valid until aim_target_free(). */
int aim_target_slot_dev(struct aim_target *t, char slot, const char **ret_path,
			uint64_t *ret_offset, uint64_t *ret_size);

/* Reads /slot-X/slot.env. -ENOENT when the slot has none (empty or unknown slot). */
int aim_target_slot_info_read(struct aim_target *t, char slot, struct aim_slot_info *ret);
int aim_target_slot_info_write(struct aim_target *t, char slot, const struct aim_slot_info *si);
/* A bundle's own slot.env (and its signature, sig may be NULL) written as they are, and
 * what install knows besides (installed, bundle) in /slot-X/install.env, which
 * aim_target_slot_info_read() lays over slot.env's values. */
int aim_target_slot_env_install(struct aim_target *t, char slot, const char *env, size_t len,
				const char *sig, size_t siglen, int64_t installed,
				const char *bundle);

#endif
