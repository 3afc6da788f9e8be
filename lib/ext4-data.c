/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ext2/3/4 file data: the extent or block map collected under fs->lock, then streamed
 * with big preads of the image without it (holes and unwritten extents read as zeros);
 * small files read by path (symlinks followed).
 */
#include "ext4-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define EXT4_MAX_SYMLINK_HOPS 16

/* ---- file data -------------------------------------------------------------------------- */

static int runs_add(struct ext4_runs *rs, uint64_t lblk, uint64_t pblk, uint64_t len, bool uninit)
{
	struct ext4_run *last = rs->n ? &rs->v[rs->n - 1] : NULL;

	/* Merge runs contiguous on disk and in the file (block-mapped files come per block). */
	if (last && last->uninit == uninit && last->lblk + last->len == lblk &&
	    (uninit || last->pblk + last->len == pblk)) {
		last->len += len;
		return 0;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct ext4_run *v = realloc(rs->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = (struct ext4_run){ lblk, pblk, len, uninit };
	return 0;
}

static int extent_runs(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large *in,
		       struct ext4_runs *rs)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t err;
	int op = EXT2_EXTENT_ROOT, r = 0;

	err = ext2fs_extent_open2(e->fs, ino, (struct ext2_inode *)in, &h);
	if (err)
		return aim_error_set(-EBADMSG, "ext4: extent tree of inode %u: %s", ino,
				     ext4_strerr(err));
	for (;;) {
		err = ext2fs_extent_get(h, op, &ex);
		if (err == EXT2_ET_EXTENT_NO_NEXT || err == EXT2_ET_NO_CURRENT_NODE)
			break;
		if (err) {
			r = aim_error_set(-EBADMSG, "ext4: extent tree of inode %u: %s", ino,
					  ext4_strerr(err));
			break;
		}
		op = EXT2_EXTENT_NEXT_LEAF;
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF) || ex.e_len == 0)
			continue;
		r = runs_add(rs, ex.e_lblk, ex.e_pblk, ex.e_len,
			     !!(ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT));
		if (r < 0)
			break;
	}
	ext2fs_extent_free(h);
	return r;
}

static int blockmap_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
		       int ref_offset, void *priv)
{
	struct ext4_runs *rs = priv;

	(void)fs;
	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0 || !*blocknr)
		return 0;
	if (runs_add(rs, (uint64_t)blockcnt, *blocknr, 1, false) < 0)
		return BLOCK_ABORT;
	return 0;
}

static int blockmap_runs(struct aim_ext4 *e, ext2_ino_t ino, struct ext4_runs *rs)
{
	errcode_t err;

	err = ext2fs_block_iterate3(e->fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, NULL,
				    blockmap_cb, rs);
	if (err)
		return aim_error_set(-EBADMSG, "ext4: block map of inode %u: %s", ino,
				     ext4_strerr(err));
	return 0;
}

struct hole_acc {
	aim_data_fn fn;
	void *ud;
	uint64_t start, len;
};

static int hole_flush(struct hole_acc *h)
{
	int r = 0;

	while (h->len > 0 && r >= 0) {
		size_t n = (size_t)MIN(h->len, (uint64_t)1 << 30);
		r = h->fn(h->ud, h->start, NULL, n);
		h->start += n;
		h->len -= n;
	}
	return r;
}

static void hole_add(struct hole_acc *h, uint64_t off, uint64_t len)
{
	if (h->len == 0)
		h->start = off;
	h->len += len;
}

static int stream_runs(struct aim_ext4 *e, ext2_ino_t ino, const struct ext4_runs *rs,
		       uint64_t size, aim_data_fn fn, void *ud)
{
	uint64_t bs = e->block_size, pos = 0, fs_blocks = ext2fs_blocks_count(e->fs->super);
	struct hole_acc h = { .fn = fn, .ud = ud };
	_cleanup_free_ uint8_t *buf = NULL;
	size_t bufsz = (size_t)MIN((uint64_t)EXT4_CHUNK, ALIGN_UP(size, bs));
	int r;

	for (size_t i = 0; i < rs->n && pos < size; i++) {
		const struct ext4_run *x = &rs->v[i];
		uint64_t start = x->lblk * bs, end;

		if (x->lblk > UINT64_MAX / bs / 2 || x->len > UINT64_MAX / bs / 2)
			return aim_error_set(-EBADMSG, "ext4: inode %u has an extent out of range",
					     ino);
		if (start < pos)
			return aim_error_set(-EBADMSG, "ext4: inode %u has overlapping extents",
					     ino);
		if (start >= size)
			break;
		end = MIN(start + x->len * bs, size);
		if (start > pos)
			hole_add(&h, pos, start - pos);
		pos = end;
		if (x->uninit) {
			hole_add(&h, start, end - start);
			continue;
		}
		if (x->pblk >= fs_blocks || x->len > fs_blocks - x->pblk)
			return aim_error_set(-EBADMSG, "ext4: inode %u points to blocks beyond "
						       "the filesystem",
					     ino);
		r = hole_flush(&h);
		if (r < 0)
			return r;
		if (!buf) {
			buf = malloc(bufsz);
			if (!buf)
				return -ENOMEM;
		}
		for (uint64_t off = start; off < end;) {
			size_t n = (size_t)MIN((uint64_t)bufsz, end - off);
			uint64_t phys = e->offset + x->pblk * bs + (off - start);

			r = aim_pread_full(e->fd, buf, n, phys);
			if (r == -EBADMSG)
				return aim_error_set(r, "ext4: inode %u: image ends inside "
							"its data",
						     ino);
			if (r < 0)
				return aim_error_set(r, "ext4: reading inode %u: %s", ino,
						     strerror(-r));
			r = fn(ud, off, buf, n);
			if (r < 0)
				return r;
			off += n;
		}
	}
	if (pos < size)
		hole_add(&h, pos, size - pos);
	return hole_flush(&h);
}

int aim_ext4_read_data(struct aim_ext4 *e, uint64_t ino64, uint64_t size, aim_data_fn fn,
		       void *ud)
{
	struct ext2_inode_large *in;
	struct ext4_runs rs = {};
	ext2_ino_t ino = (ext2_ino_t)ino64;
	int r;

	if (ino64 == 0 || ino64 > e->fs->super->s_inodes_count)
		return aim_error_set(-EINVAL, "ext4: no inode %llu", (unsigned long long)ino64);
	if (size == 0)
		return 0;

	pthread_mutex_lock(&e->lock);
	r = aim_ext4_read_inode(e, ino, &in);
	if (r < 0)
		goto unlock;
	if (!LINUX_S_ISREG(in->i_mode)) {
		r = aim_error_set(-EINVAL, "ext4: inode %u is not a regular file", ino);
		goto unlock;
	}
	if (in->i_flags & EXT4_ENCRYPT_FL) {
		r = aim_error_set(-EOPNOTSUPP, "ext4: inode %u is encrypted", ino);
		goto unlock;
	}
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		uint8_t *buf;
		size_t len;

		r = aim_ext4_inline_read(e, ino, size, &buf, &len);
		pthread_mutex_unlock(&e->lock);
		if (r < 0)
			return r;
		r = len ? fn(ud, 0, buf, len) : 0;
		free(buf);
		if (r >= 0 && len < size)
			r = hole_flush(&(struct hole_acc){ fn, ud, len, size - len });
		return r;
	}
	if (in->i_flags & EXT4_EXTENTS_FL)
		r = extent_runs(e, ino, in, &rs);
	else
		r = blockmap_runs(e, ino, &rs);
unlock:
	pthread_mutex_unlock(&e->lock);
	if (r >= 0)
		r = stream_runs(e, ino, &rs, size, fn, ud);
	free(rs.v);
	return r;
}

/* ---- read by path ----------------------------------------------------------------------- */

/* Resolves path to an inode, following symlinks (also the last component). */
static int resolve_locked(struct aim_ext4 *e, const char *path, ext2_ino_t *ret,
			  uint32_t *ret_mode, uint64_t *ret_size)
{
	struct ext2_inode_large *in;
	_cleanup_free_ char *rest = strdup(path);
	ext2_ino_t dir = EXT2_ROOT_INO, ino = EXT2_ROOT_INO;
	unsigned hops = 0;
	char *p;
	int r;

	if (!rest)
		return -ENOMEM;
	p = rest;
	r = aim_ext4_read_inode(e, ino, &in);
	if (r < 0)
		return r;
	for (;;) {
		char *name, *slash;
		errcode_t err;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		name = p;
		slash = strchr(p, '/');
		if (slash) {
			*slash = '\0';
			p = slash + 1;
		} else {
			p += strlen(p);
		}
		if (!LINUX_S_ISDIR(in->i_mode))
			return aim_error_set(-ENOTDIR, "ext4: %s: a component is not a directory",
					     path);
		dir = ino;
		err = ext2fs_lookup(e->fs, dir, name, (int)strlen(name), NULL, &ino);
		if (err == EXT2_ET_FILE_NOT_FOUND)
			return aim_error_set(-ENOENT, "ext4: %s not found (no \"%s\")", path, name);
		if (err)
			return aim_ext4_err(err, "looking up", path);
		r = aim_ext4_read_inode(e, ino, &in);
		if (r < 0)
			return r;
		if (LINUX_S_ISLNK(in->i_mode)) {
			_cleanup_free_ char *target = NULL;
			char *next;

			if (++hops > EXT4_MAX_SYMLINK_HOPS)
				return aim_error_set(-ELOOP,
						     "ext4: %s: more than %d symlinks to follow",
						     path, EXT4_MAX_SYMLINK_HOPS);
			r = aim_ext4_read_symlink(e, ino, in, path, &target);
			if (r < 0)
				return r;
			if (asprintf(&next, "%s/%s", target, p) < 0)
				return -ENOMEM;
			free(rest);
			rest = next;
			p = rest;
			ino = target[0] == '/' ? EXT2_ROOT_INO : dir;
			r = aim_ext4_read_inode(e, ino, &in);
			if (r < 0)
				return r;
		}
	}
	*ret = ino;
	*ret_mode = in->i_mode;
	*ret_size = EXT2_I_SIZE(in);
	return 0;
}

int aim_ext4_read_path(struct aim_ext4 *e, const char *path, size_t max, char **ret,
		       size_t *ret_len)
{
	ext2_ino_t ino = 0;
	uint32_t mode = 0;
	uint64_t size = 0;
	int r;

	pthread_mutex_lock(&e->lock);
	r = resolve_locked(e, path, &ino, &mode, &size);
	pthread_mutex_unlock(&e->lock);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(mode))
		return aim_error_set(-EISDIR, "ext4: %s is a directory", path);
	if (!LINUX_S_ISREG(mode))
		return aim_error_set(-EINVAL, "ext4: %s is not a regular file", path);
	if (size > max)
		return aim_error_set(-EFBIG, "ext4: %s has %llu bytes, more than %zu", path,
				     (unsigned long long)size, max);
	/* Read as a file of a tree of this filesystem is read (treeio.h). */
	{
		char name[] = "";
		const struct aim_tree t = {.source = &e->source};
		const struct aim_node n = {.name = name, .mode = S_IFREG, .size = size,
					   .src = AIM_DATA_SOURCE, .src_ino = ino};

		return aim_tree_read_small(&t, &n, max, ret, ret_len);
	}
}
