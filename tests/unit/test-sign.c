/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/sign.c against itself and against the real minisign 0.11: round trips, keys and
 * signatures made by `minisign -G/-S` (unencrypted, password-protected, legacy "Ed"),
 * our signatures checked by `minisign -V`, and tampering of every part.
 */
#include "sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "base/fileio.h"
#include "base/log.h"

static char dir[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

static char *slurp(const char *name, size_t *len)
{
	char p[512];
	char *t = NULL;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (aim_read_file(p, 1 << 20, &t, len) < 0)
		return NULL;
	return t;
}

static void spit(const char *name, const char *text, size_t len)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	aim_write_file_atomic(p, text, len, 0600);
}

static int has(const char *s, const char *sub)
{
	return s && strstr(s, sub) != NULL;
}

static void test_roundtrip(void)
{
	struct aim_pubkey pub, pub2, other;
	struct aim_seckey sec, sec2, osec;
	char *pt = NULL, *st = NULL, *sig = NULL;
	const char msg[] = "manifest bytes\n";
	struct aim_sig s;
	int r;

	is_int(aim_sign_keygen(&pub, &sec), 0, "keygen");
	is_int(aim_pubkey_format(&pub, &pt), 0, "public key text");
	ok(has(pt, "untrusted comment: minisign public key "), "public key comment line");
	is_int(aim_pubkey_parse(pt, strlen(pt), &pub2), 0, "public key parses back");
	ok(!memcmp(&pub, &pub2, sizeof(pub)), "public key round trip");
	is_int(aim_seckey_format(&sec, NULL, 0, 0, &st), 0, "unencrypted secret key text");
	is_int(aim_seckey_is_encrypted(st, strlen(st)), 0, "unencrypted key says so");
	is_int(aim_seckey_parse(st, strlen(st), NULL, &sec2), 0, "unencrypted key parses back");
	ok(!memcmp(&sec, &sec2, sizeof(sec)), "secret key round trip");
	aim_sign_free_secret(st);
	/* Interactive scrypt limits keep the test fast; the file records them. */
	is_int(aim_seckey_format(&sec, "hunter2", 524288, 16777216, &st), 0, "encrypted key text");
	is_int(aim_seckey_is_encrypted(st, strlen(st)), 1, "encrypted key says so");
	is_int(aim_seckey_parse(st, strlen(st), "hunter2", &sec2), 0, "encrypted key decrypts");
	ok(!memcmp(&sec, &sec2, sizeof(sec)), "encrypted secret key round trip");
	r = aim_seckey_parse(st, strlen(st), "hunter3", &sec2);
	is_int(r, -EKEYREJECTED, "wrong password refused");
	ok(has(aim_error_detail(), "wrong password"), "message names the wrong password");
	r = aim_seckey_parse(st, strlen(st), NULL, &sec2);
	is_int(r, -ENOKEY, "no password for an encrypted key refused");
	ok(has(aim_error_detail(), "password is needed"), "message asks for the password");
	aim_sign_free_secret(st);

	is_int(aim_sign_buffer(&sec, msg, strlen(msg), "version:1\tfile:x", NULL, &sig), 0,
	       "sign");
	is_int(aim_sign_verify_buffer(sig, strlen(sig), &pub, 1, msg, strlen(msg), &s), 0,
	       "verify own signature");
	ok(s.prehashed, "signature is prehashed (ED)");
	is_str(s.trusted_comment, "version:1\tfile:x", "trusted comment comes back");
	r = aim_sign_verify_buffer(sig, strlen(sig), &pub, 1, "manifest bytes!\n", 16, NULL);
	is_int(r, -EKEYREJECTED, "changed message refused");
	ok(has(aim_error_detail(), "signed data was changed"), "message says the data changed");
	aim_sign_keygen(&other, &osec);
	r = aim_sign_verify_buffer(sig, strlen(sig), &other, 1, msg, strlen(msg), NULL);
	is_int(r, -EKEYREJECTED, "wrong key refused");
	ok(has(aim_error_detail(), "not a trusted key"), "message names the untrusted key id");
	{
		struct aim_pubkey two[2] = {other, pub};
		is_int(aim_sign_verify_buffer(sig, strlen(sig), two, 2, msg, strlen(msg), NULL), 1,
		       "second of two trusted keys is found");
	}
	/* Same key id, different key: the signature check itself must fail. */
	memcpy(other.keynum, pub.keynum, sizeof(other.keynum));
	r = aim_sign_verify_buffer(sig, strlen(sig), &other, 1, msg, strlen(msg), NULL);
	is_int(r, -EKEYREJECTED, "forged key id refused");
	{
		char *t = strdup(sig), *c = strstr(t, "version:1");
		c[8] = '2';
		r = aim_sign_verify_buffer(t, strlen(t), &pub, 1, msg, strlen(msg), NULL);
		is_int(r, -EKEYREJECTED, "changed trusted comment refused");
		ok(has(aim_error_detail(), "trusted comment was changed"), "message names the "
									   "comment");
		strcpy(t, sig);
		c = strchr(t, '\n') + 20; /* inside the signature bytes */
		*c = *c == 'A' ? 'B' : 'A';
		r = aim_sign_verify_buffer(t, strlen(t), &pub, 1, msg, strlen(msg), NULL);
		is_int(r, -EKEYREJECTED, "changed signature byte refused");
		strcpy(t, sig);
		c = strstr(t, "\ntrusted comment: ");
		c[1] = 'x';
		r = aim_sign_verify_buffer(t, strlen(t), &pub, 1, msg, strlen(msg), NULL);
		is_int(r, -EBADMSG, "mangled trusted comment prefix refused");
		ok(has(aim_error_detail(), "third line"), "message names the line");
		r = aim_sign_verify_buffer(sig, strlen(sig) / 2, &pub, 1, msg, strlen(msg), NULL);
		is_int(r, -EBADMSG, "truncated signature refused");
		r = aim_sign_verify_buffer("garbage", 7, &pub, 1, msg, strlen(msg), NULL);
		is_int(r, -EBADMSG, "garbage signature refused");
		free(t);
	}
	r = aim_sign_buffer(&sec, msg, 3, "two\nlines", NULL, &st);
	is_int(r, -EINVAL, "trusted comment with a newline refused");
	r = aim_pubkey_parse("untrusted comment: x\nnot base64!\n", 33, &pub2);
	is_int(r, -EBADMSG, "bad public key base64 refused");
	ok(has(aim_error_detail(), "base64"), "message names base64");

	spit("own.pub", pt, strlen(pt));
	spit("msg", msg, strlen(msg));
	spit("msg.minisig", sig, strlen(sig));
	is_int(sh("minisign -Vq -p %s/own.pub -m %s/msg", dir, dir), 0,
	       "minisign -V accepts our signature");
	spit("msg", "tampered\n", 9);
	ok(sh("minisign -Vq -p %s/own.pub -m %s/msg 2>/dev/null", dir, dir) != 0,
	   "minisign -V refuses our signature over other bytes");
	free(pt);
	free(sig);
	aim_seckey_wipe(&sec);
}

static void test_minisign_keys(void)
{
	struct aim_pubkey pub, derived;
	struct aim_seckey sec;
	struct aim_sig s;
	char *t, *sig = NULL;
	size_t n;
	int r;

	/* minisign -W: unencrypted secret key (its checksum field is left zero). */
	r = sh("cd %s && minisign -G -W -p w.pub -s w.key >/dev/null", dir);
	is_int(r, 0, "minisign -G -W");
	t = slurp("w.pub", &n);
	is_int(aim_pubkey_parse(t, n, &pub), 0, "minisign public key loads");
	free(t);
	t = slurp("w.key", &n);
	is_int(aim_seckey_is_encrypted(t, n), 0, "minisign -W key is unencrypted");
	is_int(aim_seckey_parse(t, n, NULL, &sec), 0, "minisign -W secret key loads");
	free(t);
	aim_seckey_pubkey(&sec, &derived);
	ok(!memcmp(&derived, &pub, sizeof(pub)), "its public half matches minisign's .pub");

	/* Our signature with a minisign key, checked by minisign; and the other way. */
	spit("m2", "payload\n", 8);
	is_int(aim_sign_buffer(&sec, "payload\n", 8, NULL, NULL, &sig), 0, "sign with it");
	spit("m2.minisig", sig, strlen(sig));
	is_int(sh("minisign -Vq -p %s/w.pub -m %s/m2", dir, dir), 0,
	       "minisign verifies our signature made with its key");
	free(sig);
	is_int(sh("cd %s && minisign -S -s w.key -t 'release 2' -m m2 >/dev/null", dir), 0,
	       "minisign -S");
	t = slurp("m2.minisig", &n);
	r = aim_sign_verify_buffer(t, n, &pub, 1, "payload\n", 8, &s);
	is_int(r, 0, "minisign's prehashed signature verifies");
	is_str(s.trusted_comment, "release 2", "its trusted comment");
	r = aim_sign_verify_buffer(t, n, &pub, 1, "payload!\n", 9, NULL);
	is_int(r, -EKEYREJECTED, "minisign's signature over other bytes refused");
	free(t);
	is_int(sh("cd %s && minisign -S -l -s w.key -m m2 -x m2.legacy >/dev/null", dir), 0,
	       "minisign -S -l (legacy Ed)");
	t = slurp("m2.legacy", &n);
	r = aim_sign_verify_buffer(t, n, &pub, 1, "payload\n", 8, &s);
	is_int(r, 0, "legacy Ed signature verifies");
	ok(!s.prehashed, "legacy signature is not prehashed");
	free(t);
	aim_seckey_wipe(&sec);

	/* Password-protected key made by minisign (password through a pipe). */
	r = sh("cd %s && printf 'pw one\\npw one\\n' | minisign -G -p e.pub -s e.key >/dev/null 2>&1",
	       dir);
	is_int(r, 0, "minisign -G with a password");
	t = slurp("e.key", &n);
	is_int(aim_seckey_is_encrypted(t, n), 1, "minisign key is encrypted");
	is_int(aim_seckey_parse(t, n, "pw one", &sec), 0, "minisign encrypted key decrypts");
	r = aim_seckey_parse(t, n, "pw two", &sec);
	is_int(r, -EKEYREJECTED, "wrong password for minisign key refused");
	free(t);
	t = slurp("e.pub", &n);
	aim_pubkey_parse(t, n, &pub);
	free(t);
	aim_seckey_pubkey(&sec, &derived);
	ok(!memcmp(&derived, &pub, sizeof(pub)), "decrypted key matches its public key");
	aim_seckey_wipe(&sec);

	/* And our encrypted key must work in minisign. */
	aim_sign_keygen(&pub, &sec);
	aim_seckey_format(&sec, "secret", 524288, 16777216, &t);
	spit("o.key", t, strlen(t));
	aim_sign_free_secret(t);
	aim_pubkey_format(&pub, &t);
	spit("o.pub", t, strlen(t));
	free(t);
	r = sh("cd %s && echo secret | minisign -S -s o.key -m m2 -x m2.o >/dev/null 2>&1 && "
	       "minisign -Vq -p o.pub -m m2 -x m2.o",
	       dir);
	is_int(r, 0, "minisign signs with our encrypted key");
	aim_seckey_wipe(&sec);
}

/* A key file text is (buf, len), not a C string: a short first line at the very end of the
 * buffer must not be compared past len (tests/fuzz found "untrust" read 2 bytes over). */
static void test_pubkey_bounds(void)
{
	static const char *const texts[] = {"untrust", "untrusted", "u"};
	struct aim_pubkey pk;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = strlen(texts[i]);
		char *b = malloc(n);

		memcpy(b, texts[i], n); /* no NUL after it */
		is_int(aim_pubkey_parse(b, n, &pk), -EBADMSG, "public key '%s' without a NUL",
		       texts[i]);
		free(b);
	}
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s/test-sign.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_roundtrip();
	test_minisign_keys();
	test_pubkey_bounds();
	sh("rm -rf %s", dir);
	return done_testing();
}
