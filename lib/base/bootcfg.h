/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What aim-boot reads before it decides (docs/boot.md): the kernel command line
 * (armimmutable.slot=, armimmutable.overlay=, armimmutable.trial_timeout=,
 * root=PARTUUID=) and the slot's /etc/armimmutable/armimmutable.conf (OVERLAY=,
 * TRIAL_TIMEOUT=, PERSIST=, KEEP_IDENTITY=, written by convert: lib/transform.c). libc only.
 */
#ifndef AIM_BASE_BOOTCFG_H
#define AIM_BASE_BOOTCFG_H

#include <stddef.h>

#define AIM_BOOTCFG_MAX_PERSIST 32
#define AIM_TRIAL_TIMEOUT_DEFAULT 600 /* seconds a trial boot has to be marked good */
#define AIM_BOOTCFG_INIT {.overlay_cmdline = -1, .trial_timeout = AIM_TRIAL_TIMEOUT_DEFAULT}

struct aim_bootcfg {
	char cmdline_slot; /* armimmutable.slot= */
	char root_partuuid[64]; /* lower case, as udev's /dev/disk/by-partuuid names */
	int overlay_tmpfs; /* from conf, overridden by the cmdline */
	int overlay_cmdline; /* -1 none, 0 persistent, 1 tmpfs */
	char persist[AIM_BOOTCFG_MAX_PERSIST][256];
	int npersist;
	unsigned trial_timeout; /* TRIAL_TIMEOUT= (seconds; 0: no watchdog) */
	int trial_timeout_cmdline; /* armimmutable.trial_timeout= given: it wins */
	int no_identity; /* KEEP_IDENTITY=no: kiosk mode keeps no machine identity (state.md) */
};

/* Both: 0, or -errno with a one-line message in err (-ENOENT: the file cannot be read). */
int aim_bootcfg_cmdline(const char *path, struct aim_bootcfg *c, char *err, size_t errsz);
int aim_bootcfg_conf(const char *path, struct aim_bootcfg *c, char *err, size_t errsz);

#endif
