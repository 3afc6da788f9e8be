/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FAT12/16/32 lookup and listing (lib/fat.c aim_fat_read, aim_fat_exists, aim_fat_list):
 * the input is the whole filesystem; a few boot file paths are looked up in it, the root
 * and /slot-a are listed.
 */
#include "fuzz.h"

#include "fat.h"

static int check_entry(const struct aim_fat_entry *e, void *userdata)
{
	(void)userdata;
	if (strlen(e->name) >= AIM_FAT_NAME_MAX)
		abort();
	return 0;
}

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
	aim_fat_list(fd, 0, size, "/", check_entry, NULL);
	aim_fat_list(fd, 0, size, "/slot-a", check_entry, NULL);
	close(fd);
	return 0;
}
