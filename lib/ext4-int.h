/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What ext4.c (open, metadata, the tree walk, reads by path) and ext4-data.c (file data)
 * share. Not for use outside lib/ext4*.c. */
#ifndef AIM_EXT4_INT_H
#define AIM_EXT4_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ext2fs/ext2_fs.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>

#include "ext4.h"
#include "tree.h"

#define EXT4_CHUNK (1024 * 1024)

static inline const char *ext4_strerr(errcode_t e)
{
	return error_message(e);
}

struct aim_ext4 {
	ext2_filsys fs;
	int fd; /* our own O_RDONLY fd of the image, for data preads */
	uint64_t offset, size;
	uint32_t block_size;
	size_t isize;  /* bytes of ibuf: the on-disk inode size, at least the large struct */
	uint8_t *ibuf; /* the inode being looked at (under lock): in-inode xattrs included */
	pthread_mutex_t lock;
	struct aim_data_source source; /* the data of the trees loaded from here */
};

/* One run of a file's logical blocks: pblk == 0 with uninit set means "reads as zeros". */
struct ext4_run {
	uint64_t lblk, pblk, len;
	bool uninit;
};

struct ext4_runs {
	struct ext4_run *v;
	size_t n, cap;
};

int aim_ext4_read_inode(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large **ret);
int aim_ext4_inline_read(struct aim_ext4 *e, ext2_ino_t ino, uint64_t size, uint8_t **ret,
			 size_t *ret_len);
/* Maps a libext2fs error to -Exxx, recording what failed. */
int aim_ext4_err(errcode_t e, const char *what, const char *path);
int aim_ext4_read_symlink(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large *in,
			  const char *path, char **ret);

#endif
