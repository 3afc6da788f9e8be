/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing an aim_tree as a squashfs 4.0 image through libsquashfs (squashfs-tools-ng),
 * straight into an output file at an offset (a slot partition of the output image).
 * Deterministic: the same tree and options give the same bytes.
 */
#ifndef AIM_SQUASHFS_H
#define AIM_SQUASHFS_H

#include <stdint.h>

#include "tree.h"

struct aim_sqfs_opts {
	const char *comp;    /* "zstd" (default), "xz", "gzip", "lz4" */
	int level;           /* 0: the compressor's default in our table */
	uint32_t block_size; /* 0: 128 KiB */
	unsigned threads;    /* 0: number of CPUs */
	uint32_t mkfs_time;  /* superblock time (SOURCE_DATE_EPOCH by the caller) */
	/* Layout for delta updates (docs/delta.md); all 0: packed, as mksquashfs does. */
	uint32_t align;      /* >1 (power of 2): each file's data and each fragment block start
				at a multiple of it, zeros between */
	int no_fragments;    /* every file tail in a block of its own */
	uint32_t frag_group; /* >0: a new fragment block after each file whose path hashes to
				0 mod frag_group (content-defined groups of small files) */
};

struct aim_sqfs_stats {
	uint64_t files, dirs, others, hardlinks;
	uint64_t bytes_in;       /* file data read */
	uint64_t bytes_out;      /* image size, padded to 4 KiB */
	uint64_t xattrs_dropped; /* names squashfs cannot hold (system.*) */
	uint64_t times_clamped;  /* mtimes outside 0..2^32-1 */
};

typedef void (*aim_sqfs_progress_fn)(void *ud, uint64_t done, uint64_t total);

/*
 * Writes t to fd at byte offset; the image may use at most max_size bytes
 * (-ENOSPC with a detail when it would not fit). progress reports file data bytes
 * processed out of the tree's total. Errors: -EINVAL (bad compressor/level),
 * -ENOSPC, -EFBIG (more than 65536 distinct uid/gid), -EIO.
 */
int aim_sqfs_write(const struct aim_tree *t, int fd, uint64_t offset, uint64_t max_size,
		   const struct aim_sqfs_opts *o, aim_sqfs_progress_fn progress, void *ud,
		   struct aim_sqfs_stats *ret_stats);

/* The frag_group of --sqfs-layout delta (docs/delta.md: the smallest s1 download within
 * 3 % of size). */
#define AIM_SQFS_DELTA_GROUP 4

/* Sets o's layout fields from a --sqfs-layout value: "packed" (all 0), "delta" (frag_group
 * AIM_SQFS_DELTA_GROUP), or a comma-separated list of "groups=N" (1..65536),
 * "no-fragments", "align=N" (a power of two 512..1 MiB). -EINVAL with a detail. */
int aim_sqfs_parse_layout(const char *s, struct aim_sqfs_opts *o);

/* The default level for a compressor, from the measured table in docs/compression.md. */
int aim_sqfs_default_level(const char *comp);
/* The levels a compressor takes: 0 with *lo..*hi, or -EINVAL for an unknown one. */
int aim_sqfs_level_range(const char *comp, int *lo, int *hi);

#endif
