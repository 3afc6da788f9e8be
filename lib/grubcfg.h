/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A/B boot of UEFI images through GRUB (docs/boot.md section 4b): the generated grub.cfg
 * on the ESP that reads the slot state (the GRUB flavour of the record, lib/base/
 * slotstate.h), counts trial boots in bootcount.txt with save_env, falls back, and loads
 * /slot-X/vmlinuz and /slot-X/initrd.img; and the GRUB EFI binary made by grub-mkimage.
 */
#ifndef AIM_GRUBCFG_H
#define AIM_GRUBCFG_H

#include "base/buf.h"

/* Where GRUB and its config live on the ESP (grub-mkimage -p). */
#define AIM_GRUB_PREFIX "/EFI/BOOT"
#define AIM_GRUB_CFG AIM_GRUB_PREFIX "/grub.cfg"
#define AIM_GRUB_EFI_ARM64 AIM_GRUB_PREFIX "/BOOTAA64.EFI"
#define AIM_GRUB_EFI_X86_64 AIM_GRUB_PREFIX "/BOOTX64.EFI"

struct aim_grubcfg_opts {
	const char *partuuid[2]; /* slot a, slot b: root=PARTUUID=<it> */
	const char *kernel;      /* file name in /slot-X/; NULL: "vmlinuz" */
	const char *initrd;      /* NULL: "initrd.img"; "": no initrd */
	/* The image's own kernel arguments (its grub.cfg / GRUB_CMDLINE_LINUX); root=,
	 * rootfstype=, rootflags= and armimmutable.slot= are replaced. NULL: none. */
	const char *cmdline;
	/* Seconds before the automatic boot during which Esc stops it and shows a menu of
	 * both slots; 0: boot at once. */
	unsigned timeout;
	int serial;  /* 1: GRUB's console on the first serial port as well */
	int no_count; /* 1: never save_env bootcount.txt (the initramfs helper counts alone) */
	/* Test mode: instead of loading Linux, print the decision and the linux/initrd
	 * command lines ("aim: slot=b mode=trial bc=1 seq=21", "aim: linux ...") when the
	 * slot's kernel exists, else try the other slot as the real script does; then return
	 * (the caller halts). */
	int test_mode;
	/* Test mode only: the state, bootcount.txt and slot directories are under this ESP
	 * directory ("/t3") instead of the root, so that one GRUB run can source several
	 * scenarios. NULL: the root. */
	const char *dir;
};

/* The grub.cfg text (NUL-terminated) appended to *out. -EINVAL with detail for a bad
 * PARTUUID, file name, directory, timeout (> 3600) or an argument GRUB cannot pass. */
int aim_grubcfg_generate(const struct aim_grubcfg_opts *o, struct aim_buf *out);

/* The kernel arguments of the image's own grub.cfg (its /boot/grub/grub.cfg: what
 * update-grub made of GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT): those of the
 * first linux (or linuxefi) command, after the kernel's path, for opts.cmdline. Words
 * that use a GRUB variable ($vt_handoff) are dropped: nothing resolves them here. *ret
 * is malloc'd ("" when the line has no arguments); -ENOENT when there is no linux
 * command. */
int aim_grubcfg_image_cmdline(const char *grub_cfg, char **ret);

/* The GRUB modules grub.cfg needs, embedded by aim_grub_mkimage (NULL-terminated). */
extern const char *const aim_grub_modules[];

/*
 * Makes the GRUB EFI binary with grub-mkimage (grub-common): -O platform ("arm64-efi" or
 * "x86_64-efi") -d moddir (the image's /usr/lib/grub/<platform>, or the host's) -p
 * /EFI/BOOT and aim_grub_modules, written to a temporary name next to out_path, fsync'd
 * and renamed. moddir NULL: /usr/lib/grub/<platform>. -ENOENT with detail when
 * grub-mkimage or a module is missing, -ENOTSUP when moddir's modinfo.sh names another
 * GRUB release than grub-mkimage --version (2.12 modules, 2.06 tool), -EINVAL for
 * another platform.
 */
int aim_grub_mkimage(const char *platform, const char *moddir, const char *out_path);

#endif
