/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * minisign verification on libsodium (minisig.h). Byte layouts (minisign 0.11
 * src/minisign.h): public key "Ed" keynum[8] pk[32]; signature "ED"|"Ed" keynum[8]
 * sig[64], then the trusted comment and the global signature over sig || trusted comment.
 */
#include "sig/minisig.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define PUB_BIN 42  /* 2 + 8 + 32 */
#define SIG_BIN 74  /* 2 + 8 + 64 */

const char aim_sig_untrusted_prefix[20] = "untrusted comment: ";
const char aim_sig_trusted_prefix[18] = "trusted comment: ";
#define untrusted_prefix aim_sig_untrusted_prefix
#define trusted_prefix aim_sig_trusted_prefix

int aim_sig_init(void)
{
	return sodium_init() < 0 ? aim_error_set(-ENOMEM, "libsodium cannot initialise") : 0;
}

void aim_sign_keyid(const uint8_t keynum[AIM_SIGN_KEYNUM_BYTES], char ret[17])
{
	snprintf(ret, 17, "%" PRIX64, aim_get_le64(keynum));
}

/* One line of [*p, end): without its "\n" or "\r\n"; NULL at the end of the text. */
const char *aim_sig_next_line(const char **p, const char *end, size_t *ret_len)
{
	const char *s = *p, *nl;
	size_t n;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	if (n && s[n - 1] == '\r')
		n--;
	*ret_len = n;
	return s;
}

/* Decodes exactly want bytes of base64 (the whole line, nothing else). */
int aim_sig_b64_decode(const char *s, size_t n, uint8_t *out, size_t want, const char *what)
{
	size_t got = 0;
	const char *e = NULL;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (sodium_base642bin(out, want, s, n, NULL, &got, &e, sodium_base64_VARIANT_ORIGINAL) ||
	    got != want || e != s + n)
		return aim_error_set(-EBADMSG, "%s: the base64 line is not %zu bytes of base64", what,
				     want);
	return 0;
}

int aim_sig_has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t l = strlen(prefix);

	return n >= l && !memcmp(s, prefix, l);
}

/* Printable one-line text: no control characters but tab (minisign is_printable). */
int aim_sig_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return 0;
	return 1;
}

int aim_pubkey_parse(const char *text, size_t len, struct aim_pubkey *ret)
{
	const char *p = text, *end = text + len, *l;
	uint8_t bin[PUB_BIN];
	size_t n;
	int r;

	l = aim_sig_next_line(&p, end, &n);
	if (l && aim_sig_has_prefix(l, n, untrusted_prefix))
		l = aim_sig_next_line(&p, end, &n);
	else if (l && aim_sig_has_prefix(l, n, "untrusted"))
		return aim_error_set(-EBADMSG, "public key: the first line should start with "
					       "\"untrusted comment: \"");
	if (!l || n == 0)
		return aim_error_set(-EBADMSG, "public key: no key line");
	r = aim_sig_b64_decode(l, n, bin, sizeof(bin), "public key");
	if (r < 0)
		return r;
	if (memcmp(bin, "Ed", 2))
		return aim_error_set(-EOPNOTSUPP, "public key: unsupported signature algorithm "
						  "(not Ed25519 \"Ed\")");
	memcpy(ret->keynum, bin + 2, AIM_SIGN_KEYNUM_BYTES);
	memcpy(ret->pk, bin + 10, AIM_SIGN_PK_BYTES);
	return 0;
}

int aim_sig_load_text(const char *path, char **ret, size_t *ret_len)
{
	int r = aim_read_file(path, AIM_SIGN_FILE_MAX, ret, ret_len);

	if (r == -EFBIG)
		return aim_error_set(r, "%s is larger than %d bytes: not a key or signature file",
				     path, AIM_SIGN_FILE_MAX);
	if (r < 0 && !aim_error_detail())
		return aim_error_set(r, "cannot read %s: %s", path, strerror(-r));
	return r;
}

int aim_pubkey_load(const char *path, struct aim_pubkey *ret)
{
	_cleanup_free_ char *t = NULL;
	size_t n;
	int r;

	aim_error_clear();
	r = aim_sig_load_text(path, &t, &n);
	if (r < 0)
		return r;
	r = aim_pubkey_parse(t, n, ret);
	if (r < 0)
		return aim_error_set(r, "%s: %s", path, aim_error_detail());
	return 0;
}

static int pub_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".pub");
}

int aim_pubkey_load_dir(const char *dir, struct aim_pubkey *keys, size_t max)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, pub_name, alphasort), r = 0;
	size_t k = 0;

	if (n < 0)
		return errno == ENOENT ? 0 : aim_error_set(-errno, "cannot read %s: %s", dir,
							   strerror(errno));
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (r == 0 && k >= max)
			r = aim_error_set(-E2BIG, "%s: more than %zu keys", dir, max);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (r == 0)
			r = aim_pubkey_load(path, &keys[k++]);
		free(names[i]);
	}
	free(names);
	return r < 0 ? r : (int)k;
}

int aim_sig_parse(const char *text, size_t len, struct aim_sig *ret)
{
	const char *p = text, *end = text + len, *l;
	uint8_t bin[SIG_BIN];
	size_t n, tl = strlen(trusted_prefix);
	int r;

	memset(ret, 0, sizeof(*ret));
	l = aim_sig_next_line(&p, end, &n);
	if (!l || !aim_sig_has_prefix(l, n, untrusted_prefix))
		return aim_error_set(-EBADMSG, "signature: the first line should start with "
					       "\"untrusted comment: \"");
	if (n >= AIM_SIGN_COMMENT_MAX)
		return aim_error_set(-EBADMSG, "signature: the untrusted comment is too long");
	l = aim_sig_next_line(&p, end, &n);
	if (!l)
		return aim_error_set(-EBADMSG, "signature: truncated after the first line");
	r = aim_sig_b64_decode(l, n, bin, sizeof(bin), "signature");
	if (r < 0)
		return r;
	if (!memcmp(bin, "ED", 2))
		ret->prehashed = 1;
	else if (memcmp(bin, "Ed", 2))
		return aim_error_set(-EOPNOTSUPP, "signature: unsupported algorithm (neither "
						  "\"ED\" nor \"Ed\")");
	memcpy(ret->keynum, bin + 2, AIM_SIGN_KEYNUM_BYTES);
	memcpy(ret->sig, bin + 10, AIM_SIGN_BYTES);

	l = aim_sig_next_line(&p, end, &n);
	if (!l || !aim_sig_has_prefix(l, n, trusted_prefix))
		return aim_error_set(-EBADMSG, "signature: the third line should start with "
					       "\"trusted comment: \"");
	if (n - tl >= sizeof(ret->trusted_comment))
		return aim_error_set(-EBADMSG, "signature: the trusted comment is too long");
	if (!aim_sig_printable(l + tl, n - tl))
		return aim_error_set(-EBADMSG, "signature: the trusted comment has control "
					       "characters");
	memcpy(ret->trusted_comment, l + tl, n - tl);
	ret->trusted_comment[n - tl] = 0;
	l = aim_sig_next_line(&p, end, &n);
	if (!l)
		return aim_error_set(-EBADMSG, "signature: the global signature line is missing");
	r = aim_sig_b64_decode(l, n, ret->global_sig, AIM_SIGN_BYTES, "global signature");
	if (r < 0)
		return r;
	while ((l = aim_sig_next_line(&p, end, &n)))
		if (n)
			return aim_error_set(-EBADMSG, "signature: extra text after the global "
						       "signature");
	return 0;
}

int aim_sig_verify(const struct aim_sig *sig, const struct aim_pubkey *keys, size_t nkeys,
		   const void *msg, size_t len)
{
	uint8_t hash[crypto_generichash_BYTES_MAX];
	_cleanup_free_ uint8_t *st = NULL;
	const struct aim_pubkey *k = NULL;
	size_t i, tcl = strlen(sig->trusted_comment);
	char id[17];
	int r = aim_sig_init();

	if (r < 0)
		return r;
	aim_sign_keyid(sig->keynum, id);
	for (i = 0; i < nkeys && !k; i++)
		if (!memcmp(keys[i].keynum, sig->keynum, AIM_SIGN_KEYNUM_BYTES))
			k = &keys[i];
	if (!k) {
		char want[17] = "";
		if (nkeys)
			aim_sign_keyid(keys[0].keynum, want);
		return aim_error_set(-EKEYREJECTED, "signed by key %s, which is not a trusted key%s%s",
				     id, nkeys == 1 ? " (trusted: " : "", nkeys == 1 ? want : "");
	}
	if (sig->prehashed) {
		crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
		r = crypto_sign_ed25519_verify_detached(sig->sig, hash, sizeof(hash), k->pk);
	} else {
		r = crypto_sign_ed25519_verify_detached(sig->sig, msg, len, k->pk);
	}
	if (r)
		return aim_error_set(-EKEYREJECTED, "signature verification failed (key %s): the "
						    "signed data was changed", id);
	st = malloc(AIM_SIGN_BYTES + tcl);
	if (!st)
		return -ENOMEM;
	memcpy(st, sig->sig, AIM_SIGN_BYTES);
	memcpy(st + AIM_SIGN_BYTES, sig->trusted_comment, tcl);
	if (crypto_sign_ed25519_verify_detached(sig->global_sig, st, AIM_SIGN_BYTES + tcl, k->pk))
		return aim_error_set(-EKEYREJECTED, "comment signature verification failed (key "
						    "%s): the trusted comment was changed", id);
	return (int)(k - keys);
}

int aim_sign_verify_buffer(const char *sigtext, size_t siglen, const struct aim_pubkey *keys,
			   size_t nkeys, const void *msg, size_t len, struct aim_sig *ret_sig)
{
	struct aim_sig s;
	int r = aim_sig_parse(sigtext, siglen, &s);

	if (r < 0)
		return r;
	r = aim_sig_verify(&s, keys, nkeys, msg, len);
	if (r >= 0 && ret_sig)
		*ret_sig = s;
	return r;
}
