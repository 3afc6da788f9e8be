/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Opening an input disk image: raw .img, .img.xz (multi-threaded xz decoder where the
 * stream has several blocks) or .img.zst, detected by magic bytes, never by name.
 * Compressed input is decoded once into an unlinked sparse temporary file so that the
 * rest of the pipeline has random access; the input file itself is opened read-only.
 */
#ifndef AIM_INPUT_H
#define AIM_INPUT_H

#include <stddef.h>
#include <stdint.h>

enum aim_input_format { AIM_INPUT_RAW, AIM_INPUT_XZ, AIM_INPUT_ZSTD };

/* Progress callback: done/total in bytes of *compressed* input consumed. */
typedef void (*aim_progress_fn)(void *ud, uint64_t done, uint64_t total);

struct aim_input;

/*
 * Opens path. tmpdir (NULL: $TMPDIR or /var/tmp) receives the decoded temporary file.
 * threads: decoder threads (0 = number of CPUs).
 * Errors: -ENOENT/-EACCES..., -EBADMSG (corrupt or truncated compressed stream, with a
 * detail), -EOPNOTSUPP (gzip/bzip2/... named in the detail), -ENOSPC.
 */
int aim_input_open(const char *path, const char *tmpdir, unsigned threads, aim_progress_fn fn,
		   void *ud, struct aim_input **ret);
struct aim_input *aim_input_free(struct aim_input *in);

/* The raw image: a read-only fd with random access, its size in bytes, its format, and a
 * path that libraries which open by name can use ("/proc/self/fd/N" for a temporary). */
int aim_input_fd(const struct aim_input *in);
uint64_t aim_input_size(const struct aim_input *in);
enum aim_input_format aim_input_format(const struct aim_input *in);
const char *aim_input_format_name(enum aim_input_format f);
const char *aim_input_path(const struct aim_input *in);

/* Detects the format from the first bytes of a buffer (at least 6 bytes).
 * Returns the format, or -EOPNOTSUPP for a known but unsupported compressor. */
int aim_input_detect(const void *buf, size_t len);

#endif
