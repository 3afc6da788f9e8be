// SPDX-License-Identifier: LGPL-2.1-or-later
/* Running mtools on a FAT file system in an image (see mtools.h). */
#include "mtools.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "base/spawn.h"

#define MAX_ENV 8
#define MAX_ARGS 16

int aim_mtools(const char *image, uint64_t offset, const char *const env[], const char *cmd,
	       const char *const args[])
{
	_cleanup_free_ const char **argv = NULL;
	const char *envp[MAX_ENV + 2] = {"MTOOLS_SKIP_CHECK=1"};
	_cleanup_free_ char *where = NULL;
	size_t n = 0, k = 0;

	while (args && args[n])
		n++;
	for (size_t i = 0; env && env[i]; i++) {
		if (i >= MAX_ENV)
			return -E2BIG;
		envp[i + 1] = env[i];
	}
	if (asprintf(&where, "%s@@%" PRIu64, image, offset) < 0) {
		where = NULL;
		return -ENOMEM;
	}
	argv = calloc(n + 4, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	argv[k++] = cmd;
	argv[k++] = "-i";
	argv[k++] = where;
	for (size_t i = 0; i < n; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	return aim_spawn(argv, envp);
}

int aim_mtools_l(const char *image, uint64_t offset, const char *cmd, ...)
{
	const char *args[MAX_ARGS + 1];
	size_t n = 0;
	va_list ap;

	va_start(ap, cmd);
	while ((args[n] = va_arg(ap, const char *))) {
		if (++n == MAX_ARGS) {
			va_end(ap);
			return -E2BIG;
		}
	}
	va_end(ap);
	return aim_mtools(image, offset, NULL, cmd, args);
}
