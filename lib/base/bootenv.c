// SPDX-License-Identifier: LGPL-2.1-or-later
/* boot.env: written by aim-boot, read by aim-boot and the device CLI. libc only. */
#include "base/bootenv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"

void aim_bootenv_format(FILE *f, const struct aim_bootenv_rec *r)
{
	fprintf(f, AIM_BOOTENV_SLOT "=%c\n" AIM_BOOTENV_TRIAL "=%d\n" AIM_BOOTENV_MODE "=%s\n",
		r->slot, r->trial, r->mode);
	fprintf(f, AIM_BOOTENV_REASON "=%s\n", r->reason);
	fprintf(f, AIM_BOOTENV_CMDLINE_SLOT "=%c\n", r->cmdline_slot ? r->cmdline_slot : '-');
	if (r->root_dev && r->root_dev[0])
		fprintf(f, AIM_BOOTENV_DISK "=%s\n" AIM_BOOTENV_ROOT_DEV "=%s\n"
			AIM_BOOTENV_BOOT_DEV "=%s\n" AIM_BOOTENV_DATA_DEV "=%s\n",
			r->disk, r->root_dev, r->boot_dev, r->data_dev);
	fprintf(f, AIM_BOOTENV_STATE_SEQ "=%u\n" AIM_BOOTENV_STATE_WRITE "=%s\n", r->state_seq,
		r->state_write);
	for (int i = 0; i < r->npersist; i++)
		fprintf(f, AIM_BOOTENV_PERSIST "=%s\n", r->persist[i]);
	if (r->grow && r->grow[0])
		fprintf(f, AIM_BOOTENV_GROW "=%s\n", r->grow);
	fprintf(f, AIM_BOOTENV_FACTORY_RESET "=%s\n",
		r->factory_reset && r->factory_reset[0] ? r->factory_reset : "none");
	fprintf(f, AIM_BOOTENV_TRIAL_TIMEOUT "=%u\n", r->trial_timeout);
	fprintf(f, AIM_BOOTENV_VERITY "=%d\n", r->verity);
	if (r->verity)
		fprintf(f, AIM_BOOTENV_VERITY_ROOT "=%s\n" AIM_BOOTENV_VERITY_SIGNED "=%s\n",
			r->verity_root ? r->verity_root : "",
			r->verity_signed && r->verity_signed[0] ? r->verity_signed : "-");
}

int aim_bootenv_write(const char *dir, const struct aim_bootenv_rec *r)
{
	char path[PATH_MAX];
	FILE *f;

	aim_mkdir_p(dir, 0755);
	snprintf(path, sizeof(path), "%s/" AIM_BOOT_ENV_NAME, dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	aim_bootenv_format(f, r);
	if (fclose(f)) {
		if (!errno)
			errno = EIO;
		return -errno;
	}
	return 0;
}

int aim_bootenv_parse(char *text, const char **keys, const char **vals, int max)
{
	char *p = text;
	int n = 0;

	while (p && *p) {
		char *nl = strchr(p, '\n'), *eq;

		if (nl)
			*nl = 0;
		eq = strchr(p, '=');
		if (eq && eq != p && n < max) {
			*eq = 0;
			keys[n] = p;
			vals[n] = eq + 1;
			n++;
		}
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

int aim_bootenv_get(const char *text, const char *key, char *ret, size_t retsz)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == '=') {
			size_t n = strcspn(l + kl + 1, "\n");

			if (n >= retsz)
				return -ENAMETOOLONG;
			memcpy(ret, l + kl + 1, n);
			ret[n] = 0;
			return 0;
		}
	}
	return -ENOENT;
}

void aim_bootenv_note_good(const char *dir, char slot)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/" AIM_BOOT_GOOD_NAME, dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%c\n", slot);
		close(fd);
	}
}
