/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Delta installs (docs/delta.md sections 6-7): a bundle read with random access (a file,
 * a block device, an HTTP(S) server that honours Range) is handed to the installer as the
 * same byte stream a full download gives, but assembled from three places: pieces the
 * target slot already holds (a resumed install), pieces of the running slot (found by the
 * SHA-256 in its block index, wherever they lie) and ranges fetched from the source. The
 * installer's checks stay as they are (signature, every payload's SHA-256, the slot
 * marked bad first and put on trial last); on top, every piece is checked against the
 * bundle's index before it is handed out, and a piece of the running slot that does not
 * match (a corrupt slot) is fetched instead.
 *
 * Without a plan (aim_delta_plan() said why) the stream is fetched whole, by ranges.
 */
#ifndef AIM_DELTA_H
#define AIM_DELTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle.h"
#include "delta-index.h"
#include "source.h"
#include "target.h"

struct aim_delta;

struct aim_delta_stats {
	uint64_t total;     /* bundle bytes */
	uint64_t fetched;   /* body bytes received from the source */
	uint64_t local;     /* bytes copied from the running slot (rootfs and boot files) */
	uint64_t held;      /* rootfs bytes the target slot already held (not written) */
	uint64_t zero;      /* rootfs bytes of zeros, made locally */
	uint64_t computed;  /* bytes of the verity tree made here from the data */
	uint64_t to_fetch;  /* the plan's prediction of fetched */
	unsigned requests;  /* source requests */
	unsigned refetched; /* pieces of the running slot that did not match and were fetched */
	int planned;        /* 1: delta; 0: the whole bundle is fetched (why: aim_delta_why) */
};

/*
 * Reads the bundle's header, manifest and signature from src (random access), checks the
 * signature with keys (nkeys 0: not checked, for bundle info) and the source size.
 * -EOPNOTSUPP when src has no random access (the caller streams it instead).
 */
int aim_delta_open(struct aim_source *src, const struct aim_pubkey *keys, size_t nkeys,
		   struct aim_delta **ret);
struct aim_delta *aim_delta_free(struct aim_delta *d);
static inline void aim_delta_freep(struct aim_delta **d)
{
	aim_delta_free(*d);
}
const struct aim_bundle_manifest *aim_delta_manifest(const struct aim_delta *d);

/*
 * Plans the install of the bundle into slot `slot` of t while slot `cur` runs: fetches and
 * checks the bundle's index, reads the running slot's index and boot files, and hashes
 * what the target slot holds (slot 0: nothing, for a prediction). 0: planned; 1: no delta
 * possible, the reason in aim_delta_why() (the whole bundle is fetched); <0 errors (a
 * bundle index that does not match the signed manifest: -EBADMSG).
 */
int aim_delta_plan(struct aim_delta *d, struct aim_target *t, char cur, char slot);
/* The same against another bundle (bundle info --delta-from BUNDLE), for a prediction. */
int aim_delta_plan_bundle(struct aim_delta *d, struct aim_delta *base);
const char *aim_delta_why(const struct aim_delta *d);

/* The boot files (names under /slot-X/) the target slot already holds with the bundle's
 * bytes, NULL-terminated: install keeps them when it clears the slot, so that a rerun
 * after a cut does not fetch them again. Valid until aim_delta_free(). */
const char *const *aim_delta_keep(const struct aim_delta *d);

/* The bundle as one stream (an aim_bundle_read_fn): ud is the struct aim_delta. */
ssize_t aim_delta_read(void *ud, void *buf, size_t n);

/* Within the rootfs payload: 1 when [off, off + *len) starts with bytes the target slot
 * already holds (*len cut to their end), 0 when not (*len cut to where that ends). */
int aim_delta_held(struct aim_delta *d, uint64_t off, uint64_t *len);

void aim_delta_get_stats(const struct aim_delta *d, struct aim_delta_stats *ret);

#endif
