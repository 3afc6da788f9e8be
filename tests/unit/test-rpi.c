// SPDX-License-Identifier: LGPL-2.1-or-later
/* Raspberry Pi (docs/rpi.md): autoboot.txt for each state of the record (normal boot the
 * active slot, tryboot the slot on trial while it has its try), its parser, its store next
 * to the state copies, and the slot's cmdline.txt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpi.h"
#include "base/autoboot.h"
#include "base/fileio.h"
#include "base/log.h"
#include "tap.h"

#define UUID_A "34285b59-ab15-4446-9c37-0994a39a9783"

/* [all] and [tryboot] partitions of the autoboot.txt made for st, as "5 6". */
static const char *parts(const struct aim_slotstate *st)
{
	static char out[32];
	char buf[AIM_RPI_AUTOBOOT_MAX];
	unsigned all = 0, try = 0;
	int n = aim_rpi_autoboot(st, buf, sizeof(buf));

	if (n < 0 || aim_rpi_autoboot_parse(buf, (size_t)n, &all, &try) < 0)
		return "error";
	snprintf(out, sizeof(out), "%u %u", all, try);
	return out;
}

static void test_autoboot(void)
{
	struct aim_slotstate st;
	char buf[AIM_RPI_AUTOBOOT_MAX];
	int n;

	aim_slotstate_init(&st);
	is_str(parts(&st), "5 5", "converted: slot a normally and on tryboot");
	n = aim_rpi_autoboot(&st, buf, sizeof(buf));
	ok(n > 0 && n <= 512, "within the firmware's 512 bytes (%d)", n);
	ok(strstr(buf, "[all]\ntryboot_a_b=1\nboot_partition=5\n[tryboot]\nboot_partition=5\n") != NULL,
	   "the text: [all] with tryboot_a_b=1, then [tryboot]");
	st.try_slot = 'b';
	st.tries[1] = 1;
	is_str(parts(&st), "5 6", "b on trial: a normally, b after reboot '0 tryboot'");
	st.tries[1] = 0;
	is_str(parts(&st), "5 5", "b's try taken (the trial boot is running): tryboot is a again");
	st.try_slot = 0;
	st.active = 'b';
	st.good[1] = 1;
	is_str(parts(&st), "6 6", "b marked good: b normally and on tryboot");
	st.try_slot = 'a';
	st.tries[0] = 1;
	is_str(parts(&st), "6 5", "a on trial from b: b normally, a on tryboot");
	st.try_slot = 'b';
	st.tries[1] = 3;
	is_str(parts(&st), "6 6", "a trial of the active slot itself names it once");
	ok(aim_rpi_autoboot(&st, buf, 40) == -ENOBUFS, "a short buffer: -ENOBUFS");
}

static void test_parse(void)
{
	unsigned all = 9, try = 9;
	static const char crlf[] = "[all]\r\ntryboot_a_b=1\r\nboot_partition=6\r\n[tryboot]\r\n"
				   "boot_partition=5\r\n";
	char big[600];

	is_int(aim_rpi_autoboot_parse(crlf, strlen(crlf), &all, &try), 0, "CRLF parses");
	ok(all == 6 && try == 5, "CRLF: 6 and 5 (%u %u)", all, try);
	is_int(aim_rpi_autoboot_parse("tryboot_a_b=1\nboot_partition=2\n", 31, &all, &try), 0,
	       "no section: [all] implied");
	ok(all == 2 && try == 0, "no section: 2, no tryboot (%u %u)", all, try);
	aim_error_clear();
	is_int(aim_rpi_autoboot_parse("[all]\nboot_partition=2\n", 23, &all, &try), -EBADMSG,
	       "without tryboot_a_b=1: refused");
	memset(big, '#', sizeof(big));
	is_int(aim_rpi_autoboot_parse(big, sizeof(big), &all, &try), -EBADMSG,
	       "over 512 bytes: refused (the firmware would cut it)");
	aim_error_clear();
}

static void test_cmdline(void)
{
	static const char armbian[] =
		"console=serial0,115200 console=tty1 loglevel=1 root=LABEL=armbi_root "
		"rootfstype=ext4 fsck.repair=yes rootwait\n";
	char *out = NULL;

	is_int(aim_rpi_rewrite_cmdline(armbian, 'a', UUID_A, &out), 0, "Armbian's cmdline.txt");
	is_str(out, "console=serial0,115200 console=tty1 loglevel=1 root=PARTUUID=" UUID_A
		    " rootfstype=squashfs fsck.repair=yes rootwait panic=10 armimmutable.slot=a\n",
	       "root and rootfstype in place, panic=10 and the slot at the end");
	free(out);
	is_int(aim_rpi_rewrite_cmdline("quiet panic=5 rootflags=data=journal root=/dev/mmcblk0p2 "
				       "armimmutable.slot=a", 'b', UUID_A, &out), 0,
	       "no newline, a panic=, rootflags, an old slot");
	is_str(out, "quiet panic=5 root=PARTUUID=" UUID_A " rootfstype=squashfs "
		    "armimmutable.slot=b\n", "rootflags and the old slot dropped, panic kept");
	free(out);
	is_int(aim_rpi_rewrite_cmdline("console=tty1\r\n", 'a', UUID_A, &out), 0, "CRLF, no root=");
	is_str(out, "console=tty1 root=PARTUUID=" UUID_A " rootfstype=squashfs panic=10 "
		    "armimmutable.slot=a\n", "root= and rootfstype= added");
	free(out);
	aim_error_clear();
	is_int(aim_rpi_rewrite_cmdline("a=1\nb=2\n", 'a', UUID_A, &out), -EINVAL,
	       "two lines refused (the firmware reads one)");
	ok(out == NULL, "nothing returned");
	is_int(aim_rpi_rewrite_cmdline("\n", 'a', UUID_A, &out), -EINVAL, "empty refused");
	is_int(aim_rpi_rewrite_cmdline("quiet \"a b root=/dev/x\n", 'a', UUID_A, &out), -EINVAL,
	       "an unterminated quote refused (the kernel would read root= as part of it)");
	is_int(aim_rpi_rewrite_cmdline("x=\"a b\" root=/dev/x\n", 'a', UUID_A, &out), 0,
	       "a quoted value with a space");
	is_str(out, "x=\"a b\" root=PARTUUID=" UUID_A " rootfstype=squashfs panic=10 "
		    "armimmutable.slot=a\n", "the quoted value kept as one word");
	free(out);
	aim_error_clear();
}

static void test_store(void)
{
	char dir[] = "/tmp/test-rpi-XXXXXX", path[64];
	struct aim_slotstate st;
	char *got = NULL;
	FILE *f;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	aim_slotstate_init(&st);
	is_int(aim_rpi_autoboot_store(dir, &st), 0, "no autoboot.txt: not a Pi image, nothing written");
	snprintf(path, sizeof(path), "%s/autoboot.txt", dir);
	ok(access(path, F_OK) < 0, "still none");
	f = fopen(path, "w");
	fputs("[all]\ntryboot_a_b=1\nboot_partition=5\n", f);
	fclose(f);
	st.try_slot = 'b';
	st.tries[1] = 1;
	is_int(aim_rpi_autoboot_store(dir, &st), 1, "differs: written");
	aim_read_file(path, 4096, &got, NULL);
	ok(got && strstr(got, "[tryboot]\nboot_partition=6\n"), "[tryboot] names partition 6");
	free(got);
	is_int(aim_rpi_autoboot_store(dir, &st), 0, "the same again: unchanged");
	snprintf(path, sizeof(path), "%s/autoboot.tmp", dir);
	ok(access(path, F_OK) < 0, "no temp file left");
	snprintf(path, sizeof(path), "%s/autoboot.txt", dir);
	unlink(path);
	rmdir(dir);
}

static void test_names(void)
{
	ok(aim_rpi_on_slot_part("vmlinuz") && aim_rpi_on_slot_part("overlays/x.dtbo") &&
		   aim_rpi_on_slot_part("cmdline.txt"),
	   "boot files live on the slot's partition");
	ok(!aim_rpi_on_slot_part("slot.env") && !aim_rpi_on_slot_part("slot.env.minisig") &&
		   !aim_rpi_on_slot_part("install.env"),
	   "slot.env, its signature and install.env stay on partition 1");
}

int main(void)
{
	test_autoboot();
	test_parse();
	test_cmdline();
	test_store();
	test_names();
	return done_testing();
}
