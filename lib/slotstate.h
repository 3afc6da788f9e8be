/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The A/B slot state record, host side. The code lives in lib/base/ so that the static
 * initramfs helper and the host library compile the very same functions.
 */
#ifndef AIM_SLOTSTATE_H
#define AIM_SLOTSTATE_H

#include "base/slotstate.h"
#include "base/slotstate_io.h"

#endif
