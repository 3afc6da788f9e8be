// SPDX-License-Identifier: LGPL-2.1-or-later
/* The A/B boot script: preamble + the image's own boot.cmd, per-slot armbianEnv.txt,
 * and the legacy script image. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootscript.h"
#include "base/endian.h"
#include "base/crc32.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/slotstate.h"

#define AIM_STR_(x) #x
#define AIM_STR(x) AIM_STR_(x)

/*
 * U-Boot hush, run before the original body. It cannot check our CRC: it takes the copy
 * with the higher aim_seq among those that have a non-empty aim_crc line (a copy cut
 * short by a power loss lacks it, since aim_crc is the last line), and the initramfs
 * helper verifies the CRC. Counting without setexpr: tries are single digits.
 */
static const char preamble_head[] =
	"# ---- armimmutable A/B slot selection (generated; docs/boot.md) ----\n"
	"test -n \"${distro_bootpart}\" || setenv distro_bootpart 1\n"
	"";

static const char preamble_body[] =
	"setenv aim_s1\n"
	"setenv aim_s2\n"
	"setenv aim_pick\n"
	"setenv aim_seq\n"
	"setenv aim_crc\n"
	"if load ${devtype} ${devnum}:${distro_bootpart} ${aim_addr} /state-1.txt; then\n"
	"\tenv import -t ${aim_addr} ${filesize} aim_seq aim_crc\n"
	"\tif test -n \"${aim_crc}\" && test -n \"${aim_seq}\"; then setenv aim_s1 ${aim_seq}; setenv aim_pick 1; fi\n"
	"fi\n"
	"setenv aim_seq\n"
	"setenv aim_crc\n"
	"if load ${devtype} ${devnum}:${distro_bootpart} ${aim_addr} /state-2.txt; then\n"
	"\tenv import -t ${aim_addr} ${filesize} aim_seq aim_crc\n"
	"\tif test -n \"${aim_crc}\" && test -n \"${aim_seq}\"; then\n"
	"\t\tsetenv aim_s2 ${aim_seq}\n"
	"\t\tif test -z \"${aim_pick}\"; then setenv aim_pick 2; fi\n"
	"\t\tif test -n \"${aim_s1}\" && test ${aim_s2} -gt ${aim_s1}; then setenv aim_pick 2; fi\n"
	"\tfi\n"
	"fi\n"
	"setenv aim_active a\n"
	"setenv aim_try\n"
	"setenv aim_tries_a 0\n"
	"setenv aim_tries_b 0\n"
	"setenv aim_good_a 0\n"
	"setenv aim_good_b 0\n"
	"setenv aim_seq 0\n"
	"if test -n \"${aim_pick}\"; then\n"
	"\tload ${devtype} ${devnum}:${distro_bootpart} ${aim_addr} /state-${aim_pick}.txt && env import -t ${aim_addr} ${filesize} aim_seq aim_active aim_try aim_tries_a aim_tries_b aim_good_a aim_good_b\n"
	"else\n"
	"\techo \"armimmutable: no slot state on ${devtype} ${devnum}:${distro_bootpart}, booting slot a\"\n"
	"fi\n"
	"if test \"${aim_active}\" != \"b\"; then setenv aim_active a; fi\n"
	"setenv aim_slot ${aim_active}\n"
	"setenv aim_mode good\n"
	"setenv aim_count\n"
	"setenv aim_bc 0\n"
	"setenv aim_bc_seq\n"
	"if load ${devtype} ${devnum}:${distro_bootpart} ${aim_addr} /bootcount.txt; then\n"
	"\tenv import -t ${aim_addr} ${filesize} aim_bc aim_bc_seq\n"
	"\tif test \"${aim_bc_seq}\" != \"${aim_seq}\"; then setenv aim_bc 0; fi\n"
	"fi\n"
	"test -n \"${aim_bc}\" || setenv aim_bc 0\n"
	"if test \"${aim_try}\" = \"a\" || test \"${aim_try}\" = \"b\"; then\n"
	"\tif test \"${aim_try}\" = \"a\"; then setenv aim_left ${aim_tries_a}; else setenv aim_left ${aim_tries_b}; fi\n"
	"\ttest -n \"${aim_left}\" || setenv aim_left 0\n"
	"\tif test ${aim_bc} -lt ${aim_left}; then\n"
	"\t\tsetenv aim_slot ${aim_try}\n"
	"\t\tsetenv aim_mode trial\n"
	"\t\tsetenv aim_count 1\n"
	"\telse\n"
	"\t\techo \"armimmutable: slot ${aim_try} has no tries left (${aim_bc} of ${aim_left}), booting ${aim_active}\"\n"
	"\t\tsetenv aim_mode fallback\n"
	"\tfi\n"
	"else\n"
	/* the corruption rule: boots of the good active slot count while the other slot is
	 * good; mark-good resets the count (a new seq) */
	"\tsetenv aim_other b\n"
	"\tsetenv aim_ogood ${aim_good_b}\n"
	"\tif test \"${aim_active}\" = \"b\"; then setenv aim_other a; setenv aim_ogood ${aim_good_a}; fi\n"
	"\tif test \"${aim_ogood}\" = \"1\"; then\n"
	"\t\tsetenv aim_left " AIM_STR(AIM_SLOTSTATE_ACTIVE_FAILS) "\n"
	"\t\tif test ${aim_bc} -lt ${aim_left}; then\n"
	"\t\t\tsetenv aim_count 1\n"
	"\t\telse\n"
	"\t\t\techo \"armimmutable: slot ${aim_active} failed ${aim_bc} boots in a row before boot-complete, booting ${aim_other}\"\n"
	"\t\t\tsetenv aim_slot ${aim_other}\n"
	"\t\t\tsetenv aim_mode fallback\n"
	"\t\tfi\n"
	"\tfi\n"
	"fi\n"
	"if test -n \"${aim_count}\"; then\n";

static const char preamble_count[] =
	"\tif test \"${aim_bc}\" = \"8\"; then setenv aim_bc 9; fi\n"
	"\tif test \"${aim_bc}\" = \"7\"; then setenv aim_bc 8; fi\n"
	"\tif test \"${aim_bc}\" = \"6\"; then setenv aim_bc 7; fi\n"
	"\tif test \"${aim_bc}\" = \"5\"; then setenv aim_bc 6; fi\n"
	"\tif test \"${aim_bc}\" = \"4\"; then setenv aim_bc 5; fi\n"
	"\tif test \"${aim_bc}\" = \"3\"; then setenv aim_bc 4; fi\n"
	"\tif test \"${aim_bc}\" = \"2\"; then setenv aim_bc 3; fi\n"
	"\tif test \"${aim_bc}\" = \"1\"; then setenv aim_bc 2; fi\n"
	"\tif test \"${aim_bc}\" = \"0\"; then setenv aim_bc 1; fi\n"
	"\tsetenv aim_bc_seq ${aim_seq}\n"
	"\tif env export -t ${aim_addr} aim_bc aim_bc_seq && fatwrite ${devtype} ${devnum}:${distro_bootpart} ${aim_addr} /bootcount.txt ${filesize}; then\n"
	"\t\techo \"armimmutable: ${aim_mode} boot ${aim_bc} of ${aim_left} for slot ${aim_slot}\"\n"
	"\telse\n"
	"\t\techo \"armimmutable: cannot write bootcount.txt; the initramfs counts this trial\"\n"
	"\tfi\n";

static const char preamble_tail[] =
	"fi\n"
	"setenv prefix /slot-${aim_slot}/\n"
	"echo \"armimmutable: slot ${aim_slot} (${aim_mode}), files from ${prefix}\"\n"
	"# ---- end of armimmutable preamble; the image's own boot script follows ----\n";

/* Does the script assign prefix (setenv prefix, env set prefix, or a hush prefix=)? */
static int sets_prefix(const char *s)
{
	static const char *const pats[] = {"setenv prefix", "env set prefix", "prefix="};

	for (const char *line = s; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *w = line;

		/* each ;-separated command of the line */
		for (;;) {
			w += strspn(w, " \t");
			for (size_t i = 0; i < ARRAY_SIZE(pats); i++)
				if (!strncmp(w, pats[i], strlen(pats[i])) &&
				    (i == 2 || w[strlen(pats[i])] == ' ' || w[strlen(pats[i])] == '\t' ||
				     w[strlen(pats[i])] == '\n' || !w[strlen(pats[i])]))
					return 1;
			w += strcspn(w, ";\n\"");
			if (*w != ';')
				break;
			w++;
		}
	}
	return 0;
}

static int valid_addr(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z') && !strchr("x${}_", *s))
			return 0;
	return 1;
}

int aim_bootscript_generate(const char *orig, const struct aim_bootscript_opts *o, char **ret)
{
	static const struct aim_bootscript_opts defaults = {0};
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (!o)
		o = &defaults;
	if (!orig)
		return aim_error_set(-EINVAL, "no boot script");
	if (!strstr(orig, "${prefix}") && !strstr(orig, "$prefix"))
		return aim_error_set(-EINVAL, "the boot script does not load its files through "
					      "${prefix}, so a per-slot prefix cannot take effect");
	if (sets_prefix(orig))
		return aim_error_set(-EINVAL, "the boot script sets prefix itself");
	if (o->scratch_addr && !valid_addr(o->scratch_addr))
		return aim_error_set(-EINVAL, "bad scratch address '%s'", o->scratch_addr);
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fputs(preamble_head, f);
	if (o->scratch_addr)
		fprintf(f, "setenv aim_addr \"%s\"\n", o->scratch_addr);
	else
		fputs("setenv aim_addr \"${kernel_addr_r}\"\n"
		      "test -n \"${aim_addr}\" || setenv aim_addr \"${loadaddr}\"\n"
		      "test -n \"${aim_addr}\" || setenv aim_addr \"${load_addr}\"\n",
		      f);
	fputs(preamble_body, f);
	if (!o->no_count)
		fputs(preamble_count, f);
	else
		fputs("\techo \"armimmutable: ${aim_mode} boot of slot ${aim_slot} (counted by "
		      "the initramfs)\"\n",
		      f);
	fputs(preamble_tail, f);
	fputs(orig, f);
	if (*orig && orig[strlen(orig) - 1] != '\n')
		fputc('\n', f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

/*
 * Appends " armimmutable.slot=<slot>" to an extraargs value, dropping old tokens, and
 * " panic=10" unless a panic= token is there: a trial slot whose kernel panics or whose
 * initramfs fails (initramfs-tools' panic() honours panic= too) reboots by itself, so
 * U-Boot counts the next try and falls back without anyone at the console.
 */
static void put_extraargs(FILE *f, const char *val, size_t vlen, char slot)
{
	size_t i = 0;
	int first = 1, have_panic = 0;

	fputs("extraargs=", f);
	while (i < vlen) {
		size_t j;

		while (i < vlen && val[i] == ' ')
			i++;
		j = i;
		while (j < vlen && val[j] != ' ')
			j++;
		if (j > i && !(j - i >= 17 && !memcmp(val + i, "armimmutable.slot", 17))) {
			fprintf(f, "%s%.*s", first ? "" : " ", (int)(j - i), val + i);
			first = 0;
			if (j - i >= 6 && !memcmp(val + i, "panic=", 6))
				have_panic = 1;
		}
		i = j;
	}
	if (!have_panic) {
		fprintf(f, "%spanic=10", first ? "" : " ");
		first = 0;
	}
	fprintf(f, "%sarmimmutable.slot=%c", first ? "" : " ", slot);
}

static int valid_partuuid(const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n > 36)
		return 0;
	for (; *s; s++)
		if (!strchr("0123456789abcdefABCDEF-", *s))
			return 0;
	return 1;
}

int aim_bootscript_rewrite_env(const char *orig, char slot, const char *partuuid, char **ret)
{
	int have_rootdev = 0, have_fstype = 0, have_extra = 0;
	char *buf = NULL;
	size_t size = 0;
	const char *p;
	FILE *f;

	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "slot '%c' is not a or b", slot);
	if (!partuuid || !valid_partuuid(partuuid))
		return aim_error_set(-EINVAL, "bad PARTUUID '%s'", partuuid ? partuuid : "");
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	for (p = orig ? orig : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		size_t vn = n;
		int cr = n > 0 && p[n - 1] == '\r';

		if (cr)
			vn--;
		if (vn >= 8 && !memcmp(p, "rootdev=", 8)) {
			if (!have_rootdev)
				fprintf(f, "rootdev=PARTUUID=%s%s\n", partuuid, cr ? "\r" : "");
			have_rootdev = 1;
		} else if (vn >= 11 && !memcmp(p, "rootfstype=", 11)) {
			if (!have_fstype)
				fprintf(f, "rootfstype=squashfs%s\n", cr ? "\r" : "");
			have_fstype = 1;
		} else if (vn >= 10 && !memcmp(p, "extraargs=", 10)) {
			if (!have_extra) {
				put_extraargs(f, p + 10, vn - 10, slot);
				fputs(cr ? "\r\n" : "\n", f);
			}
			have_extra = 1;
		} else {
			fwrite(p, 1, n, f);
			fputc('\n', f);
		}
		p += n + (nl ? 1 : 0);
	}
	if (!have_rootdev)
		fprintf(f, "rootdev=PARTUUID=%s\n", partuuid);
	if (!have_fstype)
		fputs("rootfstype=squashfs\n", f);
	if (!have_extra)
		fprintf(f, "extraargs=panic=10 armimmutable.slot=%c\n", slot);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

int aim_bootscript_compile(const char *text, size_t len, uint32_t epoch, const char *name,
			   uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *b;
	size_t dlen = len + 8;

	if (!text || len > UINT32_MAX - 8)
		return aim_error_set(-EINVAL, "boot script too large");
	if (name && strlen(name) > 31)
		return aim_error_set(-EINVAL, "image name '%s' longer than 31 bytes", name);
	b = calloc(1, 64 + dlen);
	if (!b)
		return -ENOMEM;
	aim_put_be32(b + 64, (uint32_t)len); /* image list: one length, then 0 */
	memcpy(b + 72, text, len);
	aim_put_be32(b + 0, 0x27051956);     /* ih_magic */
	aim_put_be32(b + 8, epoch);          /* ih_time */
	aim_put_be32(b + 12, (uint32_t)dlen); /* ih_size */
	aim_put_be32(b + 24, aim_crc32(0, b + 64, dlen)); /* ih_dcrc */
	b[28] = 5;                       /* IH_OS_LINUX */
	b[29] = 2;                       /* IH_ARCH_ARM */
	b[30] = 6;                       /* IH_TYPE_SCRIPT */
	b[31] = 0;                       /* IH_COMP_NONE */
	if (name)
		memcpy(b + 32, name, strlen(name));
	aim_put_be32(b + 4, aim_crc32(0, b, 64)); /* ih_hcrc, computed with hcrc = 0 */
	*ret_buf = b;
	*ret_len = 64 + dlen;
	return 0;
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '+' ||
	       c == '~';
}

int aim_bootscript_references(const char *text, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (!text || !n)
		return 0;
	for (const char *p = text, *end = text + len; (size_t)(end - p) >= n;) {
		const char *q = memmem(p, (size_t)(end - p), name, n);

		if (!q)
			return 0;
		if ((q == text || !name_char(q[-1])) && (q + n == end || !name_char(q[n])))
			return 1;
		p = q + 1;
	}
	return 0;
}

int aim_bootscript_drop_dup(const char *refs, size_t len, const char *name,
			    const char *const *group, size_t n, const char *keep)
{
	int any = 0;

	if (!refs || n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		any |= aim_bootscript_references(refs, len, group[i]);
	if (any)
		return !aim_bootscript_references(refs, len, name);
	return strcmp(name, keep ? keep : group[0]) != 0;
}
