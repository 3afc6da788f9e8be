/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Persistent paths (PERSIST= in armimmutable.conf, docs/state.md): kept on the data
 * partition under <data>/persist/<path>, in both overlay modes, starting from the image:
 *   - a directory of the image: an overlay with the slot's own <path> as lower and
 *     <data>/persist/<path> as upper (work: <data>/persist-work/<path>), so the image's
 *     files show and changes persist. A <data>/persist/<path> from before (a plain
 *     directory that was bind-mounted) is that upper: its files keep shadowing the
 *     image's, nothing is lost;
 *   - a file of the image: copied to <data>/persist/<path> on first use (temp, fsync,
 *     rename), then bind-mounted over it;
 *   - absent from the image: an empty directory on the data partition, bind-mounted (a
 *     file there from before is bind-mounted as a file).
 * libc only (aim-boot links it).
 */
#ifndef AIM_BASE_PERSIST_H
#define AIM_BASE_PERSIST_H

#include <stddef.h>

/* Kiosk mode keeps the device's identity across reboots (KEEP_IDENTITY=yes, the
 * default): these paths persist as if listed in PERSIST=. NULL-terminated. */
extern const char *const aim_persist_identity[];

/* Mounts persistent path (absolute, no "..") onto newroot. lower: the slot's root, data:
 * the data partition. 0, or -errno with a message in err. */
int aim_persist_mount(const char *lower, const char *data, const char *newroot, const char *path,
		      char *err, size_t errsz);

#endif
