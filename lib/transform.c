/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Immutable-root transforms (see transform.h and docs/convert.md, "Transforms of the root"). */
#include "transform.h"
#include "sign.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define RESIZE_UNIT "armbian-resize-filesystem.service"

int aim_transform_take_boot(struct aim_tree *t, struct aim_tree **ret_boot)
{
	struct aim_node *boot = aim_tree_lookup(t, "/boot");
	struct aim_tree *bt = NULL;
	int r;

	r = aim_tree_new(&bt);
	if (r < 0)
		return r;
	bt->source = t->source;
	if (boot && S_ISDIR(boot->mode)) {
		/* Move the children over; hard links between /boot and the rest of the tree
		 * do not occur in Armbian images and are cut (each side keeps a copy). */
		bt->root->mode = boot->mode;
		bt->root->uid = boot->uid;
		bt->root->gid = boot->gid;
		bt->root->mtime = boot->mtime;
		bt->root->children = boot->children;
		for (struct aim_node *c = boot->children; c; c = c->next)
			c->parent = bt->root;
		boot->children = NULL;
	}
	*ret_boot = bt;
	return 0;
}

static int is_dropped_mount(const char *mnt)
{
	return !strcmp(mnt, "/") || !strcmp(mnt, "/boot") || !strncmp(mnt, "/boot/", 6);
}

char *aim_transform_fstab(const char *in, unsigned *ret_dropped)
{
	size_t cap = strlen(in) * 2 + 256, len = 0;
	char *out = malloc(cap);
	unsigned dropped = 0;

	if (!out)
		return NULL;
	for (const char *l = in; *l;) {
		size_t n = strcspn(l, "\n");
		char line[1024], src[512], mnt[512];
		int drop = 0;

		snprintf(line, sizeof(line), "%.*s", (int)MIN(n, sizeof(line) - 1), l);
		if (line[strspn(line, " \t")] != '#' &&
		    sscanf(line, "%511s %511s", src, mnt) == 2 && is_dropped_mount(mnt))
			drop = 1;
		len += (size_t)snprintf(out + len, cap - len, "%s%.*s\n",
					drop ? "# armimmutable: mounted by the initramfs: " : "",
					(int)n, l);
		dropped += (unsigned)drop;
		l += n;
		if (*l == '\n')
			l++;
	}
	out[len] = 0;
	*ret_dropped = dropped;
	return out;
}

static int fix_fstab(struct aim_tree *t)
{
	struct aim_node *n = aim_tree_lookup(t, "/etc/fstab");
	_cleanup_free_ char *text = NULL, *out = NULL;
	unsigned dropped = 0;
	int r;

	if (!n || !S_ISREG(n->mode))
		return 0;
	r = aim_tree_read_small(t, n, 1 << 20, &text, NULL);
	if (r < 0)
		return r;
	out = aim_transform_fstab(text, &dropped);
	if (!out)
		return -ENOMEM;
	if (!dropped)
		return 0;
	r = aim_tree_set_mem(n, out, strlen(out));
	return r < 0 ? r : 1;
}

/* A new root-owned node with the given content (replacing what was there). */
static int put_file(struct aim_tree *t, const char *path, uint32_t mode, const char *content,
		    uint32_t epoch)
{
	_cleanup_free_ char *dir = strdup(path);
	struct aim_node *parent, *n;
	char *slash;
	int r;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	*slash = 0;
	r = aim_tree_mkdir_p(t, *dir ? dir : "/", &parent);
	if (r < 0)
		return r;
	n = aim_tree_lookup(t, path);
	if (n)
		aim_tree_remove(t, n);
	r = aim_tree_add(t, parent, slash + 1, mode, &n);
	if (r < 0)
		return r;
	n->mtime = epoch;
	if (S_ISLNK(mode)) {
		n->target = strdup(content);
		if (!n->target)
			return -ENOMEM;
		n->size = strlen(content);
		return 0;
	}
	return aim_tree_set_mem(n, content, strlen(content));
}

int aim_transform_add_host_file(struct aim_tree *t, const char *path, uint32_t mode,
				const char *src, uint32_t epoch)
{
	struct aim_node *n;
	struct stat st;
	int r;

	if (stat(src, &st) < 0 || !S_ISREG(st.st_mode))
		return aim_error_set(-ENOENT, "%s is missing (run make to build the device "
				     "side)", src);
	r = put_file(t, path, S_IFREG | (mode & 07777), "", epoch);
	if (r < 0)
		return r;
	n = aim_tree_lookup(t, path);
	free(n->mem);
	n->mem = NULL;
	n->mem_len = 0;
	n->host_path = strdup(src);
	if (!n->host_path)
		return -ENOMEM;
	n->src = AIM_DATA_HOST;
	n->size = (uint64_t)st.st_size;
	return 0;
}

/* Every unit in <hooks>/systemd/ goes to /usr/lib/systemd/system/ and is enabled the
 * way systemctl enable would: a link in /etc/systemd/system/<target>.wants/ for each
 * WantedBy= target of its [Install] section. */
static int install_units(struct aim_tree *t, const struct aim_transform_opts *o)
{
	struct dirent **ents = NULL;
	char dir[4096];
	int n, r = 0, count = 0;

	snprintf(dir, sizeof(dir), "%s/systemd", o->hooks_dir);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < n && r >= 0; i++) {
		const char *name = ents[i]->d_name;
		size_t l = strlen(name);
		_cleanup_free_ char *text = NULL;
		char src[4400], dst[512], unit[512];

		if (l < 9 || (strcmp(name + l - 8, ".service") && strcmp(name + l - 7, ".target")))
			continue;
		snprintf(src, sizeof(src), "%s/%s", dir, name);
		snprintf(dst, sizeof(dst), "/usr/lib/systemd/system/%s", name);
		r = aim_transform_add_host_file(t, dst, 0644, src, o->epoch);
		if (r < 0)
			break;
		count++;
		r = aim_read_file(src, 1 << 20, &text, NULL);
		if (r < 0)
			break;
		snprintf(unit, sizeof(unit), "/usr/lib/systemd/system/%s", name);
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			if (strncmp(line, "WantedBy=", 9))
				continue;
			for (char *tg = strtok(line + 9, " "); tg; tg = strtok(NULL, " ")) {
				char link[700];
				snprintf(link, sizeof(link), "/etc/systemd/system/%s.wants/%s", tg,
					 name);
				r = put_file(t, link, S_IFLNK | 0777, unit, o->epoch);
				if (r < 0)
					break;
			}
			break; /* one WantedBy= line; strtok state is spent */
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r < 0 ? r : count;
}

static int install_device_side(struct aim_tree *t, const struct aim_transform_opts *o)
{
	static const char *const hooks[][2] = {
		{"initramfs-tools/hooks/armimmutable",
		 "/usr/share/initramfs-tools/hooks/armimmutable"},
		{"initramfs-tools/scripts/local-bottom/armimmutable",
		 "/usr/share/initramfs-tools/scripts/local-bottom/armimmutable"},
	};
	char src[4096];
	int r, n = 0;

	if (o->device_helper) {
		const char *slash = strrchr(o->device_helper, '/');

		r = aim_transform_add_host_file(t, "/usr/lib/armimmutable/aim-boot", 0755,
						o->device_helper, o->epoch);
		if (r < 0)
			return r;
		n++;
		/* The device build of the CLI (status, install, mark-good, ...), when it was
		 * built next to the helper: <device_dir>/<arch>/armimmutable. */
		snprintf(src, sizeof(src), "%.*s/armimmutable",
			 slash ? (int)(slash - o->device_helper) : 1,
			 slash ? o->device_helper : ".");
		if (access(src, X_OK) == 0) {
			r = aim_transform_add_host_file(t, "/usr/sbin/armimmutable", 0755, src,
							o->epoch);
			if (r < 0)
				return r;
			n++;
		}
	}
	for (size_t i = 0; o->hooks_dir && i < ARRAY_SIZE(hooks); i++) {
		snprintf(src, sizeof(src), "%s/%s", o->hooks_dir, hooks[i][0]);
		r = aim_transform_add_host_file(t, hooks[i][1], 0755, src, o->epoch);
		if (r < 0)
			return r;
		n++;
	}
	if (o->hooks_dir) {
		r = install_units(t, o);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

/* armbian-resize-filesystem grows the root partition; here the data partition grows
 * instead (armbian-layout.md 1.10: with an overlay root it would find "overlay"). */
static int disable_resize(struct aim_tree *t, uint32_t epoch)
{
	struct aim_node *d;
	int changes = 0, r;
	static const char *const dirs[] = {"/etc/systemd/system", "/lib/systemd/system",
					   "/usr/lib/systemd/system"};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		d = aim_tree_lookup(t, dirs[i]);
		for (struct aim_node *w = d ? d->children : NULL; w; w = w->next) {
			struct aim_node *u;
			size_t l = strlen(w->name);
			if (!S_ISDIR(w->mode) || l < 6 || strcmp(w->name + l - 6, ".wants"))
				continue;
			for (u = w->children; u; u = u->next)
				if (!strcmp(u->name, RESIZE_UNIT))
					break;
			if (u) {
				aim_tree_remove(t, u);
				changes++;
			}
		}
	}
	if (changes || aim_tree_lookup(t, "/lib/systemd/system/" RESIZE_UNIT) ||
	    aim_tree_lookup(t, "/usr/lib/systemd/system/" RESIZE_UNIT)) {
		r = put_file(t, "/etc/systemd/system/" RESIZE_UNIT, S_IFLNK | 0777, "/dev/null",
			     epoch);
		if (r < 0)
			return r;
		changes++;
	}
	if (aim_tree_lookup(t, "/usr/lib/armbian/armbian-resize-filesystem")) {
		r = put_file(t, "/root/.no_rootfs_resize", S_IFREG | 0644, "", epoch);
		if (r < 0)
			return r;
		changes++;
	}
	return changes;
}

/* Each trusted update key, checked, as /etc/armimmutable/keys/<key id>.pub (the
 * install verb's default keyring). */
static int install_keys(struct aim_tree *t, const struct aim_transform_opts *o)
{
	for (unsigned i = 0; i < o->ntrust; i++) {
		struct aim_pubkey pk;
		char id[17], path[64];
		int r = aim_pubkey_load(o->trust[i], &pk);

		if (r < 0)
			return aim_error_set(r, "--trust %s: not a minisign public key", o->trust[i]);
		aim_sign_keyid(pk.keynum, id);
		snprintf(path, sizeof(path), "/etc/armimmutable/keys/%s.pub", id);
		r = aim_transform_add_host_file(t, path, 0644, o->trust[i], o->epoch);
		if (r < 0)
			return r;
	}
	return (int)o->ntrust;
}

static int write_config(struct aim_tree *t, const struct aim_transform_opts *o)
{
	char buf[4096];
	size_t len;

	len = (size_t)snprintf(buf, sizeof(buf),
			       "# armimmutable configuration, written by armimmutable convert.\n"
			       "# The kernel command line can override OVERLAY with\n"
			       "# armimmutable.overlay=persistent|tmpfs.\n"
			       "# TRIAL_TIMEOUT: seconds a slot on trial has to reach boot-complete\n"
			       "# and be marked good before it is rebooted (0: never).\n"
			       "TRIAL_TIMEOUT=%u\nOVERLAY=%s\nPERSIST=\"",
			       o->trial_timeout, o->overlay_tmpfs ? "tmpfs" : "persistent");
	for (unsigned i = 0; i < o->npersist && len < sizeof(buf) - 256; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
					o->persist[i]);
	snprintf(buf + len, sizeof(buf) - len, "\"\n%s",
		 o->no_identity ? "KEEP_IDENTITY=no\n" : "");
	return put_file(t, "/etc/armimmutable/armimmutable.conf", S_IFREG | 0644, buf, o->epoch);
}

int aim_transform_root(struct aim_tree *t, const struct aim_transform_opts *o)
{
	int changes = 0, r;

	r = fix_fstab(t);
	if (r < 0)
		return r;
	changes += r;
	r = disable_resize(t, o->epoch);
	if (r < 0)
		return r;
	changes += r;
	r = write_config(t, o);
	if (r < 0)
		return r;
	changes++;
	r = install_keys(t, o);
	if (r < 0)
		return r;
	changes += r;
	r = install_device_side(t, o);
	if (r < 0)
		return r;
	return changes + r;
}
