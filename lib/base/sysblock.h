/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block devices through sysfs (a directory argument, so that tests can fake it) and the
 * block-device ioctls of the first-boot growth. libc only (aim-boot links it).
 * Names are sysfs block names ("mmcblk0", "mmcblk0p2"); -ENAMETOOLONG when a result
 * does not fit, never truncated.
 */
#ifndef AIM_BASE_SYSBLOCK_H
#define AIM_BASE_SYSBLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Copies src into dst; -ENAMETOOLONG when it does not fit. */
int aim_copy_name(char *dst, size_t dstsz, const char *src);

/* Partition name: its number (<sysfs>/class/block/<name>/partition) and its disk's name. */
int aim_sysblock_part_info(const char *sysfs, const char *name, int *ret_partn, char *disk,
			   size_t disksz);
/* The name of partition partn of disk, by scanning <sysfs>/class/block/. */
int aim_sysblock_find_part(const char *sysfs, const char *disk, int partn, char *ret,
			   size_t retsz);
/* A device node for name: /dev/<name> when it exists, else one made in nodedir
 * (nodedir/dev-<name>, from <sysfs>/class/block/<name>/dev). */
int aim_sysblock_dev_node(const char *sysfs, const char *name, const char *nodedir, char *ret,
			  size_t retsz);
/* The name of the block device dev (an st_dev). */
int aim_sysblock_name_of_dev(const char *sysfs, dev_t dev, char *ret, size_t retsz);

/* Logical sector size and size in sectors of the block device fd; -errno. */
int aim_blockdev_geometry(int fd, unsigned *ret_lbs, uint64_t *ret_lbas);
/* Tells the kernel partition partn now spans start..start+len (bytes; BLKPG: BLKRRPART
 * fails while a partition of the disk is mounted); -errno. */
int aim_blockdev_resize_part(int fd, int partn, uint64_t start, uint64_t len);

#endif
