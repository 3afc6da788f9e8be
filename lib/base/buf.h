/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A growable byte buffer (always NUL-terminated past len once anything was put, so text
 * users get a C string for free) and a NULL-terminated list of strings. */
#ifndef AIM_BASE_BUF_H
#define AIM_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aim_buf {
	uint8_t *p;
	size_t len, cap;
};

/* Room for n more bytes; -ENOMEM. */
int aim_buf_reserve(struct aim_buf *b, size_t n);
int aim_buf_put(struct aim_buf *b, const void *d, size_t n);
int aim_buf_str(struct aim_buf *b, const char *s);
int aim_buf_zero(struct aim_buf *b, size_t n);
int aim_buf_be32(struct aim_buf *b, uint32_t v);
void aim_buf_free(struct aim_buf *b);

/* v[0..n) malloc'd strings, v[n] == NULL (v itself NULL while empty). */
struct aim_strv {
	char **v;
	size_t n, cap;
};

bool aim_strv_has(const struct aim_strv *s, const char *str, size_t len);
/* Appends a copy of str[0..len). */
int aim_strv_add(struct aim_strv *s, const char *str, size_t len);
/* Frees a NULL-terminated array of malloc'd strings (and the array). */
void aim_strv_free(char **v);

#endif
