/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The data block writer lib/squashfs.c gives libsquashfs's block processor: appends blocks,
 * stores a file that repeats an earlier file's blocks once (byte-compared), and with align > 1
 * starts each file's first stored block and each fragment block at a multiple of align.
 */
#ifndef AIM_SQFS_LAYOUT_H
#define AIM_SQFS_LAYOUT_H

#include <stdint.h>

#include <sqfs/block_writer.h>

/* NULL when out of memory; free with sqfs_destroy(). align: 0 or 1 (none), or a power of 2. */
sqfs_block_writer_t *aim_sqfs_block_writer_create(sqfs_file_t *file, uint32_t align);

#endif
