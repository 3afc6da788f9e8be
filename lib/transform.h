/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The changes an immutable root needs, applied to the in-memory tree before it is
 * written as squashfs. Each is listed with its reason in docs/convert.md ("Transforms of
 * the root"); everything else stays byte for byte as in the input.
 */
#ifndef AIM_TRANSFORM_H
#define AIM_TRANSFORM_H

#include <stdint.h>

#include "tree.h"

struct aim_transform_opts {
	int overlay_tmpfs;
	int no_identity; /* KEEP_IDENTITY=no: kiosk mode keeps no machine identity */
	const char *const *persist;
	unsigned npersist;
	unsigned trial_timeout; /* TRIAL_TIMEOUT= seconds (0: no trial watchdog) */
	const char *const *trust; /* minisign public key files -> /etc/armimmutable/keys/ */
	unsigned ntrust;
	uint32_t epoch;
	/* Device side to install (NULL: none): the initramfs helper for the image's
	 * architecture and the directory holding initramfs-tools/hooks/armimmutable and
	 * initramfs-tools/scripts/local-bottom/armimmutable. */
	const char *device_helper;
	const char *hooks_dir;
};

/* Adds (or replaces) a root-owned regular file whose content is the host file src. */
int aim_transform_add_host_file(struct aim_tree *t, const char *path, uint32_t mode,
				const char *src, uint32_t epoch);

/* Detaches /boot's contents (returned as a tree of its own rooted at the old /boot,
 * sharing t's data source) and leaves an empty /boot as the mount point. */
int aim_transform_take_boot(struct aim_tree *t, struct aim_tree **ret_boot);

/* fstab without the root line and /boot lines, resize service disabled, the
 * armimmutable configuration written. Returns the number of changes (>= 0). */
int aim_transform_root(struct aim_tree *t, const struct aim_transform_opts *o);

/* Rewrites an fstab text: drops the "/" and "/boot..." mount lines (kept as comments).
 * Returns a malloc'ed string; *ret_dropped counts the lines dropped. */
char *aim_transform_fstab(const char *in, unsigned *ret_dropped);

#endif
