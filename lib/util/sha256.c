/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 over OpenSSL's EVP interface; see sha256.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/log.h"
#include "util/sha256.h"

/* The first queued OpenSSL error as "lib:func:reason" text (the queue is cleared), or a
 * generic phrase when OpenSSL left none. */
static int ossl_fail(int r, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_clear_error();
	if (!e)
		return aim_error_set(r, "SHA-256: %s failed (OpenSSL gave no reason)", what);
	ERR_error_string_n(e, buf, sizeof(buf));
	return aim_error_set(r, "SHA-256: %s failed: %s", what, buf);
}

#ifdef AIM_DEVICE_BUILD
/* The static device binary hashes only: it has no use for the system's openssl.cnf, whose
 * providers (modules) it could not load anyway. */
static int ossl_setup(void)
{
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		return ossl_fail(-EIO, "initialising OpenSSL");
	return 0;
}
#else
static int ossl_setup(void)
{
	return 0;
}
#endif

int aim_sha256_init(struct aim_sha256 *h)
{
	int r;

	if (!h)
		return aim_error_set(-EINVAL, "SHA-256: no context");
	if (!h->ctx) {
		r = ossl_setup();
		if (r < 0)
			return r;
		h->ctx = EVP_MD_CTX_new();
		if (!h->ctx)
			return aim_error_set(-ENOMEM, "SHA-256: cannot allocate an OpenSSL context");
	}
	h->started = 0;
	if (!EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		return ossl_fail(-EIO, "EVP_DigestInit_ex(sha256)");
	h->started = 1;
	return 0;
}

int aim_sha256_update(struct aim_sha256 *h, const void *data, size_t len)
{
	if (!h || !h->ctx || !h->started)
		return aim_error_set(-EINVAL, "SHA-256: update without init");
	if (len == 0)
		return 0;
	if (!EVP_DigestUpdate(h->ctx, data, len)) {
		h->started = 0;
		return ossl_fail(-EIO, "EVP_DigestUpdate");
	}
	return 0;
}

int aim_sha256_final(struct aim_sha256 *h, uint8_t out[AIM_SHA256_BYTES])
{
	unsigned int n = 0;

	if (!h || !h->ctx || !h->started)
		return aim_error_set(-EINVAL, "SHA-256: final without init");
	h->started = 0;
	if (!EVP_DigestFinal_ex(h->ctx, out, &n))
		return ossl_fail(-EIO, "EVP_DigestFinal_ex");
	if (n != AIM_SHA256_BYTES)
		return aim_error_set(-EIO, "SHA-256: OpenSSL gave a %u-byte digest", n);
	return 0;
}

void aim_sha256_done(struct aim_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	h->started = 0;
}

int aim_sha256_oneshot(const void *data, size_t len, uint8_t out[AIM_SHA256_BYTES])
{
	struct aim_sha256 h = {0};
	int r;

	r = aim_sha256_init(&h);
	if (r == 0)
		r = aim_sha256_update(&h, data, len);
	if (r == 0)
		r = aim_sha256_final(&h, out);
	aim_sha256_done(&h);
	return r;
}

void aim_sha256_hex(const uint8_t md[AIM_SHA256_BYTES], char out[2 * AIM_SHA256_BYTES + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < AIM_SHA256_BYTES; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * AIM_SHA256_BYTES] = 0;
}
