/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* autoboot.txt from the slot state (see autoboot.h and docs/rpi.md). */
#include "base/autoboot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/log.h"

void aim_rpi_autoboot_slots(const struct aim_slotstate *st, char *ret_all, char *ret_try)
{
	char all = st->active == 'b' ? 'b' : 'a';
	char t = st->try_slot;

	*ret_all = all;
	*ret_try = (t == 'a' || t == 'b') && t != all && st->tries[t - 'a'] > 0 ? t : all;
}

int aim_rpi_autoboot(const struct aim_slotstate *st, char *buf, size_t n)
{
	char all, try;
	int r;

	aim_rpi_autoboot_slots(st, &all, &try);
	r = snprintf(buf, n,
		     "# armimmutable: written from the slot state (docs/rpi.md); do not edit\n"
		     "[all]\ntryboot_a_b=1\nboot_partition=%d\n[tryboot]\nboot_partition=%d\n",
		     AIM_RPI_PART(all), AIM_RPI_PART(try));
	return r < 0 || (size_t)r >= n ? -ENOBUFS : r;
}

int aim_rpi_autoboot_parse(const char *buf, size_t len, unsigned *ret_all, unsigned *ret_try)
{
	enum { NONE, ALL, TRY, OTHER } sec = NONE;
	unsigned all = 0, try = 0;
	int ab = 0;

	if (len > AIM_RPI_AUTOBOOT_MAX)
		return aim_error_set(-EBADMSG, "autoboot.txt has %zu bytes, the firmware reads 512",
				     len);
	for (size_t i = 0; i < len;) {
		const char *l = buf + i, *e = memchr(l, '\n', len - i);
		size_t n = e ? (size_t)(e - l) : len - i;
		char line[128];
		unsigned v;

		i += n + 1;
		if (n && l[n - 1] == '\r')
			n--;
		if (n >= sizeof(line) || !n || l[0] == '#')
			continue;
		memcpy(line, l, n);
		line[n] = 0;
		if (line[0] == '[') {
			sec = !strcmp(line, "[all]") ? ALL : !strcmp(line, "[tryboot]") ? TRY : OTHER;
		} else if (!strcmp(line, "tryboot_a_b=1")) {
			ab = 1;
		} else if (sscanf(line, "boot_partition=%u", &v) == 1) {
			if (sec == ALL || sec == NONE)
				all = v;
			else if (sec == TRY)
				try = v;
		}
	}
	if (!ab)
		return aim_error_set(-EBADMSG, "autoboot.txt lacks tryboot_a_b=1");
	*ret_all = all;
	*ret_try = try;
	return 0;
}

int aim_rpi_autoboot_store(const char *dir, const struct aim_slotstate *st)
{
	char buf[AIM_RPI_AUTOBOOT_MAX], old[AIM_RPI_AUTOBOOT_MAX + 1], tmp[4096], path[4096];
	ssize_t k;
	int n, fd, r = 0;

	snprintf(path, sizeof(path), "%s%s", dir, AIM_RPI_AUTOBOOT);
	snprintf(tmp, sizeof(tmp), "%s/autoboot.tmp", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	k = read(fd, old, sizeof(old));
	close(fd);
	n = aim_rpi_autoboot(st, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (k == n && !memcmp(old, buf, (size_t)n))
		return 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	aim_fault_point("autoboot temp file created");
	if (write(fd, buf, (size_t)n) != n)
		r = errno ? -errno : -EIO;
	if (r == 0)
		aim_fault_point("autoboot temp file written");
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
	aim_fault_point("autoboot rename");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 1;
}
