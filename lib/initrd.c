// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Patch an existing initramfs by appending a newc cpio archive (see initrd.h and
 * docs/initrd.md). Reading: the original payload is streamed the way the kernel's
 * init/initramfs.c walks it (zero padding, uncompressed newc at 4-aligned offsets,
 * gzip/zstd/xz members, decoded by decomp.c and parsed by cpio.c), keeping only the
 * entry list, symlink targets and the few files that are extended rather than replaced
 * (ORDER, modules.dep, /conf/modules). Writing: every added path is first resolved
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
#include "decomp.h"
#include "kmod.h"

#define UIMAGE_MAGIC 0x27051956u
#define UIMAGE_HDR 64
#define IH_TYPE_RAMDISK 3
#define MAX_UNPACKED ((uint64_t)1 << 30)
#define MAX_SYMLINKS 40
#define MAX_KEPT (16u << 20)
#define CHUNK (1u << 20)
#define OUR_SCRIPT "/scripts/local-bottom/armimmutable"

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

/* ---- the input: a file or a buffer ---- */

struct src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

static int src_read(const struct src *s, void *buf, size_t len, uint64_t off)
{
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	return aim_pread_full(s->fd, buf, len, off);
}

/* ---- what is kept of the original archive ---- */

struct entry {
	char *name; /* normalised: no leading "./" or "/", "" for the root */
	uint32_t mode;
	uint8_t *data; /* symlink targets and the files we extend; else NULL */
	size_t size;
};

struct archive {
	struct entry *e;
	size_t n, cap;
};

static void archive_free(struct archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->e[i].name);
		free(a->e[i].data);
	}
	free(a->e);
}

static const char *norm_name(const char *s)
{
	for (;;) {
		if (s[0] == '/')
			s++;
		else if (s[0] == '.' && s[1] == '/')
			s += 2;
		else if (s[0] == '.' && s[1] == 0)
			s++;
		else
			return s;
	}
}

/* Data worth keeping: symlink targets, and the files build_texts() extends. */
static int want_cb(void *ud, const char *name, uint32_t mode, uint32_t size)
{
	const char *b = strrchr(name, '/');

	(void)ud;
	b = b ? b + 1 : name;
	if (S_ISLNK(mode))
		return size <= 4096;
	return S_ISREG(mode) && size <= MAX_KEPT &&
	       (!strcmp(b, "ORDER") || !strcmp(b, "modules") || !strcmp(b, "modules.dep"));
}

static int entry_cb(void *ud, const char *name, uint32_t mode, const uint8_t *data,
		    uint32_t size)
{
	struct archive *a = ud;
	struct entry *e;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;

		e = realloc(a->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		a->e = e;
		a->cap = cap;
	}
	e = &a->e[a->n];
	*e = (struct entry){ strdup(norm_name(name)), mode, NULL, size };
	if (!e->name)
		return -ENOMEM;
	if (data) {
		e->data = malloc((size_t)size + 1);
		if (!e->data) {
			free(e->name);
			return -ENOMEM;
		}
		memcpy(e->data, data, size);
		e->data[size] = 0;
	}
	a->n++;
	return 0;
}

/* ---- walking the payload ---- */

/* A window over payload bytes [off, off + len) of src (from base on). */
struct walker {
	const struct src *s;
	uint64_t base, plen; /* payload start in src and length */
	uint64_t pos;	     /* payload offset of the next byte */
	uint8_t *buf;
	size_t off, len;     /* buf[off..len) are payload bytes from pos on */
	uint8_t *out;
	struct archive *a;
};

/* At least min(need, rest of the payload) bytes at buf + off. */
static int fill(struct walker *w, size_t need)
{
	size_t have = w->len - w->off, n;
	uint64_t left = w->plen - w->pos - have;

	if (have >= need || !left)
		return 0;
	memmove(w->buf, w->buf + w->off, have);
	w->off = 0;
	w->len = have;
	n = (size_t)MIN((uint64_t)(CHUNK - have), left);
	w->len += n;
	return src_read(w->s, w->buf + have, n, w->base + w->pos + have);
}

static void advance(struct walker *w, size_t n)
{
	w->off += n;
	w->pos += n;
}

static int walk_cpio(struct walker *w)
{
	struct aim_cpio_reader rd = {
		.want = want_cb, .entry = entry_cb, .ud = w->a, .where = "initramfs", .pos = w->pos
	};
	int r = 0;

	while (r == 0) {
		size_t used;

		r = fill(w, CHUNK);
		if (r < 0)
			break;
		if (w->off == w->len) {
			r = aim_cpio_end(&rd);
			break;
		}
		r = aim_cpio_feed(&rd, w->buf + w->off, w->len - w->off, &used);
		advance(w, used);
	}
	aim_cpio_reader_free(&rd);
	return r < 0 ? r : 0;
}

static int walk_member(struct walker *w, enum aim_decomp_format f)
{
	const char *what = aim_decomp_name(f);
	struct aim_cpio_reader rd = {
		.want = want_cb, .entry = entry_cb, .ud = w->a, .where = what, .multi = true
	};
	struct aim_decomp *d = NULL;
	uint64_t total = 0;
	int r, dr = 0;

	r = aim_decomp_new(f, 0, 1, "initramfs ", &d);
	while (r == 0 && dr == 0) {
		struct aim_decomp_io io;
		size_t used;

		r = fill(w, CHUNK);
		if (r < 0)
			break;
		io = (struct aim_decomp_io){ w->buf + w->off, w->len - w->off, 0, w->out, CHUNK, 0,
					     w->pos + (w->len - w->off) == w->plen };
		dr = aim_decomp_run(d, &io);
		advance(w, io.in_pos);
		if (dr < 0) {
			r = dr;
			break;
		}
		total += io.out_pos;
		if (total > MAX_UNPACKED) {
			r = aim_error_set(-EBADMSG, "initramfs member unpacks to more than %u MiB",
					  (unsigned)(MAX_UNPACKED >> 20));
			break;
		}
		/* Inside a member: archives and zero padding only (the kernel says "junk at
		 * the end of compressed archive" otherwise). */
		r = aim_cpio_feed(&rd, w->out, io.out_pos, &used);
	}
	if (r == 0)
		r = aim_cpio_end(&rd);
	aim_cpio_reader_free(&rd);
	aim_decomp_free(d);
	return r;
}

/* Walks an initramfs the way the kernel's unpack_to_rootfs() does. */
static int walk(const struct src *s, uint64_t base, uint64_t plen, struct archive *a)
{
	struct walker w = { s, base, plen, 0, malloc(CHUNK), 0, 0, malloc(CHUNK), a };
	int r = 0;

	if (!w.buf || !w.out)
		r = -ENOMEM;
	while (r == 0 && w.pos < plen) {
		const uint8_t *p;
		size_t avail;
		const char *bad;
		int f;

		r = fill(&w, 6);
		if (r < 0)
			break;
		p = w.buf + w.off;
		avail = w.len - w.off;
		if (p[0] == 0) {
			advance(&w, 1);
			continue;
		}
		if (avail >= 6 && !memcmp(p, "07070", 5) && !(w.pos & 3)) {
			r = walk_cpio(&w);
			continue;
		}
		f = aim_decomp_detect(p, avail);
		if (f == AIM_DECOMP_ZSTD && memcmp(p, "\x28\xb5\x2f\xfd", 4))
			f = -1; /* the kernel reads no skippable frame first */
		if (f >= 0) {
			r = walk_member(&w, (enum aim_decomp_format)f);
			continue;
		}
		bad = aim_decomp_unsupported(p, avail);
		if (bad)
			r = aim_error_set(-EOPNOTSUPP, "initramfs member at offset %llu is "
					  "%s-compressed: not supported (gzip, zstd, xz or none)",
					  (unsigned long long)w.pos, bad);
		else
			r = aim_error_set(-EBADMSG, "initramfs: unrecognised data at offset %llu "
					  "(not cpio, gzip, zstd or xz)", (unsigned long long)w.pos);
	}
	free(w.buf);
	free(w.out);
	return r;
}

static const struct entry *lookup(const struct archive *a, const char *name)
{
	for (size_t i = a->n; i-- > 0;)
		if (!strcmp(a->e[i].name, name))
			return &a->e[i];
	return NULL;
}

/* Resolves path through the archive's symlinks (every component, the last one too).
 * Components that do not exist are kept literally. *ret: malloc'd canonical path. */
static int resolve(const struct archive *a, const char *path, char **ret)
{
	_cleanup_free_ char *rest = strdup(path), *cur = calloc(1, 1);
	int links = 0;

	if (!rest || !cur)
		return -ENOMEM;
	for (;;) {
		char *s = rest, *comp, *cand;
		const struct entry *e;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		comp = s;
		s += strcspn(s, "/");
		if (*s)
			*s++ = 0;
		if (!strcmp(comp, ".")) {
			memmove(rest, s, strlen(s) + 1);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *sl = strrchr(cur, '/');

			if (sl)
				*sl = 0;
			else
				cur[0] = 0;
			memmove(rest, s, strlen(s) + 1);
			continue;
		}
		if (asprintf(&cand, "%s%s%s", cur, *cur ? "/" : "", comp) < 0)
			return -ENOMEM;
		e = lookup(a, cand);
		if (e && S_ISLNK(e->mode)) {
			char *nrest;

			if (++links > MAX_SYMLINKS) {
				free(cand);
				return aim_error_set(-ELOOP, "initramfs: too many symlinks in %s",
						     path);
			}
			if (asprintf(&nrest, "%.*s/%s", (int)e->size, e->data ? (const char *)e->data : "", s) <
			    0) {
				free(cand);
				return -ENOMEM;
			}
			if (e->size && e->data && e->data[0] == '/')
				cur[0] = 0;
			free(cand);
			free(rest);
			rest = nrest;
		} else {
			free(cur);
			cur = cand;
			memmove(rest, s, strlen(s) + 1);
		}
	}
	*ret = TAKE_PTR(cur);
	return 0;
}

/* The regular file at path (resolved), or NULL. */
static const struct entry *find_file(const struct archive *a, const char *path)
{
	_cleanup_free_ char *c = NULL;
	const struct entry *e;

	if (resolve(a, path, &c) < 0)
		return NULL;
	e = lookup(a, c);
	return e && S_ISREG(e->mode) ? e : NULL;
}

/* ---- the patch ---- */

struct addfile {
	char *path; /* canonical (resolved) */
	uint32_t mode;
	const void *data;
	size_t len;
};

static int plan_file(const struct archive *a, struct addfile *f, const char *path, uint32_t mode,
		     const void *data, size_t len)
{
	int r = resolve(a, path, &f->path);

	if (r < 0)
		return r;
	f->mode = S_IFREG | mode;
	f->data = data;
	f->len = len;
	return 0;
}

static int add_dirs(const struct archive *a, struct aim_strv *dirs, const char *path)
{
	const char *s = path;

	while ((s = strchr(s, '/'))) {
		const struct entry *e;
		size_t l = (size_t)(s - path);
		_cleanup_free_ char *pre = strndup(path, l);

		if (!pre)
			return -ENOMEM;
		e = lookup(a, pre);
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
static int orig_text(const struct archive *a, const char *path, struct aim_buf *b)
{
	const struct entry *e = find_file(a, path);
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

static int build_texts(const struct archive *a, const struct aim_initrd_add *add,
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

static int build_cpio(const struct archive *a, const struct aim_initrd_add *add,
		      struct aim_cpio_writer *w)
{
	_cleanup_free_ char *moddir = NULL;
	struct texts t = { 0 };
	struct addfile f[8 + 1] = { 0 };
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
static int check_uimage(const struct src *s, uint8_t h[UIMAGE_HDR], uint32_t *data_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t c[UIMAGE_HDR];
	uint32_t size, crc = 0;
	int r;

	if (s->size < UIMAGE_HDR)
		return aim_error_set(-EBADMSG, "uImage truncated: %llu bytes, header needs 64",
				     (unsigned long long)s->size);
	r = src_read(s, h, UIMAGE_HDR, 0);
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

		r = src_read(s, buf, n, UIMAGE_HDR + (uint64_t)off);
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
static int write_out(const struct src *s, uint8_t *h, uint64_t hdr, uint64_t plen,
		     const struct aim_buf *cpio, struct sink *k)
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

		r = src_read(s, buf, n, hdr + off);
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

static int patch(const struct src *s, const struct aim_initrd_add *add, struct sink *k)
{
	uint8_t h[UIMAGE_HDR];
	uint32_t size = 0;
	uint64_t plen = s->size, hdr = 0;
	struct archive a = { 0 };
	struct aim_cpio_writer w = { { 0 }, 0, add->mtime };
	int r;

	aim_error_clear();
	if (s->size >= 4) {
		r = src_read(s, h, 4, 0);
		if (r < 0)
			return r;
		if (aim_get_be32(h) == UIMAGE_MAGIC) {
			r = check_uimage(s, h, &size);
			if (r < 0)
				return r;
			hdr = UIMAGE_HDR;
			plen = size;
		}
	}
	if (!plen)
		return aim_error_set(-EBADMSG, "initramfs is empty");
	r = walk(s, hdr, plen, &a);
	if (r == 0)
		r = build_cpio(&a, add, &w);
	if (r == 0)
		r = write_out(s, h, hdr, plen, &w.b, k);
	if (r == 0)
		aim_debug("initrd: %llu-byte payload, %zu entries read, archive of %zu bytes",
			  (unsigned long long)plen, a.n, w.b.len);
	aim_buf_free(&w.b);
	archive_free(&a);
	return r;
}

static int check_add(const struct aim_initrd_add *add)
{
	if (!add || !add->kver || !*add->kver || strchr(add->kver, '/') || !add->aim_boot ||
	    !add->local_bottom || (add->n_modules && (!add->modules || !add->modules_dep)))
		return aim_error_set(-EINVAL, "initrd patch: missing kver, aim-boot, script or "
				     "modules.dep");
	return 0;
}

int aim_initrd_patch(const void *in, size_t in_len, const struct aim_initrd_add *add, void **ret,
		     size_t *ret_len)
{
	struct src s = { -1, in, in_len };
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

int aim_initrd_patch_fd(int in_fd, int out_fd, const struct aim_initrd_add *add,
			uint64_t *ret_len)
{
	struct stat st;
	struct src s = { in_fd, NULL, 0 };
	struct sink k = { out_fd, NULL, 0 };
	int r = check_add(add);

	if (r < 0)
		return r;
	if (fstat(in_fd, &st) < 0)
		return -errno;
	s.size = (uint64_t)st.st_size;
	r = patch(&s, add, &k);
	if (r == 0 && ret_len)
		*ret_len = k.len;
	return r;
}
