/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dm-verity hash tree of a slot image, made on the device (delta-tree.h). */
#include "delta-tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "util/sha256.h"

#define BLK 4096u
#define HASH 32u
#define PER (BLK / HASH)
#define LEVELS_MAX 16

struct aim_vtree {
	uint64_t data_blocks, fed, nblocks;
	uint8_t salt[256];
	size_t salt_len;
	uint8_t *l0;           /* data_blocks hashes */
	uint8_t part[BLK];     /* a data block fed in parts */
	int broken;            /* the feed skipped bytes: no tree */
	uint8_t *tree;         /* nblocks * BLK, built once */
	unsigned levels;
	uint64_t lblocks[LEVELS_MAX], lpos[LEVELS_MAX]; /* blocks and position (in blocks) */
};

static int salted(const struct aim_vtree *v, const uint8_t *b, uint8_t out[HASH])
{
	_cleanup_(aim_sha256_done) struct aim_sha256 h = { 0 };
	int r = aim_sha256_init(&h);

	if (r == 0)
		r = aim_sha256_update(&h, v->salt, v->salt_len);
	if (r == 0)
		r = aim_sha256_update(&h, b, BLK);
	if (r == 0)
		r = aim_sha256_final(&h, out);
	return r;
}

int aim_vtree_new(uint64_t data_blocks, uint64_t hash_size, const uint8_t *salt,
		  size_t salt_len, struct aim_vtree **ret)
{
	struct aim_vtree *v;
	uint64_t n = data_blocks, total = 0;
	unsigned levels = 0;

	if (data_blocks < 2 || salt_len > sizeof(v->salt) || data_blocks > (UINT64_MAX / HASH))
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (n > 1 && levels < LEVELS_MAX) { /* as aim_verity_tree_size() counts */
		n = (n + PER - 1) / PER;
		v->lblocks[levels++] = n;
		total += n;
	}
	if (n > 1 || total * BLK != hash_size) {
		free(v);
		return -EINVAL;
	}
	/* the top level first, level 0 last */
	for (uint64_t i = levels, pos = 0; i-- > 0;) {
		v->lpos[i] = pos;
		pos += v->lblocks[i];
	}
	v->levels = levels;
	v->nblocks = total;
	v->data_blocks = data_blocks;
	memcpy(v->salt, salt, salt_len);
	v->salt_len = salt_len;
	v->l0 = malloc(data_blocks * HASH);
	if (!v->l0) {
		free(v);
		return -ENOMEM;
	}
	*ret = v;
	return 0;
}

void aim_vtree_free(struct aim_vtree *v)
{
	if (!v)
		return;
	free(v->l0);
	free(v->tree);
	free(v);
}

int aim_vtree_feed(struct aim_vtree *v, uint64_t off, const uint8_t *b, size_t len)
{
	uint64_t end = v->data_blocks * BLK;
	int r;

	if (v->broken || off >= end)
		return 0;
	if (off != v->fed) {
		v->broken = 1; /* not in order: the tree is fetched instead */
		return 0;
	}
	len = (size_t)MIN((uint64_t)len, end - off);
	while (len) {
		size_t in = (size_t)(v->fed % BLK), k = MIN(len, (size_t)(BLK - in));
		const uint8_t *blk = b;

		if (in || k < BLK) {
			memcpy(v->part + in, b, k);
			blk = v->part;
		}
		if (in + k == BLK) {
			r = salted(v, blk, v->l0 + (v->fed / BLK) * HASH);
			if (r < 0)
				return r;
		}
		v->fed += k;
		b += k;
		len -= k;
	}
	return 0;
}

static int build(struct aim_vtree *v)
{
	v->tree = calloc(v->nblocks, BLK);
	if (!v->tree)
		return -ENOMEM;
	memcpy(v->tree + v->lpos[0] * BLK, v->l0, v->data_blocks * HASH);
	for (unsigned i = 0; i + 1 < v->levels; i++)
		for (uint64_t m = 0; m < v->lblocks[i]; m++) {
			int r = salted(v, v->tree + (v->lpos[i] + m) * BLK,
				       v->tree + v->lpos[i + 1] * BLK + m * HASH);
			if (r < 0)
				return r;
		}
	return 0;
}

int aim_vtree_read(struct aim_vtree *v, uint64_t off, uint8_t *b, size_t len)
{
	int r;

	if (v->broken || v->fed != v->data_blocks * BLK)
		return -EAGAIN;
	if (off + len > v->nblocks * BLK || off + len < off)
		return -EINVAL;
	if (!v->tree && (r = build(v)) < 0)
		return r;
	memcpy(b, v->tree + off, len);
	return 0;
}
