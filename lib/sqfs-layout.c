/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The --sqfs-layout values (aim_sqfs_parse_layout, squashfs.h), and our squashfs data block
 * writer: a sqfs_block_writer_t for libsquashfs 1.2's block processor. It does what the
 * library's default writer does (blocks appended in the processor's order; a file whose
 * blocks repeat an earlier run of blocks byte for byte is stored once), so the output is
 * byte-identical to it, and with align > 1 also starts every file's first stored block and
 * every fragment block at a multiple of align, zeros in between (docs/delta.md: unchanged
 * files then give the same 4 KiB blocks wherever they move). libsquashfs 1.2's own
 * SQFS_BLK_ALIGN pads by the wrong amount (updates-research.md 1.6), hence our own.
 */
#include "sqfs-layout.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqfs/block.h>
#include <sqfs/error.h>
#include <sqfs/io.h>

#include "squashfs.h"
#include "base/log.h"

struct rec {
	sqfs_u64 off;
	sqfs_u32 size; /* stored bytes, bit 24 set when uncompressed */
	sqfs_u32 sum;
};

struct aim_bw {
	sqfs_block_writer_t base;
	sqfs_file_t *file;
	sqfs_u32 align;
	struct rec *r;
	size_t n, cap;
	size_t file_first;  /* index of the current file's first record */
	sqfs_u64 file_start; /* output size when the current file began */
	bool pending;        /* the current file's first stored block is still to come */
	sqfs_u64 first_off;  /* where it went */
	sqfs_u64 written;
	uint8_t *cmp_a, *cmp_b;
	size_t cmp_cap;
};

#define MAX_ALIGN (1u << 20)
#define STORED(s) ((s) & ((1u << 24) - 1))

static int pad_to_align(struct aim_bw *w)
{
	static const uint8_t zeros[4096];
	sqfs_u64 size = w->file->get_size(w->file), to;
	int err;

	if (w->align <= 1)
		return 0;
	to = (size + w->align - 1) / w->align * w->align;
	while (size < to) {
		size_t n = to - size < sizeof(zeros) ? (size_t)(to - size) : sizeof(zeros);

		err = w->file->write_at(w->file, size, zeros, n);
		if (err)
			return err;
		size += n;
	}
	return 0;
}

static int push(struct aim_bw *w, sqfs_u64 off, sqfs_u32 size, sqfs_u32 sum)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		struct rec *r = realloc(w->r, cap * sizeof(*r));

		if (!r)
			return SQFS_ERROR_ALLOC;
		w->r = r;
		w->cap = cap;
	}
	w->r[w->n++] = (struct rec){ off, size, sum };
	return 0;
}

/* Are records a..a+count and b..b+count the same bytes? Sizes and sums match already. */
static int same_bytes(struct aim_bw *w, size_t a, size_t b, size_t count, bool *same)
{
	sqfs_u64 len = w->r[a + count - 1].off + STORED(w->r[a + count - 1].size) - w->r[a].off;
	sqfs_u64 done = 0;
	int err;

	*same = false;
	if (!w->cmp_cap) {
		w->cmp_cap = 1u << 20;
		w->cmp_a = malloc(w->cmp_cap);
		w->cmp_b = malloc(w->cmp_cap);
		if (!w->cmp_a || !w->cmp_b)
			return SQFS_ERROR_ALLOC;
	}
	while (done < len) {
		size_t n = len - done < w->cmp_cap ? (size_t)(len - done) : w->cmp_cap;

		err = w->file->read_at(w->file, w->r[a].off + done, w->cmp_a, n);
		if (!err)
			err = w->file->read_at(w->file, w->r[b].off + done, w->cmp_b, n);
		if (err)
			return err;
		if (memcmp(w->cmp_a, w->cmp_b, n))
			return 0;
		done += n;
	}
	*same = true;
	return 0;
}

/* An earlier contiguous run of records equal to the current file's, or SIZE_MAX. */
static int find_dup(struct aim_bw *w, size_t *ret)
{
	size_t count = w->n - w->file_first, i, j;
	bool same;
	int err;

	*ret = SIZE_MAX;
	for (i = 0; i + count <= w->file_first; i++) {
		for (j = 0; j < count; j++) {
			const struct rec *a = &w->r[i + j], *b = &w->r[w->file_first + j];

			if (a->size != b->size || a->sum != b->sum)
				break;
			if (j && a->off != w->r[i + j - 1].off + STORED(w->r[i + j - 1].size))
				break; /* a gap: not one run */
		}
		if (j < count)
			continue;
		err = same_bytes(w, i, w->file_first, count, &same);
		if (err)
			return err;
		if (same) {
			*ret = i;
			return 0;
		}
	}
	return 0;
}

static int bw_write(sqfs_block_writer_t *base, void *user, sqfs_u32 size, sqfs_u32 checksum,
		    sqfs_u32 flags, const sqfs_u8 *data, sqfs_u64 *location)
{
	struct aim_bw *w = (struct aim_bw *)base;
	sqfs_u64 off;
	size_t dup;
	int err;

	(void)user;
	if (flags & SQFS_BLK_FIRST_BLOCK) {
		w->file_first = w->n;
		w->file_start = w->file->get_size(w->file);
		w->pending = true;
	}
	if (size && !(flags & SQFS_BLK_IS_SPARSE)) {
		bool frag = flags & SQFS_BLK_FRAGMENT_BLOCK;

		if (frag || w->pending) {
			err = pad_to_align(w);
			if (err)
				return err;
		}
		off = w->file->get_size(w->file);
		err = w->file->write_at(w->file, off, data, size);
		if (err)
			return err;
		w->written += size;
		*location = off;
		if (frag)
			return 0;
		if (w->pending) {
			w->first_off = off;
			w->pending = false;
		}
		err = push(w, off, size | ((flags & SQFS_BLK_IS_COMPRESSED) ? 0 : 1u << 24),
			   checksum);
		if (err)
			return err;
	} else {
		*location = w->file->get_size(w->file);
	}
	if (!(flags & SQFS_BLK_LAST_BLOCK))
		return 0;

	if (w->n == w->file_first) { /* nothing stored (empty or all sparse) */
		*location = 0;
		return 0;
	}
	*location = w->first_off;
	if (flags & SQFS_BLK_DONT_DEDUPLICATE)
		return 0;
	err = find_dup(w, &dup);
	if (err)
		return err;
	if (dup != SIZE_MAX) {
		*location = w->r[dup].off;
		w->n = w->file_first;
		return w->file->truncate(w->file, w->file_start);
	}
	return 0;
}

static sqfs_u64 bw_count(const sqfs_block_writer_t *base)
{
	return ((const struct aim_bw *)base)->n;
}

static void bw_destroy(sqfs_object_t *obj)
{
	struct aim_bw *w = (struct aim_bw *)obj;

	free(w->r);
	free(w->cmp_a);
	free(w->cmp_b);
	free(w);
}

sqfs_block_writer_t *aim_sqfs_block_writer_create(sqfs_file_t *file, uint32_t align)
{
	struct aim_bw *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->base.base.destroy = bw_destroy;
	w->base.write_data_block = bw_write;
	w->base.get_block_count = bw_count;
	w->file = file;
	w->align = align;
	return &w->base;
}

/* One item of a --sqfs-layout list, len bytes at p: 0, or -1 when it is none we know. */
static int layout_item(const char *p, size_t len, struct aim_sqfs_opts *o)
{
	const char *num;
	unsigned long v;
	char *end;

	if (len == strlen("no-fragments") && !strncmp(p, "no-fragments", len)) {
		o->no_fragments = 1;
		return 0;
	}
	if (len > 7 && !strncmp(p, "groups=", 7))
		num = p + 7;
	else if (len > 6 && !strncmp(p, "align=", 6))
		num = p + 6;
	else
		return -1;
	if (*num < '0' || *num > '9')
		return -1;
	errno = 0;
	v = strtoul(num, &end, 10);
	if (errno || end != p + len)
		return -1;
	if (p[0] == 'g' && v >= 1 && v <= 65536)
		o->frag_group = (uint32_t)v;
	else if (p[0] == 'a' && v >= 512 && v <= MAX_ALIGN && !(v & (v - 1)))
		o->align = (uint32_t)v;
	else
		return -1;
	return 0;
}

int aim_sqfs_parse_layout(const char *s, struct aim_sqfs_opts *o)
{
	const char *p = s, *e;

	o->align = 0;
	o->no_fragments = 0;
	o->frag_group = 0;
	if (!strcmp(s, "packed"))
		return 0;
	if (!strcmp(s, "delta")) {
		o->frag_group = AIM_SQFS_DELTA_GROUP;
		return 0;
	}
	for (;; p = e + 1) { /* every item, the empty ones too (refused) */
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		if (layout_item(p, (size_t)(e - p), o) < 0)
			return aim_error_set(-EINVAL, "bad squashfs layout '%.*s' in '%s' (packed, "
					     "delta, or groups=N, no-fragments, align=N)",
					     (int)(e - p), p, s);
		if (!*e)
			return 0;
	}
}
