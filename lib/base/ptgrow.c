// SPDX-License-Identifier: LGPL-2.1-or-later
/* Growing the last partition to the end of the medium (lib/base/ptgrow.h). libc only. */
#include "base/ptgrow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crc32.h"
#include "base/endian.h"
#include "base/fault.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/ptable.h"
#include "base/ptable_int.h"

#define fail_msg(g, ...) snprintf((g)->msg, sizeof((g)->msg), "failed:" __VA_ARGS__)

/* pwrite + fault point, or fsync + fault point; what names the step for the cut. */
static int write_at(int fd, const void *buf, size_t len, uint64_t off, const char *what)
{
	int r = aim_pwrite_full(fd, buf, len, off);

	if (r == 0)
		aim_fault_point(what);
	return r;
}

static int sync_fd(int fd, const char *what)
{
	if (fsync(fd) < 0)
		return -errno;
	aim_fault_point(what);
	return 0;
}

/* aim_ptable_read's checks on the medium of g; its detail into g->msg on failure. */
static int read_checked(int fd, struct aim_grow *g, struct aim_ptable *pt)
{
	int r;

	aim_error_clear();
	r = aim_ptable_read(fd, g->disk_lbas * g->lbs, pt);
	if (r < 0)
		fail_msg(g, "%s", aim_error_detail() ? aim_error_detail() : strerror(-r));
	return r;
}

static void header_crc(uint8_t *h)
{
	aim_put_le32(h + 16, 0);
	aim_put_le32(h + 16, aim_crc32(0, h, aim_get_le32(h + 12)));
}

/* The protective MBR covers the whole disk (the kernel ignores it, fdisk warns). */
static int grow_protective(int fd, uint8_t *mbr, const struct aim_grow *g)
{
	uint64_t n = g->disk_lbas - 1;
	uint32_t want = n > 0xffffffffULL ? 0xffffffffU : (uint32_t)n;
	int r = 0;

	for (int i = 0; i < 4 && r == 0; i++) {
		uint8_t *m = mbr + MBR_ENTRIES + MBR_ENTRY_SIZE * i;

		if (m[4] != MBR_TYPE_PROTECTIVE || aim_get_le32(m + 12) == want)
			continue;
		aim_put_le32(m + 12, want);
		r = write_at(fd, mbr, MBR_SIZE, 0, "grow: protective MBR");
		if (r == 0)
			r = sync_fd(fd, "grow: protective MBR fsync");
	}
	return r;
}

/* Writes the table of header h and array arr (asec sectors): the backup at the end of the
 * medium first, then the primary with its array at pentries. */
static int gpt_write_both(int fd, uint8_t *h, uint8_t *bh, const uint8_t *arr, uint64_t asec,
			  uint64_t pentries, const struct aim_grow *g)
{
	uint64_t bentries = g->disk_lbas - 1 - asec;
	unsigned lbs = g->lbs;
	int r;

	aim_put_le64(h + 24, 1);
	aim_put_le64(h + 32, g->disk_lbas - 1);
	aim_put_le64(h + 72, pentries);
	header_crc(h);
	memcpy(bh, h, lbs);
	aim_put_le64(bh + 24, g->disk_lbas - 1);
	aim_put_le64(bh + 32, 1);
	aim_put_le64(bh + 72, bentries);
	header_crc(bh);
	if ((r = write_at(fd, arr, asec * lbs, bentries * lbs, "grow: backup GPT array")) < 0 ||
	    (r = write_at(fd, bh, lbs, (g->disk_lbas - 1) * lbs, "grow: backup GPT header")) < 0 ||
	    (r = sync_fd(fd, "grow: backup GPT fsync")) < 0 ||
	    (r = write_at(fd, arr, asec * lbs, pentries * lbs, "grow: primary GPT array")) < 0 ||
	    (r = write_at(fd, h, lbs, lbs, "grow: primary GPT header")) < 0)
		return r;
	return sync_fd(fd, "grow: primary GPT fsync");
}

/* An other used entry ending after last: the partition is not the last one. */
static int gpt_not_last(const uint8_t *arr, uint32_t nent, uint32_t esz, int partn,
			uint64_t last)
{
	for (uint32_t i = 0; i < nent; i++) {
		const uint8_t *o = arr + (size_t)i * esz;

		if (i != (uint32_t)partn - 1 && !aim_guid_is_zero(o) && aim_get_le64(o + 40) > last)
			return 1;
	}
	return 0;
}

/* The header the table was read from: the primary, or the backup at the end of the medium
 * when the primary is damaged (a cut between the primary array and header); both are
 * rewritten from it. */
static int grow_gpt(int fd, uint8_t *mbr, const struct aim_ptable *pt, struct aim_grow *g)
{
	unsigned lbs = g->lbs;
	uint64_t src = pt->primary_ok ? 1 : g->disk_lbas - 1;
	uint64_t asec, alen, first, last, new_last, pentries;
	uint8_t *h = NULL, *bh = NULL, *arr = NULL, *e;
	uint32_t nent, esz;
	int r;

	if (pt->sector_size != lbs) {
		fail_msg(g, "GPT of %u-byte sectors on a medium of %u", pt->sector_size, lbs);
		return -EBADMSG;
	}
	h = malloc(lbs);
	bh = malloc(lbs);
	if (!h || !bh)
		goto nomem;
	r = aim_pread_full(fd, h, lbs, src * lbs);
	if (r < 0) {
		fail_msg(g, "reading the GPT header: %s", strerror(-r));
		goto out;
	}
	nent = aim_get_le32(h + 80);
	esz = aim_get_le32(h + 84);
	if (nent < (uint32_t)g->partn) {
		fail_msg(g, "no GPT entry %d", g->partn);
		r = -ENOENT;
		goto out;
	}
	alen = (uint64_t)nent * esz;
	asec = aim_gpt_array_sectors(nent, esz, lbs);
	arr = calloc(1, asec * lbs);
	if (!arr)
		goto nomem;
	r = aim_pread_full(fd, arr, alen, aim_get_le64(h + 72) * lbs);
	if (r == 0 && aim_crc32(0, arr, alen) != aim_get_le32(h + 88))
		r = -EBADMSG; /* changed since aim_ptable_read */
	if (r < 0) {
		fail_msg(g, "reading the GPT partition array: %s", strerror(-r));
		goto out;
	}
	e = arr + (size_t)(g->partn - 1) * esz;
	first = aim_get_le64(e + 32);
	last = aim_get_le64(e + 40);
	if (aim_guid_is_zero(e)) {
		fail_msg(g, "no GPT entry %d", g->partn);
		r = -ENOENT;
		goto out;
	}
	g->start = first;
	g->old_len = g->new_len = last - first + 1;
	if (gpt_not_last(arr, nent, esz, g->partn, last)) {
		snprintf(g->msg, sizeof(g->msg), "not-last");
		r = 0;
		goto out;
	}
	pentries = pt->primary_ok ? aim_get_le64(h + 72) : 2;
	if (g->disk_lbas < asec + 3 || pentries + asec > aim_get_le64(h + 40)) {
		fail_msg(g, "no room for the GPT arrays");
		r = -EINVAL;
		goto out;
	}
	new_last = g->disk_lbas - 2 - asec;
	if (new_last > last && (new_last - last) * lbs > AIM_GROW_MIN) {
		aim_put_le64(e + 40, new_last);
		aim_put_le64(h + 48, new_last);
		aim_put_le32(h + 88, aim_crc32(0, arr, alen));
		g->new_len = new_last - first + 1;
	} else if (pt->primary_ok) {
		/* grown before: finish what a cut may have left (the protective MBR) */
		r = aim_get_le64(h + 32) == g->disk_lbas - 1 ? grow_protective(fd, mbr, g) : 0;
		if (r < 0)
			fail_msg(g, "writing the protective MBR: %s", strerror(-r));
		else
			snprintf(g->msg, sizeof(g->msg), "full");
		goto out;
	}
	r = gpt_write_both(fd, h, bh, arr, asec, pentries, g);
	if (r == 0)
		r = grow_protective(fd, mbr, g);
	if (r < 0) {
		fail_msg(g, "writing the GPT: %s", strerror(-r));
		goto out;
	}
	r = 1;
	goto out;
nomem:
	r = -ENOMEM;
	fail_msg(g, "out of memory");
out:
	free(h);
	free(bh);
	free(arr);
	return r;
}

/* MBR: the one 16-byte entry of the partition, in one sector write + fsync. */
static int grow_mbr(int fd, uint8_t *mbr, struct aim_grow *g)
{
	uint8_t *e = mbr + MBR_ENTRIES + MBR_ENTRY_SIZE * (g->partn - 1);
	uint64_t end, limit;
	int r;

	g->start = aim_get_le32(e + 8);
	g->old_len = aim_get_le32(e + 12);
	end = g->start + g->old_len;
	for (int i = 0; i < 4; i++) {
		const uint8_t *o = mbr + MBR_ENTRIES + MBR_ENTRY_SIZE * i;

		if (i != g->partn - 1 && o[4] &&
		    (uint64_t)aim_get_le32(o + 8) + aim_get_le32(o + 12) > end) {
			snprintf(g->msg, sizeof(g->msg), "not-last");
			return 0;
		}
	}
	limit = g->disk_lbas < 0xffffffffULL ? g->disk_lbas : 0xffffffffULL;
	if (limit <= end || (limit - end) * g->lbs <= AIM_GROW_MIN) {
		snprintf(g->msg, sizeof(g->msg), "full");
		return 0;
	}
	g->new_len = limit - g->start;
	e[5] = 0xfe;
	e[6] = 0xff;
	e[7] = 0xff;
	aim_put_le32(e + 12, (uint32_t)g->new_len);
	r = write_at(fd, mbr, g->lbs, 0, "grow: MBR");
	if (r == 0)
		r = sync_fd(fd, "grow: MBR fsync");
	if (r < 0) {
		fail_msg(g, "writing the MBR: %s", strerror(-r));
		return r;
	}
	return 1;
}

int aim_ptable_grow(int fd, struct aim_grow *g)
{
	struct aim_ptable *pt = NULL;
	uint8_t *mbr = NULL;
	int r, gpt = 0;

	if (g->lbs < 512 || g->lbs > 65536 || (g->lbs & (g->lbs - 1))) {
		fail_msg(g, "sector size %u", g->lbs);
		return -EINVAL;
	}
	if (g->partn < 1 || g->partn > AIM_PTABLE_MAX_PARTS) {
		fail_msg(g, "partition %d", g->partn);
		return -EINVAL;
	}
	mbr = malloc(g->lbs);
	pt = malloc(sizeof(*pt));
	if (!mbr || !pt) {
		r = -ENOMEM;
		fail_msg(g, "out of memory");
		goto out;
	}
	r = aim_pread_full(fd, mbr, g->lbs, 0);
	if (r < 0) {
		fail_msg(g, "reading sector 0: %s", strerror(-r));
		goto out;
	}
	if (mbr[MBR_SIG] != 0x55 || mbr[MBR_SIG + 1] != 0xaa) {
		fail_msg(g, "no partition table signature");
		r = -EBADMSG;
		goto out;
	}
	for (int i = 0; i < 4; i++)
		gpt |= mbr[MBR_ENTRIES + MBR_ENTRY_SIZE * i + 4] == MBR_TYPE_PROTECTIVE;
	if (!gpt) {
		uint8_t t;

		if (g->partn > 4) {
			fail_msg(g, "no MBR entry %d", g->partn);
			r = -ENOENT;
			goto out;
		}
		t = mbr[MBR_ENTRIES + MBR_ENTRY_SIZE * (g->partn - 1) + 4];
		if (t == 0 || aim_mbr_type_extended(t)) {
			fail_msg(g, "MBR entry %d is %s", g->partn,
				 t ? "an extended partition" : "empty");
			r = -ENOENT;
			goto out;
		}
	}
	r = read_checked(fd, g, pt);
	if (r >= 0)
		r = gpt ? grow_gpt(fd, mbr, pt, g) : grow_mbr(fd, mbr, g);
	if (r > 0)
		snprintf(g->msg, sizeof(g->msg), "grown:%s p%d %llu->%llu MiB", gpt ? "gpt" : "mbr",
			 g->partn, (unsigned long long)(g->old_len * g->lbs >> 20),
			 (unsigned long long)(g->new_len * g->lbs >> 20));
out:
	free(mbr);
	free(pt);
	return r;
}
