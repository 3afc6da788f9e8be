// SPDX-License-Identifier: LGPL-2.1-or-later
/* The running device's disk: its partitions through sysfs, mounting the boot partition
 * (see target-backend.h). */
#include "target-backend.h"

#include <dirent.h>
#include <errno.h>
/* The device build of the CLI links statically and Debian has no libmount.a: it sets
 * AIM_WITH_LIBMOUNT=0 and mounts with mount(2) (the same call libmount makes here, with
 * helpers and mtab disabled). */
#ifndef AIM_WITH_LIBMOUNT
#define AIM_WITH_LIBMOUNT 1
#endif
#if AIM_WITH_LIBMOUNT
#include <libmount.h>
#endif
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/sysblock.h"

/* The name of partition n of disk (base/sysblock's scan), with the error detail. */
int aim_disk_partition(const char *sysfs, const char *disk, int n, char *ret, size_t sz)
{
	int r = aim_sysblock_find_part(sysfs, disk, n, ret, sz);

	if (r < 0)
		return aim_error_set(r == -ENOENT ? -ENODEV : r, "disk %s has no partition %d",
				     disk, n);
	return 0;
}

int aim_disk_size(const char *sysfs, const char *name, uint64_t *ret)
{
	char p[PATH_MAX], *buf = NULL;
	uint64_t sectors;
	int r;

	snprintf(p, sizeof(p), "%s/class/block/%s/size", sysfs, name);
	r = aim_read_file(p, 64, &buf, NULL);
	if (r < 0)
		return aim_error_set(r, "cannot read %s: %s", p, strerror(-r));
	buf[strcspn(buf, "\n")] = 0;
	r = aim_parse_u64(buf, &sectors);
	free(buf);
	if (r < 0 || sectors > UINT64_MAX / 512)
		return aim_error_set(-EBADMSG, "bad size in %s", p);
	*ret = sectors * 512;
	return 0;
}

int aim_disk_mount_boot(const char *node, const char *mnt, const char *fstype, int readonly)
{
#if AIM_WITH_LIBMOUNT
	struct libmnt_context *cxt;
	char buf[256] = "";
#endif
	int r;

	r = aim_mkdir_p(mnt, 0700);
	if (r < 0)
		return aim_error_set(r, "cannot create %s: %s", mnt, strerror(-r));
	/* A mount namespace of our own: the mount is invisible elsewhere and goes away with
	 * the process, even when it is killed. Without the privilege, a plain mount. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		aim_debug("cannot make / private: %s", strerror(errno));
#if !AIM_WITH_LIBMOUNT
	if (mount(node, mnt, fstype ? fstype : "vfat",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | (readonly ? MS_RDONLY : 0), NULL) < 0) {
		r = -errno;
		return aim_error_set(r, "cannot mount the boot partition %s on %s: %s", node, mnt,
				     strerror(-r));
	}
#else
	cxt = mnt_new_context();
	if (!cxt)
		return -ENOMEM;
	mnt_context_set_source(cxt, node);
	mnt_context_set_target(cxt, mnt);
	mnt_context_set_fstype(cxt, fstype ? fstype : "vfat");
	mnt_context_set_options(cxt, readonly ? "ro,nosuid,nodev,noexec" : "rw,nosuid,nodev,noexec");
	mnt_context_disable_mtab(cxt, 1);
	mnt_context_disable_helpers(cxt, 1);
	r = mnt_context_mount(cxt);
	if (r != 0 || mnt_context_get_status(cxt) != 1) {
		int e = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;

		mnt_context_get_excode(cxt, r, buf, sizeof(buf));
		mnt_free_context(cxt);
		return aim_error_set(e ? -e : -EIO, "cannot mount the boot partition %s on %s: %s",
				     node, mnt, buf[0] ? buf : e ? strerror(e) : "failed");
	}
	mnt_free_context(cxt);
#endif
	return 0;
}

void aim_disk_umount(const char *mnt)
{
	if (umount2(mnt, 0) < 0) {
		aim_debug("cannot unmount %s: %s (detaching)", mnt, strerror(errno));
		(void)umount2(mnt, MNT_DETACH);
	}
}
