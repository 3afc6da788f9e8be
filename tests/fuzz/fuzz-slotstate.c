/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The slot state record (lib/base/slotstate.c): the input is two copies separated by a
 * NUL byte (state-1.txt, state-2.txt) for aim_slotstate_pick; a parsed copy must format,
 * reparse and format again to the same text, and the boot decision and the state changes
 * must keep it valid.
 */
#include "fuzz.h"

#include "base/slotstate.h"

static void check_roundtrip(const struct aim_slotstate *st)
{
	char a[AIM_SLOTSTATE_MAX], b[AIM_SLOTSTATE_MAX];
	struct aim_slotstate again;
	int la, lb;

	la = aim_slotstate_format(st, a);
	if (la < 0)
		abort();
	if (aim_slotstate_parse(a, (size_t)la, &again) != 0)
		abort();
	lb = aim_slotstate_format(&again, b);
	if (lb != la || memcmp(a, b, (size_t)la))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	size_t l1 = sep ? (size_t)(sep - data) : size, l2 = sep ? size - l1 - 1 : 0;
	char *c1 = malloc(l1 ? l1 : 1), *c2 = malloc(l2 ? l2 : 1), why[128], slot;
	struct aim_slotstate st, tmp;
	int copy, trial;

	if (!c1 || !c2)
		abort();
	memcpy(c1, data, l1);
	if (l2)
		memcpy(c2, sep + 1, l2);
	if (aim_slotstate_parse(c1, l1, &st) == 0)
		check_roundtrip(&st);
	if (aim_slotstate_pick(c1, l1, l2 ? c2 : NULL, l2, &st, &copy) == 0) {
		if (copy != 1 && copy != 2)
			abort();
		check_roundtrip(&st);
		st.uboot_count = l2 % 12;
		tmp = st;
		if (aim_slotstate_choose(&tmp, &slot, &trial) >= 0) {
			if (slot != 'a' && slot != 'b')
				abort();
			check_roundtrip(&tmp);
		}
		for (char s = 'a'; s <= 'b'; s++) {
			tmp = st;
			if (aim_slotstate_set_trial(&tmp, s, 1 + l1 % 9, "fuzz", why, sizeof(why)) > 0)
				check_roundtrip(&tmp);
			tmp = st;
			if (aim_slotstate_mark_good(&tmp, s, why, sizeof(why)) > 0)
				check_roundtrip(&tmp);
			tmp = st;
			if (aim_slotstate_mark_bad(&tmp, s, NULL, why, sizeof(why)) > 0)
				check_roundtrip(&tmp);
			tmp = st;
			if (aim_slotstate_rollback(&tmp, s, why, sizeof(why)) > 0)
				check_roundtrip(&tmp);
		}
		aim_slotstate_next_boot(&st);
	}
	free(c1);
	free(c2);
	return 0;
}
