/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tiny streaming JSON writer (RFC 8259 string escaping, UTF-8 output). */
#include "base/json.h"

#include <inttypes.h>
#include <string.h>

#include "base/text.h"

void aim_json_init(struct aim_json *j, FILE *f, int pretty)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = 1;
	j->pretty = pretty;
}

/* JSON text is UTF-8 (RFC 8259 section 8.1): a byte that is not UTF-8 becomes U+FFFD.
 * Control characters, C1 included (a terminal acts on them), are escaped. */
static void put_escaped(FILE *f, const char *s)
{
	size_t n = strlen(s);

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t l = aim_text_utf8_next(s + i, n - i, &cp);

		if (!l) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (aim_text_is_control(cp))
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(s + i, 1, l, f);
		}
		i += l;
	}
	fputc('"', f);
}

static void member(struct aim_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		if (j->pretty) {
			fputc('\n', j->f);
			for (int i = 0; i < j->depth; i++)
				fputs("  ", j->f);
		}
	}
	j->first[j->depth] = 0;
	if (key) {
		put_escaped(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_(struct aim_json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = 1;
}

static void close_(struct aim_json *j, char c)
{
	int empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (j->pretty && !empty) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
}

void aim_json_obj_begin(struct aim_json *j, const char *key)
{
	open_(j, key, '{');
}

void aim_json_obj_end(struct aim_json *j)
{
	close_(j, '}');
}

void aim_json_arr_begin(struct aim_json *j, const char *key)
{
	open_(j, key, '[');
}

void aim_json_arr_end(struct aim_json *j)
{
	close_(j, ']');
}

void aim_json_str(struct aim_json *j, const char *key, const char *val)
{
	member(j, key);
	if (val)
		put_escaped(j->f, val);
	else
		fputs("null", j->f);
}

void aim_json_u64(struct aim_json *j, const char *key, uint64_t val)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void aim_json_i64(struct aim_json *j, const char *key, int64_t val)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void aim_json_bool(struct aim_json *j, const char *key, int val)
{
	member(j, key);
	fputs(val ? "true" : "false", j->f);
}

void aim_json_end(struct aim_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
