/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parsers of the initramfs helper (initramfs/aim-boot.c, built here with
 * -DAIM_BOOT_FUZZ, which renames its main and keeps its messages off stderr and
 * /dev/kmsg): the kernel command line (parse_cmdline), armimmutable.conf (parse_conf), both
 * through lib/base/bootcfg.c, and boot.env (aim_bootenv_get, as mark-good reads it). The
 * same input goes to all three.
 */
#include "../../initramfs/aim-boot.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"slot", "boot_dev", "trial", "reason", "grow"};
	struct plan p = {.cfg = AIM_BOOTCFG_INIT};
	char path[32], env[4096], val[64];
	int fd = fuzz_memfd(data, size, path);

	if (parse_cmdline(path, &p) == 0) {
		if (p.cfg.cmdline_slot && p.cfg.cmdline_slot != 'a' && p.cfg.cmdline_slot != 'b')
			abort();
		if (p.cfg.trial_timeout > 86400 ||
		    strlen(p.cfg.root_partuuid) >= sizeof(p.cfg.root_partuuid))
			abort();
	}
	if (parse_conf(path, &p) == 0 &&
	    (p.cfg.npersist > AIM_BOOTCFG_MAX_PERSIST || p.cfg.trial_timeout > 86400))
		abort();
	if (aim_read_text(path, env, sizeof(env)) >= 0)
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (aim_bootenv_get(env, keys[i], val, sizeof(val)) == 0 &&
			    strlen(val) >= sizeof(val))
				abort();
	close(fd);
	return 0;
}
