// SPDX-License-Identifier: LGPL-2.1-or-later
/* Slot state files: read both copies, write one power-safely. libc only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/slotstate_io.h"

/* Reads up to cap bytes; a larger file reads as cap + 1 bytes so that parse rejects it. */
static ssize_t read_small(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[4096];
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < cap + 1) {
		ssize_t n = read(fd, buf + got, cap + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

int aim_slotstate_load(const char *dir, struct aim_slotstate *st, int *ret_copy)
{
	char b1[AIM_SLOTSTATE_MAX + 1], b2[AIM_SLOTSTATE_MAX + 1], bc[AIM_GRUBENV_SIZE + 1];
	ssize_t n1 = read_small(dir, AIM_STATE_FILE_1, b1, AIM_SLOTSTATE_MAX);
	ssize_t n2 = read_small(dir, AIM_STATE_FILE_2, b2, AIM_SLOTSTATE_MAX);
	ssize_t nb;
	int r;

	/* A copy that cannot be read (EIO, a directory in its place) is an invalid copy: the
	 * other one decides, and the next store rewrites this one. */
	r = aim_slotstate_pick(n1 > 0 ? b1 : NULL, n1 > 0 ? (size_t)n1 : 0, n2 > 0 ? b2 : NULL,
			       n2 > 0 ? (size_t)n2 : 0, st, ret_copy);
	nb = read_small(dir, AIM_BOOTCOUNT_FILE, bc, sizeof(bc) - 1);
	if (r < 0) {
		/* a GRUB image keeps its flavour when a fresh state is written */
		if (nb > 0 && aim_slotstate_is_grubenv(bc, (size_t)nb))
			st->grubenv = 1;
		/* Neither is valid: a read error says more than "no state" (and -ENOENT would
		 * let aim-boot write a fresh state over copies a retry might still read). */
		if (n1 < 0 && n1 != -ENOENT)
			return (int)n1;
		if (n2 < 0 && n2 != -ENOENT)
			return (int)n2;
		return r;
	}
	if (nb > 0)
		(void)aim_slotstate_apply_bootcount(bc, (size_t)nb, st);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Removes what is at dirfd/name, a directory tree included (depth bounded). */
static int remove_tree(int dirfd, const char *name, unsigned depth)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth == 0)
		return -ELOOP;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = remove_tree(fd, de->d_name, depth - 1);
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

int aim_slotstate_store(const char *dir, const struct aim_slotstate *st, int copy)
{
	char buf[AIM_SLOTSTATE_MAX], tmp[4096], path[4096];
	int len, fd, dfd, r;

	if (copy != 1 && copy != 2)
		return -EINVAL;
	len = aim_slotstate_format(st, buf);
	if (len < 0)
		return len;
	snprintf(tmp, sizeof(tmp), "%s/state-%d.tmp", dir, copy);
	snprintf(path, sizeof(path), "%s/%s", dir, copy == 1 ? AIM_STATE_FILE_1 : AIM_STATE_FILE_2);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	aim_fault_point("state temp file created");
	r = write_all(fd, buf, (size_t)len);
	if (r == 0)
		aim_fault_point("state temp file written");
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0)
		aim_fault_point("state temp file fsync");
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
		/* A directory where the copy belongs (it read as invalid): it goes. */
		if (r == -EISDIR) {
			int dfd2 = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			r = dfd2 < 0 ? -errno : remove_tree(dfd2, strrchr(path, '/') + 1, 8);
			if (dfd2 >= 0)
				close(dfd2);
			if (r == 0 && rename(tmp, path) < 0)
				r = -errno;
		}
	}
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	aim_fault_point("state rename");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	aim_fault_point("state directory fsync");
	return 0;
}

int aim_slotstate_grub_bootcount_repair(const char *dir)
{
	char buf[AIM_GRUBENV_SIZE + 1], tmp[4096], path[4096];
	ssize_t n = read_small(dir, AIM_BOOTCOUNT_FILE, buf, AIM_GRUBENV_SIZE);
	int fd, r;

	if (n > 0 && aim_slotstate_grub_bootcount_ok(buf, (size_t)n))
		return 0;
	aim_slotstate_format_grub_bootcount(0, 0, buf);
	snprintf(tmp, sizeof(tmp), "%s/bootcount.tmp", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, AIM_BOOTCOUNT_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, AIM_GRUBENV_SIZE);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	aim_fault_point("bootcount rename");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 1;
}
