/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Three-way merge of the account databases (/etc/passwd, shadow, group, gshadow, subuid,
 * subgid) for the state carry (docs/state.md): base = the old system's file, ours = the
 * file as the owner left it on the old system, theirs = the new system's file. Entries
 * are keyed by name (the first field):
 *   - an entry only the owner changed or added is the owner's; one only the update
 *     changed or added is the update's; one the owner removed stays removed, one the
 *     update removed goes unless the owner changed it;
 *   - both changed: the owner's entry wins (password, shell, ...), but the member lists
 *     of group and gshadow are merged (the update's members, less those the owner
 *     removed, plus those the owner added);
 *   - the order is the update's, then the owner's additions; lines that are not entries
 *     (comments) are the update's.
 * Pure: buffers in, a malloc'ed buffer out. libc only.
 */
#ifndef AIM_BASE_ACCOUNTS_H
#define AIM_BASE_ACCOUNTS_H

#include <stdio.h>

/* name: the file's base name ("group"), which decides the member fields. base may be
 * NULL (no old system: every entry of ours counts as the owner's). log (may be NULL):
 * one line per entry where the two sides met. Returns 0 or -ENOMEM. */
int aim_accounts_merge(const char *name, const char *base, const char *ours, const char *theirs,
		       char **ret, FILE *log);

/* Nonzero for the names aim_accounts_merge handles. */
int aim_accounts_is_db(const char *name);

#endif
