/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * modules.dep and modules.builtin as the initramfs patcher reads them (lib/initrd.c
 * aim_kmod_deps), and kmod's modules.dep.bin built from them (aim_kmod_depbin).
 * The input is modules.dep, then optionally a NUL byte and modules.builtin.
 */
#include "fuzz.h"

#include "initrd.h"
#include "moddep.h"
#include "base/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"squashfs", "overlay", "ext4", NULL};
	char *dep = fuzz_strdup(data, size), **mods = NULL, name[64];
	const char *builtin = NULL;
	void *bin = NULL;
	size_t binlen = 0;

	if (strlen(dep) < size)
		builtin = dep + strlen(dep) + 1;
	if (aim_kmod_deps(dep, builtin, names, &mods) == 0) {
		for (char **m = mods; *m; m++)
			aim_kmod_modname(*m, name, sizeof(name));
		aim_strv_free(mods);
	}
	if (aim_kmod_depbin(dep, &bin, &binlen) == 0)
		free(bin);
	free(dep);
	return 0;
}
