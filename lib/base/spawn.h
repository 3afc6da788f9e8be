/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running a helper program (mke2fs, mformat, mcopy) and waiting for it. */
#ifndef AIM_BASE_SPAWN_H
#define AIM_BASE_SPAWN_H

/* Runs argv (PATH lookup) with the extra "NAME=value" strings added to the environment
 * (NULL-terminated, may be NULL), stdout to /dev/null, stderr captured: on failure the
 * first line of it becomes the error detail. Returns 0 on exit status 0. */
int aim_spawn(const char *const argv[], const char *const extra_env[]);

#endif
