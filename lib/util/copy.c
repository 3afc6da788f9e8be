/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sparse, optionally hashed copies of a byte range (see copy.h). */
#include "util/copy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/macro.h"

#define CHUNK (1024 * 1024)

int aim_copy_sparse(int in_fd, uint64_t from, int out_fd, uint64_t to, uint64_t len,
		    struct aim_sha256 *h, aim_copy_progress_fn progress, void *ud)
{
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	static const uint8_t zero[4096];

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)MIN((uint64_t)CHUNK, len - off);
		int r = aim_pread_full(in_fd, buf, n, from + off);
		if (r < 0)
			return r;
		if (h && (r = aim_sha256_update(h, buf, n)) < 0)
			return r;
		for (size_t b = 0; out_fd >= 0 && b < n; b += 4096) {
			size_t l = MIN((size_t)4096, n - b);
			if (memcmp(buf + b, zero, l)) {
				r = aim_pwrite_full(out_fd, buf + b, l, to + off + b);
				if (r < 0)
					return r;
			}
		}
		off += n;
		if (progress)
			progress(ud, off, len);
	}
	return 0;
}
