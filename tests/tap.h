/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small TAP producer for the unit tests: ok(), is_int(), is_str(), done_testing(). */
#ifndef AIM_TESTS_TAP_H
#define AIM_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long _g = (long long)(got), _w = (long long)(want);                           \
		if (!tap_ok(_g == _w, __FILE__, __LINE__, __VA_ARGS__))                            \
			printf("#   got %lld, want %lld\n", _g, _w);                                   \
	} while (0)
#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *_g = (got), *_w = (want);                                              \
		if (!tap_ok(_g && _w && !strcmp(_g, _w), __FILE__, __LINE__, __VA_ARGS__))         \
			printf("#   got '%s', want '%s'\n", _g ? _g : "(null)",                        \
			       _w ? _w : "(null)");                                                \
	} while (0)

__attribute__((format(printf, 4, 5))) static inline int tap_ok(int pass, const char *file,
							     int line, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_fail++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif
