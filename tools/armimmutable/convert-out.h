/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * convert's OUTPUT (docs/convert.md, "Compressed output"): a raw image written to
 * OUT.tmp-PID and renamed, or, for OUT ending in .xz or .zst, the raw image assembled in
 * an unnamed temporary file in OUT's directory (O_TMPFILE: gone with the process, whatever
 * ends it), compressed to OUT.tmp-PID, renamed, and OUT.sha256 beside it ("<hex>  <name>",
 * as sha256sum writes and Armbian publishes), written the same way.
 */
#ifndef AIM_CONVERT_OUT_H
#define AIM_CONVERT_OUT_H

#include "base/fileio.h"
#include "outcomp.h"

struct progress;

struct conv_out {
	enum aim_outcomp_format fmt;
	int level;        /* < 0: the format's default */
	unsigned threads; /* 0: all CPUs */
	struct aim_outfile img, sum;
	int raw_fd;       /* where the conversion writes the raw image */
};

/* Checks OUT's name (-EINVAL with a detail for a compressor convert does not write) and
 * the level for its format; nothing is created. */
int conv_out_check(struct conv_out *o, const char *path);
/* Creates the temporary files (-EEXIST when OUT or OUT.sha256 exists without force). */
int conv_out_open(struct conv_out *o, const char *path, int force);
/* Compresses (with a progress bar) when asked, fsyncs and renames into place. On error
 * nothing is left at OUT or OUT.sha256. */
int conv_out_commit(struct conv_out *o, const char *path, struct progress *pr);
void conv_out_abort(struct conv_out *o);
/* For a signal's cleanup: removes the temporary names (async: no locks, no frees). */
void conv_out_cleanup(void);

#endif
