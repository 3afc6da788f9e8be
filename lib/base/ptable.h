/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MBR and GPT partition tables on image files: read and validate field by field
 * (UEFI 2.10 chapter 5: header CRC, entry-array CRC, self-references, bounds, overlaps,
 * backup header), and write a new table while keeping every other byte of the
 * bootloader region (MBR boot code bytes 0-445 included).
 */
#ifndef AIM_BASE_PTABLE_H
#define AIM_BASE_PTABLE_H

#include <stdint.h>

#define AIM_PTABLE_MAX_PARTS 128

enum aim_ptable_type { AIM_PTABLE_MBR, AIM_PTABLE_GPT };

struct aim_part {
	unsigned num;       /* 1-based partition number (MBR slot or GPT entry index + 1) */
	uint64_t start;     /* bytes from the start of the disk */
	uint64_t size;      /* bytes */
	uint8_t mbr_type;   /* MBR: type code; GPT: 0 */
	int bootable;       /* MBR: active flag 0x80; GPT: legacy BIOS bootable attr (bit 2) */
	char type_guid[37]; /* GPT: type GUID, upper case; MBR: "" */
	char uuid[37];      /* GPT: partition GUID; MBR: "<diskid>-<NN>" (PARTUUID form) */
	char name[109];     /* GPT: partition name as UTF-8; MBR: "" */
	uint64_t attrs;     /* GPT attribute bits */
};

struct aim_ptable {
	enum aim_ptable_type type;
	uint32_t sector_size;   /* 512 (4096-sector images: detected on GPT) */
	char disk_id[37];       /* MBR: 8 hex digits, lower case; GPT: disk GUID */
	uint64_t disk_size;     /* bytes, the image size the table was read from */
	unsigned nparts;        /* used entries, in table order */
	struct aim_part parts[AIM_PTABLE_MAX_PARTS];
	/* GPT geometry (LBAs) */
	uint64_t first_usable, last_usable;
	uint64_t entries_lba;   /* primary entry array start */
	uint32_t nentries, entry_size;
	int primary_ok;         /* primary GPT header valid (0: the table came from the backup) */
	int backup_ok;          /* backup GPT header found and consistent */
};

/*
 * Reads the table of an image of disk_size bytes from fd. Validates: MBR signature,
 * entries inside the image, no overlaps, no extended/logical partitions unless
 * reported; for GPT the protective MBR, header magic/size/CRC, MyLBA, entry array
 * CRC, usable range, each entry inside it, no overlaps; a bad primary falls back to
 * the backup (and says so through aim_debug). Errors: -EBADMSG with a detail naming
 * the defect, -EOPNOTSUPP (hybrid MBR, extended partitions), -ENOMEDIUM (no table).
 */
int aim_ptable_read(int fd, uint64_t disk_size, struct aim_ptable *ret);

/*
 * Writes pt to fd (disk of pt->disk_size bytes): for MBR only bytes 440-511 of LBA 0
 * (disk id, entries, signature) change; for GPT the protective MBR entries, the
 * primary header and entry array (at pt->entries_lba) and the backup array and header
 * at the end. Everything else (boot code, loaders in the gap) is left untouched.
 * GPT geometry fields left 0 get defaults: 128-byte entries at LBA 2, as many entries (up
 * to 128, whole sectors) as fit before the first partition, first/last usable right after
 * the primary array and right before the backup array. Partition numbers are the slots
 * (MBR 1..4, GPT 1..nentries). Errors: -EINVAL (overlaps, misaligned or out-of-range
 * partitions, bad GUID/name), -ENOSPC (no room for the entry array), -EOVERFLOW (MBR
 * partition beyond 2 TiB).
 */
int aim_ptable_write(int fd, const struct aim_ptable *pt);

/* Name of a well-known type: "linux", "efi", "xbootldr", "arm64-root", ... or NULL. */
const char *aim_ptable_type_name(const struct aim_part *p);

#endif
