/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dm-verity through the device-mapper ioctls (<linux/dm-ioctl.h>; Debian has no static
 * libdevmapper): the read-only verity device aim-boot mounts a root slot from
 * (docs/boot.md "dm-verity and corruption"). libc only.
 *
 * Slot layout (shared with the host side): the squashfs from byte 0, zeros to a 4096
 * boundary, then the hash tree (format 1, 4096-byte data and hash blocks, no superblock)
 * at hash_offset = data_blocks * 4096.
 */
#ifndef AIM_BASE_DM_H
#define AIM_BASE_DM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AIM_DM_HEX_MAX 128 /* hex digits of a root hash or salt (sha512: 128) */

/* A slot's verity parameters (slot.env's verity_* keys). */
struct aim_verity {
	char alg[16];                   /* sha256 */
	unsigned block;                 /* 4096: data and hash block size */
	uint64_t data_blocks;
	uint64_t hash_offset;           /* bytes from the start of the device */
	char salt[AIM_DM_HEX_MAX + 1];  /* hex, or "-" for none */
	char root[AIM_DM_HEX_MAX + 1];  /* hex */
};

/*
 * The verity keys of a slot.env text: 1 when verity=1 and every key is there and sane
 * (hash_offset a multiple of the block size and not before the data's end, hex of the
 * right length), 0 when the text has no verity keys (or verity=0), -EBADMSG with a
 * message in err when they are there but wrong.
 */
int aim_verity_from_env(const char *text, struct aim_verity *ret, char *err, size_t errsz);

/*
 * The dm-verity target line for the device dev ("major:minor" or a path), as the
 * kernel's Documentation/admin-guide/device-mapper/verity.rst defines it:
 *   1 DEV DEV BLOCK BLOCK DATA_BLOCKS HASH_START ALG ROOT SALT 1 restart_on_corruption
 * HASH_START = hash_offset / block. -EINVAL for bad parameters, -ENAMETOOLONG.
 */
int aim_verity_table(const struct aim_verity *v, const char *dev, char *ret, size_t retsz);
/* Its length in 512-byte sectors. */
uint64_t aim_verity_sectors(const struct aim_verity *v);

/*
 * Creates the read-only device-mapper device name with one target (type, table) over
 * sectors, resumes it, and makes its node nodedir/name (mknod, when devtmpfs or udev has
 * not made it). /dev/mapper/control is made from /sys/class/misc/device-mapper/dev when
 * missing. ret_node: the node's path; ret_dev: its dev_t. On failure the device is
 * removed again; -errno with a message in err.
 */
int aim_dm_create(const char *name, const char *type, uint64_t sectors, const char *table,
		  const char *nodedir, char *ret_node, size_t nodesz, dev_t *ret_dev, char *err,
		  size_t errsz);
/*
 * Replaces the squashfs mounted at mnt (unverified) by the same partition through
 * dm-verity: its dev_t from mnt, unmount (dm claims the partition exclusively),
 * aim_dm_create(name, "verity", ...), mount the node read-only at mnt. -errno with a
 * message in err; the node's path in ret_node.
 */
int aim_verity_remount(const struct aim_verity *v, const char *mnt, const char *name,
		       const char *nodedir, char *ret_node, size_t nodesz, char *err,
		       size_t errsz);
/* Removes the device name (DM_DEV_REMOVE); -errno. */
int aim_dm_remove(const char *name);
/* The live table of name as "<type> <params>" (DM_TABLE_STATUS, table flag); -errno. */
int aim_dm_table_get(const char *name, char *ret, size_t retsz);

#endif
