/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The block index of a slot image: parse, format, look up (delta-index.h). */
#include "delta-index.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/endian.h"
#include "base/log.h"
#include "base/macro.h"

struct aim_delta_index *aim_delta_index_free(struct aim_delta_index *x)
{
	if (x) {
		free(x->p);
		free(x->ht);
		free(x);
	}
	return NULL;
}

static int bad(const char *what)
{
	return aim_error_set(-EBADMSG, "not a valid block index: %s", what);
}

int aim_delta_index_parse(const void *buf, size_t len, struct aim_delta_index **ret)
{
	_cleanup_(aim_delta_index_freep) struct aim_delta_index *x = NULL;
	const uint8_t *b = buf;
	uint64_t off = 0, n;

	if (len < AIM_DELTA_HEADER || memcmp(b, AIM_DELTA_MAGIC, 8))
		return bad("no index magic");
	if (aim_get_le32(b + 8) != 1)
		return aim_error_set(-EOPNOTSUPP, "block index format %" PRIu32 " is not supported",
				     aim_get_le32(b + 8));
	if (aim_get_le32(b + 12) != AIM_DELTA_HEADER || aim_get_le32(b + 76) != AIM_DELTA_ENTRY)
		return bad("header or entry size");
	n = aim_get_le32(b + 72);
	if (n == 0 || (len - AIM_DELTA_HEADER) / AIM_DELTA_ENTRY != n ||
	    (len - AIM_DELTA_HEADER) % AIM_DELTA_ENTRY)
		return bad("the piece count does not match the file size");
	if (b[80 + 31] || aim_get_le16(b + 70))
		return bad("header fields");
	for (size_t i = 112; i < AIM_DELTA_HEADER; i++)
		if (b[i])
			return bad("reserved bytes are not zero");
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->size = aim_get_le64(b + 16);
	memcpy(x->sha256, b + 24, 32);
	x->sqfs_bytes = aim_get_le64(b + 56);
	x->block_size = aim_get_le32(b + 64);
	x->comp = aim_get_le16(b + 68);
	memcpy(x->layout, b + 80, 32);
	for (size_t i = 0; i < 32; i++) /* printable, then NUL padding only */
		if (i < strlen(x->layout) ? x->layout[i] < 0x20 || x->layout[i] > 0x7e : b[80 + i])
			return bad("layout name");
	if (x->sqfs_bytes > x->size)
		return bad("squashfs larger than the slot image");
	x->p = calloc((size_t)n, sizeof(*x->p));
	if (!x->p)
		return -ENOMEM;
	x->n = (size_t)n;
	for (size_t i = 0; i < x->n; i++) {
		const uint8_t *e = b + AIM_DELTA_HEADER + i * AIM_DELTA_ENTRY;
		struct aim_piece *p = &x->p[i];

		p->off = off;
		p->len = aim_get_le32(e);
		p->kind = aim_get_le32(e + 4);
		memcpy(p->sha256, e + 8, 32);
		if (p->len == 0 || p->len > AIM_DELTA_PIECE_MAX)
			return bad("a piece length is out of range");
		if (p->kind > AIM_PIECE_ZERO)
			return bad("unknown piece kind");
		if (off + p->len > x->size)
			return bad("the pieces run past the slot image");
		off += p->len;
	}
	if (off != x->size)
		return bad("the pieces do not cover the slot image");
	*ret = TAKE_PTR(x);
	return 0;
}

int aim_delta_index_format(const struct aim_delta_index *x, uint8_t **ret, size_t *ret_len)
{
	size_t len = AIM_DELTA_HEADER + x->n * AIM_DELTA_ENTRY;
	uint8_t *b = calloc(1, len);

	if (!b)
		return -ENOMEM;
	memcpy(b, AIM_DELTA_MAGIC, 8);
	aim_put_le32(b + 8, 1);
	aim_put_le32(b + 12, AIM_DELTA_HEADER);
	aim_put_le64(b + 16, x->size);
	memcpy(b + 24, x->sha256, 32);
	aim_put_le64(b + 56, x->sqfs_bytes);
	aim_put_le32(b + 64, x->block_size);
	aim_put_le16(b + 68, x->comp);
	aim_put_le32(b + 72, (uint32_t)x->n);
	aim_put_le32(b + 76, AIM_DELTA_ENTRY);
	memcpy(b + 80, x->layout, strnlen(x->layout, 31));
	for (size_t i = 0; i < x->n; i++) {
		uint8_t *e = b + AIM_DELTA_HEADER + i * AIM_DELTA_ENTRY;

		aim_put_le32(e, x->p[i].len);
		aim_put_le32(e + 4, x->p[i].kind);
		memcpy(e + 8, x->p[i].sha256, 32);
	}
	*ret = b;
	*ret_len = len;
	return 0;
}

static size_t slot_of(const uint8_t md[32], size_t cap)
{
	uint64_t h;

	memcpy(&h, md, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static int build_table(struct aim_delta_index *x)
{
	size_t cap = 1024;

	while (cap < x->n * 2)
		cap *= 2;
	x->ht = calloc(cap, sizeof(*x->ht));
	if (!x->ht)
		return -ENOMEM;
	x->htcap = cap;
	for (size_t i = 0; i < x->n; i++) {
		size_t s = slot_of(x->p[i].sha256, cap);

		if (x->p[i].kind == AIM_PIECE_ZERO)
			continue;
		while (x->ht[s]) {
			const struct aim_piece *q = &x->p[x->ht[s] - 1];
			if (q->len == x->p[i].len && !memcmp(q->sha256, x->p[i].sha256, 32))
				break; /* the first one stays */
			s = (s + 1) & (cap - 1);
		}
		if (!x->ht[s])
			x->ht[s] = (uint32_t)i + 1;
	}
	return 0;
}

const struct aim_piece *aim_delta_index_find(struct aim_delta_index *x, const uint8_t md[32],
					     uint32_t len)
{
	if (!x->ht && build_table(x) < 0)
		return NULL;
	for (size_t s = slot_of(md, x->htcap); x->ht[s]; s = (s + 1) & (x->htcap - 1)) {
		const struct aim_piece *q = &x->p[x->ht[s] - 1];

		if (q->len == len && !memcmp(q->sha256, md, 32))
			return q;
	}
	return NULL;
}
