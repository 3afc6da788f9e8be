/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/base/text.c: UTF-8 validation (RFC 3629 section 3: overlong forms, surrogates, above
 * U+10FFFF, truncated sequences) and the terminal escaping of text from a bundle: ESC, C1
 * controls raw and UTF-8 encoded, DEL, tab and backslash escaped, other UTF-8 as it is;
 * and lib/base/json.c's strings (C1 escaped, bytes that are not UTF-8 become U+FFFD).
 */
#include "base/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "base/json.h"

static void esc(const char *in, const char *want, const char *what)
{
	char *got = aim_text_escape(in);

	is_str(got, want, "escape: %s", what);
	free(got);
}

static void test_valid(void)
{
	ok(aim_text_valid("", 0), "empty is valid");
	ok(aim_text_valid("plain 1.0-rc2 ~!", 16), "printable ASCII");
	ok(aim_text_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
	   "2, 3 and 4 byte sequences");
	ok(aim_text_valid("\xc2\xa0", 2), "U+00A0, the first code point after C1");
	ok(aim_text_valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
	ok(!aim_text_valid("a\x1b[2J", 5), "ESC refused");
	ok(!aim_text_valid("a\tb", 3), "tab refused");
	ok(!aim_text_valid("\x7f", 1), "DEL refused");
	ok(!aim_text_valid("\x9b", 1), "a raw C1 byte refused (not UTF-8)");
	ok(!aim_text_valid("\xc2\x80", 2), "U+0080 refused (C1)");
	ok(!aim_text_valid("\xc2\x9f", 2), "U+009F refused (C1)");
	ok(!aim_text_valid("\xc0\x80", 2), "overlong NUL refused");
	ok(!aim_text_valid("\xe0\x9f\xbf", 3), "overlong 3-byte form refused");
	ok(!aim_text_valid("\xf0\x8f\xbf\xbf", 4), "overlong 4-byte form refused");
	ok(!aim_text_valid("\xed\xa0\x80", 3), "surrogate U+D800 refused");
	ok(!aim_text_valid("\xf4\x90\x80\x80", 4), "U+110000 refused");
	ok(!aim_text_valid("\xe2\x82", 2), "truncated sequence refused");
	ok(!aim_text_valid("\xe2\x82\x41", 3), "sequence broken by ASCII refused");
	ok(!aim_text_valid("a\0b", 3), "NUL refused");
}

static void test_escape(void)
{
	esc("25.5.1 orangepi5", "25.5.1 orangepi5", "plain text unchanged");
	esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "UTF-8 unchanged");
	esc("a\x1b[2Jb", "a\\x1b[2Jb", "ESC");
	esc("a\x9b" "31mb", "a\\x9b31mb", "a raw C1 byte (CSI)");
	esc("a\xc2\x9b" "31mb", "a\\xc2\\x9b31mb", "U+009B encoded (CSI)");
	esc("\xc2\x85\xc2\x80\xc2\x9f", "\\xc2\\x85\\xc2\\x80\\xc2\\x9f", "C1 range U+0080-U+009F");
	esc("a\x7f", "a\\x7f", "DEL");
	esc("a\rb\nc", "a\\x0db\\x0ac", "CR and LF");
	esc("k:1\tv:2", "k:1\\tv:2", "tab");
	esc("a\\x1b", "a\\\\x1b", "a backslash (so an escape cannot be faked)");
	esc("\xff\xfe" "ok", "\\xff\\xfeok", "bytes that are not UTF-8");
	esc("\xe2\x82" "A", "\\xe2\\x82A", "a truncated sequence: each byte, then what follows");
	esc("\xed\xa0\x80", "\\xed\\xa0\\x80", "a surrogate");
	esc("x\xe2\x82", "x\\xe2\\x82", "a truncated sequence at the end");
	esc("", "", "empty");
}

static void test_json(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct aim_json j;

	if (!f) {
		ok(0, "open_memstream");
		return;
	}
	aim_json_init(&j, f, 0);
	aim_json_obj_begin(&j, NULL);
	aim_json_str(&j, "a", "x\xc2\x9by\x9bz\x1b\t\"\\\xc3\xa9");
	aim_json_obj_end(&j);
	aim_json_end(&j);
	fclose(f);
	is_str(buf, "{\"a\":\"x\\u009by\\ufffdz\\u001b\\t\\\"\\\\\xc3\xa9\"}\n",
	       "JSON: U+009B escaped, a raw byte becomes U+FFFD, UTF-8 kept");
	free(buf);
}

int main(void)
{
	test_valid();
	test_escape();
	test_json();
	return done_testing();
}
