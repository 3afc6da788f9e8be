/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading ext2/3/4 filesystems inside image files, without mounting, through libext2fs
 * (e2fsprogs): superblock facts, the whole tree with every inode type and all metadata
 * (owner, mode, ns times, xattrs incl. security.capability and POSIX ACLs, hard links,
 * sparse extents, device nodes, fifos, sockets, fast/slow/inline symlinks), file data.
 */
#ifndef AIM_EXT4_H
#define AIM_EXT4_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

struct aim_ext4;

struct aim_ext4_info {
	char uuid[37];
	char label[17];
	char type[5];          /* "ext2", "ext3", "ext4" */
	uint32_t block_size;
	uint64_t blocks, free_blocks;
	uint64_t inodes, free_inodes;
	uint64_t used_bytes;   /* (blocks - free_blocks) * block_size */
	int needs_recovery;    /* journal not replayed: data may be stale */
	char features[256];    /* space-separated feature names, as e2p prints them */
};

/* Opens the filesystem at byte offset of the image at path (read-only; size bounds
 * the partition, 0 means up to the end of the file). Errors: -EBADMSG with a detail ("no
 * ext2/3/4 superblock at byte N", "ext4 superblock is corrupt: ...", "... claims N bytes but
 * its partition has only M"), -EOPNOTSUPP for unknown incompat features (named) and for an
 * external journal device. The encrypt feature alone is accepted (the kernel mounts such
 * filesystems); encrypted inodes are refused by aim_ext4_load_tree(). A journal that needs
 * recovery is reported in aim_ext4_info.needs_recovery, not refused.
 * The handle may be used from several threads: libext2fs calls are serialised inside. */
int aim_ext4_open(const char *path, uint64_t offset, uint64_t size, struct aim_ext4 **ret);
struct aim_ext4 *aim_ext4_free(struct aim_ext4 *fs);

int aim_ext4_get_info(struct aim_ext4 *fs, struct aim_ext4_info *ret);

/* Loads the whole tree (metadata; data stays on disk as AIM_DATA_SOURCE with src_ino the
 * inode number) into a new aim_tree whose data source is this filesystem. Hard links are linked (tree.h). Inodes
 * with the encrypt flag give -EOPNOTSUPP naming the path. POSIX ACL values come in the
 * VFS v2 format exactly as getxattr(2) on a mounted fs shows them; system.data is hidden.
 * -EBADMSG for a corrupt directory structure (loops, bad entries), -ELOOP deeper than
 * 4096 levels. lost+found is included. */
int aim_ext4_load_tree(struct aim_ext4 *fs, struct aim_tree **ret);

/* Streams the data of regular-file inode ino (size bytes): extents read with large
 * preads, holes and uninitialised extents given as holes, inline data handled. */
int aim_ext4_read_data(struct aim_ext4 *fs, uint64_t ino, uint64_t size, aim_data_fn fn,
		       void *ud);

/* Reads a small file by path (symlinks inside the filesystem followed, at most 16 hops)
 * into a NUL-terminated buffer. -ENOENT if missing, -EFBIG if larger than max. */
int aim_ext4_read_path(struct aim_ext4 *fs, const char *path, size_t max, char **ret,
		       size_t *ret_len);

/* Quick check: does the superblock at offset of fd look like ext2/3/4? (magic 0xEF53)
 * 1 yes, 0 no (also when the image or size ends before it), <0 on a read error. */
int aim_ext4_probe(int fd, uint64_t offset, uint64_t size);

#endif
