// SPDX-License-Identifier: LGPL-2.1-or-later
/* The A/B slot state record: parse, format, pick the newest copy, decide the boot. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/crc32.h"
#include "base/slotstate.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

void aim_slotstate_init(struct aim_slotstate *st)
{
	memset(st, 0, sizeof(*st));
	st->seq = 1;
	st->active = 'a';
	st->good[0] = 1;
}

__attribute__((format(printf, 2, 3))) static int bad(struct aim_slotstate *st,
						    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Strict decimal: 1-10 digits, no sign, no leading zero unless "0". */
static int parse_dec(const char *s, size_t n, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

static int is_slot(char c)
{
	return c == 'a' || c == 'b';
}

static int valid_reason_char(char c, int grubenv)
{
	return c >= ' ' && c <= '~' && c != '=' && !(grubenv && c == '\\');
}

#define SIG_LEN (sizeof(AIM_GRUBENV_SIGNATURE) - 1)

int aim_slotstate_is_grubenv(const char *buf, size_t len)
{
	return buf && len >= SIG_LEN && !memcmp(buf, AIM_GRUBENV_SIGNATURE, SIG_LEN);
}

enum { K_SEQ, K_ACTIVE, K_TRY, K_TRIES_A, K_TRIES_B, K_GOOD_A, K_GOOD_B, K_REASON, K_CRC, K_N };
static const char *const keys[K_N] = {"aim_seq",     "aim_active", "aim_try",
				      "aim_tries_a", "aim_tries_b", "aim_good_a",
				      "aim_good_b",  "aim_reason", "aim_crc"};

static int check(const struct aim_slotstate *st)
{
	if (!is_slot(st->active))
		return -EINVAL;
	if (st->try_slot && (!is_slot(st->try_slot) || st->try_slot == st->active))
		return -EINVAL;
	for (int i = 0; i < 2; i++)
		if (st->tries[i] > AIM_SLOTSTATE_TRIES_MAX || (st->good[i] != 0 && st->good[i] != 1))
			return -EINVAL;
	return 0;
}

int aim_slotstate_parse(const char *buf, size_t len, struct aim_slotstate *st)
{
	unsigned seen = 0;
	size_t pos = 0, crc_at = 0;
	uint32_t v, crc = 0;

	memset(st, 0, sizeof(*st));
	if (!buf || len == 0)
		return bad(st, "empty");
	if (len > AIM_SLOTSTATE_MAX)
		return bad(st, "%zu bytes, more than %d", len, AIM_SLOTSTATE_MAX);
	if (aim_slotstate_is_grubenv(buf, len)) {
		st->grubenv = 1;
		pos = SIG_LEN;
	}
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		const char *eq, *val;
		size_t n, klen, vlen;
		int k;

		if (!nl)
			return bad(st, "truncated: last line has no newline");
		n = (size_t)(nl - line);
		if (seen & (1u << K_CRC))
			return bad(st, "data after aim_crc");
		eq = memchr(line, '=', n);
		if (!eq)
			return bad(st, "line %.*s has no '='", (int)MIN(n, 40), line);
		klen = (size_t)(eq - line);
		val = eq + 1;
		vlen = n - klen - 1;
		for (k = 0; k < K_N; k++)
			if (strlen(keys[k]) == klen && !memcmp(line, keys[k], klen))
				break;
		if (k == K_N)
			return bad(st, "unknown key %.*s", (int)MIN(klen, 40), line);
		if (seen & (1u << k))
			return bad(st, "%s given twice", keys[k]);
		seen |= 1u << k;
		switch (k) {
		case K_SEQ:
			if (parse_dec(val, vlen, UINT32_MAX, &st->seq))
				return bad(st, "bad aim_seq");
			break;
		case K_ACTIVE:
			if (vlen != 1 || !is_slot(val[0]))
				return bad(st, "aim_active is not a or b");
			st->active = val[0];
			break;
		case K_TRY:
			if (vlen > 1 || (vlen == 1 && !is_slot(val[0])))
				return bad(st, "aim_try is not a, b or empty");
			st->try_slot = vlen ? val[0] : 0;
			break;
		case K_TRIES_A:
		case K_TRIES_B:
			if (parse_dec(val, vlen, AIM_SLOTSTATE_TRIES_MAX, &v))
				return bad(st, "bad %s (0..%d)", keys[k], AIM_SLOTSTATE_TRIES_MAX);
			st->tries[k - K_TRIES_A] = v;
			break;
		case K_GOOD_A:
		case K_GOOD_B:
			if (parse_dec(val, vlen, 1, &v))
				return bad(st, "bad %s (0 or 1)", keys[k]);
			st->good[k - K_GOOD_A] = (int)v;
			break;
		case K_REASON:
			if (vlen >= sizeof(st->reason))
				return bad(st, "aim_reason too long");
			for (size_t i = 0; i < vlen; i++)
				if (!valid_reason_char(val[i], st->grubenv))
					return bad(st, "aim_reason has a control character");
			memcpy(st->reason, val, vlen);
			st->reason[vlen] = 0;
			break;
		case K_CRC:
			crc_at = pos;
			if (vlen != 8)
				return bad(st, "aim_crc is not 8 hex digits");
			for (size_t i = 0; i < 8; i++) {
				char c = val[i];
				unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
					   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
								  : 16;
				if (d == 16)
					return bad(st, "aim_crc is not 8 lowercase hex digits");
				crc = crc << 4 | d;
			}
			break;
		}
		pos += n + 1;
	}
	for (int k = 0; k < K_N; k++)
		if (!(seen & (1u << k)))
			return bad(st, "%s missing", keys[k]);
	if (aim_crc32(0, buf, crc_at) != crc)
		return bad(st, "CRC mismatch (stored %08x, computed %08x)", crc,
			   aim_crc32(0, buf, crc_at));
	if (st->try_slot && st->try_slot == st->active)
		return bad(st, "aim_try equals aim_active");
	return 0;
}

int aim_slotstate_format(const struct aim_slotstate *st, char *buf)
{
	char reason[AIM_SLOTSTATE_REASON_MAX];
	int n, m;

	if (check(st))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(reason); i++) {
		char c = st->reason[i];

		reason[i] = c && !valid_reason_char(c, st->grubenv) ? '_' : c;
		if (!c)
			break;
	}
	reason[sizeof(reason) - 1] = 0;
	n = snprintf(buf, AIM_SLOTSTATE_MAX,
		     "%saim_seq=%u\naim_active=%c\naim_try=%s\naim_tries_a=%u\naim_tries_b=%u\n"
		     "aim_good_a=%d\naim_good_b=%d\naim_reason=%s\n",
		     st->grubenv ? AIM_GRUBENV_SIGNATURE : "", (unsigned)st->seq, st->active,
		     st->try_slot == 'a' ? "a" : st->try_slot == 'b' ? "b" : "", st->tries[0],
		     st->tries[1], st->good[0], st->good[1], reason);
	if (n < 0 || n >= AIM_SLOTSTATE_MAX - 18)
		return -EINVAL;
	m = snprintf(buf + n, (size_t)(AIM_SLOTSTATE_MAX - n), "aim_crc=%08x\n",
		     (unsigned)aim_crc32(0, buf, (size_t)n));
	return n + m;
}

int aim_slotstate_newer(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

int aim_slotstate_pick(const char *buf1, size_t len1, const char *buf2, size_t len2,
		       struct aim_slotstate *st, int *ret_copy)
{
	struct aim_slotstate s1, s2;
	int r1 = aim_slotstate_parse(buf1, len1, &s1);
	int r2 = aim_slotstate_parse(buf2, len2, &s2);

	if (r1 < 0 && r2 < 0) {
		memset(st, 0, sizeof(*st));
		snprintf(st->reason, sizeof(st->reason), "copy 1: %.36s; copy 2: %.36s", s1.reason,
			 s2.reason);
		/* what a fresh state written now should look like */
		st->grubenv = aim_slotstate_is_grubenv(buf1, len1) ||
			      aim_slotstate_is_grubenv(buf2, len2);
		return -ENOENT;
	}
	if (r1 == 0 && (r2 < 0 || !aim_slotstate_newer(s2.seq, s1.seq))) {
		*st = s1;
		*ret_copy = 1;
	} else {
		*st = s2;
		*ret_copy = 2;
	}
	return 0;
}

int aim_slotstate_format_grub_bootcount(unsigned bc, uint32_t seq, char *buf)
{
	int n = snprintf(buf, AIM_GRUBENV_SIZE, "%saim_bc=%u\naim_bc_seq=%u\n",
			 AIM_GRUBENV_SIGNATURE, bc, (unsigned)seq);

	memset(buf + n, '#', (size_t)(AIM_GRUBENV_SIZE - n));
	return AIM_GRUBENV_SIZE;
}

int aim_slotstate_grub_bootcount_ok(const char *buf, size_t len)
{
	struct aim_slotstate st = {0};
	size_t end = len;

	if (len != AIM_GRUBENV_SIZE || !aim_slotstate_is_grubenv(buf, len) ||
	    aim_slotstate_apply_bootcount(buf, len, &st) < 0)
		return 0;
	while (end > 0 && buf[end - 1] == '#')
		end--;
	return end > SIG_LEN && buf[end - 1] == '\n' && !memchr(buf, 0, len);
}

int aim_slotstate_apply_bootcount(const char *buf, size_t len, struct aim_slotstate *st)
{
	uint32_t bc = 0, bcseq = 0;
	int have_bc = 0, have_seq = 0;
	size_t pos = 0;

	st->uboot_count = 0;
	if (!buf)
		return -EBADMSG;
	while (pos < len && buf[pos]) {
		const char *line = buf + pos, *end = memchr(line, '\n', len - pos);
		size_t n = end ? (size_t)(end - line) : len - pos;
		const char *nul = memchr(line, 0, n);

		if (nul)
			n = (size_t)(nul - line);
		if (n > 7 && !memcmp(line, "aim_bc=", 7))
			have_bc = !parse_dec(line + 7, n - 7, 255, &bc);
		else if (n > 11 && !memcmp(line, "aim_bc_seq=", 11))
			have_seq = !parse_dec(line + 11, n - 11, UINT32_MAX, &bcseq);
		pos += n + 1;
	}
	if (!have_bc || !have_seq)
		return -EBADMSG;
	if (bcseq == st->seq)
		st->uboot_count = bc;
	return 0;
}

int aim_slotstate_choose(struct aim_slotstate *st, char *ret_slot, int *ret_is_trial)
{
	unsigned used;
	int t;

	if (check(st))
		return -EINVAL;
	*ret_is_trial = 0;
	if (!st->try_slot) {
		*ret_slot = st->active;
		return 0;
	}
	t = st->try_slot - 'a';
	used = st->uboot_count > 1 ? st->uboot_count : 1;
	if (used <= st->tries[t]) {
		st->tries[t] -= used;
		*ret_slot = st->try_slot;
		*ret_is_trial = 1;
	} else {
		snprintf(st->reason, sizeof(st->reason),
			 "slot %c ran out of tries (%u left, %u counted by the boot loader): back to %c",
			 st->try_slot, st->tries[t], st->uboot_count, st->active);
		st->tries[t] = 0;
		st->good[t] = 0;
		st->try_slot = 0;
		*ret_slot = st->active;
	}
	st->seq++;
	st->uboot_count = 0;
	return 1;
}

__attribute__((format(printf, 4, 5))) static int refuse(int r, char *why, size_t whylen,
							 const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static void set_reason(struct aim_slotstate *st, const char *fmt, const char *arg)
{
	snprintf(st->reason, sizeof(st->reason), fmt, arg);
}

int aim_slotstate_set_trial(struct aim_slotstate *st, char slot, unsigned tries,
			    const char *reason, char *why, size_t whylen)
{
	int i = slot - 'a';

	if (!is_slot(slot))
		return refuse(-EINVAL, why, whylen, "no such slot '%c'", slot ? slot : '?');
	if (check(st))
		return refuse(-EINVAL, why, whylen, "inconsistent slot state");
	if (tries < 1 || tries > AIM_SLOTSTATE_TRIES_MAX)
		return refuse(-EINVAL, why, whylen, "tries must be 1..%d, not %u",
			      AIM_SLOTSTATE_TRIES_MAX, tries);
	if (slot == st->active)
		return refuse(-EBUSY, why, whylen,
			      "slot %c is the active slot (the fallback): cannot put it on trial",
			      slot);
	st->try_slot = slot;
	st->tries[i] = tries;
	st->good[i] = 0;
	if (reason)
		set_reason(st, "%s", reason);
	st->uboot_count = 0;
	st->seq++;
	return 1;
}

int aim_slotstate_mark_good(struct aim_slotstate *st, char slot, char *why, size_t whylen)
{
	int i = slot - 'a';

	if (!is_slot(slot))
		return refuse(-EINVAL, why, whylen, "no such slot '%c'", slot ? slot : '?');
	if (check(st))
		return refuse(-EINVAL, why, whylen, "inconsistent slot state");
	if (st->good[i] && st->active == slot && !st->try_slot)
		return 0;
	st->good[i] = 1;
	st->active = slot;
	st->try_slot = 0;
	st->uboot_count = 0;
	st->seq++;
	return 1;
}

int aim_slotstate_mark_bad(struct aim_slotstate *st, char slot, const char *reason,
			   char *why, size_t whylen)
{
	int i = slot - 'a';

	if (!is_slot(slot))
		return refuse(-EINVAL, why, whylen, "no such slot '%c'", slot ? slot : '?');
	if (check(st))
		return refuse(-EINVAL, why, whylen, "inconsistent slot state");
	if (slot == st->active)
		return refuse(-EBUSY, why, whylen,
			      "slot %c is the active slot (the fallback); roll back to the other "
			      "slot first", slot);
	if (!st->good[i] && !st->tries[i] && st->try_slot != slot)
		return 0;
	if (st->try_slot == slot)
		st->try_slot = 0;
	st->good[i] = 0;
	st->tries[i] = 0;
	if (reason)
		set_reason(st, "%s", reason);
	else
		snprintf(st->reason, sizeof(st->reason), "slot %c marked bad", slot);
	st->uboot_count = 0;
	st->seq++;
	return 1;
}

int aim_slotstate_rollback(struct aim_slotstate *st, char from, char *why, size_t whylen)
{
	char to = aim_slotstate_other(from);
	int t = to - 'a';

	if (!is_slot(from))
		return refuse(-EINVAL, why, whylen, "no such slot '%c'", from ? from : '?');
	if (check(st))
		return refuse(-EINVAL, why, whylen, "inconsistent slot state");
	if (!st->good[t])
		return refuse(-ENOENT, why, whylen,
			      "slot %c is not good%s: nothing to roll back to", to,
			      st->try_slot == to ? " (it is on trial)" : "");
	if (st->active == to && !st->try_slot)
		return 0;
	if (st->try_slot)
		st->tries[st->try_slot - 'a'] = 0;
	st->try_slot = 0;
	st->active = to;
	snprintf(st->reason, sizeof(st->reason), "rollback requested");
	st->uboot_count = 0;
	st->seq++;
	return 1;
}

char aim_slotstate_next_boot(const struct aim_slotstate *st)
{
	if (st->try_slot && st->tries[st->try_slot - 'a'] > 0)
		return st->try_slot;
	return st->active;
}

int aim_slotstate_refuse(struct aim_slotstate *st, char slot, const char *why)
{
	int i = slot - 'a', o = 1 - i;
	char old[AIM_SLOTSTATE_REASON_MAX];

	if (!is_slot(slot) || check(st))
		return -EINVAL;
	memcpy(old, st->reason, sizeof(old));
	snprintf(st->reason, sizeof(st->reason), "slot %c refused: %s", slot, why);
	if (st->try_slot == slot) {
		st->try_slot = 0;
		st->tries[i] = 0;
		st->good[i] = 0;
	} else if (st->active == slot && st->good[o] && st->try_slot == 0) {
		st->active = aim_slotstate_other(slot);
		st->good[i] = 0;
		st->tries[i] = 0;
	} else if (!strcmp(old, st->reason)) {
		return 0;
	}
	st->seq++;
	return 1;
}

int aim_slotstate_active_failed(struct aim_slotstate *st, char mounted, unsigned fails)
{
	char old = st->active;

	if (!is_slot(mounted) || check(st) || st->try_slot || mounted == st->active ||
	    !st->good[mounted - 'a'] || st->uboot_count < fails || !fails)
		return 0;
	snprintf(st->reason, sizeof(st->reason),
		 "slot %c failed %u boots in a row before boot-complete: now %c", old,
		 st->uboot_count, mounted);
	st->good[old - 'a'] = 0;
	st->tries[old - 'a'] = 0;
	st->active = mounted;
	st->seq++;
	st->uboot_count = 0;
	return 1;
}
