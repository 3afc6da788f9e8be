/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dm-verity hash tree of a slot image, made on the device during a delta install
 * (docs/delta.md section 7): the layout libcryptsetup writes for convert (lib/verity.c:
 * format 1, SHA-256, 4 KiB data and hash blocks, no superblock, the tree right after the
 * data): each hash is SHA-256(salt || block); 128 hashes a block, zero padded; the levels
 * from the top one down. The data is fed in order as the installer streams it; the tree is
 * then built in memory. Whatever it makes is checked against the bundle's index piece by
 * piece, and a piece that does not match is fetched: a wrong tree costs bytes, never an
 * install.
 */
#ifndef AIM_DELTA_TREE_H
#define AIM_DELTA_TREE_H

#include <stddef.h>
#include <stdint.h>

struct aim_vtree;

/* A tree over data_blocks 4 KiB blocks whose hash area is hash_size bytes, with salt.
 * -EINVAL when hash_size is not the tree of data_blocks. */
int aim_vtree_new(uint64_t data_blocks, uint64_t hash_size, const uint8_t *salt,
		  size_t salt_len, struct aim_vtree **ret);
void aim_vtree_free(struct aim_vtree *v);
/* The data from byte off on (off: what was fed so far; anything else stops the feed). */
int aim_vtree_feed(struct aim_vtree *v, uint64_t off, const uint8_t *b, size_t len);
/* The tree bytes [off, off + len) of the hash area (built on first use, once all data was
 * fed): 0, or -EAGAIN when the data was not all fed. */
int aim_vtree_read(struct aim_vtree *v, uint64_t off, uint8_t *b, size_t len);

#endif
