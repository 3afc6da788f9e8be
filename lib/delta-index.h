/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The block index of a slot image (docs/delta.md section 6): `/slot-X/rootfs.idx`, written
 * by convert beside the slot it made, carried by a bundle as a boot payload (so its
 * SHA-256 is in the signed manifest) and written by install beside the slot it filled.
 *
 * It cuts the whole slot image (the squashfs, and with verity its hash tree) into pieces
 * that follow each other without gaps: every stored squashfs data and fragment block is
 * one piece; what lies between (superblock, metadata tables, padding, the hash tree) is cut
 * into pieces of at most 64 KiB; a piece of zeros is marked so (made locally). Each piece
 * has the SHA-256 of its bytes. A delta install finds a piece of the new slot in the
 * running slot by that hash, wherever it lies there.
 *
 *	0   magic "AIMDIDX\n"
 *	8   le32 format (1)          12  le32 header size (128)
 *	16  le64 slot image bytes    24  SHA-256 of the slot image (32)
 *	56  le64 squashfs bytes_used 64  le32 squashfs block size
 *	68  le16 squashfs compressor 70  le16 zero
 *	72  le32 piece count         76  le32 entry size (40)
 *	80  layout name, NUL padded (32): "delta", "packed", ...
 *	112 16 zero bytes
 *	128 entries: le32 length, le32 kind, SHA-256 (32)
 */
#ifndef AIM_DELTA_INDEX_H
#define AIM_DELTA_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define AIM_DELTA_INDEX_NAME "rootfs.idx"
#define AIM_DELTA_MAGIC "AIMDIDX\n"
#define AIM_DELTA_HEADER 128u
#define AIM_DELTA_ENTRY 40u
#define AIM_DELTA_META_PIECE (64u * 1024)  /* non-block ranges are cut at this size */
#define AIM_DELTA_PIECE_MAX (16u << 20)
#define AIM_DELTA_INDEX_MAX (256u << 20)   /* bytes of an index file */

enum aim_piece_kind { AIM_PIECE_BLOCK = 0, AIM_PIECE_META = 1, AIM_PIECE_ZERO = 2 };

struct aim_piece {
	uint64_t off;
	uint32_t len;
	uint32_t kind;
	uint8_t sha256[32];
};

struct aim_delta_index {
	uint64_t size;       /* slot image bytes */
	uint8_t sha256[32];  /* of the slot image */
	uint64_t sqfs_bytes;
	uint32_t block_size;
	uint16_t comp;
	char layout[33];
	struct aim_piece *p;
	size_t n;
	uint32_t *ht; /* hash table of piece numbers + 1 (0: empty), by SHA-256 */
	size_t htcap;
};

/* Checks and parses an index file (every bound, pieces adding up to size). -EBADMSG with
 * a detail. */
int aim_delta_index_parse(const void *buf, size_t len, struct aim_delta_index **ret);
/* Serializes x (malloc'd buffer). */
int aim_delta_index_format(const struct aim_delta_index *x, uint8_t **ret, size_t *ret_len);
struct aim_delta_index *aim_delta_index_free(struct aim_delta_index *x);
static inline void aim_delta_index_freep(struct aim_delta_index **x)
{
	aim_delta_index_free(*x);
}
/* A piece of x with that SHA-256 and length (the first one), or NULL. Builds the hash
 * table on first use. */
const struct aim_piece *aim_delta_index_find(struct aim_delta_index *x, const uint8_t md[32],
					     uint32_t len);

/* Host only (libsquashfs): the index of the slot image of size bytes at offset off of fd,
 * whose SHA-256 is sha256; layout names the --sqfs-layout it was made with. */
int aim_delta_index_make(int fd, uint64_t off, uint64_t size, const uint8_t sha256[32],
			 const char *layout, struct aim_delta_index **ret);

#endif
