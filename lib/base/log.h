/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Errors and messages. The library never prints: a function that fails returns -Exxx
 * and may leave a one-line detail with aim_error_set() ("GPT header CRC mismatch").
 * Tools print once, through aim_err(), which adds that detail.
 */
#ifndef AIM_BASE_LOG_H
#define AIM_BASE_LOG_H

#include <stdarg.h>

enum aim_log_level { AIM_LOG_QUIET = 0, AIM_LOG_NORMAL = 1, AIM_LOG_VERBOSE = 2 };

/* Set by the tool from -q/-v; the library only reads it for aim_debug(). */
extern int aim_log_level;

/* Library side: record what exactly was wrong, for the tool's one error line.
 * Returns r so that "return aim_error_set(-EBADMSG, ...)" reads naturally. */
int aim_error_set(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The detail recorded by the last failing call on this thread, or NULL. */
const char *aim_error_detail(void);
void aim_error_clear(void);

/* strerror(-r), with domain words for EBADMSG/EKEYREJECTED/EOPNOTSUPP. */
const char *aim_strerror(int r);

/* Tool side: "armimmutable: <msg>: <detail or strerror>" on stderr, returns r. */
int aim_err(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void aim_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void aim_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with AIM_DEBUG=1 in the environment or -v. */
void aim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
