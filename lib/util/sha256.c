/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 over OpenSSL's EVP interface (its low-level one in the device build); see sha256.h. */
#ifdef AIM_DEVICE_BUILD
/* SHA256_Init & co. are deprecated in OpenSSL 3.0 in favour of EVP, which is what the host
 * build uses; statically linked, EVP costs 3 MB of providers for one hash. */
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "base/log.h"
#include "util/sha256.h"

#ifdef AIM_DEVICE_BUILD
/* The low-level calls fail on no input (they cannot, in practice); OpenSSL's error queue is
 * left out: ERR_* would link the EVP machinery back in. */
static int ossl_fail(int r, const char *what)
{
	return aim_error_set(r, "SHA-256: %s failed", what);
}
#else
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
#endif

#ifdef AIM_DEVICE_BUILD
static void *ctx_new(void)
{
	return malloc(sizeof(SHA256_CTX));
}

static void ctx_free(void *ctx)
{
	free(ctx);
}

static int ctx_init(void *ctx)
{
	return SHA256_Init(ctx) ? 0 : ossl_fail(-EIO, "SHA256_Init");
}

static int ctx_update(void *ctx, const void *data, size_t len)
{
	return SHA256_Update(ctx, data, len) ? 0 : ossl_fail(-EIO, "SHA256_Update");
}

static int ctx_final(void *ctx, uint8_t out[AIM_SHA256_BYTES])
{
	return SHA256_Final(out, ctx) ? 0 : ossl_fail(-EIO, "SHA256_Final");
}
#else
static void *ctx_new(void)
{
	return EVP_MD_CTX_new();
}

static void ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static int ctx_init(void *ctx)
{
	return EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0
		: ossl_fail(-EIO, "EVP_DigestInit_ex(sha256)");
}

static int ctx_update(void *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx, data, len) ? 0 : ossl_fail(-EIO, "EVP_DigestUpdate");
}

static int ctx_final(void *ctx, uint8_t out[AIM_SHA256_BYTES])
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(ctx, out, &n))
		return ossl_fail(-EIO, "EVP_DigestFinal_ex");
	if (n != AIM_SHA256_BYTES)
		return aim_error_set(-EIO, "SHA-256: OpenSSL gave a %u-byte digest", n);
	return 0;
}
#endif

int aim_sha256_init(struct aim_sha256 *h)
{
	int r;

	if (!h)
		return aim_error_set(-EINVAL, "SHA-256: no context");
	if (!h->ctx) {
		h->ctx = ctx_new();
		if (!h->ctx)
			return aim_error_set(-ENOMEM, "SHA-256: cannot allocate an OpenSSL context");
	}
	h->started = 0;
	r = ctx_init(h->ctx);
	if (r < 0)
		return r;
	h->started = 1;
	return 0;
}

int aim_sha256_update(struct aim_sha256 *h, const void *data, size_t len)
{
	int r;

	if (!h || !h->ctx || !h->started)
		return aim_error_set(-EINVAL, "SHA-256: update without init");
	if (len == 0)
		return 0;
	r = ctx_update(h->ctx, data, len);
	if (r < 0)
		h->started = 0;
	return r;
}

int aim_sha256_final(struct aim_sha256 *h, uint8_t out[AIM_SHA256_BYTES])
{
	if (!h || !h->ctx || !h->started)
		return aim_error_set(-EINVAL, "SHA-256: final without init");
	h->started = 0;
	return ctx_final(h->ctx, out);
}

void aim_sha256_done(struct aim_sha256 *h)
{
	if (!h)
		return;
	ctx_free(h->ctx);
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
