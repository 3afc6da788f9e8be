/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Input image format detection and the xz/zstd readers (lib/input.c aim_input_detect,
 * aim_input_open): the input is the image file; a compressed one is decoded into a
 * temporary file under $TMPDIR (default /tmp), single-threaded.
 */
#include "fuzz.h"

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	struct aim_input *in = NULL;
	char path[32];
	int fd;

	aim_input_detect(data, size);
	fd = fuzz_memfd(data, size, path);
	if (aim_input_open(path, tmp ? tmp : "/tmp", 1, NULL, NULL, &in) == 0) {
		uint8_t buf[512];

		if (aim_input_format(in) == AIM_INPUT_RAW && aim_input_size(in) != size)
			abort();
		if (pread(aim_input_fd(in), buf, sizeof(buf), 0) < 0)
			abort();
		aim_input_free(in);
	}
	close(fd);
	return 0;
}
