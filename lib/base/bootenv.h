/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /run/armimmutable/boot.env: what aim-boot decided at boot (docs/boot.md), one key=value
 * a line, read back by aim-boot mark-good and trial-watch and by the device CLI
 * (lib/target.c). The directory, the file names and the keys are defined here only.
 */
#ifndef AIM_BASE_BOOTENV_H
#define AIM_BASE_BOOTENV_H

#include <stddef.h>
#include <stdio.h>

#define AIM_RUN_DIR "/run/armimmutable"
#define AIM_BOOT_ENV_NAME "boot.env"
#define AIM_BOOT_ENV AIM_RUN_DIR "/" AIM_BOOT_ENV_NAME
/* this boot's slot was marked good (the trial watchdog stops): the slot letter */
#define AIM_BOOT_GOOD_NAME "good"
#define AIM_BOOT_GOOD AIM_RUN_DIR "/" AIM_BOOT_GOOD_NAME

/* the keys, in the order they are written */
#define AIM_BOOTENV_SLOT "slot"                   /* a or b: the slot booted */
#define AIM_BOOTENV_TRIAL "trial"                 /* 1: a trial boot */
#define AIM_BOOTENV_MODE "mode"                   /* persistent or tmpfs */
#define AIM_BOOTENV_REASON "reason"               /* why the decision differs, or "" */
#define AIM_BOOTENV_CMDLINE_SLOT "cmdline_slot"   /* armimmutable.slot=, or - */
#define AIM_BOOTENV_DISK "disk"                   /* sysfs names: mmcblk0 */
#define AIM_BOOTENV_ROOT_DEV "root_dev"           /* mmcblk0p2 */
#define AIM_BOOTENV_BOOT_DEV "boot_dev"           /* mmcblk0p1 */
#define AIM_BOOTENV_DATA_DEV "data_dev"           /* mmcblk0p4 */
#define AIM_BOOTENV_STATE_SEQ "state_seq"
#define AIM_BOOTENV_STATE_WRITE "state_write"     /* state-N.txt written, or none */
#define AIM_BOOTENV_PERSIST "persist"             /* one line per persistent path */
#define AIM_BOOTENV_GROW "grow"                   /* lib/base/ptgrow.h's message */
#define AIM_BOOTENV_FACTORY_RESET "factory_reset" /* none, done:N, failed:... */
#define AIM_BOOTENV_TRIAL_TIMEOUT "trial_timeout" /* seconds; 0: no watchdog */
#define AIM_BOOTENV_VERITY "verity"               /* 1: / is on a dm-verity device */
#define AIM_BOOTENV_VERITY_ROOT "verity_root"     /* its root hash (signed if keys) */
#define AIM_BOOTENV_VERITY_SIGNED "verity_signed" /* key id of slot.env's signature, or - */

struct aim_bootenv_rec {
	char slot;
	int trial;
	const char *mode, *reason;
	char cmdline_slot;                        /* 0: written as - */
	const char *disk, *root_dev, *boot_dev, *data_dev; /* root_dev "": the four left out */
	unsigned state_seq;
	const char *state_write;
	const char *const *persist;
	int npersist;
	const char *grow;          /* "": left out */
	const char *factory_reset; /* "": none */
	unsigned trial_timeout;
	int verity;                /* the root slot is mapped through dm-verity */
	const char *verity_root;   /* its root hash (hex) */
	const char *verity_signed; /* key id that signed slot.env, NULL/"": unsigned */
};

/* The record as key=value lines on f (aim-boot plan prints the same to stdout). */
void aim_bootenv_format(FILE *f, const struct aim_bootenv_rec *r);
/* Writes dir/boot.env (dir created as needed); -errno, errno set. */
int aim_bootenv_write(const char *dir, const struct aim_bootenv_rec *r);

/* Splits text in place into at most max key=value pairs (lines without '=' or with an
 * empty key are skipped); the number of pairs. */
int aim_bootenv_parse(char *text, const char **keys, const char **vals, int max);
/* The value of the first key= line of text, copied into ret: -ENOENT when absent,
 * -ENAMETOOLONG when it does not fit. */
int aim_bootenv_get(const char *text, const char *key, char *ret, size_t retsz);

/* Writes dir/good with the slot letter (best effort). */
void aim_bootenv_note_good(const char *dir, char slot);

#endif
