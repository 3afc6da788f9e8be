/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ed25519 keys and detached signatures in minisign's file formats (minisign 0.11,
 * src/minisign.h and README "Signature format"), on libsodium: public key files,
 * secret key files (unencrypted or scrypt-encrypted, B2 checksum) and signature files
 * (prehashed "ED" = Ed25519 over BLAKE2b-512 of the message, legacy "Ed" = Ed25519 over
 * the message, plus the global signature over signature || trusted comment).
 */
#ifndef AIM_SIGN_H
#define AIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "sig/minisig.h"

/* Holds the secret: wipe it with aim_seckey_wipe() when done. */
struct aim_seckey {
	uint8_t keynum[AIM_SIGN_KEYNUM_BYTES];
	uint8_t sk[AIM_SIGN_SK_BYTES];
};

/* A fresh random key pair. -ENOMEM if libsodium cannot initialise. */
int aim_sign_keygen(struct aim_pubkey *ret_pub, struct aim_seckey *ret_sec);
/* The public half of a secret key. */
void aim_seckey_pubkey(const struct aim_seckey *sk, struct aim_pubkey *ret);
void aim_seckey_wipe(struct aim_seckey *sk);

/* The file text, malloc'd: "untrusted comment: minisign public key <ID>\n<base64>\n". */
int aim_pubkey_format(const struct aim_pubkey *pk, char **ret);

/*
 * Secret keys. password may be NULL: an encrypted key then fails with -ENOKEY ("needs a
 * password"); a wrong password gives -EKEYREJECTED. Unsupported KDF/checksum: -EOPNOTSUPP.
 */
int aim_seckey_parse(const char *text, size_t len, const char *password,
		     struct aim_seckey *ret);
int aim_seckey_load(const char *path, const char *password, struct aim_seckey *ret);
/* 1 if the key file text is password-protected, 0 if not, <0 if it is not a key. */
int aim_seckey_is_encrypted(const char *text, size_t len);
/*
 * The file text (malloc'd; wipe it with aim_sign_free_secret()). password NULL or "":
 * unencrypted (minisign -W). opslimit/memlimit 0: minisign's defaults (scrypt
 * "sensitive": about 1 GiB and a few seconds), halved while the machine refuses.
 */
int aim_seckey_format(const struct aim_seckey *sk, const char *password, uint64_t opslimit,
		      uint64_t memlimit, char **ret);
void aim_sign_free_secret(char *s);

/*
 * Signs msg (prehashed "ED", as minisign 0.11 does by default) and returns the text of
 * a signature file (malloc'd). trusted_comment: one line of printable text (NULL: a
 * timestamp), untrusted_comment likewise (NULL: minisign's default). -EINVAL for a
 * comment with control characters or too long.
 */
int aim_sign_buffer(const struct aim_seckey *sk, const void *msg, size_t len,
		    const char *trusted_comment, const char *untrusted_comment, char **ret);

#endif
