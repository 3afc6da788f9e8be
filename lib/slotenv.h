/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /slot-X/slot.env: what a slot holds (docs/device-cli.md), key=value lines. The one
 * writer and the one reader: convert stages it, install and the target read and write it.
 * With the release key it is signed: slot.env.minisig next to it (docs/verity.md).
 */
#ifndef AIM_SLOTENV_H
#define AIM_SLOTENV_H

#include <stddef.h>
#include <stdint.h>

#define AIM_SLOT_ENV "slot.env"

struct aim_slot_info {
	char version[64];
	char board[64];
	char family[64];
	char arch[32];
	char source[16]; /* convert | bundle */
	uint64_t rootfs_size;
	char rootfs_sha256[65];
	int64_t installed; /* unix time, 0 unknown */
	char bundle[65];   /* manifest sha256, or empty */
	/* dm-verity (docs/verity.md): all set when verity is 1, all zero when it is 0. The
	 * tree follows the data in the slot partition, at verity_hash_offset. */
	int verity;
	char verity_alg[16];   /* "sha256" */
	uint32_t verity_block; /* 4096: data and hash block size */
	uint64_t verity_data_blocks;
	uint64_t verity_hash_offset; /* bytes from the partition start (data_blocks * block) */
	char verity_salt[65];  /* 64 lower-case hex digits */
	char verity_root[65];
};

/* The detached signature of slot.env next to it (docs/verity.md). */
#define AIM_SLOT_ENV_SIG "slot.env.minisig"
#define AIM_SLOT_ENV_SIG_COMMENT "armimmutable slot.env"
/* What install adds to a bundle's signed slot.env: installed=, bundle= (same syntax). */
#define AIM_SLOT_INSTALL_ENV "install.env"

/* Pure: parses slot.env text. -EBADMSG for a line without '=' or a bad number (the
 * detail names the line). Unknown keys are ignored; too long values are -EBADMSG.
 * verity=1 needs every verity_ key, consistent (sha256, 4096, hash offset = data blocks
 * * 4096, 64 lower-case hex digits), else -EBADMSG; without verity=1 they are ignored. */
int aim_slot_info_parse(const char *buf, size_t len, struct aim_slot_info *ret);
/* Pure: formats into a malloc'ed string; returns its length. -EINVAL for a value with a
 * newline, or verity parameters the parser would refuse. */
int aim_slot_info_format(const struct aim_slot_info *si, char **ret);

struct aim_seckey;
struct aim_verity;
/* The verity keys of slot.env from v. */
void aim_slot_info_set_verity(struct aim_slot_info *si, const struct aim_verity *v);
/* Writes dir/slot.env from si and, with sk, dir/slot.env.minisig: a detached minisign
 * signature of its exact bytes, trusted comment "armimmutable slot.env"; both files get
 * the mtime epoch. */
int aim_slot_env_write(const char *dir, const struct aim_slot_info *si,
		       const struct aim_seckey *sk, uint32_t epoch);
/* dir/name written atomically, with the mtime epoch (a staged boot partition file). */
int aim_slot_file_write(const char *dir, const char *name, const void *buf, size_t len,
			uint32_t epoch);

#endif
