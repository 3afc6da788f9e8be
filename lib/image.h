/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What is inside an Armbian-shaped disk image: the partition table, each partition's
 * filesystem (libblkid), the bootloader region and the loader signatures in it, the
 * image shape of armbian-layout.md section 9 (or why it is not convertible), the boot
 * method, /etc/armbian-release, the architecture, kernels and initramfs files.
 */
#ifndef AIM_IMAGE_H
#define AIM_IMAGE_H

#include <stdint.h>

#include "base/ptable.h"

struct aim_ext4;
struct aim_tree;

enum aim_role { AIM_ROLE_OTHER, AIM_ROLE_ROOT, AIM_ROLE_BOOT, AIM_ROLE_ESP, AIM_ROLE_BIOS };

struct aim_part_info {
	char fstype[16]; /* blkid TYPE ("ext4", "vfat", ...) or "" */
	char uuid[64];   /* filesystem UUID */
	char label[64];  /* filesystem LABEL */
	enum aim_role role;
};

#define AIM_MAX_LOADERS 16
struct aim_loader_sig {
	const char *name; /* "sunxi-spl", "rockchip-idbloader", ... (static string) */
	uint64_t offset;  /* bytes from the start of the disk */
};

#define AIM_MAX_KERNELS 8
enum aim_boot_method {
	AIM_BOOT_UNKNOWN,
	AIM_BOOT_SCRIPT,   /* boot.scr (+ armbianEnv.txt) */
	AIM_BOOT_INI,      /* Odroid boot.ini */
	AIM_BOOT_EXTLINUX, /* extlinux/extlinux.conf */
	AIM_BOOT_GRUB,     /* UEFI + GRUB */
	AIM_BOOT_RPI,      /* Raspberry Pi firmware: config.txt + cmdline.txt */
};

struct aim_image_info {
	struct aim_ptable pt;
	struct aim_part_info part[AIM_PTABLE_MAX_PARTS]; /* same order as pt.parts */
	int root, boot, esp;      /* index into pt.parts, or -1 */

	uint64_t gap_start, gap_end; /* bootloader region: [end of table, first partition) */
	int mbr_boot_code;           /* bytes 0-439 of LBA 0 are not all zero */
	struct aim_loader_sig loaders[AIM_MAX_LOADERS];
	unsigned nloaders;

	char shape[8];         /* "A", "A'", "B", "C", "D", "E", "F", "G", "H" or "" */
	char shape_detail[96]; /* e.g. "extlinux on C" */
	int convertible;
	char reason[256];      /* why not convertible (or why supported with limits) */

	enum aim_boot_method boot_method;
	char boot_files[256];   /* the files the boot method was recognised by */
	char board[64], board_name[96], family[64], linuxfamily[64], version[64];
	char arch[16];          /* from the ELF header of /sbin/init ("arm64", "armhf", ...) */
	char release_arch[16];  /* ARCH= of /etc/armbian-release */
	char kernels[AIM_MAX_KERNELS][96];  /* kernel versions found in /boot */
	unsigned nkernels;
	char initrds[AIM_MAX_KERNELS][128]; /* initramfs files in /boot */
	unsigned ninitrds;

	char root_fstype[16];
	uint64_t root_used;     /* bytes used in the root filesystem */
	uint64_t root_size;     /* bytes of the root filesystem */
	uint64_t acl_files;     /* files with POSIX ACLs (squashfs cannot keep them) */
	char acl_example[256];  /* the first such path */

	int verity_ok;          /* the kernel(s) can map dm-verity (lib/kcheck.h) */
	char verity_note[256];  /* why (or why not), one line */
};

/*
 * Analyses the raw image at fd (size bytes; path opens it by name for libext2fs).
 * Returns 0 even when the image is not convertible (info->convertible = 0 and
 * info->reason say why); errors only for unreadable or corrupt images (-EBADMSG with
 * a detail naming the defect, -ENOMEDIUM without a partition table).
 */
int aim_image_analyze(int fd, const char *path, uint64_t size, struct aim_image_info *ret);

const char *aim_boot_method_name(enum aim_boot_method m);
const char *aim_role_name(enum aim_role r);

/* Loads the root filesystem's tree of an analysed image (opens the ext4 too). */
int aim_image_open_root(const char *path, const struct aim_image_info *info,
			struct aim_ext4 **ret_fs, struct aim_tree **ret_tree);

#endif
