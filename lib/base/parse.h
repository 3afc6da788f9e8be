/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked number parsing for options and text files: no strtol/atoi elsewhere. */
#ifndef AIM_BASE_PARSE_H
#define AIM_BASE_PARSE_H

#include <stdint.h>

/* Decimal (or 0x hex) unsigned integer, whole string. -EINVAL or -ERANGE. */
int aim_parse_u64(const char *s, uint64_t *ret);
int aim_parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret);
/* A size with optional K/M/G/T suffix (powers of 1024, optional "iB"/"B"). */
int aim_parse_size(const char *s, uint64_t *ret);

#endif
