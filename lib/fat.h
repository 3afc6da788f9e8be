/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Read-only lookup and listing of files in a FAT12/16/32 filesystem inside an image
 * (Microsoft "FAT: General Overview of On-Disk Format" 1.03: BPB, FAT chains, 8.3 and long
 * names). Finds boot files (config.txt, EFI/BOOT/BOOTAA64.EFI, boot.scr) on boot
 * partitions and lists the slot directories of an image target; FAT is written with
 * mtools (lib/mtools.h), not with this.
 *
 * Names: the long name (UCS-2 as UTF-8) when its fragments are in order and their checksum
 * matches the short entry, else the 8.3 name with the Windows NT case flags applied (as
 * mtools and the Linux vfat driver show it: "boot.scr" stored as BOOT    SCR). Lookups
 * match either name without ASCII case.
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

#define AIM_FAT_NAME_MAX 768 /* 255 UCS-2 units as UTF-8, and the NUL */
#define AIM_FAT_ATTR_HIDDEN 0x02
#define AIM_FAT_ATTR_SYSTEM 0x04
#define AIM_FAT_ATTR_DIR 0x10

struct aim_fat_entry {
	const char *name; /* UTF-8, see above */
	uint8_t attr;     /* AIM_FAT_ATTR_* and the others of the entry */
	uint32_t size;
};

/* Calls cb for each entry of the directory at path ("/" the root), in on-disk order,
 * without ".", "..", deleted entries and the volume label. A non-zero result of cb ends
 * the walk and is returned. -ENOENT when path is absent, -ENOTDIR when it is a file. */
int aim_fat_list(int fd, uint64_t offset, uint64_t size, const char *path,
		 int (*cb)(const struct aim_fat_entry *e, void *userdata), void *userdata);

#endif
