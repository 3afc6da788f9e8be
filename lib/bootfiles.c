// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The boot files of a conversion (see bootfiles.h): the original /boot staged once and
 * linked for slot B, and each distinct initramfs patched once (docs/initrd.md section 4).
 */
#include "bootfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootscript.h"
#include "initrd.h"
#include "moddep.h"
#include "sign.h"
#include "treeio.h"
#include "base/buf.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

/* Slot B's boot files start as slot A's: the same names, hard links to the same files
 * (everything that gives a slot its own file replaces the name, never the data). */
static int link_tree(const char *from, const char *to, int depth)
{
	struct dirent **ents = NULL;
	char a[4200], b[4200];
	struct stat st;
	int n, r = 0;

	if (depth > 64)
		return aim_error_set(-ELOOP, "boot files nest deeper than 64 levels");
	n = scandir(from, &ents, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (r < 0 || !strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, name);
		snprintf(b, sizeof(b), "%s/%s", to, name);
		if (lstat(a, &st) < 0) {
			r = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			struct timespec ts[2] = {st.st_mtim, st.st_mtim};

			if (mkdir(b, st.st_mode & 07777) < 0)
				r = aim_error_set(-errno, "cannot create %s: %m", b);
			if (r == 0)
				r = link_tree(a, b, depth + 1);
			if (r == 0 && utimensat(AT_FDCWD, b, ts, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
		} else if (link(a, b) < 0) {
			r = aim_error_set(-errno, "cannot link %s: %m", b);
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

/* What loads the boot files: the boot script (boot.scr holds its text uncompressed),
 * armbianEnv.txt, extlinux.conf, boot.ini, uEnv.txt, grub.cfg; NULL when /boot has none. */
static char *boot_refs(const struct aim_tree *bt, size_t *ret_len)
{
	static const char *const files[] = {"/boot.cmd", "/boot.scr", "/armbianEnv.txt",
					    "/extlinux/extlinux.conf", "/boot.ini", "/uEnv.txt",
					    "/grub/grub.cfg"};
	struct aim_buf b = {0};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *t = NULL;
		size_t n = 0;

		if (aim_tree_read_path(bt, files[i], 1 << 20, &t, &n) < 0)
			continue;
		if (aim_buf_put(&b, t, n) < 0 || aim_buf_put(&b, "\n", 1) < 0) {
			aim_buf_free(&b);
			return NULL;
		}
	}
	if (!b.len || aim_buf_put(&b, "", 1) < 0) {
		aim_buf_free(&b);
		return NULL;
	}
	*ret_len = b.len - 1;
	return (char *)b.p;
}

int aim_bootfiles_dups(const struct aim_tree *bt, struct aim_strv *ret, uint64_t *ret_bytes)
{
	size_t len = 0;
	_cleanup_free_ char *refs = boot_refs(bt, &len);
	int r = 0;

	*ret_bytes = 0;
	if (!refs)
		return 0;
	for (struct aim_node *f = bt->root->children; f && r == 0; f = f->next) {
		const char *group[16];
		size_t n = 0;

		if (!S_ISREG(f->mode))
			continue;
		group[n++] = f->name;
		for (struct aim_node *l = bt->root->children; l && n < ARRAY_SIZE(group);
		     l = l->next)
			if (S_ISLNK(l->mode) && aim_tree_resolve(bt, l) == f)
				group[n++] = l->name;
		for (size_t i = 0; i < n && r == 0; i++)
			if (aim_bootscript_drop_dup(refs, len, group[i], group, n, f->name)) {
				r = aim_strv_add(ret, group[i], strlen(group[i]));
				*ret_bytes += f->size;
			}
	}
	return r;
}

/* Boot partition content: the original /boot (symlinks dereferenced, FAT has none) once
 * per slot, without the names of one file the boot chain does not load
 * (aim_bootfiles_dups). Returns the bytes of one slot's files. */
int aim_bootfiles_stage(const struct aim_tree *bt, const char *stage, int slot_b,
			uint64_t *ret_content)
{
	struct aim_strv drop = {0};
	char a[4200], b[4200];
	uint64_t bytes = 0, dropped = 0;
	int r;

	snprintf(a, sizeof(a), "%s/slot-a", stage);
	if (mkdir(a, 0755) < 0)
		return -errno;
	r = aim_tree_extract(bt, bt->root, a, 1, &bytes);
	if (r == 0)
		r = aim_bootfiles_dups(bt, &drop, &dropped);
	for (size_t i = 0; r == 0 && i < drop.n; i++) {
		char p[4500];

		snprintf(p, sizeof(p), "%s/%s", a, drop.v[i]);
		if (unlink(p) < 0)
			r = aim_error_set(-errno, "cannot remove %s: %m", p);
		else
			aim_debug("boot files: %s not stored (the boot chain loads another "
				      "name of the same file)", drop.v[i]);
	}
	aim_strv_free(drop.v);
	if (r < 0)
		return r;
	bytes -= MIN(bytes, dropped);
	*ret_content += bytes;
	if (!slot_b)
		return 0;
	snprintf(b, sizeof(b), "%s/slot-b", stage);
	if (mkdir(b, 0755) < 0)
		return -errno;
	r = link_tree(a, b, 0);
	if (r == 0)
		*ret_content += bytes;
	return r;
}

/* The kernel release an initramfs file belongs to: from its name (uInitrd-<kver>,
 * initrd.img-<kver>), else from the symlink the plain name was in /boot, else the only
 * kernel (in /boot, else in the root's /lib/modules: a FAT /boot has no vmlinuz-*). */
static int initrd_kver(const struct aim_tree *t, const struct aim_tree *bt,
		       const struct aim_image_info *ii, const char *name, char *kver, size_t n)
{
	const struct aim_node *mods = aim_tree_lookup(t, "/lib/modules");
	const char *dash = strchr(name, '-');
	struct aim_node *node;
	char p[300];

	if (dash) {
		snprintf(kver, n, "%s", dash + 1);
		return 0;
	}
	snprintf(p, sizeof(p), "/%s", name);
	node = bt ? aim_tree_lookup(bt, p) : NULL;
	if (node && S_ISLNK(node->mode) && node->target && strchr(node->target, '-')) {
		snprintf(kver, n, "%s", strchr(node->target, '-') + 1);
		return 0;
	}
	if (ii->nkernels == 1) {
		snprintf(kver, n, "%s", ii->kernels[0]);
		return 0;
	}
	if (!mods || !S_ISDIR(mods->mode))
		mods = aim_tree_lookup(t, "/usr/lib/modules");
	if (!ii->nkernels && mods && mods->children && !mods->children->next) {
		snprintf(kver, n, "%s", mods->children->name);
		return 0;
	}
	return aim_error_set(-ENOENT, "cannot tell which kernel %s belongs to", name);
}

struct loaded_mods {
	char **paths;
	struct aim_initrd_file *files;
	char **bufs;
	size_t n;
	char *dep;
	int verity;
	/* the trusted keys of the root (/etc/armimmutable/keys/NAME.pub) for aim-boot */
	struct aim_initrd_file keys[AIM_INITRD_FILES_MAX];
	char *key_bufs[AIM_INITRD_FILES_MAX], key_paths[AIM_INITRD_FILES_MAX][300];
	size_t nkeys;
};

static void loaded_mods_free(struct loaded_mods *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->bufs[i]);
	free(m->bufs);
	free(m->files);
	aim_strv_free(m->paths);
	free(m->dep);
	for (size_t i = 0; i < m->nkeys; i++)
		free(m->key_bufs[i]);
	memset(m, 0, sizeof(*m));
}

/* The modules the appended initramfs loads (/conf/modules): dm-verity (with dm-mod,
 * dm-bufio, ...) only when the kernel has it, aim-boot maps verity slots with it. */
static const char *const load_verity[] = {"squashfs", "overlay", "dm-verity", NULL};
static const char *const load_plain[] = {"squashfs", "overlay", NULL};

/* squashfs, overlay and, for slots with a tree, dm-verity (when there) and what they
 * need, from the image's own /lib/modules/<kver>. m->verity: dm-verity was found (as a
 * module or built in). Without a tree no dm module is read: modules.dep may still name a
 * dm-verity.ko that is not there (the preflight turned verity off for that reason). */
static int load_modules(const struct aim_tree *t, const char *kver, int verity,
			struct loaded_mods *m)
{
	_cleanup_free_ char *builtin = NULL;
	char p[512];
	int r;

	snprintf(p, sizeof(p), "/lib/modules/%s/modules.dep", kver);
	r = aim_tree_read_path(t, p, 16 << 20, &m->dep, NULL);
	if (r < 0)
		return aim_error_set(r, "cannot read %s from the root filesystem", p);
	snprintf(p, sizeof(p), "/lib/modules/%s/modules.builtin", kver);
	(void)aim_tree_read_path(t, p, 16 << 20, &builtin, NULL);
	m->verity = verity;
	r = verity ? aim_kmod_deps(m->dep, builtin, load_verity, &m->paths) : -ENOENT;
	if (r == -ENOENT) {
		aim_error_clear();
		m->verity = 0;
		r = aim_kmod_deps(m->dep, builtin, load_plain, &m->paths);
	}
	if (r < 0)
		return r;
	while (m->paths[m->n])
		m->n++;
	m->files = calloc(m->n + 1, sizeof(*m->files));
	m->bufs = calloc(m->n + 1, sizeof(char *));
	if (!m->files || !m->bufs)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		size_t len;
		snprintf(p, sizeof(p), "/lib/modules/%s/%s", kver, m->paths[i]);
		r = aim_tree_read_path(t, p, 64 << 20, &m->bufs[i], &len);
		if (r < 0)
			return aim_error_set(r, "cannot read the kernel module %s", p);
		m->files[i] = (struct aim_initrd_file){m->paths[i], m->bufs[i], len};
	}
	return 0;
}

/* The root's /etc/armimmutable/keys/NAME.pub (convert --trust put them there) for the
 * initramfs, same path: aim-boot checks slot.env's signature before the root is mounted,
 * and refuses unsigned slots once they are there. */
static int load_keys(const struct aim_tree *t, struct loaded_mods *m)
{
	struct aim_node *d = aim_tree_lookup(t, "/etc/armimmutable/keys");

	for (struct aim_node *c = d ? d->children : NULL; c; c = c->next) {
		size_t n = strlen(c->name), len;
		char p[300];
		int r;

		if (!S_ISREG(c->mode) || n < 5 || strcmp(c->name + n - 4, ".pub") ||
		    n > 200)
			continue;
		if (m->nkeys >= AIM_INITRD_FILES_MAX)
			return aim_error_set(-E2BIG, "more than %d keys in /etc/armimmutable/keys",
					     AIM_INITRD_FILES_MAX);
		snprintf(p, sizeof(p), "/etc/armimmutable/keys/%s", c->name);
		r = aim_tree_read_path(t, p, 16384, &m->key_bufs[m->nkeys], &len);
		if (r < 0)
			return aim_error_set(r, "cannot read %s", p);
		snprintf(m->key_paths[m->nkeys], sizeof(m->key_paths[0]), "%s", p + 1);
		m->keys[m->nkeys] = (struct aim_initrd_file){m->key_paths[m->nkeys],
							     m->key_bufs[m->nkeys], len};
		m->nkeys++;
	}
	return 0;
}

/* The public half of the key that signs this slot's slot.env, as
 * etc/armimmutable/keys/slot-signer-<ID>.pub: the root's trusted keys are for the next
 * update (bundle create --no-trust-signer leaves the signer out of them, e.g. when the
 * release moves to a new key), but aim-boot must accept this slot's own slot.env. */
static int add_signer_key(const struct aim_seckey *sk, struct loaded_mods *m)
{
	struct aim_pubkey pk;
	char id[17];
	int r;

	if (m->nkeys >= AIM_INITRD_FILES_MAX)
		return aim_error_set(-E2BIG, "more than %d keys in /etc/armimmutable/keys",
				     AIM_INITRD_FILES_MAX - 1);
	aim_seckey_pubkey(sk, &pk);
	aim_sign_keyid(pk.keynum, id);
	r = aim_pubkey_format(&pk, &m->key_bufs[m->nkeys]);
	if (r < 0)
		return r;
	snprintf(m->key_paths[m->nkeys], sizeof(m->key_paths[0]),
		 "etc/armimmutable/keys/slot-signer-%s.pub", id);
	m->keys[m->nkeys] = (struct aim_initrd_file){m->key_paths[m->nkeys], m->key_bufs[m->nkeys],
						     strlen(m->key_bufs[m->nkeys])};
	m->nkeys++;
	return 0;
}

/* Whether a[aoff, aoff + len) and b[boff, boff + len) (two files) hold the same bytes. */
static int same_bytes(int fa, uint64_t aoff, int fb, uint64_t boff, uint64_t len)
{
	_cleanup_free_ uint8_t *x = malloc(1 << 20), *y = malloc(1 << 20);

	if (!x || !y)
		return -ENOMEM;
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)MIN((uint64_t)(1 << 20), len - off);
		int r = aim_pread_full(fa, x, n, aoff + off);

		if (r == 0)
			r = aim_pread_full(fb, y, n, boff + off);
		if (r < 0)
			return r;
		if (memcmp(x, y, n))
			return 0;
		off += n;
	}
	return 1;
}

/* Whether two initramfs files hold the same payload (whole: the same file). */
static int same_initrd(const char *a, const char *b, int whole)
{
	_cleanup_close_ int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	uint64_t ao, al, bo, bl;
	struct stat sa, sb;
	int r;

	if (fa < 0 || fb < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0)
		return -errno;
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		return 1;
	if (whole) {
		ao = bo = 0;
		al = (uint64_t)sa.st_size;
		bl = (uint64_t)sb.st_size;
	} else if ((r = aim_initrd_payload_fd(fa, &ao, &al)) < 0 ||
		   (r = aim_initrd_payload_fd(fb, &bo, &bl)) < 0) {
		return r;
	}
	return al == bl ? same_bytes(fa, ao, fb, bo, al) : 0;
}

/* One distinct initramfs payload (and kernel release) and the names that hold it: a
 * raw initrd.img and the uInitrd files made from it. */
struct initrd_group {
	char kver[200];
	struct aim_strv names;
};

static void groups_free(struct initrd_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		aim_strv_free(g[i].names.v);
	free(g);
}

/* The initramfs files of slot A (slot B's are the same files), grouped by payload. */
static int group_initrds(const struct aim_tree *t, const struct aim_tree *bt,
			 const struct aim_image_info *ii, const char *dir,
			 struct initrd_group **ret, size_t *ret_n)
{
	struct dirent **ents = NULL;
	struct initrd_group *g = NULL;
	size_t ng = 0;
	char a[4900], b[4900];
	int n, r = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n && r >= 0; i++) {
		const char *name = ents[i]->d_name;
		char kver[200];
		size_t k;

		if (strncmp(name, "uInitrd", 7) && strncmp(name, "initrd.img", 10))
			continue;
		r = initrd_kver(t, bt, ii, name, kver, sizeof(kver));
		snprintf(a, sizeof(a), "%s/%s", dir, name);
		for (k = 0; r >= 0 && k < ng; k++) {
			if (strcmp(g[k].kver, kver))
				continue;
			snprintf(b, sizeof(b), "%s/%s", dir, g[k].names.v[0]);
			r = same_initrd(a, b, 0);
			if (r != 0)
				break;
		}
		if (r < 0) {
			if (!aim_error_detail())
				aim_error_set(r, "cannot patch %s: %s", name, strerror(-r));
			break;
		}
		if (k == ng) {
			struct initrd_group *ng2 = realloc(g, (ng + 1) * sizeof(*g));

			if (!ng2) {
				r = -ENOMEM;
				break;
			}
			g = ng2;
			g[ng] = (struct initrd_group){{0}, {0}};
			snprintf(g[ng].kver, sizeof(g[ng].kver), "%s", kver);
			ng++;
		}
		r = aim_strv_add(&g[k].names, name, strlen(name));
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (r < 0) {
		groups_free(g, ng);
		return r;
	}
	*ret = g;
	*ret_n = ng;
	return 0;
}

/* One patched file per distinct file of the group: out[i] is where name i's result is
 * (a file beside the slots, possibly shared with an earlier name). */
static int write_group(const struct initrd_group *g, const char *stage,
		       const struct aim_buf *arc, uint32_t epoch, char (*out)[4300])
{
	struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
	char in[4300], prev[4300];
	int r = 0;

	for (size_t i = 0; r == 0 && i < g->names.n; i++) {
		_cleanup_close_ int in_fd = -EBADF, out_fd = -EBADF;
		size_t j;

		snprintf(in, sizeof(in), "%s/slot-a/%s", stage, g->names.v[i]);
		for (j = 0; r >= 0 && j < i; j++) {
			snprintf(prev, sizeof(prev), "%s/slot-a/%s", stage, g->names.v[j]);
			r = same_initrd(in, prev, 1);
			if (r != 0)
				break;
		}
		if (r < 0)
			break;
		r = 0;
		if (j < i) {
			memcpy(out[i], out[j], sizeof(out[i]));
			continue;
		}
		snprintf(out[i], sizeof(out[i]), "%s/.initrd-%zu", stage, i);
		if ((in_fd = open(in, O_RDONLY | O_CLOEXEC)) < 0)
			r = -errno;
		else if ((out_fd = open(out[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					0644)) < 0)
			r = aim_error_set(-errno, "cannot create %s: %m", out[i]);
		if (r == 0)
			r = aim_initrd_append_fd(in_fd, arc, epoch, out_fd);
		if (r == 0 && futimens(out_fd, ts) < 0)
			r = -errno;
		if (r < 0 && !aim_error_detail())
			aim_error_set(r, "cannot patch %s: %s", g->names.v[i], strerror(-r));
	}
	return r;
}

/* Builds the archive appended to one payload once, writes it to each distinct file of
 * the group, then gives the results every name of the group in every slot (hard links:
 * the boot partition gets a copy per name). */
static int patch_group(const struct aim_tree *t, const struct initrd_group *g,
		       const char *stage, int nslots, int verity, const struct aim_seckey *signer,
		       struct aim_initrd_add *add)
{
	struct loaded_mods m = {0};
	struct aim_buf arc = {0};
	char in[4300], dst[4300], (*out)[4300] = calloc(g->names.n, sizeof(*out));
	_cleanup_close_ int in_fd = -EBADF;
	int r = out ? 0 : -ENOMEM;

	if (r == 0)
		r = load_modules(t, g->kver, verity, &m);
	/* Keys in the initramfs make the device refuse every slot whose slot.env is not
	 * signed or has no verity keys (docs/boot.md section 9): only when convert signs
	 * slots with verity (the caller knows: slot.env is written only after the squashfs). */
	if (r == 0 && signer)
		r = load_keys(t, &m);
	if (r == 0 && signer)
		r = add_signer_key(signer, &m);
	snprintf(in, sizeof(in), "%s/slot-a/%s", stage, g->names.v[0]);
	if (r == 0 && (in_fd = open(in, O_RDONLY | O_CLOEXEC)) < 0)
		r = -errno;
	if (r == 0) {
		add->kver = g->kver;
		add->modules = m.files;
		add->n_modules = m.n;
		add->modules_dep = m.dep;
		add->load = m.verity ? load_verity : load_plain;
		add->files = m.keys;
		add->n_files = m.nkeys;
		r = aim_initrd_archive_fd(in_fd, add, &arc);
	}
	if (r < 0 && !aim_error_detail())
		aim_error_set(r, "cannot patch %s: %s", g->names.v[0], strerror(-r));
	if (r == 0)
		r = write_group(g, stage, &arc, add->mtime, out);
	for (int s = 0; r == 0 && s < nslots; s++)
		for (size_t i = 0; r == 0 && i < g->names.n; i++) {
			snprintf(dst, sizeof(dst), "%s/slot-%c/%s", stage, 'a' + s, g->names.v[i]);
			if (unlink(dst) < 0 || link(out[i], dst) < 0)
				r = aim_error_set(-errno, "cannot replace %s: %m", dst);
		}
	for (size_t i = 0; out && i < g->names.n; i++)
		if (out[i][0])
			unlink(out[i]);
	free(out);
	aim_buf_free(&arc);
	loaded_mods_free(&m);
	return r;
}

/* Every initramfs of every slot gets aim-boot, our local-bottom script and the squashfs
 * and overlay modules appended (docs/initrd.md): the image's own initramfs keeps
 * doing everything else. The archive for each distinct payload is built once, and each
 * distinct file patched once, for all its names and for both slots (the result does not
 * depend on the slot). */
int aim_bootfiles_patch_initrds(const struct aim_tree *t, const struct aim_tree *bt,
				const struct aim_image_info *ii, const struct aim_convert_opts *o,
				const char *stage, const char *helper, int verity,
				const struct aim_seckey *signer, uint32_t epoch)
{
	_cleanup_free_ char *aim_boot = NULL, *script = NULL;
	struct initrd_group *g = NULL;
	size_t aim_boot_len = 0, script_len = 0, ng = 0;
	char p[4600];
	int r;

	r = aim_read_file(helper, 64 << 20, &aim_boot, &aim_boot_len);
	if (r < 0)
		return aim_error_set(r, "cannot read %s (run make)", helper);
	snprintf(p, sizeof(p), "%s/initramfs-tools/scripts/local-bottom/armimmutable",
		 o->hooks_dir);
	r = aim_read_file(p, 1 << 20, &script, &script_len);
	if (r < 0)
		return aim_error_set(r, "cannot read %s", p);
	snprintf(p, sizeof(p), "%s/slot-a", stage);
	r = group_initrds(t, bt, ii, p, &g, &ng);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < ng; i++) {
		struct aim_initrd_add add = {
			.aim_boot = aim_boot,
			.aim_boot_len = aim_boot_len,
			.local_bottom = script,
			.local_bottom_len = script_len,
			.mtime = epoch,
		};
		r = patch_group(t, &g[i], stage, o->slot_b_empty ? 1 : 2, verity,
				signer, &add);
	}
	groups_free(g, ng);
	if (r < 0)
		return r;
	if (!ng)
		return aim_error_set(-ENOENT, "no initramfs (uInitrd or initrd.img) in /boot: the "
				     "converted image could not mount its root");
	return 0;
}
