/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text that comes from outside (manifests, signature comments): UTF-8 validation. UTF-8 as
 * RFC 3629 section 3 (no overlong forms, no surrogates, nothing above U+10FFFF). Control
 * characters are C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F).
 */
#ifndef AIM_UTIL_TEXT_H
#define AIM_UTIL_TEXT_H

#include <stddef.h>

/* Nonzero when s[0..n) is valid UTF-8 without control characters. */
int aim_text_valid(const char *s, size_t n);

#endif
