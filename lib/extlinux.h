/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A/B boot of U-Boot boards that boot through extlinux/extlinux.conf (docs/boot.md section
 * 4a): a generated boot.scr picks and counts the slot like the boot.scr path, then hands
 * over with sysboot to the slot's own extlinux.conf, rewritten for the slot.
 */
#ifndef AIM_EXTLINUX_H
#define AIM_EXTLINUX_H

#include <stddef.h>
#include <stdio.h>

/* Where the board's extlinux.conf lies in a slot's boot files (/slot-X/...). */
#define AIM_EXTLINUX_CONF "extlinux/extlinux.conf"

/* The body that aim_bootscript_generate() puts after its preamble: sysboot of
 * ${prefix}extlinux/extlinux.conf, and a message when that returns. */
extern const char aim_extlinux_body[];

/*
 * The slot's extlinux.conf: every file path (kernel/linux, initrd, fdt/devicetree,
 * fdtdir/devicetreedir, fdtoverlays/devicetree-overlay) under boot_prefix ("/boot/" when
 * the boot files are the root's /boot, "/" for a boot partition; a relative path counts
 * from "/"), or under /slot-a/ or /slot-b/, moves under /slot-<slot>/; in each append
 * line root= becomes root=PARTUUID=<partuuid>, rootfstype= rootfstype=squashfs (both
 * added when missing), panic=10 is added unless a panic= is there, and
 * armimmutable.slot=<slot> replaces any old one; a label without append gets one. Every
 * other line is kept byte for byte. boot_prefix NULL: only /slot-X/ paths are accepted
 * (install, on a file convert made). -EINVAL with detail for a path outside the boot
 * files, an include, or no label with a kernel. *ret is malloc'd.
 */
int aim_extlinux_rewrite(const char *orig, const char *boot_prefix, char slot,
			 const char *partuuid, char **ret);

/* The kernel command line v[0..n) for the slot, as on an append line: root=PARTUUID=,
 * rootfstype=squashfs, rootflags= dropped, panic=10 unless a panic=, armimmutable.slot=
 * last. *ret is malloc'd, without a newline. */
int aim_extlinux_cmdline(const char *v, size_t n, char slot, const char *partuuid,
			 char **ret);

/* The kernel command line of a slot from the image's arguments v[0, n) (whitespace
 * separated, double quotes keep spaces): root=PARTUUID=<partuuid> and rootfstype=squashfs
 * in place of root= and rootfstype= (added when missing; rootflags= went with the ext4
 * root and is dropped), panic=10 unless a panic= is there, armimmutable.slot=<slot> last
 * (an old one dropped). Shared by extlinux.conf and grub.cfg. */
void aim_extlinux_put_cmdline(FILE *f, const char *v, size_t n, char slot,
			      const char *partuuid);

#endif
