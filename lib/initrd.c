// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Patch an existing initramfs by appending a newc cpio archive (see initrd.h and
 * docs/initrd.md). Reading (initrd_read.c): the original payload is streamed the way
 * the kernel's init/initramfs.c walks it (zero padding, uncompressed newc at 4-aligned
 * offsets, gzip/zstd/xz members, decoded by decomp.c and parsed by cpio.c), keeping only
 * the entry list, symlink targets and the few files that are extended rather than
 * replaced (ORDER, modules.dep, /conf/modules). Writing: every added path is first resolved
 * through the original archive's symlinks (Debian's merged-usr initramfs has
 * lib -> usr/lib, sbin -> usr/sbin): a directory entry for "lib" would make the kernel
 * replace that symlink with an empty directory and break every binary in the initramfs.
 * The output is the input's bytes, then our archive: nothing is held whole in memory.
 */
#include "initrd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "cpio.h"
#include "initrd_read.h"
#include "moddep.h"

#define UIMAGE_MAGIC 0x27051956u
#define UIMAGE_HDR 64
#define IH_TYPE_RAMDISK 3
#define CHUNK (1u << 20)
#define OUR_SCRIPT "/scripts/local-bottom/armimmutable"

/* zlib's crc32 (several times faster than base/crc32's byte table) over whole initramfs
 * files; the same CRC-32, the static helper keeps base/crc32. */
static uint32_t crc32_more(uint32_t c, const uint8_t *p, size_t len)
{
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		c = (uint32_t)crc32(c, p, n);
		p += n;
		len -= n;
	}
	return c;
}

/* ---- the patch ---- */

struct addfile {
	char *path; /* canonical (resolved) */
	uint32_t mode;
	const void *data;
	size_t len;
};

static int plan_file(const struct aim_initrd_archive *a, struct addfile *f, const char *path, uint32_t mode,
		     const void *data, size_t len)
{
	int r = aim_initrd_resolve(a, path, &f->path);

	if (r < 0)
		return r;
	f->mode = S_IFREG | mode;
	f->data = data;
	f->len = len;
	return 0;
}

static int add_dirs(const struct aim_initrd_archive *a, struct aim_strv *dirs, const char *path)
{
	const char *s = path;

	while ((s = strchr(s, '/'))) {
		const struct aim_initrd_entry *e;
		size_t l = (size_t)(s - path);
		_cleanup_free_ char *pre = strndup(path, l);

		if (!pre)
			return -ENOMEM;
		e = aim_initrd_lookup(a, pre);
		if (!(e && S_ISDIR(e->mode)) && !aim_strv_has(dirs, pre, l)) {
			int r = aim_strv_add(dirs, pre, l);

			if (r < 0)
				return r;
		}
		s++;
	}
	return 0;
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Text of the regular file at path in the original, appended to b (may be absent). */
static int orig_text(const struct aim_initrd_archive *a, const char *path, struct aim_buf *b)
{
	const struct aim_initrd_entry *e = aim_initrd_find_file(a, path);
	int r;

	if (!e)
		return aim_buf_zero(b, 0);
	if (e->size && !e->data)
		return aim_error_set(-EOPNOTSUPP, "initramfs: %s resolves to %s, whose content "
				     "was not kept (kept by name: ORDER, modules, modules.dep)",
				     path, e->name);
	r = aim_buf_put(b, e->data, e->size);
	if (r == 0 && b->len && b->p[b->len - 1] != '\n')
		r = aim_buf_str(b, "\n");
	return r;
}

static bool has_line_starting(const char *text, const char *start)
{
	size_t l = strlen(start);

	for (const char *p = text; p && *p;) {
		if (!strncmp(p, start, l))
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static bool conf_modules_has(const char *text, const char *name)
{
	char want[64];

	aim_kmod_name_norm(name, want, sizeof(want));
	for (const char *p = text; p && *p;) {
		size_t l;
		char got[64];

		p += strspn(p, " \t");
		l = strcspn(p, " \t\r\n");
		if (l && l < sizeof(got)) {
			memcpy(got, p, l);
			got[l] = 0;
			aim_kmod_name_norm(got, got, sizeof(got));
			if (!strcmp(got, want))
				return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

struct texts {
	struct aim_buf order, dep, conf;
	void *depbin;
	size_t depbin_len;
};

static void texts_free(struct texts *t)
{
	aim_buf_free(&t->order);
	aim_buf_free(&t->dep);
	aim_buf_free(&t->conf);
	free(t->depbin);
}

static int build_texts(const struct aim_initrd_archive *a, const struct aim_initrd_add *add,
		       const char *moddir, struct texts *t)
{
	_cleanup_free_ struct aim_kmod_dep *img = NULL, *own = NULL;
	_cleanup_free_ char *dep_path = NULL;
	size_t nimg = 0, nown = 0;
	int r;

	r = orig_text(a, "scripts/local-bottom/ORDER", &t->order);
	if (r < 0)
		return r;
	if (!has_line_starting((const char *)t->order.p, OUR_SCRIPT " ")) {
		/* initramfs-tools' cache_run_scripts() format, byte for byte */
		r = aim_buf_str(&t->order, OUR_SCRIPT " \"$@\"\n"
					"[ -e /conf/param.conf ] && . /conf/param.conf\n");
		if (r < 0)
			return r;
	}

	r = orig_text(a, "conf/modules", &t->conf);
	for (const char *const *l = add->load; r == 0 && l && *l; l++)
		if (!conf_modules_has((const char *)t->conf.p, *l)) {
			r = aim_buf_str(&t->conf, *l);
			if (r == 0)
				r = aim_buf_str(&t->conf, "\n");
		}
	if (r < 0)
		return r;

	if (!add->n_modules)
		return 0;
	if (asprintf(&dep_path, "%s/modules.dep", moddir) < 0)
		return -ENOMEM;
	r = orig_text(a, dep_path, &t->dep);
	if (r == 0)
		r = aim_kmod_dep_parse((const char *)t->dep.p, &own, &nown);
	if (r == 0)
		r = aim_kmod_dep_parse(add->modules_dep, &img, &nimg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < add->n_modules; i++) {
		const char *path = add->modules[i].path;
		const struct aim_kmod_dep *d = aim_kmod_dep_by_path(img, nimg, path, strlen(path));
		const char *p, *end;

		if (!d)
			return aim_error_set(-EINVAL, "module %s has no line in the image's "
						      "modules.dep", path);
		/* every dependency must be added too or already be in the initramfs */
		for (p = d->line + d->path_len + 1, end = d->line + d->len; p < end;) {
			size_t l;
			bool found = false;

			p += strspn(p, " \t");
			l = strcspn(p, " \t\r\n");
			if (!l || p >= end)
				break;
			for (size_t j = 0; j < add->n_modules && !found; j++)
				found = strlen(add->modules[j].path) == l &&
					!memcmp(add->modules[j].path, p, l);
			if (!found && !aim_kmod_dep_by_path(own, nown, p, l))
				return aim_error_set(-EINVAL, "module %s needs %.*s, which is "
							      "neither added nor in the "
							      "initramfs", path, (int)l, p);
			p += l;
		}
		if (aim_kmod_dep_by_path(own, nown, path, strlen(path)))
			continue;
		r = aim_buf_put(&t->dep, d->line, d->len);
		if (r == 0)
			r = aim_buf_str(&t->dep, "\n");
		if (r < 0)
			return r;
	}
	return aim_kmod_depbin((const char *)t->dep.p, &t->depbin, &t->depbin_len);
}

static int build_cpio(const struct aim_initrd_archive *a, const struct aim_initrd_add *add,
		      struct aim_cpio_writer *w)
{
	_cleanup_free_ char *moddir = NULL;
	struct texts t = { 0 };
	struct addfile f[8 + AIM_INITRD_FILES_MAX + 1] = { 0 };
	_cleanup_free_ struct addfile *mods = NULL;
	struct aim_strv dirs = { 0 };
	size_t nf = 0;
	int r;

	if (asprintf(&moddir, "lib/modules/%s", add->kver) < 0)
		return -ENOMEM;
	r = build_texts(a, add, moddir, &t);
	if (r < 0)
		goto out;
	mods = calloc(add->n_modules + 1, sizeof(*mods));
	if (!mods) {
		r = -ENOMEM;
		goto out;
	}
	r = plan_file(a, &f[nf++], "sbin/aim-boot", 0755, add->aim_boot, add->aim_boot_len);
	if (r == 0)
		r = plan_file(a, &f[nf++], "scripts/local-bottom/armimmutable", 0755,
			      add->local_bottom, add->local_bottom_len);
	if (r == 0)
		r = plan_file(a, &f[nf++], "scripts/local-bottom/ORDER", 0644, t.order.p,
			      t.order.len);
	if (r == 0 && t.conf.len)
		r = plan_file(a, &f[nf++], "conf/modules", 0644, t.conf.p, t.conf.len);
	for (size_t i = 0; r == 0 && i < add->n_files; i++)
		r = plan_file(a, &f[nf++], add->files[i].path, 0644, add->files[i].data,
			      add->files[i].len);
	for (size_t i = 0; r == 0 && i < add->n_modules; i++) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s/%s", moddir, add->modules[i].path) < 0)
			r = -ENOMEM;
		else
			r = plan_file(a, &mods[i], p, 0644, add->modules[i].data,
				      add->modules[i].len);
	}
	if (r == 0 && add->n_modules) {
		_cleanup_free_ char *dp = NULL, *bp = NULL;

		if (asprintf(&dp, "%s/modules.dep", moddir) < 0 ||
		    asprintf(&bp, "%s/modules.dep.bin", moddir) < 0)
			r = -ENOMEM;
		if (r == 0)
			r = plan_file(a, &f[nf++], dp, 0644, t.dep.p, t.dep.len);
		if (r == 0)
			r = plan_file(a, &f[nf++], bp, 0644, t.depbin, t.depbin_len);
	}
	if (r < 0)
		goto out;

	dirs.v = calloc(1, sizeof(char *));
	if (!dirs.v) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; r == 0 && i < nf; i++)
		r = add_dirs(a, &dirs, f[i].path);
	for (size_t i = 0; r == 0 && i < add->n_modules; i++)
		r = add_dirs(a, &dirs, mods[i].path);
	if (r < 0)
		goto out;
	qsort(dirs.v, dirs.n, sizeof(char *), str_cmp);
	for (size_t i = 0; r == 0 && i < dirs.n; i++)
		r = aim_cpio_add(w, dirs.v[i], S_IFDIR | 0755, NULL, 0);
	for (size_t i = 0; r == 0 && i < nf; i++)
		r = aim_cpio_add(w, f[i].path, f[i].mode, f[i].data, f[i].len);
	for (size_t i = 0; r == 0 && i < add->n_modules; i++)
		r = aim_cpio_add(w, mods[i].path, mods[i].mode, mods[i].data, mods[i].len);
	if (r == 0)
		r = aim_cpio_finish(w);
out:
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		free(f[i].path);
	for (size_t i = 0; mods && i < add->n_modules; i++)
		free(mods[i].path);
	aim_strv_free(dirs.v);
	texts_free(&t);
	return r;
}

/* ---- the output: a file or a buffer ---- */

struct sink {
	int fd;
	struct aim_buf *b;
	uint64_t len;
};

static int sink_put(struct sink *k, const void *p, size_t n)
{
	k->len += n;
	if (k->b)
		return aim_buf_put(k->b, p, n);
	return aim_write_full(k->fd, p, n);
}

/* Checks a uImage header (and, streaming, its data CRC); *data_len: payload bytes. */
static int check_uimage(const struct aim_initrd_src *s, uint8_t h[UIMAGE_HDR], uint32_t *data_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t c[UIMAGE_HDR];
	uint32_t size, crc = 0;
	int r;

	if (s->size < UIMAGE_HDR)
		return aim_error_set(-EBADMSG, "uImage truncated: %llu bytes, header needs 64",
				     (unsigned long long)s->size);
	r = aim_initrd_src_read(s, h, UIMAGE_HDR, 0);
	if (r < 0)
		return r;
	memcpy(c, h, UIMAGE_HDR);
	memset(c + 4, 0, 4);
	if (crc32_more(0, c, UIMAGE_HDR) != aim_get_be32(h + 4))
		return aim_error_set(-EBADMSG, "uImage header CRC mismatch (%08x stored, %08x "
				     "computed)", aim_get_be32(h + 4), crc32_more(0, c, UIMAGE_HDR));
	size = aim_get_be32(h + 12);
	if (size > s->size - UIMAGE_HDR)
		return aim_error_set(-EBADMSG, "uImage truncated: header says %u data bytes, "
				     "%llu present", size,
				     (unsigned long long)(s->size - UIMAGE_HDR));
	buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	for (uint32_t off = 0; off < size;) {
		uint32_t n = MIN(size - off, CHUNK);

		r = aim_initrd_src_read(s, buf, n, UIMAGE_HDR + (uint64_t)off);
		if (r < 0)
			return r;
		crc = crc32_more(crc, buf, n);
		off += n;
	}
	if (crc != aim_get_be32(h + 24))
		return aim_error_set(-EBADMSG, "uImage data CRC mismatch (%08x stored, %08x "
				     "computed)", aim_get_be32(h + 24), crc);
	if (h[30] != IH_TYPE_RAMDISK)
		return aim_error_set(-EOPNOTSUPP, "uImage type %u is not a ramdisk (3)", h[30]);
	*data_len = size;
	return 0;
}

/* header (sizes and CRCs updated), original payload, zeros to a 4-byte boundary of the
 * payload (the kernel only looks for "0707" at aligned offsets), our archive */
static int write_out(const struct aim_initrd_src *s, uint8_t *h, uint64_t hdr, uint64_t plen,
		     const struct aim_buf *cpio, uint32_t mtime, struct sink *k)
{
	static const uint8_t zeros[4];
	_cleanup_free_ uint8_t *buf = NULL;
	size_t pad = ALIGN_UP(plen, 4) - plen;
	int r = 0;

	if (hdr) {
		uint64_t dlen = plen + pad + cpio->len;
		uint32_t crc = aim_get_be32(h + 24);

		if (dlen > UINT32_MAX)
			return aim_error_set(-EFBIG, "patched initramfs larger than 4 GiB");
		crc = crc32_more(crc, zeros, pad);
		crc = crc32_more(crc, cpio->p, cpio->len);
		aim_put_be32(h + 8, mtime); /* ih_time: ours, as the cpio entries' (delta.md) */
		aim_put_be32(h + 12, (uint32_t)dlen);
		aim_put_be32(h + 24, crc);
		memset(h + 4, 0, 4);
		aim_put_be32(h + 4, crc32_more(0, h, UIMAGE_HDR));
		r = sink_put(k, h, UIMAGE_HDR);
	}
	if (k->b && r == 0)
		r = aim_buf_reserve(k->b, hdr + plen + pad + cpio->len + 1);
	buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; r == 0 && off < plen;) {
		size_t n = (size_t)MIN(plen - off, (uint64_t)CHUNK);

		r = aim_initrd_src_read(s, buf, n, hdr + off);
		if (r == 0)
			r = sink_put(k, buf, n);
		off += n;
	}
	if (r == 0)
		r = sink_put(k, zeros, pad);
	if (r == 0)
		r = sink_put(k, cpio->p, cpio->len);
	return r;
}

/* Where the payload is: after a checked uImage header (h holds it), or the whole file. */
static int payload_of(const struct aim_initrd_src *s, uint8_t h[UIMAGE_HDR], uint64_t *hdr, uint64_t *plen)
{
	uint32_t size = 0;
	int r;

	aim_error_clear();
	*hdr = 0;
	*plen = s->size;
	if (s->size >= 4) {
		r = aim_initrd_src_read(s, h, 4, 0);
		if (r < 0)
			return r;
		if (aim_get_be32(h) == UIMAGE_MAGIC) {
			r = check_uimage(s, h, &size);
			if (r < 0)
				return r;
			*hdr = UIMAGE_HDR;
			*plen = size;
		}
	}
	if (!*plen)
		return aim_error_set(-EBADMSG, "initramfs is empty");
	return 0;
}

/* Our archive for the payload of s. */
static int build(const struct aim_initrd_src *s, const struct aim_initrd_add *add, struct aim_buf *ret)
{
	uint8_t h[UIMAGE_HDR];
	uint64_t plen, hdr;
	struct aim_initrd_archive a = { 0 };
	struct aim_cpio_writer w = { { 0 }, 0, add->mtime };
	int r;

	r = payload_of(s, h, &hdr, &plen);
	if (r == 0)
		r = aim_initrd_walk(s, hdr, plen, &a);
	if (r == 0)
		r = build_cpio(&a, add, &w);
	if (r == 0)
		aim_debug("initrd: %llu-byte payload, %zu entries read, archive of %zu bytes",
			  (unsigned long long)plen, a.n, w.b.len);
	aim_initrd_archive_free(&a);
	if (r < 0) {
		aim_buf_free(&w.b);
		return r;
	}
	*ret = w.b;
	return 0;
}

static int patch(const struct aim_initrd_src *s, const struct aim_initrd_add *add, struct sink *k)
{
	uint8_t h[UIMAGE_HDR];
	uint64_t plen, hdr;
	struct aim_buf cpio = { 0 };
	int r;

	r = build(s, add, &cpio);
	if (r == 0)
		r = payload_of(s, h, &hdr, &plen);
	if (r == 0)
		r = write_out(s, h, hdr, plen, &cpio, add->mtime, k);
	aim_buf_free(&cpio);
	return r;
}

static int check_add(const struct aim_initrd_add *add)
{
	if (!add || !add->kver || !*add->kver || strchr(add->kver, '/') || !add->aim_boot ||
	    !add->local_bottom || (add->n_modules && (!add->modules || !add->modules_dep)) ||
	    add->n_files > AIM_INITRD_FILES_MAX || (add->n_files && !add->files))
		return aim_error_set(-EINVAL, "initrd patch: missing kver, aim-boot, script or "
				     "modules.dep, or too many files");
	return 0;
}

int aim_initrd_patch(const void *in, size_t in_len, const struct aim_initrd_add *add, void **ret,
		     size_t *ret_len)
{
	struct aim_initrd_src s = { -1, in, in_len };
	struct aim_buf out = { 0 };
	struct sink k = { -1, &out, 0 };
	int r;

	if (!in || !ret || !ret_len)
		return aim_error_set(-EINVAL, "initrd patch: missing kver, aim-boot, script or "
				     "modules.dep");
	r = check_add(add);
	if (r == 0)
		r = patch(&s, add, &k);
	if (r < 0) {
		aim_buf_free(&out);
		return r;
	}
	*ret = out.p;
	*ret_len = out.len;
	return 0;
}

static int src_fd(int fd, struct aim_initrd_src *s)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*s = (struct aim_initrd_src){ fd, NULL, (uint64_t)st.st_size };
	return 0;
}

int aim_initrd_patch_fd(int in_fd, int out_fd, const struct aim_initrd_add *add,
			uint64_t *ret_len)
{
	struct aim_initrd_src s = { -1, NULL, 0 };
	struct sink k = { out_fd, NULL, 0 };
	int r = check_add(add);

	if (r == 0)
		r = src_fd(in_fd, &s);
	if (r == 0)
		r = patch(&s, add, &k);
	if (r == 0 && ret_len)
		*ret_len = k.len;
	return r;
}

int aim_initrd_archive_fd(int in_fd, const struct aim_initrd_add *add, struct aim_buf *ret)
{
	struct aim_initrd_src s = { -1, NULL, 0 };
	int r = check_add(add);

	if (r == 0)
		r = src_fd(in_fd, &s);
	if (r == 0)
		r = build(&s, add, ret);
	return r;
}

int aim_initrd_append_fd(int in_fd, const struct aim_buf *archive, uint32_t mtime, int out_fd)
{
	uint8_t h[UIMAGE_HDR];
	uint64_t plen, hdr;
	struct aim_initrd_src s = { -1, NULL, 0 };
	struct sink k = { out_fd, NULL, 0 };
	int r = src_fd(in_fd, &s);

	if (r == 0)
		r = payload_of(&s, h, &hdr, &plen);
	if (r == 0)
		r = write_out(&s, h, hdr, plen, archive, mtime, &k);
	return r;
}

int aim_initrd_payload_fd(int fd, uint64_t *off, uint64_t *len)
{
	uint8_t h[UIMAGE_HDR];
	struct aim_initrd_src s = { -1, NULL, 0 };
	int r = src_fd(fd, &s);

	*off = 0;
	*len = s.size;
	if (r < 0)
		return r;
	if (s.size >= UIMAGE_HDR && (r = aim_initrd_src_read(&s, h, UIMAGE_HDR, 0)) == 0 &&
	    aim_get_be32(h) == UIMAGE_MAGIC && aim_get_be32(h + 12) <= s.size - UIMAGE_HDR) {
		*off = UIMAGE_HDR;
		*len = aim_get_be32(h + 12);
	}
	return r;
}
