/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to lib/base/ptable*.c: on-disk constants and the helpers reading and writing
 * share. */
#ifndef AIM_BASE_PTABLE_INT_H
#define AIM_BASE_PTABLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/ptable.h"

#define MBR_SIZE 512
#define MBR_DISK_ID 440
#define MBR_ENTRIES 446
#define MBR_ENTRY_SIZE 16
#define MBR_SIG 510
#define MBR_TYPE_PROTECTIVE 0xee

#define GPT_HEADER_SIZE 92
#define GPT_REVISION 0x00010000u
#define GPT_ENTRY_MIN 128
#define GPT_ENTRY_MAX 4096
#define GPT_ARRAY_MAX (1024 * 1024) /* bytes; the standard array is 16 KiB */
#define GPT_NAME_UNITS 36
#define GPT_ATTR_LEGACY_BOOT (1ull << 2)

extern const uint8_t aim_gpt_magic[8];

void aim_guid_to_str(const uint8_t *g, char out[37]);
/* value of a hex digit, -1 for anything else */
int aim_hexval(char c);
int aim_guid_from_str(const char *s, uint8_t g[16]);
int aim_guid_is_zero(const uint8_t *g);
int aim_gpt_name_to_utf16(const char *s, uint8_t *p);
int aim_ptable_check_overlaps(const struct aim_ptable *pt);
int aim_mbr_type_extended(uint8_t t);
uint64_t aim_gpt_array_sectors(uint32_t nentries, uint32_t entry_size, uint32_t ss);

#endif
