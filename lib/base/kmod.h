/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel modules for the initramfs helper: is a file system known, load a module file.
 * libc only. */
#ifndef AIM_BASE_KMOD_H
#define AIM_BASE_KMOD_H

#include <stddef.h>

/* Is file system type fs known to the kernel (/proc/filesystems)? 1 also when that
 * cannot be read (mount(2) decides then). */
int aim_kmod_have_fs(const char *fs);

/* Loads the module file dir/rel, or the first of dir/rel.xz, .zst, .gz that exists (the
 * kernel decompresses), with finit_module(2): 0 loaded or already loaded, -ENOENT no such
 * file, -errno; path: the file tried. */
int aim_kmod_load(const char *dir, const char *rel, char *path, size_t pathsz);

#endif
