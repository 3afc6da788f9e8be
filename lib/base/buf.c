// SPDX-License-Identifier: LGPL-2.1-or-later
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "endian.h"

int aim_buf_reserve(struct aim_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int aim_buf_put(struct aim_buf *b, const void *d, size_t n)
{
	int r = aim_buf_reserve(b, n + 1);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int aim_buf_str(struct aim_buf *b, const char *s)
{
	return aim_buf_put(b, s, strlen(s));
}

int aim_buf_zero(struct aim_buf *b, size_t n)
{
	int r = aim_buf_reserve(b, n + 1);

	if (r < 0)
		return r;
	memset(b->p + b->len, 0, n + 1);
	b->len += n;
	return 0;
}

int aim_buf_be32(struct aim_buf *b, uint32_t v)
{
	uint8_t x[4];

	aim_put_be32(x, v);
	return aim_buf_put(b, x, 4);
}

void aim_buf_free(struct aim_buf *b)
{
	free(b->p);
	*b = (struct aim_buf){ 0 };
}

bool aim_strv_has(const struct aim_strv *s, const char *str, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && !memcmp(s->v[i], str, len))
			return true;
	return false;
}

int aim_strv_add(struct aim_strv *s, const char *str, size_t len)
{
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(char *));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strndup(str, len);
	if (!s->v[s->n])
		return -ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

void aim_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
