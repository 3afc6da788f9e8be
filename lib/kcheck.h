/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the image's kernel can do, read from the image (no kernel runs): dm-verity for the
 * root slots (docs/verity.md, "Kernel preflight").
 */
#ifndef AIM_KCHECK_H
#define AIM_KCHECK_H

#include <stddef.h>

#include "image.h"
#include "tree.h"

/*
 * Whether every kernel of the image (each release with a /lib/modules/<kver>/ directory
 * in the root tree root) can map dm-verity: its config (/boot/config-<kver> in the root,
 * else on the separate boot partition of ii at /config-<kver> or /boot/config-<kver>)
 * has CONFIG_DM_VERITY=y, or =m with dm-verity.ko* listed in modules.dep and present.
 * Returns 1 or 0 with one line in why saying why (or why not); <0 only for errors
 * reading the image.
 */
int aim_kernel_verity(int fd, const char *path, const struct aim_image_info *ii,
		      const struct aim_tree *root, char *why, size_t n);

#endif
