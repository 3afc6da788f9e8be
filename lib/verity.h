/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dm-verity for a root slot (docs/verity.md): the slot partition holds the squashfs from
 * byte 0, zeros to a 4 KiB boundary, then the hash tree (format 1, sha256, 4 KiB data and
 * hash blocks, no superblock) at hash offset H = data blocks * 4096. The tree is made with
 * libcryptsetup on a plain file, unprivileged; the salt is derived, not random, so the
 * same input and key give the same bytes. Host side only (the device build has no
 * libcryptsetup; aim-boot maps the slot with device-mapper ioctls).
 */
#ifndef AIM_VERITY_H
#define AIM_VERITY_H

#include <stddef.h>
#include <stdint.h>

#define AIM_VERITY_BLOCK 4096
#define AIM_VERITY_HASH_BYTES 32 /* sha256 */

struct aim_verity {
	uint64_t data_blocks; /* 4 KiB blocks of the data area (the padded squashfs) */
	uint64_t hash_offset; /* bytes from the partition start: data_blocks * 4096 */
	uint64_t hash_size;   /* bytes of the tree after hash_offset */
	uint8_t salt[AIM_VERITY_HASH_BYTES];
	uint8_t root[AIM_VERITY_HASH_BYTES];
};

/* The salt: SHA-256("armimmutable verity salt v1\n" || pk), pk the 32-byte Ed25519 public
 * key of the release key, or nothing when pk is NULL. */
int aim_verity_salt(const uint8_t *pk, uint8_t salt[AIM_VERITY_HASH_BYTES]);

/* Bytes of the hash tree (format 1, 4 KiB blocks, sha256) for data_blocks data blocks. */
uint64_t aim_verity_tree_size(uint64_t data_blocks);

/*
 * Formats the tree on the file at path (any path open(2) takes, /proc/self/fd/N too):
 * data_bytes of data from offset 0 (zero padded here to 4 KiB), the tree right after.
 * The file is extended as needed; bytes past the tree are left alone. Fills ret.
 * Errors carry libcryptsetup's message as the detail.
 */
int aim_verity_format(const char *path, uint64_t data_bytes,
		      const uint8_t salt[AIM_VERITY_HASH_BYTES], struct aim_verity *ret);

/* Checks the whole data area against the tree and v->root in userspace (no
 * device-mapper): 0, or -EPERM naming the first bad block. For tests and inspection. */
int aim_verity_verify(const char *path, const struct aim_verity *v);

#endif
