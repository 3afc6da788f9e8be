/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/util/sha256.c (OpenSSL EVP): the FIPS 180-2 vectors, incremental hashing in odd splits
 * equal to one shot, against libsodium's portable SHA-256 on random buffers up to 3 MiB, one
 * context reused for several hashes, and the misuse errors (update/final without init, final
 * twice, a NULL context) with their messages. Also a speed line in CPU time (not a test).
 */
#include "util/sha256.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "base/log.h"

static int has(const char *s, const char *sub)
{
	return s && strstr(s, sub);
}

static const char *hexof(const uint8_t md[AIM_SHA256_BYTES])
{
	static char h[2 * AIM_SHA256_BYTES + 1];

	aim_sha256_hex(md, h);
	return h;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	static const size_t sizes[] = {1,    55,   56,      63,
				       64,   65,   4095,    4096,
				       1 << 20,    3 * 1024 * 1024 + 17};
	static const char *const abc56 =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct aim_sha256 h = {0};
	uint8_t md[AIM_SHA256_BYTES], md2[AIM_SHA256_BYTES];
	size_t big = 3 * 1024 * 1024 + 17;
	uint8_t *buf = malloc(big);
	int bad = 0;

	if (!buf || sodium_init() < 0)
		return 99;

	/* ---- FIPS 180-2 vectors ---- */
	is_int(aim_sha256_oneshot("", 0, md), 0, "one shot of nothing");
	is_str(hexof(md), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "SHA-256 of the empty string");
	is_int(aim_sha256_oneshot("abc", 3, md), 0, "one shot of 'abc'");
	is_str(hexof(md), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of 'abc'");
	is_int(aim_sha256_oneshot(abc56, strlen(abc56), md), 0, "one shot of the 56-byte vector");
	is_str(hexof(md), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "SHA-256 of the 448-bit vector");
	memset(buf, 'a', 1000000);
	is_int(aim_sha256_init(&h), 0, "init");
	for (size_t off = 0; off < 1000000; off += 999)
		bad |= aim_sha256_update(&h, buf + off, off + 999 > 1000000 ? 1000000 - off : 999);
	is_int(bad, 0, "a million 'a' in 999-byte updates");
	is_int(aim_sha256_final(&h, md), 0, "final");
	is_str(hexof(md), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "SHA-256 of a million 'a'");

	/* ---- against libsodium, split in odd pieces, one context reused throughout ---- */
	randombytes_buf(buf, big);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], split = n / 3 + 1, off = 0;
		int r = aim_sha256_init(&h);

		while (r == 0 && off < n) {
			size_t l = split < n - off ? split : n - off;
			r = aim_sha256_update(&h, buf + off, l);
			off += l;
			split = split * 7 % 65537 + 1;
		}
		if (r == 0)
			r = aim_sha256_final(&h, md);
		crypto_hash_sha256(md2, buf, n);
		is_int(r, 0, "%zu bytes hashed in pieces", n);
		ok(!memcmp(md, md2, sizeof(md)), "%zu bytes: equal to libsodium's SHA-256", n);
		is_int(aim_sha256_oneshot(buf, n, md2), 0, "%zu bytes in one shot", n);
		ok(!memcmp(md, md2, sizeof(md)), "%zu bytes: pieces equal one shot", n);
	}
	/* A context re-init'ed mid-hash starts afresh. */
	is_int(aim_sha256_init(&h), 0, "init");
	is_int(aim_sha256_update(&h, "garbage", 7), 0, "update");
	is_int(aim_sha256_init(&h), 0, "init again before final");
	is_int(aim_sha256_update(&h, "abc", 3), 0, "update");
	is_int(aim_sha256_final(&h, md), 0, "final");
	is_str(hexof(md), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "a second init discards what came before");

	/* ---- misuse ---- */
	aim_error_clear();
	is_int(aim_sha256_final(&h, md), -EINVAL, "final twice: -EINVAL");
	ok(has(aim_error_detail(), "SHA-256: final without init"), "message: %s",
	   aim_error_detail());
	aim_error_clear();
	is_int(aim_sha256_update(&h, "x", 1), -EINVAL, "update after final: -EINVAL");
	ok(has(aim_error_detail(), "SHA-256: update without init"), "message: %s",
	   aim_error_detail());
	aim_sha256_done(&h);
	ok(h.ctx == NULL && !h.started, "done: the struct is zeroed");
	aim_sha256_done(&h);
	aim_sha256_done(NULL);
	ok(1, "done twice and done(NULL) are harmless");
	aim_error_clear();
	is_int(aim_sha256_update(&h, "x", 1), -EINVAL, "update on a fresh struct: -EINVAL");
	ok(has(aim_error_detail(), "without init"), "message: %s", aim_error_detail());
	aim_error_clear();
	is_int(aim_sha256_init(NULL), -EINVAL, "init(NULL): -EINVAL");
	ok(has(aim_error_detail(), "SHA-256: no context"), "message: %s", aim_error_detail());

	/* ---- speed, for the log ---- */
	{
		crypto_hash_sha256_state st;
		double t0 = now(), t1, t2;

		for (int i = 0; i < 64; i++)
			aim_sha256_oneshot(buf, 1 << 20, md);
		t1 = now();
		for (int i = 0; i < 64; i++) {
			crypto_hash_sha256_init(&st);
			crypto_hash_sha256_update(&st, buf, 1 << 20);
			crypto_hash_sha256_final(&st, md2);
		}
		t2 = now();
		printf("# SHA-256 of 64 MiB, per CPU second: OpenSSL %.0f MiB/s, libsodium %.0f "
		       "MiB/s\n", 64 / (t1 - t0), 64 / (t2 - t1));
	}
	free(buf);
	return done_testing();
}
