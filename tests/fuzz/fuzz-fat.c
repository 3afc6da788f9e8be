/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FAT12/16/32 lookup (lib/fat.c aim_fat_read, aim_fat_exists): the input is the whole
 * filesystem; a few boot file paths are looked up in it.
 */
#include "fuzz.h"

#include "fat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"/boot.scr", "/armbianEnv.txt", "/EFI/BOOT/BOOTAA64.EFI", "/slot-a/Image",
		"/state-1.txt", "/dtb/rockchip/a-very-long-file-name.dtb",
	};
	int fd = fuzz_memfd(data, size, NULL);

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *buf = NULL;
		size_t len = 0;

		if (aim_fat_read(fd, 0, size, paths[i], 65536, &buf, &len) == 0) {
			if (len > 65536 || buf[len] != 0)
				abort();
			free(buf);
		}
		aim_fat_exists(fd, 0, size, paths[i]);
	}
	close(fd);
	return 0;
}
