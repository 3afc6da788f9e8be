/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compressed output images (docs/convert.md, "Compressed output"): a finished raw image
 * streamed through liblzma's multi-threaded encoder (several xz blocks, so that xz can
 * decompress in parallel too) or libzstd with worker threads, the compressed bytes hashed
 * on the way for the OUT.sha256 file Armbian publishes beside its images. Holes of the
 * raw image (SEEK_HOLE) are fed from one zero buffer, never read.
 */
#ifndef AIM_OUTCOMP_H
#define AIM_OUTCOMP_H

#include <stdint.h>

#include "util/sha256.h"

enum aim_outcomp_format {
	AIM_OUTCOMP_RAW,
	AIM_OUTCOMP_XZ,
	AIM_OUTCOMP_ZSTD,
};

/* The format an output name asks for: .xz, .zst (else raw). A suffix of another
 * compressor (.gz, .bz2, .lz4, .lzma, .zip, .zstd) is -EINVAL with a detail: the image
 * would be written raw under a compressed name. */
int aim_outcomp_from_name(const char *path, enum aim_outcomp_format *ret);
const char *aim_outcomp_name(enum aim_outcomp_format f);

/* The default level (xz 6, zstd 3: the command-line tools' own) and the range. */
int aim_outcomp_default_level(enum aim_outcomp_format f);
int aim_outcomp_level_range(enum aim_outcomp_format f, int *lo, int *hi);

typedef void (*aim_outcomp_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* Compresses in_fd[0, size) to out_fd (written from its current position on). level < 0:
 * the default; threads 0: the number of CPUs. h (may be NULL, started) hashes every
 * compressed byte written. xz: blocks of AIM_OUTCOMP_XZ_BLOCK bytes of input. */
#define AIM_OUTCOMP_XZ_BLOCK (32ULL * 1024 * 1024)
int aim_outcomp_write(enum aim_outcomp_format f, int level, unsigned threads, int in_fd,
		      uint64_t size, int out_fd, struct aim_sha256 *h,
		      aim_outcomp_progress_fn fn, void *ud);

#endif
