// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading an initramfs payload (see initrd_read.h and docs/initrd.md section 3). */
#include "initrd_read.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "cpio.h"
#include "decomp.h"

#define MAX_UNPACKED ((uint64_t)1 << 30)
#define MAX_SYMLINKS 40
#define MAX_KEPT (16u << 20)
#define CHUNK (1u << 20)

/* ---- the input: a file or a buffer ---- */


int aim_initrd_src_read(const struct aim_initrd_src *s, void *buf, size_t len, uint64_t off)
{
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	return aim_pread_full(s->fd, buf, len, off);
}

/* ---- what is kept of the original archive ---- */



void aim_initrd_archive_free(struct aim_initrd_archive *a)
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
	struct aim_initrd_archive *a = ud;
	struct aim_initrd_entry *e;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;

		e = realloc(a->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		a->e = e;
		a->cap = cap;
	}
	e = &a->e[a->n];
	*e = (struct aim_initrd_entry){ strdup(norm_name(name)), mode, NULL, size };
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
	const struct aim_initrd_src *s;
	uint64_t base, plen; /* payload start in src and length */
	uint64_t pos;	     /* payload offset of the next byte */
	uint8_t *buf;
	size_t off, len;     /* buf[off..len) are payload bytes from pos on */
	uint8_t *out;
	struct aim_initrd_archive *a;
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
	return aim_initrd_src_read(w->s, w->buf + have, n, w->base + w->pos + have);
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
int aim_initrd_walk(const struct aim_initrd_src *s, uint64_t base, uint64_t plen, struct aim_initrd_archive *a)
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

const struct aim_initrd_entry *aim_initrd_lookup(const struct aim_initrd_archive *a, const char *name)
{
	for (size_t i = a->n; i-- > 0;)
		if (!strcmp(a->e[i].name, name))
			return &a->e[i];
	return NULL;
}

/* Resolves path through the archive's symlinks (every component, the last one too).
 * Components that do not exist are kept literally. *ret: malloc'd canonical path. */
int aim_initrd_resolve(const struct aim_initrd_archive *a, const char *path, char **ret)
{
	_cleanup_free_ char *rest = strdup(path), *cur = calloc(1, 1);
	int links = 0;

	if (!rest || !cur)
		return -ENOMEM;
	for (;;) {
		char *s = rest, *comp, *cand;
		const struct aim_initrd_entry *e;

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
		e = aim_initrd_lookup(a, cand);
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
const struct aim_initrd_entry *aim_initrd_find_file(const struct aim_initrd_archive *a, const char *path)
{
	_cleanup_free_ char *c = NULL;
	const struct aim_initrd_entry *e;

	if (aim_initrd_resolve(a, path, &c) < 0)
		return NULL;
	e = aim_initrd_lookup(a, c);
	return e && S_ISREG(e->mode) ? e : NULL;
}
