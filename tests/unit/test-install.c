/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/install.c: aim_version_compare() orders versions as dpkg does: a table of expected
 * results (Armbian's own version styles, epochs, revisions, '~'), each also checked
 * against the real `dpkg --compare-versions` when dpkg is installed. (The install itself
 * is tested on images by tests/integ/t0121-install.sh.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "install.h"
#include "tap.h"
#include "util/macro.h"

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
	return done_testing();
}
