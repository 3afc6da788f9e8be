/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The slot policy of convert (docs/convert.md, "Slot sizes and the medium"): the root
 * slots never grow after flashing (only the data partition does), so their size is
 * chosen for the medium the image is meant for. Each slot gets an eighth of the medium,
 * at most 4 GiB, and at least twice the slot image (squashfs and verity tree) and
 * 64 MiB: an update twice the size of the converted root always fits. The whole image
 * must fit the medium's capacity.
 */
#ifndef AIM_MEDIUM_H
#define AIM_MEDIUM_H

#include <stddef.h>
#include <stdint.h>

#define AIM_MEDIUM_DEFAULT ((uint64_t)8 << 30) /* the smallest card Armbian recommends */
#define AIM_MEDIUM_MAX ((uint64_t)16 << 40)
#define AIM_SLOT_MIN ((uint64_t)64 << 20)
#define AIM_SLOT_CAP ((uint64_t)4 << 30)
#define AIM_MEDIUM_SHARE 8 /* each slot: medium / 8 */

/* The bytes a medium sold as `size` holds for sure: cards and sticks count decimal
 * gigabytes, so "8G" (an "8 GB" card) is size * 10^9 / 2^30 bytes. */
uint64_t aim_medium_capacity(uint64_t size);

/* "8G", "1536M": size for messages (G when a whole number of GiB). */
void aim_medium_name(uint64_t size, char *buf, size_t n);

struct aim_medium_plan {
	uint64_t medium;    /* the medium planned for */
	int medium_default; /* not given: the smallest of 8G, 16G, 32G, ... that holds it */
	uint64_t slot_size; /* each root slot */
	uint64_t disk_size; /* head + 2 slots + tail */
};

/*
 * Plans the slots: head = bytes before slot A, tail = bytes after slot B (data partition
 * and GPT backup), bytes = the slot image (0: not known yet), medium and slot = the
 * options (0: not given; slot given overrides the policy). -ENOSPC with a message naming
 * the sizes and what to change when the image does not fit the given medium.
 */
int aim_medium_plan(uint64_t medium, uint64_t slot, uint64_t head, uint64_t tail,
		    uint64_t bytes, struct aim_medium_plan *ret);

#endif
