/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/sig: the trusted-key directory (aim_pubkey_load_dir) and the boot rule for slot.env
 * (aim_slot_check, docs/boot.md section 9) with keys and signatures made by lib/sign.c;
 * tests/integ/t0080 runs the same rule in aim-boot with minisign-made ones.
 */
#include "sig/slotcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "base/fileio.h"
#include "sign.h"

#define ROOT "4392712ba01368efdf14b05c76f9e4df0d53664630b5d48632ed17a137f39076"

static const char env[] = "version=1\nverity=1\nverity_alg=sha256\nverity_block=4096\n"
			  "verity_data_blocks=2048\nverity_hash_offset=8388608\n"
			  "verity_salt=-\nverity_root=" ROOT "\n";

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(void)
{
	char dir[300], nokeys[400], why[200], signer[17], id[17];
	const char *tmp = getenv("TMPDIR");
	struct aim_pubkey pub, other, keys[4];
	struct aim_seckey sec, osec;
	struct aim_verity v;
	char *pt = NULL, *sig = NULL, *osig = NULL, *bad = NULL;

	snprintf(dir, sizeof(dir), "%s/aim-slotcheck.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return ok(0, "mkdtemp"), done_testing();
	snprintf(nokeys, sizeof(nokeys), "%s/none", dir);
	is_int(aim_pubkey_load_dir(nokeys, keys, 4), 0, "missing key directory: no keys");
	is_int(aim_sign_keygen(&pub, &sec), 0, "key pair");
	is_int(aim_sign_keygen(&other, &osec), 0, "another key pair");
	aim_pubkey_format(&pub, &pt);
	put(dir, "k.pub", pt);
	put(dir, "README", "not a key, not *.pub: ignored\n");
	is_int(aim_pubkey_load_dir(dir, keys, 4), 1, "one *.pub in the directory");
	ok(!memcmp(keys[0].pk, pub.pk, sizeof(pub.pk)), "the key read back");
	aim_sign_keyid(pub.keynum, id);

	aim_sign_buffer(&sec, env, strlen(env), "slot a", NULL, &sig);
	aim_sign_buffer(&osec, env, strlen(env), "slot a", NULL, &osig);
	is_int(aim_slot_check(dir, 'a', env, strlen(env), sig, strlen(sig), &v, signer, why,
			      sizeof(why)), 1, "signed by the trusted key: verity");
	is_str(signer, id, "signer named");
	is_str(v.salt, "-", "salt '-' (none)");
	is_int(aim_slot_check(dir, 'a', env, strlen(env), osig, strlen(osig), &v, signer, why,
			      sizeof(why)), -1, "signed by an unknown key: refused");
	ok(strstr(why, "not a trusted key") != NULL, "... says so (%s)", why);
	bad = strdup(env);
	bad[strlen(bad) - 2] ^= 1; /* the root hash's last digit */
	is_int(aim_slot_check(dir, 'a', bad, strlen(bad), sig, strlen(sig), &v, signer, why,
			      sizeof(why)), -1, "root hash edited, signature kept: refused");
	ok(strstr(why, "signature verification failed") != NULL, "... says so (%s)", why);
	is_int(aim_slot_check(dir, 'a', env, strlen(env), NULL, 0, &v, signer, why, sizeof(why)),
	       -1, "unsigned: refused");
	is_int(aim_slot_check(dir, 'b', NULL, 0, NULL, 0, &v, signer, why, sizeof(why)), -1,
	       "no slot.env with keys: refused");
	is_str(why, "no slot-b/slot.env", "... names it");
	is_int(aim_slot_check(nokeys, 'a', env, strlen(env), NULL, 0, &v, signer, why,
			      sizeof(why)), 1, "no keys: verity, unsigned");
	is_str(signer, "", "no signer");
	is_int(aim_slot_check(nokeys, 'a', "version=1\n", 10, NULL, 0, &v, signer, why,
			      sizeof(why)), 0, "no keys, no verity: booted as before");
	is_int(aim_slot_check(nokeys, 'a', NULL, 0, NULL, 0, &v, signer, why, sizeof(why)), 0,
	       "no keys, no slot.env: booted as before");
	put(dir, "x.pub", "untrusted comment: broken\nnot base64\n");
	is_int(aim_slot_check(dir, 'a', env, strlen(env), sig, strlen(sig), &v, signer, why,
			      sizeof(why)), -1, "a broken key file: refused");
	ok(strstr(why, "trusted keys unreadable") != NULL, "... says so (%s)", why);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		ok(system(cmd) == 0, "cleanup");
	}
	free(pt);
	free(sig);
	free(osig);
	free(bad);
	aim_seckey_wipe(&sec);
	aim_seckey_wipe(&osec);
	return done_testing();
}
