// SPDX-License-Identifier: LGPL-2.1-or-later
/* Test helper for t-ab-grub.sh: the files of a GRUB ESP, made by the library.
 *   aim-mkgrub cfg OUT [test] [no-count] [serial] [timeout=N] [dir=/tN] [args=...]
 *                                                                aim_grubcfg_generate
 *   aim-mkgrub state OUT SEQ ACTIVE TRY TRIES_B GOOD_B [torn]    GRUB-flavoured record
 *                    (TRY "-": none; torn: without its aim_crc line)
 *   aim-mkgrub bootcount OUT BC SEQ                              GRUB's bootcount.txt
 *   aim-mkgrub mkimage PLATFORM MODDIR OUT                       aim_grub_mkimage
 *   aim-mkgrub load DIR          aim_slotstate_load: "seq=S copy=C count=N grubenv=G" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubcfg.h"
#include "base/log.h"
#include "base/slotstate.h"
#include "base/slotstate_io.h"

static int write_out(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		return 1;
	return 0;
}

static int cfg(int argc, char **argv)
{
	struct aim_grubcfg_opts o = {0};
	struct aim_buf b = {0};
	int r;

	o.partuuid[0] = "11111111-02";
	o.partuuid[1] = "11111111-03";
	o.cmdline = "console=ttyS0 root=/dev/sda2 rootfstype=ext4 quiet";
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "test"))
			o.test_mode = 1;
		else if (!strcmp(argv[i], "no-count"))
			o.no_count = 1;
		else if (!strcmp(argv[i], "serial"))
			o.serial = 1;
		else if (!strncmp(argv[i], "timeout=", 8))
			o.timeout = (unsigned)atoi(argv[i] + 8);
		else if (!strncmp(argv[i], "dir=", 4))
			o.dir = argv[i] + 4;
		else if (!strncmp(argv[i], "args=", 5))
			o.cmdline = argv[i] + 5;
		else
			return 2;
	}
	r = aim_grubcfg_generate(&o, &b);
	if (r < 0) {
		fprintf(stderr, "aim-mkgrub: %s\n", aim_error_text(r));
		return 1;
	}
	r = write_out(argv[2], b.p, b.len);
	aim_buf_free(&b);
	return r;
}

static int state(int argc, char **argv)
{
	struct aim_slotstate st;
	char buf[AIM_SLOTSTATE_MAX];
	int n;

	if (argc < 8)
		return 2;
	aim_slotstate_init(&st);
	st.grubenv = 1;
	st.seq = (uint32_t)strtoul(argv[3], NULL, 10);
	st.active = argv[4][0];
	st.try_slot = argv[5][0] == '-' ? 0 : argv[5][0];
	st.tries[1] = (unsigned)atoi(argv[6]);
	st.good[1] = atoi(argv[7]);
	n = aim_slotstate_format(&st, buf);
	if (n < 0)
		return 1;
	if (argc > 8 && !strcmp(argv[8], "torn"))
		n = (int)(strstr(buf, "aim_crc=") - buf);
	return write_out(argv[2], buf, (size_t)n);
}

int main(int argc, char **argv)
{
	char bc[AIM_GRUBENV_SIZE];

	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "cfg"))
		return cfg(argc, argv);
	if (!strcmp(argv[1], "state"))
		return state(argc, argv);
	if (!strcmp(argv[1], "bootcount") && argc == 5) {
		aim_slotstate_format_grub_bootcount((unsigned)atoi(argv[3]),
						    (uint32_t)strtoul(argv[4], NULL, 10), bc);
		return write_out(argv[2], bc, sizeof(bc));
	}
	if (!strcmp(argv[1], "load")) {
		struct aim_slotstate st;
		int copy = 0;

		if (aim_slotstate_load(argv[2], &st, &copy) < 0)
			return 1;
		printf("seq=%u copy=%d count=%u grubenv=%d\n", (unsigned)st.seq, copy,
		       st.uboot_count, st.grubenv);
		return 0;
	}
	if (!strcmp(argv[1], "mkimage") && argc == 5) {
		int r = aim_grub_mkimage(argv[2], argv[3], argv[4]);

		if (r < 0)
			fprintf(stderr, "aim-mkgrub: %s\n", aim_error_text(r));
		return r < 0;
	}
	return 2;
}
