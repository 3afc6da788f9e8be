/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UTF-8 validation of outside text (RFC 3629 section 3). */
#include "util/text.h"

#include <stdint.h>

/* The length of the valid UTF-8 sequence at p (1-4) and its code point, 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *ret_cp)
{
	uint32_t v, min;
	size_t len;

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

static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int aim_text_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t l = utf8_seq(p + i, n - i, &cp);

		if (!l || is_control(cp))
			return 0;
		i += l;
	}
	return 1;
}
