// SPDX-License-Identifier: LGPL-2.1-or-later
/* dm-verity devices through the device-mapper ioctls (dm.h). libc only. */
#include "base/dm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/bootenv.h"
#include "base/fileio.h"

#define DM_CONTROL "/dev/mapper/control"
#define DM_BUF 16384

__attribute__((format(printf, 4, 5))) static int err_set(int r, char *err, size_t errsz,
							  const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int is_hex(const char *s, size_t want)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == want && !s[n];
}

static int get_u64(const char *text, const char *key, uint64_t *ret)
{
	char v[32], *end;

	if (aim_bootenv_get(text, key, v, sizeof(v)) < 0 || !v[0] || v[0] == '-' ||
	    (v[0] == '0' && v[1]))
		return -1;
	errno = 0;
	*ret = strtoull(v, &end, 10);
	return errno || *end ? -1 : 0;
}

int aim_verity_from_env(const char *text, struct aim_verity *ret, char *err, size_t errsz)
{
	char on[8];
	uint64_t block;
	size_t hexlen;

	memset(ret, 0, sizeof(*ret));
	if (aim_bootenv_get(text, "verity", on, sizeof(on)) < 0 || !strcmp(on, "0"))
		return 0;
	if (strcmp(on, "1"))
		return err_set(-EBADMSG, err, errsz, "verity=%s (not 0 or 1)", on);
	if (aim_bootenv_get(text, "verity_alg", ret->alg, sizeof(ret->alg)) < 0 ||
	    strcmp(ret->alg, "sha256"))
		return err_set(-EBADMSG, err, errsz, "verity_alg missing or not sha256");
	hexlen = 64;
	if (get_u64(text, "verity_block", &block) < 0 || block != 4096)
		return err_set(-EBADMSG, err, errsz, "verity_block missing or not 4096");
	ret->block = (unsigned)block;
	if (get_u64(text, "verity_data_blocks", &ret->data_blocks) < 0 || !ret->data_blocks ||
	    ret->data_blocks > (UINT64_MAX >> 13))
		return err_set(-EBADMSG, err, errsz, "verity_data_blocks missing or out of range");
	if (get_u64(text, "verity_hash_offset", &ret->hash_offset) < 0 ||
	    ret->hash_offset % block || ret->hash_offset < ret->data_blocks * block)
		return err_set(-EBADMSG, err, errsz, "verity_hash_offset missing, not a multiple "
				"of %u or inside the data", ret->block);
	if (aim_bootenv_get(text, "verity_root", ret->root, sizeof(ret->root)) < 0 ||
	    !is_hex(ret->root, hexlen))
		return err_set(-EBADMSG, err, errsz, "verity_root missing or not %zu lowercase hex "
				"digits", hexlen);
	if (aim_bootenv_get(text, "verity_salt", ret->salt, sizeof(ret->salt)) < 0 ||
	    (strcmp(ret->salt, "-") && (strlen(ret->salt) % 2 || strlen(ret->salt) > 2 * 256 ||
					!is_hex(ret->salt, strlen(ret->salt)))))
		return err_set(-EBADMSG, err, errsz, "verity_salt missing or not lowercase hex");
	return 1;
}

uint64_t aim_verity_sectors(const struct aim_verity *v)
{
	return v->data_blocks * (v->block / 512);
}

int aim_verity_table(const struct aim_verity *v, const char *dev, char *ret, size_t retsz)
{
	int n;

	if (!v->block || v->block % 512 || !v->data_blocks || v->hash_offset % v->block ||
	    !v->root[0] || !v->salt[0] || !v->alg[0] || !dev[0] || strchr(dev, ' '))
		return -EINVAL;
	n = snprintf(ret, retsz, "1 %s %s %u %u %" PRIu64 " %" PRIu64 " %s %s %s 1 "
		     "restart_on_corruption", dev, dev, v->block, v->block, v->data_blocks,
		     v->hash_offset / v->block, v->alg, v->root, v->salt);
	return n < 0 || (size_t)n >= retsz ? -ENAMETOOLONG : 0;
}

static int control_fd(void)
{
	char buf[32];
	unsigned ma, mi;
	int fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		return fd < 0 ? -errno : fd;
	/* no devtmpfs node: make it from sysfs (misc device "device-mapper") */
	if (aim_read_text("/sys/class/misc/device-mapper/dev", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return -ENODEV;
	if (aim_mkdir_p("/dev/mapper", 0755) < 0 ||
	    (mknod(DM_CONTROL, S_IFCHR | 0600, makedev(ma, mi)) < 0 && errno != EEXIST))
		return -errno;
	fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The ioctl header for name in buf (DM_BUF bytes, zeroed). */
static struct dm_ioctl *dm_init(void *buf, const char *name, uint32_t flags)
{
	struct dm_ioctl *io = buf;

	memset(buf, 0, DM_BUF);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = DM_BUF;
	io->data_start = sizeof(*io);
	io->flags = flags;
	snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

static int dm_call(int fd, unsigned long req, struct dm_ioctl *io)
{
	return ioctl(fd, req, io) < 0 ? -errno : 0;
}

int aim_dm_remove(const char *name)
{
	uint64_t buf[DM_BUF / 8];
	int fd = control_fd(), r;

	if (fd < 0)
		return fd;
	r = dm_call(fd, DM_DEV_REMOVE, dm_init(buf, name, 0));
	close(fd);
	return r;
}

int aim_dm_create(const char *name, const char *type, uint64_t sectors, const char *table,
		  const char *nodedir, char *ret_node, size_t nodesz, dev_t *ret_dev, char *err,
		  size_t errsz)
{
	uint64_t buf[DM_BUF / 8];
	struct dm_ioctl *io;
	struct dm_target_spec *t;
	size_t tl = strlen(table);
	dev_t dev;
	int fd, r, n;

	if (strlen(name) >= DM_NAME_LEN || strlen(type) >= DM_MAX_TYPE_NAME ||
	    sizeof(struct dm_ioctl) + sizeof(*t) + tl + 8 > DM_BUF)
		return err_set(-EINVAL, err, errsz, "device-mapper name, type or table too long");
	fd = control_fd();
	if (fd < 0)
		return err_set(fd, err, errsz, "cannot open " DM_CONTROL ": %s (no device-mapper "
			       "in this kernel?)", strerror(-fd));
	r = dm_call(fd, DM_DEV_CREATE, dm_init(buf, name, 0));
	if (r < 0) {
		close(fd);
		return err_set(r, err, errsz, "DM_DEV_CREATE %s: %s", name, strerror(-r));
	}
	io = dm_init(buf, name, DM_READONLY_FLAG);
	io->target_count = 1;
	t = (struct dm_target_spec *)((char *)buf + sizeof(*io));
	t->sector_start = 0;
	t->length = sectors;
	snprintf(t->target_type, sizeof(t->target_type), "%s", type);
	memcpy(t + 1, table, tl + 1);
	t->next = 0;
	r = dm_call(fd, DM_TABLE_LOAD, io);
	if (r < 0) {
		err_set(r, err, errsz, "DM_TABLE_LOAD %s (%s %s): %s (see the kernel log)", name,
			type, table, strerror(-r));
		goto undo;
	}
	io = dm_init(buf, name, 0); /* DM_DEV_SUSPEND without the suspend flag: resume */
	r = dm_call(fd, DM_DEV_SUSPEND, io);
	if (r < 0) {
		err_set(r, err, errsz, "resuming %s: %s", name, strerror(-r));
		goto undo;
	}
	dev = (dev_t)io->dev;
	n = snprintf(ret_node, nodesz, "%s/%s", nodedir, name);
	if (n < 0 || (size_t)n >= nodesz) {
		r = err_set(-ENAMETOOLONG, err, errsz, "node path too long");
		goto undo;
	}
	if (access(ret_node, F_OK) < 0 &&
	    (aim_mkdir_p(nodedir, 0755) < 0 ||
	     (mknod(ret_node, S_IFBLK | 0600, dev) < 0 && errno != EEXIST))) {
		r = err_set(-errno, err, errsz, "cannot make %s: %s", ret_node, strerror(errno));
		goto undo;
	}
	if (ret_dev)
		*ret_dev = dev;
	close(fd);
	return 0;
undo:
	dm_call(fd, DM_DEV_REMOVE, dm_init(buf, name, 0));
	close(fd);
	return r;
}

int aim_dm_table_get(const char *name, char *ret, size_t retsz)
{
	uint64_t buf[DM_BUF / 8];
	struct dm_ioctl *io = dm_init(buf, name, DM_STATUS_TABLE_FLAG);
	struct dm_target_spec *t;
	int fd = control_fd(), r, n;

	if (fd < 0)
		return fd;
	r = dm_call(fd, DM_TABLE_STATUS, io);
	close(fd);
	if (r < 0)
		return r;
	if (io->flags & DM_BUFFER_FULL_FLAG || !io->target_count)
		return -ENODATA;
	t = (struct dm_target_spec *)((char *)buf + io->data_start);
	((char *)buf)[DM_BUF - 1] = 0;
	n = snprintf(ret, retsz, "%" PRIu64 " %" PRIu64 " %.16s %s", (uint64_t)t->sector_start,
		     (uint64_t)t->length, t->target_type, (const char *)(t + 1));
	return n < 0 || (size_t)n >= retsz ? -ENAMETOOLONG : 0;
}

int aim_verity_remount(const struct aim_verity *v, const char *mnt, const char *name,
		       const char *nodedir, char *ret_node, size_t nodesz, char *err,
		       size_t errsz)
{
	char dev[32], table[700];
	struct stat s;
	int r;

	if (stat(mnt, &s) < 0)
		return err_set(-errno, err, errsz, "cannot stat %s: %s", mnt, strerror(errno));
	snprintf(dev, sizeof(dev), "%u:%u", major(s.st_dev), minor(s.st_dev));
	if (aim_verity_table(v, dev, table, sizeof(table)) < 0)
		return err_set(-EINVAL, err, errsz, "bad verity parameters");
	if (umount(mnt) < 0)
		return err_set(-errno, err, errsz, "cannot unmount the unverified root %s: %s",
			       mnt, strerror(errno));
	r = aim_dm_create(name, "verity", aim_verity_sectors(v), table, nodedir, ret_node,
			  nodesz, NULL, err, errsz);
	if (r < 0)
		return r;
	if (mount(ret_node, mnt, "squashfs", MS_RDONLY, "") < 0)
		return err_set(-errno, err, errsz, "cannot mount %s (root hash %s) on %s: %s",
			       ret_node, v->root, mnt, strerror(errno));
	return 0;
}
