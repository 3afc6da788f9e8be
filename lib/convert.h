/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The conversion pipeline: an analysed Armbian image in, the A/B layout of docs/convert.md
 * ("Output layout") out (p1 FAT boot partition with per-slot kernels, p2/p3 squashfs root
 * slots, p4 ext4 data partition), with the bootloader region copied byte for byte.
 */
#ifndef AIM_CONVERT_H
#define AIM_CONVERT_H

#include <stdint.h>

#include "image.h"
#include "slot.h"
#include "squashfs.h"

/* struct aim_convert_opts and aim_convert_progress_fn: slot.h. */

/* The planned (or, after the run, the actual) layout, in bytes. */
struct aim_convert_plan {
	enum aim_ptable_type table;
	uint64_t boot_start, boot_size;
	uint64_t slot_a_start, slot_size;
	uint64_t slot_b_start;
	uint64_t data_start, data_size;
	uint64_t disk_size;
	uint64_t medium_size;     /* the medium the slots are planned for (medium.h) */
	int medium_default;       /* not given: the smallest of 8G, 16G, ... that holds it */
	uint64_t sqfs_size;       /* actual after the run, estimated in a dry run */
	uint64_t slot_bytes;      /* the slot image: the squashfs and its verity tree */
	int verity;               /* the slots have dm-verity (v; estimated in a dry run) */
	struct aim_verity v;
	char verity_note[300];    /* why on or off (the dry run) */
	uint64_t boot_content;    /* bytes of one slot's boot files */
	char disk_id[37];
	char partuuid[4][37];
	char data_uuid[37];
	char boot_serial[10];
	struct aim_sqfs_stats stats;
	unsigned transforms;      /* number of root changes applied */
	int ab_boot;              /* the A/B boot script and state were written */
	char boot_note[160];      /* why not, when ab_boot is 0 */
	/* Raspberry Pi (shape E, docs/rpi.md): GPT; partition 1 (boot_*) holds autoboot.txt
	 * and the state, partitions 5 and 6 slot a's and b's boot files. */
	int rpi;
	uint64_t rpi_start[2], rpi_size;
	char rpi_partuuid[2][37];
	char rpi_serial[2][10];
};

/* The identifiers of the converted disk (disk id, partition UUIDs, data filesystem UUID, boot
 * serial): derived from the input alone (docs/convert.md, "Determinism"), so they are known
 * before anything is built. Sets p->table and those fields. */
void aim_convert_ids(const struct aim_image_info *ii, struct aim_convert_plan *p);

/* Computes the plan without writing (dry run: the squashfs size is estimated). */
int aim_convert_plan(const char *in_path, int in_fd, const struct aim_image_info *ii,
		     const struct aim_convert_opts *o, struct aim_convert_plan *ret);

/* Converts into out_fd (an empty regular file; the caller renames it into place). */
int aim_convert_run(const char *in_path, int in_fd, const struct aim_image_info *ii,
		    const struct aim_convert_opts *o, int out_fd, aim_convert_progress_fn fn,
		    void *ud, struct aim_convert_plan *ret);

#endif
