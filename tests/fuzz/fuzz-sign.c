/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * minisign key and signature files (lib/sign.c): aim_pubkey_parse, aim_seckey_is_encrypted,
 * aim_seckey_parse (no password: an encrypted key stops before scrypt), aim_sig_parse, and
 * aim_sig_verify of a parsed signature against a fixed key over a fixed message.
 */
#include "fuzz.h"

#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char msg[] = "format=1\n";
	char *text = malloc(size ? size : 1);
	struct aim_pubkey pk, keys[2];
	struct aim_seckey sk;
	struct aim_sig *sig = malloc(sizeof(*sig));

	if (!text || !sig)
		abort();
	memcpy(text, data, size);
	if (aim_pubkey_parse(text, size, &pk) == 0) {
		char *out = NULL;

		if (aim_pubkey_format(&pk, &out) == 0)
			free(out);
	}
	aim_seckey_is_encrypted(text, size);
	if (aim_seckey_parse(text, size, NULL, &sk) == 0) {
		aim_seckey_pubkey(&sk, &pk);
		aim_seckey_wipe(&sk);
	}
	if (aim_sig_parse(text, size, sig) == 0) {
		/* a key with the signature's id, so that verification itself runs */
		memset(keys, 0, sizeof(keys));
		memcpy(keys[1].keynum, sig->keynum, sizeof(keys[1].keynum));
		memcpy(keys[1].pk, data, size < sizeof(keys[1].pk) ? size : sizeof(keys[1].pk));
		aim_sig_verify(sig, keys, 2, msg, sizeof(msg) - 1);
	}
	free(sig);
	free(text);
	return 0;
}
