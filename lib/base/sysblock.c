// SPDX-License-Identifier: LGPL-2.1-or-later
/* Block devices through sysfs, and the block-device ioctls of the growth. libc only. */
#include "base/sysblock.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/blkpg.h>

#include "base/fileio.h"

/* <linux/fs.h> clashes with <sys/mount.h> on glibc 2.36 */
#ifndef BLKSSZGET
#define BLKSSZGET _IO(0x12, 104)
#endif
#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

int aim_copy_name(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

int aim_sysblock_part_info(const char *sysfs, const char *name, int *ret_partn, char *disk,
			   size_t disksz)
{
	char path[PATH_MAX], real[PATH_MAX], buf[32], *slash;

	snprintf(path, sizeof(path), "%s/class/block/%s/partition", sysfs, name);
	if (aim_read_text(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	*ret_partn = atoi(buf);
	snprintf(path, sizeof(path), "%s/class/block/%s", sysfs, name);
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	slash = strrchr(real, '/');
	return aim_copy_name(disk, disksz, slash ? slash + 1 : real);
}

int aim_sysblock_find_part(const char *sysfs, const char *disk, int partn, char *ret,
			   size_t retsz)
{
	char path[PATH_MAX], d[64];
	struct dirent *de;
	DIR *dir;
	int n, found = 0;

	snprintf(path, sizeof(path), "%s/class/block", sysfs);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (aim_sysblock_part_info(sysfs, de->d_name, &n, d, sizeof(d)) == 0 &&
		    n == partn && !strcmp(d, disk) && aim_copy_name(ret, retsz, de->d_name) == 0)
			found = 1;
	}
	closedir(dir);
	return found ? 0 : -ENOENT;
}

int aim_sysblock_dev_node(const char *sysfs, const char *name, const char *nodedir, char *ret,
			  size_t retsz)
{
	char path[PATH_MAX], buf[32];
	unsigned ma, mi;

	snprintf(ret, retsz, "/dev/%s", name);
	if (access(ret, F_OK) == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/class/block/%s/dev", sysfs, name);
	if (aim_read_text(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return -ENOENT;
	mkdir(nodedir, 0755);
	snprintf(ret, retsz, "%s/dev-%s", nodedir, name);
	if (mknod(ret, S_IFBLK | 0600, makedev(ma, mi)) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int aim_sysblock_name_of_dev(const char *sysfs, dev_t dev, char *ret, size_t retsz)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs, major(dev), minor(dev));
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	return aim_copy_name(ret, retsz, slash ? slash + 1 : real);
}

int aim_blockdev_geometry(int fd, unsigned *ret_lbs, uint64_t *ret_lbas)
{
	uint64_t bytes = 0;
	int ss = 512;

	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &ss) < 0)
		return -errno;
	if (ss <= 0)
		return -EINVAL;
	*ret_lbs = (unsigned)ss;
	*ret_lbas = bytes / (unsigned)ss;
	return 0;
}

int aim_blockdev_resize_part(int fd, int partn, uint64_t start, uint64_t len)
{
	struct blkpg_partition bp = {.pno = partn, .start = (long long)start,
				     .length = (long long)len};
	struct blkpg_ioctl_arg a = {.op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(bp),
				    .data = &bp};

	return ioctl(fd, BLKPG, &a) < 0 ? -errno : 0;
}
