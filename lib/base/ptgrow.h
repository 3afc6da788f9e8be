/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Growing the last partition of an MBR or GPT table to the end of an enlarged medium (the
 * data partition, at first boot, by aim-boot). The table is validated first by
 * aim_ptable_read() (lib/base/ptable.h: header and array CRCs, entry bounds, overlaps);
 * only the table bytes change, every other byte of the headers and entries is kept.
 *
 * Power-safe order, an aim_fault_point() after every write and fsync:
 *   MBR: the one sector 0 write.
 *   GPT: the backup array and header at the new end, fsync; then the primary array and
 *        header, fsync; last the protective MBR's size, fsync. A cut before the primary
 *        header leaves the old primary valid (its backup was not overwritten) or, between
 *        the primary array and header, the new backup valid: a rerun rewrites the primary
 *        from it and finishes.
 */
#ifndef AIM_BASE_PTGROW_H
#define AIM_BASE_PTGROW_H

#include <stdint.h>

/* grow only when more than this lies beyond the partition's end */
#define AIM_GROW_MIN (16ULL << 20)

struct aim_grow {
	unsigned lbs;       /* logical sector size (512..65536, a power of two) */
	uint64_t disk_lbas; /* sectors on the medium */
	int partn;          /* the partition to grow: it must end last */
	/* results, in sectors */
	uint64_t start, old_len, new_len;
	/* for boot.env: grown:<mbr|gpt> pN A->B MiB, full, not-last, failed:<why> */
	char msg[160];
};

/* Grows partition g->partn of the table on fd to the end of the medium (g->disk_lbas).
 * 1 grown (or a growth a cut interrupted finished), 0 nothing to do, -errno; g->msg says
 * which. */
int aim_ptable_grow(int fd, struct aim_grow *g);

#endif
