/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tiny streaming JSON writer: objects, arrays, escaped strings, integers, booleans. */
#ifndef AIM_BASE_JSON_H
#define AIM_BASE_JSON_H

#include <stdint.h>
#include <stdio.h>

struct aim_json {
	FILE *f;
	int depth;
	int first[32]; /* per depth: no member written yet */
	int pretty;
};

void aim_json_init(struct aim_json *j, FILE *f, int pretty);
/* key may be NULL inside arrays. */
void aim_json_obj_begin(struct aim_json *j, const char *key);
void aim_json_obj_end(struct aim_json *j);
void aim_json_arr_begin(struct aim_json *j, const char *key);
void aim_json_arr_end(struct aim_json *j);
void aim_json_str(struct aim_json *j, const char *key, const char *val); /* NULL -> null */
void aim_json_u64(struct aim_json *j, const char *key, uint64_t val);
void aim_json_i64(struct aim_json *j, const char *key, int64_t val);
void aim_json_bool(struct aim_json *j, const char *key, int val);
/* Ends the document with a newline. */
void aim_json_end(struct aim_json *j);

#endif
