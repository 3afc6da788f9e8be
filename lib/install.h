/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Installing a signed bundle into the inactive slot of a target (the running device or an
 * image file), streaming: no second copy of the bundle anywhere.
 *
 * Order (each step power-safe; a cut anywhere leaves the old good slot booting):
 *   1. open the bundle: header, manifest, signature verified before anything else;
 *   2. checks, all before the first write: no two boot file names are one name on FAT,
 *      the slot state is valid, the target slot is not the booted one nor the fallback of
 *      a running trial, board/family/arch match the current slot's slot.env, no downgrade
 *      (unless allowed), the rootfs payload fits the slot partition;
 *   3. the target slot is marked bad in the state (so a half-written slot is never
 *      booted), and its /slot-X/ files (slot.env too) are removed;
 *   4. the payloads in stream order: the rootfs into the slot partition, the boot files
 *      to /slot-X/ (each committed only once its SHA-256 matched), fsync;
 *   5. the stream must end where the manifest says; /slot-X/slot.env (source=bundle);
 *   6. the slot is put on trial in the state.
 * aim_fault_point() follows every write and fsync made here (the target's writes and the
 * state store have their own).
 */
#ifndef AIM_INSTALL_H
#define AIM_INSTALL_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "delta.h"
#include "sign.h"
#include "target.h"

/* phase: "verify", "rootfs", "boot", "finish"; done/total: bytes of the bundle stream. */
typedef void (*aim_install_progress_fn)(void *ud, const char *phase, uint64_t done,
					uint64_t total);

struct aim_install_opts {
	const struct aim_pubkey *keys; /* trusted keys */
	size_t nkeys;
	int allow_downgrade;
	unsigned tries;   /* trial boots (1..AIM_SLOTSTATE_TRIES_MAX); 0: 3 */
	int64_t now;      /* installed= time; 0: time(NULL) */
	aim_install_progress_fn progress;
	void *progress_ud;
	/* A delta install (delta.h): the bundle is read through aim_delta_read() with this as
	 * ud; install plans it once it knows the slots, and skips writing the rootfs bytes
	 * the target slot already holds. NULL: a plain stream. */
	struct aim_delta *delta;
};

struct aim_install_result {
	char slot;             /* the slot written */
	char from_slot;        /* the slot running (device) or active (image) */
	char version[64];      /* the bundle's */
	char old_version[64];  /* the running slot's */
	uint64_t rootfs_bytes;
	unsigned boot_files;
	uint64_t bundle_bytes;
	char bundle_sha256[65]; /* of the manifest */
	unsigned tries;
	int rpi; /* Raspberry Pi: one try, started by `reboot '0 tryboot'` (docs/rpi.md) */
};

/*
 * Installs the bundle read through fn/ud into t. *ret (may be NULL) is filled on success.
 * Errors, each with a one-line detail: those of aim_bundle_open() (-EBADMSG not a bundle
 * or damaged, -EKEYREJECTED bad/missing signature or unknown key, -EOPNOTSUPP newer
 * format); -EMEDIUMTYPE wrong board/family/arch; -EPERM downgrade; -EFBIG payload larger
 * than the slot; -EBUSY target slot booted, the fallback of a trial, or its partition in
 * use; -ENOENT no valid slot state, no slot.env to check against, no rootfs payload;
 * -EBADMSG boot file names that collide on FAT (aim_install_check_boot_names) or the
 * stream ends early, -AIM_E_HASH a payload's SHA-256 differs (either way the slot stays
 * marked bad: the old slot keeps booting); I/O errors.
 */
int aim_install_run(struct aim_target *t, aim_bundle_read_fn fn, void *ud,
		    const struct aim_install_opts *o, struct aim_install_result *ret);

/*
 * The boot payloads become files under /slot-X/ of a FAT partition, which compares names
 * folded: ASCII letters without case (U-Boot, the Linux vfat driver, mtools), each path
 * component without its trailing dots (vfat) and spaces (other implementations); other
 * bytes compare exactly here.
 * Refused with -EBADMSG (the detail names both): two boot payloads that fold to the same
 * name; a file whose folded name is a directory of another; a component that folds to
 * nothing (only dots and spaces); and a name that folds onto one install treats by its
 * exact spelling but is spelled otherwise (slot.env, which install writes itself;
 * armbianEnv.txt, which it rewrites for the slot). 0 when the names are distinct on FAT;
 * -ENOMEM.
 */
int aim_install_check_boot_names(const struct aim_bundle_manifest *m);

/* dpkg's version order ([epoch:]upstream[-revision], '~' sorts first): <0, 0, >0. */
int aim_version_compare(const char *a, const char *b);

#endif
