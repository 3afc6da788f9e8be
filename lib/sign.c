/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * minisign-compatible Ed25519 keys and signatures on libsodium. Byte layouts (minisign
 * 0.11 src/minisign.h): public key "Ed" keynum[8] pk[32]; secret key "Ed" kdf[2] "B2"
 * salt[32] opslimit_le[8] memlimit_le[8] { keynum[8] sk[64] chk[32] } where the braces
 * are XORed with scrypt(password) when kdf is "Sc" and chk = BLAKE2b-256("Ed" keynum sk);
 * signature "ED"|"Ed" keynum[8] sig[64], then the trusted comment and the global
 * signature over sig || trusted comment.
 */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define PUB_BIN 42  /* 2 + 8 + 32 */
#define SEC_BIN 158 /* 2 + 2 + 2 + 32 + 8 + 8 + (8 + 64 + 32) */
#define SIG_BIN 74  /* 2 + 8 + 64 */
#define SEC_SALT 6
#define SEC_OPS 38
#define SEC_MEM 46
#define SEC_KEYNUM 54 /* start of the encrypted part */
#define SEC_SK 62
#define SEC_CHK 126
#define SEC_ENC_LEN (SEC_BIN - SEC_KEYNUM)

/* The shared helpers of the verifying half (sig/minisig.c), under their local names. */
#define untrusted_prefix aim_sig_untrusted_prefix
#define trusted_prefix aim_sig_trusted_prefix
#define init aim_sig_init
#define next_line aim_sig_next_line
#define b64_decode aim_sig_b64_decode
#define has_prefix aim_sig_has_prefix
#define printable aim_sig_printable
#define load_text aim_sig_load_text

void aim_sign_free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void aim_seckey_wipe(struct aim_seckey *sk)
{
	sodium_memzero(sk, sizeof(*sk));
}

void aim_seckey_pubkey(const struct aim_seckey *sk, struct aim_pubkey *ret)
{
	memcpy(ret->keynum, sk->keynum, sizeof(ret->keynum));
	crypto_sign_ed25519_sk_to_pk(ret->pk, sk->sk);
}

int aim_sign_keygen(struct aim_pubkey *ret_pub, struct aim_seckey *ret_sec)
{
	int r = init();

	if (r < 0)
		return r;
	randombytes_buf(ret_sec->keynum, sizeof(ret_sec->keynum));
	crypto_sign_ed25519_keypair(ret_pub->pk, ret_sec->sk);
	memcpy(ret_pub->keynum, ret_sec->keynum, sizeof(ret_pub->keynum));
	return 0;
}

static char *b64_encode(const uint8_t *bin, size_t n)
{
	size_t l = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(l);

	if (s)
		sodium_bin2base64(s, l, bin, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int aim_pubkey_format(const struct aim_pubkey *pk, char **ret)
{
	uint8_t bin[PUB_BIN];
	_cleanup_free_ char *b = NULL;
	char id[17];

	memcpy(bin, "Ed", 2);
	memcpy(bin + 2, pk->keynum, AIM_SIGN_KEYNUM_BYTES);
	memcpy(bin + 10, pk->pk, AIM_SIGN_PK_BYTES);
	b = b64_encode(bin, sizeof(bin));
	aim_sign_keyid(pk->keynum, id);
	if (!b || asprintf(ret, "%sminisign public key %s\n%s\n", untrusted_prefix, id, b) < 0)
		return -ENOMEM;
	return 0;
}

static void seckey_chk(const uint8_t *bin, uint8_t chk[32])
{
	crypto_generichash_state hs;

	crypto_generichash_init(&hs, NULL, 0, 32);
	crypto_generichash_update(&hs, bin, 2);
	crypto_generichash_update(&hs, bin + SEC_KEYNUM, 8 + 64);
	crypto_generichash_final(&hs, chk, 32);
	sodium_memzero(&hs, sizeof(hs));
}

/* XORs the keynum/sk/chk part with scrypt(password, salt, ops, mem). */
static int kdf_xor(uint8_t *bin, const char *password, uint64_t ops, uint64_t mem)
{
	uint8_t stream[SEC_ENC_LEN];

	if (crypto_pwhash_scryptsalsa208sha256(stream, sizeof(stream), password,
					       strlen(password), bin + SEC_SALT,
					       (unsigned long long)ops, (size_t)mem))
		return aim_error_set(-ENOMEM, "scrypt with %" PRIu64 " MiB failed: out of memory",
				     mem >> 20);
	for (size_t i = 0; i < SEC_ENC_LEN; i++)
		bin[SEC_KEYNUM + i] ^= stream[i];
	sodium_memzero(stream, sizeof(stream));
	return 0;
}

/* The binary secret key from the file text (the line after the comment). */
static int seckey_bin(const char *text, size_t len, uint8_t bin[SEC_BIN])
{
	const char *p = text, *end = text + len, *l;
	size_t n;
	int r;

	l = next_line(&p, end, &n);
	if (!l || !has_prefix(l, n, untrusted_prefix))
		return aim_error_set(-EBADMSG, "secret key: the first line should start with "
					       "\"untrusted comment: \"");
	l = next_line(&p, end, &n);
	if (!l || n == 0)
		return aim_error_set(-EBADMSG, "secret key: no key line");
	r = b64_decode(l, n, bin, SEC_BIN, "secret key");
	if (r < 0)
		return r;
	if (memcmp(bin, "Ed", 2))
		return aim_error_set(-EOPNOTSUPP, "secret key: unsupported signature algorithm");
	if (memcmp(bin + 4, "B2", 2))
		return aim_error_set(-EOPNOTSUPP, "secret key: unsupported checksum function");
	if (memcmp(bin + 2, "Sc", 2) && memcmp(bin + 2, "\0\0", 2))
		return aim_error_set(-EOPNOTSUPP, "secret key: unsupported key derivation "
						  "function");
	return 0;
}

int aim_seckey_is_encrypted(const char *text, size_t len)
{
	uint8_t bin[SEC_BIN];
	int r = seckey_bin(text, len, bin);

	if (r == 0)
		r = !memcmp(bin + 2, "Sc", 2);
	sodium_memzero(bin, sizeof(bin));
	return r;
}

int aim_seckey_parse(const char *text, size_t len, const char *password, struct aim_seckey *ret)
{
	uint8_t bin[SEC_BIN], chk[32], pk[32];
	int r = init();

	if (r < 0)
		return r;
	r = seckey_bin(text, len, bin);
	if (r < 0)
		goto out;
	if (!memcmp(bin + 2, "Sc", 2)) {
		uint64_t ops = aim_get_le64(bin + SEC_OPS), mem = aim_get_le64(bin + SEC_MEM);

		if (!password) {
			r = aim_error_set(-ENOKEY, "the secret key is encrypted: a password is "
						   "needed");
			goto out;
		}
		if (ops > (1ULL << 34) || mem > (1ULL << 34) || mem > SIZE_MAX) {
			r = aim_error_set(-EBADMSG, "secret key: scrypt limits out of range");
			goto out;
		}
		r = kdf_xor(bin, password, ops, mem);
		if (r < 0)
			goto out;
		seckey_chk(bin, chk);
		if (sodium_memcmp(chk, bin + SEC_CHK, 32)) {
			r = aim_error_set(-EKEYREJECTED, "wrong password for this secret key");
			goto out;
		}
	}
	/* minisign -W leaves chk zero; the public half inside sk must match its seed. */
	crypto_sign_ed25519_sk_to_pk(pk, bin + SEC_SK);
	{
		uint8_t seedpk[32], seedsk[64];

		crypto_sign_ed25519_seed_keypair(seedpk, seedsk, bin + SEC_SK);
		sodium_memzero(seedsk, sizeof(seedsk));
		if (memcmp(seedpk, pk, 32)) {
			r = aim_error_set(-EBADMSG, "secret key: corrupt (the public half does not "
						    "match the seed)");
			goto out;
		}
	}
	memcpy(ret->keynum, bin + SEC_KEYNUM, AIM_SIGN_KEYNUM_BYTES);
	memcpy(ret->sk, bin + SEC_SK, AIM_SIGN_SK_BYTES);
	r = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(chk, sizeof(chk));
	return r;
}

int aim_seckey_load(const char *path, const char *password, struct aim_seckey *ret)
{
	char *t = NULL;
	size_t n;
	int r;

	aim_error_clear();
	r = load_text(path, &t, &n);
	if (r < 0)
		return r;
	r = aim_seckey_parse(t, n, password, ret);
	aim_sign_free_secret(t);
	if (r < 0)
		return aim_error_set(r, "%s: %s", path, aim_error_detail());
	return 0;
}

int aim_seckey_format(const struct aim_seckey *sk, const char *password, uint64_t opslimit,
		      uint64_t memlimit, char **ret)
{
	uint8_t bin[SEC_BIN] = {0};
	char *b = NULL;
	int r = init();

	if (r < 0)
		return r;
	memcpy(bin, "Ed", 2);
	memcpy(bin + 4, "B2", 2);
	memcpy(bin + SEC_KEYNUM, sk->keynum, AIM_SIGN_KEYNUM_BYTES);
	memcpy(bin + SEC_SK, sk->sk, AIM_SIGN_SK_BYTES);
	seckey_chk(bin, bin + SEC_CHK);
	if (password && *password) {
		uint64_t ops = opslimit ? opslimit : crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE;
		uint64_t mem = memlimit ? memlimit : crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;

		memcpy(bin + 2, "Sc", 2);
		randombytes_buf(bin + SEC_SALT, 32);
		/* As minisign: halve the cost while the machine refuses the memory. */
		for (;;) {
			aim_put_le64(bin + SEC_OPS, ops);
			aim_put_le64(bin + SEC_MEM, mem);
			r = kdf_xor(bin, password, ops, mem);
			if (r == 0)
				break;
			ops /= 2, mem /= 2;
			if (ops < crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN ||
			    mem < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)
				goto out;
		}
	}
	b = b64_encode(bin, sizeof(bin));
	if (!b || asprintf(ret, "%sminisign encrypted secret key\n%s\n", untrusted_prefix, b) < 0)
		r = -ENOMEM;
	else
		r = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	aim_sign_free_secret(b);
	return r;
}

static int comment_ok(const char *c, size_t max, const char *what)
{
	size_t n = strlen(c);

	if (n >= max || !printable(c, n))
		return aim_error_set(-EINVAL, "the %s must be one line of printable text under %zu "
					      "bytes", what, max);
	return 0;
}

int aim_sign_buffer(const struct aim_seckey *sk, const void *msg, size_t len,
		    const char *trusted_comment, const char *untrusted_comment, char **ret)
{
	uint8_t hash[crypto_generichash_BYTES_MAX], sig[SIG_BIN], gsig[AIM_SIGN_BYTES];
	_cleanup_free_ uint8_t *st = NULL;
	_cleanup_free_ char *tc_buf = NULL, *b1 = NULL, *b2 = NULL;
	size_t tcl;
	int r = init();

	if (r < 0)
		return r;
	if (!trusted_comment) {
		if (asprintf(&tc_buf, "timestamp:%lld", (long long)time(NULL)) < 0)
			return -ENOMEM;
		trusted_comment = tc_buf;
	}
	if (!untrusted_comment)
		untrusted_comment = "signature from minisign secret key";
	r = comment_ok(trusted_comment, AIM_SIGN_TRUSTED_COMMENT_MAX - sizeof(trusted_prefix),
		       "trusted comment");
	if (r == 0)
		r = comment_ok(untrusted_comment, AIM_SIGN_COMMENT_MAX - sizeof(untrusted_prefix),
			       "untrusted comment");
	if (r < 0)
		return r;
	crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
	memcpy(sig, "ED", 2);
	memcpy(sig + 2, sk->keynum, AIM_SIGN_KEYNUM_BYTES);
	crypto_sign_ed25519_detached(sig + 10, NULL, hash, sizeof(hash), sk->sk);

	tcl = strlen(trusted_comment);
	st = malloc(AIM_SIGN_BYTES + tcl);
	if (!st)
		return -ENOMEM;
	memcpy(st, sig + 10, AIM_SIGN_BYTES);
	memcpy(st + AIM_SIGN_BYTES, trusted_comment, tcl);
	crypto_sign_ed25519_detached(gsig, NULL, st, AIM_SIGN_BYTES + tcl, sk->sk);
	b1 = b64_encode(sig, sizeof(sig));
	b2 = b64_encode(gsig, sizeof(gsig));
	if (!b1 || !b2 ||
	    asprintf(ret, "%s%s\n%s\n%s%s\n%s\n", untrusted_prefix, untrusted_comment, b1,
		     trusted_prefix, trusted_comment, b2) < 0)
		return -ENOMEM;
	return 0;
}
