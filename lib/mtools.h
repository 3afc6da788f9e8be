/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one way the library runs mtools (mformat, mcopy, mmd, mdel, mdeltree) on a FAT file
 * system inside an image file: "CMD -i IMAGE@@OFFSET ARGS..." through aim_spawn()
 * (lib/base/spawn.h), with MTOOLS_SKIP_CHECK=1, stdout discarded. Paths on the FAT file
 * system are "::/dir/name". Reads go through lib/fat.c, not through mtools.
 */
#ifndef AIM_MTOOLS_H
#define AIM_MTOOLS_H

#include <stdint.h>

/* Runs cmd on the FAT file system at byte offset of image with args (NULL-terminated; the
 * options and operands after "-i IMAGE@@OFFSET"). env: extra "NAME=value" strings
 * (NULL-terminated, may be NULL). 0 on exit status 0; else -EIO with the detail
 * "CMD failed (exit status N): <first line of its stderr>", or the error of starting it. */
int aim_mtools(const char *image, uint64_t offset, const char *const env[], const char *cmd,
	       const char *const args[]);

/* The same with the args as a NULL-terminated list and no extra environment. */
__attribute__((sentinel)) int aim_mtools_l(const char *image, uint64_t offset, const char *cmd,
					   ...);

#endif
