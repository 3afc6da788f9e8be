/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The verifying half of minisign (minisign 0.11 file formats, README "Signature
 * format"): public key files and detached signature files (prehashed "ED" = Ed25519 over
 * BLAKE2b-512 of the message, legacy "Ed" = Ed25519 over the message, plus the global
 * signature over signature || trusted comment), on libsodium. Libc + libsodium + lib/base
 * only: linked into the library (lib/sign.c builds keys and signing on it) and statically
 * into initramfs/aim-boot, which checks slot.env.minisig before it maps a slot.
 */
#ifndef AIM_SIG_MINISIG_H
#define AIM_SIG_MINISIG_H

#include <stddef.h>
#include <stdint.h>

#define AIM_SIGN_KEYNUM_BYTES 8
#define AIM_SIGN_PK_BYTES 32
#define AIM_SIGN_SK_BYTES 64
#define AIM_SIGN_BYTES 64
#define AIM_SIGN_COMMENT_MAX 1024          /* minisign COMMENTMAXBYTES */
#define AIM_SIGN_TRUSTED_COMMENT_MAX 8192  /* minisign TRUSTEDCOMMENTMAXBYTES */
#define AIM_SIGN_FILE_MAX 16384            /* any key or signature file we read */

struct aim_pubkey {
	uint8_t keynum[AIM_SIGN_KEYNUM_BYTES];
	uint8_t pk[AIM_SIGN_PK_BYTES];
};

/* A parsed signature file. */
struct aim_sig {
	int prehashed; /* "ED" (1) or legacy "Ed" (0) */
	uint8_t keynum[AIM_SIGN_KEYNUM_BYTES];
	uint8_t sig[AIM_SIGN_BYTES];
	char trusted_comment[AIM_SIGN_TRUSTED_COMMENT_MAX];
	uint8_t global_sig[AIM_SIGN_BYTES];
};

/* libsodium's initialisation; -ENOMEM (with a detail) when it fails. */
int aim_sig_init(void);

/* The key id as minisign prints it ("%" PRIX64 of the little-endian key number). */
void aim_sign_keyid(const uint8_t keynum[AIM_SIGN_KEYNUM_BYTES], char ret[17]);

/*
 * Public keys: the text of a minisign public key file (an "untrusted comment:" line,
 * then base64 of "Ed" + key number + key), or just the base64 line (minisign -P).
 * -EBADMSG (not a key, detail says why), -EOPNOTSUPP (other algorithm).
 */
int aim_pubkey_parse(const char *text, size_t len, struct aim_pubkey *ret);
int aim_pubkey_load(const char *path, struct aim_pubkey *ret);
/*
 * Every *.pub file of dir (sorted by name) into keys[0..max): the number loaded, 0 when
 * the directory is missing or empty. A file that is not a key: -EBADMSG with its name.
 * More than max keys: -E2BIG.
 */
int aim_pubkey_load_dir(const char *dir, struct aim_pubkey *keys, size_t max);

/*
 * Parses a signature file's text: four lines, the comments' prefixes, base64 sizes, the
 * algorithm, a printable trusted comment. -EBADMSG with a detail.
 */
int aim_sig_parse(const char *text, size_t len, struct aim_sig *ret);

/*
 * Verifies sig over msg with the key among keys[0..nkeys) whose key number matches,
 * then the global signature over the trusted comment. Returns the index of the key
 * used. -EKEYREJECTED: no trusted key has that key id, or a signature does not
 * verify (detail says which).
 */
int aim_sig_verify(const struct aim_sig *sig, const struct aim_pubkey *keys, size_t nkeys,
		   const void *msg, size_t len);

/* Convenience: aim_sig_parse() then aim_sig_verify(). ret_sig may be NULL. */
int aim_sign_verify_buffer(const char *sigtext, size_t siglen, const struct aim_pubkey *keys,
			   size_t nkeys, const void *msg, size_t len, struct aim_sig *ret_sig);

/* The text helpers the key and signature parsers share (lib/sign.c's secret keys). */
extern const char aim_sig_untrusted_prefix[20]; /* "untrusted comment: " */
extern const char aim_sig_trusted_prefix[18];   /* "trusted comment: " */
/* One line of [*p, end): without its "\n" or "\r\n"; NULL at the end of the text. */
const char *aim_sig_next_line(const char **p, const char *end, size_t *ret_len);
/* Decodes exactly want bytes of base64 (the whole line, nothing else); -EBADMSG. */
int aim_sig_b64_decode(const char *s, size_t n, uint8_t *out, size_t want, const char *what);
int aim_sig_has_prefix(const char *s, size_t n, const char *prefix);
/* Printable one-line text: no control characters but tab (minisign is_printable). */
int aim_sig_printable(const char *s, size_t n);
/* A key or signature file's text (malloc'd), at most AIM_SIGN_FILE_MAX bytes; -EFBIG. */
int aim_sig_load_text(const char *path, char **ret, size_t *ret_len);

#endif
