/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UTF-8 validation (RFC 3629 section 3) and terminal escaping of outside text. */
#include "base/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t aim_text_utf8_next(const char *s, size_t n, uint32_t *ret_cp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t v, min;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*ret_cp = p[0];
		return 1;
	}
	/* Not a lead byte: a continuation byte, 0xc0/0xc1 (always overlong), 0xf5-0xff. */
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	v = p[0] & (0x7fu >> len);
	min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*ret_cp = v;
	return len;
}

int aim_text_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int aim_text_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t l = aim_text_utf8_next(s + i, n - i, &cp);

		if (!l || aim_text_is_control(cp))
			return 0;
		i += l;
	}
	return 1;
}

char *aim_text_escape(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(4 * n + 1); /* at most "\xNN" per byte */

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t l = aim_text_utf8_next(s + i, n - i, &cp);

		if (l && !aim_text_is_control(cp) && cp != '\\') {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else if (l && (cp == '\\' || cp == '\t')) {
			out[o++] = '\\';
			out[o++] = cp == '\t' ? 't' : '\\';
			i++;
		} else {
			/* Each byte of the control character, or the one byte that is not UTF-8
			 * (the next one may start a valid sequence). */
			for (size_t k = 0; k < (l ? l : 1); k++)
				o += (size_t)sprintf(out + o, "\\x%02x", (unsigned char)s[i + k]);
			i += l ? l : 1;
		}
	}
	out[o] = 0;
	return out;
}
