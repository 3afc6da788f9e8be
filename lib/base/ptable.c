/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MBR and GPT partition tables on image files (UEFI 2.10 chapter 5, "GUID Partition Table
 * (GPT) Disk Layout"; MBR as in 5.2.1). Reading validates field by field in libfdisk's
 * gpt_read_header() order: magic, size bounds, CRC, self-references, ranges, contents.
 * Writing is lib/base/ptable_write.c, growing the last partition lib/base/ptgrow.c.
 * libc only: the static initramfs helper links these.
 */
#include "base/ptable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/crc32.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/ptable_int.h"

const uint8_t aim_gpt_magic[8] = { 'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T' };

/* ---- GUIDs: 16 bytes on disk, first three fields little-endian ---- */

void aim_guid_to_str(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", aim_get_le32(g),
		 aim_get_le16(g + 4), aim_get_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13],
		 g[14], g[15]);
}

int aim_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Text order of the 16 bytes: fields 1-3 are stored byte-reversed. */
static const uint8_t guid_pos[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

int aim_guid_from_str(const char *s, uint8_t g[16])
{
	unsigned k = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (unsigned i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		int hi = aim_hexval(s[i]), lo = aim_hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		g[guid_pos[k++]] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

int aim_guid_is_zero(const uint8_t *g)
{
	for (int i = 0; i < 16; i++)
		if (g[i])
			return 0;
	return 1;
}

/* ---- GPT names: UTF-16LE on disk, UTF-8 in struct aim_part ---- */

static void name_from_utf16(const uint8_t *p, char out[109])
{
	size_t o = 0;

	for (unsigned i = 0; i < GPT_NAME_UNITS; i++) {
		uint32_t c = aim_get_le16(p + 2 * i);
		if (!c)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < GPT_NAME_UNITS) {
			uint32_t lo = aim_get_le16(p + 2 * (i + 1));
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd; /* unpaired surrogate */
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
}

int aim_gpt_name_to_utf16(const char *s, uint8_t *p)
{
	const uint8_t *u = (const uint8_t *)s;
	unsigned n = 0;

	memset(p, 0, 2 * GPT_NAME_UNITS);
	while (*u) {
		uint32_t c;
		int more;

		if (*u < 0x80) {
			c = *u;
			more = 0;
		} else if ((*u & 0xe0) == 0xc0) {
			c = *u & 0x1f;
			more = 1;
		} else if ((*u & 0xf0) == 0xe0) {
			c = *u & 0x0f;
			more = 2;
		} else if ((*u & 0xf8) == 0xf0) {
			c = *u & 0x07;
			more = 3;
		} else {
			return -EINVAL;
		}
		u++;
		for (int i = 0; i < more; i++, u++) {
			if ((*u & 0xc0) != 0x80)
				return -EINVAL;
			c = c << 6 | (*u & 0x3f);
		}
		if (c >= 0x10000) {
			if (n + 2 > GPT_NAME_UNITS)
				return -ENAMETOOLONG;
			c -= 0x10000;
			aim_put_le16(p + 2 * n++, (uint16_t)(0xd800 + (c >> 10)));
			aim_put_le16(p + 2 * n++, (uint16_t)(0xdc00 + (c & 0x3ff)));
		} else {
			if (n + 1 > GPT_NAME_UNITS)
				return -ENAMETOOLONG;
			aim_put_le16(p + 2 * n++, (uint16_t)c);
		}
	}
	return 0;
}

/* ---- shared checks ---- */

/* Partitions are checked pairwise: at most 128, and this runs once per read. */
int aim_ptable_check_overlaps(const struct aim_ptable *pt)
{
	for (unsigned i = 0; i < pt->nparts; i++)
		for (unsigned j = i + 1; j < pt->nparts; j++) {
			const struct aim_part *a = &pt->parts[i], *b = &pt->parts[j];
			if (a->start < b->start + b->size && b->start < a->start + a->size)
				return aim_error_set(-EBADMSG, "partitions %u and %u overlap",
						     MIN(a->num, b->num), MAX(a->num, b->num));
		}
	return 0;
}

static int check_inside(const struct aim_part *p, uint64_t disk_size)
{
	uint64_t end = p->start + p->size;

	if (end > disk_size)
		return aim_error_set(-EBADMSG,
				     "partition %u ends at byte %llu, past the end of the image "
				     "(%llu bytes)",
				     p->num, (unsigned long long)end, (unsigned long long)disk_size);
	return 0;
}

/* ---- MBR ---- */

int aim_mbr_type_extended(uint8_t t)
{
	return t == 0x05 || t == 0x0f || t == 0x85;
}

static int mbr_parse(const uint8_t *s, uint64_t disk_size, struct aim_ptable *pt)
{
	int r;

	pt->type = AIM_PTABLE_MBR;
	pt->sector_size = 512;
	snprintf(pt->disk_id, sizeof(pt->disk_id), "%08x", aim_get_le32(s + MBR_DISK_ID));
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = s + MBR_ENTRIES + i * MBR_ENTRY_SIZE;
		uint32_t lba = aim_get_le32(e + 8), cnt = aim_get_le32(e + 12);
		struct aim_part *p;

		/* libfdisk counts an entry as used when its size is non-zero */
		if (e[4] == 0 || cnt == 0)
			continue;
		if (e[0] != 0 && e[0] != 0x80)
			return aim_error_set(-EBADMSG, "MBR partition %u has an invalid boot flag 0x%02x",
					     i + 1, e[0]);
		if (aim_mbr_type_extended(e[4]))
			return aim_error_set(-EOPNOTSUPP,
					     "MBR partition %u is an extended partition (type 0x%02x); "
					     "logical partitions are not supported",
					     i + 1, e[4]);
		if (lba == 0)
			return aim_error_set(-EBADMSG, "MBR partition %u starts at sector 0", i + 1);
		p = &pt->parts[pt->nparts++];
		p->num = i + 1;
		p->start = (uint64_t)lba * 512;
		p->size = (uint64_t)cnt * 512;
		p->mbr_type = e[4];
		p->bootable = e[0] == 0x80;
		snprintf(p->uuid, sizeof(p->uuid), "%08x-%02u", aim_get_le32(s + MBR_DISK_ID),
			 i + 1);
		r = check_inside(p, disk_size);
		if (r < 0)
			return r;
	}
	if (pt->nparts == 0)
		return aim_error_set(-ENOMEDIUM, "the MBR has no partitions");
	return aim_ptable_check_overlaps(pt);
}

/* ---- GPT ---- */

struct gpt_hdr {
	uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
	uint32_t nentries, entry_size, array_crc;
	uint8_t disk_guid[16];
};

uint64_t aim_gpt_array_sectors(uint32_t nentries, uint32_t entry_size, uint32_t ss)
{
	return ((uint64_t)nentries * entry_size + ss - 1) / ss;
}

/* Self-references and ranges of a header whose CRC matched (UEFI 2.10 5.3.2). */
static int gpt_header_ranges(const struct gpt_hdr *h, uint32_t ss, uint64_t nsect,
			     const char *which)
{
	uint64_t asz = aim_gpt_array_sectors(h->nentries, h->entry_size, ss);

	/* bounds the sums below: nsect * ss fits in 64 bits */
	if (h->entries_lba >= nsect)
		return aim_error_set(-EBADMSG, "%s GPT entry array at LBA %llu is past the end of "
				     "the image", which, (unsigned long long)h->entries_lba);
	if (h->first_usable < 2)
		return aim_error_set(-EBADMSG, "%s GPT first usable LBA %llu overlaps the header",
				     which, (unsigned long long)h->first_usable);
	if (h->my_lba == 1) {
		if (h->entries_lba < 2 || h->entries_lba + asz > h->first_usable)
			return aim_error_set(-EBADMSG,
					     "%s GPT entry array (LBA %llu, %llu sectors) is not "
					     "between the header and the first usable LBA %llu",
					     which, (unsigned long long)h->entries_lba,
					     (unsigned long long)asz,
					     (unsigned long long)h->first_usable);
		if (h->alt_lba != nsect - 1)
			aim_debug("primary GPT header: backup at LBA %llu, image ends at LBA %llu",
				  (unsigned long long)h->alt_lba, (unsigned long long)(nsect - 1));
	} else {
		if (h->entries_lba <= h->last_usable || h->entries_lba + asz > h->my_lba)
			return aim_error_set(-EBADMSG,
					     "%s GPT entry array (LBA %llu, %llu sectors) is not "
					     "between the last usable LBA %llu and the header",
					     which, (unsigned long long)h->entries_lba,
					     (unsigned long long)asz,
					     (unsigned long long)h->last_usable);
		if (h->alt_lba != 1)
			aim_debug("backup GPT header: AlternateLBA is %llu, not 1",
				  (unsigned long long)h->alt_lba);
	}
	return 0;
}

/* Header sector at byte lba*ss; which: "primary" or "backup", for messages. */
static int gpt_header_parse(const uint8_t *s, uint32_t ss, uint64_t lba, uint64_t nsect,
			    const char *which, struct gpt_hdr *h)
{
	uint32_t hsize, crc, want;
	uint8_t tmp[4096];

	if (memcmp(s, aim_gpt_magic, 8))
		return aim_error_set(-EBADMSG, "%s GPT header signature missing at LBA %llu",
				     which, (unsigned long long)lba);
	hsize = aim_get_le32(s + 12);
	if (hsize < GPT_HEADER_SIZE || hsize > ss)
		return aim_error_set(-EBADMSG, "%s GPT header size %u out of range (92..%u)", which,
				     hsize, ss);
	memcpy(tmp, s, hsize);
	memset(tmp + 16, 0, 4);
	crc = aim_get_le32(s + 16);
	want = aim_crc32(0, tmp, hsize);
	if (crc != want)
		return aim_error_set(-EBADMSG,
				     "%s GPT header CRC mismatch (stored 0x%08x, computed 0x%08x)",
				     which, crc, want);
	if (aim_get_le32(s + 8) != GPT_REVISION)
		aim_debug("%s GPT header revision 0x%08x", which, aim_get_le32(s + 8));
	h->my_lba = aim_get_le64(s + 24);
	h->alt_lba = aim_get_le64(s + 32);
	h->first_usable = aim_get_le64(s + 40);
	h->last_usable = aim_get_le64(s + 48);
	memcpy(h->disk_guid, s + 56, 16);
	h->entries_lba = aim_get_le64(s + 72);
	h->nentries = aim_get_le32(s + 80);
	h->entry_size = aim_get_le32(s + 84);
	h->array_crc = aim_get_le32(s + 88);
	if (h->my_lba != lba)
		return aim_error_set(-EBADMSG, "%s GPT header MyLBA is %llu, expected %llu", which,
				     (unsigned long long)h->my_lba, (unsigned long long)lba);
	if (h->entry_size < GPT_ENTRY_MIN || h->entry_size > GPT_ENTRY_MAX ||
	    (h->entry_size & (h->entry_size - 1)))
		return aim_error_set(-EBADMSG, "%s GPT entry size %u is not 128 * 2^n (max %u)",
				     which, h->entry_size, GPT_ENTRY_MAX);
	if (h->nentries == 0 || (uint64_t)h->nentries * h->entry_size > GPT_ARRAY_MAX)
		return aim_error_set(-EBADMSG, "%s GPT entry count %u out of range (1..%u)", which,
				     h->nentries, GPT_ARRAY_MAX / h->entry_size);
	if (h->first_usable > h->last_usable)
		return aim_error_set(-EBADMSG, "%s GPT first usable LBA %llu is after last usable "
				     "LBA %llu", which, (unsigned long long)h->first_usable,
				     (unsigned long long)h->last_usable);
	return gpt_header_ranges(h, ss, nsect, which);
}

static int gpt_entries_parse(const uint8_t *arr, const struct gpt_hdr *h, uint32_t ss,
			     uint64_t nsect, uint64_t disk_size, struct aim_ptable *pt)
{
	pt->nparts = 0;
	for (uint32_t i = 0; i < h->nentries; i++) {
		const uint8_t *e = arr + (size_t)i * h->entry_size;
		uint64_t first = aim_get_le64(e + 32), last = aim_get_le64(e + 40);
		struct aim_part *p;

		if (aim_guid_is_zero(e))
			continue;
		if (pt->nparts == AIM_PTABLE_MAX_PARTS)
			return aim_error_set(-EOPNOTSUPP, "more than %d GPT partitions in use",
					     AIM_PTABLE_MAX_PARTS);
		if (first > last)
			return aim_error_set(-EBADMSG,
					     "GPT partition %u ends (LBA %llu) before it starts (LBA %llu)",
					     i + 1, (unsigned long long)last,
					     (unsigned long long)first);
		if (last >= nsect) {
			if (last >= UINT64_MAX / ss - 1)
				return aim_error_set(-EBADMSG,
						     "partition %u ends at LBA %llu, past the end of "
						     "the image (%llu bytes)",
						     i + 1, (unsigned long long)last,
						     (unsigned long long)disk_size);
			return aim_error_set(-EBADMSG,
					     "partition %u ends at byte %llu, past the end of the image "
					     "(%llu bytes)",
					     i + 1, (unsigned long long)((last + 1) * ss),
					     (unsigned long long)disk_size);
		}
		if (first < h->first_usable || last > h->last_usable)
			return aim_error_set(-EBADMSG,
					     "GPT partition %u (LBA %llu-%llu) is outside the usable "
					     "range (LBA %llu-%llu)",
					     i + 1, (unsigned long long)first, (unsigned long long)last,
					     (unsigned long long)h->first_usable,
					     (unsigned long long)h->last_usable);
		p = &pt->parts[pt->nparts++];
		memset(p, 0, sizeof(*p));
		p->num = i + 1;
		p->start = first * ss;
		p->size = (last - first + 1) * ss;
		p->attrs = aim_get_le64(e + 48);
		p->bootable = !!(p->attrs & GPT_ATTR_LEGACY_BOOT);
		aim_guid_to_str(e, p->type_guid);
		aim_guid_to_str(e + 16, p->uuid);
		name_from_utf16(e + 56, p->name);
	}
	return aim_ptable_check_overlaps(pt);
}

/* Reads and validates one header and its entry array. */
static int gpt_try(int fd, uint32_t ss, uint64_t lba, uint64_t nsect, uint64_t disk_size,
		   struct aim_ptable *pt, struct gpt_hdr *h)
{
	const char *which = lba == 1 ? "primary" : "backup";
	_cleanup_free_ uint8_t *arr = NULL;
	uint8_t sec[4096];
	size_t alen;
	uint32_t crc;
	int r;

	if (lba >= nsect)
		return aim_error_set(-EBADMSG, "%s GPT header at LBA %llu is past the end of the "
				     "image", which, (unsigned long long)lba);
	r = aim_pread_full(fd, sec, ss, lba * ss);
	if (r < 0)
		return r;
	r = gpt_header_parse(sec, ss, lba, nsect, which, h);
	if (r < 0)
		return r;
	alen = (size_t)h->nentries * h->entry_size;
	if (h->entries_lba + aim_gpt_array_sectors(h->nentries, h->entry_size, ss) > nsect)
		return aim_error_set(-EBADMSG, "%s GPT entry array at LBA %llu is past the end of "
				     "the image", which, (unsigned long long)h->entries_lba);
	arr = malloc(alen);
	if (!arr)
		return -ENOMEM;
	r = aim_pread_full(fd, arr, alen, h->entries_lba * ss);
	if (r < 0)
		return r;
	crc = aim_crc32(0, arr, alen);
	if (crc != h->array_crc)
		return aim_error_set(-EBADMSG,
				     "%s GPT entry array CRC mismatch (stored 0x%08x, computed 0x%08x)",
				     which, h->array_crc, crc);
	pt->type = AIM_PTABLE_GPT;
	pt->sector_size = ss;
	aim_guid_to_str(h->disk_guid, pt->disk_id);
	pt->first_usable = h->first_usable;
	pt->last_usable = h->last_usable;
	pt->entries_lba = h->entries_lba;
	pt->nentries = h->nentries;
	pt->entry_size = h->entry_size;
	r = gpt_entries_parse(arr, h, ss, nsect, disk_size, pt);
	if (r < 0)
		return r;
	if (h->last_usable >= nsect)
		aim_debug("%s GPT: last usable LBA %llu is past the end of the image (%llu sectors)",
			  which, (unsigned long long)h->last_usable, (unsigned long long)nsect);
	return 0;
}

/* Whether the primary's backup header exists and describes the same table. */
static int gpt_check_backup(int fd, uint32_t ss, uint64_t nsect, uint64_t disk_size,
			    const struct gpt_hdr *pri)
{
	_cleanup_free_ struct aim_ptable *b = calloc(1, sizeof(*b));
	struct gpt_hdr h;
	int r;

	if (!b)
		return -ENOMEM;
	if (pri->alt_lba <= 1) {
		aim_debug("primary GPT header has no backup location (AlternateLBA %llu)",
			  (unsigned long long)pri->alt_lba);
		return 0;
	}
	r = gpt_try(fd, ss, pri->alt_lba, nsect, disk_size, b, &h);
	if (r < 0) {
		aim_debug("backup GPT not usable: %s", aim_error_detail() ?: aim_strerror(r));
		aim_error_clear();
		return 0;
	}
	if (memcmp(h.disk_guid, pri->disk_guid, 16) || h.array_crc != pri->array_crc ||
	    h.nentries != pri->nentries || h.entry_size != pri->entry_size ||
	    h.first_usable != pri->first_usable || h.last_usable != pri->last_usable) {
		aim_debug("backup GPT header differs from the primary");
		return 0;
	}
	return 1;
}

static int gpt_from_backup(int fd, uint32_t ss, uint64_t disk_size, struct aim_ptable *pt)
{
	uint64_t nsect = disk_size / ss;
	struct gpt_hdr h;
	int r;

	r = gpt_try(fd, ss, nsect - 1, nsect, disk_size, pt, &h);
	if (r < 0)
		return r;
	/* the primary array goes right after the primary header when rewritten */
	pt->entries_lba = 2;
	pt->primary_ok = 0;
	pt->backup_ok = 1;
	return 0;
}

static int gpt_read(int fd, uint64_t disk_size, struct aim_ptable *pt)
{
	static const uint32_t sizes[] = { 512, 4096 };
	char saved[512];
	uint32_t ss = 0;
	struct gpt_hdr h;
	uint8_t magic[8];
	int r;

	if (disk_size < 1024)
		return aim_error_set(-EBADMSG, "image is %llu bytes, too short for the GPT header "
				     "at byte 512", (unsigned long long)disk_size);
	for (unsigned i = 0; i < ARRAY_SIZE(sizes) && !ss; i++) {
		if (disk_size < 2ull * sizes[i])
			continue;
		r = aim_pread_full(fd, magic, 8, sizes[i]);
		if (r < 0)
			return r;
		if (!memcmp(magic, aim_gpt_magic, 8))
			ss = sizes[i];
	}
	if (ss) {
		uint64_t nsect = disk_size / ss;

		r = gpt_try(fd, ss, 1, nsect, disk_size, pt, &h);
		if (r >= 0) {
			pt->primary_ok = 1;
			r = gpt_check_backup(fd, ss, nsect, disk_size, &h);
			if (r < 0)
				return r;
			pt->backup_ok = r;
			return 0;
		}
		if (r != -EBADMSG)
			return r;
		snprintf(saved, sizeof(saved), "%s", aim_error_detail() ?: "bad primary GPT");
		r = gpt_from_backup(fd, ss, disk_size, pt);
		if (r >= 0) {
			aim_debug("primary GPT header invalid (%s); using the backup", saved);
			return 0;
		}
		return aim_error_set(-EBADMSG, "%s", saved);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (disk_size < 2ull * sizes[i])
			continue;
		r = gpt_from_backup(fd, sizes[i], disk_size, pt);
		if (r >= 0) {
			aim_debug("no primary GPT header at LBA 1; using the backup");
			return 0;
		}
	}
	return aim_error_set(-EBADMSG, "protective MBR found but no GPT header signature at "
			     "LBA 1 nor a valid backup at the end of the image");
}

int aim_ptable_read(int fd, uint64_t disk_size, struct aim_ptable *ret)
{
	_cleanup_free_ struct aim_ptable *pt = calloc(1, sizeof(*pt));
	uint8_t mbr[MBR_SIZE];
	unsigned nprot = 0, nother = 0;
	int r;

	if (!pt)
		return -ENOMEM;
	if (disk_size < MBR_SIZE)
		return aim_error_set(-ENOMEDIUM, "image is %llu bytes, too short for a partition "
				     "table", (unsigned long long)disk_size);
	r = aim_pread_full(fd, mbr, MBR_SIZE, 0);
	if (r < 0)
		return r;
	if (mbr[MBR_SIG] != 0x55 || mbr[MBR_SIG + 1] != 0xaa)
		return aim_error_set(-ENOMEDIUM, "no partition table: no 0x55AA signature in "
				     "sector 0");
	pt->disk_size = disk_size;
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = mbr + MBR_ENTRIES + i * MBR_ENTRY_SIZE;

		if (e[4] == MBR_TYPE_PROTECTIVE)
			nprot++;
		else if (e[4] && aim_get_le32(e + 12))
			nother++;
	}
	if (nprot && nother)
		return aim_error_set(-EOPNOTSUPP, "hybrid MBR (GPT protective entry plus %u MBR "
				     "partitions) is not supported", nother);
	if (nprot) {
		const uint8_t *e = mbr + MBR_ENTRIES;

		while (e[4] != MBR_TYPE_PROTECTIVE)
			e += MBR_ENTRY_SIZE;
		if (aim_get_le32(e + 8) != 1)
			return aim_error_set(-EBADMSG, "protective MBR entry starts at LBA %u, not 1",
					     aim_get_le32(e + 8));
		r = gpt_read(fd, disk_size, pt);
	} else {
		r = mbr_parse(mbr, disk_size, pt);
	}
	if (r < 0)
		return r;
	memcpy(ret, pt, sizeof(*pt));
	return 0;
}
