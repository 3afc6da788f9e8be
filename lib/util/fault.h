/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection (aim_fault_point): the code lives in lib/device/fault.c so that the static
 * initramfs helper links the same points; see lib/device/fault.h. */
#ifndef AIM_UTIL_FAULT_H
#define AIM_UTIL_FAULT_H

#include "device/fault.h"

#endif
