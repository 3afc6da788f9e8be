// SPDX-License-Identifier: LGPL-2.1-or-later
/* slot.env written with its signature (see slotenv.h): apart from the parser, which needs
 * nothing but libc. */
#include "slotenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sign.h"
#include "base/fileio.h"
#include "base/macro.h"

int aim_slot_file_write(const char *dir, const char *name, const void *buf, size_t len,
			uint32_t epoch)
{
	struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
	char p[4200];
	int r;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	r = aim_write_file_atomic(p, buf, len, 0644);
	if (r == 0 && utimensat(AT_FDCWD, p, ts, 0) < 0)
		r = -errno;
	return r;
}

int aim_slot_env_write(const char *dir, const struct aim_slot_info *si,
		       const struct aim_seckey *sk, uint32_t epoch)
{
	_cleanup_free_ char *txt = NULL, *sig = NULL;
	int r, n = aim_slot_info_format(si, &txt);

	if (n < 0)
		return n;
	r = aim_slot_file_write(dir, AIM_SLOT_ENV, txt, (size_t)n, epoch);
	if (r < 0 || !sk)
		return r;
	r = aim_sign_buffer(sk, txt, (size_t)n, AIM_SLOT_ENV_SIG_COMMENT, NULL, &sig);
	if (r == 0)
		r = aim_slot_file_write(dir, AIM_SLOT_ENV_SIG, sig, strlen(sig), epoch);
	return r;
}
