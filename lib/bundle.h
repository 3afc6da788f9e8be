/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The signed update bundle (docs/ota.md): one stream of
 *   header (64 bytes) | manifest text | minisign signature of the manifest | zero pad
 *   to 4 KiB | payloads, each at a 4 KiB aligned offset, in manifest order, zero padded.
 * The writer builds it from files or file regions; the streaming reader verifies the
 * signature before it returns anything, then hands out the payloads in stream order
 * and hashes them while the caller reads them.
 */
#ifndef AIM_BUNDLE_H
#define AIM_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sign.h"

#define AIM_BUNDLE_MAGIC "AIMBNDL\n"
#define AIM_BUNDLE_FORMAT 1
#define AIM_BUNDLE_HEADER_SIZE 64
#define AIM_BUNDLE_ALIGN 4096
#define AIM_BUNDLE_MANIFEST_MAX (1024 * 1024)
#define AIM_BUNDLE_SIG_MAX 16384
#define AIM_BUNDLE_PAYLOADS_MAX 4096
#define AIM_BUNDLE_NAME_MAX 255

/* Payload kinds this version knows. Others are handed to the caller as they are. */
#define AIM_BUNDLE_KIND_ROOTFS "rootfs" /* the squashfs image for the slot partition */
#define AIM_BUNDLE_KIND_BOOT "boot"     /* a file for /slot-X/<name> on the boot partition */

struct aim_bundle_payload {
	char *name;         /* "rootfs.squashfs"; for boot: the path under /slot-X/ */
	char *kind;         /* "rootfs", "boot", or a kind of a later format revision */
	uint64_t offset;    /* from the start of the payload area; 4 KiB aligned */
	uint64_t size;      /* bytes */
	uint8_t sha256[32];
	char sha256_hex[65];
	char *verity_root;  /* hex, "" when the bundle has none */
	/* With a verity_root (rootfs only, docs/verity.md): the payload is the slot image,
	 * the squashfs and its tree at verity_hash_offset = verity_data_blocks * 4096. */
	char *verity_salt;  /* hex, "" when the bundle has none */
	uint64_t verity_data_blocks, verity_hash_offset;
};

struct aim_bundle_manifest {
	unsigned format;    /* AIM_BUNDLE_FORMAT */
	char *version;      /* VERSION of /etc/armbian-release (or --version) */
	char *board;        /* BOARD */
	char *family;       /* BOARDFAMILY */
	char *linuxfamily;  /* LINUXFAMILY ("" if unknown) */
	char *arch;         /* arm64, armhf, ... */
	char *generator;    /* "armimmutable <version>" */
	uint64_t created;   /* unix time (SOURCE_DATE_EPOCH when set) */
	uint64_t payload_bytes; /* size of the payload area (4 KiB multiple) */
	struct aim_bundle_payload *payloads;
	size_t npayloads;
};

/*
 * Parses manifest text (a buffer: fuzzable). Validates every field: names (no "..",
 * no leading "/", no control characters, unique), kinds, 4 KiB aligned offsets that
 * follow each other without gaps or overlap, sizes that add up to payload_bytes, at most
 * AIM_BUNDLE_PAYLOADS_MAX payloads, at most one rootfs; verity keys only on the rootfs, and
 * with a verity_root all of them (64 lower-case hex digits, hash offset = data blocks *
 * 4096 inside the payload). -EBADMSG with a detail naming
 * the line; -EOPNOTSUPP for a format this version does not read.
 */
int aim_bundle_manifest_parse(const char *text, size_t len, struct aim_bundle_manifest **ret);
struct aim_bundle_manifest *aim_bundle_manifest_free(struct aim_bundle_manifest *m);
/* The payload of that kind (the first one), or NULL. */
const struct aim_bundle_payload *aim_bundle_manifest_find(const struct aim_bundle_manifest *m,
							  const char *kind);

/* ---- Writer ---- */

struct aim_bundle_writer;

struct aim_bundle_meta {
	const char *version, *board, *family, *linuxfamily, *arch; /* required but linuxfamily */
	uint64_t created;
	const char *trusted_comment; /* NULL: "timestamp:<created>\tversion:<version>\t..." */
};

int aim_bundle_writer_new(const struct aim_bundle_meta *meta, struct aim_bundle_writer **ret);
struct aim_bundle_writer *aim_bundle_writer_free(struct aim_bundle_writer *w);
/*
 * Adds a payload: size bytes of fd from offset (the fd stays the caller's and must stay
 * open until aim_bundle_write()). Names are checked as the reader checks them
 * (-EINVAL with a detail); payloads are written in the order they are added.
 */
int aim_bundle_writer_add_fd(struct aim_bundle_writer *w, const char *name, const char *kind,
			     int fd, uint64_t offset, uint64_t size);
/* The verity parameters of the rootfs payload (added before or after), as hex: written
 * into its [payload] section. */
int aim_bundle_writer_set_verity(struct aim_bundle_writer *w, const char *root_hex,
				 const char *salt_hex, uint64_t data_blocks, uint64_t hash_offset);
/* The same for a whole file (opened here, closed by aim_bundle_writer_free()). */
int aim_bundle_writer_add_file(struct aim_bundle_writer *w, const char *name, const char *kind,
			       const char *path);

typedef void (*aim_bundle_progress_fn)(void *ud, uint64_t done, uint64_t total);

/*
 * Writes the bundle at offset 0 of out_fd (a regular file; the caller renames it into
 * place). Reads every payload once, hashing
 * it while it copies it, then writes the manifest and its signature (sk) in front.
 * Does not fsync. Returns 0; -EIO/-ENOSPC... with a detail; -EBADMSG if a source file
 * ended early.
 */
int aim_bundle_write(struct aim_bundle_writer *w, const struct aim_seckey *sk, int out_fd,
		     aim_bundle_progress_fn fn, void *ud);

/* ---- Streaming reader ---- */

/* Fills up to n bytes; 0 only at the true end of the stream; -errno on failure. */
typedef ssize_t (*aim_bundle_read_fn)(void *ud, void *buf, size_t n);

/* aim_bundle_open() flags */
#define AIM_BUNDLE_NO_VERIFY 1u /* skip the signature (bundle info only: nothing is trusted) */

struct aim_bundle_reader;

/*
 * Reads the header, the manifest and its signature from the stream and verifies the
 * signature with the key among keys[0..nkeys) whose id matches, before it parses a byte
 * of the manifest. *ret is set only when all of that succeeded.
 * -EBADMSG: not a bundle, truncated, a length out of bounds, a malformed manifest;
 * -EKEYREJECTED: signature missing or bad, unknown key; -EOPNOTSUPP: newer format.
 * Every error leaves one detail (aim_error_detail()).
 */
int aim_bundle_open(aim_bundle_read_fn fn, void *ud, const struct aim_pubkey *keys,
		    size_t nkeys, unsigned flags, struct aim_bundle_reader **ret);
struct aim_bundle_reader *aim_bundle_close(struct aim_bundle_reader *r);

/* Valid until aim_bundle_close(). */
const struct aim_bundle_manifest *aim_bundle_get_manifest(const struct aim_bundle_reader *r);
/* The manifest text exactly as signed, and its SHA-256 in hex (slot.env "bundle="). */
const char *aim_bundle_manifest_text(const struct aim_bundle_reader *r, size_t *ret_len);
const char *aim_bundle_manifest_sha256(const struct aim_bundle_reader *r);
/* The verified signature (trusted comment, key id); NULL with AIM_BUNDLE_NO_VERIFY. */
const struct aim_sig *aim_bundle_signature(const struct aim_bundle_reader *r);

/*
 * Moves to the next payload in stream order: reads (and checks) whatever the caller left
 * unread of the current one, then the zero padding before the next. Returns 1 and the
 * payload (valid until close), 0 after the last one once the stream has ended where the
 * manifest says (trailing bytes: -EBADMSG), <0 on errors: a hash mismatch of the
 * payload being left is -AIM_E_HASH (base/log.h).
 */
int aim_bundle_next(struct aim_bundle_reader *r, const struct aim_bundle_payload **ret);

/*
 * Reads up to n bytes of the current payload, hashing them. Returns the count; 0 once
 * the whole payload has been read AND its SHA-256 matched the manifest; -AIM_E_HASH on a
 * mismatch (the payload must not be used), -EBADMSG when the stream ends early.
 */
ssize_t aim_bundle_read(struct aim_bundle_reader *r, void *buf, size_t n);

/* Bytes of the stream consumed so far (for progress). */
uint64_t aim_bundle_position(const struct aim_bundle_reader *r);
/* The whole bundle size the manifest implies (known after open). */
uint64_t aim_bundle_total_size(const struct aim_bundle_reader *r);

/* A read callback over a file descriptor, for aim_bundle_open(): ud is an int *. */
ssize_t aim_bundle_fd_read(void *ud, void *buf, size_t n);

#endif
