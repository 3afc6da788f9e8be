// SPDX-License-Identifier: LGPL-2.1-or-later
/* The A/B grub.cfg of UEFI images (docs/boot.md 4b) and the GRUB EFI binary. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grubcfg.h"
#include "extlinux.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/slotstate.h"
#include "base/spawn.h"

#define AIM_STR_(x) #x
#define AIM_STR(x) AIM_STR_(x)

/*
 * GRUB script: what lib/bootscript.c's U-Boot preamble does (docs/boot.md 4), in GRUB's
 * words. "@D" stands for the directory of the files (empty: the ESP's root). GRUB has
 * no arithmetic and no && / ||: counts go up through an if-chain, conditions nest.
 * load_env of the state copies reads only aim_seq and aim_crc first (with both unset
 * before each copy): a copy cut short lacks aim_crc, the last line, and counts as absent.
 */
static const char cfg_state[] =
	"unset aim_s1\n"
	"unset aim_s2\n"
	"unset aim_pick\n"
	"unset aim_seq\n"
	"unset aim_crc\n"
	"if [ -f @D/state-1.txt ]; then\n"
	"\tif load_env -f @D/state-1.txt aim_seq aim_crc; then\n"
	"\t\tif [ -n \"${aim_seq}\" ]; then if [ -n \"${aim_crc}\" ]; then set aim_s1=\"${aim_seq}\"; set aim_pick=1; fi; fi\n"
	"\tfi\n"
	"fi\n"
	"unset aim_seq\n"
	"unset aim_crc\n"
	"if [ -f @D/state-2.txt ]; then\n"
	"\tif load_env -f @D/state-2.txt aim_seq aim_crc; then\n"
	"\t\tif [ -n \"${aim_seq}\" ]; then if [ -n \"${aim_crc}\" ]; then\n"
	"\t\t\tset aim_s2=\"${aim_seq}\"\n"
	"\t\t\tif [ -z \"${aim_pick}\" ]; then set aim_pick=2; fi\n"
	"\t\t\tif [ -n \"${aim_s1}\" ]; then if [ \"${aim_s2}\" -gt \"${aim_s1}\" ]; then set aim_pick=2; fi; fi\n"
	"\t\tfi; fi\n"
	"\tfi\n"
	"fi\n"
	"set aim_active=a\n"
	"set aim_try=\n"
	"set aim_tries_a=0\n"
	"set aim_tries_b=0\n"
	"set aim_good_a=0\n"
	"set aim_good_b=0\n"
	"set aim_seq=0\n"
	"if [ -n \"${aim_pick}\" ]; then\n"
	"\tload_env -f @D/state-${aim_pick}.txt aim_seq aim_active aim_try aim_tries_a aim_tries_b aim_good_a aim_good_b\n"
	"else\n"
	"\techo \"armimmutable: no slot state on the ESP, booting slot a\"\n"
	"fi\n"
	"if [ \"${aim_active}\" != b ]; then set aim_active=a; fi\n"
	"set aim_slot=\"${aim_active}\"\n"
	"set aim_mode=good\n"
	"unset aim_count\n"
	"set aim_bc=0\n"
	"unset aim_bc_seq\n"
	"if [ -f @D/bootcount.txt ]; then load_env -f @D/bootcount.txt aim_bc aim_bc_seq; fi\n"
	"if [ \"${aim_bc_seq}\" != \"${aim_seq}\" ]; then set aim_bc=0; fi\n"
	"if [ -z \"${aim_bc}\" ]; then set aim_bc=0; fi\n"
	"unset aim_trial\n"
	"set aim_left=0\n"
	"if [ \"${aim_try}\" = a ]; then set aim_trial=1; set aim_left=\"${aim_tries_a}\"; fi\n"
	"if [ \"${aim_try}\" = b ]; then set aim_trial=1; set aim_left=\"${aim_tries_b}\"; fi\n"
	"if [ -z \"${aim_left}\" ]; then set aim_left=0; fi\n"
	"set aim_other=b\n"
	"set aim_ogood=\"${aim_good_b}\"\n"
	"if [ \"${aim_active}\" = b ]; then set aim_other=a; set aim_ogood=\"${aim_good_a}\"; fi\n"
	"if [ -n \"${aim_trial}\" ]; then\n"
	"\tif [ \"${aim_bc}\" -lt \"${aim_left}\" ]; then\n"
	"\t\tset aim_slot=\"${aim_try}\"\n"
	"\t\tset aim_mode=trial\n"
	"\t\tset aim_count=1\n"
	"\telse\n"
	"\t\techo \"armimmutable: slot ${aim_try} has no tries left (${aim_bc} of ${aim_left}), booting ${aim_active}\"\n"
	"\t\tset aim_mode=fallback\n"
	"\tfi\n"
	/* the corruption rule: boots of the good active slot count while the other slot is
	 * good; mark-good resets the count (a new seq) */
	"elif [ \"${aim_ogood}\" = 1 ]; then\n"
	"\tset aim_left=" AIM_STR(AIM_SLOTSTATE_ACTIVE_FAILS) "\n"
	"\tif [ \"${aim_bc}\" -lt \"${aim_left}\" ]; then\n"
	"\t\tset aim_count=1\n"
	"\telse\n"
	"\t\techo \"armimmutable: slot ${aim_active} failed ${aim_bc} boots in a row before boot-complete, booting ${aim_other}\"\n"
	"\t\tset aim_slot=\"${aim_other}\"\n"
	"\t\tset aim_mode=fallback\n"
	"\tfi\n"
	"fi\n";

static const char cfg_count[] =
	"if [ -n \"${aim_count}\" ]; then\n"
	"\tif [ \"${aim_bc}\" = 8 ]; then set aim_bc=9; fi\n"
	"\tif [ \"${aim_bc}\" = 7 ]; then set aim_bc=8; fi\n"
	"\tif [ \"${aim_bc}\" = 6 ]; then set aim_bc=7; fi\n"
	"\tif [ \"${aim_bc}\" = 5 ]; then set aim_bc=6; fi\n"
	"\tif [ \"${aim_bc}\" = 4 ]; then set aim_bc=5; fi\n"
	"\tif [ \"${aim_bc}\" = 3 ]; then set aim_bc=4; fi\n"
	"\tif [ \"${aim_bc}\" = 2 ]; then set aim_bc=3; fi\n"
	"\tif [ \"${aim_bc}\" = 1 ]; then set aim_bc=2; fi\n"
	"\tif [ \"${aim_bc}\" = 0 ]; then set aim_bc=1; fi\n"
	"\tset aim_bc_seq=\"${aim_seq}\"\n"
	/* in place, over the file's own sectors (grub-core/commands/loadenv.c) */
	"\tif save_env -f @D/bootcount.txt aim_bc aim_bc_seq; then\n"
	"\t\techo \"armimmutable: ${aim_mode} boot ${aim_bc} of ${aim_left} for slot ${aim_slot}\"\n"
	"\telse\n"
	"\t\techo \"armimmutable: cannot write bootcount.txt; the initramfs counts this boot\"\n"
	"\tfi\n"
	"fi\n";

static const char cfg_nocount[] =
	"if [ -n \"${aim_count}\" ]; then echo \"armimmutable: ${aim_mode} boot of slot ${aim_slot} "
	"(counted by the initramfs)\"; fi\n";

/* After aim_load (defined per slot): the chosen slot, else the other one. */
static const char cfg_boot[] =
	"unset aim_loaded\n"
	"set aim_other=b\n"
	"if [ \"${aim_slot}\" = b ]; then set aim_other=a; fi\n"
	"echo \"armimmutable: slot ${aim_slot} (${aim_mode}), files from @D/slot-${aim_slot}/\"\n"
	"aim_load \"${aim_slot}\"\n"
	"if [ -z \"${aim_loaded}\" ]; then\n"
	"\techo \"armimmutable: slot ${aim_slot} did not load, trying slot ${aim_other}\"\n"
	"\tset aim_mode=fallback\n"
	"\tset aim_slot=\"${aim_other}\"\n"
	"\taim_load \"${aim_slot}\"\n"
	"fi\n";

/* Copies tpl to f with "@D" replaced by dir. */
static void put_tpl(FILE *f, const char *tpl, const char *dir)
{
	for (const char *p = tpl; *p;) {
		const char *at = strstr(p, "@D");
		size_t n = at ? (size_t)(at - p) : strlen(p);

		fwrite(p, 1, n, f);
		if (!at)
			break;
		fputs(dir, f);
		p = at + 2;
	}
}

/*
 * A kernel command line as GRUB words that GRUB's linux command passes on unchanged:
 * spaces outside double quotes separate words; the double quotes group (GRUB drops them
 * and quotes an argument with spaces again, grub-core/lib/cmdline.c, which the kernel
 * reads the same way); every other character special to GRUB's parser is escaped with a
 * backslash (inside double quotes only '$' and '\' are special).
 */
static void put_words(FILE *f, const char *s)
{
	int q = 0;

	for (; *s; s++) {
		char c = *s;

		if (c == '"')
			q = !q;
		else if (q ? (c == '$' || c == '\\') : !!strchr("$\\'{}<>|&;#", c))
			fputc('\\', f);
		fputc(c, f);
	}
}

static int valid_name(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr(extra, *s))
			return 0;
	return 1;
}

static int valid_partuuid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 8 && n <= 36 && strspn(s, "0123456789abcdefABCDEF-") == n;
}

/* args without its "ro" and "rw" words (outside double quotes), then " ro": the slot's
 * squashfs is mounted read-only, as GRUB's own 10_linux puts "ro" on its linux lines. */
static void put_ro(FILE *f, const char *args)
{
	const char *p = args;
	int q = 0;

	while (*p) {
		const char *w = p;

		while (*p && (q || (*p != ' ' && *p != '\t')))
			q ^= *p++ == '"';
		if (!((p - w == 2) && (!memcmp(w, "ro", 2) || !memcmp(w, "rw", 2))))
			fprintf(f, "%.*s ", (int)(p - w), w);
		while (*p == ' ' || *p == '\t')
			p++;
	}
	fputs("ro", f);
}

/* The slot's kernel command line (put_ro, aim_extlinux_put_cmdline) as a string. */
static char *slot_cmdline(const struct aim_grubcfg_opts *o, int i)
{
	char *buf = NULL, *args = NULL;
	size_t size = 0, asize = 0;
	FILE *f = open_memstream(&args, &asize);

	if (!f)
		return NULL;
	put_ro(f, o->cmdline ? o->cmdline : "");
	if (fclose(f) != 0) {
		free(args);
		return NULL;
	}
	f = open_memstream(&buf, &size);
	if (!f) {
		free(args);
		return NULL;
	}
	aim_extlinux_put_cmdline(f, args, strlen(args), (char)('a' + i), o->partuuid[i]);
	free(args);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The slot's kernel and initrd names from its grub.env (unset first: a slot without
 * one loads nothing and the other slot is tried). */
static void put_slot_env(FILE *f, const char *dir, char s, const char *ind)
{
	fprintf(f, "%sunset aim_kernel\n%sunset aim_initrd\n", ind, ind);
	fprintf(f, "%sload_env -f %s/slot-%c/grub.env aim_kernel aim_initrd\n", ind, dir, s);
}

/* aim_load SLOT: load and boot it (test mode: print what would be loaded); on return
 * the slot did not load (test mode: aim_loaded=1 when it would have). */
static void put_load(FILE *f, const struct aim_grubcfg_opts *o, const char *dir,
		     char *const cmd[2])
{
	const char *k = o->slot_env ? "${aim_kernel}" : o->kernel;
	const char *ird = o->slot_env ? "${aim_initrd}" : o->initrd;

	fputs("function aim_load {\n", f);
	for (int i = 0; i < 2; i++) {
		char s = (char)('a' + i);

		fprintf(f, "\tif [ \"$1\" = %c ]; then\n", s);
		if (o->slot_env)
			put_slot_env(f, dir, s, "\t\t");
		if (o->test_mode) {
			fprintf(f, "\t\tif [ -f %s/slot-%c/%s ]; then\n", dir, s, k);
			fputs("\t\t\techo \"aim: slot=${aim_slot} mode=${aim_mode} bc=${aim_bc} "
			      "seq=${aim_seq}\"\n", f);
			fprintf(f, "\t\t\techo aim: linux %s/slot-%c/%s ", dir, s, k);
			put_words(f, cmd[i]);
			if (*ird)
				fprintf(f, "\n\t\t\techo aim: initrd %s/slot-%c/%s", dir, s, ird);
			fputs("\n\t\t\tset aim_loaded=1\n\t\tfi\n", f);
		} else {
			fprintf(f, "\t\tif linux %s/slot-%c/%s ", dir, s, k);
			put_words(f, cmd[i]);
			fputs("; then\n", f);
			if (o->slot_env)
				fputs("\t\t\tif [ -z \"${aim_initrd}\" ]; then boot; fi\n", f);
			if (*ird)
				fprintf(f, "\t\t\tif initrd %s/slot-%c/%s; then boot; fi\n", dir, s, ird);
			else
				fputs("\t\t\tboot\n", f);
			fputs("\t\tfi\n", f);
		}
		fputs("\tfi\n", f);
	}
	fputs("}\n", f);
}

/* Real mode: a menu of both slots for when the automatic boot was stopped or failed. */
static void put_menu(FILE *f, const struct aim_grubcfg_opts *o, char *const cmd[2])
{
	fputs("echo \"armimmutable: no automatic boot: choose a slot\"\n"
	      "set timeout=-1\n", f);
	for (int i = 0; i < 2; i++) {
		char s = (char)('a' + i);

		fprintf(f, "menuentry \"armimmutable slot %c\" {\n", s);
		if (o->slot_env)
			put_slot_env(f, "", s, "\t");
		fprintf(f, "\tlinux /slot-%c/%s ", s, o->slot_env ? "${aim_kernel}" : o->kernel);
		put_words(f, cmd[i]);
		fputc('\n', f);
		if (o->slot_env)
			fprintf(f, "\tif [ -n \"${aim_initrd}\" ]; then initrd /slot-%c/${aim_initrd}; "
				   "fi\n", s);
		else if (*o->initrd)
			fprintf(f, "\tinitrd /slot-%c/%s\n", s, o->initrd);
		fputs("}\n", f);
	}
}

static int check_opts(const struct aim_grubcfg_opts *o)
{
	for (int i = 0; i < 2; i++)
		if (!valid_partuuid(o->partuuid[i]))
			return aim_error_set(-EINVAL, "bad PARTUUID '%s' for slot %c",
					     o->partuuid[i] ? o->partuuid[i] : "", 'a' + i);
	if (o->kernel && !valid_name(o->kernel, "._+-"))
		return aim_error_set(-EINVAL, "bad kernel file name '%s'", o->kernel);
	if (o->initrd && *o->initrd && !valid_name(o->initrd, "._+-"))
		return aim_error_set(-EINVAL, "bad initrd file name '%s'", o->initrd);
	if (o->dir && *o->dir && (o->dir[0] != '/' || !valid_name(o->dir + 1, "_-/")))
		return aim_error_set(-EINVAL, "bad directory '%s'", o->dir);
	if (o->dir && *o->dir && !o->test_mode)
		return aim_error_set(-EINVAL, "a directory other than the ESP's root is for tests");
	if (o->timeout > 3600)
		return aim_error_set(-EINVAL, "timeout %u s is more than an hour", o->timeout);
	for (const char *p = o->cmdline ? o->cmdline : ""; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return aim_error_set(-EINVAL, "a control character in the kernel arguments");
	return 0;
}

int aim_grubcfg_generate(const struct aim_grubcfg_opts *in, struct aim_buf *out)
{
	struct aim_grubcfg_opts o = *in;
	const char *dir;
	char *cmd[2] = {NULL, NULL}, *text = NULL;
	size_t size = 0;
	FILE *f;
	int r = check_opts(&o);

	if (r < 0)
		return r;
	o.kernel = o.kernel ? o.kernel : "vmlinuz";
	o.initrd = o.initrd ? o.initrd : "initrd.img";
	dir = o.dir ? o.dir : "";
	cmd[0] = slot_cmdline(&o, 0);
	cmd[1] = slot_cmdline(&o, 1);
	f = open_memstream(&text, &size);
	if (!cmd[0] || !cmd[1] || !f) {
		r = -ENOMEM;
		goto out;
	}
	fputs("# armimmutable A/B slot selection (generated; docs/boot.md 4b)\n", f);
	if (o.serial)
		/* the terminal is named after the port: serial_efi0 (the firmware's serial
		 * I/O protocol), serial_com0 (a 16550 at the PC's COM1) */
		fputs("unset aim_ser\n"
		      "if serial --speed=115200 efi0; then set aim_ser=serial_efi0; "
		      "elif serial --speed=115200 com0; then set aim_ser=serial_com0; fi\n"
		      "if [ -n \"${aim_ser}\" ]; then terminal_input --append \"${aim_ser}\"; "
		      "terminal_output --append \"${aim_ser}\"; fi\n", f);
	put_tpl(f, cfg_state, dir);
	put_tpl(f, o.no_count ? cfg_nocount : cfg_count, dir);
	put_load(f, &o, dir, cmd);
	if (o.timeout)
		fprintf(f, "echo \"armimmutable: booting slot ${aim_slot} in %u s; Esc: menu\"\n"
			   "if sleep --interruptible %u; then\n", o.timeout, o.timeout);
	put_tpl(f, cfg_boot, dir);
	if (o.timeout)
		fputs("fi\n", f);
	if (!o.test_mode)
		put_menu(f, &o, cmd);
	if (fclose(f) != 0) {
		f = NULL;
		r = -ENOMEM;
		goto out;
	}
	f = NULL;
	r = aim_buf_str(out, text);
out:
	if (f)
		fclose(f);
	free(text);
	free(cmd[0]);
	free(cmd[1]);
	return r;
}

const char *const aim_grub_modules[] = {
	"part_gpt", "part_msdos", "fat",    "normal", "linux", "echo",     "test",
	"loadenv",  "configfile", "reboot", "halt",   "sleep", "serial",   "terminal",
	"efi_gop",  "gzio",       "search", NULL,
};

/* The upstream version ("2.06") of modinfo.sh's grub_version="..." in moddir, or of
 * grub-mkimage --version ("grub-mkimage (GRUB) 2.06-13+deb12u2"). */
static int modules_version(const char *moddir, char *ver, size_t len)
{
	char path[4096], *text = NULL, *p;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/modinfo.sh", moddir);
	r = aim_read_file(path, 65536, &text, &n);
	if (r < 0)
		return r;
	p = strstr(text, "grub_version=\"");
	if (p) {
		p += 14;
		snprintf(ver, len, "%.*s", (int)strcspn(p, "\"\n"), p);
	}
	free(text);
	return p ? 0 : -ENOENT;
}

static int mkimage_version(char *ver, size_t len)
{
	static const char *const argv[] = {"grub-mkimage", "--version", NULL};
	char out[256];
	const char *p;
	int r = aim_spawn_output(argv, out, sizeof(out));

	if (r < 0)
		return r == -ENOENT ? aim_error_set(-ENOENT, "grub-mkimage not found: install "
						    "grub-common") : r;
	p = strstr(out, "(GRUB) ");
	if (!p)
		return aim_error_set(-EIO, "grub-mkimage --version says '%.60s'", out);
	p += 7;
	snprintf(ver, len, "%.*s", (int)strcspn(p, "-+~ \n"), p);
	return 0;
}

int aim_grub_mkimage(const char *platform, const char *moddir, const char *out_path)
{
	char mver[32] = "", tver[32] = "";
	const char *argv[10 + ARRAY_SIZE(aim_grub_modules)];
	char defdir[64], tmp[4096], mod[4096];
	size_t n = 0;
	int fd, r;

	if (!platform || (strcmp(platform, "arm64-efi") && strcmp(platform, "x86_64-efi")))
		return aim_error_set(-EINVAL, "GRUB platform '%s' is not arm64-efi or x86_64-efi",
				     platform ? platform : "");
	if (!moddir) {
		snprintf(defdir, sizeof(defdir), "/usr/lib/grub/%s", platform);
		moddir = defdir;
	}
	for (size_t i = 0; aim_grub_modules[i]; i++) {
		snprintf(mod, sizeof(mod), "%s/%s.mod", moddir, aim_grub_modules[i]);
		if (access(mod, R_OK) < 0)
			return aim_error_set(-ENOENT, "no GRUB module %s in %s (for %s: install "
				"grub-efi-%s-bin or give the image's /usr/lib/grub/%s)",
				aim_grub_modules[i], moddir, platform,
				strcmp(platform, "arm64-efi") ? "amd64" : "arm64", platform);
	}
	/* grub-mkimage lays out the kernel.img and modules of moddir; GRUB does not promise
	 * that one release's tool handles another's (docs/boot.md 4b) */
	r = mkimage_version(tver, sizeof(tver));
	if (r < 0)
		return r;
	if (modules_version(moddir, mver, sizeof(mver)) == 0 && strcmp(mver, tver))
		return aim_error_set(-ENOTSUP, "the GRUB modules in %s are %s, grub-mkimage is %s: "
				     "use modules of GRUB %s (grub-efi-%s-bin)", moddir, mver, tver,
				     tver, strcmp(platform, "arm64-efi") ? "amd64" : "arm64");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", out_path) >= (int)sizeof(tmp))
		return aim_error_set(-ENAMETOOLONG, "path too long: %s", out_path);
	argv[n++] = "grub-mkimage";
	argv[n++] = "-O";
	argv[n++] = platform;
	argv[n++] = "-d";
	argv[n++] = moddir;
	argv[n++] = "-p";
	argv[n++] = AIM_GRUB_PREFIX;
	argv[n++] = "-o";
	argv[n++] = tmp;
	for (size_t i = 0; aim_grub_modules[i]; i++)
		argv[n++] = aim_grub_modules[i];
	argv[n] = NULL;
	r = aim_spawn(argv, NULL);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return aim_error_set(r, "cannot sync %s", tmp);
	}
	close(fd);
	if (rename(tmp, out_path) < 0) {
		r = -errno;
		unlink(tmp);
		return aim_error_set(r, "cannot rename %s to %s", tmp, out_path);
	}
	return aim_fsync_parent(out_path);
}
