/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the running slot's writable layer holds (status) and what an update's first boot
 * will carry of it (install): docs/state.md. */
#ifndef AIM_CLI_LAYER_H
#define AIM_CLI_LAYER_H

#include "base/json.h"

/* The layer of the running system: "mode" and "slot" from boot.env. Prints nothing when
 * it cannot be read (not an armimmutable device). */
void cli_layer_text(const char *mode, char slot);
void cli_layer_json(struct aim_json *j, const char *mode, char slot);

/* For install: one info line with what the first boot of slot to carries from the running
 * slot's layer and what it drops (persistent mode only). */
void cli_layer_carry_info(const char *mode, char from, char to);

#endif
