// SPDX-License-Identifier: LGPL-2.1-or-later
/* The running device as a target: boot.env names the booted slot and the devices, the
 * boot partition is a mounted directory, the slots are partitions found through sysfs
 * (see target.h, target-backend.h). Writes: temp file, fsync, rename, fsync(dir). */
#include "target-backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpi.h"
#include "base/bootenv.h"
#include "base/fault.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/slotstate_io.h"

#define BOOT_ENV_MAX (64 * 1024)
#define MAX_ENV 64
#define TMP_SUFFIX ".aim-tmp"

struct device_target {
	struct aim_target t;
	char *run_dir, *sysfs, *dev_dir;
	char *env_text;
	const char *env_key[MAX_ENV], *env_val[MAX_ENV];
	int nenv;
	char *mnt; /* the boot partition's files: our mount, or opts->boot_dir */
	int mounted;
	char *disk;
	char *slot_path[2];
	/* Raspberry Pi (rpi.h): partitions 5 and 6, each slot's boot files, mounted too (with
	 * opts->boot_dir: the directories <boot_dir>.p5 and <boot_dir>.p6) */
	char *rpi_mnt[2];
	int rpi_mounted[2];
};

static struct device_target *dev(struct aim_target *t)
{
	return (struct device_target *)t;
}

/* ---- opening ---- */

static const char *device_boot_env(const struct aim_target *t, const char *key)
{
	const struct device_target *d = (const struct device_target *)t;

	for (int i = 0; i < d->nenv; i++)
		if (!strcmp(d->env_key[i], key))
			return d->env_val[i];
	return NULL;
}

static int simple_name(const char *s)
{
	return s && s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < 64;
}

/* A Raspberry Pi's slot boot partitions, when partition 1 has autoboot.txt. */
static int open_rpi(struct device_target *d, const struct aim_target_opts *o)
{
	char path[PATH_MAX], name[64];
	int r;

	snprintf(path, sizeof(path), "%s%s", d->mnt, AIM_RPI_AUTOBOOT);
	if (access(path, F_OK) < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (o && o->boot_dir) {
			if (asprintf(&d->rpi_mnt[i], "%s.p%d", o->boot_dir, AIM_RPI_PART_A + i) < 0)
				d->rpi_mnt[i] = NULL;
			if (!d->rpi_mnt[i])
				return -ENOMEM;
			continue;
		}
		r = aim_disk_partition(d->sysfs, d->disk, AIM_RPI_PART_A + i, name, sizeof(name));
		if (r < 0)
			return aim_error_set(r, "no partition %d (slot %c's boot files) on %s",
					     AIM_RPI_PART_A + i, 'a' + i, d->disk);
		snprintf(path, sizeof(path), "%s/%s", d->dev_dir, name);
		if (asprintf(&d->rpi_mnt[i], "%s/boot-mnt-%c", d->run_dir, 'a' + i) < 0) {
			d->rpi_mnt[i] = NULL;
			return -ENOMEM;
		}
		r = aim_disk_mount_boot(path, d->rpi_mnt[i], o ? o->boot_fstype : NULL,
					d->t.readonly);
		if (r < 0)
			return r;
		d->rpi_mounted[i] = 1;
	}
	return 0;
}

static int device_open(struct aim_target *t, const struct aim_target_opts *o)
{
	struct device_target *d = dev(t);
	char path[PATH_MAX], node[PATH_MAX];
	const char *v, *boot, *disk;
	struct stat sb;
	int r;

	d->run_dir = strdup(o && o->run_dir ? o->run_dir : AIM_TARGET_RUN_DIR);
	d->sysfs = strdup(o && o->sysfs ? o->sysfs : "/sys");
	d->dev_dir = strdup(o && o->dev_dir ? o->dev_dir : "/dev");
	if (!d->run_dir || !d->sysfs || !d->dev_dir)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/" AIM_BOOT_ENV_NAME, d->run_dir);
	r = aim_read_file(path, BOOT_ENV_MAX, &d->env_text, NULL);
	if (r == -ENOENT)
		return aim_error_set(r, "no %s: this system was not booted by aim-boot "
					"(use --image IMG for an image file)", path);
	if (r < 0)
		return aim_error_set(r, "cannot read %s: %s", path, strerror(-r));
	d->nenv = aim_bootenv_parse(d->env_text, d->env_key, d->env_val, MAX_ENV);
	v = device_boot_env(t, "slot");
	if (!v || strlen(v) != 1 || (v[0] != 'a' && v[0] != 'b'))
		return aim_error_set(-EBADMSG, "%s has no slot=a|b", path);
	t->booted_slot = v[0];
	boot = device_boot_env(t, "boot_dev");
	disk = device_boot_env(t, "disk");
	if (simple_name(disk)) {
		d->disk = strdup(disk);
		if (!d->disk)
			return -ENOMEM;
	}
	if (o && o->boot_dir) {
		d->mnt = strdup(o->boot_dir);
		return d->mnt ? open_rpi(d, o) : -ENOMEM;
	}
	if (!simple_name(boot) || !d->disk)
		return aim_error_set(-EBADMSG, "%s names no boot_dev= and disk= (aim-boot could "
					       "not find the devices at boot)", path);
	snprintf(node, sizeof(node), "%s/%s", d->dev_dir, boot);
	if (stat(node, &sb) < 0 || !S_ISBLK(sb.st_mode))
		return aim_error_set(-ENODEV, "boot partition %s is not a block device", node);
	if (asprintf(&d->mnt, "%s/boot-mnt", d->run_dir) < 0) {
		d->mnt = NULL;
		return -ENOMEM;
	}
	r = aim_disk_mount_boot(node, d->mnt, o ? o->boot_fstype : NULL, t->readonly);
	if (r < 0)
		return r;
	d->mounted = 1;
	return open_rpi(d, o);
}

static void device_free(struct aim_target *t)
{
	struct device_target *d = dev(t);

	for (int i = 0; i < 2; i++) {
		if (d->rpi_mounted[i])
			aim_disk_umount(d->rpi_mnt[i]);
		free(d->rpi_mnt[i]);
	}
	if (d->mounted)
		aim_disk_umount(d->mnt);
	free(d->run_dir);
	free(d->sysfs);
	free(d->dev_dir);
	free(d->env_text);
	free(d->mnt);
	free(d->disk);
	free(d->slot_path[0]);
	free(d->slot_path[1]);
}

/* ---- files ---- */

static char *host_path(struct aim_target *t, const char *path)
{
	struct device_target *d = dev(t);
	char *s = NULL;

	/* Raspberry Pi: "/slot-b/vmlinuz" is "/vmlinuz" on partition 6 */
	if (d->rpi_mnt[0] && !strncmp(path, "/slot-", 6) && (path[6] == 'a' || path[6] == 'b') &&
	    path[7] == '/' && aim_rpi_on_slot_part(path + 8)) {
		if (asprintf(&s, "%s%s", d->rpi_mnt[path[6] - 'a'], path + 7) < 0)
			return NULL;
		return s;
	}
	if (asprintf(&s, "%s%s", d->mnt, path) < 0)
		return NULL;
	return s;
}

static int device_read_file(struct aim_target *t, const char *path, size_t max, char **ret,
			    size_t *ret_len)
{
	_cleanup_free_ char *hp = host_path(t, path);

	if (!hp)
		return -ENOMEM;
	return aim_read_file(hp, max, ret, ret_len);
}

static int device_exists(struct aim_target *t, const char *path)
{
	_cleanup_free_ char *hp = host_path(t, path);

	if (!hp)
		return -ENOMEM;
	if (access(hp, F_OK) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

static int device_mkdir(struct aim_target *t, const char *path)
{
	_cleanup_free_ char *hp = host_path(t, path);

	if (!hp)
		return -ENOMEM;
	if (mkdir(hp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return aim_fsync_parent(hp);
}

static int device_file_begin(struct aim_target_file *f)
{
	int r = aim_target_make_parents(f->t, f->path);

	if (r < 0)
		return r;
	{
		_cleanup_free_ char *hp = host_path(f->t, f->path);
		if (!hp || asprintf(&f->tmp, "%s" TMP_SUFFIX, hp) < 0) {
			f->tmp = NULL;
			return -ENOMEM;
		}
	}
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f->fd < 0) {
		r = aim_error_set(-errno, "cannot create %s: %s", f->tmp, strerror(errno));
		free(f->tmp);
		f->tmp = NULL;
		return r;
	}
	aim_fault_point("boot file temp created");
	return 0;
}

static int device_file_write(struct aim_target_file *f, const void *buf, size_t len)
{
	int r = aim_target_file_write_fd(f, buf, len);

	if (r < 0)
		return r;
	aim_fault_point("boot file write");
	return 0;
}

static int device_file_commit(struct aim_target_file *f)
{
	_cleanup_free_ char *hp = host_path(f->t, f->path);
	int r = 0;

	if (!hp)
		r = -ENOMEM;
	if (r == 0 && fsync(f->fd) < 0)
		r = aim_error_set(-errno, "cannot fsync %s: %s", f->tmp, strerror(errno));
	if (r == 0)
		aim_fault_point("boot file fsync");
	if (close(f->fd) < 0 && r == 0)
		r = aim_error_set(-errno, "cannot write %s: %s", f->tmp, strerror(errno));
	f->fd = -EBADF;
	if (r == 0 && rename(f->tmp, hp) < 0)
		r = aim_error_set(-errno, "cannot rename %s to %s: %s", f->tmp, hp,
				  strerror(errno));
	if (r == 0) {
		free(f->tmp);
		f->tmp = NULL;
		aim_fault_point("boot file rename");
		r = aim_fsync_parent(hp);
		if (r == 0)
			aim_fault_point("boot file directory fsync");
	}
	return r;
}

static int device_remove(struct aim_target *t, const char *path)
{
	_cleanup_free_ char *hp = host_path(t, path);
	int r;

	if (!hp)
		return -ENOMEM;
	if (unlink(hp) < 0)
		return aim_error_set(-errno, "cannot remove %s: %s", hp, strerror(errno));
	aim_fault_point("boot file removed");
	r = aim_fsync_parent(hp);
	if (r < 0)
		return r;
	aim_fault_point("boot file directory fsync");
	return 0;
}

static int device_rmdir(struct aim_target *t, const char *path)
{
	_cleanup_free_ char *hp = host_path(t, path);

	return !hp ? -ENOMEM : rmdir(hp) < 0 ? -errno : aim_fsync_parent(hp);
}

static int list_host(const char *base, const char *rel, struct aim_strv *s, int depth)
{
	char p[2 * PATH_MAX + 2];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > 16)
		return -ELOOP;
	snprintf(p, sizeof(p), "%s%s%s", base, rel[0] ? "/" : "", rel);
	d = opendir(p);
	if (!d)
		return errno == ENOENT && depth == 0 ? 0 : -errno;
	while (r == 0 && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		snprintf(p, sizeof(p), "%s/%s", base, sub);
		if (lstat(p, &sb) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(sb.st_mode))
			r = list_host(base, sub, s, depth + 1);
		else
			r = aim_strv_add(s, sub, strlen(sub));
	}
	closedir(d);
	return r;
}

static int device_list(struct aim_target *t, const char *dir, struct aim_strv *s)
{
	struct device_target *d = dev(t);
	_cleanup_free_ char *hp = host_path(t, dir);
	int r;

	if (!hp)
		return -ENOMEM;
	/* Raspberry Pi: a slot's directory is its partition and its slot.env on p1 */
	if (d->rpi_mnt[0] && !strncmp(dir, "/slot-", 6) && (dir[6] == 'a' || dir[6] == 'b') &&
	    !dir[7]) {
		struct aim_strv p1 = {0};
		r = list_host(d->rpi_mnt[dir[6] - 'a'], "", s, 0);
		if (r == 0)
			r = list_host(hp, "", &p1, 0);
		for (size_t i = 0; r == 0 && i < p1.n; i++)
			if (!aim_rpi_on_slot_part(p1.v[i]))
				r = aim_strv_add(s, p1.v[i], strlen(p1.v[i]));
		aim_strv_free(p1.v);
		return r;
	}
	return list_host(hp, "", s, 0);
}

/* ---- slot state, slot partitions ---- */

static int device_state_load(struct aim_target *t, struct aim_slotstate *st, int *ret_copy)
{
	return aim_slotstate_load(dev(t)->mnt, st, ret_copy);
}

static int device_state_store(struct aim_target *t, const struct aim_slotstate *st, int copy)
{
	int r = aim_slotstate_store(dev(t)->mnt, st, copy);

	if (r < 0)
		return aim_error_set(r, "cannot write %s/state-%d.txt: %s", dev(t)->mnt, copy,
				     strerror(-r));
	return 0;
}

static int device_slot_dev(struct aim_target *t, int idx, const char **ret_path,
			   uint64_t *ret_offset, uint64_t *ret_size)
{
	struct device_target *d = dev(t);
	char name[64];
	int r;

	if (!d->disk)
		return aim_error_set(-ENODEV, "boot.env names no disk=");
	r = aim_disk_partition(d->sysfs, d->disk, 2 + idx, name, sizeof(name));
	if (r < 0)
		return r;
	free(d->slot_path[idx]);
	if (asprintf(&d->slot_path[idx], "%s/%s", d->dev_dir, name) < 0) {
		d->slot_path[idx] = NULL;
		return -ENOMEM;
	}
	r = aim_disk_size(d->sysfs, name, ret_size);
	if (r < 0)
		return r;
	*ret_path = d->slot_path[idx];
	*ret_offset = 0;
	return 0;
}

const struct aim_target_ops aim_target_device_ops = {
	.size = sizeof(struct device_target),
	.is_image = 0,
	.open = device_open,
	.free = device_free,
	.boot_env = device_boot_env,
	.read_file = device_read_file,
	.exists = device_exists,
	.mkdir = device_mkdir,
	.file_begin = device_file_begin,
	.file_write = device_file_write,
	.file_commit = device_file_commit,
	.remove = device_remove,
	.rmdir = device_rmdir,
	.list = device_list,
	.state_load = device_state_load,
	.state_store = device_state_store,
	.slot_dev = device_slot_dev,
};
