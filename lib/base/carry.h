/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state carry (docs/state.md): at the first boot of a slot whose payload is new, its
 * writable layer is built from the other slot's (the system the update was installed
 * from): /etc changes, /home, /root and the listed state under /var are kept, account
 * databases merged three-way, everything else (/usr, /var/lib/dpkg, ...) dropped.
 *
 * Layer layout on the data partition: <overlay>/<slot>/{upper,work,base}; "base" holds
 * the identity of the slot payload the layer was built for (aim_carry_slot_ident). The
 * new layer is built as <overlay>/<slot>.new, synced, stamped last, then swapped in by
 * renames (the old one into the trash): a cut at any point leaves the old layer or a
 * complete or incomplete .new, which the next run finishes or rebuilds. The other slot's
 * layer is only read. libc only (aim-boot links it).
 */
#ifndef AIM_BASE_CARRY_H
#define AIM_BASE_CARRY_H

#include <stdint.h>
#include <stdio.h>

/* What the carry does with a path of a layer (relative, no leading '/': "etc/passwd"). */
enum aim_carry_kind {
	AIM_CARRY_DROP,    /* left behind: the new system's own files show */
	AIM_CARRY_KEEP,    /* carried as it is (whiteouts and opaque directories too) */
	AIM_CARRY_ETC,     /* /etc: per file, the owner's changes against the update's */
	AIM_CARRY_DESCEND, /* a directory above kept paths (/var, /var/lib) */
};
enum aim_carry_kind aim_carry_classify(const char *rel);

struct aim_carry_stats {
	unsigned kept;      /* entries copied */
	unsigned merged;    /* account databases merged */
	unsigned conflicts; /* files both sides changed (FILE.aim-new written) */
	unsigned dropped;   /* paths left behind (at the level the policy decides) */
	char from;          /* aim_carry_layer_run: whose layer was carried ('a', 'b'), 0 none */
};

/*
 * Fills the empty directory new_upper from old_upper, a layer that was laid over
 * old_lower, for use over new_lower. old_lower may be NULL (the old system is not
 * available: every file of the old layer counts as the owner's). log (may be NULL): one
 * line per decision. Needs root for owners, whiteouts and trusted.* xattrs.
 */
int aim_carry_tree(const char *old_lower, const char *old_upper, const char *new_lower,
		   const char *new_upper, FILE *log, struct aim_carry_stats *st);

struct aim_carry_layer {
	const char *overlay;   /* the directory holding the slots' layers (<data>/overlay) */
	char slot;             /* the slot about to be booted */
	const char *ident;     /* its payload's identity; "" unknown (nothing is carried) */
	const char *new_lower; /* its root (mounted) */
	const char *old_lower; /* the other slot's root (mounted), NULL when unavailable */
	const char *trash;     /* where the replaced layer goes (deleted by the caller) */
	FILE *log;
};

/* Makes <overlay>/<slot> current for ident. 0: it already was (or ident is unknown),
 * 1: a layer was built (carried from the other slot's, or from the slot's own stale
 * one when the other has none, or empty), -errno with a message in err. */
int aim_carry_layer_run(const struct aim_carry_layer *c, struct aim_carry_stats *st, char *err,
			size_t errsz);

/* The identity of a slot's payload from its slot.env: "<rootfs_sha256> <installed>" (a
 * reinstall of the same bundle is a new payload: its layer is carried again), installed=
 * from install.env beside it when that has one (install's time next to a signed
 * slot.env). "" and -ENOENT when the file or the key is missing. */
int aim_carry_slot_ident(const char *slot_env, char *ret, size_t retsz);

/* What a layer holds, at the level the policy decides (kept: /etc, /home, ...; dropped:
 * /usr, /var/lib/dpkg, ...): fn is called per such path ("/etc") with its allocated
 * bytes. Returns the layer's total bytes, or -errno. */
typedef void (*aim_carry_scan_fn)(void *ud, const char *path, int kept, uint64_t bytes);
int64_t aim_carry_scan(const char *upper, aim_carry_scan_fn fn, void *ud);

#endif
