/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * newc cpio ("070701"/"070702"), as the kernel's init/initramfs.c reads it: a streaming
 * reader (bytes in any chunks; each entry reported once its header, name and, when
 * wanted, data are in) and a writer into a growable buffer.
 */
#ifndef AIM_CPIO_H
#define AIM_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define AIM_CPIO_HDR 110

struct aim_cpio_reader {
	/* Set by the caller. want: keep this entry's data for entry()? (1 yes, 0 no).
	 * entry: one entry (data NULL when not kept); a negative return stops reading. */
	int (*want)(void *ud, const char *name, uint32_t mode, uint32_t size);
	int (*entry)(void *ud, const char *name, uint32_t mode, const uint8_t *data,
		     uint32_t size);
	void *ud;
	const char *where; /* names the stream in error details ("initramfs", "gzip") */
	bool multi;	   /* archives and zero padding to the end (inside a member) */
	uint64_t pos;	   /* offset of the next byte in the stream (alignment, details) */
	/* state */
	int state;
	uint64_t h;	   /* offset of the current header */
	uint8_t hdr[AIM_CPIO_HDR];
	uint32_t f[13];
	size_t have;
	uint64_t skip;	   /* bytes left in the current field */
	struct aim_buf name, data;
	bool keep, started;
};

/* Consumes p[0..len): *used bytes were taken. Returns 1 when a (single) archive's
 * TRAILER!!! and its padding were read (not in multi mode), 0 when all of p was used,
 * or -EBADMSG (corrupt archive, detail set) or the entry callback's error. */
int aim_cpio_feed(struct aim_cpio_reader *r, const uint8_t *p, size_t len, size_t *used);
/* The stream ended: 0 when that is a valid place, else -EBADMSG (truncated). */
int aim_cpio_end(struct aim_cpio_reader *r);
void aim_cpio_reader_free(struct aim_cpio_reader *r);

/* Writing: entries with inode numbers 1, 2, ... and one mtime. */
struct aim_cpio_writer {
	struct aim_buf b;
	uint32_t ino, mtime;
};
int aim_cpio_add(struct aim_cpio_writer *w, const char *name, uint32_t mode, const void *data,
		 size_t size);
/* The TRAILER!!! entry (inode 0). */
int aim_cpio_finish(struct aim_cpio_writer *w);

#endif
