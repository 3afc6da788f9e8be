/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/base/log.c: the error detail is stored with its code, and aim_err() prints it only
 * for that code (a stale detail of an earlier failure is left out of a later one); the
 * codes beyond errno (AIM_E_USAGE, AIM_E_HASH) have their own words.
 */
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

/* What aim_err(r, "what") writes on stderr, without the newline. */
static char *err_line(int r)
{
	static char buf[1024];
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	is_int(aim_err(r, "what"), r, "aim_err returns its code (%d)", r);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return buf;
}

static void test_code(void)
{
	aim_error_clear();
	ok(!aim_error_detail() && aim_error_code() == 0, "nothing recorded at first");
	is_int(aim_error_set(-EBADMSG, "bad %s", "table"), -EBADMSG, "aim_error_set returns r");
	is_str(aim_error_detail(), "bad table", "the detail");
	is_int(aim_error_code(), -EBADMSG, "stored with its code");
	is_str(aim_error_detail_for(-EBADMSG), "bad table", "detail_for: the same code");
	ok(!aim_error_detail_for(-EIO), "detail_for: another code gives NULL");
	ok(!aim_error_detail_for(0), "detail_for: 0 gives NULL");
	aim_error_set(-EIO, "%s: read failed", aim_error_detail());
	is_str(aim_error_detail(), "bad table: read failed", "a prefix from the detail itself");
	is_int(aim_error_code(), -EIO, "the code follows the last detail");
	aim_error_clear();
	ok(!aim_error_detail() && !aim_error_detail_for(-EIO) && aim_error_code() == 0,
	   "cleared: no detail, no code");
}

static void test_err(void)
{
	aim_error_clear();
	aim_error_set(-EBADMSG, "GPT header CRC mismatch");
	is_str(err_line(-EBADMSG), "armimmutable: what: GPT header CRC mismatch",
	       "the detail for its own code");
	ok(!aim_error_detail(), "aim_err clears the detail");
	aim_error_set(-EBADMSG, "stale detail of an earlier failure");
	is_str(err_line(-ENOSPC), "armimmutable: what: No space left on device",
	       "a detail of another code is not printed");
	ok(!aim_error_detail(), "and is cleared too");
	is_str(err_line(-EBADMSG), "armimmutable: what: malformed or corrupt data",
	       "no detail: the code's words");
	aim_error_set(-AIM_E_HASH, "payload 'x': SHA-256 differs");
	is_str(err_line(-AIM_E_HASH), "armimmutable: what: payload 'x': SHA-256 differs",
	       "AIM_E_HASH with its detail");
	is_str(err_line(-AIM_E_HASH), "armimmutable: what: SHA-256 mismatch",
	       "AIM_E_HASH without one");
	is_str(aim_strerror(-AIM_E_USAGE), "usage error", "AIM_E_USAGE has words");
	ok(AIM_E_USAGE > 4095 && AIM_E_HASH > 4095, "the codes are clear of errno");
	is_str(aim_strerror(-EINVAL), "Invalid argument", "-EINVAL is strerror's");
}

int main(void)
{
	test_code();
	test_err();
	return done_testing();
}
