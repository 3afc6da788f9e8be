// SPDX-License-Identifier: LGPL-2.1-or-later
/* Kernel modules: /proc/filesystems and finit_module(2). libc only. */
#include "base/kmod.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fileio.h"

#define MODULE_INIT_COMPRESSED_FILE 4

int aim_kmod_have_fs(const char *fs)
{
	char buf[4096], *save = NULL, *line;

	if (aim_read_text("/proc/filesystems", buf, sizeof(buf)) < 0)
		return 1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t = strrchr(line, '\t');

		if (!strcmp(t ? t + 1 : line, fs))
			return 1;
	}
	return 0;
}

int aim_kmod_load(const char *dir, const char *rel, char *path, size_t pathsz)
{
	static const char *const sfx[] = {"", ".xz", ".zst", ".gz"};

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		int fd, r = 0;

		snprintf(path, pathsz, "%s/%s%s", dir, rel, sfx[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (syscall(SYS_finit_module, fd, "", i ? MODULE_INIT_COMPRESSED_FILE : 0) < 0 &&
		    errno != EEXIST)
			r = -errno;
		close(fd);
		return r;
	}
	return -ENOENT;
}
