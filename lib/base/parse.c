/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked number parsing. */
#include "base/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_prefix(const char *s, uint64_t *ret, const char **end)
{
	char *e;
	unsigned long long v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (e == s)
		return -EINVAL;
	*ret = v;
	*end = e;
	return 0;
}

int aim_parse_u64(const char *s, uint64_t *ret)
{
	const char *e;
	uint64_t v;
	int r = parse_prefix(s, &v, &e);

	if (r < 0)
		return r;
	if (*e)
		return -EINVAL;
	*ret = v;
	return 0;
}

int aim_parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	uint64_t v;
	int r = aim_parse_u64(s, &v);

	if (r < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

int aim_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	const char *e, *u;
	uint64_t v, mul = 1;
	int r = parse_prefix(s, &v, &e);

	if (r < 0)
		return r;
	if (*e) {
		u = strchr(units, toupper((unsigned char)*e));
		if (!u)
			return -EINVAL;
		for (const char *p = units; p <= u; p++)
			mul *= 1024;
		e++;
		if (!strcmp(e, "iB") || !strcmp(e, "B") || !strcmp(e, "ib"))
			e += strlen(e);
		if (*e)
			return -EINVAL;
	}
	if (__builtin_mul_overflow(v, mul, &v))
		return -ERANGE;
	*ret = v;
	return 0;
}
