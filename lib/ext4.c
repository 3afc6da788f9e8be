/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ext2/3/4 reader on top of libext2fs: superblock checks, the whole tree with all
 * metadata into an aim_tree, and file data streamed with big preads of the image.
 * libext2fs is not thread-safe: every call into it holds fs->lock; data reads collect the
 * extent map under the lock and then pread without it.
 */
#include "ext4.h"
#include "ext4-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <e2p/e2p.h>
#include <et/com_err.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "treeio.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define EXT4_SB_OFFSET 1024
#define EXT4_SB_MAGIC 0xEF53
#define EXT4_MAX_DEPTH 4096

static pthread_once_t et_once = PTHREAD_ONCE_INIT;

static void et_init(void)
{
	initialize_ext2_error_table();
}

/* Maps a libext2fs error to -Exxx, recording what failed. */
int aim_ext4_err(errcode_t e, const char *what, const char *path)
{
	int r;

	if (e == 0)
		return 0;
	if (e == ENOMEM || e == EXT2_ET_NO_MEMORY)
		r = -ENOMEM;
	else if (e > 0 && e < 4096)
		r = -(int)e; /* a plain errno from the io layer */
	else
		r = -EBADMSG;
	return aim_error_set(r, "ext4: %s%s%s: %s", what, path ? " " : "", path ? path : "",
			     ext4_strerr(e));
}

int aim_ext4_probe(int fd, uint64_t offset, uint64_t size)
{
	uint8_t sb[1024];
	int r;

	if (size && size < EXT4_SB_OFFSET + sizeof(sb))
		return 0;
	r = aim_pread_full(fd, sb, sizeof(sb), offset + EXT4_SB_OFFSET);
	if (r == -EBADMSG) {
		aim_error_clear();
		return 0;
	}
	if (r < 0)
		return r;
	return aim_get_le16(sb + 56) == EXT4_SB_MAGIC;
}

/* Names the bits of mask (feature class compat) in buf, space-separated. */
static void feature_names(int compat, uint32_t mask, char *buf, size_t len)
{
	size_t pos = strlen(buf);

	for (int i = 0; i < 32; i++) {
		if (!(mask & (1u << i)))
			continue;
		int n = snprintf(buf + pos, len - pos, "%s%s", pos ? " " : "",
				 e2p_feature2string(compat, 1u << i));
		if (n < 0 || (size_t)n >= len - pos) {
			buf[pos] = '\0';
			return;
		}
		pos += (size_t)n;
	}
}

/* Checks the raw superblock before libext2fs sees it, for precise messages. */
static int check_raw_super(int fd, uint64_t offset, uint64_t size)
{
	uint8_t sb[1024];
	char names[256] = "";
	uint32_t incompat;
	int r;

	if (size < EXT4_SB_OFFSET + sizeof(sb))
		return aim_error_set(-EBADMSG,
				     "no ext2/3/4 superblock at byte %llu: partition of %llu bytes "
				     "is too small",
				     (unsigned long long)offset, (unsigned long long)size);
	r = aim_pread_full(fd, sb, sizeof(sb), offset + EXT4_SB_OFFSET);
	if (r < 0)
		return r == -EBADMSG ? aim_error_set(r, "no ext2/3/4 superblock at byte %llu: "
							"image ends before it",
						     (unsigned long long)offset)
				     : aim_error_set(r, "reading the ext4 superblock: %s",
						     strerror(-r));
	if (aim_get_le16(sb + 56) != EXT4_SB_MAGIC)
		return aim_error_set(-EBADMSG, "no ext2/3/4 superblock at byte %llu "
					       "(magic 0x%04x, want 0xef53)",
				     (unsigned long long)offset, aim_get_le16(sb + 56));

	incompat = aim_get_le32(sb + 96);
	if (incompat & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV)
		return aim_error_set(-EOPNOTSUPP,
				     "ext4 at byte %llu is an external journal device "
				     "(journal_dev), not a filesystem",
				     (unsigned long long)offset);
	incompat &= ~(uint32_t)EXT2_LIB_FEATURE_INCOMPAT_SUPP;
	if (incompat) {
		feature_names(E2P_FEATURE_INCOMPAT, incompat, names, sizeof(names));
		return aim_error_set(-EOPNOTSUPP, "ext4 uses unsupported incompatible features: %s",
				     names);
	}
	return 0;
}

/* The trees' data source (tree.h): file data by inode number. */
static int source_read(void *ctx, uint64_t ino, uint64_t size, aim_data_fn fn, void *ud)
{
	return aim_ext4_read_data(ctx, ino, size, fn, ud);
}

int aim_ext4_open(const char *path, uint64_t offset, uint64_t size, struct aim_ext4 **ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct aim_ext4 *e;
	char opts[64];
	ext2_filsys fs = NULL;
	errcode_t err;
	uint64_t fs_bytes;
	struct stat st;
	int r;

	pthread_once(&et_once, et_init);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return -errno;
	if (size == 0) {
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > offset)
			size = (uint64_t)st.st_size - offset;
		else
			size = UINT64_MAX - offset;
	}
	r = check_raw_super(fd, offset, size);
	if (r < 0)
		return r;

	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)offset);
	err = ext2fs_open2(path, opts, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP, 0, 0,
			   unix_io_manager, &fs);
	if (err) {
		if (err == EXT2_ET_BAD_MAGIC)
			return aim_error_set(-EBADMSG, "no ext2/3/4 superblock at byte %llu",
					     (unsigned long long)offset);
		if (err == ENOMEM || err == EXT2_ET_NO_MEMORY)
			return -ENOMEM;
		if (err == EXT2_ET_UNSUPP_FEATURE || err == EXT2_ET_RO_UNSUPP_FEATURE)
			return aim_error_set(-EOPNOTSUPP, "ext4 at byte %llu: %s",
					     (unsigned long long)offset, ext4_strerr(err));
		return aim_error_set(-EBADMSG, "ext4 superblock is corrupt: %s", ext4_strerr(err));
	}

	fs_bytes = ext2fs_blocks_count(fs->super) * (uint64_t)fs->blocksize;
	if (fs_bytes > size) {
		ext2fs_close_free(&fs);
		return aim_error_set(-EBADMSG,
				     "ext4 at byte %llu claims %llu bytes but its partition has "
				     "only %llu",
				     (unsigned long long)offset, (unsigned long long)fs_bytes,
				     (unsigned long long)size);
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		ext2fs_close_free(&fs);
		return -ENOMEM;
	}
	e->fs = fs;
	e->fd = TAKE_FD(fd);
	e->offset = offset;
	e->size = size;
	e->block_size = fs->blocksize;
	e->isize = MAX((size_t)EXT2_INODE_SIZE(fs->super), sizeof(struct ext2_inode_large));
	e->ibuf = calloc(1, e->isize);
	if (!e->ibuf) {
		ext2fs_close_free(&e->fs);
		free(e);
		return -ENOMEM;
	}
	pthread_mutex_init(&e->lock, NULL);
	e->source = (struct aim_data_source){"ext4", source_read, e};
	*ret = e;
	return 0;
}

struct aim_ext4 *aim_ext4_free(struct aim_ext4 *e)
{
	if (!e)
		return NULL;
	if (e->fs)
		ext2fs_close_free(&e->fs);
	if (e->fd >= 0)
		close(e->fd);
	pthread_mutex_destroy(&e->lock);
	free(e->ibuf);
	free(e);
	return NULL;
}

int aim_ext4_get_info(struct aim_ext4 *e, struct aim_ext4_info *ret)
{
	struct ext2_super_block *sb = e->fs->super;
	const uint8_t *u = sb->s_uuid;
	uint32_t ext3_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_RECOVER |
				 EXT2_FEATURE_INCOMPAT_META_BG;
	uint32_t ext3_ro = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
			   0x0004 /* btree_dir */;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->uuid, sizeof(ret->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	memcpy(ret->label, sb->s_volume_name,
	       MIN(sizeof(sb->s_volume_name), sizeof(ret->label) - 1));
	/* The same rule blkid uses. */
	if ((sb->s_feature_incompat & ~ext3_incompat) || (sb->s_feature_ro_compat & ~ext3_ro))
		strcpy(ret->type, "ext4");
	else if (sb->s_feature_compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL)
		strcpy(ret->type, "ext3");
	else
		strcpy(ret->type, "ext2");
	ret->block_size = e->block_size;
	ret->blocks = ext2fs_blocks_count(sb);
	ret->free_blocks = ext2fs_free_blocks_count(sb);
	ret->inodes = sb->s_inodes_count;
	ret->free_inodes = sb->s_free_inodes_count;
	ret->used_bytes = (ret->blocks - MIN(ret->free_blocks, ret->blocks)) * ret->block_size;
	ret->needs_recovery = ext2fs_has_feature_journal_needs_recovery(sb);
	feature_names(E2P_FEATURE_COMPAT, sb->s_feature_compat, ret->features,
		      sizeof(ret->features));
	feature_names(E2P_FEATURE_INCOMPAT, sb->s_feature_incompat, ret->features,
		      sizeof(ret->features));
	feature_names(E2P_FEATURE_RO_INCOMPAT, sb->s_feature_ro_compat, ret->features,
		      sizeof(ret->features));
	return 0;
}

/* ---- inode helpers ---------------------------------------------------------------------- */

/* Reads inode ino, whole (with the in-inode xattr area), into e->ibuf. Under lock. */
int aim_ext4_read_inode(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large **ret)
{
	errcode_t err;

	memset(e->ibuf, 0, e->isize);
	err = ext2fs_read_inode_full(e->fs, ino, (struct ext2_inode *)e->ibuf,
				     EXT2_INODE_SIZE(e->fs->super));
	if (err)
		return aim_error_set(-EBADMSG, "ext4: reading inode %u: %s", ino, ext4_strerr(err));
	*ret = (struct ext2_inode_large *)e->ibuf;
	return 0;
}

static bool inode_has_extra(const struct ext2_inode_large *in, size_t field_end)
{
	return field_end <= EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize;
}

static void inode_mtime(struct aim_ext4 *e, const struct ext2_inode_large *in, int64_t *sec,
			uint32_t *nsec)
{
	*sec = (int32_t)in->i_mtime;
	*nsec = 0;
	if (EXT2_INODE_SIZE(e->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	    inode_has_extra(in, offsetof(struct ext2_inode_large, i_mtime_extra) + 4)) {
		*sec += (int64_t)(in->i_mtime_extra & 3) << 32;
		*nsec = in->i_mtime_extra >> 2;
		if (*nsec > 999999999)
			*nsec = 0;
	}
}

static uint64_t inode_rdev(const struct ext2_inode_large *in)
{
	uint32_t v;

	if (in->i_block[0]) {
		v = in->i_block[0];
		return makedev((v >> 8) & 255, v & 255);
	}
	v = in->i_block[1];
	return makedev((v & 0xfff00) >> 8, (v & 0xff) | ((v >> 12) & 0xfff00));
}

/* The whole inline-data area, clamped to size. buf must hold max(size, inode size). */
int aim_ext4_inline_read(struct aim_ext4 *e, ext2_ino_t ino, uint64_t size, uint8_t **ret,
		       size_t *ret_len)
{
	size_t isz = 0, cap;
	uint8_t *buf;
	errcode_t err;

	err = ext2fs_inline_data_size(e->fs, ino, &isz);
	if (err)
		return aim_error_set(-EBADMSG, "ext4: inline data of inode %u: %s", ino,
				     ext4_strerr(err));
	/* ext2fs_inline_data_get() copies the whole area without a length: make room. */
	cap = MAX(isz, (size_t)EXT2_INODE_SIZE(e->fs->super)) + EXT4_MIN_INLINE_DATA_SIZE;
	buf = calloc(1, cap + 1);
	if (!buf)
		return -ENOMEM;
	err = ext2fs_inline_data_get(e->fs, ino, NULL, buf, &isz);
	if (err) {
		free(buf);
		return aim_error_set(-EBADMSG, "ext4: inline data of inode %u: %s", ino,
				     ext4_strerr(err));
	}
	*ret = buf;
	*ret_len = (size_t)MIN((uint64_t)isz, size);
	return 0;
}

int aim_ext4_read_symlink(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large *in,
			const char *path, char **ret)
{
	uint64_t size = EXT2_I_SIZE(in);
	char *t;

	if (size == 0 || size >= e->block_size || size >= 4096)
		return aim_error_set(-EBADMSG, "ext4: symlink %s has a bad length %llu", path,
				     (unsigned long long)size);
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		uint8_t *buf;
		size_t len;
		int r = aim_ext4_inline_read(e, ino, size, &buf, &len);
		if (r < 0)
			return r;
		if (len != size) {
			free(buf);
			return aim_error_set(-EBADMSG, "ext4: inline symlink %s is truncated",
					     path);
		}
		buf[len] = '\0';
		*ret = (char *)buf;
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
		t = malloc(size + 1);
		if (!t)
			return -ENOMEM;
		memcpy(t, in->i_block, size);
		t[size] = '\0';
		*ret = t;
	} else {
		ext2_file_t f;
		unsigned got = 0;
		errcode_t err;

		err = ext2fs_file_open2(e->fs, ino, (struct ext2_inode *)in, 0, &f);
		if (err)
			return aim_ext4_err(err, "opening symlink", path);
		t = calloc(1, size + 1);
		if (!t) {
			ext2fs_file_close(f);
			return -ENOMEM;
		}
		err = ext2fs_file_read(f, t, (unsigned)size, &got);
		ext2fs_file_close(f);
		if (err || got != size) {
			free(t);
			return err ? aim_ext4_err(err, "reading symlink", path)
				   : aim_error_set(-EBADMSG, "ext4: symlink %s is truncated", path);
		}
		*ret = t;
	}
	if (strlen(*ret) != size) {
		free(*ret);
		*ret = NULL;
		return aim_error_set(-EBADMSG, "ext4: symlink %s contains a NUL byte", path);
	}
	return 0;
}

/* ---- xattrs ----------------------------------------------------------------------------- */

/* libext2fs writes id 0 into the v2 entries that carry no id; the kernel's getxattr gives
 * ACL_UNDEFINED_ID there. Make the value what a mounted filesystem would show. */
static void acl_normalize(const char *name, uint8_t *v, size_t len)
{
	if (strcmp(name, "system.posix_acl_access") && strcmp(name, "system.posix_acl_default"))
		return;
	if (len < 4 || (len - 4) % 8 || aim_get_le32(v) != 2)
		return;
	for (size_t off = 4; off < len; off += 8) {
		uint16_t tag = aim_get_le16(v + off);
		if (tag != 0x02 && tag != 0x08) /* ACL_USER, ACL_GROUP */
			aim_put_le32(v + off + 4, 0xffffffff);
	}
}

struct xattr_names {
	char **v;
	size_t n, cap;
};

static int xattr_name_cb(char *name, char *value, size_t value_len, void *data)
{
	struct xattr_names *xn = data;

	(void)value;
	(void)value_len;
	if (!strcmp(name, "system.data"))
		return 0;
	if (xn->n == xn->cap) {
		size_t cap = xn->cap ? xn->cap * 2 : 8;
		char **v = realloc(xn->v, cap * sizeof(*v));
		if (!v)
			return XATTR_ABORT;
		xn->v = v;
		xn->cap = cap;
	}
	xn->v[xn->n] = strdup(name);
	if (!xn->v[xn->n])
		return XATTR_ABORT;
	xn->n++;
	return 0;
}

static int load_xattrs(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large *in,
		       struct aim_node *n, const char *path)
{
	struct ext2_xattr_handle *h = NULL;
	struct xattr_names xn = {};
	errcode_t err;
	int r = 0;

	/* Nothing in the inode body and no EA block: skip the expensive part. */
	size_t ea_off = EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize;
	bool in_inode = EXT2_INODE_SIZE(e->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
			ea_off + sizeof(uint32_t) <= EXT2_INODE_SIZE(e->fs->super) &&
			aim_get_le32((const uint8_t *)in + ea_off) == EXT2_EXT_ATTR_MAGIC;

	if (!in_inode && !ext2fs_file_acl_block(e->fs, (struct ext2_inode *)in))
		return 0;

	err = ext2fs_xattrs_open(e->fs, ino, &h);
	if (err)
		return aim_ext4_err(err, "xattrs of", path);
	err = ext2fs_xattrs_read_inode(h, in);
	if (err) {
		r = aim_ext4_err(err, "reading xattrs of", path);
		goto out;
	}
	err = ext2fs_xattrs_iterate(h, xattr_name_cb, &xn);
	if (err) {
		r = aim_ext4_err(err, "listing xattrs of", path);
		goto out;
	}
	for (size_t i = 0; i < xn.n; i++) {
		void *val = NULL;
		size_t len = 0;

		err = ext2fs_xattr_get(h, xn.v[i], &val, &len);
		if (err) {
			r = aim_error_set(-EBADMSG, "ext4: xattr %s of %s: %s", xn.v[i], path,
					  ext4_strerr(err));
			goto out;
		}
		acl_normalize(xn.v[i], val, len);
		r = aim_tree_set_xattr(n, xn.v[i], val, len);
		ext2fs_free_mem(&val);
		if (r < 0)
			goto out;
	}
out:
	for (size_t i = 0; i < xn.n; i++)
		free(xn.v[i]);
	free(xn.v);
	ext2fs_xattrs_close(&h);
	return r;
}

/* ---- the tree walk ---------------------------------------------------------------------- */

struct dent {
	char *name;
	ext2_ino_t ino;
};

struct dir_frame {
	struct aim_node *node;
	struct dent *ents;
	size_t n, cap, idx;
};

/* Inode number -> first node, open addressing; also marks directories seen. */
struct ino_slot {
	uint64_t ino;
	struct aim_node *node;
};

struct ino_map {
	struct ino_slot *v;
	size_t cap, n;
};

static size_t ino_hash(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static struct ino_slot *ino_map_get(struct ino_map *m, uint64_t ino)
{
	if (!m->cap)
		return NULL;
	for (size_t i = ino_hash(ino, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i].ino == ino)
			return &m->v[i];
		if (!m->v[i].ino)
			return NULL;
	}
}

static int ino_map_put(struct ino_map *m, uint64_t ino, struct aim_node *node)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct ino_slot *v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].ino)
				continue;
			size_t j = ino_hash(m->v[i].ino, cap);
			while (v[j].ino)
				j = (j + 1) & (cap - 1);
			v[j] = m->v[i];
		}
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	size_t j = ino_hash(ino, m->cap);
	while (m->v[j].ino)
		j = (j + 1) & (m->cap - 1);
	m->v[j].ino = ino;
	m->v[j].node = node;
	m->n++;
	return 0;
}

struct iter_ctx {
	struct dir_frame *f;
	int r;
};

static int dir_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		  int blocksize, char *buf, void *priv)
{
	struct iter_ctx *c = priv;
	struct dir_frame *f = c->f;
	int len = ext2fs_dirent_name_len(de);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || de->inode == 0)
		return 0;
	if (len == 0 || memchr(de->name, '\0', (size_t)len)) {
		c->r = aim_error_set(-EBADMSG, "ext4: directory inode %u has an entry with an "
					       "empty name or a NUL byte in it",
				     dir);
		return DIRENT_ABORT;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct dent *v = realloc(f->ents, cap * sizeof(*v));
		if (!v) {
			c->r = -ENOMEM;
			return DIRENT_ABORT;
		}
		f->ents = v;
		f->cap = cap;
	}
	f->ents[f->n].name = strndup(de->name, (size_t)len);
	if (!f->ents[f->n].name) {
		c->r = -ENOMEM;
		return DIRENT_ABORT;
	}
	f->ents[f->n].ino = de->inode;
	f->n++;
	return 0;
}

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static void frame_free(struct dir_frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->ents[i].name);
	free(f->ents);
	memset(f, 0, sizeof(*f));
}

static int read_dir(struct aim_ext4 *e, ext2_ino_t ino, struct dir_frame *f, const char *path)
{
	struct iter_ctx c = { .f = f };
	errcode_t err;

	err = ext2fs_dir_iterate2(e->fs, ino, 0, NULL, dir_cb, &c);
	if (c.r < 0)
		return c.r;
	if (err)
		return aim_ext4_err(err, "reading directory", path);
	if (f->n > 1)
		qsort(f->ents, f->n, sizeof(*f->ents), dent_cmp);
	return 0;
}

/* Fills n from inode ino; regular-file data stays on disk. */
static int fill_node(struct aim_ext4 *e, ext2_ino_t ino, struct ext2_inode_large *in,
		     struct aim_node *n, const char *path)
{
	int r;

	if (in->i_flags & EXT4_ENCRYPT_FL)
		return aim_error_set(-EOPNOTSUPP, "ext4: %s is encrypted (fscrypt); cannot convert",
				     path);
	n->mode = in->i_mode & (S_IFMT | 07777);
	n->uid = inode_uid(*in);
	n->gid = inode_gid(*in);
	inode_mtime(e, in, &n->mtime, &n->mtime_nsec);
	n->nlink = 1;
	switch (in->i_mode & S_IFMT) {
	case S_IFREG:
		n->size = EXT2_I_SIZE(in);
		if (n->size) {
			n->src = AIM_DATA_SOURCE;
			n->src_ino = ino;
		}
		break;
	case S_IFLNK:
		r = aim_ext4_read_symlink(e, ino, in, path, &n->target);
		if (r < 0)
			return r;
		n->size = strlen(n->target);
		break;
	case S_IFBLK:
	case S_IFCHR:
		n->rdev = inode_rdev(in);
		break;
	case S_IFDIR:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		return aim_error_set(-EBADMSG, "ext4: %s (inode %u) has an invalid mode 0%o", path,
				     ino, in->i_mode);
	}
	return load_xattrs(e, ino, in, n, path);
}

static char *join_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", name) < 0)
		return NULL;
	return p;
}

struct link_list {
	struct aim_node **v;
	size_t n, cap;
};

static int load_tree_locked(struct aim_ext4 *e, struct aim_tree *t)
{
	struct dir_frame *stack = NULL;
	char **paths = NULL; /* path of each stack level's directory */
	size_t depth = 0;
	struct ino_map map = {};
	struct link_list links = {};
	struct ext2_inode_large *in;
	int r;

	stack = calloc(EXT4_MAX_DEPTH + 1, sizeof(*stack));
	paths = calloc(EXT4_MAX_DEPTH + 1, sizeof(*paths));
	if (!stack || !paths) {
		r = -ENOMEM;
		goto out;
	}
	r = aim_ext4_read_inode(e, EXT2_ROOT_INO, &in);
	if (r < 0)
		goto out;
	if (!LINUX_S_ISDIR(in->i_mode)) {
		r = aim_error_set(-EBADMSG, "ext4: root inode is not a directory");
		goto out;
	}
	r = fill_node(e, EXT2_ROOT_INO, in, t->root, "/");
	if (r < 0)
		goto out;
	r = ino_map_put(&map, EXT2_ROOT_INO, t->root);
	if (r < 0)
		goto out;
	paths[0] = strdup("/");
	if (!paths[0]) {
		r = -ENOMEM;
		goto out;
	}
	stack[0].node = t->root;
	depth = 1; /* before read_dir(): on its failure, out frees paths[0] and the frame */
	r = read_dir(e, EXT2_ROOT_INO, &stack[0], "/");
	if (r < 0)
		goto out;

	while (depth > 0) {
		struct dir_frame *f = &stack[depth - 1];
		struct aim_node *n;
		struct ino_slot *s;
		_cleanup_free_ char *path = NULL;

		if (f->idx == f->n) {
			frame_free(f);
			free(paths[depth - 1]);
			paths[depth - 1] = NULL;
			depth--;
			continue;
		}
		struct dent *d = &f->ents[f->idx++];

		path = join_path(paths[depth - 1], d->name);
		if (!path) {
			r = -ENOMEM;
			goto out;
		}
		if (d->ino < EXT2_FIRST_INO(e->fs->super) && d->ino != EXT2_ROOT_INO &&
		    d->ino != EXT2_GOOD_OLD_FIRST_INO) {
			r = aim_error_set(-EBADMSG, "ext4: %s points to reserved inode %u", path,
					  d->ino);
			goto out;
		}
		if (d->ino > e->fs->super->s_inodes_count) {
			r = aim_error_set(-EBADMSG, "ext4: %s points to inode %u beyond the "
						    "inode table",
					  path, d->ino);
			goto out;
		}
		r = aim_ext4_read_inode(e, d->ino, &in);
		if (r < 0)
			goto out;

		s = ino_map_get(&map, d->ino);
		if (s && (LINUX_S_ISDIR(in->i_mode) || LINUX_S_ISDIR(s->node->mode))) {
			r = aim_error_set(-EBADMSG,
					  "ext4: directory inode %u appears twice (at %s): "
					  "directory loop",
					  d->ino, path);
			goto out;
		}
		r = aim_tree_add(t, f->node, d->name, in->i_mode & (S_IFMT | 07777), &n);
		if (r == -EEXIST || r == -EINVAL)
			r = aim_error_set(-EBADMSG, "ext4: bad or duplicate directory entry %s",
					  path);
		if (r < 0)
			goto out;
		r = fill_node(e, d->ino, in, n, path);
		if (r < 0)
			goto out;

		if (s) {
			n->link = s->node;
			s->node->nlink++;
			if (links.n == links.cap) {
				size_t cap = links.cap ? links.cap * 2 : 64;
				struct aim_node **v = realloc(links.v, cap * sizeof(*v));
				if (!v) {
					r = -ENOMEM;
					goto out;
				}
				links.v = v;
				links.cap = cap;
			}
			links.v[links.n++] = n;
		} else if (in->i_links_count > 1 || LINUX_S_ISDIR(in->i_mode)) {
			r = ino_map_put(&map, d->ino, n);
			if (r < 0)
				goto out;
		}

		if (LINUX_S_ISDIR(in->i_mode)) {
			if (depth >= EXT4_MAX_DEPTH) {
				r = aim_error_set(-ELOOP,
						  "ext4: directory tree deeper than %d levels "
						  "at %s",
						  EXT4_MAX_DEPTH, path);
				goto out;
			}
			stack[depth].node = n;
			r = read_dir(e, d->ino, &stack[depth], path);
			paths[depth] = TAKE_PTR(path);
			depth++;
			if (r < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < links.n; i++)
		links.v[i]->nlink = links.v[i]->link->nlink;
	r = 0;
out:
	if (stack) {
		for (size_t i = 0; i < depth; i++)
			frame_free(&stack[i]);
	}
	if (paths) {
		for (size_t i = 0; i < depth; i++)
			free(paths[i]);
	}
	free(stack);
	free(paths);
	free(map.v);
	free(links.v);
	return r;
}

int aim_ext4_load_tree(struct aim_ext4 *e, struct aim_tree **ret)
{
	struct aim_tree *t = NULL;
	int r;

	r = aim_tree_new(&t);
	if (r < 0)
		return r;
	t->source = &e->source;
	pthread_mutex_lock(&e->lock);
	r = load_tree_locked(e, t);
	pthread_mutex_unlock(&e->lock);
	if (r < 0) {
		aim_tree_free(t);
		return r;
	}
	*ret = t;
	return 0;
}
