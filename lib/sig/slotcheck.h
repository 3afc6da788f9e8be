/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The boot-time rule for a slot's /slot-X/slot.env (docs/boot.md "dm-verity and
 * corruption"), shared by aim-boot and the device CLI: with trusted keys (minisign .pub
 * files in keydir: the initramfs's /etc/armimmutable/keys, which convert fills) slot.env
 * must carry a valid signature (slot.env.minisig) by one of them and verity keys; without
 * keys, verity is used when slot.env has it, unsigned.
 */
#ifndef AIM_SIG_SLOTCHECK_H
#define AIM_SIG_SLOTCHECK_H

#include <stddef.h>

#include "base/dm.h"

#define AIM_SLOT_KEYS_MAX 16

/* dir/slot-X/slot.env and slot.env.minisig (malloc'd, NUL-terminated; NULL when
 * missing or unreadable). */
void aim_slot_read(const char *dir, char slot, char **senv, size_t *senv_len, char **ssig,
		   size_t *ssig_len);

/*
 * senv/ssig: slot.env and its signature (NULL: missing). Returns 1 verity (*ver filled),
 * 0 no verity (allowed: no keys), -1 refused: why[whysz] says why in one line. signer:
 * the key id that signed ("" unsigned).
 */
int aim_slot_check(const char *keydir, char slot, const char *senv, size_t senv_len,
		   const char *ssig, size_t ssig_len, struct aim_verity *ver, char signer[17],
		   char *why, size_t whysz);

#endif
