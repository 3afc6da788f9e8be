/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The block index of a slot image (lib/delta-index.h), as a bundle or a slot on a device
 * hands it over: the parser must not read past its input; an index it accepts has pieces
 * that cover the slot image exactly, formats back to the same bytes, and finds each of its
 * non-zero pieces by hash.
 */
#include "fuzz.h"

#include "delta-index.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_delta_index *x = NULL;
	uint8_t *again = NULL;
	size_t len = 0;
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size); /* an exact-size heap buffer: ASan sees any overread */
	if (aim_delta_index_parse(copy, size, &x) == 0) {
		uint64_t off = 0;

		for (size_t i = 0; i < x->n; i++) {
			if (x->p[i].off != off || !x->p[i].len)
				abort();
			off += x->p[i].len;
			if (x->p[i].kind != AIM_PIECE_ZERO &&
			    !aim_delta_index_find(x, x->p[i].sha256, x->p[i].len))
				abort();
		}
		if (off != x->size)
			abort();
		if (aim_delta_index_format(x, &again, &len) < 0 || len != size ||
		    memcmp(again, copy, size))
			abort();
	}
	aim_error_clear();
	aim_delta_index_free(x);
	free(again);
	free(copy);
	return 0;
}
