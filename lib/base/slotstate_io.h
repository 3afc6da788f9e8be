/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Slot state files in a directory (the mounted boot partition, or a staging dir). */
#ifndef AIM_BASE_SLOTSTATE_IO_H
#define AIM_BASE_SLOTSTATE_IO_H

#include "base/slotstate.h"

#define AIM_STATE_FILE_1 "state-1.txt"
#define AIM_STATE_FILE_2 "state-2.txt"
#define AIM_BOOTCOUNT_FILE "bootcount.txt"

/* Reads state-1.txt and state-2.txt in dir, takes the newest valid copy (see
 * aim_slotstate_pick) and applies bootcount.txt if present. A copy that cannot be read
 * (-EIO, a directory in its place) counts as an invalid copy: the other one decides.
 * When neither is valid: the read error of a copy that exists but cannot be read, else
 * -ENOENT (st->reason says why; st->grubenv = 1 when a copy or bootcount.txt carries
 * GRUB's signature: a fresh state must keep that flavour, see aim_slotstate_init). */
int aim_slotstate_load(const char *dir, struct aim_slotstate *st, int *ret_copy);

/* Writes st as copy 1 or 2: a temporary file, fsync, rename, fsync of dir. The other
 * copy is untouched, so a power cut leaves at least one valid copy. A directory in the
 * place of the copy (unreadable, so invalid) is removed before the rename. */
int aim_slotstate_store(const char *dir, const struct aim_slotstate *st, int copy);

/* GRUB images: GRUB counts with save_env, which rewrites bootcount.txt in place and
 * gives up on a file that is not a whole environment block (a torn write, a lost file).
 * When dir's bootcount.txt is not aim_slotstate_grub_bootcount_ok, writes a fresh one
 * (aim_bc=0, aim_bc_seq=0: the same count as an unreadable file) with a temporary file,
 * fsync, rename. Returns 1 when it wrote, 0 when the file was fine, or -errno. */
int aim_slotstate_grub_bootcount_repair(const char *dir);

#endif
