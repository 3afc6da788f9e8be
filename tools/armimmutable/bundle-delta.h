/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef AIM_CLI_BUNDLE_DELTA_H
#define AIM_CLI_BUNDLE_DELTA_H

#include <stddef.h>

#include "sign.h"

/* bundle info BUNDLE --delta-from BASE: prints the predicted download. 0, or -1 after
 * reporting the error. */
int bundle_delta_from(const char *path, const char *base, const struct aim_pubkey *keys,
		      size_t nkeys, int json);

#endif
