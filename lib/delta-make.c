/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Making the block index of a slot image (delta-index.h), host only: the stored data
 * blocks (from the file inodes) and fragment blocks (from the fragment table) are found
 * with libsquashfs, as bench/delta-blocks.c measured them.
 */
#include "delta-index.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqfs/block.h>
#include <sqfs/compressor.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_reader.h>
#include <sqfs/super.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "util/sha256.h"

/* A read-only sqfs_file_t over [off, off + size) of an fd. */
struct in_file {
	sqfs_file_t base;
	int fd;
	uint64_t off, size;
};

static int if_read_at(sqfs_file_t *base, sqfs_u64 off, void *buf, size_t len)
{
	struct in_file *f = (struct in_file *)base;

	if (off + len > f->size || off + len < off)
		return SQFS_ERROR_OUT_OF_BOUNDS;
	return aim_pread_full(f->fd, buf, len, f->off + off) < 0 ? SQFS_ERROR_IO : 0;
}

static int if_write_at(sqfs_file_t *base, sqfs_u64 off, const void *buf, size_t len)
{
	(void)base, (void)off, (void)buf, (void)len;
	return SQFS_ERROR_IO;
}

static sqfs_u64 if_get_size(const sqfs_file_t *base)
{
	return ((const struct in_file *)base)->size;
}

static int if_truncate(sqfs_file_t *base, sqfs_u64 size)
{
	(void)base, (void)size;
	return SQFS_ERROR_IO;
}

static void if_destroy(sqfs_object_t *o)
{
	(void)o;
}

struct blocks {
	struct aim_piece *p;
	size_t n, cap;
	uint64_t limit;
};

static int add_block(struct blocks *b, uint64_t off, uint32_t len)
{
	if (!len)
		return 0; /* a sparse block: nothing stored */
	if (off + len > b->limit || len > AIM_DELTA_PIECE_MAX)
		return aim_error_set(-EBADMSG, "a squashfs block lies outside the image");
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct aim_piece *p = realloc(b->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n++] = (struct aim_piece){ .off = off, .len = len, .kind = AIM_PIECE_BLOCK };
	return 0;
}

static int list_blocks(sqfs_file_t *f, const sqfs_super_t *sb, struct blocks *b)
{
	sqfs_compressor_config_t cfg;
	sqfs_compressor_t *cmp = NULL;
	sqfs_meta_reader_t *mr = NULL;
	sqfs_frag_table_t *ft = NULL;
	sqfs_u64 blk = sb->inode_table_start;
	size_t moff = 0;
	int r = 0;

	sqfs_compressor_config_init(&cfg, sb->compression_id, sb->block_size, 0);
	cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	if (sqfs_compressor_create(&cfg, &cmp))
		return aim_error_set(-EOPNOTSUPP, "the squashfs compressor is not available");
	mr = sqfs_meta_reader_create(f, cmp, sb->inode_table_start, sb->directory_table_start);
	if (!mr) {
		r = -ENOMEM;
		goto out;
	}
	for (sqfs_u32 k = 0; k < sb->inode_count && r == 0; k++) {
		sqfs_inode_generic_t *in = NULL;
		sqfs_u64 pos;

		if (sqfs_meta_reader_read_inode(mr, sb, blk - sb->inode_table_start, moff, &in)) {
			r = aim_error_set(-EBADMSG, "cannot read the squashfs inode table");
			break;
		}
		sqfs_meta_reader_get_position(mr, &blk, &moff);
		if (in->base.type == SQFS_INODE_FILE || in->base.type == SQFS_INODE_EXT_FILE) {
			size_t nb = sqfs_inode_get_file_block_count(in);

			sqfs_inode_get_file_block_start(in, &pos);
			for (size_t i = 0; i < nb && r == 0; i++) {
				uint32_t sz = in->extra[i] & ((1u << 24) - 1);

				r = add_block(b, pos, sz);
				pos += sz;
			}
		}
		sqfs_free(in);
	}
	if (r < 0)
		goto out;
	ft = sqfs_frag_table_create(0);
	if (!ft || sqfs_frag_table_read(ft, f, sb, cmp)) {
		r = aim_error_set(-EBADMSG, "cannot read the squashfs fragment table");
		goto out;
	}
	for (size_t i = 0; i < sqfs_frag_table_get_size(ft) && r == 0; i++) {
		sqfs_fragment_t fr;

		if (sqfs_frag_table_lookup(ft, (sqfs_u32)i, &fr))
			r = aim_error_set(-EBADMSG, "bad squashfs fragment table");
		else
			r = add_block(b, fr.start_offset, fr.size & ((1u << 24) - 1));
	}
out:
	if (ft)
		sqfs_destroy(ft);
	if (mr)
		sqfs_destroy(mr);
	if (cmp)
		sqfs_destroy(cmp);
	return r;
}

static int piece_cmp(const void *a, const void *b)
{
	const struct aim_piece *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int is_zero(const uint8_t *b, size_t n)
{
	return n == 0 || (b[0] == 0 && !memcmp(b, b + 1, n - 1));
}

/* Appends the piece [off, off+len) of kind (META pieces of zeros become ZERO), hashed. */
static int emit(struct aim_delta_index *x, size_t *cap, int fd, uint64_t base, uint64_t off,
		uint32_t len, uint32_t kind, uint8_t *buf)
{
	struct aim_piece *p;
	int r;

	if (x->n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		p = realloc(x->p, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		x->p = p;
		*cap = c;
	}
	r = aim_pread_full(fd, buf, len, base + off);
	if (r < 0)
		return aim_error_set(r, "cannot read the slot image: %s", strerror(-r));
	p = &x->p[x->n++];
	*p = (struct aim_piece){ .off = off, .len = len, .kind = kind };
	if (kind == AIM_PIECE_META && is_zero(buf, len))
		p->kind = AIM_PIECE_ZERO;
	return aim_sha256_oneshot(buf, len, p->sha256);
}

static int emit_range(struct aim_delta_index *x, size_t *cap, int fd, uint64_t base,
		      uint64_t from, uint64_t to, uint8_t *buf)
{
	while (from < to) {
		uint32_t len = (uint32_t)MIN(to - from, (uint64_t)AIM_DELTA_META_PIECE);
		int r = emit(x, cap, fd, base, from, len, AIM_PIECE_META, buf);

		if (r < 0)
			return r;
		from += len;
	}
	return 0;
}

int aim_delta_index_make(int fd, uint64_t off, uint64_t size, const uint8_t sha256[32],
			 const char *layout, struct aim_delta_index **ret)
{
	_cleanup_(aim_delta_index_freep) struct aim_delta_index *x = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct in_file f = {
		.base = { .base = { .destroy = if_destroy },
			  .read_at = if_read_at, .write_at = if_write_at,
			  .get_size = if_get_size, .truncate = if_truncate },
		.fd = fd, .off = off, .size = size,
	};
	struct blocks b = { .limit = size };
	sqfs_super_t sb;
	uint64_t end = 0;
	size_t cap = 0;
	int r;

	if (sqfs_super_read(&sb, &f.base))
		return aim_error_set(-EBADMSG, "the slot image is not a squashfs");
	if (sb.bytes_used > size)
		return aim_error_set(-EBADMSG, "the squashfs is larger than the slot image");
	b.limit = sb.bytes_used;
	r = list_blocks(&f.base, &sb, &b);
	if (r < 0)
		goto out;
	qsort(b.p, b.n, sizeof(*b.p), piece_cmp);
	x = calloc(1, sizeof(*x));
	buf = malloc(AIM_DELTA_PIECE_MAX);
	if (!x || !buf) {
		r = -ENOMEM;
		goto out;
	}
	x->size = size;
	memcpy(x->sha256, sha256, 32);
	x->sqfs_bytes = sb.bytes_used;
	x->block_size = sb.block_size;
	x->comp = sb.compression_id;
	snprintf(x->layout, sizeof(x->layout), "%s", layout ? layout : "");
	for (size_t i = 0; i < b.n && r == 0; i++) {
		if (b.p[i].off + b.p[i].len <= end)
			continue; /* a block stored once for two files */
		if (b.p[i].off < end) {
			r = aim_error_set(-EBADMSG, "squashfs blocks overlap at byte %" PRIu64,
					  b.p[i].off);
			break;
		}
		r = emit_range(x, &cap, fd, off, end, b.p[i].off, buf);
		if (r == 0)
			r = emit(x, &cap, fd, off, b.p[i].off, b.p[i].len, AIM_PIECE_BLOCK, buf);
		end = b.p[i].off + b.p[i].len;
	}
	/* the rest: the tables up to the 4 KiB boundary where a verity tree starts, then the
	 * tree (or padding): so that no piece holds both */
	if (r == 0)
		r = emit_range(x, &cap, fd, off, end, MIN(size, MAX(end, ALIGN_UP(sb.bytes_used,
								     (uint64_t)4096))), buf);
	if (r == 0)
		r = emit_range(x, &cap, fd, off, MAX(end, ALIGN_UP(sb.bytes_used, (uint64_t)4096)),
			       size, buf);
	if (r == 0)
		*ret = TAKE_PTR(x);
out:
	free(b.p);
	return r;
}
