/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MBR and GPT (lib/ptable.c aim_ptable_read): the input is the whole disk image. A table
 * that reads must keep its partitions inside the disk and in the usable range.
 */
#include "fuzz.h"

#include "base/ptable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct aim_ptable pt;
	int fd = fuzz_memfd(data, size, NULL);

	if (aim_ptable_read(fd, size, &pt) == 0) {
		if (pt.nparts > AIM_PTABLE_MAX_PARTS)
			abort();
		for (unsigned i = 0; i < pt.nparts; i++) {
			const struct aim_part *q = &pt.parts[i];

			if (q->start > size || q->size > size - q->start)
				abort();
			aim_ptable_type_name(q);
		}
	}
	close(fd);
	return 0;
}
