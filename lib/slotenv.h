/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /slot-X/slot.env: what a slot holds (docs/device-cli.md), key=value lines. The one
 * writer and the one reader: convert stages it, install and the target read and write it.
 */
#ifndef AIM_SLOTENV_H
#define AIM_SLOTENV_H

#include <stddef.h>
#include <stdint.h>

#define AIM_SLOT_ENV "slot.env"

struct aim_slot_info {
	char version[64];
	char board[64];
	char family[64];
	char arch[32];
	char source[16]; /* convert | bundle */
	uint64_t rootfs_size;
	char rootfs_sha256[65];
	int64_t installed; /* unix time, 0 unknown */
	char bundle[65];   /* manifest sha256, or empty */
};

/* Pure: parses slot.env text. -EBADMSG for a line without '=' or a bad number (the
 * detail names the line). Unknown keys are ignored; too long values are -EBADMSG. */
int aim_slot_info_parse(const char *buf, size_t len, struct aim_slot_info *ret);
/* Pure: formats into a malloc'ed string; returns its length. -EINVAL for a value with a
 * newline. */
int aim_slot_info_format(const struct aim_slot_info *si, char **ret);

#endif
