/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copying a byte range between files: sparse, optionally hashed (convert's bootloader region,
 * a slot's squashfs read back for slot.env and copied into slot B). */
#ifndef AIM_UTIL_COPY_H
#define AIM_UTIL_COPY_H

#include <stdint.h>

#include "util/sha256.h"

typedef void (*aim_copy_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* Copies len bytes from in_fd at from to out_fd at to, 1 MiB at a time, leaving all-zero
 * 4 KiB blocks unwritten (the output is sparse). With out_fd < 0 it only reads. h (may be
 * NULL) hashes every byte read; progress (may be NULL) is told the bytes done after each
 * MiB. */
int aim_copy_sparse(int in_fd, uint64_t from, int out_fd, uint64_t to, uint64_t len,
		    struct aim_sha256 *h, aim_copy_progress_fn progress, void *ud);

#endif
