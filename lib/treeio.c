/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree's file data: streamed from its source, whole-file reads, extraction of a subtree
 * to a host directory. */
#include "treeio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define HOST_CHUNK (1u << 20)

static int read_host(const struct aim_node *n, aim_data_fn fn, void *ud)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t off = 0, end = n->size, data, hole;
	int r, use_seek = 1;
	ssize_t k;
	size_t want;

	if (!n->host_path)
		return aim_error_set(-EINVAL, "host-backed file has no path");
	fd = open(n->host_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot open %s: %m", n->host_path);
	buf = malloc(HOST_CHUNK);
	if (!buf)
		return -ENOMEM;

	while (off < end) {
		/* Find the next data region; everything before it is a hole. */
		data = off;
		hole = end;
		if (use_seek) {
			off_t d = lseek(fd, (off_t)off, SEEK_DATA);

			if (d < 0 && errno == ENXIO) {
				data = end; /* only a hole (or EOF) from here on */
			} else if (d < 0) {
				use_seek = 0;
			} else {
				off_t h = lseek(fd, d, SEEK_HOLE);

				data = MIN((uint64_t)d, end);
				hole = h < 0 ? end : MIN((uint64_t)h, end);
			}
		}
		while (off < data) {
			want = (size_t)MIN(data - off, (uint64_t)1 << 30);
			r = fn(ud, off, NULL, want);
			if (r < 0)
				return r;
			off += want;
		}
		if (use_seek && data == end) {
			/* SEEK_DATA says nothing follows; make sure the file is that long. */
			struct stat st;

			if (fstat(fd, &st) < 0)
				return -errno;
			if ((uint64_t)st.st_size < end)
				return aim_error_set(-EIO, "%s is shorter than expected (%llu < %llu)",
						     n->host_path, (unsigned long long)st.st_size,
						     (unsigned long long)end);
			break;
		}
		while (off < hole) {
			want = (size_t)MIN(hole - off, (uint64_t)HOST_CHUNK);
			k = pread(fd, buf, want, (off_t)off);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				return aim_error_set(-errno, "read error on %s: %m", n->host_path);
			}
			if (k == 0)
				return aim_error_set(-EIO, "%s is shorter than expected (%llu < %llu)",
						     n->host_path, (unsigned long long)off,
						     (unsigned long long)end);
			r = fn(ud, off, buf, (size_t)k);
			if (r < 0)
				return r;
			off += (uint64_t)k;
		}
	}
	return 0;
}

int aim_tree_read_data(const struct aim_tree *t, const struct aim_node *n, aim_data_fn fn,
		       void *ud)
{
	if (!S_ISREG(n->mode))
		return aim_error_set(-EINVAL, "'%s' is not a regular file", n->name);
	if (n->size == 0)
		return 0;
	switch (n->src) {
	case AIM_DATA_SOURCE:
		if (!t->source)
			return aim_error_set(-EINVAL, "tree has no data source for '%s'", n->name);
		return t->source->read(t->source->ctx, n->src_ino, n->size, fn, ud);
	case AIM_DATA_MEM:
		if (n->mem_len < n->size)
			return aim_error_set(-EINVAL, "'%s': %zu bytes in memory, size %llu",
					     n->name, n->mem_len, (unsigned long long)n->size);
		return fn(ud, 0, n->mem, (size_t)n->size);
	case AIM_DATA_HOST:
		return read_host(n, fn, ud);
	case AIM_DATA_NONE:
	default:
		return aim_error_set(-EINVAL, "'%s' has size %llu but no data source", n->name,
				     (unsigned long long)n->size);
	}
}

struct membuf {
	char *p;
	uint64_t max;
};

static int to_mem(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct membuf *m = ud;

	if (off + len > m->max)
		return -EBADMSG;
	if (buf)
		memcpy(m->p + off, buf, len);
	else
		memset(m->p + off, 0, len);
	return 0;
}

int aim_tree_read_small(const struct aim_tree *t, const struct aim_node *n, size_t max,
			char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	struct membuf m;
	int r;

	if (!S_ISREG(n->mode))
		return -EINVAL;
	if (n->size > max)
		return -EFBIG;
	buf = calloc(1, n->size + 1);
	if (!buf)
		return -ENOMEM;
	m = (struct membuf){buf, n->size};
	r = aim_tree_read_data(t, n, to_mem, &m);
	if (r < 0)
		return r;
	if (ret_len)
		*ret_len = n->size;
	*ret = TAKE_PTR(buf);
	return 0;
}

struct aim_node *aim_tree_resolve(const struct aim_tree *t, struct aim_node *n)
{
	for (int hops = 0; n && S_ISLNK(n->mode); hops++) {
		char path[PATH_MAX];
		_cleanup_free_ char *dir = NULL;

		if (hops >= 16 || !n->target)
			return NULL;
		if (n->target[0] == '/') {
			snprintf(path, sizeof(path), "%s", n->target);
		} else {
			dir = aim_tree_path(n->parent);
			if (!dir)
				return NULL;
			snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
				 n->target);
		}
		n = aim_tree_lookup(t, path);
	}
	return n;
}

struct fileout {
	int fd;
	uint64_t bytes;
};

static int to_fd(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct fileout *f = ud;

	if (!buf)
		return 0; /* holes: ftruncate extends with zeros */
	f->bytes += len;
	return aim_pwrite_full(f->fd, buf, len, off);
}

static int extract_file(const struct aim_tree *t, const struct aim_node *n, const char *path,
			uint64_t *bytes)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	struct fileout f;
	struct timespec ts[2];
	int r;

	if (fd < 0)
		return aim_error_set(-errno, "cannot create %s: %m", path);
	f = (struct fileout){fd, 0};
	r = aim_tree_read_data(t, n, to_fd, &f);
	if (r < 0)
		return r;
	if (ftruncate(fd, (off_t)n->size) < 0)
		return -errno;
	ts[0].tv_sec = ts[1].tv_sec = n->mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = n->mtime_nsec;
	if (futimens(fd, ts) < 0)
		return -errno;
	*bytes += n->size;
	return 0;
}

static int extract(const struct aim_tree *t, struct aim_node *dir, const char *dest, int deref,
		   uint64_t *bytes, int depth)
{
	int r;

	if (depth > 64)
		return aim_error_set(-ELOOP, "boot files nest deeper than 64 levels");
	for (struct aim_node *c = dir->children; c; c = c->next) {
		_cleanup_free_ char *p = NULL;
		struct aim_node *n = c;

		if (asprintf(&p, "%s/%s", dest, c->name) < 0)
			return -ENOMEM;
		if (S_ISLNK(n->mode)) {
			if (!deref) {
				if (symlink(n->target, p) < 0)
					return -errno;
				continue;
			}
			n = aim_tree_resolve(t, n);
			if (!n)
				continue;
		}
		if (S_ISDIR(n->mode)) {
			if (mkdir(p, 0755) < 0)
				return aim_error_set(-errno, "cannot create %s: %m", p);
			r = extract(t, n, p, deref, bytes, depth + 1);
			if (r == 0) {
				/* After the children: creating them touched the mtime. */
				struct timespec ts[2] = {{n->mtime, (long)n->mtime_nsec},
							 {n->mtime, (long)n->mtime_nsec}};
				if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
					r = -errno;
			}
		} else if (S_ISREG(n->mode)) {
			r = extract_file(t, n, p, bytes);
		} else {
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int aim_tree_extract(const struct aim_tree *t, struct aim_node *dir, const char *dest, int deref,
		     uint64_t *ret_bytes)
{
	uint64_t bytes = 0;
	int r = extract(t, dir, dest, deref, &bytes, 0);

	if (r < 0)
		return r;
	if (ret_bytes)
		*ret_bytes = bytes;
	return 0;
}

/* A file of the root tree by path, trying /lib and /usr/lib (merged /usr). */
int aim_tree_read_path(const struct aim_tree *t, const char *path, size_t max, char **ret,
		       size_t *ret_len)
{
	char alt[512];
	struct aim_node *n = aim_tree_lookup(t, path);

	if (!n && !strncmp(path, "/lib/", 5)) {
		snprintf(alt, sizeof(alt), "/usr%s", path);
		n = aim_tree_lookup(t, alt);
	}
	if (n)
		n = aim_tree_resolve(t, n);
	if (!n)
		return -ENOENT;
	return aim_tree_read_small(t, n, max, ret, ret_len);
}
