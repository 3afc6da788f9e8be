// SPDX-License-Identifier: LGPL-2.1-or-later
/* extlinux boards (docs/boot.md 4a): the slot's extlinux.conf (paths under /slot-X/, the
 * slot's root and slot on the command line, everything else kept), the refusals, and the
 * body that hands over with sysboot through the A/B preamble. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bootscript.h"
#include "extlinux.h"
#include "base/log.h"
#include "tap.h"

#define UUID_A "5f0e2b71-02"
#define UUID_B "5f0e2b71-03"

static char *rw(const char *in, const char *prefix, char slot, const char *uuid, int *r)
{
	char *out = NULL;

	aim_error_clear();
	*r = aim_extlinux_rewrite(in, prefix, slot, uuid, &out);
	return *r == 0 ? out : NULL;
}

static void expect(const char *in, const char *prefix, char slot, const char *uuid,
		   const char *want, const char *what)
{
	int r;
	char *out = rw(in, prefix, slot, uuid, &r);

	is_int(r, 0, "%s: rewritten", what);
	is_str(out, want, "%s", what);
	free(out);
}

static void refuse(const char *in, const char *prefix, const char *word, const char *what)
{
	int r;
	char *out = rw(in, prefix, 'a', UUID_A, &r);
	const char *d = aim_error_detail();

	is_int(r, -EINVAL, "%s: refused", what);
	ok(d && strstr(d, word), "%s: the message says '%s' (%s)", what, word, d ? d : "");
	free(out);
}

/* Armbian's SRC_EXTLINUX=yes file in the root's /boot (shape H). */
static const char armbian_h[] =
	"label Armbian\n"
	"  kernel /boot/Image\n"
	"  initrd /boot/uInitrd\n"
	"  fdt /boot/dtb/rockchip/rk3399-nanopc-t4.dtb\n"
	"  append root=UUID=0e4d2c1f-aaaa rootwait rootfstype=ext4 console=ttyS2,1500000 "
	"console=tty1 consoleblank=0 loglevel=1\n";

static const char armbian_h_a[] =
	"label Armbian\n"
	"  kernel /slot-a/Image\n"
	"  initrd /slot-a/uInitrd\n"
	"  fdt /slot-a/dtb/rockchip/rk3399-nanopc-t4.dtb\n"
	"  append root=PARTUUID=" UUID_A " rootwait rootfstype=squashfs console=ttyS2,1500000 "
	"console=tty1 consoleblank=0 loglevel=1 panic=10 armimmutable.slot=a\n";

static const char armbian_h_b[] =
	"label Armbian\n"
	"  kernel /slot-b/Image\n"
	"  initrd /slot-b/uInitrd\n"
	"  fdt /slot-b/dtb/rockchip/rk3399-nanopc-t4.dtb\n"
	"  append root=PARTUUID=" UUID_B " rootwait rootfstype=squashfs console=ttyS2,1500000 "
	"console=tty1 consoleblank=0 loglevel=1 panic=10 armimmutable.slot=b\n";

/* A boot partition's file (prefix "/"): CRLF, comments, a menu, two labels (the second
 * without append), relative paths, fdtdir, overlays, a FIT configuration, upper case,
 * panic= kept, rootflags= and old slot tokens dropped, quoted words kept whole. */
static const char board_df[] =
	"# generated\r\n"
	"menu title Boot\r\n"
	"timeout 20\r\n"
	"default main\r\n"
	"LABEL main\r\n"
	"\tLINUX Image.itb#conf-1\r\n"
	"\tINITRD /uInitrd\r\n"
	"\tFDTDIR /dtb/\r\n"
	"\tfdtoverlays /dtb/overlay/a.dtbo  dtb/overlay/b.dtbo\r\n"
	"\tAPPEND  root=/dev/mmcblk0p2 rootflags=data=writeback panic=5 x=\"a b\" "
	"armimmutable.slot=b root=LABEL=x\r\n"
	"label rescue\r\n"
	"\tkernel /Image\r\n";

static const char board_df_a[] =
	"# generated\r\n"
	"menu title Boot\r\n"
	"timeout 20\r\n"
	"default main\r\n"
	"LABEL main\r\n"
	"\tLINUX /slot-a/Image.itb#conf-1\r\n"
	"\tINITRD /slot-a/uInitrd\r\n"
	"\tFDTDIR /slot-a/dtb/\r\n"
	"\tfdtoverlays /slot-a/dtb/overlay/a.dtbo /slot-a/dtb/overlay/b.dtbo\r\n"
	"\tAPPEND  root=PARTUUID=" UUID_A " panic=5 x=\"a b\" rootfstype=squashfs "
	"armimmutable.slot=a\r\n"
	"label rescue\r\n"
	"\tkernel /slot-a/Image\r\n"
	"  append root=PARTUUID=" UUID_A " rootfstype=squashfs panic=10 armimmutable.slot=a\n";

static void test_rewrite(void)
{
	int r;
	char *a, *b;

	expect(armbian_h, "/boot/", 'a', UUID_A, armbian_h_a, "Armbian H file, slot a");
	expect(armbian_h, "/boot/", 'b', UUID_B, armbian_h_b, "Armbian H file, slot b");
	expect(board_df, "/", 'a', UUID_A, board_df_a, "boot partition file, slot a");
	/* install: the bundle's file (made for slot a) for slot b; and back */
	expect(armbian_h_a, NULL, 'b', UUID_B, armbian_h_b, "slot a's file rewritten for b");
	expect(armbian_h_b, NULL, 'a', UUID_A, armbian_h_a, "slot b's file rewritten for a");
	a = rw(board_df, "/", 'a', UUID_A, &r);
	b = a ? rw(a, NULL, 'a', UUID_A, &r) : NULL;
	is_str(b, a, "rewriting a slot's own file again changes nothing");
	free(a);
	free(b);
}

static void test_refuse(void)
{
	refuse("label x\n kernel /vmlinuz\n", "/boot/", "'/vmlinuz'", "a kernel outside /boot");
	refuse(armbian_h, NULL, "/boot/Image", "install: a path not under /slot-X/");
	refuse("label x\n kernel /boot/../Image\n", "/boot/", "..", "a path with ..");
	refuse("label x\n kernel /boot/Image\n append root=/dev/sda2 dyndbg=\"file x.c +p\n", "/boot/",
	       "unterminated", "an append line with an open quote");
	refuse("include other.conf\nlabel x\n kernel /Image\n", "/", "include", "include");
	refuse("menu include other.conf\nlabel x\n kernel /Image\n", "/", "include",
	       "menu include");
	refuse("label x\n append root=/dev/sda1\n", "/", "no label with a kernel", "no kernel");
	refuse("", "/", "no label with a kernel", "an empty file");
	{
		int r;
		char *out = rw(armbian_h, "/boot/", 'a', "5f0e/../x", &r);

		is_int(r, -EINVAL, "a bad PARTUUID refused");
		free(out);
		out = rw(armbian_h, "/boot/", 'c', UUID_A, &r);
		is_int(r, -EINVAL, "slot c refused");
		free(out);
	}
}

static void test_body(void)
{
	char *gen = NULL;
	int r = aim_bootscript_generate(aim_extlinux_body, NULL, &gen);

	is_int(r, 0, "the sysboot body goes through the A/B preamble");
	ok(gen && strstr(gen, "setenv prefix /slot-${aim_slot}/\n"), "the preamble sets the prefix");
	ok(gen && strstr(gen, "\nsysboot ${devtype} ${devnum}:${distro_bootpart} any "
			      "${aim_conf_addr} ${prefix}extlinux/extlinux.conf\n"),
	   "then sysboot of ${prefix}extlinux/extlinux.conf");
	ok(gen && strstr(gen, "sysboot") > strstr(gen, "setenv prefix"), "sysboot after the preamble");
	free(gen);
}

int main(void)
{
	test_rewrite();
	test_refuse();
	test_body();
	return done_testing();
}
