// SPDX-License-Identifier: LGPL-2.1-or-later
/* GRUB boot (docs/boot.md 4b): the generated grub.cfg for each case, its refusals and
 * quoting; aim_grub_mkimage's errors (and a real image when grub-mkimage is there); the
 * GRUB-flavoured state under torn writes: every write of copy 1 and of copy 2 cut at every
 * fault point (aim_slotstate_load still decides from the other copy), every prefix of a
 * copy (GRUB's envblk reader and ours agree that it is absent), and torn bootcount.txt
 * blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grubcfg.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/slotstate.h"
#include "base/slotstate_io.h"
#include "tap.h"

static const char *const uuid[2] = {"0a1b2c3d-02", "0a1b2c3d-03"};

/* The config for o (partuuids filled in), or NULL on failure (r set). */
static char *gen(struct aim_grubcfg_opts *o, int *r)
{
	struct aim_buf b = {0};

	if (!o->partuuid[0])
		o->partuuid[0] = uuid[0];
	if (!o->partuuid[1])
		o->partuuid[1] = uuid[1];
	*r = aim_grubcfg_generate(o, &b);
	if (*r < 0) {
		aim_buf_free(&b);
		return NULL;
	}
	return (char *)b.p;
}

static int has(const char *text, const char *s)
{
	return text && strstr(text, s) != NULL;
}

static void test_default(void)
{
	struct aim_grubcfg_opts o = {.cmdline = "console=ttyS0,115200 root=UUID=x rootfstype=ext4 "
						"rootflags=data=writeback quiet"};
	const char *p8, *p0;
	int r;
	char *t = gen(&o, &r);

	is_int(r, 0, "default config generated");
	ok(has(t, "if load_env -f /state-1.txt aim_seq aim_crc; then") &&
	   has(t, "if load_env -f /state-2.txt aim_seq aim_crc; then"),
	   "seq and crc of each copy first");
	ok(has(t, "unset aim_seq\nunset aim_crc\nif [ -f /state-2.txt ]"),
	   "both unset before copy 2: a copy cut short counts as absent");
	ok(has(t, "if [ \"${aim_s2}\" -gt \"${aim_s1}\" ]; then set aim_pick=2;"), "higher seq wins");
	ok(has(t, "load_env -f /state-${aim_pick}.txt aim_seq aim_active aim_try aim_tries_a "
		  "aim_tries_b aim_good_a aim_good_b\n"), "the chosen copy loaded fully");
	ok(has(t, "no slot state on the ESP, booting slot a"), "no state: slot a");
	ok(has(t, "if [ \"${aim_bc_seq}\" != \"${aim_seq}\" ]; then set aim_bc=0; fi"),
	   "a count for another seq is 0");
	ok(has(t, "if [ \"${aim_bc}\" -lt \"${aim_left}\" ]; then\n\t\tset aim_slot=\"${aim_try}\""),
	   "trial while bc < tries");
	ok(has(t, "slot ${aim_try} has no tries left (${aim_bc} of ${aim_left}), booting "
		  "${aim_active}"), "tries used up: says why");
	ok(has(t, "set aim_left=3\n") && has(t, "failed ${aim_bc} boots in a row before "
						  "boot-complete, booting ${aim_other}"),
	   "the corruption rule after AIM_SLOTSTATE_ACTIVE_FAILS");
	p8 = t ? strstr(t, "if [ \"${aim_bc}\" = 8 ]; then set aim_bc=9; fi") : NULL;
	p0 = t ? strstr(t, "if [ \"${aim_bc}\" = 0 ]; then set aim_bc=1; fi") : NULL;
	ok(p8 && p0 && p8 < p0, "increment chain 8..0, highest first (one step per boot)");
	ok(has(t, "if save_env -f /bootcount.txt aim_bc aim_bc_seq; then") &&
	   has(t, "cannot write bootcount.txt; the initramfs counts this boot"),
	   "save_env of the count, and a message when it fails");
	ok(has(t, "if linux /slot-a/vmlinuz console=ttyS0,115200 root=PARTUUID=0a1b2c3d-02 "
		  "rootfstype=squashfs quiet ro panic=10 armimmutable.slot=a; then\n"
		  "\t\t\tif initrd /slot-a/initrd.img; then boot; fi"),
	   "slot a: kernel, the image's arguments with the slot's root, initrd");
	ok(has(t, "linux /slot-b/vmlinuz console=ttyS0,115200 root=PARTUUID=0a1b2c3d-03 "),
	   "slot b's root");
	ok(!has(t, "rootflags") && !has(t, "ext4"), "the ext4 root's arguments dropped");
	ok(has(t, "aim_load \"${aim_slot}\"\nif [ -z \"${aim_loaded}\" ]") &&
	   has(t, "did not load, trying slot ${aim_other}"), "the other slot when one does not load");
	ok(has(t, "menuentry \"armimmutable slot b\" {"), "a menu when neither boots");
	ok(!has(t, "echo aim:") && !has(t, "sleep") && !has(t, "serial"),
	   "no test output, no timeout, no serial by default");
	free(t);
}

static void test_variants(void)
{
	struct aim_grubcfg_opts o = {.no_count = 1};
	int r;
	char *t = gen(&o, &r);

	ok(t && !has(t, "save_env") && has(t, "(counted by the initramfs)"), "no_count: no save_env");
	free(t);

	o = (struct aim_grubcfg_opts){.test_mode = 1, .dir = "/t3"};
	t = gen(&o, &r);
	ok(has(t, "load_env -f /t3/state-1.txt") && has(t, "save_env -f /t3/bootcount.txt"),
	   "test mode: files under dir");
	ok(has(t, "if [ -f /t3/slot-b/vmlinuz ]; then") &&
	   has(t, "echo \"aim: slot=${aim_slot} mode=${aim_mode} bc=${aim_bc} seq=${aim_seq}\"") &&
	   has(t, "echo aim: linux /t3/slot-b/vmlinuz ro root=PARTUUID=0a1b2c3d-03 "
		  "rootfstype=squashfs panic=10 armimmutable.slot=b\n"),
	   "test mode: prints the decision and the kernel line");
	ok(!has(t, "linux /") || !has(t, "\tif linux"), "test mode: no linux command");
	ok(!has(t, "menuentry") && !has(t, "boot;"), "test mode: no menu, no boot");
	free(t);

	o = (struct aim_grubcfg_opts){.kernel = "Image", .initrd = "", .timeout = 5, .serial = 1};
	t = gen(&o, &r);
	ok(has(t, "if linux /slot-a/Image ") && has(t, "; then\n\t\t\tboot\n") &&
	   !has(t, "initrd"), "other kernel name, no initrd");
	ok(has(t, "if sleep --interruptible 5; then\n"), "timeout: Esc stops the automatic boot");
	ok(has(t, "serial --speed=115200 efi0") && has(t, "terminal_output --append"),
	   "serial console");
	free(t);
}

static void test_quoting(void)
{
	struct aim_grubcfg_opts o = {
		.cmdline = "a=$x b;c d'e dyndbg=\"file x.c +p $y\" {f} g#h",
	};
	int r;
	char *t = gen(&o, &r);

	ok(has(t, "linux /slot-a/vmlinuz a=\\$x b\\;c d\\'e dyndbg=\"file x.c +p \\$y\" \\{f\\} "
		  "g\\#h ro root=PARTUUID="),
	   "GRUB-special characters escaped, double quotes kept as GRUB quotes");
	free(t);
	o.cmdline = "rw quiet ro x=\"a ro b\" panic=5";
	t = gen(&o, &r);
	ok(has(t, "linux /slot-a/vmlinuz quiet x=\"a ro b\" panic=5 ro root=PARTUUID=0a1b2c3d-02 "
		  "rootfstype=squashfs armimmutable.slot=a;"),
	   "rw and ro dropped, one ro added; a quoted ro kept; the image's panic= kept");
	free(t);
}

static void test_refusals(void)
{
	struct aim_grubcfg_opts o;
	int r;

	o = (struct aim_grubcfg_opts){.partuuid = {"0a1b2c3d-02", "x"}};
	ok(!gen(&o, &r) && r == -EINVAL && strstr(aim_error_detail(), "slot b"), "bad PARTUUID");
	o = (struct aim_grubcfg_opts){.kernel = "../vmlinuz"};
	ok(!gen(&o, &r) && r == -EINVAL, "kernel name with a slash");
	o = (struct aim_grubcfg_opts){.initrd = "a b"};
	ok(!gen(&o, &r) && r == -EINVAL, "initrd name with a space");
	o = (struct aim_grubcfg_opts){.dir = "/t1"};
	ok(!gen(&o, &r) && r == -EINVAL, "a directory outside test mode");
	o = (struct aim_grubcfg_opts){.dir = "t1", .test_mode = 1};
	ok(!gen(&o, &r) && r == -EINVAL, "a relative directory");
	o = (struct aim_grubcfg_opts){.cmdline = "quiet\nrm"};
	ok(!gen(&o, &r) && r == -EINVAL, "a newline in the arguments");
	o = (struct aim_grubcfg_opts){.timeout = 4000};
	ok(!gen(&o, &r) && r == -EINVAL, "timeout beyond an hour");
}

static void test_mkimage(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], out[256], cmd[1024], buf[2] = "";
	int r, fd;

	is_int(aim_grub_mkimage("i386-pc", NULL, "/nonexistent/x"), -EINVAL, "mkimage: platform");
	r = aim_grub_mkimage("arm64-efi", "/nonexistent", "/nonexistent/x");
	ok(r == -ENOENT && strstr(aim_error_detail(), "part_gpt") &&
	   strstr(aim_error_detail(), "grub-efi-arm64-bin"),
	   "mkimage: a missing module directory names the module and the package");
	if (access("/usr/lib/grub/x86_64-efi/linux.mod", R_OK) < 0 ||
	    system("command -v grub-mkimage >/dev/null") != 0) {
		printf("ok %d # skip no grub-mkimage or x86_64-efi modules\n", ++tap_n);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/test-grubcfg-m-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(out, sizeof(out), "%s/BOOTX64.EFI", dir);
	is_int(aim_grub_mkimage("x86_64-efi", NULL, out), 0, "mkimage: x86_64-efi from the host");
	fd = open(out, O_RDONLY);
	ok(fd >= 0 && read(fd, buf, 2) == 2 && !memcmp(buf, "MZ", 2), "mkimage: a PE image");
	if (fd >= 0)
		close(fd);
	snprintf(out, sizeof(out), "%s/BOOTX64.EFI.tmp", dir);
	ok(access(out, F_OK) < 0, "mkimage: no temporary file left");
	/* modules of another GRUB release: refused before grub-mkimage runs */
	snprintf(cmd, sizeof(cmd), "mkdir '%s/mods' && cp /usr/lib/grub/x86_64-efi/*.mod '%s/mods/' "
		 "&& echo 'grub_version=\"2.12\"' >'%s/mods/modinfo.sh'", dir, dir, dir);
	ok(system(cmd) == 0, "mkimage: a copy of the modules, said to be 2.12");
	snprintf(cmd, sizeof(cmd), "%s/mods", dir);
	snprintf(out, sizeof(out), "%s/other.efi", dir);
	r = aim_grub_mkimage("x86_64-efi", cmd, out);
	ok(r == -ENOTSUP && strstr(aim_error_detail(), "are 2.12, grub-mkimage is 2.06") &&
	   access(out, F_OK) < 0, "mkimage: 2.12 modules with a 2.06 grub-mkimage refused: %s",
	   aim_error_detail());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "mkimage: cleanup");
}

/*
 * GRUB's reading of an environment block (grub-core/lib/envblk.c grub_envblk_open,
 * grub_envblk_iterate): the signature first; lines starting with '#' skipped; a line
 * without '=' or without its '\n' before the end stops the walk ("Broken"), what came
 * before stays set. Returns whether the block sets both aim_seq and aim_crc.
 */
static int grub_sees_seq_crc(const char *buf, size_t len)
{
	size_t sig = sizeof(AIM_GRUBENV_SIGNATURE) - 1, p = sig;
	int seq = 0, crc = 0;

	if (len < sig + 1 || memcmp(buf, AIM_GRUBENV_SIGNATURE, sig))
		return 0;
	while (p < len) {
		if (buf[p] != '#') {
			size_t name = p, eq, nl;

			while (p < len && buf[p] != '=')
				p++;
			if (p == len)
				return seq && crc;
			eq = p;
			while (p < len && buf[p] != '\n')
				p += buf[p] == '\\' ? 2 : 1;
			if (p >= len)
				return seq && crc;
			nl = p;
			seq |= eq - name == 7 && !memcmp(buf + name, "aim_seq", 7) && nl > eq + 1;
			crc |= eq - name == 7 && !memcmp(buf + name, "aim_crc", 7) && nl > eq + 1;
		}
		while (p < len && buf[p] != '\n')
			p += buf[p] == '\\' ? 2 : 1;
		p++;
	}
	return seq && crc;
}

static void test_prefixes(void)
{
	struct aim_slotstate st, got;
	char rec[AIM_SLOTSTATE_MAX], other[AIM_SLOTSTATE_MAX];
	int n, m, agree = 0, decided = 0, copy;

	aim_slotstate_init(&st);
	st.grubenv = 1;
	st.seq = 7;
	st.good[1] = 1;
	m = aim_slotstate_format(&st, other);
	st.seq = 8;
	st.try_slot = 'b';
	st.tries[1] = 3;
	snprintf(st.reason, sizeof(st.reason), "installed 25.11");
	n = aim_slotstate_format(&st, rec);
	ok(n > 0 && m > 0 && grub_sees_seq_crc(rec, (size_t)n), "GRUB's reader sees the record");
	for (int cut = 0; cut < n; cut++) {
		int ours = aim_slotstate_parse(rec, (size_t)cut, &got) == 0;

		agree += ours == grub_sees_seq_crc(rec, (size_t)cut) && !ours;
		/* the newer copy 2 cut short: copy 1 (seq 7) decides */
		decided += aim_slotstate_pick(other, (size_t)m, rec, (size_t)cut, &got, &copy) == 0 &&
			   copy == 1 && got.seq == 7 && got.grubenv;
	}
	is_int(agree, n, "every prefix of a copy: absent for GRUB (no aim_crc) and for parse");
	is_int(decided, n, "every prefix of the newer copy: the other copy decides");
	memset(rec, 0, sizeof(rec));
	ok(!grub_sees_seq_crc(rec, 100) && aim_slotstate_parse(rec, 100, &got) < 0,
	   "a copy of zeros (FAT size written, data not): absent for both");
}

static void test_bootcount_torn(void)
{
	char a[AIM_GRUBENV_SIZE], b[AIM_GRUBENV_SIZE], mix[AIM_GRUBENV_SIZE];
	struct aim_slotstate st;
	int fine = 0;

	aim_slotstate_format_grub_bootcount(1, 9, a);
	aim_slotstate_format_grub_bootcount(2, 9, b);
	ok(!memcmp(a + 512, b + 512, 512), "the second sector never changes ('#' only)");
	for (int cut = 0; cut <= AIM_GRUBENV_SIZE; cut++) {
		memcpy(mix, b, (size_t)cut);
		memcpy(mix + cut, a + cut, (size_t)(AIM_GRUBENV_SIZE - cut));
		aim_slotstate_init(&st);
		st.seq = 9;
		(void)aim_slotstate_apply_bootcount(mix, sizeof(mix), &st);
		fine += st.uboot_count == 1 || st.uboot_count == 2;
	}
	is_int(fine, AIM_GRUBENV_SIZE + 1, "count 1 -> 2 torn at any byte: 1 or 2, never more");
	fine = 0;
	aim_slotstate_format_grub_bootcount(3, 9, a);
	aim_slotstate_format_grub_bootcount(1, 10, b);
	for (int cut = 0; cut <= AIM_GRUBENV_SIZE; cut++) {
		memcpy(mix, b, (size_t)cut);
		memcpy(mix + cut, a + cut, (size_t)(AIM_GRUBENV_SIZE - cut));
		aim_slotstate_init(&st);
		st.seq = 10;
		(void)aim_slotstate_apply_bootcount(mix, sizeof(mix), &st);
		fine += st.uboot_count <= 1;
	}
	is_int(fine, AIM_GRUBENV_SIZE + 1,
	       "a new seq's first count torn at any byte: 0 or 1 for the new seq");
}

static void test_bootcount_repair(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], path[256], blk[AIM_GRUBENV_SIZE], got[AIM_GRUBENV_SIZE + 1];
	FILE *f;

	aim_slotstate_format_grub_bootcount(3, 12, blk);
	ok(aim_slotstate_grub_bootcount_ok(blk, sizeof(blk)), "a formatted block is fine");
	ok(!aim_slotstate_grub_bootcount_ok(blk, 512), "a short one is not");
	blk[AIM_GRUBENV_SIZE - 1] = 'x';
	ok(!aim_slotstate_grub_bootcount_ok(blk, sizeof(blk)), "no '#' padding after '\\n': not");
	snprintf(dir, sizeof(dir), "%s/test-grubcfg-r-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	is_int(aim_slotstate_grub_bootcount_repair(dir), 1, "repair: a missing file is written");
	snprintf(path, sizeof(path), "%s/bootcount.txt", dir);
	f = fopen(path, "r");
	ok(f && fread(got, 1, sizeof(got), f) == AIM_GRUBENV_SIZE &&
	   aim_slotstate_grub_bootcount_ok(got, AIM_GRUBENV_SIZE), "repair: a whole block");
	if (f)
		fclose(f);
	is_int(aim_slotstate_grub_bootcount_repair(dir), 0, "repair: a good file stays");
	f = fopen(path, "r+");
	if (f) {
		fwrite("\0\0\0garbage", 1, 10, f);
		fclose(f);
	}
	is_int(aim_slotstate_grub_bootcount_repair(dir), 1, "repair: a torn file is rewritten");
	unlink(path);
	ok(rmdir(dir) == 0, "repair: nothing else left");
}

/* Child mode: load DIR, change the state, store it to the older copy. */
static int child_store(const char *dir)
{
	struct aim_slotstate st;
	int copy;

	if (aim_slotstate_load(dir, &st, &copy) < 0 || !st.grubenv)
		return 1;
	return aim_slotstate_set_trial(&st, 'b', 3, "installed", NULL, 0) < 0 ||
	       aim_slotstate_store(dir, &st, 3 - copy) < 0;
}

static int run_child(const char *self, const char *dir, unsigned at, const char *countfile)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		char atbuf[16];

		snprintf(atbuf, sizeof(atbuf), "%u", at);
		if (at)
			setenv("AIM_FAULT_AT", atbuf, 1);
		if (countfile)
			setenv("AIM_FAULT_COUNT", countfile, 1);
		execl(self, self, "store", dir, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Both copies valid, GRUB flavour; the newer one is copy `newer` (the writer replaces the
 * other). */
static void reset(const char *dir, int newer)
{
	struct aim_slotstate st;

	aim_slotstate_init(&st);
	st.grubenv = 1;
	st.seq = 20;
	(void)aim_slotstate_store(dir, &st, 3 - newer);
	st.seq = 21;
	(void)aim_slotstate_store(dir, &st, newer);
}

static void test_fault(const char *self)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], cf[256], buf[32] = "";
	struct aim_slotstate got;
	unsigned count;
	int fd, copy;

	snprintf(dir, sizeof(dir), "%s/test-grubcfg-f-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(cf, sizeof(cf), "%s/count", dir);
	reset(dir, 1);
	is_int(run_child(self, dir, 0, cf), 0, "fault: a GRUB-flavoured store without a cut");
	fd = open(cf, O_RDONLY);
	ok(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0, "fault: count file written");
	if (fd >= 0)
		close(fd);
	unlink(cf);
	count = (unsigned)atoi(buf);
	ok(count >= 4, "fault: a store reaches %u points", count);
	is_int(aim_slotstate_load(dir, &got, &copy), 0, "fault: the stored state loads");
	ok(copy == 2 && got.seq == 22 && got.grubenv && got.try_slot == 'b',
	   "fault: written to copy 2, seq 22, still the GRUB flavour");
	for (int newer = 1; newer <= 2; newer++) {
		unsigned fine = 0, flavour = 0;

		for (unsigned at = 1; at <= count; at++) {
			reset(dir, newer);
			if (run_child(self, dir, at, NULL) != AIM_FAULT_EXIT) {
				ok(0, "fault: cut at point %u exits with %d", at, AIM_FAULT_EXIT);
				continue;
			}
			if (aim_slotstate_load(dir, &got, &copy) < 0) {
				printf("# copy %d cut at %u: no valid state (%s)\n", 3 - newer, at,
				       got.reason);
				continue;
			}
			/* the old state from the untouched copy, or the new one complete */
			fine += (got.seq == 21 && copy == newer && !got.try_slot) ||
				(got.seq == 22 && copy == 3 - newer && got.try_slot == 'b');
			flavour += got.grubenv;
		}
		is_int(fine, count, "fault: every write of copy %d cut at each of %u points: the "
		       "other copy decides, or the new state is whole", 3 - newer, count);
		is_int(flavour, count, "fault: copy %d cut: the GRUB flavour kept", 3 - newer);
	}
	snprintf(cf, sizeof(cf), "rm -rf '%s'", dir);
	ok(system(cf) == 0, "fault: cleanup");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "store"))
		return child_store(argv[2]);
	test_default();
	test_variants();
	test_quoting();
	test_refusals();
	test_mkimage();
	test_prefixes();
	test_bootcount_torn();
	test_bootcount_repair();
	test_fault(argv[0]);
	return done_testing();
}
