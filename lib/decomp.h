/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One streaming decoder interface over gzip (zlib), zstd (libzstd) and xz (liblzma),
 * used for compressed input images (input.c) and initramfs members (initrd.c). The
 * caller owns both buffers and calls aim_decomp_run() until it returns 1:
 *
 *   io.in/in_len/in_pos    compressed bytes; in_pos advances over what was consumed
 *   io.out/out_cap/out_pos room for decoded bytes; out_pos advances over what was made
 *   io.finish              no input follows io.in[in_len..] (end of file)
 *
 * Returns 1 at the end of the stream (one gzip member, zstd frame or xz stream; with
 * AIM_DECOMP_CONCAT, at the end of the input after any number of them), 0 when the
 * caller must give more input or more room (refill when in_pos == in_len, drain when
 * out_pos == out_cap), or a negative errno with the error detail set: -EBADMSG for a
 * truncated or corrupt stream ("<label><format> stream is truncated|corrupt (...)"),
 * -ENOMEM.
 */
#ifndef AIM_DECOMP_H
#define AIM_DECOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aim_decomp_format {
	AIM_DECOMP_GZIP,
	AIM_DECOMP_ZSTD,
	AIM_DECOMP_XZ,
};

enum {
	AIM_DECOMP_CONCAT = 1 << 0, /* a whole file: concatenated streams/frames, to EOF */
};

struct aim_decomp_io {
	const uint8_t *in;
	size_t in_len, in_pos;
	uint8_t *out;
	size_t out_cap, out_pos;
	bool finish;
};

struct aim_decomp;

/* The format whose magic starts p[0..len) (gzip, zstd including a leading skippable
 * frame, xz), or -1. */
int aim_decomp_detect(const uint8_t *p, size_t len);
/* The name of a compression whose magic starts p[0..len) that no decoder here reads
 * (lz4, bzip2, lzo, lzma), or NULL. */
const char *aim_decomp_unsupported(const uint8_t *p, size_t len);
const char *aim_decomp_name(enum aim_decomp_format f);

/* threads > 1: xz's multi-threaded decoder (with AIM_DECOMP_CONCAT only). label
 * prefixes error details ("initramfs ", or ""). */
int aim_decomp_new(enum aim_decomp_format f, unsigned flags, unsigned threads,
		   const char *label, struct aim_decomp **ret);
int aim_decomp_run(struct aim_decomp *d, struct aim_decomp_io *io);
/* Bytes consumed and produced since aim_decomp_new. */
uint64_t aim_decomp_total_in(const struct aim_decomp *d);
void aim_decomp_free(struct aim_decomp *d);

#endif
