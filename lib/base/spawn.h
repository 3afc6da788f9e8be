/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running a helper program (mke2fs, mformat, mcopy) and waiting for it. */
#ifndef AIM_BASE_SPAWN_H
#define AIM_BASE_SPAWN_H

#include <stddef.h>

/* Runs argv (PATH lookup) with the extra "NAME=value" strings added to the environment
 * (NULL-terminated, may be NULL), stdout to /dev/null, stderr captured: on failure the
 * first line of it becomes the error detail. Returns 0 on exit status 0. */
int aim_spawn(const char *const argv[], const char *const extra_env[]);

/* The same with stdout and stderr both into out[outlen] (the first outlen - 1 bytes, up
 * to 511, NUL-terminated): for a "--version". */
int aim_spawn_output(const char *const argv[], char *out, size_t outlen);

#endif
