/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/ptable.c against sfdisk/sgdisk: tables made by sfdisk are read and compared field by
 * field with `sfdisk -J` (through jq); tables written by aim_ptable_write onto images full of
 * random bytes must read back identically with `sfdisk -d`, pass `sgdisk -v`, and leave every
 * byte outside the table untouched. Each malformed-table branch is checked for its -E code and
 * for a detail that names the defect.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/ptable.h"
#include "shell.h"
#include "tap.h"
#include "base/endian.h"
#include "base/log.h"

#define MiB (1024ull * 1024)

static char dir[256];

static const char *img(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* Makes a zero image of size bytes and partitions it with the sfdisk script. */
static int mk(const char *name, uint64_t size, const char *script)
{
	const char *p = img(name);

	if (run("rm -f '%s' && truncate -s %llu '%s'", p, (unsigned long long)size, p))
		return -1;
	return run("printf '%s' | sfdisk -q --no-reread '%s' >/dev/null 2>&1", script, p);
}

static int read_pt(const char *name, struct aim_ptable *pt)
{
	struct stat st;
	int fd, r;

	memset(pt, 0, sizeof(*pt));
	aim_error_clear();
	fd = open(img(name), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	r = aim_ptable_read(fd, (uint64_t)st.st_size, pt);
	close(fd);
	return r;
}

static int write_pt(const char *name, const struct aim_ptable *pt)
{
	int fd, r;

	aim_error_clear();
	fd = open(img(name), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = aim_ptable_write(fd, pt);
	close(fd);
	return r;
}

static const char *detail(void)
{
	return aim_error_detail() ?: "(none)";
}

/* Compares every field of pt with `sfdisk -J`: one jq line per partition. */
static void compare_json(const char *name, const struct aim_ptable *pt)
{
	const char *p = img(name), *s;
	char want[512], *save = NULL, *line;
	static char lines[65536];
	unsigned i = 0;
	int isgpt = pt->type == AIM_PTABLE_GPT;

	s = out("sfdisk -J '%s' | jq -r '.partitiontable | \"\\(.label) \\(.id) \\(.sectorsize) "
		"\\(.firstlba // 0) \\(.lastlba // 0)\"'", p);
	if (isgpt)
		snprintf(want, sizeof(want), "gpt %s %u %llu %llu", pt->disk_id, pt->sector_size,
			 (unsigned long long)pt->first_usable, (unsigned long long)pt->last_usable);
	else
		snprintf(want, sizeof(want), "dos 0x%s 512 0 0", pt->disk_id);
	is_str(s, want, "%s: label, id, sector size, usable range as sfdisk -J", name);

	s = out("sfdisk -J '%s' | jq -r --arg d '%s' '.partitiontable.partitions[] | "
		"\"\\(.node | ltrimstr($d)) \\(.start) \\(.size) \\(.type) \\(.uuid // \"-\") "
		"\\(.name // \"-\") \\(.bootable // false) \\(.attrs // \"-\")\"'", p, p);
	snprintf(lines, sizeof(lines), "%s", s);
	for (line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		const struct aim_part *q = &pt->parts[i];
		char t[40], u[40], nm[120], at[80];

		if (i >= pt->nparts)
			break;
		if (isgpt) {
			snprintf(t, sizeof(t), "%s", q->type_guid);
			snprintf(u, sizeof(u), "%s", q->uuid);
			snprintf(nm, sizeof(nm), "%s", q->name[0] ? q->name : "-");
			snprintf(at, sizeof(at), "%s", q->bootable ? "LegacyBIOSBootable" : "-");
		} else {
			snprintf(t, sizeof(t), "%x", q->mbr_type);
			snprintf(u, sizeof(u), "-");
			snprintf(nm, sizeof(nm), "-");
			snprintf(at, sizeof(at), "-");
		}
		snprintf(want, sizeof(want), "%u %llu %llu %s %s %s %s %s", q->num,
			 (unsigned long long)(q->start / pt->sector_size),
			 (unsigned long long)(q->size / pt->sector_size), t, u, nm,
			 q->bootable && !isgpt ? "true" : "false", at);
		is_str(line, want, "%s: partition %u as sfdisk -J", name, q->num);
	}
	is_int(i, pt->nparts, "%s: partition count as sfdisk -J", name);
}

/* ---- reading tables made by sfdisk ---- */

static void test_read_mbr(void)
{
	struct aim_ptable pt;

	ok(!mk("m1.img", 64 * MiB, "label: dos\\nlabel-id: 0x1234abcd\\nstart=4MiB, type=83\\n"),
	   "sfdisk: MBR, one root at 4 MiB");
	is_int(read_pt("m1.img", &pt), 0, "MBR shape A reads");
	is_int(pt.type, AIM_PTABLE_MBR, "type MBR");
	is_str(pt.disk_id, "1234abcd", "disk id lower-case hex");
	is_str(pt.parts[0].uuid, "1234abcd-01", "PARTUUID form");
	is_str(aim_ptable_type_name(&pt.parts[0]), "linux", "0x83 is linux");
	compare_json("m1.img", &pt);

	ok(!mk("m2.img", 96 * MiB,
	       "label: dos\\nlabel-id: 0xdeadbeef\\nstart=16MiB, size=32MiB, type=c, bootable\\n"
	       "start=48MiB, type=83\\n"),
	   "sfdisk: MBR, FAT32 boot + root at 16 MiB");
	is_int(read_pt("m2.img", &pt), 0, "MBR shape D reads");
	is_int(pt.nparts, 2, "two partitions");
	is_str(pt.parts[1].uuid, "deadbeef-02", "PARTUUID of partition 2");
	ok(pt.parts[0].bootable && !pt.parts[1].bootable, "boot flag on partition 1 only");
	is_str(aim_ptable_type_name(&pt.parts[0]), "fat32", "0x0c is fat32");
	compare_json("m2.img", &pt);

	ok(!mk("m3.img", 128 * MiB,
	       "label: dos\\nlabel-id: 0x0000abcd\\nstart=4MiB, size=8MiB, type=ef\\n"
	       "size=16MiB, type=ea\\nsize=40MiB, type=83\\ntype=83\\n"),
	   "sfdisk: MBR with four primaries");
	is_int(read_pt("m3.img", &pt), 0, "four primaries read");
	is_int(pt.nparts, 4, "four partitions");
	is_str(pt.parts[3].uuid, "0000abcd-04", "PARTUUID keeps leading zeros");
	is_str(aim_ptable_type_name(&pt.parts[0]), "efi", "0xef is efi");
	is_str(aim_ptable_type_name(&pt.parts[1]), "xbootldr", "0xea is xbootldr");
	compare_json("m3.img", &pt);
}

static void test_read_gpt(void)
{
	struct aim_ptable pt;

	ok(!mk("g1.img", 64 * MiB,
	       "label: gpt\\nlabel-id: 01234567-89AB-CDEF-0123-456789ABCDEF\\nfirst-lba: 34\\n"
	       "start=16MiB, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name=\"rootfs\", "
	       "uuid=8E2D5B6B-4F31-4C5A-9F0E-6A7D9B1C2E3F\\n"),
	   "sfdisk: GPT shape C (root at 16 MiB)");
	is_int(read_pt("g1.img", &pt), 0, "GPT shape C reads");
	is_int(pt.type, AIM_PTABLE_GPT, "type GPT");
	is_str(pt.disk_id, "01234567-89AB-CDEF-0123-456789ABCDEF", "disk GUID mixed-endian");
	is_str(pt.parts[0].uuid, "8E2D5B6B-4F31-4C5A-9F0E-6A7D9B1C2E3F", "partition GUID");
	is_str(pt.parts[0].name, "rootfs", "partition name");
	is_str(aim_ptable_type_name(&pt.parts[0]), "arm64-root", "arm64 root type name");
	ok(pt.primary_ok && pt.backup_ok, "primary and backup headers valid");
	ok(pt.entries_lba == 2 && pt.nentries == 128 && pt.entry_size == 128,
	   "entry array at LBA 2, 128 x 128 bytes");
	compare_json("g1.img", &pt);

	ok(!mk("g2.img", 600 * MiB,
	       "label: gpt\\nlabel-id: A0B1C2D3-E4F5-0617-2839-4A5B6C7D8E9F\\n"
	       "start=4MiB, size=4MiB, type=21686148-6449-6E6F-744E-656564454649, name=\"bios\", "
	       "attrs=\"LegacyBIOSBootable\"\\n"
	       "size=260MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"efi\"\\n"
	       "type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=\"r\xc3\xa9p\xe2\x82\xac\"\\n"),
	   "sfdisk: GPT shape G (bios + ESP + x86-64 root, UTF-8 name)");
	is_int(read_pt("g2.img", &pt), 0, "GPT shape G reads");
	is_int(pt.nparts, 3, "three partitions");
	ok(pt.parts[0].bootable && pt.parts[0].attrs == 4, "LegacyBIOSBootable is attr bit 2");
	is_str(pt.parts[2].name, "r\xc3\xa9p\xe2\x82\xac", "UTF-16 name decoded to UTF-8");
	is_str(aim_ptable_type_name(&pt.parts[0]), "bios", "BIOS boot type name");
	is_str(aim_ptable_type_name(&pt.parts[1]), "efi", "ESP type name");
	is_str(aim_ptable_type_name(&pt.parts[2]), "x86-64-root", "x86-64 root type name");
	compare_json("g2.img", &pt);

	ok(!mk("g3.img", 48 * MiB,
	       "label: gpt\\ntable-length: 56\\nfirst-lba: 16\\n"
	       "start=4MiB, size=8MiB, type=BC13C2FF-59E6-4262-A352-B275FD6F7172, name=\"bootfs\"\\n"
	       "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=\"rootfs\"\\n"),
	   "sfdisk: GPT with 56 entries (first-lba 16)");
	is_int(read_pt("g3.img", &pt), 0, "56-entry GPT reads");
	is_int(pt.nentries, 56, "56 entries");
	is_int(pt.first_usable, 16, "first usable LBA 16");
	is_str(aim_ptable_type_name(&pt.parts[0]), "xbootldr", "XBOOTLDR type name");
	is_str(aim_ptable_type_name(&pt.parts[1]), "linux", "Linux data type name");
	compare_json("g3.img", &pt);
}

/* ---- writing ---- */

/* Counts differing bytes between two files outside the allowed [lo, hi) ranges. */
static long diff_outside(const char *a, const char *b, const uint64_t (*allow)[2], int nallow)
{
	FILE *fa = fopen(img(a), "rb"), *fb = fopen(img(b), "rb");
	long bad = 0;
	uint64_t off = 0;
	int ca, cb;

	if (!fa || !fb) {
		if (fa)
			fclose(fa);
		if (fb)
			fclose(fb);
		return -1;
	}
	for (;; off++) {
		ca = getc(fa);
		cb = getc(fb);
		if (ca == EOF || cb == EOF)
			break;
		if (ca != cb) {
			int ok_ = 0;
			for (int i = 0; i < nallow; i++)
				if (off >= allow[i][0] && off < allow[i][1])
					ok_ = 1;
			if (!ok_ && bad++ < 3)
				printf("# byte %llu changed\n", (unsigned long long)off);
		}
	}
	if (ca != cb)
		bad++; /* different lengths */
	fclose(fa);
	fclose(fb);
	return bad;
}

/* Fills an image with random bytes (whole file, or the first `head` bytes of a sparse one). */
static int random_image(const char *name, uint64_t size, uint64_t head)
{
	const char *p = img(name);

	return run("rm -f '%s' && truncate -s %llu '%s' && head -c %llu /dev/urandom | "
		   "dd of='%s' conv=notrunc status=none",
		   p, (unsigned long long)size, p, (unsigned long long)(head ?: size), p);
}

/* `sfdisk -d` of a with its device names, compared to b's. */
static void same_dump(const char *a, const char *b, const char *what)
{
	char da[8192];

	snprintf(da, sizeof(da), "%s",
		 out("sfdisk -d '%s' | sed 's|^%s|IMG|; /^device:/d'", img(a), img(a)));
	is_str(out("sfdisk -d '%s' | sed 's|^%s|IMG|; /^device:/d'", img(b), img(b)), da,
	       "%s: sfdisk -d identical to sfdisk's own table", what);
}

static void test_write_mbr(void)
{
	struct aim_ptable pt;
	const uint64_t allow[][2] = { { 440, 512 } };

	/* reference made by sfdisk; the same layout written by us over random bytes */
	ok(!mk("wm-ref.img", 128 * MiB,
	       "label: dos\\nlabel-id: 0x89abcdef\\nstart=4MiB, size=8MiB, type=ef\\n"
	       "size=16MiB, type=ea, bootable\\nsize=40MiB, type=83\\ntype=83\\n"),
	   "sfdisk: MBR reference");
	is_int(read_pt("wm-ref.img", &pt), 0, "reference reads");
	ok(!random_image("wm.img", 128 * MiB, 0) && !run("cp '%s' '%s'", img("wm.img"),
							 img("wm-orig.img")),
	   "random 128 MiB image");
	is_int(write_pt("wm.img", &pt), 0, "aim_ptable_write MBR");
	same_dump("wm-ref.img", "wm.img", "MBR");
	is_int(run("cmp -s -i 446:446 -n 66 '%s' '%s'", img("wm-ref.img"), img("wm.img")), 0,
	       "MBR entries incl. CHS bytes identical to sfdisk's");
	is_int(diff_outside("wm-orig.img", "wm.img", allow, 1), 0,
	       "no byte outside 440-511 changed (boot code and gap kept)");

	/* CHS past cylinder 1023: sparse 10 GiB image, partition 2 starts at 9 GiB */
	ok(!mk("wm2-ref.img", 10240 * MiB,
	       "label: dos\\nlabel-id: 0x00c0ffee\\nstart=4MiB, size=9212MiB, type=83\\n"
	       "start=9216MiB, type=83\\n"),
	   "sfdisk: MBR reference beyond CHS range");
	is_int(read_pt("wm2-ref.img", &pt), 0, "large reference reads");
	ok(!random_image("wm2.img", 10240 * MiB, MiB), "sparse 10 GiB image, first MiB random");
	is_int(write_pt("wm2.img", &pt), 0, "aim_ptable_write MBR with large LBAs");
	is_int(run("cmp -i 440:440 -n 4 '%s' '%s' && cmp -i 446:446 -n 66 '%s' '%s'",
		   img("wm2-ref.img"), img("wm2.img"), img("wm2-ref.img"), img("wm2.img")), 0,
	       "disk id, entries and signature identical to sfdisk's (CHS FE FF FF past 1023 "
	       "cylinders; bytes 444-445 are left alone)");
	same_dump("wm2-ref.img", "wm2.img", "large MBR");
	run("rm -f '%s' '%s'", img("wm2-ref.img"), img("wm2.img"));
}

static void test_write_gpt(void)
{
	struct aim_ptable pt, back;
	const uint64_t size = 40 * MiB;
	const uint64_t allow[][2] = {
		{ 446, 512 }, { 512, 1024 }, { 1024, 1024 + 16384 }, { size - 33 * 512, size }
	};
	const uint64_t allow56[][2] = {
		{ 446, 512 }, { 512, 8192 }, { size - 15 * 512, size }
	};

	/* Rockchip-like: loaders at LBA 64 and 8 MiB stay, array at LBA 2..33 */
	ok(!mk("wg-ref.img", size,
	       "label: gpt\\nlabel-id: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\\nfirst-lba: 34\\n"
	       "start=16MiB, size=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"efi\", "
	       "uuid=00112233-4455-6677-8899-AABBCCDDEEFF\\n"
	       "start=24MiB, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name=\"rootfs\", "
	       "attrs=\"LegacyBIOSBootable\"\\n"),
	   "sfdisk: GPT reference (16 MiB offset)");
	is_int(read_pt("wg-ref.img", &pt), 0, "GPT reference reads");
	ok(!random_image("wg.img", size, 0) && !run("cp '%s' '%s'", img("wg.img"),
						    img("wg-orig.img")),
	   "random 40 MiB image");
	is_int(write_pt("wg.img", &pt), 0, "aim_ptable_write GPT");
	same_dump("wg-ref.img", "wg.img", "GPT");
	ok(strstr(out("sgdisk -v '%s' 2>&1", img("wg.img")), "No problems found") != NULL,
	   "sgdisk -v: No problems found");
	is_int(diff_outside("wg-orig.img", "wg.img", allow, 4), 0,
	       "boot code, LBA 34.. (loader at LBA 64, 8 MiB) and partitions unchanged");
	is_int(read_pt("wg.img", &back), 0, "written GPT reads back");
	ok(back.primary_ok && back.backup_ok && back.nparts == 2 &&
		   !memcmp(back.parts, pt.parts, sizeof(pt.parts[0]) * 2),
	   "read back: same partitions, both headers valid");

	/* Allwinner-like: 56 entries so that the SPL at 8 KiB survives */
	ok(!mk("wg56-ref.img", size,
	       "label: gpt\\nlabel-id: 11111111-2222-3333-4444-555555555555\\ntable-length: 56\\n"
	       "first-lba: 16\\nstart=4MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, "
	       "name=\"rootfs\", uuid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\\n"),
	   "sfdisk: GPT reference with 56 entries");
	is_int(read_pt("wg56-ref.img", &pt), 0, "56-entry reference reads");
	ok(!random_image("wg56.img", size, 0) && !run("cp '%s' '%s'", img("wg56.img"),
						      img("wg56-orig.img")),
	   "random image");
	is_int(write_pt("wg56.img", &pt), 0, "aim_ptable_write GPT with 56 entries");
	same_dump("wg56-ref.img", "wg56.img", "GPT 56");
	ok(strstr(out("sgdisk -v '%s' 2>&1", img("wg56.img")), "No problems found") != NULL,
	   "sgdisk -v: No problems found (56 entries)");
	is_int(diff_outside("wg56-orig.img", "wg56.img", allow56, 3), 0,
	       "bytes from 8 KiB (SPL) to the backup array unchanged");

	/* defaults: geometry fields 0 are filled in; the array shrinks to fit at 8 KiB */
	pt.nentries = 0;
	pt.first_usable = pt.last_usable = pt.entries_lba = 0;
	pt.entry_size = 0;
	pt.parts[0].start = 7168;
	pt.parts[0].size = 4 * MiB;
	is_int(write_pt("wg56.img", &pt), 0, "write with default geometry");
	is_int(read_pt("wg56.img", &back), 0, "reads back");
	ok(back.nentries == 48 && back.first_usable == 14 && back.last_usable == size / 512 - 14,
	   "default array: 48 entries ending before the first partition (got %u, %llu-%llu)",
	   back.nentries, (unsigned long long)back.first_usable,
	   (unsigned long long)back.last_usable);
	ok(strstr(out("sgdisk -v '%s' 2>&1", img("wg56.img")), "No problems found") != NULL,
	   "sgdisk -v on the default geometry");

	/* 4096-byte sectors: round trip through our writer and reader */
	pt.sector_size = 4096;
	pt.parts[0].start = 4 * MiB;
	pt.parts[0].size = 8 * MiB;
	ok(!random_image("w4k.img", size, 0), "random image for 4K sectors");
	is_int(write_pt("w4k.img", &pt), 0, "write a 4096-byte-sector GPT");
	is_int(read_pt("w4k.img", &back), 0, "4096-byte-sector GPT read back");
	ok(back.sector_size == 4096 && back.nparts == 1 && back.parts[0].start == 4 * MiB &&
		   back.parts[0].size == 8 * MiB && back.backup_ok && back.entries_lba == 2,
	   "4K: sector size detected from the header at byte 4096");
	is_str(back.parts[0].name, "rootfs", "4K: name kept");

	/* refusals */
	is_int(read_pt("wg-ref.img", &pt), 0, "reference again");
	pt.parts[1].start = pt.parts[0].start + MiB;
	is_int(write_pt("wg.img", &pt), -EINVAL, "overlapping partitions refused on write");
	ok(strstr(detail(), "overlap") != NULL, "detail: %s", detail());
	is_int(read_pt("wg-ref.img", &pt), 0, "reference again");
	pt.nentries = 0;
	pt.entries_lba = 0;
	pt.first_usable = 0;
	pt.parts[0].start = 1024;
	is_int(write_pt("wg.img", &pt), -ENOSPC, "no room for the entry array");
	ok(strstr(detail(), "no room for a GPT entry array") != NULL, "detail: %s", detail());
}

/* ---- malformed tables ---- */

static int poke_n(const char *name, uint64_t off, const void *bytes, size_t len)
{
	int fd = open(img(name), O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, bytes, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}
#define poke(name, off, lit) poke_n(name, off, lit, sizeof(lit) - 1)

static int flip(const char *name, uint64_t off)
{
	FILE *f = fopen(img(name), "r+b");
	int c;

	if (!f)
		return -1;
	fseek(f, (long)off, SEEK_SET);
	c = getc(f);
	fseek(f, (long)off, SEEK_SET);
	putc(c ^ 0x5a, f);
	fclose(f);
	return 0;
}

/* Rewrites entry array CRC and header CRC of the header at byte hoff. */
static int fix_crcs(const char *name, uint64_t hoff)
{
	uint8_t h[92], arr[16384];
	int fd = open(img(name), O_RDWR);

	if (fd < 0)
		return -1;
	if (pread(fd, h, 92, (off_t)hoff) != 92 ||
	    pread(fd, arr, sizeof(arr), (off_t)(aim_get_le64(h + 72) * 512)) != sizeof(arr)) {
		close(fd);
		return -1;
	}
	aim_put_le32(h + 88, (uint32_t)crc32(0, arr, sizeof(arr)));
	aim_put_le32(h + 16, 0);
	aim_put_le32(h + 16, (uint32_t)crc32(0, h, 92));
	if (pwrite(fd, h, 92, (off_t)hoff) != 92) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void test_bad_mbr(void)
{
	struct aim_ptable pt;

	ok(!run("truncate -s 1M '%s'", img("zero.img")), "zero image");
	is_int(read_pt("zero.img", &pt), -ENOMEDIUM, "no 0x55AA: -ENOMEDIUM");
	ok(strstr(detail(), "no 0x55AA signature") != NULL, "detail: %s", detail());
	ok(!run("truncate -s 100 '%s'", img("tiny.img")), "100-byte image");
	is_int(read_pt("tiny.img", &pt), -ENOMEDIUM, "too short for a table: -ENOMEDIUM");
	ok(strstr(detail(), "too short") != NULL, "detail: %s", detail());

	ok(!mk("ov.img", 64 * MiB,
	       "label: dos\\nstart=4MiB, size=8MiB, type=83\\nstart=12MiB, type=83\\n"),
	   "MBR for the overlap test");
	/* partition 2 start LBA (entry 2 at byte 462, LBA at +8) := 10 MiB / 512 = 0x5000 */
	ok(!poke("ov.img", 470, "\x00\x50\x00\x00"), "entry 2 edited to start at 10 MiB");
	is_int(read_pt("ov.img", &pt), -EBADMSG, "overlap: -EBADMSG");
	is_str(detail(), "partitions 1 and 2 overlap", "detail names the partitions");

	ok(!mk("end.img", 64 * MiB,
	       "label: dos\\nstart=4MiB, size=8MiB, type=83\\nstart=12MiB, type=83\\n") &&
		   !run("truncate -s 32M '%s'", img("end.img")),
	   "MBR image truncated to 32 MiB");
	is_int(read_pt("end.img", &pt), -EBADMSG, "partition past the end: -EBADMSG");
	is_str(detail(),
	       "partition 2 ends at byte 67108864, past the end of the image (33554432 bytes)",
	       "detail gives both sizes");

	ok(!mk("ext.img", 64 * MiB,
	       "label: dos\\nstart=4MiB, size=8MiB, type=83\\nstart=12MiB, type=5\\n"
	       "start=13MiB, size=8MiB, type=83\\n"),
	   "MBR with an extended partition");
	is_int(read_pt("ext.img", &pt), -EOPNOTSUPP, "extended: -EOPNOTSUPP");
	ok(strstr(detail(), "partition 2 is an extended partition") != NULL, "detail: %s",
	   detail());

	ok(!mk("bf.img", 64 * MiB, "label: dos\\nstart=4MiB, type=83\\n") &&
		   !poke("bf.img", 446, "\x12"),
	   "MBR with boot flag 0x12");
	is_int(read_pt("bf.img", &pt), -EBADMSG, "bad boot flag: -EBADMSG");
	ok(strstr(detail(), "invalid boot flag 0x12") != NULL, "detail: %s", detail());

	ok(!mk("hy.img", 64 * MiB, "label: gpt\\nstart=4MiB, type=linux\\n") &&
		   !poke("hy.img", 462, "\x00\x00\x00\x00\x83\x00\x00\x00"
					"\x00\x20\x00\x00\x00\x10\x00\x00"),
	   "hybrid MBR (0xEE plus a 0x83 entry)");
	is_int(read_pt("hy.img", &pt), -EOPNOTSUPP, "hybrid MBR: -EOPNOTSUPP");
	ok(strstr(detail(), "hybrid MBR") != NULL, "detail: %s", detail());
}

static void test_bad_gpt(void)
{
	struct aim_ptable pt;
	const char *script = "label: gpt\\nstart=4MiB, size=8MiB, type=linux, name=\"a\"\\n"
			     "start=12MiB, type=linux, name=\"b\"\\n";
	const uint64_t size = 64 * MiB, bhdr = size - 512, barr = size - 33 * 512;

	/* header CRC: primary only falls back to the backup; both is an error */
	ok(!mk("hc.img", size, script) && !flip("hc.img", 512 + 60), "primary header byte flipped");
	is_int(read_pt("hc.img", &pt), 0, "bad primary header: backup used");
	ok(!pt.primary_ok && pt.backup_ok && pt.nparts == 2 && pt.entries_lba == 2,
	   "primary_ok 0, table from the backup");
	ok(!flip("hc.img", bhdr + 60), "backup header byte flipped too");
	is_int(read_pt("hc.img", &pt), -EBADMSG, "both headers bad: -EBADMSG");
	ok(strstr(detail(), "GPT header CRC mismatch") != NULL, "detail: %s", detail());

	/* entry array CRC */
	ok(!mk("ac.img", size, script) && !flip("ac.img", 1024 + 56), "primary array byte flipped");
	is_int(read_pt("ac.img", &pt), 0, "bad primary array: backup used");
	ok(!pt.primary_ok && pt.backup_ok, "table from the backup");
	ok(!flip("ac.img", barr + 56), "backup array byte flipped too");
	is_int(read_pt("ac.img", &pt), -EBADMSG, "both arrays bad: -EBADMSG");
	ok(strstr(detail(), "entry array CRC mismatch") != NULL, "detail: %s", detail());

	/* backup missing: not an error */
	ok(!mk("bm.img", size, script) &&
		   !run("dd if=/dev/zero of='%s' bs=512 seek=%llu count=1 conv=notrunc status=none",
			img("bm.img"), (unsigned long long)(bhdr / 512)),
	   "backup header zeroed");
	is_int(read_pt("bm.img", &pt), 0, "missing backup: still reads");
	ok(pt.primary_ok && !pt.backup_ok, "backup_ok 0");

	/* overlapping entries with valid CRCs: partition 2 first LBA := 8 MiB */
	ok(!mk("go.img", size, script) && !poke("go.img", 1024 + 128 + 32, "\x00\x40") &&
		   !poke("go.img", barr + 128 + 32, "\x00\x40") && !fix_crcs("go.img", 512) &&
		   !fix_crcs("go.img", bhdr),
	   "GPT entry 2 moved onto entry 1, CRCs recomputed");
	is_int(read_pt("go.img", &pt), -EBADMSG, "GPT overlap: -EBADMSG");
	is_str(detail(), "partitions 1 and 2 overlap", "detail names the partitions");

	/* MyLBA wrong (valid CRC) */
	ok(!mk("ml.img", size, script) && !poke("ml.img", 512 + 24, "\x07") &&
		   !fix_crcs("ml.img", 512) && !poke("ml.img", bhdr + 24, "\x07") &&
		   !fix_crcs("ml.img", bhdr),
	   "MyLBA changed in both headers");
	is_int(read_pt("ml.img", &pt), -EBADMSG, "bad MyLBA: -EBADMSG");
	ok(strstr(detail(), "MyLBA is 7, expected 1") != NULL, "detail: %s", detail());

	/* header size out of range */
	ok(!mk("hs.img", size, script) && !poke("hs.img", 512 + 12, "\x10\x00") &&
		   !fix_crcs("hs.img", 512) && !poke("hs.img", bhdr + 12, "\x10\x00"),
	   "header size 16");
	is_int(read_pt("hs.img", &pt), -EBADMSG, "bad header size: -EBADMSG");
	ok(strstr(detail(), "header size 16 out of range") != NULL, "detail: %s", detail());

	/* entry size not 128 * 2^n */
	ok(!mk("es.img", size, script) && !poke("es.img", 512 + 84, "\xc0") &&
		   !fix_crcs("es.img", 512) && !poke("es.img", bhdr + 84, "\xc0") &&
		   !fix_crcs("es.img", bhdr),
	   "entry size 192");
	is_int(read_pt("es.img", &pt), -EBADMSG, "bad entry size: -EBADMSG");
	ok(strstr(detail(), "entry size 192") != NULL, "detail: %s", detail());

	/* partition outside the usable range: first usable LBA raised to 10000 */
	ok(!mk("fu.img", size, script) && !poke("fu.img", 512 + 40, "\x10\x27\x00\x00") &&
		   !fix_crcs("fu.img", 512) && !poke("fu.img", bhdr + 40, "\x10\x27\x00\x00") &&
		   !fix_crcs("fu.img", bhdr),
	   "first usable LBA 10000 in both headers");
	is_int(read_pt("fu.img", &pt), -EBADMSG, "partition below first usable: -EBADMSG");
	ok(strstr(detail(), "GPT partition 1 (LBA 8192-24575) is outside the usable range") !=
		   NULL,
	   "detail: %s", detail());

	/* truncated: partition past the end, backup gone */
	ok(!mk("gt.img", size, script) && !run("truncate -s 32M '%s'", img("gt.img")),
	   "GPT image truncated to 32 MiB");
	is_int(read_pt("gt.img", &pt), -EBADMSG, "GPT partition past the end: -EBADMSG");
	is_str(detail(),
	       "partition 2 ends at byte 66060288, past the end of the image (33554432 bytes)",
	       "detail gives both sizes");

	ok(!mk("gs.img", size, script) && !run("truncate -s 700 '%s'", img("gs.img")),
	   "GPT image truncated to 700 bytes");
	is_int(read_pt("gs.img", &pt), -EBADMSG, "shorter than the GPT header: -EBADMSG");
	ok(strstr(detail(), "too short for the GPT header") != NULL, "detail: %s", detail());

	ok(!mk("ns.img", size, script) && !poke("ns.img", 512, "XFI") &&
		   !poke("ns.img", bhdr, "XFI"),
	   "both GPT signatures broken");
	is_int(read_pt("ns.img", &pt), -EBADMSG, "protective MBR without GPT: -EBADMSG");
	ok(strstr(detail(), "no GPT header signature") != NULL, "detail: %s", detail());
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-ptable-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_read_mbr();
	test_read_gpt();
	test_write_mbr();
	test_write_gpt();
	test_bad_mbr();
	test_bad_gpt();
	run("rm -rf '%s'", dir);
	return done_testing();
}
