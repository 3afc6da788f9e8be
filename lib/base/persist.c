// SPDX-License-Identifier: LGPL-2.1-or-later
/* Persistent paths that start from the image (lib/base/persist.h). libc only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/persist.h"

const char *const aim_persist_identity[] = {
	"/etc/machine-id",		/* systemd's (and D-Bus') identity of the machine */
	"/etc/ssh",			/* the SSH host keys (and sshd's configuration) */
	"/var/lib/systemd/timesync",	/* the clock file: time never goes back */
	NULL,
};

static int parent_p(const char *path)
{
	char tmp[PATH_MAX], *slash;

	snprintf(tmp, sizeof(tmp), "%s", path);
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = 0;
	return aim_mkdir_p(tmp, 0755);
}

/* The image's file src to dst (absent): temp beside it, fsync, rename, fsync of the
 * directory; owner, mode and content kept. */
static int copy_file(const char *src, const char *dst, const struct stat *s)
{
	char tmp[PATH_MAX + 8], buf[65536], dir[PATH_MAX], *slash;
	int in, out, r = 0;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, s->st_mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while (r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 || write(out, buf, (size_t)n) != n)
			r = n < 0 ? -errno : -EIO;
	}
	if (r == 0 && (fchown(out, s->st_uid, s->st_gid) < 0 ||
		       fchmod(out, s->st_mode & 07777) < 0 || fsync(out) < 0))
		r = -errno;
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

static int bind(const char *src, const char *dst, char *err, size_t errsz)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		snprintf(err, errsz, "cannot bind %s on %s: %s", src, dst, strerror(errno));
		return -errno;
	}
	return 0;
}

/* A file bind-mounted over dst: dst is made (empty) when the root lacks it. */
static int bind_file(const char *src, const char *dst, char *err, size_t errsz)
{
	int fd, r;

	if ((r = parent_p(dst)) < 0 ||
	    ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0 && (r = -errno) < 0)) {
		snprintf(err, errsz, "cannot create %s: %s", dst, strerror(-r));
		return r;
	}
	close(fd);
	return bind(src, dst, err, errsz);
}

int aim_persist_mount(const char *lower, const char *data, const char *newroot, const char *path,
		      char *err, size_t errsz)
{
	char img[PATH_MAX], keep[PATH_MAX], work[PATH_MAX], dst[PATH_MAX], opts[PATH_MAX * 3 + 64];
	struct stat si, sk;
	int have_img, have_keep, r;

	snprintf(img, sizeof(img), "%s%s", lower, path);
	snprintf(keep, sizeof(keep), "%s/persist%s", data, path);
	snprintf(work, sizeof(work), "%s/persist-work%s", data, path);
	snprintf(dst, sizeof(dst), "%s%s", newroot, path);
	have_img = lstat(img, &si) == 0;
	have_keep = lstat(keep, &sk) == 0;
	if (have_img && S_ISREG(si.st_mode)) {
		if (have_keep && !S_ISREG(sk.st_mode)) {
			snprintf(err, errsz, "%s is a file in the image but %s is not", path, keep);
			return -EEXIST;
		}
		if (!have_keep && ((r = parent_p(keep)) < 0 || (r = copy_file(img, keep, &si)) < 0)) {
			snprintf(err, errsz, "cannot copy %s to %s: %s", img, keep, strerror(-r));
			return r;
		}
		return bind_file(keep, dst, err, errsz);
	}
	if (!have_img && have_keep && S_ISREG(sk.st_mode))
		return bind_file(keep, dst, err, errsz);
	if (have_keep && !S_ISDIR(sk.st_mode)) {
		snprintf(err, errsz, "%s on the data partition is not a directory", keep);
		return -ENOTDIR;
	}
	if ((r = aim_mkdir_p(keep, 0755)) < 0 || (r = aim_mkdir_p(dst, 0755)) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", have_keep ? dst : keep, strerror(-r));
		return r;
	}
	if (!have_img || !S_ISDIR(si.st_mode))
		return bind(keep, dst, err, errsz);
	if ((r = aim_mkdir_p(work, 0755)) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", work, strerror(-r));
		return r;
	}
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", img, keep, work);
	if (mount("overlay", dst, "overlay", 0, opts) < 0) {
		snprintf(err, errsz, "cannot mount the overlay for %s (%s): %s", path, opts,
			 strerror(errno));
		return -errno;
	}
	return 0;
}
