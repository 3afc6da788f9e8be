/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/install.c: aim_version_compare() orders versions as dpkg does: a table of expected
 * results (Armbian's own version styles, epochs, revisions, '~'), each also checked
 * against the real `dpkg --compare-versions` when dpkg is installed; and
 * aim_install_check_boot_names() refuses boot file names that are one name on FAT (case,
 * trailing dots and spaces, a file that is another's directory, slot.env and
 * armbianEnv.txt spelled otherwise). (The install itself is tested on images by
 * tests/integ/t0121-install.sh.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "install.h"
#include "tap.h"
#include "base/log.h"
#include "base/macro.h"

static const struct {
	const char *a, *b;
	int want;
} cases[] = {
	{ "25.5.1", "25.5.1", 0 },
	{ "25.5.1", "25.5.2", -1 },
	{ "25.11.0", "25.5.1", 1 },
	{ "24.2.1", "25.2.0", -1 },
	{ "99.1", "25.5.1", 1 },
	{ "1.0", "25.5.1", -1 },
	{ "25.5.0-trunk.123", "25.5.0-trunk.45", 1 },
	{ "25.5.0~rc1", "25.5.0", -1 },
	{ "25.5.0", "25.5.0+1", -1 },
	{ "1:1.0", "2.0", 1 },
	{ "0:2.0", "2.0", 0 },
	{ "1.0-1", "1.0-2", -1 },
	{ "1.0a", "1.0", 1 },
	{ "1.0", "1.0.0", -1 },
	{ "1.01", "1.1", 0 },
	{ "1.0~~", "1.0~", -1 },
	{ "a", "b", -1 },
	{ "", "0", 0 },
	{ "23.02.2", "23.2.2", 0 },
};

/* The manifest of a bundle with a rootfs and the boot files names[] (NULL-terminated),
 * checked by aim_install_check_boot_names(). */
static int boot_names(const char *const *names)
{
	char text[8192];
	size_t o, n = 1;
	struct aim_bundle_manifest *m = NULL;
	int r;

	for (const char *const *p = names; *p; p++)
		n++;
	o = (size_t)snprintf(text, sizeof(text),
			     "armimmutable-bundle 1\nversion=1\nboard=b\nfamily=f\narch=a\n"
			     "payload_bytes=%zu\n[payload]\nname=rootfs.squashfs\nkind=rootfs\n"
			     "offset=0\nsize=1\nsha256=%064d\n",
			     n * 4096, 0);
	for (size_t i = 1; i < n; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "[payload]\nname=%s\nkind=boot\noffset=%zu\nsize=1\n"
				      "sha256=%064d\n",
				      names[i - 1], i * 4096, 0);
	aim_error_clear();
	r = aim_bundle_manifest_parse(text, o, &m);
	if (r < 0) {
		printf("# manifest: %s\n", aim_error_detail() ? aim_error_detail() : "?");
		return 1;
	}
	r = aim_install_check_boot_names(m);
	aim_bundle_manifest_free(m);
	return r;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_boot_names(void)
{
	const char *d;

	is_int(boot_names(NAMES("Image", "uInitrd", "boot.scr", "armbianEnv.txt",
				"dtb/rockchip/a.dtb", "dtb/rockchip/overlay/b.dtbo",
				"dtb/allwinner/a.dtb", "dtb-6.1/x.dtb", "dtb.old")),
	       0, "distinct names (a real slot's shape) pass");
	is_int(boot_names(NAMES("Image", "slot.env")), 0,
	       "a payload named exactly slot.env passes (install skips it)");
	is_int(boot_names(NAMES("Image", "IMAGE")), -EBADMSG, "Image and IMAGE refused");
	d = aim_error_detail();
	ok(d && strstr(d, "'IMAGE'") && strstr(d, "'Image'") && strstr(d, "one file on FAT"),
	   "the message names both (%s)", d ? d : "");
	is_int(boot_names(NAMES("boot.scr", "boot.scr.")), -EBADMSG, "a trailing dot refused");
	is_int(boot_names(NAMES("boot.scr", "boot.scr ")), -EBADMSG, "a trailing space refused");
	is_int(boot_names(NAMES("dtb/a.dtb", "DTB./A.DTB")), -EBADMSG,
	       "case and a trailing dot in a directory component refused");
	is_int(boot_names(NAMES("dtb/x/a.dtb", "Dtb/X/b.dtb")), 0,
	       "two files in one directory spelled two ways pass (one directory on FAT)");
	is_int(boot_names(NAMES("dtb", "dtb/a.dtb")), -EBADMSG,
	       "a file that is another's directory refused");
	d = aim_error_detail();
	ok(d && strstr(d, "is a directory of"), "the message says so (%s)", d ? d : "");
	is_int(boot_names(NAMES("DTB", "dtb-1/x", "dtb.x", "dtb/a.dtb")), -EBADMSG,
	       "the same, folded, with names sorting between them");
	is_int(boot_names(NAMES("a/...", "b")), -EBADMSG, "a component of only dots refused");
	is_int(boot_names(NAMES("Image", "SLOT.ENV")), -EBADMSG,
	       "slot.env spelled otherwise refused (install writes slot.env)");
	is_int(boot_names(NAMES("slot.env/x")), -EBADMSG, "slot.env as a directory refused");
	is_int(boot_names(NAMES("Image", "ARMBIANENV.TXT")), -EBADMSG,
	       "armbianEnv.txt spelled otherwise refused (it would not be rewritten)");
	d = aim_error_detail();
	ok(d && strstr(d, "'ARMBIANENV.TXT' is 'armbianEnv.txt' on FAT"), "the message says so (%s)",
	   d ? d : "");
	is_int(boot_names(NAMES("armbianEnv.txt.", "x")), -EBADMSG,
	       "armbianEnv.txt with a trailing dot refused");
	is_int(boot_names(NAMES("caf\xc3\xa9", "CAF\xc3\xa9")), -EBADMSG,
	       "ASCII letters fold around other bytes");
	is_int(boot_names(NAMES("\xc3\xa9", "\xc3\x89")), 0,
	       "other bytes compare exactly (e-acute and E-acute: U-Boot and vfat fold ASCII)");
}

static int dpkg_cmp(const char *a, const char *b)
{
	char cmd[512];
	int r;

	snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' lt '%s' 2>/dev/null", a, b);
	r = system(cmd);
	if (WIFEXITED(r) && WEXITSTATUS(r) == 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "dpkg --compare-versions '%s' eq '%s' 2>/dev/null", a, b);
	r = system(cmd);
	if (WIFEXITED(r) && WEXITSTATUS(r) == 0)
		return 0;
	return 1;
}

int main(void)
{
	int have_dpkg = system("command -v dpkg >/dev/null 2>&1") == 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		is_int(aim_version_compare(cases[i].a, cases[i].b), cases[i].want,
		       "'%s' vs '%s'", cases[i].a, cases[i].b);
		is_int(aim_version_compare(cases[i].b, cases[i].a), -cases[i].want,
		       "'%s' vs '%s' (swapped)", cases[i].b, cases[i].a);
		if (have_dpkg && cases[i].a[0] && cases[i].b[0])
			is_int(aim_version_compare(cases[i].a, cases[i].b),
			       dpkg_cmp(cases[i].a, cases[i].b), "'%s' vs '%s': as dpkg says",
			       cases[i].a, cases[i].b);
	}
	if (!have_dpkg)
		ok(1, "# SKIP dpkg not installed: no cross-check");
	test_boot_names();
	return done_testing();
}
