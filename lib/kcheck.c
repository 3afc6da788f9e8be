// SPDX-License-Identifier: LGPL-2.1-or-later
/* Kernel preflight: dm-verity support from the image's config and modules (kcheck.h). */
#include "kcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ext4.h"
#include "fat.h"
#include "treeio.h"
#include "base/log.h"
#include "base/macro.h"

#define CONFIG_MAX (4 << 20)

/* /boot/config-<kver>: in the root tree, else on the separate boot partition. */
static int read_config(int fd, const char *path, const struct aim_image_info *ii,
		       const struct aim_tree *root, const char *kver, char **ret)
{
	const struct aim_part *p;
	const char *t;
	char name[300];
	int r;

	snprintf(name, sizeof(name), "/boot/config-%s", kver);
	r = aim_tree_read_path(root, name, CONFIG_MAX, ret, NULL);
	if (r != -ENOENT || ii->boot < 0)
		return r;
	p = &ii->pt.parts[ii->boot];
	t = ii->part[ii->boot].fstype;
	for (int pre = 1; pre >= 0; pre--) {
		const char *f = pre ? name + 5 : name; /* "/config-..." first */
		if (!strcmp(t, "vfat")) {
			r = aim_fat_read(fd, p->start, p->size, f, CONFIG_MAX, ret, NULL);
		} else if (!strncmp(t, "ext", 3)) {
			struct aim_ext4 *fs = NULL;
			r = aim_ext4_open(path, p->start, p->size, &fs);
			if (r == 0)
				r = aim_ext4_read_path(fs, f, CONFIG_MAX, ret, NULL);
			aim_ext4_free(fs);
		} else {
			r = -ENOENT;
		}
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

/* The value of CONFIG_<opt> in config text: 'y', 'm', or 0 when unset. */
static char config_value(const char *text, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, opt, n) && l[n] == '=')
			return l[n + 1] == 'y' || l[n + 1] == 'm' ? l[n + 1] : 0;
	return 0;
}

/* dm-verity.ko* named in modules.dep and present under /lib/modules/<kver>/. */
static int module_present(const struct aim_tree *root, const char *kver)
{
	_cleanup_free_ char *dep = NULL;
	char p[600];

	snprintf(p, sizeof(p), "/lib/modules/%s/modules.dep", kver);
	if (aim_tree_read_path(root, p, 16 << 20, &dep, NULL) < 0)
		return 0;
	for (const char *l = dep; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t len = strcspn(l, ":\n");
		const char *base = l;
		struct aim_node *node;

		for (size_t i = 0; i < len; i++)
			if (l[i] == '/')
				base = l + i + 1;
		if (strncmp(base, "dm-verity.ko", 12) || len > 300)
			continue;
		snprintf(p, sizeof(p), "/lib/modules/%s/%.*s", kver, (int)len, l);
		node = aim_tree_lookup(root, p);
		if (!node) {
			snprintf(p, sizeof(p), "/usr/lib/modules/%s/%.*s", kver, (int)len, l);
			node = aim_tree_lookup(root, p);
		}
		return node && S_ISREG(node->mode);
	}
	return 0;
}

/* One kernel: 1 or 0 with why. */
static int check_kver(int fd, const char *path, const struct aim_image_info *ii,
		      const struct aim_tree *root, const char *kver, char *why, size_t n)
{
	_cleanup_free_ char *cfg = NULL;
	char v;
	int r = read_config(fd, path, ii, root, kver, &cfg);

	if (r == -ENOENT) {
		snprintf(why, n, "kernel %s has no /boot/config-%s to tell whether it has "
			 "dm-verity", kver, kver);
		return 0;
	}
	if (r < 0)
		return aim_error_set(r, "cannot read /boot/config-%s: %s", kver,
				     aim_error_detail() ? aim_error_detail() : strerror(-r));
	v = config_value(cfg, "CONFIG_DM_VERITY");
	if (!v) {
		snprintf(why, n, "kernel %s is built without dm-verity (CONFIG_DM_VERITY is "
			 "not set)", kver);
		return 0;
	}
	if (v == 'm' && !module_present(root, kver)) {
		snprintf(why, n, "kernel %s has dm-verity as a module (CONFIG_DM_VERITY=m), "
			 "but dm-verity.ko is not in /lib/modules/%s", kver, kver);
		return 0;
	}
	snprintf(why, n, "kernel %s has dm-verity (CONFIG_DM_VERITY=%c%s)", kver, v,
		 v == 'm' ? ", module present" : "");
	return 1;
}

int aim_kernel_verity(int fd, const char *path, const struct aim_image_info *ii,
		      const struct aim_tree *root, char *why, size_t n)
{
	struct aim_node *mods = aim_tree_lookup(root, "/lib/modules");
	unsigned count = 0;
	char first[256] = "";

	if (mods)
		mods = aim_tree_resolve(root, mods);
	if (!mods || !S_ISDIR(mods->mode))
		mods = aim_tree_lookup(root, "/usr/lib/modules");
	for (struct aim_node *c = mods ? mods->children : NULL; c; c = c->next) {
		int r;

		if (!S_ISDIR(c->mode))
			continue;
		r = check_kver(fd, path, ii, root, c->name, why, n);
		if (r <= 0)
			return r;
		if (!count++)
			snprintf(first, sizeof(first), "%s", why);
	}
	if (!count) {
		snprintf(why, n, "no kernel modules directory (/lib/modules/<kver>) to tell "
			 "whether the kernel has dm-verity");
		return 0;
	}
	if (count > 1)
		snprintf(why, n, "%u kernels, each with dm-verity", count);
	else
		snprintf(why, n, "%s", first);
	return 1;
}
