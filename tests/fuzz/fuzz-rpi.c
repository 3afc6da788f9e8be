/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raspberry Pi (docs/rpi.md): the input is an autoboot.txt and a cmdline.txt separated by a
 * NUL byte. autoboot.txt's parser must not read past its input; a cmdline.txt the rewrite
 * takes must come out as one line ending in the slot, and rewriting that again must give
 * the same bytes (idempotent: install rewrites a bundle's already rewritten file).
 */
#include "fuzz.h"

#include "rpi.h"
#include "base/autoboot.h"
#include "base/log.h"

#define UUID "34285b59-ab15-4446-9c37-0994a39a9783"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	size_t l1 = sep ? (size_t)(sep - data) : size;
	char *ab = malloc(l1 ? l1 : 1), *cl = fuzz_strdup(sep ? sep + 1 : data,
						      sep ? size - l1 - 1 : 0);
	char *once = NULL, *twice = NULL;
	unsigned all, try;

	if (!ab)
		abort();
	memcpy(ab, data, l1); /* not NUL-terminated: the parser takes a length */
	if (aim_rpi_autoboot_parse(ab, l1, &all, &try) == 0 && l1 > AIM_RPI_AUTOBOOT_MAX)
		abort();
	if (aim_rpi_rewrite_cmdline(cl, 'b', UUID, &once) == 0) {
		size_t n = strlen(once);
		if (n < 20 || strcmp(once + n - 20, "armimmutable.slot=b\n") ||
		    strchr(once, '\n') != once + n - 1)
			abort();
		if (aim_rpi_rewrite_cmdline(once, 'b', UUID, &twice) != 0 || strcmp(once, twice))
			abort();
	}
	aim_error_clear();
	free(once);
	free(twice);
	free(ab);
	free(cl);
	return 0;
}
