// SPDX-License-Identifier: LGPL-2.1-or-later
/* slot.env's signature and verity keys at boot (slotcheck.h). */
#include "sig/slotcheck.h"

#include <stdio.h>

#include "base/fileio.h"
#include "base/log.h"
#include "sig/minisig.h"

void aim_slot_read(const char *dir, char slot, char **senv, size_t *senv_len, char **ssig,
		   size_t *ssig_len)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/slot-%c/slot.env", dir, slot);
	if (aim_read_file(path, 1 << 16, senv, senv_len) < 0)
		*senv = NULL;
	snprintf(path, sizeof(path), "%s/slot-%c/slot.env.minisig", dir, slot);
	if (aim_read_file(path, AIM_SIGN_FILE_MAX, ssig, ssig_len) < 0)
		*ssig = NULL;
}

int aim_slot_check(const char *keydir, char slot, const char *senv, size_t senv_len,
		   const char *ssig, size_t ssig_len, struct aim_verity *ver, char signer[17],
		   char *why, size_t whysz)
{
	struct aim_pubkey keys[AIM_SLOT_KEYS_MAX];
	char err[160];
	int nk = aim_pubkey_load_dir(keydir, keys, AIM_SLOT_KEYS_MAX), r;

	signer[0] = 0;
	why[0] = 0;
	if (nk < 0) {
		snprintf(why, whysz, "trusted keys unreadable: %s", aim_error_text(nk));
		return -1;
	}
	if (!senv) {
		if (nk)
			snprintf(why, whysz, "no slot-%c/slot.env", slot);
		return nk ? -1 : 0;
	}
	if (nk && !ssig) {
		snprintf(why, whysz, "slot.env is not signed");
		return -1;
	}
	if (nk) {
		r = aim_sign_verify_buffer(ssig, ssig_len, keys, (size_t)nk, senv, senv_len, NULL);
		if (r < 0) {
			snprintf(why, whysz, "slot.env signature: %s", aim_error_text(r));
			return -1;
		}
		aim_sign_keyid(keys[r].keynum, signer);
	}
	r = aim_verity_from_env(senv, ver, err, sizeof(err));
	if (r < 0 || (r == 0 && nk)) {
		snprintf(why, whysz, "slot.env: %s", r < 0 ? err : "no verity keys");
		return -1;
	}
	return r;
}
