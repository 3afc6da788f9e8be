// SPDX-License-Identifier: LGPL-2.1-or-later
/* Slot state record: format/parse round trip, strict rejection, newest-copy pick, seq
 * wrap, boot decisions (trial, U-Boot counts, exhausted tries -> fallback), file I/O
 * (an unreadable copy counts as invalid and is rewritten by the next store); the GRUB
 * flavour (signature line, CRC over it, kept by pick and format) and GRUB's bootcount.txt
 * block. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slotstate.h"
#include "base/crc32.h"
#include "base/fault.h"
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

		sprintf(c, "aim_crc=%08x\n", (unsigned)aim_crc32(0, out, pre));
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
	is_int(aim_crc32(0, "123456789", 9), 0xcbf43926u, "crc32 check value");
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
	ok(strstr(st.reason, "2 counted by the boot loader"), "reason has the U-Boot count (%s)", st.reason);

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

/* A copy that cannot be read (a directory in place of state-1.txt) is an invalid copy: the
 * valid one decides and the next store replaces the directory with a valid file. */
static void test_unreadable_copy(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], p1[256], inner[300], cmd[300];
	struct aim_slotstate st, got;
	struct stat sb;
	int copy = 0, fd;

	snprintf(dir, sizeof(dir), "%s/test-slotstate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(p1, sizeof(p1), "%s/state-1.txt", dir);
	snprintf(inner, sizeof(inner), "%s/state-1.txt/junk", dir);
	aim_slotstate_init(&st);
	st.seq = 5;
	st.good[1] = 1;
	is_int(aim_slotstate_store(dir, &st, 2), 0, "unreadable: valid copy 2 (seq 5)");
	ok(mkdir(p1, 0755) == 0, "unreadable: a directory in place of state-1.txt");
	fd = open(inner, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, "x", 1) == 1, "unreadable: with a file in it");
	if (fd >= 0)
		close(fd);
	is_int(aim_slotstate_load(dir, &got, &copy), 0, "unreadable copy 1: load succeeds");
	is_int(copy, 2, "unreadable copy 1: copy 2 decides");
	is_int(got.seq, 5, "unreadable copy 1: seq 5");
	is_int(got.good[1], 1, "unreadable copy 1: copy 2's fields");
	got.seq++;
	is_int(aim_slotstate_store(dir, &got, 3 - copy), 0, "store into copy 1 succeeds");
	ok(stat(p1, &sb) == 0 && S_ISREG(sb.st_mode), "state-1.txt is a file again");
	is_int(aim_slotstate_load(dir, &st, &copy), 0, "reload");
	is_int(copy, 1, "copy 1 is valid and newest");
	is_int(st.seq, 6, "seq 6");

	/* Neither copy valid and one unreadable: its error, not "no state" (-ENOENT would
	 * make aim-boot write a fresh state). */
	snprintf(cmd, sizeof(cmd), "%s/state-2.txt", dir);
	unlink(cmd);
	unlink(p1);
	ok(mkdir(p1, 0755) == 0, "a directory again, copy 2 gone");
	is_int(aim_slotstate_load(dir, &got, &copy), -EISDIR,
	       "no valid copy, one unreadable: -EISDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "unreadable: cleanup");
}

/* A state with b installed on trial: seq 10, a active and good. */
static void trial_state(struct aim_slotstate *st)
{
	aim_slotstate_init(st);
	st->seq = 10;
	st->try_slot = 'b';
	st->tries[1] = 3;
}

static void test_transitions(void)
{
	struct aim_slotstate st, before;
	char why[160];

	/* set_trial */
	aim_slotstate_init(&st);
	st.good[1] = 1;
	is_int(aim_slotstate_set_trial(&st, 'b', 3, "installed 25.8", why, sizeof(why)), 1,
	       "set_trial b: changed");
	is_int(st.seq, 2, "set_trial bumps seq");
	is_int(st.try_slot, 'b', "b on trial");
	is_int(st.tries[1], 3, "3 tries");
	is_int(st.good[1], 0, "trial slot not good yet");
	is_str(st.reason, "installed 25.8", "reason set");
	is_int(aim_slotstate_format(&st, sbuf) > 0, 1, "trial state formats");
	before = st;
	is_int(aim_slotstate_set_trial(&st, 'a', 3, NULL, why, sizeof(why)), -EBUSY,
	       "set_trial on the active slot refused");
	ok(strstr(why, "active slot"), "why names the active slot: %s", why);
	ok(!memcmp(&st, &before, sizeof(st)), "refusal leaves the state untouched");
	is_int(aim_slotstate_set_trial(&st, 'b', 0, NULL, why, sizeof(why)), -EINVAL,
	       "0 tries refused");
	ok(strstr(why, "tries must be 1..9"), "why names the bounds: %s", why);
	is_int(aim_slotstate_set_trial(&st, 'b', AIM_SLOTSTATE_TRIES_MAX + 1, NULL, why,
				       sizeof(why)),
	       -EINVAL, "10 tries refused (single digit for U-Boot)");
	is_int(aim_slotstate_set_trial(&st, 'b', AIM_SLOTSTATE_TRIES_MAX, NULL, NULL, 0), 1,
	       "9 tries accepted");
	is_int(aim_slotstate_set_trial(&st, 'c', 3, NULL, why, sizeof(why)), -EINVAL,
	       "slot c refused");
	ok(strstr(why, "no such slot 'c'"), "why names the slot: %s", why);

	/* mark_good: the same change as aim-boot mark-good */
	trial_state(&st);
	is_int(aim_slotstate_mark_good(&st, 'b', why, sizeof(why)), 1, "mark_good b: changed");
	is_int(st.active, 'b', "b active");
	is_int(st.try_slot, 0, "trial cleared");
	is_int(st.good[1], 1, "b good");
	is_int(st.good[0], 1, "a still good");
	is_int(st.tries[1], 3, "tries kept (as aim-boot mark-good)");
	is_int(st.seq, 11, "seq bumped");
	is_int(aim_slotstate_mark_good(&st, 'b', why, sizeof(why)), 0,
	       "mark_good again: no change");
	is_int(st.seq, 11, "seq not bumped without a change");
	trial_state(&st);
	is_int(aim_slotstate_mark_good(&st, 'a', why, sizeof(why)), 1,
	       "mark_good of the active slot with a trial pending: changed");
	is_int(st.try_slot, 0, "the other slot's trial is cancelled");
	is_int(st.active, 'a', "a stays active");
	is_int(aim_slotstate_mark_good(&st, 0, why, sizeof(why)), -EINVAL, "slot 0 refused");

	/* mark_bad */
	trial_state(&st);
	is_int(aim_slotstate_mark_bad(&st, 'b', NULL, why, sizeof(why)), 1,
	       "mark_bad of the trial slot: changed");
	is_int(st.try_slot, 0, "trial cancelled");
	is_int(st.tries[1], 0, "tries 0");
	is_int(st.good[1], 0, "b not good");
	is_str(st.reason, "slot b marked bad", "default reason");
	is_int(st.seq, 11, "seq bumped");
	is_int(aim_slotstate_next_boot(&st), 'a', "next boot: a");
	is_int(aim_slotstate_mark_bad(&st, 'b', NULL, why, sizeof(why)), 0,
	       "mark_bad again: no change");
	is_int(st.seq, 11, "seq unchanged");
	aim_slotstate_init(&st);
	st.good[1] = 1;
	is_int(aim_slotstate_mark_bad(&st, 'b', "bad sectors", why, sizeof(why)), 1,
	       "mark_bad of the inactive good slot");
	is_int(st.good[1], 0, "inactive slot no longer good");
	is_str(st.reason, "bad sectors", "given reason");
	before = st;
	is_int(aim_slotstate_mark_bad(&st, 'a', NULL, why, sizeof(why)), -EBUSY,
	       "mark_bad of the active slot refused");
	ok(strstr(why, "slot a is the active slot"), "why: %s", why);
	ok(!memcmp(&st, &before, sizeof(st)), "state untouched");

	/* rollback */
	trial_state(&st);
	is_int(aim_slotstate_next_boot(&st), 'b', "next boot: the trial slot");
	is_int(aim_slotstate_rollback(&st, 'b', why, sizeof(why)), 1,
	       "rollback from the trial slot b to a");
	is_int(st.active, 'a', "a active");
	is_int(st.try_slot, 0, "trial cancelled");
	is_int(st.tries[1], 0, "b's tries gone");
	is_str(st.reason, "rollback requested", "reason");
	is_int(st.seq, 11, "seq bumped");
	before = st;
	is_int(aim_slotstate_rollback(&st, 'a', why, sizeof(why)), -ENOENT,
	       "rollback to b (not good) refused");
	ok(strstr(why, "slot b is not good"), "why: %s", why);
	ok(!memcmp(&st, &before, sizeof(st)), "state untouched");
	trial_state(&st);
	is_int(aim_slotstate_rollback(&st, 'a', why, sizeof(why)), -ENOENT,
	       "rollback to the slot on trial refused");
	ok(strstr(why, "on trial"), "why says on trial: %s", why);
	aim_slotstate_init(&st);
	st.active = 'b';
	st.good[1] = 1;
	is_int(aim_slotstate_rollback(&st, 'b', why, sizeof(why)), 1,
	       "rollback from good b to good a");
	is_int(st.active, 'a', "a active");
	is_int(st.good[1], 1, "b keeps its good flag");
	is_int(aim_slotstate_rollback(&st, 'b', why, sizeof(why)), 0,
	       "rollback when a is already active: no change");
	is_int(aim_slotstate_rollback(&st, 'x', why, sizeof(why)), -EINVAL, "slot x refused");

	/* seq wraps */
	aim_slotstate_init(&st);
	st.seq = UINT32_MAX;
	st.good[1] = 1;
	is_int(aim_slotstate_rollback(&st, 'a', why, sizeof(why)), 1, "rollback at seq 2^32-1");
	is_int(st.seq, 0, "seq wraps to 0");
	ok(aim_slotstate_newer(st.seq, UINT32_MAX), "0 is newer than 2^32-1");

	/* an inconsistent state is refused by every transition */
	aim_slotstate_init(&st);
	st.tries[0] = 12;
	is_int(aim_slotstate_mark_good(&st, 'a', why, sizeof(why)), -EINVAL,
	       "inconsistent state refused");
	ok(strstr(why, "inconsistent"), "why: %s", why);
}

/* Child mode: load DIR, mark b bad, store to the older copy. */
static int child_store(const char *dir)
{
	struct aim_slotstate st;
	int copy, r;

	if (aim_slotstate_load(dir, &st, &copy) < 0)
		return 1;
	st.good[1] = 1;
	st.tries[1] = 0;
	st.seq++;
	r = aim_slotstate_store(dir, &st, 3 - copy);
	return r < 0 ? 1 : 0;
}

static int run_child(const char *self, const char *dir, unsigned at, const char *countfile)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		char atbuf[16];

		snprintf(atbuf, sizeof(atbuf), "%u", at);
		if (at)
			setenv("AIM_FAULT_AT", atbuf, 1);
		if (countfile)
			setenv("AIM_FAULT_COUNT", countfile, 1);
		execl(self, self, "store", dir, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_fault(const char *self)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], cf[256], buf[32] = "";
	struct aim_slotstate st, got;
	unsigned count = 0, recovered = 0, rerun_ok = 0;
	int copy, fd;

	snprintf(dir, sizeof(dir), "%s/test-slotstate-f-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(cf, sizeof(cf), "%s/count", dir);
	aim_slotstate_init(&st);
	is_int(aim_slotstate_store(dir, &st, 1), 0, "fault: initial state");
	is_int(run_child(self, dir, 0, cf), 0, "fault: a store without a cut succeeds");
	fd = open(cf, O_RDONLY);
	ok(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0, "fault: count file written");
	if (fd >= 0)
		close(fd);
	count = (unsigned)atoi(buf);
	ok(count >= 4, "fault: a store reaches %u points (write, fsync, rename, dir fsync)", count);
	for (unsigned at = 1; at <= count; at++) {
		uint32_t seq0;

		aim_slotstate_init(&st);
		snprintf(cf, sizeof(cf), "%s/state-2.txt", dir);
		unlink(cf);
		is_int(aim_slotstate_store(dir, &st, 1), 0, "fault: reset state");
		seq0 = st.seq;
		if (run_child(self, dir, at, NULL) != AIM_FAULT_EXIT) {
			ok(0, "fault: cut at point %u exits with %d", at, AIM_FAULT_EXIT);
			continue;
		}
		if (aim_slotstate_load(dir, &got, &copy) == 0 &&
		    (got.seq == seq0 || got.seq == seq0 + 1) && got.good[0] == 1 &&
		    got.active == 'a')
			recovered++;
		else
			printf("# cut at %u: no valid state (%s)\n", at, got.reason);
		if (run_child(self, dir, 0, NULL) == 0 &&
		    aim_slotstate_load(dir, &got, &copy) == 0 && got.good[1] == 1)
			rerun_ok++;
		else
			printf("# cut at %u: the rerun failed\n", at);
	}
	is_int(recovered, count, "fault: cut at every point 1..%u, a valid state after each",
	       count);
	is_int(rerun_ok, count, "fault: the store succeeds when rerun after each of the %u cuts",
	       count);
	snprintf(cf, sizeof(cf), "rm -rf '%s'", dir);
	ok(system(cf) == 0, "fault: cleanup");
}

/* dm-verity: a refused slot is given up at once; the corruption rule of the active slot. */
static void test_verity_rules(void)
{
	struct aim_slotstate st;
	char buf[AIM_SLOTSTATE_MAX];

	trial_state(&st);
	is_int(aim_slotstate_refuse(&st, 'b', "slot.env signature: bad"), 1, "refuse trial b");
	ok(st.try_slot == 0 && st.tries[1] == 0 && st.good[1] == 0 && st.active == 'a' &&
	   st.seq == 11, "refused trial: cancelled, a stays active, seq bumped");
	is_str(st.reason, "slot b refused: slot.env signature: bad", "refused trial: reason");
	ok(aim_slotstate_format(&st, buf) > 0, "refused state formats");

	aim_slotstate_init(&st);
	st.good[1] = 1;
	is_int(aim_slotstate_refuse(&st, 'a', "slot.env is not signed"), 1,
	       "refuse the active slot with a good other");
	ok(st.active == 'b' && st.good[0] == 0 && st.good[1] == 1, "active refused: b takes over");

	aim_slotstate_init(&st);
	st.good[1] = 0;
	is_int(aim_slotstate_refuse(&st, 'a', "no verity keys"), 1,
	       "refuse the only good slot: the reason only");
	ok(st.active == 'a' && st.good[0] == 1, "nothing to fall back to: a stays");
	is_int(aim_slotstate_refuse(&st, 'a', "no verity keys"), 0, "same reason again: no write");
	is_int(aim_slotstate_refuse(&st, 'c', "x"), -EINVAL, "refuse: bad slot");
	{
		char lng[300];

		memset(lng, 'x', sizeof(lng) - 1);
		lng[sizeof(lng) - 1] = 0;
		aim_slotstate_init(&st);
		aim_slotstate_refuse(&st, 'a', lng);
		is_int((int)strlen(st.reason), AIM_SLOTSTATE_REASON_MAX - 1, "long reason cut");
	}

	/* the corruption rule: U-Boot booted b after 3 unconfirmed boots of a */
	aim_slotstate_init(&st);
	st.seq = 50;
	st.good[1] = 1;
	st.uboot_count = 3;
	is_int(aim_slotstate_active_failed(&st, 'b', AIM_SLOTSTATE_ACTIVE_FAILS), 1,
	       "active a failed 3 boots, b mounted: switch");
	ok(st.active == 'b' && st.good[0] == 0 && st.good[1] == 1 && st.seq == 51 &&
	   st.uboot_count == 0, "b active, a not good, seq bumped (U-Boot's count now stale)");
	is_str(st.reason, "slot a failed 3 boots in a row before boot-complete: now b",
	       "corruption rule: reason");
	aim_slotstate_init(&st);
	st.good[1] = 1;
	st.uboot_count = 2;
	is_int(aim_slotstate_active_failed(&st, 'b', 3), 0, "count below 3: no switch");
	st.uboot_count = 3;
	is_int(aim_slotstate_active_failed(&st, 'a', 3), 0, "active mounted: no switch");
	st.good[1] = 0;
	is_int(aim_slotstate_active_failed(&st, 'b', 3), 0, "other not good: no switch");
	trial_state(&st);
	st.uboot_count = 3;
	is_int(aim_slotstate_active_failed(&st, 'b', 3), 0, "a trial: the trial rule applies");
}

/* The GRUB flavour: GRUB's envblk signature first, covered by the CRC. */
static void test_grubenv(void)
{
	static const char sig[] = AIM_GRUBENV_SIGNATURE;
	char u[AIM_SLOTSTATE_MAX], g[AIM_SLOTSTATE_MAX], bad_[2 * AIM_SLOTSTATE_MAX];
	char bc[AIM_GRUBENV_SIZE];
	struct aim_slotstate st, back;
	int nu, ng, copy;
	size_t sl = sizeof(sig) - 1;

	aim_slotstate_init(&st);
	ok(!st.grubenv, "init: the U-Boot flavour");
	nu = aim_slotstate_format(&st, u);
	is_str(u, "aim_seq=1\naim_active=a\naim_try=\naim_tries_a=0\naim_tries_b=0\n"
		  "aim_good_a=1\naim_good_b=0\naim_reason=\naim_crc=dc641a24\n",
	       "the U-Boot flavour is byte for byte what it was");
	st.grubenv = 1;
	ng = aim_slotstate_format(&st, g);
	ok(ng == nu + (int)sl && !memcmp(g, sig, sl) && !memcmp(g + sl, u, (size_t)nu - 17),
	   "GRUB flavour: the signature line, then the same lines");
	ok(strcmp(g + ng - 17, u + nu - 17) != 0, "the CRC covers the signature line");
	is_int(aim_slotstate_parse(g, (size_t)ng, &back), 0, "GRUB flavour parses");
	ok(back.grubenv && back.seq == 1 && back.active == 'a', "parse sets grubenv");
	is_int(aim_slotstate_parse(u, (size_t)nu, &back), 0, "U-Boot flavour parses");
	ok(!back.grubenv, "U-Boot flavour: grubenv 0");
	ok(aim_slotstate_format(&back, bad_) == nu && !strcmp(bad_, u), "U-Boot round trip");
	aim_slotstate_parse(g, (size_t)ng, &back);
	ok(aim_slotstate_format(&back, bad_) == ng && !strcmp(bad_, g), "GRUB round trip");

	/* strictness kept */
	memcpy(bad_, g, (size_t)ng + 1);
	bad_[2] = 'g';
	is_int(aim_slotstate_parse(bad_, (size_t)ng, &back), -EBADMSG, "a changed signature");
	memcpy(bad_, sig, sl);
	memcpy(bad_ + sl, g, (size_t)ng + 1);
	is_int(aim_slotstate_parse(bad_, strlen(bad_), &back), -EBADMSG, "the signature twice");
	snprintf(bad_, sizeof(bad_), "%.*s%s", (int)sl - 1, sig, g + sl);
	is_int(aim_slotstate_parse(bad_, strlen(bad_), &back), -EBADMSG,
	       "the signature without its newline");
	/* GRUB's escape character: the GRUB flavour has none in aim_reason */
	snprintf(st.reason, sizeof(st.reason), "a\\b");
	ng = aim_slotstate_format(&st, g);
	ok(ng > 0 && strstr(g, "\naim_reason=a_b\n"), "GRUB flavour: '\\' becomes '_'");
	st.grubenv = 0;
	nu = aim_slotstate_format(&st, u);
	ok(nu > 0 && strstr(u, "\naim_reason=a\\b\n"), "U-Boot flavour: '\\' kept");
	ng = (int)mutate(g, "aim_reason=a_b", "aim_reason=a\\b", 1, bad_);
	is_int(aim_slotstate_parse(bad_, (size_t)ng, &back), -EBADMSG,
	       "GRUB flavour with '\\' in aim_reason (correct CRC) refused");

	/* pick keeps the flavour; with no valid copy it reports the flavour seen */
	st.grubenv = 1;
	ng = aim_slotstate_format(&st, g);
	is_int(aim_slotstate_pick(g, (size_t)ng, NULL, 0, &back, &copy), 0, "pick a GRUB copy");
	ok(back.grubenv, "pick: grubenv kept");
	is_int(aim_slotstate_pick(g, (size_t)ng - 3, NULL, 0, &back, &copy), -ENOENT,
	       "pick: only a torn GRUB copy");
	ok(back.grubenv, "pick: -ENOENT still says GRUB flavour (a fresh state keeps it)");
	is_int(aim_slotstate_pick(NULL, 0, NULL, 0, &back, &copy), -ENOENT, "pick: nothing");
	ok(!back.grubenv, "pick: nothing: the U-Boot flavour");

	/* GRUB's bootcount.txt */
	is_int(aim_slotstate_format_grub_bootcount(2, 4000000000u, bc), AIM_GRUBENV_SIZE,
	       "bootcount block: 1024 bytes");
	ok(aim_slotstate_is_grubenv(bc, sizeof(bc)) &&
	   !memcmp(bc + sl, "aim_bc=2\naim_bc_seq=4000000000\n#", 32) &&
	   bc[AIM_GRUBENV_SIZE - 1] == '#', "bootcount block: signature, both keys, '#' padding");
	ok(memchr(bc, '\n', 512) && !memchr(bc + 100, '\n', AIM_GRUBENV_SIZE - 100),
	   "bootcount block: every line in the first sector, no newline in the padding");
	aim_slotstate_init(&st);
	st.seq = 4000000000u;
	is_int(aim_slotstate_apply_bootcount(bc, sizeof(bc), &st), 0, "bootcount block read");
	is_int(st.uboot_count, 2, "bootcount block: count for this seq");
	is_int(aim_slotstate_apply_bootcount(bc, 128, &st), 0, "its first 128 bytes are enough");
	st.seq = 5;
	aim_slotstate_apply_bootcount(bc, sizeof(bc), &st);
	is_int(st.uboot_count, 0, "bootcount block: another seq counts 0");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "store"))
		return child_store(argv[2]);
	test_roundtrip();
	test_bad_format();
	test_parse_strict();
	test_pick();
	test_choose();
	test_bootcount();
	test_io();
	test_unreadable_copy();
	test_transitions();
	test_verity_rules();
	test_grubenv();
	test_fault(argv[0]);
	return done_testing();
}
