/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Errors and messages. The library never prints: a function that fails returns -Exxx
 * and may leave a one-line detail with aim_error_set() ("GPT header CRC mismatch"),
 * stored with that code. Tools print once, through aim_err(), which adds the detail
 * when it was recorded for the code being reported (a stale one is left out).
 */
#ifndef AIM_BASE_LOG_H
#define AIM_BASE_LOG_H

#include <stdarg.h>

/* Error codes beyond errno, returned negated as those are ("return -AIM_E_HASH"). */
enum {
	/* A usage error (exit status 2): only a tool's argument checks return it, never
	 * the library, whose -EINVAL is a failure like any other. */
	AIM_E_USAGE = 4096,
	/* Data does not match the SHA-256 it was signed with (a bundle's payload). */
	AIM_E_HASH,
};

enum aim_log_level { AIM_LOG_QUIET = 0, AIM_LOG_NORMAL = 1, AIM_LOG_VERBOSE = 2 };

/* Set by the tool from -q/-v; the library only reads it for aim_debug(). */
extern int aim_log_level;

/* Library side: record what exactly was wrong, for the tool's one error line, together
 * with the code r it explains. Returns r so that "return aim_error_set(-EBADMSG, ...)"
 * reads naturally. */
int aim_error_set(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The detail recorded by the last failing call on this thread, or NULL. */
const char *aim_error_detail(void);
/* The code that detail was recorded with (0: none recorded). */
int aim_error_code(void);
/* The detail only when it was recorded for the code r, else NULL. */
const char *aim_error_detail_for(int r);
/* That detail, else aim_strerror(r): the text that explains r. */
const char *aim_error_text(int r);
void aim_error_clear(void);

/* strerror(-r), with domain words for EBADMSG/EKEYREJECTED/EOPNOTSUPP and the AIM_E_
 * codes. */
const char *aim_strerror(int r);

/* Tool side: "armimmutable: <msg>: <detail or strerror>" on stderr, returns r; the
 * detail only when it was recorded for r. Clears the detail. */
int aim_err(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void aim_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void aim_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with AIM_DEBUG=1 in the environment or -v. */
void aim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
