// SPDX-License-Identifier: LGPL-2.1-or-later
/* The slot's extlinux.conf and the boot.scr body that hands over to it (see extlinux.h,
 * docs/boot.md section 4a). */
#include "extlinux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/macro.h"

/*
 * After the preamble has picked and counted the slot and set prefix=/slot-X/. sysboot
 * (U-Boot's cmd/sysboot.c, pxe_utils.c) parses the whole file before it loads the
 * kernel, and `source` runs a copy of this script, so ${scriptaddr} (where distro boot's
 * own extlinux path puts extlinux.conf) is free to reuse. Paths in the file are absolute:
 * sysboot with an absolute file name loads them from the partition's root.
 */
const char aim_extlinux_body[] =
	"# ---- the board boots through extlinux: the slot's own extlinux.conf "
	"(docs/boot.md 4a) ----\n"
	"setenv aim_conf_addr \"${scriptaddr}\"\n"
	"test -n \"${aim_conf_addr}\" || setenv aim_conf_addr \"${pxefile_addr_r}\"\n"
	"test -n \"${aim_conf_addr}\" || setenv aim_conf_addr \"${aim_addr}\"\n"
	"sysboot ${devtype} ${devnum}:${distro_bootpart} any ${aim_conf_addr} "
	"${prefix}" AIM_EXTLINUX_CONF "\n"
	"echo \"armimmutable: sysboot of ${prefix}" AIM_EXTLINUX_CONF " returned: slot "
	"${aim_slot} did not boot\"\n";

enum kw { KW_OTHER, KW_LABEL, KW_APPEND, KW_PATH, KW_PATHS, KW_INCLUDE };

static enum kw keyword(const char *w, size_t n)
{
	static const struct {
		const char *name;
		enum kw kw;
	} kws[] = {
		{"label", KW_LABEL},         {"append", KW_APPEND},
		{"kernel", KW_PATH},         {"linux", KW_PATH},
		{"initrd", KW_PATH},         {"fdt", KW_PATH},
		{"devicetree", KW_PATH},     {"fdtdir", KW_PATH},
		{"devicetreedir", KW_PATH},  {"fdtoverlays", KW_PATHS},
		{"devicetree-overlay", KW_PATHS}, {"include", KW_INCLUDE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(kws); i++)
		if (strlen(kws[i].name) == n && !strncasecmp(w, kws[i].name, n))
			return kws[i].kw;
	return KW_OTHER;
}

/* One path (up to a '#' FIT configuration suffix, kept) moved under /slot-<slot>/. */
static int put_path(FILE *f, const char *p, size_t n, const char *boot_prefix, char slot)
{
	size_t plen = strcspn(p, "#");
	const char *rest;
	char full[4200];

	if (plen > n)
		plen = n;
	if (plen == 0 || plen >= sizeof(full) - 2)
		return aim_error_set(-EINVAL, "extlinux.conf: bad path '%.*s'", (int)n, p);
	snprintf(full, sizeof(full), "%s%.*s", p[0] == '/' ? "" : "/", (int)plen, p);
	if (strstr(full, "/../") || (strlen(full) >= 3 && !strcmp(full + strlen(full) - 3, "/..")))
		return aim_error_set(-EINVAL, "extlinux.conf: path '%s' has a '..'", full);
	if (!strncmp(full, "/slot-a/", 8) || !strncmp(full, "/slot-b/", 8))
		rest = full + 8;
	else if (boot_prefix && !strncmp(full, boot_prefix, strlen(boot_prefix)))
		rest = full + strlen(boot_prefix);
	else
		return aim_error_set(-EINVAL,
				     "extlinux.conf names '%s', which is not among the boot files "
				     "(%s)", full, boot_prefix ? boot_prefix : "/slot-a/, /slot-b/");
	fprintf(f, "/slot-%c/%s%.*s", slot, rest, (int)(n - plen), p + plen);
	return 0;
}

/* The next whitespace-separated token of s[*i..n), double quotes keeping spaces. */
static int next_token(const char *s, size_t n, size_t *i, size_t *start)
{
	int q = 0;

	while (*i < n && (s[*i] == ' ' || s[*i] == '\t'))
		(*i)++;
	*start = *i;
	while (*i < n && (q || (s[*i] != ' ' && s[*i] != '\t'))) {
		if (s[*i] == '"')
			q = !q;
		(*i)++;
	}
	return *i > *start;
}

static int tok_is(const char *t, size_t n, const char *key)
{
	size_t k = strlen(key);

	return n >= k && !memcmp(t, key, k);
}

static void put_word(FILE *f, int *first, const char *w, size_t n)
{
	fputs(*first ? "" : " ", f);
	fwrite(w, 1, n, f);
	*first = 0;
}

void aim_extlinux_put_cmdline(FILE *f, const char *v, size_t n, char slot,
			      const char *partuuid)
{
	int root = 0, fstype = 0, panic = 0, first = 1;
	char rootw[64], slotw[32];
	size_t i = 0, s;

	snprintf(rootw, sizeof(rootw), "root=PARTUUID=%s", partuuid);
	snprintf(slotw, sizeof(slotw), "armimmutable.slot=%c", slot);
	while (next_token(v, n, &i, &s)) {
		const char *t = v + s;
		size_t tl = i - s;

		if (tok_is(t, tl, "armimmutable.slot=") || tok_is(t, tl, "rootflags="))
			continue;
		if (tok_is(t, tl, "root=")) {
			if (!root)
				put_word(f, &first, rootw, strlen(rootw));
			root = 1;
		} else if (tok_is(t, tl, "rootfstype=")) {
			if (!fstype)
				put_word(f, &first, "rootfstype=squashfs", 19);
			fstype = 1;
		} else {
			panic |= tok_is(t, tl, "panic=");
			put_word(f, &first, t, tl);
		}
	}
	if (!root)
		put_word(f, &first, rootw, strlen(rootw));
	if (!fstype)
		put_word(f, &first, "rootfstype=squashfs", 19);
	if (!panic)
		put_word(f, &first, "panic=10", 8);
	put_word(f, &first, slotw, strlen(slotw));
}

int aim_extlinux_cmdline(const char *v, size_t n, char slot, const char *partuuid,
			 char **ret)
{
	size_t len = 0;
	FILE *f = open_memstream(ret, &len);

	if (!f)
		return -ENOMEM;
	aim_extlinux_put_cmdline(f, v, n, slot, partuuid);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int valid_partuuid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 8 || n > 36)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF-") == n;
}

/* One line (without its newline) into f; in_label and has_append track the label. */
static int put_line(FILE *f, const char *p, size_t n, const char *boot_prefix, char slot,
		    const char *partuuid, int *in_label, int *has_append, int *kernels)
{
	size_t ws = strspn(p, " \t"), wl, vs, ve = n;
	int cr = n > 0 && p[n - 1] == '\r';
	enum kw kw;
	int r = 0;

	if (ws > n)
		ws = n;
	wl = ws;
	while (wl < n && p[wl] != ' ' && p[wl] != '\t' && p[wl] != '\r')
		wl++;
	kw = p[ws] == '#' ? KW_OTHER : keyword(p + ws, wl - ws);
	vs = wl + strspn(p + wl, " \t");
	if (vs > n)
		vs = n;
	while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t' || p[ve - 1] == '\r'))
		ve--;
	if (kw == KW_INCLUDE || (kw == KW_OTHER && wl - ws == 4 && !strncasecmp(p + ws, "menu", 4) &&
				 ve - vs >= 7 && !strncasecmp(p + vs, "include", 7)))
		return aim_error_set(-EINVAL, "extlinux.conf includes another file (%.*s), which "
					      "is not rewritten for a slot", (int)(ve - ws), p + ws);
	if (kw == KW_LABEL) {
		if (*in_label && !*has_append) {
			fputs("  append ", f);
			aim_extlinux_put_cmdline(f, "", 0, slot, partuuid);
			fputs(cr ? "\r\n" : "\n", f);
		}
		*in_label = 1;
		*has_append = 0;
	}
	if (kw != KW_APPEND && kw != KW_PATH && kw != KW_PATHS) {
		fwrite(p, 1, n, f);
		fputc('\n', f);
		return 0;
	}
	fwrite(p, 1, vs, f);
	if (vs == wl)
		fputc(' ', f);
	if (kw == KW_APPEND) {
		/* The kernel reads an open quote to the end of the line: what we add after it
		 * would be part of the quoted value, never root= or the slot. */
		if (memchr(p + vs, '"', ve - vs)) {
			size_t q = 0;
			for (size_t k = vs; k < ve; k++)
				q += p[k] == '"';
			if (q % 2)
				return aim_error_set(-EINVAL, "extlinux.conf: an append line with an "
						     "unterminated double quote");
		}
		*has_append |= *in_label;
		aim_extlinux_put_cmdline(f, p + vs, ve - vs, slot, partuuid);
	} else if (kw == KW_PATH) {
		if (!strncasecmp(p + ws, "kernel", 6) || !strncasecmp(p + ws, "linux", 5))
			(*kernels)++;
		r = put_path(f, p + vs, ve - vs, boot_prefix, slot);
	} else {
		size_t i = vs, s;
		int first = 1;

		while (r == 0 && next_token(p, ve, &i, &s)) {
			fputs(first ? "" : " ", f);
			first = 0;
			r = put_path(f, p + s, i - s, boot_prefix, slot);
		}
	}
	fputs(cr ? "\r\n" : "\n", f);
	return r;
}

int aim_extlinux_rewrite(const char *orig, const char *boot_prefix, char slot,
			 const char *partuuid, char **ret)
{
	int in_label = 0, has_append = 0, kernels = 0, r = 0;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "slot '%c' is not a or b", slot);
	if (!valid_partuuid(partuuid))
		return aim_error_set(-EINVAL, "bad PARTUUID '%s'", partuuid ? partuuid : "");
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	for (const char *p = orig ? orig : ""; *p && r == 0;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		r = put_line(f, p, n, boot_prefix, slot, partuuid, &in_label, &has_append,
			     &kernels);
		p += n + (nl ? 1 : 0);
	}
	if (r == 0 && in_label && !has_append) {
		fputs("  append ", f);
		aim_extlinux_put_cmdline(f, "", 0, slot, partuuid);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	if (r == 0 && !kernels)
		r = aim_error_set(-EINVAL, "extlinux.conf has no label with a kernel");
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}
