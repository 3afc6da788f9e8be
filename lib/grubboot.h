/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The converted image's side of UEFI/GRUB boot (shapes F and G, docs/boot.md section 4b):
 * which kernel, initramfs and command line the image's own GRUB boots (its grub.cfg's
 * default entry), the slot's boot files cut down to those two, and the slot's grub.env that
 * the generated grub.cfg reads (lib/grubcfg.h).
 */
#ifndef AIM_GRUBBOOT_H
#define AIM_GRUBBOOT_H

#include "base/buf.h"

struct aim_tree;

/* /slot-X/grub.env: a GRUB environment block (load_env) naming the slot's kernel and
 * initrd, which the generated grub.cfg loads (lib/grubcfg.h slot_env). Nothing in it
 * depends on the slot: install copies a bundle's as it is, so an update brings its own
 * kernel version. */
#define AIM_GRUB_SLOT_ENV "grub.env"

struct aim_grub_entry {
	char kernel[256]; /* a file name at the top of /boot ("vmlinuz-6.1.0-50-arm64") */
	char initrd[256]; /* the same, or "" */
	char args[1024];  /* the command line without root=, rootfstype=, rootflags=, ro, rw */
};

/*
 * The default entry of a grub.cfg as update-grub writes it: the first menuentry (a
 * `set default=N` with a number picks the Nth top-level one; anything else, e.g.
 * "saved", the first), its `linux` and `initrd` lines. The paths may name /boot/NAME or
 * /NAME (a separate /boot); only NAME is kept. -EINVAL with detail when there is no
 * menuentry with a linux line, or a path goes into a subdirectory.
 */
int aim_grub_parse_cfg(const char *cfg, struct aim_grub_entry *ret);

/* Reads /grub/grub.cfg of the boot tree bt (the image's /boot) into *ret, checks that the
 * kernel and initrd it names are there, and removes every other top-level entry of bt
 * (the GRUB modules, config-*, System.map-*, other kernels): an ESP slot holds what GRUB
 * loads and nothing else. */
int aim_grub_prune_boot(struct aim_tree *bt, struct aim_grub_entry *ret);

/* The grub.env text of an entry: the GRUB environment block signature, aim_kernel=,
 * aim_initrd= (backslashes escaped as GRUB's envblk does), '#' padding to a multiple of
 * 1024 bytes. -EINVAL for a value with a newline. (The arguments go into grub.cfg.) */
int aim_grub_slot_env(const struct aim_grub_entry *e, struct aim_buf *out);

/* GRUB's platform for a Debian architecture: "arm64-efi", "x86_64-efi", "arm-efi", or
 * NULL. And the removable-media file name of its EFI binary ("BOOTAA64.EFI" ...). */
const char *aim_grub_platform(const char *arch);
const char *aim_grub_efi_name(const char *arch);

#endif


/* The GRUB modules grub-mkimage builds the EFI binary from: the image's own
 * /usr/lib/grub/<platform> (root tree t, may be NULL; extracted into a new directory under tmpdir,
 * *ret_tmp set so the caller removes it) when it has moddep.lst, else the host's
 * /usr/lib/grub/<platform> or $AIM_GRUB_MODDIR. -ENOENT with detail naming the packages. */
int aim_grub_find_moddir(const struct aim_tree *t, const char *platform, const char *tmpdir,
			 char *ret, size_t n, int *ret_tmp);

/* Removes the directory aim_grub_find_moddir() made (when tmp is set). */
void aim_grub_moddir_done(const char *dir, int tmp);
