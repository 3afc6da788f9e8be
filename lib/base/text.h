/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text that comes from outside (manifests, signature comments): UTF-8 validation, and
 * escaping for a terminal. UTF-8 as RFC 3629 section 3 (no overlong forms, no surrogates,
 * nothing above U+10FFFF). Control characters are C0 (U+0000-U+001F), DEL (U+007F) and C1
 * (U+0080-U+009F): a terminal acts on them (ESC and CSI sequences), so they are never
 * shown raw.
 */
#ifndef AIM_BASE_TEXT_H
#define AIM_BASE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The length (1-4) of the valid UTF-8 sequence that starts s[0..n) and its code point in
 * *ret_cp; 0 when the bytes there are not valid UTF-8 or n is 0 (*ret_cp untouched). */
size_t aim_text_utf8_next(const char *s, size_t n, uint32_t *ret_cp);

/* Nonzero for a control character (C0, DEL, C1). */
int aim_text_is_control(uint32_t cp);

/* Nonzero when s[0..n) is valid UTF-8 without control characters. */
int aim_text_valid(const char *s, size_t n);

/* s made safe to print on a terminal: valid UTF-8 without control characters as it is, a
 * backslash as "\\", a tab as "\t", every byte of another control character or of
 * invalid UTF-8 as "\xNN" (U+009B, CSI, is "\xc2\x9b"). Returns a new string (free()),
 * NULL when out of memory. */
char *aim_text_escape(const char *s);

#endif
