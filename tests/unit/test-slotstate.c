// SPDX-License-Identifier: LGPL-2.1-or-later
/* Slot state record: format/parse round trip, strict rejection, newest-copy pick, seq
 * wrap, boot decisions (trial, U-Boot counts, exhausted tries -> fallback), file I/O. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slotstate.h"
#include "tap.h"

static char sbuf[AIM_SLOTSTATE_MAX];

static const char *fmt(const struct aim_slotstate *st)
{
	if (aim_slotstate_format(st, sbuf) < 0)
		return NULL;
	return sbuf;
}

/* Replaces the first occurrence of from by to in a formatted record, then fixes the
 * CRC if fixcrc (so that field checks, not the CRC, must catch it). */
static size_t mutate(const char *in, const char *from, const char *to, int fixcrc, char *out)
{
	const char *p = strstr(in, from);
	size_t n;
	char *c;

	if (!p)
		return 0;
	n = (size_t)(p - in);
	memcpy(out, in, n);
	strcpy(out + n, to);
	strcat(out, p + strlen(from));
	if (fixcrc && (c = strstr(out, "aim_crc="))) {
		size_t pre = (size_t)(c - out);

		sprintf(c, "aim_crc=%08x\n", (unsigned)aim_slotstate_crc32(0, out, pre));
	}
	return strlen(out);
}

static void test_roundtrip(void)
{
	struct aim_slotstate st, back;
	int n;

	aim_slotstate_init(&st);
	n = aim_slotstate_format(&st, sbuf);
	ok(n > 0 && (size_t)n == strlen(sbuf), "format returns the length");
	ok(strstr(sbuf, "aim_seq=1\naim_active=a\naim_try=\n") == sbuf, "initial record text");
	ok(strstr(sbuf, "\naim_crc=") && sbuf[n - 1] == '\n', "ends with the CRC line");
	is_int(aim_slotstate_parse(sbuf, (size_t)n, &back), 0, "parse initial");
	is_int(back.seq, 1, "seq");
	is_int(back.active, 'a', "active a");
	is_int(back.try_slot, 0, "no trial");
	is_int(back.good[0], 1, "a good");

	st.seq = 4000000000u;
	st.active = 'b';
	st.try_slot = 'a';
	st.tries[0] = 3;
	st.good[1] = 1;
	snprintf(st.reason, sizeof(st.reason), "update 25.8 = ok\t");
	n = aim_slotstate_format(&st, sbuf);
	ok(n > 0, "format a trial state");
	is_int(aim_slotstate_parse(sbuf, (size_t)n, &back), 0, "parse trial state");
	is_int(back.seq, 4000000000u, "large seq survives");
	is_int(back.try_slot, 'a', "try a");
	is_int(back.tries[0], 3, "tries a");
	is_str(back.reason, "update 25.8 _ ok_", "reason sanitised ('=' and tab)");

	/* zlib's CRC-32 check value */
	is_int(aim_slotstate_crc32(0, "123456789", 9), 0xcbf43926u, "crc32 check value");
}

static void test_bad_format(void)
{
	struct aim_slotstate st;

	aim_slotstate_init(&st);
	st.active = 'c';
	is_int(aim_slotstate_format(&st, sbuf), -EINVAL, "format refuses active=c");
	aim_slotstate_init(&st);
	st.try_slot = 'a';
	is_int(aim_slotstate_format(&st, sbuf), -EINVAL, "format refuses try == active");
	aim_slotstate_init(&st);
	st.tries[1] = 10;
	is_int(aim_slotstate_format(&st, sbuf), -EINVAL, "format refuses 10 tries");
}

static void expect_bad(const char *buf, size_t len, const char *word, const char *what)
{
	struct aim_slotstate st;
	int r = aim_slotstate_parse(buf, len, &st);

	is_int(r, -EBADMSG, "rejects %s", what);
	ok(strstr(st.reason, word) != NULL, "reason for %s names '%s' (%s)", what, word,
	   st.reason);
}

static void test_parse_strict(void)
{
	struct aim_slotstate st;
	char good[AIM_SLOTSTATE_MAX], b[AIM_SLOTSTATE_MAX * 2];
	size_t n, len;

	aim_slotstate_init(&st);
	st.try_slot = 'b';
	st.tries[1] = 3;
	len = (size_t)aim_slotstate_format(&st, good);

	expect_bad(good, 0, "empty", "empty buffer");
	expect_bad(NULL, 0, "empty", "NULL buffer");
	expect_bad(good, len - 1, "newline", "missing final newline");
	expect_bad(good, len - 10, "newline", "torn write");
	n = mutate(good, "aim_tries_b=3", "aim_tries_b=2", 0, b);
	expect_bad(b, n, "CRC", "flipped field, stale CRC");
	n = mutate(good, "aim_active=a", "aim_active=c", 1, b);
	expect_bad(b, n, "aim_active", "active=c");
	n = mutate(good, "aim_try=b", "aim_try=a", 1, b);
	expect_bad(b, n, "equals", "try == active");
	n = mutate(good, "aim_tries_b=3", "aim_tries_b=10", 1, b);
	expect_bad(b, n, "aim_tries_b", "tries 10");
	n = mutate(good, "aim_tries_b=3", "aim_tries_b=03", 1, b);
	expect_bad(b, n, "aim_tries_b", "leading zero");
	n = mutate(good, "aim_seq=1", "aim_seq=4294967296", 1, b);
	expect_bad(b, n, "aim_seq", "seq over 32 bits");
	n = mutate(good, "aim_seq=1", "aim_seq=-1", 1, b);
	expect_bad(b, n, "aim_seq", "negative seq");
	n = mutate(good, "aim_good_a=1", "aim_good_a=2", 1, b);
	expect_bad(b, n, "aim_good_a", "good=2");
	n = mutate(good, "aim_good_b=0\n", "", 1, b);
	expect_bad(b, n, "aim_good_b missing", "missing key");
	n = mutate(good, "aim_good_b=0\n", "aim_good_b=0\naim_good_b=0\n", 1, b);
	expect_bad(b, n, "twice", "duplicate key");
	n = mutate(good, "aim_good_b=0\n", "aim_good_b=0\nfoo=1\n", 1, b);
	expect_bad(b, n, "unknown key foo", "unknown key");
	n = mutate(good, "aim_good_b=0\n", "aim_good_b=0\nnoequals\n", 1, b);
	expect_bad(b, n, "no '='", "line without =");
	n = mutate(good, "aim_reason=", "aim_reason=a\x01", 1, b);
	expect_bad(b, n, "control", "control char in reason");
	n = mutate(good, "aim_crc=", "aim_crc=Z", 0, b);
	expect_bad(b, n, "hex", "bad CRC digits");
	memcpy(b, good, len);
	memcpy(b + len, "x=1\n", 5);
	expect_bad(b, len + 4, "after aim_crc", "data after the CRC line");
	memset(b, 'x', sizeof(b));
	expect_bad(b, AIM_SLOTSTATE_MAX + 1, "more than", "oversized");
	n = mutate(good, "aim_try=b\n", "aim_try=b\r\n", 1, b);
	expect_bad(b, n, "aim_try", "CRLF");
}

static void test_pick(void)
{
	struct aim_slotstate st, got;
	char b1[AIM_SLOTSTATE_MAX], b2[AIM_SLOTSTATE_MAX];
	size_t l1, l2;
	int copy = 0;

	aim_slotstate_init(&st);
	st.seq = 5;
	l1 = (size_t)aim_slotstate_format(&st, b1);
	st.seq = 6;
	st.try_slot = 'b';
	st.tries[1] = 2;
	l2 = (size_t)aim_slotstate_format(&st, b2);

	is_int(aim_slotstate_pick(b1, l1, b2, l2, &got, &copy), 0, "pick two valid");
	is_int(copy, 2, "newer copy 2 wins");
	is_int(got.seq, 6, "seq 6");
	is_int(aim_slotstate_pick(b2, l2, b1, l1, &got, &copy), 0, "pick swapped");
	is_int(copy, 1, "newer copy 1 wins");
	b2[10] ^= 1;
	is_int(aim_slotstate_pick(b1, l1, b2, l2, &got, &copy), 0, "one corrupt copy");
	is_int(copy, 1, "older valid copy wins over newer corrupt");
	is_int(got.seq, 5, "seq 5");
	is_int(aim_slotstate_pick(NULL, 0, b1, l1, &got, &copy), 0, "copy 1 missing");
	is_int(copy, 2, "copy 2 taken");
	b1[0] = 'X';
	is_int(aim_slotstate_pick(b1, l1, b2, l2, &got, &copy), -ENOENT, "both corrupt");
	ok(strstr(got.reason, "copy 1:") && strstr(got.reason, "copy 2:"), "reason names both (%s)",
	   got.reason);
	is_int(aim_slotstate_pick(b1, l1, b1, 0, &got, &copy), -ENOENT, "corrupt + empty");

	/* equal seq: copy 1 */
	st.seq = 9;
	l1 = (size_t)aim_slotstate_format(&st, b1);
	is_int(aim_slotstate_pick(b1, l1, b1, l1, &got, &copy), 0, "equal seqs");
	is_int(copy, 1, "tie goes to copy 1");

	/* wrap: 0 is newer than 0xffffffff */
	ok(aim_slotstate_newer(0, 0xffffffffu), "0 newer than 2^32-1");
	ok(!aim_slotstate_newer(0xffffffffu, 0), "2^32-1 older than 0");
	ok(aim_slotstate_newer(7, 6) && !aim_slotstate_newer(6, 6), "plain order");
	st.seq = 0xffffffffu;
	l1 = (size_t)aim_slotstate_format(&st, b1);
	st.seq = 0;
	l2 = (size_t)aim_slotstate_format(&st, b2);
	is_int(aim_slotstate_pick(b1, l1, b2, l2, &got, &copy), 0, "pick across wrap");
	is_int(copy, 2, "wrapped seq 0 wins");
}

static void test_choose(void)
{
	struct aim_slotstate st;
	char slot = 0;
	int trial = -1;

	aim_slotstate_init(&st);
	is_int(aim_slotstate_choose(&st, &slot, &trial), 0, "no trial: no change");
	is_int(slot, 'a', "active a");
	is_int(trial, 0, "not a trial");
	is_int(st.seq, 1, "seq unchanged");

	st.try_slot = 'b';
	st.tries[1] = 2;
	is_int(aim_slotstate_choose(&st, &slot, &trial), 1, "trial 1: changed");
	is_int(slot, 'b', "boots b");
	is_int(trial, 1, "on trial");
	is_int(st.tries[1], 1, "one try left");
	is_int(st.seq, 2, "seq bumped");
	is_int(aim_slotstate_choose(&st, &slot, &trial), 1, "trial 2");
	is_int(slot, 'b', "boots b again");
	is_int(st.tries[1], 0, "no tries left");
	is_int(aim_slotstate_choose(&st, &slot, &trial), 1, "exhausted: changed");
	is_int(slot, 'a', "falls back to a");
	is_int(trial, 0, "fallback is not a trial");
	is_int(st.try_slot, 0, "trial cancelled");
	is_int(st.good[1], 0, "b not good");
	ok(strstr(st.reason, "slot b ran out of tries") && strstr(st.reason, "back to a"),
	   "reason recorded (%s)", st.reason);
	is_int(st.seq, 4, "seq bumped on fallback");
	ok(fmt(&st) != NULL, "fallback state formats");

	/* U-Boot counted 2 boots (a kernel died before the initramfs once) */
	aim_slotstate_init(&st);
	st.try_slot = 'b';
	st.tries[1] = 3;
	st.uboot_count = 2;
	is_int(aim_slotstate_choose(&st, &slot, &trial), 1, "U-Boot count 2 of 3");
	is_int(slot, 'b', "still b");
	is_int(st.tries[1], 1, "both counted boots used up");
	is_int(st.uboot_count, 0, "count consumed");
	st.uboot_count = 2;
	is_int(aim_slotstate_choose(&st, &slot, &trial), 1, "U-Boot count over the tries");
	is_int(slot, 'a', "fallback when U-Boot counted more than left");
	ok(strstr(st.reason, "2 counted by U-Boot"), "reason has the U-Boot count (%s)", st.reason);

	/* seq wrap through choose */
	aim_slotstate_init(&st);
	st.seq = 0xffffffffu;
	st.active = 'b';
	st.good[1] = 1;
	st.try_slot = 'a';
	st.tries[0] = 1;
	is_int(aim_slotstate_choose(&st, &slot, &trial), 1, "trial at seq 2^32-1");
	is_int(st.seq, 0, "seq wraps to 0");
	is_int(slot, 'a', "boots a");

	st.active = 'x';
	is_int(aim_slotstate_choose(&st, &slot, &trial), -EINVAL, "inconsistent state refused");
}

static void test_bootcount(void)
{
	struct aim_slotstate st;

	aim_slotstate_init(&st);
	st.seq = 12;
	is_int(aim_slotstate_apply_bootcount("aim_bc=2\naim_bc_seq=12\n", 23, &st), 0, "bootcount");
	is_int(st.uboot_count, 2, "count applies to this seq");
	/* env export -t writes sorted keys and a NUL */
	is_int(aim_slotstate_apply_bootcount("aim_bc_seq=12\naim_bc=3\n\0", 25, &st), 0,
	       "bootcount with NUL");
	is_int(st.uboot_count, 3, "count 3");
	is_int(aim_slotstate_apply_bootcount("aim_bc=2\naim_bc_seq=11\n", 23, &st), 0, "stale");
	is_int(st.uboot_count, 0, "stale count ignored");
	is_int(aim_slotstate_apply_bootcount("aim_bc=x\naim_bc_seq=12\n", 23, &st), -EBADMSG,
	       "garbage bootcount");
	is_int(st.uboot_count, 0, "garbage gives 0");
}

static void test_io(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], path[256];
	struct aim_slotstate st, got;
	int copy = 0, fd;

	snprintf(dir, sizeof(dir), "%s/test-slotstate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	is_int(aim_slotstate_load(dir, &got, &copy), -ENOENT, "empty dir: no state");
	aim_slotstate_init(&st);
	is_int(aim_slotstate_store(dir, &st, 1), 0, "store copy 1");
	is_int(aim_slotstate_store(dir, &st, 3), -EINVAL, "copy 3 refused");
	is_int(aim_slotstate_load(dir, &got, &copy), 0, "load");
	is_int(copy, 1, "from copy 1");
	st.seq = 2;
	st.try_slot = 'b';
	st.tries[1] = 3;
	is_int(aim_slotstate_store(dir, &st, 3 - copy), 0, "store the other copy");
	snprintf(path, sizeof(path), "%s/bootcount.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, "aim_bc=1\naim_bc_seq=2\n", 22) == 22, "write bootcount");
	close(fd);
	is_int(aim_slotstate_load(dir, &got, &copy), 0, "load newest");
	is_int(copy, 2, "copy 2");
	is_int(got.uboot_count, 1, "bootcount applied");
	/* torn copy 2 */
	snprintf(path, sizeof(path), "%s/state-2.txt", dir);
	ok(truncate(path, 20) == 0, "tear copy 2");
	is_int(aim_slotstate_load(dir, &got, &copy), 0, "load after tear");
	is_int(copy, 1, "falls back to copy 1");
	is_int(got.seq, 1, "seq 1");
	is_int(got.uboot_count, 0, "bootcount for seq 2 not applied to seq 1");
	ok(access(path, F_OK) == 0, "state-2.txt still there");
	unlink(path);
	snprintf(path, sizeof(path), "%s/state-1.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bootcount.txt", dir);
	unlink(path);
	ok(rmdir(dir) == 0, "no temporary files left behind");
}

int main(void)
{
	test_roundtrip();
	test_bad_format();
	test_parse_strict();
	test_pick();
	test_choose();
	test_bootcount();
	test_io();
	return done_testing();
}
