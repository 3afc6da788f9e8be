/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image's GRUB entry, the slot's boot files cut down to it, the slot's grub.env
 * (grubboot.h, docs/boot.md section 4b). */
#include "grubboot.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree.h"
#include "treeio.h"
#include "base/log.h"
#include "base/macro.h"

#define GRUBENV_SIG "# GRUB Environment Block\n"
#define GRUBENV_BLOCK 1024

/* The n-th whitespace-separated word of a line (0-based) into w; 0 when there is none. */
static int word(const char *l, size_t len, unsigned n, char *w, size_t wn)
{
	size_t i = 0;

	for (unsigned k = 0;; k++) {
		size_t s, e;
		while (i < len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
			i++;
		if (i >= len)
			return 0;
		s = i;
		while (i < len && l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
			i++;
		e = i;
		if (k == n) {
			snprintf(w, wn, "%.*s", (int)(e - s), l + s);
			return 1;
		}
	}
}

/* Braces that open or close a block on this line: not inside quotes, not ${var}. */
static int brace_delta(const char *l, size_t len)
{
	int d = 0;
	char q = 0;

	for (size_t i = 0; i < len; i++) {
		char c = l[i];
		if (q) {
			if (c == '\\' && q == '"' && i + 1 < len)
				i++;
			else if (c == q)
				q = 0;
		} else if (c == '#' && (i == 0 || l[i - 1] == ' ' || l[i - 1] == '\t')) {
			break;
		} else if (c == '\'' || c == '"') {
			q = c;
		} else if (c == '\\' && i + 1 < len) {
			i++;
		} else if (c == '$' && i + 1 < len && l[i + 1] == '{') {
			while (i < len && l[i] != '}')
				i++;
		} else if (c == '{') {
			d++;
		} else if (c == '}') {
			d--;
		}
	}
	return d;
}

/* A path of a linux/initrd line: an optional (device) prefix, then /boot/NAME or /NAME. */
static int file_name(const char *path, char *out, size_t n, const char *what)
{
	const char *p = path;

	if (*p == '(') {
		p = strchr(p, ')');
		p = p ? p + 1 : path;
	}
	if (!strncmp(p, "/boot/", 6))
		p += 6;
	else if (*p == '/')
		p++;
	if (!*p || strchr(p, '/') || strlen(p) >= n)
		return aim_error_set(-EINVAL, "grub.cfg: the %s path %s is not a file at the top "
				     "of /boot", what, path);
	snprintf(out, n, "%s", p);
	return 0;
}

/* The ext4 root's arguments, and GRUB variables ($vt_handoff): GRUB expands those in
 * the image's own config; ours would pass them literally. */
static int dropped_arg(const char *w)
{
	return strchr(w, '$') || !strncmp(w, "root=", 5) || !strncmp(w, "rootfstype=", 11) ||
	       !strncmp(w, "rootflags=", 10) || !strcmp(w, "ro") || !strcmp(w, "rw") ||
	       !strncmp(w, "BOOT_IMAGE=", 11);
}

static int take_linux(const char *l, size_t len, struct aim_grub_entry *e)
{
	char w[1024];
	size_t at = 0;
	int r;

	if (!word(l, len, 1, w, sizeof(w)))
		return aim_error_set(-EINVAL, "grub.cfg: a linux line without a kernel");
	r = file_name(w, e->kernel, sizeof(e->kernel), "kernel");
	if (r < 0)
		return r;
	{
		size_t q = 0;
		for (size_t k = 0; k < len; k++)
			q += l[k] == '"';
		if (q % 2)
			return aim_error_set(-EINVAL, "grub.cfg: the linux line has an unterminated "
					     "double quote");
	}
	e->args[0] = 0;
	for (unsigned k = 2; word(l, len, k, w, sizeof(w)); k++) {
		if (dropped_arg(w))
			continue;
		if (at + strlen(w) + 2 > sizeof(e->args))
			return aim_error_set(-EINVAL, "grub.cfg: the kernel command line is too long");
		at += (size_t)snprintf(e->args + at, sizeof(e->args) - at, "%s%s", at ? " " : "", w);
	}
	return 0;
}

static int take_initrd(const char *l, size_t len, struct aim_grub_entry *e)
{
	char w[1024];

	if (!word(l, len, 1, w, sizeof(w)))
		return aim_error_set(-EINVAL, "grub.cfg: an initrd line without a file");
	if (word(l, len, 2, w + 512, 512))
		return aim_error_set(-EINVAL, "grub.cfg: the default entry loads several initrd "
				     "files; only one is supported");
	return file_name(w, e->initrd, sizeof(e->initrd), "initrd");
}

int aim_grub_parse_cfg(const char *cfg, struct aim_grub_entry *ret)
{
	unsigned want = 0, index = 0;
	int depth = 0, in = -1, found = 0, have_default = 0;
	char w0[64], w1[64];

	memset(ret, 0, sizeof(*ret));
	for (const char *l = cfg; *l;) {
		size_t n = strcspn(l, "\n");
		int d = brace_delta(l, n);

		if (word(l, n, 0, w0, sizeof(w0))) {
			if (!have_default && depth == 0 && !strcmp(w0, "set") &&
			    word(l, n, 1, w1, sizeof(w1)) && !strncmp(w1, "default=", 8)) {
				const char *v = w1 + 8;
				char *end;
				unsigned long x;
				if (*v == '"' || *v == '\'')
					v++;
				x = strtoul(v, &end, 10);
				if (end != v && (!*end || *end == '"' || *end == '\''))
					want = (unsigned)x;
				have_default = 1;
			} else if (in < 0 && (!strcmp(w0, "menuentry") || !strcmp(w0, "submenu")) &&
				   (depth == 0 || found)) {
				/* The default-th top-level entry; in a submenu, its first entry. */
				if (depth == 0 && index++ == want)
					found = 1;
				if (found && !strcmp(w0, "menuentry"))
					in = depth;
			} else if (in >= 0 && (!strcmp(w0, "linux") || !strcmp(w0, "linuxefi"))) {
				int r = take_linux(l, n, ret);
				if (r < 0)
					return r;
			} else if (in >= 0 && (!strcmp(w0, "initrd") || !strcmp(w0, "initrdefi"))) {
				int r = take_initrd(l, n, ret);
				if (r < 0)
					return r;
			}
		}
		depth += d;
		if (in >= 0 && depth <= in)
			break;
		l += n;
		if (*l == '\n')
			l++;
	}
	if (!ret->kernel[0])
		return aim_error_set(-EINVAL, "grub.cfg: no menuentry with a linux line (entry %u "
				     "of the default)", want);
	return 0;
}

int aim_grub_prune_boot(struct aim_tree *bt, struct aim_grub_entry *ret)
{
	_cleanup_free_ char *cfg = NULL;
	struct aim_node *n, *next;
	int r;

	r = aim_tree_read_path(bt, "/grub/grub.cfg", 1 << 20, &cfg, NULL);
	if (r < 0)
		return aim_error_set(r, "cannot read /boot/grub/grub.cfg of the image (%s): it "
				     "says which kernel GRUB boots", strerror(-r));
	r = aim_grub_parse_cfg(cfg, ret);
	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		const char *name = i ? ret->initrd : ret->kernel;
		char path[300];
		if (!*name)
			continue;
		snprintf(path, sizeof(path), "/%s", name);
		n = aim_tree_lookup(bt, path);
		if (n && S_ISLNK(n->mode))
			n = aim_tree_resolve(bt, n);
		if (!n || !S_ISREG(n->mode))
			return aim_error_set(-ENOENT, "grub.cfg boots /boot/%s, which the image "
					     "does not have", name);
	}
	for (n = bt->root->children; n; n = next) {
		next = n->next;
		if (strcmp(n->name, ret->kernel) && strcmp(n->name, ret->initrd))
			aim_tree_remove(bt, n);
	}
	return 0;
}

static int put_escaped(struct aim_buf *b, const char *key, const char *v)
{
	int r = aim_buf_str(b, key);

	for (; r == 0 && *v; v++) {
		if (*v == '\n')
			return aim_error_set(-EINVAL, "%s: a newline in the value", key);
		if (*v == '\\')
			r = aim_buf_put(b, "\\", 1);
		if (r == 0)
			r = aim_buf_put(b, v, 1);
	}
	return r < 0 ? r : aim_buf_put(b, "\n", 1);
}

int aim_grub_slot_env(const struct aim_grub_entry *e, struct aim_buf *out)
{
	int r = aim_buf_str(out, GRUBENV_SIG);

	if (r == 0)
		r = put_escaped(out, "aim_kernel=", e->kernel);
	if (r == 0)
		r = put_escaped(out, "aim_initrd=", e->initrd);
	while (r == 0 && out->len % GRUBENV_BLOCK)
		r = aim_buf_put(out, "#", 1);
	return r;
}

const char *aim_grub_platform(const char *arch)
{
	if (!strcmp(arch, "arm64"))
		return "arm64-efi";
	if (!strcmp(arch, "amd64"))
		return "x86_64-efi";
	if (!strcmp(arch, "armhf"))
		return "arm-efi";
	return NULL;
}

const char *aim_grub_efi_name(const char *arch)
{
	if (!strcmp(arch, "arm64"))
		return "BOOTAA64.EFI";
	if (!strcmp(arch, "amd64"))
		return "BOOTX64.EFI";
	if (!strcmp(arch, "armhf"))
		return "BOOTARM.EFI";
	return NULL;
}

static int has_moddep(const char *dir)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/moddep.lst", dir);
	return access(p, R_OK) == 0;
}

int aim_grub_find_moddir(const struct aim_tree *t, const char *platform, const char *tmpdir,
			 char *ret, size_t n, int *ret_tmp)
{
	char path[128];
	struct aim_node *d;
	const char *env = getenv("AIM_GRUB_MODDIR");
	int r;

	*ret_tmp = 0;
	snprintf(path, sizeof(path), "/usr/lib/grub/%s", platform);
	d = t ? aim_tree_lookup(t, path) : NULL;
	if (d && S_ISLNK(d->mode))
		d = aim_tree_resolve(t, d);
	snprintf(path, sizeof(path), "/usr/lib/grub/%s/moddep.lst", platform);
	if (d && S_ISDIR(d->mode) && aim_tree_lookup(t, path)) {
		snprintf(ret, n, "%s/armimmutable-grub-XXXXXX",
			 tmpdir ? tmpdir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp"));
		if (!mkdtemp(ret))
			return aim_error_set(-errno, "cannot create a temporary directory %s: %m",
					     ret);
		*ret_tmp = 1;
		r = aim_tree_extract(t, d, ret, 1, NULL);
		return r < 0 ? aim_error_set(r, "cannot extract the image's GRUB modules: %s",
					     strerror(-r))
			     : 0;
	}
	if (env && *env) {
		snprintf(ret, n, "%s/%s", env, platform);
		if (!has_moddep(ret))
			snprintf(ret, n, "%s", env);
		if (has_moddep(ret))
			return 0;
	}
	snprintf(ret, n, "/usr/lib/grub/%s", platform);
	if (has_moddep(ret))
		return 0;
	/* Another architecture's modules, unpacked by tools/grub-modules.sh (the tests). */
	if (!strcmp(platform, "arm64-efi")) {
		const char *c = getenv("SYSROOT_CACHE");
		snprintf(ret, n, "%s/grub-arm64/usr/lib/grub/%s", c && *c ? c : "/var/cache/armimmutable",
			 platform);
		if (has_moddep(ret))
			return 0;
	}
	return aim_error_set(-ENOENT, "no GRUB modules for %s: the image has no "
			     "/usr/lib/grub/%s and neither has this machine (install Debian's "
			     "grub-efi-%s-bin, or set AIM_GRUB_MODDIR)", platform, platform,
			     !strcmp(platform, "x86_64-efi") ? "amd64"
			     : !strcmp(platform, "arm64-efi") ? "arm64" : "arm");
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

void aim_grub_moddir_done(const char *dir, int tmp)
{
	if (tmp)
		nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
