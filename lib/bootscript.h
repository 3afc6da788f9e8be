/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The A/B U-Boot boot script (docs/boot.md): the image's own boot.cmd, unchanged, after
 * a preamble that reads the slot state, picks and counts the slot and sets
 * prefix=/slot-<x>/; the per-slot armbianEnv.txt; and the legacy script image (boot.scr)
 * exactly as `mkimage -C none -A arm -T script` makes it.
 */
#ifndef AIM_BOOTSCRIPT_H
#define AIM_BOOTSCRIPT_H

#include <stddef.h>
#include <stdint.h>

struct aim_bootscript_opts {
	/* Scratch RAM for the state files; NULL: ${kernel_addr_r}, else ${loadaddr},
	 * else ${load_addr} (all free before the original body loads the kernel). */
	const char *scratch_addr;
	int no_count; /* 1: never fatwrite bootcount.txt (the initramfs helper counts alone) */
};

/* Generates the A/B boot.cmd from the image's boot.cmd text into *ret (malloc'd,
 * NUL-terminated). -EINVAL (with aim_error_set detail) when the script does not load its
 * files through ${prefix}, so that a slot prefix could not take effect. */
int aim_bootscript_generate(const char *orig, const struct aim_bootscript_opts *o, char **ret);

/* The per-slot armbianEnv.txt: rootdev=PARTUUID=<partuuid>, rootfstype=squashfs, and
 * armimmutable.slot=<slot> appended to extraargs (any earlier armimmutable.slot= token
 * dropped); missing keys are appended, every other line is kept byte for byte.
 * orig may be NULL (no armbianEnv.txt in the image). *ret is malloc'd. */
int aim_bootscript_rewrite_env(const char *orig, char slot, const char *partuuid, char **ret);

/* A legacy uImage script: 64-byte header (IH_OS_LINUX, IH_ARCH_ARM, IH_TYPE_SCRIPT,
 * IH_COMP_NONE, time = epoch, name = name or empty), then the image list (BE length of
 * text, 0) and text. Byte-identical to mkimage -C none -A arm -T script [-n name] -d
 * with SOURCE_DATE_EPOCH=epoch. *ret_buf is malloc'd. */
int aim_bootscript_compile(const char *text, size_t len, uint32_t epoch, const char *name,
			   uint8_t **ret_buf, size_t *ret_len);

/* Whether text[0, len) names the boot file name as a whole word (what boot scripts,
 * armbianEnv.txt and extlinux.conf load: "${prefix}Image", "/Image", "uInitrd"): an
 * occurrence not inside a longer name ("zImage", "uInitrd-6.1") counts. Binary text (a
 * boot.scr) may be given: its script is stored uncompressed. 1 or 0. */
int aim_bootscript_references(const char *text, size_t len, const char *name);

/* Which names of a slot's boot files stay when some of them hold the same bytes (FAT has
 * no symlinks: /boot's "Image -> vmlinuz-6.1" became two copies). refs (len bytes; NULL:
 * unknown) is what loads them: the boot script, armbianEnv.txt, extlinux.conf. For a group
 * of names of one file: the names refs references stay; when it references none of them,
 * keep (may be NULL) says which one stays (the real file of a symlinked alias), else the
 * first of the group. Without refs every name stays. Returns 1 when name goes. */
int aim_bootscript_drop_dup(const char *refs, size_t len, const char *name,
			    const char *const *group, size_t n, const char *keep);

#endif
