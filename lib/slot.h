/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The slot step of a conversion: one root slot built from an analysed Armbian image. The
 * root filesystem's tree with the immutable-root transforms (transform.h), written as
 * squashfs; the image's /boot staged as the slot's boot files (/slot-X/ on the boot
 * partition: kernel, dtbs, each initramfs with aim-boot appended, armbianEnv.txt naming the
 * slot's root), and /slot-X/slot.env. convert.c puts the slot into a disk image and
 * assembles the rest of the disk around it; bundle create puts it into a bundle. See
 * docs/convert.md.
 */
#ifndef AIM_SLOT_H
#define AIM_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "squashfs.h"
#include "verity.h"

#define AIM_MAX_PERSIST 32
#define AIM_TRIAL_TIMEOUT_DEFAULT 600
#define AIM_MAX_TRUST 8

enum aim_overlay_mode { AIM_OVERLAY_PERSISTENT, AIM_OVERLAY_TMPFS };
/* dm-verity for the slot (docs/verity.md): auto = on when the image's kernel can. */
enum aim_verity_mode { AIM_VERITY_AUTO, AIM_VERITY_ON, AIM_VERITY_OFF };

struct aim_seckey;

/* The options of a conversion (convert.h): the slot step reads all but the disk sizes
 * (medium_size, slot_size, data_size, boot_size) and tmpdir. */
struct aim_convert_opts {
	struct aim_sqfs_opts sqfs;
	uint64_t medium_size; /* 0: the default policy of medium.h */
	uint64_t slot_size; /* 0: from the medium (medium.h) */
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
	enum aim_verity_mode verity;
	/* The release key: signs slot.env (/slot-X/slot.env.minisig) and salts the verity
	 * tree; NULL: slot.env unsigned, the salt from no key. */
	const struct aim_seckey *sign;
	uint32_t epoch;     /* SOURCE_DATE_EPOCH: every timestamp we create */
	const char *tmpdir; /* staging for the boot partition */
	/* Where the device side comes from (NULL: not installed, the image will not boot
	 * A/B): <device_dir>/<arm64|armhf|x86_64>/aim-boot, and the hooks/ directory. */
	const char *device_dir;
	const char *hooks_dir;
};

typedef void (*aim_convert_progress_fn)(void *ud, const char *phase, uint64_t done,
					uint64_t total);

/* One slot: what the caller gives (the root PARTUUIDs) and what the step reports. */
struct aim_slot {
	/* In: the root=PARTUUID= of slot A's and slot B's armbianEnv.txt. */
	char root_partuuid[2][37];

	uint32_t epoch;         /* every timestamp created (SOURCE_DATE_EPOCH or the input's) */
	unsigned transforms;    /* number of root changes applied */
	uint64_t boot_content;  /* bytes of one slot's boot files as staged from /boot */
	int ab_boot;            /* the A/B boot script and state were written */
	char boot_note[160];    /* why not, when ab_boot is 0 */
	uint64_t sqfs_size;     /* the squashfs, padded to 4 KiB */
	uint64_t slot_bytes;    /* the slot image: the squashfs, and with verity its tree */
	int verity;             /* the slot has a hash tree (v) */
	char verity_note[300];  /* why verity is on or off, one line */
	struct aim_verity v;
	struct aim_sqfs_stats stats;
};

/* Whether a slot of the image gets verity with mode: 1 on, 0 off (why says why, one
 * line), -EOPNOTSUPP for --verity on with a kernel that cannot (the detail says why). */
int aim_slot_verity_decide(const struct aim_image_info *ii, enum aim_verity_mode mode,
			   char *why, size_t n);

/*
 * Where a slot goes. Its boot files are staged in dir/slot-a/, and in dir/slot-b/ too
 * unless o->slot_b_empty (a disk whose slot B starts as a copy: only armbianEnv.txt
 * differs). When the image boots A/B, dir also gets the disk's boot.cmd, boot.scr and the
 * two state records (docs/boot.md). The squashfs is written to fd at offset (at most max
 * bytes), then read back once: hashed for slot.env and, with copy_fd >= 0, copied to
 * copy_fd at copy_offset (sparse). With verity, the tree follows the squashfs (verity.h):
 * formatted in place when offset is 0, else on a temporary file in o->tmpdir that is then
 * copied to fd at offset (and to copy_fd).
 *
 * place_rootfs (may be NULL) is called when the boot files are staged (s->boot_content is
 * known), before the squashfs is written: it may set fd, offset and max. place_copy (may be
 * NULL) is called when the squashfs and its tree are made (s->sqfs_size, s->slot_bytes
 * are known): it may set copy_fd and copy_offset. Either returns <0 to stop.
 */
struct aim_slot_sink {
	const char *dir;
	int fd;
	uint64_t offset, max;
	int copy_fd;
	uint64_t copy_offset;
	int (*place_rootfs)(struct aim_slot_sink *k, const struct aim_slot *s);
	int (*place_copy)(struct aim_slot_sink *k, const struct aim_slot *s);
	aim_convert_progress_fn progress; /* phases "squashfs", "slot B" */
	void *ud;                         /* for the callbacks */
	/* The slot's own files only (bundle create): a UEFI image's disk-wide boot files
	 * (GRUB's EFI binary, grub.cfg, bootcount.txt, the state) are not made. */
	int slot_files_only;
};

/* Builds the slot of the image in_path (analysed as ii) into k. ret->root_partuuid is
 * read; everything else in ret is set. */
int aim_slot_build(const char *in_path, const struct aim_image_info *ii,
		   const struct aim_convert_opts *o, struct aim_slot_sink *k, struct aim_slot *ret);

/* Without building anything (a dry run): the bytes of one slot's boot files, and the
 * squashfs size estimated from the root's used bytes. */
int aim_slot_estimate(const char *in_path, const struct aim_image_info *ii,
		      uint64_t *ret_boot_content, uint64_t *ret_sqfs);

#endif
