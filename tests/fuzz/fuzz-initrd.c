/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The initramfs reader (lib/initrd.c aim_initrd_patch): a uImage or a raw initramfs of
 * concatenated newc cpio archives, plain or gzip/zstd/xz, patched with a fixed set of
 * additions (one module, so that the modules.dep paths run too).
 */
#include "fuzz.h"

#include "initrd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const load[] = {"squashfs", NULL};
	static const struct aim_initrd_file mods[] = {
		{"kernel/fs/squashfs/squashfs.ko", "\177ELF", 4},
	};
	const struct aim_initrd_add add = {
		.kver = "6.1.0",
		.aim_boot = "#!/bin/sh\n",
		.aim_boot_len = 10,
		.local_bottom = "#!/bin/sh\n",
		.local_bottom_len = 10,
		.modules = mods,
		.n_modules = 1,
		.modules_dep = "kernel/fs/squashfs/squashfs.ko:\n",
		.load = load,
		.mtime = 1,
	};
	uint8_t *in = malloc(size ? size : 1);
	void *out = NULL;
	size_t outlen = 0;

	if (!in)
		abort();
	memcpy(in, data, size);
	if (aim_initrd_patch(in, size, &add, &out, &outlen) == 0)
		free(out);
	free(in);
	return 0;
}
