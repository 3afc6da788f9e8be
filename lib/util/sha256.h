/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 for bulk data (payloads, slot images), on OpenSSL's libcrypto: EVP_sha256() picks
 * the ARMv8 SHA2 instructions, SHA-NI or AVX2 where the CPU has them (several times
 * libsodium's portable code). libsodium stays for everything else (Ed25519, hex, scrypt).
 *
 * One context is allocated by the first aim_sha256_init() and reused by every later init on
 * the same struct (a new hash each time); aim_sha256_done() frees it. A zeroed struct is a
 * valid, empty one:
 *
 *	struct aim_sha256 h = {0};
 *	r = aim_sha256_init(&h);          ... aim_sha256_update(&h, buf, n) ...
 *	r = aim_sha256_final(&h, md);     (h can be init'ed again for the next hash)
 *	aim_sha256_done(&h);
 *
 * Every function returns 0 or -Exxx with a detail in aim_error_set() ("SHA-256: ...").
 *
 * The static device build (AIM_DEVICE_BUILD) uses OpenSSL's low-level SHA256_Init/Update/
 * Final instead: the same assembly, without the EVP/provider machinery that static linking
 * would otherwise pull in (the arm64 device CLI: 0.93 MB instead of 4.2 MB).
 */
#ifndef AIM_UTIL_SHA256_H
#define AIM_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AIM_SHA256_BYTES 32

struct aim_sha256 {
	void *ctx;   /* OpenSSL's EVP_MD_CTX (SHA256_CTX in the device build) */
	int started; /* init'ed and not yet final'ed */
};

/* Starts a new hash (allocating the context the first time). -ENOMEM, -EIO. */
int aim_sha256_init(struct aim_sha256 *h);
/* -EINVAL when h is not started (no init, or final already called). */
int aim_sha256_update(struct aim_sha256 *h, const void *data, size_t len);
/* Writes the digest and ends the hash; h may be init'ed again. -EINVAL when not started. */
int aim_sha256_final(struct aim_sha256 *h, uint8_t out[AIM_SHA256_BYTES]);
/* Frees the context (h becomes a zeroed struct again). NULL and zeroed structs are fine. */
void aim_sha256_done(struct aim_sha256 *h);
/* The digest of one buffer. */
int aim_sha256_oneshot(const void *data, size_t len, uint8_t out[AIM_SHA256_BYTES]);
/* Lower-case hex of a digest, NUL-terminated. */
void aim_sha256_hex(const uint8_t md[AIM_SHA256_BYTES], char out[2 * AIM_SHA256_BYTES + 1]);

#endif
