/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The boot files of a conversion, staged in a directory (stage/slot-a, stage/slot-b)
 * before they go into the FAT boot partition: the original /boot once per slot, and
 * every initramfs with aim-boot, our local-bottom script and the squashfs and overlay
 * modules appended. Nothing here depends on the slot, so nothing is built twice: slot
 * B's files are hard links to slot A's, the archive appended to one initramfs payload is
 * built once, and each distinct file is patched once for all its names.
 */
#ifndef AIM_BOOTFILES_H
#define AIM_BOOTFILES_H

#include <stdint.h>

#include "convert.h"
#include "base/buf.h"
#include "tree.h"

struct aim_seckey;

/* The names at the top of bt (/boot) that are one file with another name there (a symlink
 * and its target: Image -> vmlinuz-6.1, uInitrd -> uInitrd-6.1) and that the boot chain
 * does not load (aim_bootscript_drop_dup: the names boot.cmd/boot.scr, armbianEnv.txt,
 * extlinux.conf ... reference stay; when they reference none, the target stays). FAT has
 * no symlinks: these would be extra copies. Added to *ret; *ret_bytes their sizes. */
int aim_bootfiles_dups(const struct aim_tree *bt, struct aim_strv *ret, uint64_t *ret_bytes);

/* bt's tree (symlinks dereferenced: FAT has none) into stage/slot-a without the names of
 * aim_bootfiles_dups(), and with slot_b the same names into stage/slot-b. *ret_content
 * grows by the bytes of every slot. */
int aim_bootfiles_stage(const struct aim_tree *bt, const char *stage, int slot_b,
			uint64_t *ret_content);

/* Patches every uInitrd* / initrd.img* of the staged slots (docs/initrd.md): t is the
 * root tree (modules.dep, the modules), bt the boot tree (which kernel a plain
 * "uInitrd" link belongs to; may be NULL), helper the arch's static aim-boot, the
 * local-bottom script from o->hooks_dir; every file gets mtime epoch. verity: the slots
 * have a hash tree (the dm modules go in only then). With a signer, the
 * root's trusted keys and the signer's public key go in too, which makes aim-boot refuse
 * every slot.env that is not signed or has no verity keys: only for slots convert signs
 * with verity on. -ENOENT when there is no initramfs at all. */
int aim_bootfiles_patch_initrds(const struct aim_tree *t, const struct aim_tree *bt,
				const struct aim_image_info *ii, const struct aim_convert_opts *o,
				const char *stage, const char *helper, int verity,
				const struct aim_seckey *signer, uint32_t epoch);

#endif
