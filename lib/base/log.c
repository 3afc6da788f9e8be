/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error detail recording (library side) and the single message helper (tool side). */
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aim_log_level = AIM_LOG_NORMAL;

static __thread char detail[512];
static __thread int have_detail, detail_code;

int aim_error_set(int r, const char *fmt, ...)
{
	char buf[sizeof(detail)];
	va_list ap;

	/* Through a copy: callers may pass aim_error_detail() itself to add a prefix. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(detail, buf, sizeof(detail));
	have_detail = 1;
	detail_code = r;
	return r;
}

const char *aim_error_detail(void)
{
	return have_detail ? detail : NULL;
}

int aim_error_code(void)
{
	return have_detail ? detail_code : 0;
}

const char *aim_error_detail_for(int r)
{
	return have_detail && detail_code == r ? detail : NULL;
}

const char *aim_error_text(int r)
{
	const char *d = aim_error_detail_for(r);

	return d ? d : aim_strerror(r);
}

void aim_error_clear(void)
{
	have_detail = 0;
	detail_code = 0;
}

const char *aim_strerror(int r)
{
	switch (-r) {
	case EBADMSG:
		return "malformed or corrupt data";
	case EKEYREJECTED:
		return "authenticity check failed";
	case EOPNOTSUPP:
		return "not supported";
	case AIM_E_USAGE:
		return "usage error";
	case AIM_E_HASH:
		return "SHA-256 mismatch";
	default:
		return strerror(r < 0 ? -r : r);
	}
}

int aim_err(int r, const char *fmt, ...)
{
	va_list ap;
	fputs("armimmutable: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", aim_error_text(r));
	aim_error_clear();
	return r;
}

/* One message line on stderr: the prefix (may be empty), the text, a newline. */
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void aim_warn(const char *fmt, ...)
{
	va_list ap;

	if (aim_log_level < AIM_LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vmsg("armimmutable: warning: ", fmt, ap);
	va_end(ap);
}

void aim_info(const char *fmt, ...)
{
	va_list ap;

	if (aim_log_level < AIM_LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void aim_debug(const char *fmt, ...)
{
	static int env = -1;
	va_list ap;

	if (env < 0) {
		const char *e = getenv("AIM_DEBUG");
		env = e && *e && strcmp(e, "0") != 0;
	}
	if (!env && aim_log_level < AIM_LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vmsg("armimmutable: debug: ", fmt, ap);
	va_end(ap);
}
