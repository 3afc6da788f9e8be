/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/base/dm.c without a kernel: slot.env's verity keys and the dm-verity table line
 * (the kernel's verity.rst: version, devices, block sizes, data blocks, hash start block,
 * algorithm, root hash, salt, optional arguments). The ioctls run in the QEMU tests.
 */
#include "base/dm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

#define ROOT "4392712ba01368efdf14b05c76f9e4df0d53664630b5d48632ed17a137f39076"
#define SALT "1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001"

static const char env_ok[] = "version=1\nverity=1\nverity_alg=sha256\nverity_block=4096\n"
			     "verity_data_blocks=2048\nverity_hash_offset=8388608\n"
			     "verity_salt=" SALT "\nverity_root=" ROOT "\n";

static void bad(const char *from, const char *to, const char *what)
{
	char text[1024], err[200];
	const char *p = strstr(env_ok, from);
	struct aim_verity v;

	snprintf(text, sizeof(text), "%.*s%s%s", (int)(p - env_ok), env_ok, to, p + strlen(from));
	is_int(aim_verity_from_env(text, &v, err, sizeof(err)), -EBADMSG, "refused: %s (%s)",
	       what, err);
}

int main(void)
{
	struct aim_verity v;
	char t[600], err[200];

	is_int(aim_verity_from_env(env_ok, &v, err, sizeof(err)), 1, "slot.env with verity keys");
	is_int((int)v.data_blocks, 2048, "data blocks");
	ok(v.hash_offset == 8388608, "hash offset");
	is_str(v.root, ROOT, "root hash");
	ok(aim_verity_sectors(&v) == 2048 * 8, "length in sectors");
	is_int(aim_verity_table(&v, "254:2", t, sizeof(t)), 0, "table built");
	is_str(t, "1 254:2 254:2 4096 4096 2048 2048 sha256 " ROOT " " SALT
		  " 1 restart_on_corruption", "the table line");
	v.hash_offset = 8392704; /* one block of padding between data and tree */
	aim_verity_table(&v, "/dev/vda3", t, sizeof(t));
	is_str(t, "1 /dev/vda3 /dev/vda3 4096 4096 2048 2049 sha256 " ROOT " " SALT
		  " 1 restart_on_corruption", "hash start block = offset / 4096");
	is_int(aim_verity_table(&v, "254:2", t, 40), -ENAMETOOLONG, "short buffer");
	is_int(aim_verity_table(&v, "a b", t, sizeof(t)), -EINVAL, "device with a space");
	v.hash_offset = 100;
	is_int(aim_verity_table(&v, "254:2", t, sizeof(t)), -EINVAL, "unaligned hash offset");

	is_int(aim_verity_from_env("version=1\n", &v, err, sizeof(err)), 0, "no verity keys");
	is_int(aim_verity_from_env("verity=0\nverity_root=x\n", &v, err, sizeof(err)), 0,
	       "verity=0");
	bad("verity=1", "verity=yes", "verity=yes");
	bad("verity_alg=sha256", "verity_alg=sha1", "sha1");
	bad("verity_block=4096", "verity_block=512", "512-byte blocks");
	bad("verity_data_blocks=2048", "verity_data_blocks=0", "no data blocks");
	bad("verity_data_blocks=2048", "verity_data_blocks=02048", "leading zero");
	bad("verity_hash_offset=8388608", "verity_hash_offset=4096", "tree inside the data");
	bad("verity_hash_offset=8388608", "verity_hash_offset=8388609", "unaligned tree");
	bad("verity_root=4", "verity_root=X", "root not hex");
	bad(ROOT "\n", "43\n", "root too short");
	bad("verity_salt=1", "verity_salt=Z", "salt not hex");
	bad("verity_salt=", "verity_selt=", "salt missing");
	return done_testing();
}
