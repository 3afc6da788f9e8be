/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Full reads and writes, and atomic output files. */
#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"

ssize_t aim_pread_upto(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int aim_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = aim_pread_upto(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	if ((size_t)n < len)
		return aim_error_set(-EBADMSG, "unexpected end of file at byte %llu",
				     (unsigned long long)(off + (uint64_t)n));
	return 0;
}

int aim_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int aim_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int aim_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;
		if (len + 1 >= cap) {
			char *nb;
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 2)
				cap = max + 2;
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = 0;
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

ssize_t aim_read_text(const char *path, char *buf, size_t cap)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < cap - 1) {
		n = read(fd, buf + got, cap - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -e;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = 0;
	return got;
}

int aim_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if (strlen(path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -ENAMETOOLONG;
	}
	strcpy(tmp, path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int aim_fsync_dir(const char *path)
{
	_cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	if (fsync(dfd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int aim_fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);

	if (!copy)
		return -ENOMEM;
	return aim_fsync_dir(dirname(copy));
}

int aim_outfile_open(struct aim_outfile *o, const char *path, int force)
{
	struct stat st;

	o->fd = -EBADF;
	o->path = o->tmp = NULL;
	if (!force && lstat(path, &st) == 0)
		return aim_error_set(-EEXIST, "%s exists (use --force to overwrite)", path);
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp, "%s.tmp-%ld", path, (long)getpid()) < 0) {
		free(o->path);
		o->path = o->tmp = NULL;
		return -ENOMEM;
	}
	o->fd = open(o->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (o->fd < 0) {
		int r = -errno;
		aim_error_set(r, "cannot create %s: %s", o->tmp, strerror(-r));
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return r;
	}
	return 0;
}

int aim_outfile_commit(struct aim_outfile *o)
{
	int r = 0;

	if (fsync(o->fd) < 0)
		r = aim_error_set(-errno, "fsync %s: %s", o->tmp, strerror(errno));
	if (r == 0 && close(o->fd) < 0)
		r = aim_error_set(-errno, "close %s: %s", o->tmp, strerror(errno));
	else if (r < 0)
		close(o->fd);
	o->fd = -EBADF;
	if (r == 0 && rename(o->tmp, o->path) < 0)
		r = aim_error_set(-errno, "rename to %s: %s", o->path, strerror(errno));
	if (r == 0)
		r = aim_fsync_parent(o->path);
	if (r < 0)
		unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	return r;
}

void aim_outfile_abort(struct aim_outfile *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -EBADF;
	if (o->tmp)
		unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
}

int aim_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	struct aim_outfile o;
	int r = aim_outfile_open(&o, path, 1);

	if (r < 0)
		return r;
	r = aim_write_full(o.fd, buf, len);
	if (r == 0 && fchmod(o.fd, mode) < 0)
		r = -errno;
	if (r < 0) {
		aim_outfile_abort(&o);
		return r;
	}
	return aim_outfile_commit(&o);
}
