/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the device verbs (status, mark-good, mark-bad, rollback, reset) share: opening the
 * target named by --image or the running device (cmd-slot.c). */
#ifndef AIM_CMD_TARGET_H
#define AIM_CMD_TARGET_H

#include "target.h"

/* Opens the image (image != NULL) or the running device; AIM_RUN_DIR, AIM_SYSFS and
 * AIM_DEV_DIR in the environment replace /run/armimmutable, /sys and /dev, and
 * AIM_BOOT_DIR names a directory that stands for the mounted boot partition, and
 * AIM_BOOT_FSTYPE replaces vfat as the type mounted (all for tests).
 * Reports the error itself. */
int cli_target_open(const char *verb, const char *image, int readonly, struct aim_target **ret);

/* "a"/"b" (or "slot-a", "A") into 'a'/'b', else 0. */
char cli_parse_slot(const char *s);

#endif
