/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raspberry Pi A/B through autoboot.txt and tryboot (see rpi.h and docs/rpi.md). */
#include "rpi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extlinux.h"
#include "slotenv.h"
#include "target.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/ptable.h"
#include "base/slotstate_io.h"

#define BASIC_DATA "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
#define LINUX_DATA "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

static size_t quotes(const char *s, size_t n)
{
	size_t q = 0;

	for (size_t i = 0; i < n; i++)
		q += s[i] == '"';
	return q;
}

int aim_rpi_rewrite_cmdline(const char *in, char slot, const char *partuuid, char **ret)
{
	size_t n = strcspn(in, "\r\n"), rest = strspn(in + n, "\r\n");
	_cleanup_free_ char *line = NULL;

	*ret = NULL;
	if (in[n + rest])
		return aim_error_set(-EINVAL, "cmdline.txt has more than one line: the firmware "
				     "reads only the first");
	if (!n)
		return aim_error_set(-EINVAL, "cmdline.txt is empty");
	/* The kernel reads an open quote to the end of the line: words added after it would
	 * be part of the quoted value, never root= or the slot. */
	if (quotes(in, n) % 2)
		return aim_error_set(-EINVAL, "cmdline.txt has an unterminated double quote");
	if (aim_extlinux_cmdline(in, n, slot, partuuid, &line) < 0)
		return -ENOMEM;
	return asprintf(ret, "%s\n", line) < 0 ? -ENOMEM : 0;
}

int aim_rpi_on_slot_part(const char *name)
{
	return strcmp(name, "slot.env") && strcmp(name, "slot.env.minisig") &&
	       strcmp(name, "install.env");
}

int aim_rpi_target(struct aim_target *t)
{
	return aim_target_exists(t, AIM_RPI_AUTOBOOT) > 0;
}

int aim_rpi_sync(struct aim_target *t, const struct aim_slotstate *st)
{
	_cleanup_free_ char *old = NULL;
	char buf[AIM_RPI_AUTOBOOT_MAX];
	size_t len = 0;
	int r, n;

	r = aim_target_read_file(t, AIM_RPI_AUTOBOOT, 4096, &old, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	n = aim_rpi_autoboot(st, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (len == (size_t)n && !memcmp(old, buf, len))
		return 0;
	r = aim_target_write_file(t, AIM_RPI_AUTOBOOT, buf, (size_t)n);
	if (r < 0)
		return aim_error_set(r, "cannot write autoboot.txt: %s",
				     aim_error_detail() ? aim_error_detail() : strerror(-r));
	return 1;
}

int aim_rpi_table(int fd, uint64_t disk_size, const char *disk_id, const uint64_t starts[4],
		  const uint64_t sizes[4], const char uuids[4][37], const char *const names[4],
		  const uint64_t rpi_start[2], uint64_t rpi_size, const char rpi_uuid[2][37])
{
	_cleanup_free_ struct aim_ptable *pt = calloc(1, sizeof(*pt));

	if (!pt)
		return -ENOMEM;
	pt->type = AIM_PTABLE_GPT;
	pt->sector_size = 512;
	pt->disk_size = disk_size;
	snprintf(pt->disk_id, sizeof(pt->disk_id), "%s", disk_id);
	pt->nparts = 6;
	for (int i = 0; i < 6; i++) {
		struct aim_part *q = &pt->parts[i];
		q->num = (unsigned)i + 1;
		q->start = i < 4 ? starts[i] : rpi_start[i - 4];
		q->size = i < 4 ? sizes[i] : rpi_size;
		snprintf(q->uuid, sizeof(q->uuid), "%s", i < 4 ? uuids[i] : rpi_uuid[i - 4]);
		snprintf(q->type_guid, sizeof(q->type_guid), "%s",
			 i == 0 || i >= 4 ? BASIC_DATA : LINUX_DATA);
		snprintf(q->name, sizeof(q->name), "%s",
			 i < 4 ? names[i] : i == 4 ? "boot_a" : "boot_b");
	}
	return aim_ptable_write(fd, pt);
}

static int stamp(const char *path, uint32_t epoch)
{
	struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};

	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int aim_rpi_split_stage(const char *stage, char slot, const char *dest, uint32_t epoch)
{
	char src[4200], a[4500], b[4500];
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (mkdir(dest, 0755) < 0)
		return aim_error_set(-errno, "cannot create %s: %m", dest);
	snprintf(src, sizeof(src), "%s/slot-%c", stage, slot);
	d = opendir(src);
	if (!d)
		return errno == ENOENT ? stamp(dest, epoch) : -errno; /* slot b empty */
	while (r == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !aim_rpi_on_slot_part(e->d_name))
			continue;
		snprintf(a, sizeof(a), "%s/%s", src, e->d_name);
		snprintf(b, sizeof(b), "%s/%s", dest, e->d_name);
		if (rename(a, b) < 0)
			r = aim_error_set(-errno, "cannot move %s: %m", a);
	}
	closedir(d);
	if (r == 0)
		r = stamp(dest, epoch);
	return r < 0 ? r : stamp(src, epoch);
}

int aim_rpi_boot_chain(const char *stage, int nslots, const char uuids[2][37], uint32_t epoch)
{
	struct aim_slotstate st;
	char path[4300], buf[AIM_RPI_AUTOBOOT_MAX];
	int r, n;

	for (int s = 0; s < nslots; s++) {
		_cleanup_free_ char *in = NULL, *out = NULL;
		char dir[4200];

		snprintf(dir, sizeof(dir), "%s/slot-%c", stage, 'a' + s);
		snprintf(path, sizeof(path), "%s/" AIM_RPI_CONFIG, dir);
		if (access(path, F_OK) < 0)
			return aim_error_set(-ENOENT, "the firmware partition has no config.txt");
		snprintf(path, sizeof(path), "%s/" AIM_RPI_CMDLINE, dir);
		r = aim_read_file(path, 1 << 16, &in, NULL);
		if (r < 0)
			return aim_error_set(r, "cannot read the image's cmdline.txt: %s",
					     strerror(-r));
		r = aim_rpi_rewrite_cmdline(in, (char)('a' + s), uuids[s], &out);
		if (r == 0)
			r = aim_slot_file_write(dir, AIM_RPI_CMDLINE, out, strlen(out), epoch);
		if (r < 0)
			return r;
	}
	aim_slotstate_init(&st);
	for (int copy = 1; copy <= 2; copy++) {
		r = aim_slotstate_store(stage, &st, copy);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "%s/state-%d.txt", stage, copy);
		r = stamp(path, epoch);
		if (r < 0)
			return r;
	}
	n = aim_rpi_autoboot(&st, buf, sizeof(buf));
	if (n < 0)
		return n;
	return aim_slot_file_write(stage, "autoboot.txt", buf, (size_t)n, epoch);
}
