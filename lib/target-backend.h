/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside lib/target: the core (target.c: paths, read-only checks, parents, pruning,
 * listing order, slot state copies, slot.env) and its two back-ends behind one table of
 * operations, as libfdisk has one per label type:
 *   target-image.c   an image file: lib/ptable for the partitions, lib/fat for reads and
 *                    listings, lib/mtools for writes;
 *   target-device.c  the running device: boot.env, the mounted boot partition, sysfs;
 *   target-disk.c    the device's disk: partitions by number through sysfs, mounting the
 *                    boot partition.
 * Not for use outside lib/target*.c.
 */
#ifndef AIM_TARGET_BACKEND_H
#define AIM_TARGET_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "target.h"

/* What every target has; a back-end's own struct begins with it. */
struct aim_target {
	const struct aim_target_ops *ops;
	int readonly;
	int last_copy;    /* copy the last state load returned or store wrote (1/2), 0: none */
	char booted_slot; /* device: 'a' or 'b' from boot.env; 0 for an image */
};

struct aim_target_file {
	struct aim_target *t;
	char *path;
	int fd;    /* device: the temp file on the mount; image: a memfd */
	char *tmp; /* device: host path of the temp file (unlinked by abort) */
};


/* Paths given to the operations passed check_path(); files and directories named by
 * exists() checks before. Every operation that changes the boot partition ends each of
 * its durable steps with aim_fault_point(). */
struct aim_target_ops {
	size_t size; /* of the back-end's struct, allocated zeroed by the core */
	int is_image;
	int (*open)(struct aim_target *t, const struct aim_target_opts *o);
	void (*free)(struct aim_target *t); /* its own members, not t; after a failed open too */
	const char *(*boot_env)(const struct aim_target *t, const char *key); /* NULL: none */
	int (*read_file)(struct aim_target *t, const char *path, size_t max, char **ret,
			 size_t *ret_len);
	int (*exists)(struct aim_target *t, const char *path);
	int (*mkdir)(struct aim_target *t, const char *path); /* the parent exists */
	int (*file_begin)(struct aim_target_file *f);         /* f->t and f->path set */
	int (*file_write)(struct aim_target_file *f, const void *buf, size_t len);
	int (*file_commit)(struct aim_target_file *f); /* the core frees f afterwards */
	int (*remove)(struct aim_target *t, const char *path);
	int (*rmdir)(struct aim_target *t, const char *path); /* empty: -ENOTEMPTY otherwise */
	/* Optional: the directory and everything under it, in one step (an image: one mtools
	 * run instead of one per file). */
	int (*rmtree)(struct aim_target *t, const char *path);
	/* The regular files under dir, recursively, relative to it, in any order. */
	int (*list)(struct aim_target *t, const char *dir, struct aim_strv *s);
	/* The newest valid copy (*ret_copy 1 or 2); -ENOENT with st->reason when none. */
	int (*state_load)(struct aim_target *t, struct aim_slotstate *st, int *ret_copy);
	int (*state_store)(struct aim_target *t, const struct aim_slotstate *st, int copy);
	int (*slot_dev)(struct aim_target *t, int idx, const char **ret_path,
			uint64_t *ret_offset, uint64_t *ret_size); /* idx 0: slot a, 1: b */
};

extern const struct aim_target_ops aim_target_image_ops;
extern const struct aim_target_ops aim_target_device_ops;

/* ---- target.c, for the back-ends ---- */

/* Sets "msg: <the detail recorded so far>" and returns r. */
int aim_target_error_wrap(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates the missing parent directories of path (ops->mkdir, a fault point after each). */
int aim_target_make_parents(struct aim_target *t, const char *path);

/* Writes to f->fd ("cannot write PATH: ..."). */
int aim_target_file_write_fd(struct aim_target_file *f, const void *buf, size_t len);


/* ---- target-disk.c ---- */

/* The name of partition n of disk ("mmcblk0p3") from <sysfs>/class/block/<disk>/. */
int aim_disk_partition(const char *sysfs, const char *disk, int n, char *ret, size_t sz);
/* The size in bytes of a block device from <sysfs>/class/block/<name>/size. */
int aim_disk_size(const char *sysfs, const char *name, uint64_t *ret);
/* Mounts node (vfat unless fstype says otherwise) on mnt (created), nosuid,nodev,noexec,
 * in a mount namespace of its own when the process may make one. */
int aim_disk_mount_boot(const char *node, const char *mnt, const char *fstype, int readonly);
void aim_disk_umount(const char *mnt);

#endif
