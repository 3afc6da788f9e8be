/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The conversion pipeline: an analysed Armbian image in, the A/B layout of
 * docs/layout.md out (p1 FAT boot partition with per-slot kernels, p2/p3 squashfs
 * root slots, p4 ext4 data partition), with the bootloader region copied byte for byte.
 */
#ifndef AIM_CONVERT_H
#define AIM_CONVERT_H

#include <stdint.h>

#include "image.h"
#include "squashfs.h"

#define AIM_MAX_PERSIST 32
#define AIM_TRIAL_TIMEOUT_DEFAULT 600
#define AIM_MAX_TRUST 8

enum aim_overlay_mode { AIM_OVERLAY_PERSISTENT, AIM_OVERLAY_TMPFS };

struct aim_convert_opts {
	struct aim_sqfs_opts sqfs;
	uint64_t slot_size; /* 0: 1.5x the squashfs, rounded up to 4 MiB */
	uint64_t data_size; /* 0: 256 MiB */
	uint64_t boot_size; /* 0: from the /boot contents (at least 128 MiB) */
	enum aim_overlay_mode overlay;
	int no_identity; /* kiosk mode keeps no machine-id, SSH host keys, clock (state.md) */
	const char *persist[AIM_MAX_PERSIST];
	unsigned npersist;
	int slot_b_empty;
	unsigned trial_timeout; /* seconds; AIM_TRIAL_TIMEOUT_DEFAULT unless set */
	/* Public keys (minisign format) the device trusts for updates: copied to
	 * /etc/armimmutable/keys/<key id>.pub. */
	const char *trust[AIM_MAX_TRUST];
	unsigned ntrust;
	uint32_t epoch;     /* SOURCE_DATE_EPOCH: every timestamp we create */
	const char *tmpdir; /* staging for the boot partition */
	/* Where the device side comes from (NULL: not installed, the image will not boot
	 * A/B): <device_dir>/<arm64|armhf|x86_64>/aim-boot, and the hooks/ directory. */
	const char *device_dir;
	const char *hooks_dir;
};

/* The planned (or, after the run, the actual) layout, in bytes. */
struct aim_convert_plan {
	enum aim_ptable_type table;
	uint64_t boot_start, boot_size;
	uint64_t slot_a_start, slot_size;
	uint64_t slot_b_start;
	uint64_t data_start, data_size;
	uint64_t disk_size;
	uint64_t sqfs_size;       /* actual after the run, estimated in a dry run */
	uint64_t boot_content;    /* bytes of one slot's boot files */
	char disk_id[37];
	char partuuid[4][37];
	char data_uuid[37];
	char boot_serial[10];
	struct aim_sqfs_stats stats;
	unsigned transforms;      /* number of root changes applied */
	int ab_boot;              /* the A/B boot script and state were written */
	char boot_note[160];      /* why not, when ab_boot is 0 */
};

typedef void (*aim_convert_progress_fn)(void *ud, const char *phase, uint64_t done,
					uint64_t total);

/* Computes the plan without writing (dry run: the squashfs size is estimated). */
int aim_convert_plan(const char *in_path, int in_fd, const struct aim_image_info *ii,
		     const struct aim_convert_opts *o, struct aim_convert_plan *ret);

/* Converts into out_fd (an empty regular file; the caller renames it into place). */
int aim_convert_run(const char *in_path, int in_fd, const struct aim_image_info *ii,
		    const struct aim_convert_opts *o, int out_fd, aim_convert_progress_fn fn,
		    void *ud, struct aim_convert_plan *ret);

#endif
