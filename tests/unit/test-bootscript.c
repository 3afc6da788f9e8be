// SPDX-License-Identifier: LGPL-2.1-or-later
/* A/B boot script: generation keeps the original body, env rewrite, and the compiled
 * script image is byte-identical to mkimage's (SOURCE_DATE_EPOCH). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootscript.h"
#include "base/log.h"
#include "tap.h"

static char tmpdir[256];

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		if (ret_len)
			*ret_len = (size_t)n;
	}
	return buf;
}

static int spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int r;

	if (!f)
		return -1;
	r = fwrite(buf, 1, len, f) == len ? 0 : -1;
	return fclose(f) || r ? -1 : 0;
}

static const char *detail(void)
{
	const char *d = aim_error_detail();

	return d ? d : "";
}

/* Counts "if" and "fi" shell words (separated by blanks and ';'). */
static void count_if_fi(const char *s, int *nif, int *nfi)
{
	*nif = *nfi = 0;
	while (*s) {
		size_t n;

		while (*s && strchr(" \t\n;", *s))
			s++;
		n = strcspn(s, " \t\n;");
		if (n == 2 && !memcmp(s, "if", 2))
			(*nif)++;
		if (n == 2 && !memcmp(s, "fi", 2))
			(*nfi)++;
		s += n;
	}
}

static void test_generate(const char *orig)
{
	struct aim_bootscript_opts o = {0};
	char *out = NULL, *body;
	size_t olen = strlen(orig);
	int nif, nfi;

	is_int(aim_bootscript_generate(orig, NULL, &out), 0, "generate from the sample boot.cmd");
	if (!out)
		return;
	ok(strlen(out) > olen && !strcmp(out + strlen(out) - olen, orig),
	   "the original body follows unchanged, at the end");
	body = strstr(out, "# ---- end of armimmutable preamble");
	ok(body != NULL, "preamble end marker");
	ok(strstr(out, "setenv prefix /slot-${aim_slot}/\n") != NULL, "sets the slot prefix");
	ok(strstr(out, "/state-1.txt") && strstr(out, "/state-2.txt"), "loads both state copies");
	ok(strstr(out, "env import -t ${aim_addr} ${filesize} aim_seq aim_crc"),
	   "imports only seq and crc to compare the copies");
	ok(strstr(out, "test ${aim_s2} -gt ${aim_s1}"), "picks the copy with the higher seq");
	ok(strstr(out, "fatwrite ${devtype} ${devnum}:${distro_bootpart} ${aim_addr} /bootcount.txt ${filesize}"),
	   "counts with fatwrite");
	ok(strstr(out, "setenv aim_addr \"${kernel_addr_r}\""), "default scratch address");
	ok(!strstr(out, "setexpr"), "no setexpr needed");
	if (body) {
		*body = 0;
		count_if_fi(out, &nif, &nfi);
		ok(nif > 10 && nif == nfi, "preamble if/fi balanced (%d/%d)", nif, nfi);
		ok(!strstr(out, "elif"), "preamble avoids elif");
	}
	free(out);

	o.no_count = 1;
	o.scratch_addr = "0x4f000000";
	out = NULL;
	is_int(aim_bootscript_generate(orig, &o, &out), 0, "generate without counting");
	ok(out && !strstr(out, "fatwrite"), "no fatwrite with no_count");
	ok(out && strstr(out, "setenv aim_addr \"0x4f000000\"\n"), "explicit scratch address");
	if (out) {
		count_if_fi(out, &nif, &nfi);
		ok(nif == nfi, "whole no_count script if/fi balanced");
	}
	free(out);

	o.scratch_addr = "0x1; reset";
	out = NULL;
	is_int(aim_bootscript_generate(orig, &o, &out), -EINVAL, "bad scratch address refused");
	ok(strstr(detail(), "scratch address"), "detail names the address (%s)", detail());

	out = NULL;
	is_int(aim_bootscript_generate("load mmc 0:1 ${kernel_addr_r} /boot/Image\nbooti\n", NULL,
				       &out),
	       -EINVAL, "script without ${prefix} refused");
	ok(strstr(detail(), "${prefix}"), "detail names ${prefix} (%s)", detail());
	is_int(aim_bootscript_generate("setenv prefix /boot/\nload ${prefix}Image\n", NULL, &out),
	       -EINVAL, "script setting prefix refused");
	ok(strstr(detail(), "sets prefix"), "detail says it sets prefix (%s)", detail());
	is_int(aim_bootscript_generate("load ${prefix}Image; prefix=/x/\n", NULL, &out), -EINVAL,
	       "hush prefix= assignment refused");
	is_int(aim_bootscript_generate("  env set prefix /x/\nload ${prefix}Image\n", NULL, &out),
	       -EINVAL, "env set prefix refused");
	out = NULL;
	is_int(aim_bootscript_generate("echo \"prefix=${prefix}\"\nload ${prefix}Image\n", NULL,
				       &out),
	       0, "prefix= inside an echo is fine");
	free(out);
	is_int(aim_bootscript_generate(NULL, NULL, &out), -EINVAL, "NULL script refused");

	out = NULL;
	is_int(aim_bootscript_generate("load ${prefix}Image", NULL, &out), 0, "no final newline");
	ok(out && out[strlen(out) - 1] == '\n' && strstr(out, "\nload ${prefix}Image\n"),
	   "newline added after a body without one");
	free(out);
}

static void test_env(const char *orig)
{
	char *out = NULL;
	const char *u = "1a2b3c4d-02";

	is_int(aim_bootscript_rewrite_env(orig, 'a', u, &out), 0, "rewrite sample armbianEnv.txt");
	if (out) {
		ok(strstr(out, "\nrootdev=PARTUUID=1a2b3c4d-02\n"), "rootdev");
		ok(!strstr(out, "UUID=@ROOT_UUID@"), "old rootdev gone");
		ok(strstr(out, "\nrootfstype=squashfs\n") && !strstr(out, "rootfstype=ext4"),
		   "rootfstype");
		ok(strstr(out, "\nextraargs=panic=10 armimmutable.slot=a\n"),
		   "extraargs added, with panic=10");
		ok(!strncmp(out, "verbosity=1\nbootlogo=false\nconsole=serial\n", 42),
		   "other lines kept in order");
		ok(strstr(out, "usbstoragequirks=0x2537:0x1066:u,0x2537:0x1068:u\n"),
		   "unrelated line verbatim");
	}
	free(out);

	out = NULL;
	is_int(aim_bootscript_rewrite_env("extraargs=cma=256M  armimmutable.slot=a quiet\r\n"
					  "rootdev=/dev/mmcblk0p2\r\nrootdev=dup\r\n",
					  'b', "0a0b0c0d-0e0f-1011-1213-141516171819", &out),
		 0, "rewrite with extraargs, CRLF, duplicate");
	is_str(out,
	       "extraargs=cma=256M quiet panic=10 armimmutable.slot=b\r\n"
	       "rootdev=PARTUUID=0a0b0c0d-0e0f-1011-1213-141516171819\r\n"
	       "rootfstype=squashfs\n",
	       "old slot token replaced, CRLF kept, duplicate dropped");
	free(out);

	out = NULL;
	is_int(aim_bootscript_rewrite_env(NULL, 'b', u, &out), 0, "no armbianEnv.txt");
	is_str(out, "rootdev=PARTUUID=1a2b3c4d-02\nrootfstype=squashfs\n"
		    "extraargs=panic=10 armimmutable.slot=b\n", "made from nothing");
	free(out);

	out = NULL;
	is_int(aim_bootscript_rewrite_env("extraargs=panic=0 quiet\n", 'a', u, &out), 0,
	       "rewrite with the user's own panic=");
	is_str(out, "extraargs=panic=0 quiet armimmutable.slot=a\n"
		    "rootdev=PARTUUID=1a2b3c4d-02\nrootfstype=squashfs\n",
	       "a panic= already there is kept, none added");
	free(out);

	is_int(aim_bootscript_rewrite_env(orig, 'c', u, &out), -EINVAL, "slot c refused");
	ok(strstr(detail(), "slot"), "detail names the slot (%s)", detail());
	is_int(aim_bootscript_rewrite_env(orig, 'a', "1a2b;3c4d", &out), -EINVAL,
	       "bad PARTUUID refused");
	ok(strstr(detail(), "PARTUUID"), "detail names the PARTUUID (%s)", detail());
}

static void compare_mkimage(const char *text, size_t len, uint32_t epoch, const char *name,
			    const char *what)
{
	char src[300], scr[320], cmd[1024];
	uint8_t *buf = NULL;
	size_t blen = 0, mlen = 0;
	char *ref;

	snprintf(src, sizeof(src), "%s/boot.cmd", tmpdir);
	snprintf(scr, sizeof(scr), "%s/boot.scr", tmpdir);
	ok(spit(src, text, len) == 0, "write %s", what);
	snprintf(cmd, sizeof(cmd),
		 "SOURCE_DATE_EPOCH=%u mkimage -C none -A arm -T script %s%s%s -d '%s' '%s' "
		 ">/dev/null",
		 (unsigned)epoch, name ? "-n '" : "", name ? name : "", name ? "'" : "", src, scr);
	is_int(system(cmd), 0, "mkimage on %s", what);
	ref = slurp(scr, &mlen);
	is_int(aim_bootscript_compile(text, len, epoch, name, &buf, &blen), 0, "compile %s", what);
	is_int(blen, mlen, "%s: same size as mkimage", what);
	ok(ref && buf && blen == mlen && !memcmp(ref, buf, blen), "%s: byte-identical to mkimage",
	   what);
	free(ref);
	free(buf);
	unlink(src);
	unlink(scr);
}

static void test_compile(const char *orig)
{
	char *gen = NULL, path[300], cmd[700];
	uint8_t *buf = NULL;
	size_t blen;
	FILE *p;
	char line[256];
	int script = 0;

	compare_mkimage(orig, strlen(orig), 1700000000, NULL, "sample boot.cmd");
	compare_mkimage("echo hi\n", 8, 1, NULL, "8-byte script");
	compare_mkimage("echo odd", 8 - 1, 1234567890, "odd length", "7-byte script with a name");
	if (aim_bootscript_generate(orig, NULL, &gen) == 0)
		compare_mkimage(gen, strlen(gen), 1750000000, "armimmutable", "generated A/B script");

	/* mkimage -l reads our output as a valid script image (checks both CRCs) */
	if (gen && aim_bootscript_compile(gen, strlen(gen), 5, NULL, &buf, &blen) == 0) {
		snprintf(path, sizeof(path), "%s/gen.scr", tmpdir);
		spit(path, buf, blen);
		snprintf(cmd, sizeof(cmd), "mkimage -l '%s' 2>&1", path);
		p = popen(cmd, "r");
		while (p && fgets(line, sizeof(line), p))
			if (strstr(line, "Script"))
				script = 1;
		ok(p && pclose(p) == 0 && script, "mkimage -l lists a script image");
		unlink(path);
		free(buf);
	}
	free(gen);

	buf = NULL;
	is_int(aim_bootscript_compile("x", 1, 0, "0123456789012345678901234567890123", &buf, &blen),
	       -EINVAL, "name over 31 bytes refused");
	ok(strstr(detail(), "longer than 31"), "detail names the length (%s)", detail());
	is_int(aim_bootscript_compile(NULL, 0, 0, NULL, &buf, &blen), -EINVAL, "NULL text refused");
}

int main(void)
{
	const char *top = getenv("AIM_TOP"), *t = getenv("TMPDIR");
	char path[512];
	char *cmd, *env;

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-bootscript-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	snprintf(path, sizeof(path), "%s/tests/sample/armbian/boot.cmd", top ? top : ".");
	cmd = slurp(path, NULL);
	snprintf(path, sizeof(path), "%s/tests/sample/armbian/armbianEnv.txt", top ? top : ".");
	env = slurp(path, NULL);
	ok(cmd && env, "sample boot.cmd and armbianEnv.txt read");
	if (cmd && env) {
		test_generate(cmd);
		test_env(env);
		test_compile(cmd);
	}
	free(cmd);
	free(env);
	ok(rmdir(tmpdir) == 0, "temporary directory empty at the end");
	return done_testing();
}
