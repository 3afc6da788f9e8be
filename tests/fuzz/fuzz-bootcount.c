/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bootcount.txt, U-Boot's or GRUB's (lib/base/slotstate.c aim_slotstate_apply_bootcount,
 * aim_slotstate_grub_bootcount_ok), then the boot decision with that count on a valid
 * state: it must still format and parse.
 */
#include "fuzz.h"

#include "base/slotstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), buf[AIM_SLOTSTATE_MAX], slot;
	struct aim_slotstate st, again;
	int trial, len;

	if (!text)
		abort();
	memcpy(text, data, size);
	aim_slotstate_init(&st);
	st.seq = 7;
	if (aim_slotstate_set_trial(&st, 'b', 3, NULL, NULL, 0) != 1)
		abort();
	aim_slotstate_apply_bootcount(text, size, &st);
	if (aim_slotstate_grub_bootcount_ok(text, size) && size != AIM_GRUBENV_SIZE)
		abort();
	if (aim_slotstate_choose(&st, &slot, &trial) < 0)
		abort();
	len = aim_slotstate_format(&st, buf);
	if (len < 0 || aim_slotstate_parse(buf, (size_t)len, &again) != 0)
		abort();
	free(text);
	return 0;
}
