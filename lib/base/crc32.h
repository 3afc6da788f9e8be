/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one CRC-32 of the tree: GPT headers and arrays, the slot state record, U-Boot image
 * headers. libc only (the static initramfs helper links it). */
#ifndef AIM_BASE_CRC32_H
#define AIM_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3, as zlib's crc32()), continuing from crc (start with 0). */
uint32_t aim_crc32(uint32_t crc, const void *buf, size_t len);

#endif
