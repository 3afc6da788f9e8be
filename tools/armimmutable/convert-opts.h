/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What convert and bundle create share: the options that shape a slot (defined once),
 * SOURCE_DATE_EPOCH, where the device side is, the progress of a conversion. */
#ifndef AIM_CONVERT_OPTS_H
#define AIM_CONVERT_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "cli-opts.h"
#include "convert.h"

/* -c, -l, -b, -j, --overlay, --persist, --trial-timeout, --trust, --tmpdir, --verity; the keys of
 * the long-only ones start at 512, clear of a verb's own (256...). */
extern const struct cli_option convert_slot_options[];

/* Applies one of convert_slot_options to o. Returns 1 when key is one of them, 0 when it
 * is not, -AIM_E_USAGE (reported) for a bad value. max_trust: how many --trust keys. */
int convert_slot_option(const char *verb, struct aim_convert_opts *o, int key,
			const char *val, unsigned max_trust);

/* After all options: what one option alone cannot check (the level against the
 * compressor). 0 or -AIM_E_USAGE (reported). */
int convert_slot_check(const char *verb, const struct aim_convert_opts *o);

/* The public half of sk as dir/signer.pub, added to o's trusted keys (the device accepts
 * what this key signs). -E2BIG when o has no room left. */
int trust_signer(const struct aim_seckey *sk, const char *dir, struct aim_convert_opts *o);

/* --verity against the analysed image: 0, after one line saying why verity is off when
 * mode is auto and the kernel cannot; -EOPNOTSUPP (with the detail, not reported) for on
 * with such a kernel. */
int verity_preflight(const char *verb, const struct aim_image_info *ii,
		     enum aim_verity_mode mode);

/* SOURCE_DATE_EPOCH into *ret: 1 when it is set, 0 when not (*ret untouched),
 * -AIM_E_USAGE (reported) when it is no number of seconds up to 2^32-1. */
int source_date_epoch(const char *verb, uint32_t *ret);

/* The device side shipped with this binary: next to it in a build tree (build/dev/,
 * hooks/), else beside <prefix>/bin in <prefix>/libexec/armimmutable and
 * <prefix>/share/armimmutable/hooks (an install, in any prefix or DESTDIR), else the
 * built-in paths of `make install`; AIM_DEVICE_DIR and AIM_HOOKS_DIR override.
 * dev and hooks hold len bytes. */
void find_device_side(char *dev, char *hooks, size_t len);

/* An aim_convert_progress_fn for a struct progress: a bar per phase. */
void conv_progress(void *ud, const char *phase, uint64_t done, uint64_t total);

#endif
