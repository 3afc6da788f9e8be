/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * autoboot.txt of a converted Raspberry Pi image (docs/rpi.md): the Raspberry Pi
 * firmware boots partition 5 (slot a) or 6 (slot b), the one under [all] normally and the
 * one under [tryboot] after `reboot '0 tryboot'`. It follows the slot state: a pure
 * function of the record, and a power-safe store next to the state copies. libc only:
 * aim-boot links it.
 */
#ifndef AIM_BASE_AUTOBOOT_H
#define AIM_BASE_AUTOBOOT_H

#include <stddef.h>

#include "base/slotstate.h"

#define AIM_RPI_AUTOBOOT "/autoboot.txt"
#define AIM_RPI_AUTOBOOT_MAX 512 /* the firmware reads at most 512 bytes */
#define AIM_RPI_PART_A 5
#define AIM_RPI_PART_B 6
#define AIM_RPI_PART(slot) ((slot) == 'b' ? AIM_RPI_PART_B : AIM_RPI_PART_A)

/* The slots autoboot.txt names for st: *ret_all the slot a normal boot takes (the active
 * slot), *ret_try the slot of a tryboot reboot (the slot on trial while it has tries
 * left, else the active slot: a stray tryboot reboot boots the same good slot). */
void aim_rpi_autoboot_slots(const struct aim_slotstate *st, char *ret_all, char *ret_try);

/* autoboot.txt for st into buf (at least AIM_RPI_AUTOBOOT_MAX bytes). Returns the length. */
int aim_rpi_autoboot(const struct aim_slotstate *st, char *buf, size_t n);

/* The boot_partition numbers under [all] and [tryboot] of an autoboot.txt (0 when a
 * section has none). -EBADMSG for text longer than 512 bytes or without tryboot_a_b=1. */
int aim_rpi_autoboot_parse(const char *buf, size_t len, unsigned *ret_all, unsigned *ret_try);

/* Rewrites dir/autoboot.txt for st when it exists and differs: temp file, fsync, rename,
 * fsync(dir), a fault point after each. 0 unchanged or absent (not a Raspberry Pi image),
 * 1 written, <0 errno. */
int aim_rpi_autoboot_store(const char *dir, const struct aim_slotstate *st);

#endif
