/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * aim_tree -> squashfs 4.0 through libsquashfs 1.2, written in place at an offset of an
 * output file. Three passes: file data (sorted depth-first), inode numbers, then every
 * non-directory inode followed by the directories in post-order.
 */
#include "squashfs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_writer.h>

#include "sqfs-layout.h"
#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define MAX_BLOCK (1u << 20)
#define PAD 4096u
#define PROGRESS_STEP (8u << 20)

/* Read-only in practice; never written, so it stays in .bss and costs no memory. */
static uint8_t zero_block[MAX_BLOCK];

struct out_file {
	sqfs_file_t base;
	int fd;
	uint64_t offset, max, size;
	uint64_t hwm; /* highest byte ever written (relative), for scrubbing */
	int enospc;
	int err; /* errno of the last failed pread/pwrite */
};

static int zero_fill(struct out_file *f, uint64_t from, uint64_t to)
{
	int r;

	while (from < to) {
		size_t n = (size_t)MIN(to - from, (uint64_t)MAX_BLOCK);

		r = aim_pwrite_full(f->fd, zero_block, n, f->offset + from);
		if (r < 0) {
			f->err = r;
			return SQFS_ERROR_IO;
		}
		from += n;
	}
	return 0;
}

static int of_write_at(sqfs_file_t *base, sqfs_u64 off, const void *buf, size_t len)
{
	struct out_file *f = (struct out_file *)base;
	int r;

	if (off + len > f->max || off + len < off) {
		f->enospc = 1;
		return SQFS_ERROR_IO;
	}
	if (off > f->size) {
		r = zero_fill(f, f->size, off);
		if (r)
			return r;
	}
	r = aim_pwrite_full(f->fd, buf, len, f->offset + off);
	if (r < 0) {
		f->err = r;
		return SQFS_ERROR_IO;
	}
	f->size = MAX(f->size, off + len);
	f->hwm = MAX(f->hwm, f->size);
	return 0;
}

static int of_read_at(sqfs_file_t *base, sqfs_u64 off, void *buf, size_t len)
{
	struct out_file *f = (struct out_file *)base;
	int r;

	if (off + len > f->size || off + len < off)
		return SQFS_ERROR_OUT_OF_BOUNDS;
	r = aim_pread_full(f->fd, buf, len, f->offset + off);
	if (r < 0) {
		f->err = r;
		return SQFS_ERROR_IO;
	}
	return 0;
}

static sqfs_u64 of_get_size(const sqfs_file_t *base)
{
	return ((const struct out_file *)base)->size;
}

static int of_truncate(sqfs_file_t *base, sqfs_u64 size)
{
	struct out_file *f = (struct out_file *)base;
	int r;

	if (size > f->max) {
		f->enospc = 1;
		return SQFS_ERROR_IO;
	}
	if (size > f->size) {
		r = zero_fill(f, f->size, size);
		if (r)
			return r;
		f->hwm = MAX(f->hwm, size);
	}
	f->size = size;
	return 0;
}

static void of_destroy(sqfs_object_t *obj)
{
	(void)obj; /* embedded in the writer context */
}

struct ctx {
	struct aim_tree *t;
	const struct aim_sqfs_opts *o;
	struct out_file out;
	uint32_t block_size;

	sqfs_compressor_t *cmp, *uncmp;
	sqfs_block_writer_t *bw;
	sqfs_frag_table_t *frag;
	sqfs_block_processor_t *proc;
	sqfs_block_processor_desc_t desc;
	sqfs_id_table_t *ids;
	sqfs_xattr_writer_t *xw;
	sqfs_meta_writer_t *im, *dm;
	sqfs_dir_writer_t *dw;
	sqfs_super_t super;

	aim_sqfs_progress_fn progress;
	void *progress_ud;
	uint64_t total, done, last_report;
	uint32_t next_ino;

	/* the file being streamed */
	const struct aim_node *cur;
	uint64_t cur_off;
	int sqfs_err;

	struct aim_sqfs_stats st;
};

/* Per-node scratch: priv holds the file inode (regular files), priv_u64[0] the inode
 * number (low 32 bits) and the name count of a hard-link group (high 32 bits),
 * priv_u64[1] the inode reference. */
#define INO(n) ((uint32_t)((n)->priv_u64[0] & 0xffffffffu))
#define NAMES(n) ((uint32_t)((n)->priv_u64[0] >> 32))

static struct aim_node *next_node(const struct aim_node *top, struct aim_node *n)
{
	if (n->children)
		return n->children;
	while (n != top) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

static struct aim_node *head_of(struct aim_node *n)
{
	return (n->link && !S_ISDIR(n->mode)) ? n->link : n;
}

/* Maps a libsquashfs error to -errno, naming what failed in the detail. */
static int sqfs_fail(struct ctx *c, int err, const char *what)
{
	if (c->out.enospc)
		return aim_error_set(-ENOSPC, "squashfs needs more than %llu bytes (slot size)",
				     (unsigned long long)c->out.max);
	if (c->out.err)
		return aim_error_set(c->out.err, "%s: %s", what, aim_strerror(c->out.err));
	switch (err) {
	case SQFS_ERROR_ALLOC:
		return aim_error_set(-ENOMEM, "%s: out of memory", what);
	case SQFS_ERROR_OVERFLOW:
		return aim_error_set(-EOVERFLOW, "%s: a squashfs limit was exceeded", what);
	default:
		return aim_error_set(-EIO, "%s: libsquashfs error %d", what, err);
	}
}

static void report(struct ctx *c, bool force)
{
	if (!c->progress)
		return;
	if (force || c->done - c->last_report >= PROGRESS_STEP) {
		c->progress(c->progress_ud, c->done, c->total);
		c->last_report = c->done;
	}
}

static int append(struct ctx *c, const void *buf, size_t len)
{
	int err;

	if (len == 0) /* libsquashfs 1.2 crashes on empty appends */
		return 0;
	err = sqfs_block_processor_append(c->proc, buf, len);
	if (err) {
		c->sqfs_err = err;
		return -EIO;
	}
	return 0;
}

static int append_zeros(struct ctx *c, uint64_t len)
{
	int r;

	while (len > 0) {
		size_t n = (size_t)MIN(len, (uint64_t)c->block_size);

		r = append(c, zero_block, n);
		if (r < 0)
			return r;
		len -= n;
	}
	return 0;
}

static int data_cb(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct ctx *c = ud;
	const struct aim_node *n = c->cur;
	int r;

	if (off < c->cur_off || off + len > n->size || off + len < off)
		return aim_error_set(-EIO, "data of '%s' out of order or beyond its size %llu",
				     n->name, (unsigned long long)n->size);
	if (off > c->cur_off) {
		r = append_zeros(c, off - c->cur_off);
		if (r < 0)
			return r;
	}
	r = buf ? append(c, buf, len) : append_zeros(c, len);
	if (r < 0)
		return r;
	c->cur_off = off + len;
	c->done += len;
	c->st.bytes_in += len;
	report(c, false);
	return 0;
}

/* FNV-1a of the path below the root, from the leaf up (stable, cheap). */
static uint32_t path_hash(const struct aim_node *n)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (; n && n->parent; n = n->parent) {
		for (p = n->name; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		h = (h ^ '/') * 16777619u;
	}
	return h;
}

/* Ends the current fragment block: the block processor is finished and a new one made
 * (libsquashfs 1.2 has no call to flush the fragment block alone). */
static int cut_fragments(struct ctx *c)
{
	int err = sqfs_block_processor_finish(c->proc);

	if (err)
		return sqfs_fail(c, err, "writing file data");
	sqfs_destroy(c->proc);
	c->proc = NULL;
	err = sqfs_block_processor_create_ex(&c->desc, &c->proc);
	if (err)
		return sqfs_fail(c, err, "starting the block processor");
	return 0;
}

/* Pass 1: the data of every regular file, depth-first in sorted order. */
static int write_data(struct ctx *c)
{
	sqfs_u32 flags = c->o && c->o->no_fragments ? SQFS_BLK_DONT_FRAGMENT : 0;
	uint32_t group = c->o ? c->o->frag_group : 0;
	bool cut = false;
	struct aim_node *n;
	int r, err;

	for (n = c->t->root; n; n = next_node(c->t->root, n)) {
		if (!S_ISREG(n->mode) || head_of(n) != n)
			continue;
		if (cut) {
			r = cut_fragments(c);
			if (r < 0)
				return r;
			cut = false;
		}
		/* A file with a tail ends its fragment group when its path says so: the groups
		 * stay the same when a file is added or changed elsewhere (docs/delta.md). */
		if (group && n->size % c->block_size && path_hash(n) % group == 0)
			cut = true;
		err = sqfs_block_processor_begin_file(c->proc, (sqfs_inode_generic_t **)&n->priv,
						      NULL, flags);
		if (err)
			return sqfs_fail(c, err, "starting a file");
		c->cur = n;
		c->cur_off = 0;
		c->sqfs_err = 0;
		r = aim_tree_read_data(c->t, n, data_cb, c);
		if (r == 0 && c->cur_off < n->size)
			r = append_zeros(c, n->size - c->cur_off);
		if (r < 0) {
			if (c->sqfs_err)
				return sqfs_fail(c, c->sqfs_err, "compressing file data");
			if (!aim_error_detail()) {
				_cleanup_free_ char *p = aim_tree_path(n);

				aim_error_set(r, "reading %s: %s", p ? p : n->name, aim_strerror(r));
			}
			return r;
		}
		err = sqfs_block_processor_end_file(c->proc);
		if (err)
			return sqfs_fail(c, err, "finishing a file");
	}
	err = sqfs_block_processor_finish(c->proc);
	if (err)
		return sqfs_fail(c, err, "writing file data");
	report(c, true);
	return 0;
}

static struct aim_node *first_dir_child(struct aim_node *d)
{
	struct aim_node *n;

	for (n = d->children; n; n = n->next)
		if (S_ISDIR(n->mode))
			return n;
	return NULL;
}

static struct aim_node *next_dir_sibling(struct aim_node *d)
{
	struct aim_node *n;

	for (n = d->next; n; n = n->next)
		if (S_ISDIR(n->mode))
			return n;
	return NULL;
}

/* Directories in post-order (every directory after all directories below it). */
static struct aim_node *postorder_first(struct aim_node *n)
{
	struct aim_node *d;

	while ((d = first_dir_child(n)))
		n = d;
	return n;
}

static struct aim_node *postorder_next(struct aim_node *root, struct aim_node *n)
{
	struct aim_node *s;

	if (n == root)
		return NULL;
	s = next_dir_sibling(n);
	return s ? postorder_first(s) : n->parent;
}

/* Pass 2: a directory's children get consecutive numbers, directories in post-order,
 * root last. Hard-link names share their group's number. */
static int number_inodes(struct ctx *c)
{
	struct aim_node *d, *n, *root = c->t->root;

	c->next_ino = 1;
	for (d = postorder_first(root); d; d = postorder_next(root, d)) {
		for (n = d->children; n; n = n->next) {
			if (head_of(n) != n)
				continue;
			if (c->next_ino == UINT32_MAX)
				return aim_error_set(-EFBIG, "too many inodes for squashfs");
			n->priv_u64[0] = (n->priv_u64[0] & ~0xffffffffull) | c->next_ino++;
		}
	}
	root->priv_u64[0] = c->next_ino++;
	return 0;
}

static int set_common(struct ctx *c, sqfs_inode_generic_t *inode, const struct aim_node *n)
{
	int err;

	inode->base.mode = (sqfs_u16)(n->mode & (S_IFMT | 07777));
	if (n->mtime < 0 || n->mtime > (int64_t)UINT32_MAX) {
		inode->base.mod_time = n->mtime < 0 ? 0 : UINT32_MAX;
		c->st.times_clamped++;
	} else {
		inode->base.mod_time = (sqfs_u32)n->mtime;
	}
	inode->base.inode_number = INO(n);
	err = sqfs_id_table_id_to_index(c->ids, n->uid, &inode->base.uid_idx);
	if (!err)
		err = sqfs_id_table_id_to_index(c->ids, n->gid, &inode->base.gid_idx);
	if (err == SQFS_ERROR_OVERFLOW)
		return aim_error_set(-EFBIG, "more than 65536 distinct uid/gid values");
	if (err)
		return sqfs_fail(c, err, "id table");
	return 0;
}

/* The node's xattr index, or 0xFFFFFFFF; names squashfs cannot hold are counted. */
static int write_xattrs(struct ctx *c, const struct aim_node *n, sqfs_u32 *ret)
{
	size_t i, kept = 0;
	int err;

	*ret = 0xFFFFFFFF;
	for (i = 0; i < n->nxattrs; i++) {
		if (sqfs_get_xattr_prefix_id(n->xattrs[i].name) < 0)
			c->st.xattrs_dropped++;
		else
			kept++;
	}
	if (!kept)
		return 0;
	err = sqfs_xattr_writer_begin(c->xw, 0);
	for (i = 0; !err && i < n->nxattrs; i++) {
		if (sqfs_get_xattr_prefix_id(n->xattrs[i].name) < 0)
			continue;
		err = sqfs_xattr_writer_add(c->xw, n->xattrs[i].name, n->xattrs[i].value,
					    n->xattrs[i].len);
	}
	if (!err)
		err = sqfs_xattr_writer_end(c->xw, ret);
	if (err)
		return sqfs_fail(c, err, "recording extended attributes");
	return 0;
}

static int emit_inode(struct ctx *c, struct aim_node *n, sqfs_inode_generic_t *inode)
{
	sqfs_u64 blk;
	sqfs_u32 off;
	int err;

	sqfs_meta_writer_get_position(c->im, &blk, &off);
	n->priv_u64[1] = (blk << 16) | off;
	err = sqfs_meta_writer_write_inode(c->im, inode);
	if (err)
		return sqfs_fail(c, err, "writing an inode");
	return 0;
}

static int leaf_inode(struct ctx *c, struct aim_node *n)
{
	_cleanup_free_ sqfs_inode_generic_t *own = NULL;
	sqfs_inode_generic_t *inode;
	uint32_t nlink = NAMES(n) ? NAMES(n) : 1;
	sqfs_u32 xidx;
	size_t tlen;
	unsigned int maj, min;
	int r;

	switch (n->mode & S_IFMT) {
	case S_IFREG:
		inode = n->priv;
		if (!inode)
			return aim_error_set(-EIO, "no data inode for '%s'", n->name);
		break;
	case S_IFLNK:
		tlen = n->target ? strlen(n->target) : 0;
		own = calloc(1, sizeof(*own) + tlen);
		if (!own)
			return -ENOMEM;
		own->base.type = SQFS_INODE_SLINK;
		own->data.slink.nlink = nlink;
		own->data.slink.target_size = (sqfs_u32)tlen;
		if (tlen)
			memcpy(own->extra, n->target, tlen);
		inode = own;
		break;
	case S_IFCHR:
	case S_IFBLK:
		maj = major(n->rdev);
		min = minor(n->rdev);
		if (maj > 0xfff || min > 0xfffff)
			return aim_error_set(-EOVERFLOW, "device number %u:%u of '%s' too large",
					     maj, min, n->name);
		own = calloc(1, sizeof(*own));
		if (!own)
			return -ENOMEM;
		own->base.type = S_ISCHR(n->mode) ? SQFS_INODE_CDEV : SQFS_INODE_BDEV;
		own->data.dev.nlink = nlink;
		own->data.dev.devno = (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
		inode = own;
		break;
	case S_IFIFO:
	case S_IFSOCK:
		own = calloc(1, sizeof(*own));
		if (!own)
			return -ENOMEM;
		own->base.type = S_ISFIFO(n->mode) ? SQFS_INODE_FIFO : SQFS_INODE_SOCKET;
		own->data.ipc.nlink = nlink;
		inode = own;
		break;
	default:
		return aim_error_set(-EINVAL, "'%s' has an unknown file type 0%o", n->name,
				     n->mode & S_IFMT);
	}

	r = set_common(c, inode, n);
	if (r < 0)
		return r;
	r = write_xattrs(c, n, &xidx);
	if (r < 0)
		return r;
	if (sqfs_inode_set_xattr_index(inode, xidx))
		return aim_error_set(-EIO, "cannot set the xattr index of '%s'", n->name);
	if (S_ISREG(n->mode)) {
		if (nlink > 1 && inode->base.type == SQFS_INODE_FILE)
			sqfs_inode_make_extended(inode);
		if (inode->base.type == SQFS_INODE_EXT_FILE)
			inode->data.file_ext.nlink = nlink;
		c->st.files++;
	} else {
		c->st.others++;
	}
	return emit_inode(c, n, inode);
}

static int dir_inode(struct ctx *c, struct aim_node *d)
{
	sqfs_inode_generic_t *inode;
	struct aim_node *n, *h;
	uint32_t subdirs = 0;
	sqfs_u32 xidx;
	int r, err;

	err = sqfs_dir_writer_begin(c->dw, 0);
	for (n = d->children; !err && n; n = n->next) {
		h = head_of(n);
		if (S_ISDIR(n->mode))
			subdirs++;
		err = sqfs_dir_writer_add_entry(c->dw, n->name, INO(h), h->priv_u64[1],
						h->mode);
	}
	if (!err)
		err = sqfs_dir_writer_end(c->dw);
	if (err)
		return sqfs_fail(c, err, "writing a directory");
	r = write_xattrs(c, d, &xidx);
	if (r < 0)
		return r;
	inode = sqfs_dir_writer_create_inode(c->dw, 0, xidx, d->parent ? INO(d->parent) : 0);
	if (!inode)
		return -ENOMEM;
	if (inode->base.type == SQFS_INODE_DIR)
		inode->data.dir.nlink = 2 + subdirs;
	else
		inode->data.dir_ext.nlink = 2 + subdirs;
	r = set_common(c, inode, d);
	if (r == 0)
		r = emit_inode(c, d, inode);
	sqfs_free(inode);
	c->st.dirs++;
	return r;
}

/* Pass 3: all non-directory inodes, then directories in post-order. */
static int write_inodes(struct ctx *c)
{
	struct aim_node *n, *root = c->t->root;
	int r;

	c->super.inode_table_start = c->out.base.get_size(&c->out.base);
	for (n = root; n; n = next_node(root, n)) {
		if (S_ISDIR(n->mode) || head_of(n) != n)
			continue;
		r = leaf_inode(c, n);
		if (r < 0)
			return r;
	}
	for (n = postorder_first(root); n; n = postorder_next(root, n)) {
		r = dir_inode(c, n);
		if (r < 0)
			return r;
	}
	c->super.root_inode_ref = root->priv_u64[1];
	c->super.inode_count = c->next_ino - 1;
	return 0;
}

/* Checks the tree and counts what the passes need: data total, hard-link names. */
static int prepare(struct ctx *c)
{
	struct aim_node *n, *h, *root = c->t->root;

	for (n = root; n; n = next_node(root, n)) {
		n->priv = NULL;
		n->priv_u64[0] = n->priv_u64[1] = 0;
	}
	for (n = root; n; n = next_node(root, n)) {
		if (S_ISDIR(n->mode))
			continue;
		h = head_of(n);
		if (h != n) {
			if (h->link || S_ISDIR(h->mode)) {
				_cleanup_free_ char *p = aim_tree_path(n);

				return aim_error_set(-EINVAL, "broken hard link group at %s",
						     p ? p : n->name);
			}
			c->st.hardlinks++;
		}
		h->priv_u64[0] += 1ull << 32;
		if (S_ISREG(n->mode) && h == n)
			c->total += n->size;
	}
	return 0;
}

static void cleanup(struct ctx *c)
{
	struct aim_node *n;

	/* The block processor may still hold inode pointers: destroy it first. */
	sqfs_destroy(c->proc);
	sqfs_destroy(c->dw);
	sqfs_destroy(c->dm);
	sqfs_destroy(c->im);
	sqfs_destroy(c->xw);
	sqfs_destroy(c->ids);
	sqfs_destroy(c->frag);
	sqfs_destroy(c->bw);
	sqfs_destroy(c->uncmp);
	sqfs_destroy(c->cmp);
	for (n = c->t->root; n; n = next_node(c->t->root, n)) {
		if (S_ISREG(n->mode) && n->priv)
			sqfs_free(n->priv);
		n->priv = NULL;
		n->priv_u64[0] = n->priv_u64[1] = 0;
	}
}

int aim_sqfs_default_level(const char *comp)
{
	if (!comp || !strcmp(comp, "zstd"))
		return 9;
	if (!strcmp(comp, "xz"))
		return 6;
	if (!strcmp(comp, "gzip"))
		return 9;
	if (!strcmp(comp, "lz4"))
		return 0;
	return aim_error_set(-EINVAL, "unknown compressor '%s' (zstd, xz, gzip, lz4)", comp);
}

int aim_sqfs_level_range(const char *comp, int *lo, int *hi)
{
	int r = aim_sqfs_default_level(comp);

	if (r < 0)
		return r;
	if (!comp || !strcmp(comp, "zstd"))
		*lo = 1, *hi = 22;
	else if (!strcmp(comp, "xz"))
		*lo = 0, *hi = 9;
	else if (!strcmp(comp, "gzip"))
		*lo = 1, *hi = 9;
	else
		*lo = 0, *hi = 1; /* lz4: 1 selects LZ4 HC */
	return 0;
}

static int make_compressors(struct ctx *c)
{
	const char *name = c->o && c->o->comp ? c->o->comp : "zstd";
	sqfs_compressor_config_t cfg;
	int level, id, lo, hi, err;

	level = aim_sqfs_default_level(name);
	if (level < 0)
		return level;
	aim_sqfs_level_range(name, &lo, &hi);
	if (c->o && c->o->level)
		level = c->o->level;
	if (level < lo || level > hi)
		return aim_error_set(-EINVAL, "%s level %d out of range %d..%d", name, level, lo,
				     hi);

	id = sqfs_compressor_id_from_name(name);
	if (id < 0)
		return aim_error_set(-EINVAL, "compressor '%s' not available", name);
	err = sqfs_compressor_config_init(&cfg, (SQFS_COMPRESSOR)id, c->block_size, 0);
	if (err)
		return aim_error_set(-EINVAL, "compressor %s rejects block size %u", name,
				     c->block_size);
	if (!strcmp(name, "lz4"))
		cfg.flags |= level ? SQFS_COMP_FLAG_LZ4_HC : 0;
	else
		cfg.level = (sqfs_u32)level;
	err = sqfs_compressor_create(&cfg, &c->cmp);
	if (err)
		return aim_error_set(-EINVAL, "cannot create %s compressor (level %d): error %d",
				     name, level, err);
	cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	err = sqfs_compressor_create(&cfg, &c->uncmp);
	if (err)
		return aim_error_set(-EINVAL, "cannot create %s decompressor: error %d", name,
				     err);
	c->super.compression_id = (sqfs_u16)id;
	return 0;
}

static int setup(struct ctx *c)
{
	sqfs_block_processor_desc_t *desc = &c->desc;
	unsigned threads = c->o && c->o->threads ? c->o->threads : 0;
	long cpus;
	int r, err;

	if (!threads) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus > 0 ? (unsigned)MIN(cpus, 64) : 1;
	}
	err = sqfs_super_init(&c->super, c->block_size, c->o ? c->o->mkfs_time : 0,
			      SQFS_COMP_ZSTD);
	if (err)
		return aim_error_set(-EINVAL, "invalid block size %u (power of two, 4 KiB..1 MiB)",
				     c->block_size);
	r = make_compressors(c);
	if (r < 0)
		return r;
	err = sqfs_super_write(&c->super, &c->out.base);
	if (err)
		return sqfs_fail(c, err, "writing the superblock");
	err = c->cmp->write_options(c->cmp, &c->out.base);
	if (err < 0)
		return sqfs_fail(c, err, "writing compressor options");
	if (err > 0)
		c->super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;

	c->bw = aim_sqfs_block_writer_create(&c->out.base, c->o ? c->o->align : 0);
	c->frag = sqfs_frag_table_create(0);
	c->ids = sqfs_id_table_create(0);
	c->xw = sqfs_xattr_writer_create(0);
	if (!c->bw || !c->frag || !c->ids || !c->xw)
		return -ENOMEM;

	memset(desc, 0, sizeof(*desc));
	desc->size = sizeof(*desc);
	desc->max_block_size = c->block_size;
	desc->num_workers = threads;
	desc->max_backlog = 10 * threads;
	desc->cmp = c->cmp;
	desc->wr = c->bw;
	desc->tbl = c->frag;
	desc->file = &c->out.base; /* fragments are byte-verified before deduplication */
	desc->uncmp = c->uncmp;
	err = sqfs_block_processor_create_ex(desc, &c->proc);
	if (err)
		return sqfs_fail(c, err, "starting the block processor");

	c->im = sqfs_meta_writer_create(&c->out.base, c->cmp, 0);
	c->dm = sqfs_meta_writer_create(&c->out.base, c->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
	if (!c->im || !c->dm)
		return -ENOMEM;
	c->dw = sqfs_dir_writer_create(c->dm, 0);
	if (!c->dw)
		return -ENOMEM;
	return 0;
}

static int finish(struct ctx *c)
{
	uint64_t size, padded;
	int err;

	err = sqfs_meta_writer_flush(c->im);
	if (!err)
		err = sqfs_meta_writer_flush(c->dm);
	if (err)
		return sqfs_fail(c, err, "writing the inode table");
	c->super.directory_table_start = c->out.base.get_size(&c->out.base);
	err = sqfs_meta_write_write_to_file(c->dm);
	if (err)
		return sqfs_fail(c, err, "writing the directory table");
	err = sqfs_frag_table_write(c->frag, &c->out.base, &c->super, c->cmp);
	if (err)
		return sqfs_fail(c, err, "writing the fragment table");
	err = sqfs_id_table_write(c->ids, &c->out.base, &c->super, c->cmp);
	if (err)
		return sqfs_fail(c, err, "writing the id table");
	err = sqfs_xattr_writer_flush(c->xw, &c->out.base, &c->super, c->cmp);
	if (err)
		return sqfs_fail(c, err, "writing the xattr table");

	size = c->out.base.get_size(&c->out.base);
	c->super.bytes_used = size;
	err = sqfs_super_write(&c->super, &c->out.base);
	if (err)
		return sqfs_fail(c, err, "updating the superblock");
	padded = ALIGN_UP(size, (uint64_t)PAD);
	err = c->out.base.truncate(&c->out.base, padded);
	if (err)
		return sqfs_fail(c, err, "padding the image");
	/* Scrub bytes a deduplicated block left behind past the end. */
	if (c->out.hwm > padded) {
		uint64_t hwm = c->out.hwm;

		c->out.size = hwm;
		err = zero_fill(&c->out, padded, hwm) ? -1 : 0;
		c->out.size = padded;
		if (err)
			return sqfs_fail(c, SQFS_ERROR_IO, "clearing the slot tail");
	}
	c->st.bytes_out = padded;
	return 0;
}

int aim_sqfs_write(const struct aim_tree *t, int fd, uint64_t offset, uint64_t max_size,
		   const struct aim_sqfs_opts *o, aim_sqfs_progress_fn progress, void *ud,
		   struct aim_sqfs_stats *ret_stats)
{
	struct ctx c = {
		.t = (struct aim_tree *)t, /* only the writer scratch fields are touched */
		.o = o,
		.progress = progress,
		.progress_ud = ud,
	};
	int r;

	aim_error_clear();
	c.block_size = o && o->block_size ? o->block_size : 128 * 1024;
	if (c.block_size < 4096 || c.block_size > MAX_BLOCK || (c.block_size & (c.block_size - 1)))
		return aim_error_set(-EINVAL, "invalid block size %u (power of two, 4 KiB..1 MiB)",
				     c.block_size);
	if (!t || !t->root || !S_ISDIR(t->root->mode))
		return aim_error_set(-EINVAL, "tree has no root directory");
	c.out = (struct out_file){
		.base = {
			.base = { .destroy = of_destroy },
			.read_at = of_read_at,
			.write_at = of_write_at,
			.get_size = of_get_size,
			.truncate = of_truncate,
		},
		.fd = fd,
		.offset = offset,
		.max = max_size,
	};

	r = prepare(&c);
	if (r == 0)
		r = setup(&c);
	if (r == 0)
		r = write_data(&c);
	if (r == 0)
		r = number_inodes(&c);
	if (r == 0)
		r = write_inodes(&c);
	if (r == 0)
		r = finish(&c);
	cleanup(&c);
	if (r == 0 && ret_stats)
		*ret_stats = c.st;
	return r;
}
