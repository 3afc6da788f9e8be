/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raspberry Pi (shape E): the firmware's own A/B switch (docs/rpi.md). A converted image is
 * GPT with the usual numbers (1 the FAT partition with the state, 2/3 the root slots, 4
 * data) and two more FAT partitions, 5 and 6, that the firmware boots: slot a's and slot
 * b's config.txt, cmdline.txt, kernel, initramfs, device trees and overlays. Partition 1
 * holds autoboot.txt, which names the slot to boot under [all] and the slot of a one-time
 * `reboot '0 tryboot'` under [tryboot] (tryboot_a_b=1: each partition's own config.txt).
 *
 * The slot state record (state-1/2.txt, docs/boot.md) stays the authority; autoboot.txt
 * follows it: aim_rpi_autoboot() is a pure function of the state. Unproven on hardware:
 * the firmware cannot run under QEMU.
 */
#ifndef AIM_RPI_H
#define AIM_RPI_H

#include <stddef.h>
#include <stdint.h>

#include "base/autoboot.h"
#include "base/slotstate.h"

struct aim_target;

#define AIM_RPI_CMDLINE "cmdline.txt"
#define AIM_RPI_CONFIG "config.txt"

/* The slot's cmdline.txt from the image's (one line): root= becomes root=PARTUUID=<uuid>
 * and rootfstype= rootfstype=squashfs in place (added when missing; rootflags= and a
 * second root= dropped), panic=10 unless a panic= is there, armimmutable.slot=X last (an
 * old one dropped). Every other word stays as it was. -EINVAL for an empty line, more
 * than one line of text, or an unterminated double quote. */
int aim_rpi_rewrite_cmdline(const char *in, char slot, const char *partuuid, char **ret);

/* Whether a path under /slot-X/ of a target lives on the slot's own boot partition (5 or
 * 6): every boot file but slot.env, its signature and install.env, which stay on
 * partition 1 where aim-boot and status read them. */
int aim_rpi_on_slot_part(const char *name);

/* autoboot.txt on the target rewritten for st when it differs (power-safe write:
 * aim_target_write_file). 0 unchanged, 1 written; no-op (0) on a target without
 * autoboot.txt (not a Raspberry Pi image). */
int aim_rpi_sync(struct aim_target *t, const struct aim_slotstate *st);

/* Partition 1 of a converted image: FAT32 with enough clusters that no loader takes it
 * for FAT16 (docs/rpi.md, rpi-eeprom#818). */
#define AIM_RPI_P1_SIZE (64ULL << 20)

/* The converted image's GPT into fd (disk of disk_size bytes): partitions 1-4 at
 * starts/sizes with uuids and names, 5 and 6 (basic data, "boot_a", "boot_b") at
 * rpi_start[0..1] of rpi_size bytes with rpi_uuid. Partition 1, 5 and 6 are Microsoft
 * basic data, 2-4 Linux data. */
int aim_rpi_table(int fd, uint64_t disk_size, const char *disk_id, const uint64_t starts[4],
		  const uint64_t sizes[4], const char uuids[4][37], const char *const names[4],
		  const uint64_t rpi_start[2], uint64_t rpi_size, const char rpi_uuid[2][37]);

/* Convert's staging: every file of stage/slot-X but slot.env (and its signature) moves to
 * dest (created; directories stamped with epoch), the slot's boot partition's contents. */
int aim_rpi_split_stage(const char *stage, char slot, const char *dest, uint32_t epoch);

/* The boot chain of a converted Raspberry Pi image in convert's staging: each slot's
 * cmdline.txt rewritten (aim_rpi_rewrite_cmdline, uuids[0] for a, [1] for b; nslots 1
 * when slot b is empty), config.txt checked present, the two state copies and autoboot.txt
 * for the initial state at the top. */
int aim_rpi_boot_chain(const char *stage, int nslots, const char uuids[2][37], uint32_t epoch);

/* 1 when the target boots through the Raspberry Pi firmware (autoboot.txt on partition 1). */
int aim_rpi_target(struct aim_target *t);

#endif
