/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read-only lookup of files in a FAT12/16/32 filesystem inside an image (Microsoft
 * "FAT: General Overview of On-Disk Format" 1.03: BPB, FAT chains, 8.3 and long
 * names). Enough to find boot files (config.txt, EFI/BOOT/BOOTAA64.EFI, boot.scr) on
 * boot partitions; the converter writes FAT with mtools, not with this.
 */
#ifndef AIM_FAT_H
#define AIM_FAT_H

#include <stddef.h>
#include <stdint.h>

/* Reads the file at path ("/EFI/BOOT/BOOTAA64.EFI", case-insensitive) of the FAT
 * filesystem at [offset, offset+size) of fd. At most max bytes (else -EFBIG); the
 * buffer is NUL-terminated. -ENOENT if absent, -EBADMSG if the BPB or a chain is bad. */
int aim_fat_read(int fd, uint64_t offset, uint64_t size, const char *path, size_t max,
		 char **ret, size_t *ret_len);
/* 1 if path exists (file or directory), 0 if not, <0 on a corrupt filesystem. */
int aim_fat_exists(int fd, uint64_t offset, uint64_t size, const char *path);

#endif
