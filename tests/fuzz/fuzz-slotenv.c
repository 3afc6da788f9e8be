/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /slot-X/slot.env (lib/slotenv.c aim_slot_info_parse). What parses must format, and the
 * formatted text must parse and format again to the same text.
 */
#include "fuzz.h"

#include <errno.h>

#include "slotenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), *out = NULL, *out2 = NULL;
	struct aim_slot_info si, again;
	int r;

	if (!text)
		abort();
	memcpy(text, data, size);
	if (aim_slot_info_parse(text, size, &si) == 0) {
		r = aim_slot_info_format(&si, &out);
		if (r < 0)
			abort();
		if (aim_slot_info_parse(out, (size_t)r, &again) != 0 ||
		    aim_slot_info_format(&again, &out2) != r || memcmp(out, out2, (size_t)r))
			abort();
		free(out);
		free(out2);
	}
	free(text);
	return 0;
}
