/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing MBR and GPT partition tables (UEFI 2.10 chapter 5): only the table bytes
 * change, MBR 440-511, or the protective MBR entries, the GPT headers and the two entry
 * arrays. Reading is lib/base/ptable.c.
 */
#include "base/ptable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/crc32.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/ptable_int.h"

/* ---- writing ---- */

/* CHS as libfdisk computes it for image files (255 heads, 63 sectors), capped at 1023/254/63
 * which encodes as FE FF FF. */
static void mbr_chs(uint8_t *p, uint64_t lba)
{
	unsigned s, h, c;

	if (lba / (255 * 63) > 1023)
		lba = 255 * 63 * 1024 - 1;
	s = (unsigned)(lba % 63) + 1;
	lba /= 63;
	h = (unsigned)(lba % 255);
	c = (unsigned)(lba / 255);
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(s | ((c >> 2) & 0xc0));
	p[2] = (uint8_t)c;
}

/* Reads sector 0's first 512 bytes, zeros where the file is shorter. */
static int read_sector0(int fd, uint8_t *s)
{
	ssize_t n;

	memset(s, 0, MBR_SIZE);
	n = aim_pread_upto(fd, s, MBR_SIZE, 0);
	return n < 0 ? (int)n : 0;
}

static int check_part_geometry(const struct aim_ptable *pt, uint32_t ss, unsigned maxnum)
{
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];

		if (p->num < 1 || p->num > maxnum)
			return aim_error_set(-EINVAL, "partition number %u out of range (1..%u)",
					     p->num, maxnum);
		for (unsigned j = 0; j < i; j++)
			if (pt->parts[j].num == p->num)
				return aim_error_set(-EINVAL, "partition number %u used twice",
						     p->num);
		if (!p->size || p->start % ss || p->size % ss)
			return aim_error_set(-EINVAL, "partition %u: start %llu / size %llu are not "
					     "non-zero multiples of %u", p->num,
					     (unsigned long long)p->start,
					     (unsigned long long)p->size, ss);
		if (p->start < ss || p->start + p->size < p->start ||
		    p->start + p->size > pt->disk_size)
			return aim_error_set(-EINVAL, "partition %u (bytes %llu+%llu) does not fit "
					     "the disk (%llu bytes)", p->num,
					     (unsigned long long)p->start,
					     (unsigned long long)p->size,
					     (unsigned long long)pt->disk_size);
	}
	return aim_ptable_check_overlaps(pt) < 0 ? -EINVAL : 0;
}

static int mbr_write(int fd, const struct aim_ptable *pt)
{
	uint8_t s[MBR_SIZE];
	uint8_t id[4];
	int r;

	if (pt->sector_size && pt->sector_size != 512)
		return aim_error_set(-EOPNOTSUPP, "MBR with %u-byte sectors", pt->sector_size);
	if (strlen(pt->disk_id) != 8)
		return aim_error_set(-EINVAL, "MBR disk id '%s' is not 8 hex digits", pt->disk_id);
	for (int i = 0; i < 4; i++) {
		int hi = aim_hexval(pt->disk_id[2 * i]), lo = aim_hexval(pt->disk_id[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return aim_error_set(-EINVAL, "MBR disk id '%s' is not 8 hex digits",
					     pt->disk_id);
		id[3 - i] = (uint8_t)(hi << 4 | lo); /* "1234abcd" is le32 0x1234abcd */
	}
	r = check_part_geometry(pt, 512, 4);
	if (r < 0)
		return r;
	r = read_sector0(fd, s);
	if (r < 0)
		return r;
	memcpy(s + MBR_DISK_ID, id, 4);
	memset(s + MBR_ENTRIES, 0, 4 * MBR_ENTRY_SIZE);
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];
		uint8_t *e = s + MBR_ENTRIES + (p->num - 1) * MBR_ENTRY_SIZE;
		uint64_t lba = p->start / 512, cnt = p->size / 512;

		if (lba + cnt - 1 > UINT32_MAX || cnt > UINT32_MAX)
			return aim_error_set(-EOVERFLOW, "partition %u ends beyond 2 TiB, which an "
					     "MBR cannot address", p->num);
		if (!p->mbr_type || p->mbr_type == MBR_TYPE_PROTECTIVE ||
		    aim_mbr_type_extended(p->mbr_type))
			return aim_error_set(-EINVAL, "partition %u: MBR type 0x%02x cannot be "
					     "written", p->num, p->mbr_type);
		e[0] = p->bootable ? 0x80 : 0;
		mbr_chs(e + 1, lba);
		e[4] = p->mbr_type;
		mbr_chs(e + 5, lba + cnt - 1);
		aim_put_le32(e + 8, (uint32_t)lba);
		aim_put_le32(e + 12, (uint32_t)cnt);
	}
	s[MBR_SIG] = 0x55;
	s[MBR_SIG + 1] = 0xaa;
	/* bytes 444-445 ("copy protected" in some references) are left as they are */
	r = aim_pwrite_full(fd, s + MBR_DISK_ID, 4, MBR_DISK_ID);
	if (r < 0)
		return r;
	return aim_pwrite_full(fd, s + MBR_ENTRIES, MBR_SIZE - MBR_ENTRIES, MBR_ENTRIES);
}

struct gpt_geom {
	uint32_t ss, es, n;
	uint64_t nsect, elba, asz, first, last;
};

/* Fills the geometry, taking pt's values where set and defaults where 0: 128-byte entries
 * at LBA 2, as many as fit (up to 128) before the first partition. */
static int gpt_geometry(const struct aim_ptable *pt, struct gpt_geom *g)
{
	uint64_t min_start = UINT64_MAX;

	g->ss = pt->sector_size ?: 512;
	if (g->ss != 512 && g->ss != 4096)
		return aim_error_set(-EINVAL, "sector size %u is not 512 or 4096", g->ss);
	if (pt->disk_size % g->ss || pt->disk_size / g->ss < 68)
		return aim_error_set(-EINVAL, "disk size %llu is not a multiple of %u or too "
				     "small for GPT", (unsigned long long)pt->disk_size, g->ss);
	g->nsect = pt->disk_size / g->ss;
	g->es = pt->entry_size ?: 128;
	if (g->es < GPT_ENTRY_MIN || g->es > GPT_ENTRY_MAX || (g->es & (g->es - 1)))
		return aim_error_set(-EINVAL, "GPT entry size %u is not 128 * 2^n", g->es);
	g->elba = pt->entries_lba ?: 2;
	for (unsigned i = 0; i < pt->nparts; i++)
		min_start = MIN(min_start, pt->parts[i].start / g->ss);
	g->n = pt->nentries;
	if (!g->n) {
		uint64_t room = min_start > g->elba ? (min_start - g->elba) * g->ss / g->es : 0;
		g->n = (uint32_t)MIN(room, 128u);
		/* keep whole sectors of entries */
		g->n -= g->n % (g->ss / g->es ?: 1);
	}
	if (!g->n || (uint64_t)g->n * g->es > GPT_ARRAY_MAX)
		return aim_error_set(-ENOSPC, "no room for a GPT entry array between LBA %llu and "
				     "the first partition (LBA %llu)", (unsigned long long)g->elba,
				     (unsigned long long)min_start);
	g->asz = aim_gpt_array_sectors(g->n, g->es, g->ss);
	g->first = pt->first_usable ?: g->elba + g->asz;
	g->last = pt->last_usable ?: g->nsect - 2 - g->asz;
	if (g->elba < 2 || g->elba + g->asz > g->first)
		return aim_error_set(-EINVAL, "GPT entry array (LBA %llu, %llu sectors) overlaps "
				     "the first usable LBA %llu", (unsigned long long)g->elba,
				     (unsigned long long)g->asz, (unsigned long long)g->first);
	if (g->first > g->last || g->last > g->nsect - 2 - g->asz)
		return aim_error_set(-EINVAL, "GPT usable range LBA %llu-%llu does not fit the "
				     "disk (%llu sectors)", (unsigned long long)g->first,
				     (unsigned long long)g->last, (unsigned long long)g->nsect);
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];
		if (p->start / g->ss < g->first || (p->start + p->size) / g->ss - 1 > g->last)
			return aim_error_set(-EINVAL, "partition %u is outside the GPT usable range "
					     "(LBA %llu-%llu)", p->num, (unsigned long long)g->first,
					     (unsigned long long)g->last);
	}
	return 0;
}

static int gpt_fill_entries(const struct aim_ptable *pt, const struct gpt_geom *g, uint8_t *arr)
{
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];
		uint8_t *e = arr + (size_t)(p->num - 1) * g->es;
		uint64_t attrs = p->attrs;

		if (aim_guid_from_str(p->type_guid, e) < 0 || aim_guid_is_zero(e))
			return aim_error_set(-EINVAL, "partition %u: invalid type GUID '%s'", p->num,
					     p->type_guid);
		if (aim_guid_from_str(p->uuid, e + 16) < 0)
			return aim_error_set(-EINVAL, "partition %u: invalid GUID '%s'", p->num,
					     p->uuid);
		aim_put_le64(e + 32, p->start / g->ss);
		aim_put_le64(e + 40, (p->start + p->size) / g->ss - 1);
		if (p->bootable)
			attrs |= GPT_ATTR_LEGACY_BOOT;
		aim_put_le64(e + 48, attrs);
		if (aim_gpt_name_to_utf16(p->name, e + 56) < 0)
			return aim_error_set(-EINVAL, "partition %u: name '%s' is not valid UTF-8 "
					     "of at most 36 UTF-16 units", p->num, p->name);
	}
	return 0;
}

static void gpt_header_build(uint8_t *s, const struct gpt_geom *g, const uint8_t *guid,
			     uint64_t my, uint64_t alt, uint64_t elba, uint32_t array_crc)
{
	memset(s, 0, g->ss);
	memcpy(s, aim_gpt_magic, 8);
	aim_put_le32(s + 8, GPT_REVISION);
	aim_put_le32(s + 12, GPT_HEADER_SIZE);
	aim_put_le64(s + 24, my);
	aim_put_le64(s + 32, alt);
	aim_put_le64(s + 40, g->first);
	aim_put_le64(s + 48, g->last);
	memcpy(s + 56, guid, 16);
	aim_put_le64(s + 72, elba);
	aim_put_le32(s + 80, g->n);
	aim_put_le32(s + 84, g->es);
	aim_put_le32(s + 88, array_crc);
	aim_put_le32(s + 16, aim_crc32(0, s, GPT_HEADER_SIZE));
}

static int gpt_write(int fd, const struct aim_ptable *pt)
{
	_cleanup_free_ uint8_t *arr = NULL;
	uint8_t guid[16], hdr[4096], mbr[MBR_SIZE];
	struct gpt_geom g;
	size_t alen;
	uint32_t crc;
	int r;

	r = gpt_geometry(pt, &g);
	if (r < 0)
		return r;
	r = check_part_geometry(pt, g.ss, g.n);
	if (r < 0)
		return r;
	if (aim_guid_from_str(pt->disk_id, guid) < 0)
		return aim_error_set(-EINVAL, "invalid disk GUID '%s'", pt->disk_id);
	alen = (size_t)g.n * g.es;
	arr = calloc(1, alen);
	if (!arr)
		return -ENOMEM;
	r = gpt_fill_entries(pt, &g, arr);
	if (r < 0)
		return r;
	crc = aim_crc32(0, arr, alen);

	/* protective MBR as libfdisk writes it: one 0xEE entry from LBA 1, CHS 0/0/2-FF FF FF */
	r = read_sector0(fd, mbr);
	if (r < 0)
		return r;
	memset(mbr + MBR_ENTRIES, 0, 4 * MBR_ENTRY_SIZE);
	mbr[MBR_ENTRIES + 2] = 0x02;
	mbr[MBR_ENTRIES + 4] = MBR_TYPE_PROTECTIVE;
	memset(mbr + MBR_ENTRIES + 5, 0xff, 3);
	aim_put_le32(mbr + MBR_ENTRIES + 8, 1);
	aim_put_le32(mbr + MBR_ENTRIES + 12, (uint32_t)MIN(g.nsect - 1, (uint64_t)UINT32_MAX));
	mbr[MBR_SIG] = 0x55;
	mbr[MBR_SIG + 1] = 0xaa;
	r = aim_pwrite_full(fd, mbr + MBR_ENTRIES, MBR_SIZE - MBR_ENTRIES, MBR_ENTRIES);
	if (r < 0)
		return r;

	gpt_header_build(hdr, &g, guid, 1, g.nsect - 1, g.elba, crc);
	r = aim_pwrite_full(fd, hdr, g.ss, g.ss);
	if (r < 0)
		return r;
	r = aim_pwrite_full(fd, arr, alen, g.elba * g.ss);
	if (r < 0)
		return r;
	r = aim_pwrite_full(fd, arr, alen, (g.nsect - 1 - g.asz) * g.ss);
	if (r < 0)
		return r;
	gpt_header_build(hdr, &g, guid, g.nsect - 1, 1, g.nsect - 1 - g.asz, crc);
	return aim_pwrite_full(fd, hdr, g.ss, (g.nsect - 1) * g.ss);
}

int aim_ptable_write(int fd, const struct aim_ptable *pt)
{
	if (pt->nparts > AIM_PTABLE_MAX_PARTS)
		return aim_error_set(-EINVAL, "%u partitions, at most %d", pt->nparts,
				     AIM_PTABLE_MAX_PARTS);
	return pt->type == AIM_PTABLE_GPT ? gpt_write(fd, pt) : mbr_write(fd, pt);
}

/* ---- type names ---- */

static const struct {
	uint8_t code;
	const char *name;
} mbr_types[] = {
	{ 0x06, "fat16" }, { 0x0b, "fat32" },	 { 0x0c, "fat32" },    { 0x0e, "fat16" },
	{ 0x82, "swap" },  { 0x83, "linux" },	 { 0x8e, "lvm" },      { 0xea, "xbootldr" },
	{ 0xef, "efi" },   { 0xee, "protective" },
};

static const struct {
	const char *guid;
	const char *name;
} gpt_types[] = {
	{ "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "efi" },
	{ "21686148-6449-6E6F-744E-656564454649", "bios" },
	{ "BC13C2FF-59E6-4262-A352-B275FD6F7172", "xbootldr" },
	{ "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "linux" },
	{ "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "swap" },
	{ "E6D6D379-F507-44C2-A23C-238F2A3DF928", "lvm" },
	{ "B921B045-1DF0-41C3-AF44-4C6F280D3FAE", "arm64-root" },
	{ "69DAD710-2CE4-4E3C-B16C-21A1D49ABED3", "armhf-root" },
	{ "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "x86-64-root" },
	{ "72EC70A6-CF74-40E6-BD49-4BDA08E8F224", "riscv64-root" },
	{ "77055800-792C-4F94-B39A-98C91B762BB6", "loong64-root" },
	{ "DF3300CE-D69F-4C92-978C-9BFB0F38D820", "arm64-root-verity" },
	{ "7386CDF2-203C-47A9-A498-F2ECCE45A2D6", "armhf-root-verity" },
	{ "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5", "x86-64-root-verity" },
	{ "6DB69DE6-29F4-4758-A7A5-962190F00CE3", "arm64-root-verity-sig" },
};

const char *aim_ptable_type_name(const struct aim_part *p)
{
	if (p->type_guid[0]) {
		for (unsigned i = 0; i < ARRAY_SIZE(gpt_types); i++)
			if (!strcasecmp(p->type_guid, gpt_types[i].guid))
				return gpt_types[i].name;
		return NULL;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(mbr_types); i++)
		if (p->mbr_type == mbr_types[i].code)
			return mbr_types[i].name;
	return NULL;
}
