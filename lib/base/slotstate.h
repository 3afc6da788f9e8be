/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The A/B slot state record (docs/boot.md). A few key=value lines that U-Boot can
 * `env import -t`, ending with a CRC32 over the lines before it:
 *
 *	aim_seq=7
 *	aim_active=a
 *	aim_try=b            (empty: no slot on trial)
 *	aim_tries_a=0
 *	aim_tries_b=3
 *	aim_good_a=1
 *	aim_good_b=0
 *	aim_reason=          (why the last fallback happened, or empty)
 *	aim_crc=1a2b3c4d
 *
 * Two copies live on the boot partition (state-1.txt, state-2.txt); a writer overwrites
 * the older one, a reader takes the newest valid one. A second tiny file, bootcount.txt
 * ("aim_bc=N", "aim_bc_seq=S"), is written only by U-Boot's boot script: the number of
 * trial boots U-Boot started for state sequence S.
 *
 * GRUB images (docs/boot.md 4b) use the "GRUB flavour" of the same record: a first line
 * "# GRUB Environment Block" (GRUB's envblk signature, so that its load_env reads the
 * copies), covered by the CRC like every other byte before aim_crc, and no backslash in
 * aim_reason (GRUB's escape character). Their bootcount.txt is a GRUB environment block
 * of AIM_GRUBENV_SIZE bytes that GRUB's save_env rewrites in place.
 *
 * Pure functions on buffers, libc only: shared by the host library and the static
 * initramfs helper.
 */
#ifndef AIM_BASE_SLOTSTATE_H
#define AIM_BASE_SLOTSTATE_H

#include <stddef.h>
#include <stdint.h>

#define AIM_SLOTSTATE_MAX 512 /* a formatted record always fits */
#define AIM_SLOTSTATE_TRIES_MAX 9 /* single digit: the boot script counts without setexpr */
#define AIM_SLOTSTATE_REASON_MAX 96
/* The corruption rule (docs/boot.md): boots of the good active slot that never reach
 * boot-complete before the boot script boots the other, good slot. */
#define AIM_SLOTSTATE_ACTIVE_FAILS 3
/* GRUB's envblk signature (grub-core/lib/envblk.h GRUB_ENVBLK_SIGNATURE) */
#define AIM_GRUBENV_SIGNATURE "# GRUB Environment Block\n"
/* bootcount.txt on GRUB images: signature, aim_bc, aim_bc_seq, '#' up to this size */
#define AIM_GRUBENV_SIZE 1024

struct aim_slotstate {
	uint32_t seq;
	char active;   /* 'a' or 'b': the last good slot */
	char try_slot; /* 'a', 'b' or 0: the slot on trial */
	unsigned tries[2]; /* trial boots left, per slot */
	int good[2];
	/* Not stored in the record: trial boots U-Boot counted for this seq (bootcount.txt).
	 * The caller sets it before aim_slotstate_choose(); 0 when U-Boot cannot write. */
	unsigned uboot_count;
	/* Stored as aim_reason. After a failed parse: what was wrong. */
	char reason[AIM_SLOTSTATE_REASON_MAX];
	/* 1: the GRUB flavour (the signature line first). Set by parse, kept by format, so
	 * that a writer of a loaded state keeps the flavour without knowing the boot method. */
	int grubenv;
};

/* The state of a freshly converted image: slot a active and good, nothing on trial, the
 * U-Boot flavour (set grubenv for a GRUB image; after a failed load, copy st->grubenv
 * from it). */
void aim_slotstate_init(struct aim_slotstate *st);

/* Strict parse of one copy: every key exactly once, nothing else, the CRC line last.
 * Returns 0 or -EBADMSG (st->reason names the problem). */
int aim_slotstate_parse(const char *buf, size_t len, struct aim_slotstate *st);

/* Writes the record (NUL-terminated) into buf[AIM_SLOTSTATE_MAX], in the GRUB flavour
 * when st->grubenv. Returns its length (without the NUL) or -EINVAL for a state that does
 * not validate. Characters of the reason outside [ -~] and '=' (and '\\' in the GRUB
 * flavour) become '_'. */
int aim_slotstate_format(const struct aim_slotstate *st, char *buf);

/* Serial-number comparison: nonzero when seq a is newer than b (wraps at 2^32). */
int aim_slotstate_newer(uint32_t a, uint32_t b);

/* Of two copies (either may be NULL/empty or corrupt), the newest valid one into *st,
 * *ret_copy = 1 or 2 (ties: copy 1). -ENOENT when neither is valid: then st->reason
 * holds both problems and st->grubenv says whether either carries GRUB's signature.
 * The next write goes to copy 3 - *ret_copy. */
int aim_slotstate_pick(const char *buf1, size_t len1, const char *buf2, size_t len2,
		       struct aim_slotstate *st, int *ret_copy);

/* Whether buf starts with GRUB's envblk signature (a GRUB-flavoured copy or a GRUB
 * bootcount.txt, whole or not). */
int aim_slotstate_is_grubenv(const char *buf, size_t len);

/* GRUB's bootcount.txt: the signature, "aim_bc=<bc>", "aim_bc_seq=<seq>", then '#' up to
 * AIM_GRUBENV_SIZE bytes (the free space GRUB's save_env needs, no newline at the end),
 * into buf[AIM_GRUBENV_SIZE]. Returns AIM_GRUBENV_SIZE. */
int aim_slotstate_format_grub_bootcount(unsigned bc, uint32_t seq, char *buf);

/* Whether buf is a bootcount.txt GRUB's save_env can rewrite: AIM_GRUBENV_SIZE bytes,
 * the signature, aim_bc and aim_bc_seq readable, '\n' before the '#' padding
 * (grub-core/lib/envblk.c grub_envblk_set finds its free space that way). 1 or 0. */
int aim_slotstate_grub_bootcount_ok(const char *buf, size_t len);

/* Reads bootcount.txt, U-Boot's or GRUB's (lenient: any order, unknown keys, lines
 * without '=' (the signature, '#' padding) and a trailing NUL ignored) and sets
 * st->uboot_count when its aim_bc_seq equals st->seq, else 0.
 * Returns 0, or -EBADMSG when it holds no usable count (uboot_count is then 0). */
int aim_slotstate_apply_bootcount(const char *buf, size_t len, struct aim_slotstate *st);

/*
 * Decides this boot. A slot on trial with tries left is booted (*is_trial = 1) and its
 * counter goes down by max(1, uboot_count); with none left the active slot is booted,
 * the trial is cancelled and st->reason says why. Without a trial, the active slot.
 * Returns 1 when st changed (seq bumped: write it to the older copy), 0 when not,
 * -EINVAL for an inconsistent state.
 */
int aim_slotstate_choose(struct aim_slotstate *st, char *ret_slot, int *ret_is_trial);

/*
 * State changes for the device verbs and the installer. Each returns 1 when st changed (seq
 * bumped: store it to the older copy), 0 when st already said so (nothing to write), or a
 * negative errno when refused; then, when why is not NULL, why[whylen] says why in one line.
 * A refused call leaves st untouched.
 */

/* The slot after a (the other one). */
static inline char aim_slotstate_other(char slot)
{
	return slot == 'a' ? 'b' : 'a';
}

/*
 * Puts slot on trial with `tries` boots (1..AIM_SLOTSTATE_TRIES_MAX) after an install:
 * aim_try=slot, its tries, good 0; reason (may be NULL: kept) becomes aim_reason.
 * -EINVAL for a bad slot or count, -EBUSY when slot is the active one (the fallback must
 * stay bootable while the trial runs).
 */
int aim_slotstate_set_trial(struct aim_slotstate *st, char slot, unsigned tries,
			    const char *reason, char *why, size_t whylen);

/*
 * Marks slot good, as `aim-boot mark-good` does after boot-complete: good=1, active=slot,
 * no trial (tries and reason kept). 0 when it already was the good active slot with no
 * trial.
 */
int aim_slotstate_mark_good(struct aim_slotstate *st, char slot, char *why, size_t whylen);

/*
 * Marks slot bad: it cannot be chosen until it is installed again. For the slot on trial
 * the trial is cancelled; for the inactive slot good=0; both get tries 0 and aim_reason =
 * reason (NULL: "slot X marked bad"). -EBUSY for the active slot (it is the fallback: use
 * rollback first), -EINVAL for a bad slot name.
 */
int aim_slotstate_mark_bad(struct aim_slotstate *st, char slot, const char *reason,
			   char *why, size_t whylen);

/*
 * Rolls back from slot `from` (the booted slot; on an image, the slot the next boot would
 * choose) to the other one: it must be good. It becomes active, any trial is cancelled (a
 * trial slot loses its remaining tries), good flags stay, aim_reason = "rollback
 * requested". -ENOENT when the other slot is not good (why says whether it is on trial or
 * bad), -EINVAL for a bad slot name. 0 when the other slot is already active without a
 * trial.
 */
int aim_slotstate_rollback(struct aim_slotstate *st, char from, char *why, size_t whylen);

/*
 * The initramfs refused to boot slot (its slot.env unsigned, signed by an unknown key,
 * a failed signature, or no verity on a device that requires it): deterministic, so the
 * slot is given up at once instead of trying again. The slot on trial: the trial is
 * cancelled (tries 0, good 0). The active slot with a good other slot: the other becomes
 * active, this one good 0. Otherwise (nothing to fall back to) only the reason. aim_reason
 * = "slot X refused: <why>" (cut to fit). 1 when st changed, -EINVAL for a bad slot or
 * an inconsistent state.
 */
int aim_slotstate_refuse(struct aim_slotstate *st, char slot, const char *why);

/*
 * The corruption rule (docs/boot.md "dm-verity and corruption"): U-Boot counted
 * uboot_count >= fails boots of the good active slot that never reached boot-complete
 * (every boot of the active slot counts while the other slot is good; mark-good resets
 * the count) and booted the other, good slot, which is `mounted`. The mounted slot
 * becomes active, the old one good 0, aim_reason says why. 1 when st changed, 0 when the
 * rule does not apply (a trial, the active slot mounted, a count below fails).
 */
int aim_slotstate_active_failed(struct aim_slotstate *st, char mounted, unsigned fails);

/* The slot the next boot picks without U-Boot counts: the trial slot while it has tries
 * left, else the active slot. */
char aim_slotstate_next_boot(const struct aim_slotstate *st);

#endif
