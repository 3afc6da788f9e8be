// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Patch an existing initramfs by appending a newc cpio archive (see initrd.h and
 * docs/initrd.md). Reading: the original payload is walked the way the kernel's
 * init/initramfs.c does (zero padding, uncompressed newc at 4-aligned offsets,
 * gzip/zstd/xz members) so that ORDER, modules.dep and /conf/modules can be extended
 * rather than replaced. Writing: every added path is first resolved through the
 * original archive's symlinks (Debian's merged-usr initramfs has lib -> usr/lib,
 * sbin -> usr/sbin): a directory entry for "lib" would make the kernel replace that
 * symlink with an empty directory and break every binary in the initramfs.
 */
#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "initrd.h"
#include "base/log.h"
#include "base/macro.h"

#define UIMAGE_MAGIC 0x27051956u
#define UIMAGE_HDR 64
#define IH_TYPE_RAMDISK 3
#define MAX_UNPACKED ((size_t)1 << 30)
#define MAX_SYMLINKS 40
#define CPIO_HDR 110
#define OUR_SCRIPT "/scripts/local-bottom/armimmutable"

/* ---- growable buffer ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const void *d, size_t n)
{
	int r = buf_reserve(b, n + 1);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = 0; /* text users get a terminated string for free */
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

static int buf_zero(struct buf *b, size_t n)
{
	int r = buf_reserve(b, n + 1);

	if (r < 0)
		return r;
	memset(b->p + b->len, 0, n + 1);
	b->len += n;
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t crc32_buf(const uint8_t *p, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		c = crc32(c, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)c;
}

/* ---- reading the original archive ---- */

struct entry {
	const char *name; /* normalised: no leading "./" or "/", "" for the root */
	uint32_t mode;
	const uint8_t *data;
	size_t size;
};

struct archive {
	struct entry *e;
	size_t n, cap;
	uint8_t **bufs; /* decompressed members, owned */
	size_t nbufs;
};

static void archive_free(struct archive *a)
{
	for (size_t i = 0; i < a->nbufs; i++)
		free(a->bufs[i]);
	free(a->bufs);
	free(a->e);
}

static int hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EBADMSG;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return 0;
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

/* Parses newc entries from p[*pos] up to and including TRAILER!!!. origin is the offset
 * of p[0] in the kernel's header counter (alignment is checked against it). */
static int parse_cpio(struct archive *a, const uint8_t *p, size_t len, size_t *pos, size_t origin,
		      const char *where)
{
	for (;;) {
		size_t h = *pos, name_off, data_off, next;
		uint32_t f[13];
		const char *name;

		if (len - h < CPIO_HDR)
			return aim_error_set(-EBADMSG, "%s: cpio header at %zu truncated", where,
					     h);
		if (memcmp(p + h, "070701", 6) && memcmp(p + h, "070702", 6))
			return aim_error_set(-EBADMSG, "%s: no cpio magic at %zu (archive without "
						       "TRAILER!!!?)", where, h);
		if ((origin + h) & 3)
			return aim_error_set(-EBADMSG, "%s: cpio header at unaligned offset %zu",
					     where, h);
		for (int i = 0; i < 13; i++)
			if (hex8(p + h + 6 + 8 * i, &f[i]) < 0)
				return aim_error_set(-EBADMSG, "%s: bad hex in cpio header at %zu",
						     where, h);
		/* f: 0 ino 1 mode 2 uid 3 gid 4 nlink 5 mtime 6 filesize 7-10 dev 11 namesize */
		name_off = h + CPIO_HDR;
		if (f[11] == 0 || f[11] > len - name_off)
			return aim_error_set(-EBADMSG, "%s: cpio name at %zu truncated", where, h);
		name = (const char *)p + name_off;
		if (name[f[11] - 1] != 0)
			return aim_error_set(-EBADMSG, "%s: cpio name at %zu not terminated", where,
					     h);
		data_off = h + ALIGN_UP(CPIO_HDR + (size_t)f[11], 4);
		if (data_off > len || f[6] > len - data_off)
			return aim_error_set(-EBADMSG, "%s: cpio entry '%s' at %zu truncated",
					     where, name, h);
		next = ALIGN_UP(data_off + f[6], 4);
		*pos = MIN(next, len);
		if (!strcmp(name, "TRAILER!!!"))
			return 0;
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 256;
			struct entry *e = realloc(a->e, cap * sizeof(*e));

			if (!e)
				return -ENOMEM;
			a->e = e;
			a->cap = cap;
		}
		a->e[a->n++] = (struct entry){ norm_name(name), f[1], p + data_off, f[6] };
		if (*pos >= len)
			return aim_error_set(-EBADMSG, "%s: cpio archive ends without TRAILER!!!",
					     where);
	}
}

static int grow_out(uint8_t **out, size_t *cap, size_t used)
{
	size_t ncap;
	uint8_t *p;

	if (*cap >= MAX_UNPACKED)
		return aim_error_set(-EBADMSG, "initramfs member unpacks to more than %zu MiB",
				     MAX_UNPACKED >> 20);
	ncap = *cap ? MIN(*cap * 2, MAX_UNPACKED) : 1 << 20;
	(void)used;
	p = realloc(*out, ncap);
	if (!p)
		return -ENOMEM;
	*out = p;
	*cap = ncap;
	return 0;
}

static int unpack_gzip(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
		       size_t *consumed)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t cap = 0;
	z_stream s = { 0 };
	int r, zr;

	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)MIN(len, (size_t)UINT32_MAX);
	for (;;) {
		if (s.total_out == cap) {
			r = grow_out(&out, &cap, s.total_out);
			if (r < 0)
				goto fail;
		}
		s.next_out = out + s.total_out;
		s.avail_out = (uInt)(cap - s.total_out);
		zr = inflate(&s, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK)
			continue;
		if (zr == Z_BUF_ERROR && s.avail_in == 0)
			r = aim_error_set(-EBADMSG, "initramfs gzip member truncated");
		else
			r = aim_error_set(-EBADMSG, "initramfs gzip member corrupt: %s",
					  s.msg ? s.msg : "inflate failed");
		goto fail;
	}
	*ret_len = s.total_out;
	*consumed = s.total_in;
	*ret = TAKE_PTR(out);
	inflateEnd(&s);
	return 0;
fail:
	inflateEnd(&s);
	return r;
}

static int unpack_zstd(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
		       size_t *consumed)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t cap = 0, rz;
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob = { NULL, 0, 0 };
	int r;

	if (!d)
		return -ENOMEM;
	for (;;) {
		if (ob.pos == cap) {
			r = grow_out(&out, &cap, ob.pos);
			if (r < 0)
				goto fail;
		}
		ob.dst = out;
		ob.size = cap;
		rz = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(rz)) {
			r = aim_error_set(-EBADMSG, "initramfs zstd frame corrupt: %s",
					  ZSTD_getErrorName(rz));
			goto fail;
		}
		if (rz == 0)
			break;
		if (ib.pos == ib.size && ob.pos < cap) {
			r = aim_error_set(-EBADMSG, "initramfs zstd frame truncated");
			goto fail;
		}
	}
	*ret_len = ob.pos;
	*consumed = ib.pos;
	*ret = TAKE_PTR(out);
	ZSTD_freeDCtx(d);
	return 0;
fail:
	ZSTD_freeDCtx(d);
	return r;
}

static int unpack_xz(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
		     size_t *consumed)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t cap = 0;
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret lr;
	int r;

	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return -ENOMEM;
	s.next_in = in;
	s.avail_in = len;
	for (;;) {
		if (s.total_out == cap) {
			r = grow_out(&out, &cap, s.total_out);
			if (r < 0)
				goto fail;
		}
		s.next_out = out + s.total_out;
		s.avail_out = cap - s.total_out;
		lr = lzma_code(&s, LZMA_FINISH);
		if (lr == LZMA_STREAM_END)
			break;
		if (lr == LZMA_OK || (lr == LZMA_BUF_ERROR && s.avail_out == 0))
			continue;
		r = aim_error_set(-EBADMSG, "initramfs xz stream %s",
				  lr == LZMA_BUF_ERROR ? "truncated" : "corrupt");
		goto fail;
	}
	*ret_len = s.total_out;
	*consumed = s.total_in;
	*ret = TAKE_PTR(out);
	lzma_end(&s);
	return 0;
fail:
	lzma_end(&s);
	return r;
}

static const char *unsupported_method(const uint8_t *p, size_t len)
{
	if (len >= 4 && !memcmp(p, "\x02\x21\x4c\x18", 4))
		return "lz4 (legacy)";
	if (len >= 4 && !memcmp(p, "\x04\x22\x4d\x18", 4))
		return "lz4";
	if (len >= 3 && !memcmp(p, "BZh", 3))
		return "bzip2";
	if (len >= 4 && !memcmp(p, "\x89LZO", 4))
		return "lzo";
	if (len >= 3 && !memcmp(p, "\x5d\x00\x00", 3))
		return "lzma";
	return NULL;
}

/* Walks an initramfs the way the kernel's unpack_to_rootfs() does. */
static int walk(struct archive *a, const uint8_t *p, size_t len)
{
	size_t pos = 0;
	int r;

	while (pos < len) {
		int (*unpack)(const uint8_t *, size_t, uint8_t **, size_t *, size_t *) = NULL;
		const char *what = NULL, *bad;
		uint8_t *out = NULL, **bufs;
		size_t out_len = 0, used = 0, in = 0;

		if (p[pos] == 0) {
			pos++;
			continue;
		}
		if (len - pos >= 6 && !memcmp(p + pos, "07070", 5) && !(pos & 3)) {
			r = parse_cpio(a, p, len, &pos, 0, "initramfs");
			if (r < 0)
				return r;
			continue;
		}
		if (len - pos >= 2 && p[pos] == 0x1f && p[pos + 1] == 0x8b) {
			unpack = unpack_gzip;
			what = "gzip";
		} else if (len - pos >= 4 && !memcmp(p + pos, "\x28\xb5\x2f\xfd", 4)) {
			unpack = unpack_zstd;
			what = "zstd";
		} else if (len - pos >= 6 && !memcmp(p + pos, "\xfd" "7zXZ\0", 6)) {
			unpack = unpack_xz;
			what = "xz";
		}
		if (!unpack) {
			bad = unsupported_method(p + pos, len - pos);
			if (bad)
				return aim_error_set(-EOPNOTSUPP,
						     "initramfs member at offset %zu is "
						     "%s-compressed: not supported (gzip, zstd, "
						     "xz or none)", pos, bad);
			return aim_error_set(-EBADMSG, "initramfs: unrecognised data at offset %zu "
						       "(not cpio, gzip, zstd or xz)", pos);
		}
		r = unpack(p + pos, len - pos, &out, &out_len, &used);
		if (r < 0)
			return r;
		bufs = realloc(a->bufs, (a->nbufs + 1) * sizeof(*bufs));
		if (!bufs) {
			free(out);
			return -ENOMEM;
		}
		a->bufs = bufs;
		a->bufs[a->nbufs++] = out;
		/* Inside a member: archives and zero padding only (the kernel says "junk at
		 * the end of compressed archive" otherwise). */
		while (in < out_len) {
			if (out[in] == 0) {
				in++;
				continue;
			}
			r = parse_cpio(a, out, out_len, &in, 0, what);
			if (r < 0)
				return r;
		}
		pos += used;
	}
	return 0;
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
			if (asprintf(&nrest, "%.*s/%s", (int)e->size, (const char *)e->data, s) <
			    0) {
				free(cand);
				return -ENOMEM;
			}
			if (e->size && e->data[0] == '/')
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

/* ---- modules.dep ---- */

int aim_initrd_modname(const char *path, char *buf, size_t size)
{
	const char *b = strrchr(path, '/'), *ko;
	size_t n;

	b = b ? b + 1 : path;
	ko = strstr(b, ".ko");
	if (!ko || ko == b ||
	    (ko[3] && strcmp(ko + 3, ".xz") && strcmp(ko + 3, ".zst") && strcmp(ko + 3, ".gz")))
		return aim_error_set(-EINVAL, "'%s' is not a kernel module file name", path);
	n = (size_t)(ko - b);
	if (n + 1 > size)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++)
		buf[i] = b[i] == '-' ? '_' : b[i];
	buf[n] = 0;
	return 0;
}

static void name_norm(const char *in, char *buf, size_t size)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < size; i++)
		buf[i] = in[i] == '-' ? '_' : in[i];
	buf[i] = 0;
}

struct depline {
	const char *line; /* start of the line in the text */
	size_t len;	  /* without the newline */
	size_t path_len;  /* up to the ':' */
	char name[64];
};

/* Splits modules.dep text into lines with a "path:" (others are ignored). */
static int dep_parse(const char *text, struct depline **ret, size_t *ret_n)
{
	struct depline *v = NULL;
	size_t n = 0, cap = 0;
	const char *p = text ? text : "";

	while (*p) {
		const char *nl = strchr(p, '\n'), *colon;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		colon = memchr(p, ':', len);
		if (colon && colon > p) {
			struct depline d = { p, len, (size_t)(colon - p), "" };
			_cleanup_free_ char *path = strndup(p, d.path_len);

			if (!path) {
				free(v);
				return -ENOMEM;
			}
			if (aim_initrd_modname(path, d.name, sizeof(d.name)) == 0) {
				if (n == cap) {
					struct depline *nv;

					cap = cap ? cap * 2 : 64;
					nv = realloc(v, cap * sizeof(*v));
					if (!nv) {
						free(v);
						return -ENOMEM;
					}
					v = nv;
				}
				v[n++] = d;
			}
		}
		p += len + (nl ? 1 : 0);
	}
	aim_error_clear();
	*ret = v;
	*ret_n = n;
	return 0;
}

static const struct depline *dep_by_name(const struct depline *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static const struct depline *dep_by_path(const struct depline *v, size_t n, const char *path,
					 size_t plen)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].path_len == plen && !memcmp(v[i].line, path, plen))
			return &v[i];
	return NULL;
}

void aim_initrd_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

struct strv {
	char **v;
	size_t n;
};

static bool strv_has(const struct strv *s, const char *str, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && !memcmp(s->v[i], str, len))
			return true;
	return false;
}

static int strv_add(struct strv *s, const char *str, size_t len)
{
	char **v = realloc(s->v, (s->n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->n] = strndup(str, len);
	if (!v[s->n])
		return -ENOMEM;
	v[++s->n] = NULL;
	return 0;
}

#define MAX_DEP_DEPTH 64

static int deps_visit(const struct depline *v, size_t n, const struct depline *d, struct strv *out,
		      const struct depline **stack, int depth)
{
	const char *p = d->line + d->path_len + 1, *end = d->line + d->len;
	int r;

	if (strv_has(out, d->line, d->path_len))
		return 0;
	for (int i = 0; i < depth; i++)
		if (stack[i] == d)
			return aim_error_set(-ELOOP, "modules.dep: dependency cycle through %.*s",
					     (int)d->path_len, d->line);
	if (depth >= MAX_DEP_DEPTH)
		return aim_error_set(-ELOOP, "modules.dep: dependency chain too deep at %.*s",
				     (int)d->path_len, d->line);
	stack[depth] = d;
	while (p < end) {
		const struct depline *dd;
		size_t l;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		l = 0;
		while (p + l < end && p[l] != ' ' && p[l] != '\t' && p[l] != '\r')
			l++;
		if (!l)
			break;
		dd = dep_by_path(v, n, p, l);
		if (!dd)
			return aim_error_set(-ENOENT, "modules.dep: %.*s needs %.*s, which has no "
						      "line of its own", (int)d->path_len, d->line,
					     (int)l, p);
		r = deps_visit(v, n, dd, out, stack, depth + 1);
		if (r < 0)
			return r;
		p += l;
	}
	return strv_has(out, d->line, d->path_len) ? 0 : strv_add(out, d->line, d->path_len);
}

static bool builtin_has(const char *builtin, const char *name)
{
	const char *p = builtin;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *path = strndup(p, len);
		char nm[64];

		if (path && aim_initrd_modname(path, nm, sizeof(nm)) == 0 && !strcmp(nm, name))
			return true;
		p += len + (nl ? 1 : 0);
	}
	aim_error_clear();
	return false;
}

int aim_initrd_module_deps(const char *modules_dep, const char *modules_builtin,
			   const char *const *names, char ***ret)
{
	_cleanup_free_ struct depline *v = NULL;
	const struct depline *stack[MAX_DEP_DEPTH];
	struct strv out = { NULL, 0 };
	size_t n;
	int r;

	if (!modules_dep || !names || !ret)
		return aim_error_set(-EINVAL, "module_deps: missing modules.dep or names");
	r = dep_parse(modules_dep, &v, &n);
	if (r < 0)
		return r;
	out.v = calloc(1, sizeof(char *));
	if (!out.v)
		return -ENOMEM;
	for (const char *const *nm = names; *nm; nm++) {
		const struct depline *d;
		char name[64];

		name_norm(*nm, name, sizeof(name));
		d = dep_by_name(v, n, name);
		if (!d) {
			if (builtin_has(modules_builtin, name))
				continue;
			aim_initrd_strv_free(out.v);
			return aim_error_set(-ENOENT, "module %s is neither in modules.dep nor "
						      "built in (modules.builtin)", *nm);
		}
		r = deps_visit(v, n, d, &out, stack, 0);
		if (r < 0) {
			aim_initrd_strv_free(out.v);
			return r;
		}
	}
	*ret = out.v;
	return 0;
}

/* ---- modules.dep.bin (kmod's index format, as depmod writes it) ---- */

#define INDEX_MAGIC 0xB007F457u
#define INDEX_VERSION 0x00020001u
#define INDEX_NODE_PREFIX 0x80000000u
#define INDEX_NODE_VALUES 0x40000000u
#define INDEX_NODE_CHILDS 0x20000000u

struct kv {
	const char *key;
	const char *value;
	size_t vlen;
	uint32_t prio;
};

static int kv_cmp(const void *x, const void *y)
{
	const struct kv *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	return a->prio < b->prio ? -1 : a->prio > b->prio;
}

static int be32_put(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	put_be32(x, v);
	return buf_put(b, x, 4);
}

/* Writes the radix-trie node for kv[lo..hi) (sorted keys sharing key[0..d)), children
 * first as depmod does; returns the node offset with its flags in *off. */
static int trie_write(struct buf *b, const struct kv *kv, size_t lo, size_t hi, size_t d,
		      uint32_t *off)
{
	size_t plen = 0, vend = lo, i;
	uint32_t child[128] = { 0 };
	int first = 128, last = -1, r;
	uint32_t o;

	/* Longest common prefix from d, over all keys of the node. */
	for (;;) {
		char c = kv[lo].key[d + plen];

		if (!c)
			break;
		for (i = lo + 1; i < hi && kv[i].key[d + plen] == c; i++)
			;
		if (i < hi)
			break;
		plen++;
	}
	/* Keys ending here (several values of one key, sorted by priority). */
	while (vend < hi && !kv[vend].key[d + plen])
		vend++;
	for (i = vend; i < hi;) {
		unsigned char c = (unsigned char)kv[i].key[d + plen];
		size_t j = i;

		if (c >= 128)
			return aim_error_set(-EINVAL, "modules.dep.bin: non-ASCII key %s",
					     kv[i].key);
		while (j < hi && (unsigned char)kv[j].key[d + plen] == c)
			j++;
		r = trie_write(b, kv, i, j, d + plen + 1, &child[c]);
		if (r < 0)
			return r;
		if (first == 128)
			first = c;
		last = c;
		i = j;
	}
	o = (uint32_t)b->len;
	if (plen) {
		r = buf_put(b, kv[lo].key + d, plen);
		if (r < 0 || (r = buf_zero(b, 1)) < 0)
			return r;
		o |= INDEX_NODE_PREFIX;
	}
	if (last >= 0) {
		uint8_t fl[2] = { (uint8_t)first, (uint8_t)last };

		r = buf_put(b, fl, 2);
		for (int c = first; r == 0 && c <= last; c++)
			r = be32_put(b, child[c]);
		if (r < 0)
			return r;
		o |= INDEX_NODE_CHILDS;
	}
	if (vend > lo) {
		r = be32_put(b, (uint32_t)(vend - lo));
		for (i = lo; r == 0 && i < vend; i++) {
			r = be32_put(b, kv[i].prio);
			if (r == 0)
				r = buf_put(b, kv[i].value, kv[i].vlen);
			if (r == 0)
				r = buf_zero(b, 1);
		}
		if (r < 0)
			return r;
		o |= INDEX_NODE_VALUES;
	}
	*off = o;
	return 0;
}

int aim_initrd_depbin(const char *modules_dep, void **ret, size_t *ret_len)
{
	_cleanup_free_ struct depline *v = NULL;
	_cleanup_free_ struct kv *kv = NULL;
	struct buf b = { 0 };
	uint32_t root = 0;
	size_t n, m = 0;
	int r;

	r = dep_parse(modules_dep, &v, &n);
	if (r < 0)
		return r;
	kv = calloc(n + 1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		/* depmod keeps the first line of a module name (index_insert refuses
		 * duplicates of the same value; a different value is added). */
		for (size_t j = 0; j < m && !dup; j++)
			dup = !strcmp(kv[j].key, v[i].name) && kv[j].vlen == v[i].len &&
			      !memcmp(kv[j].value, v[i].line, v[i].len);
		if (!dup)
			kv[m++] = (struct kv){ v[i].name, v[i].line, v[i].len, (uint32_t)i };
	}
	qsort(kv, m, sizeof(*kv), kv_cmp);
	r = be32_put(&b, INDEX_MAGIC);
	if (r == 0)
		r = be32_put(&b, INDEX_VERSION);
	if (r == 0)
		r = be32_put(&b, 0);
	if (r == 0 && m)
		r = trie_write(&b, kv, 0, m, 0, &root);
	if (r == 0 && !m) {
		/* empty index: a root without prefix, children or values */
		root = (uint32_t)b.len;
		r = buf_zero(&b, 0);
	}
	if (r < 0) {
		free(b.p);
		return r;
	}
	put_be32(b.p + 8, root);
	*ret = b.p;
	*ret_len = b.len;
	return 0;
}

/* ---- cpio writer ---- */

struct cpio_w {
	struct buf b;
	uint32_t ino, mtime;
};

static int cpio_add(struct cpio_w *w, const char *name, uint32_t mode, const void *data,
		    size_t size)
{
	char hdr[CPIO_HDR + 1];
	size_t nlen = strlen(name) + 1;
	int r;

	if (size > UINT32_MAX)
		return aim_error_set(-EFBIG, "cpio: %s is larger than 4 GiB", name);
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ++w->ino, mode, 0,
		 0, S_ISDIR(mode) ? 2 : 1, w->mtime, (uint32_t)size, 0, 0, 0, 0, (uint32_t)nlen,
		 0);
	r = buf_put(&w->b, hdr, CPIO_HDR);
	if (r == 0)
		r = buf_put(&w->b, name, nlen);
	if (r == 0)
		r = buf_zero(&w->b, ALIGN_UP(w->b.len, 4) - w->b.len);
	if (r == 0)
		r = buf_put(&w->b, data, size);
	if (r == 0)
		r = buf_zero(&w->b, ALIGN_UP(w->b.len, 4) - w->b.len);
	return r;
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

static int add_dirs(const struct archive *a, struct strv *dirs, const char *path)
{
	const char *s = path;

	while ((s = strchr(s, '/'))) {
		const struct entry *e;
		size_t l = (size_t)(s - path);
		_cleanup_free_ char *pre = strndup(path, l);

		if (!pre)
			return -ENOMEM;
		e = lookup(a, pre);
		if (!(e && S_ISDIR(e->mode)) && !strv_has(dirs, pre, l)) {
			int r = strv_add(dirs, pre, l);

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
static int orig_text(const struct archive *a, const char *path, struct buf *b)
{
	const struct entry *e = find_file(a, path);
	int r;

	if (!e)
		return buf_zero(b, 0);
	r = buf_put(b, e->data, e->size);
	if (r == 0 && b->len && b->p[b->len - 1] != '\n')
		r = buf_str(b, "\n");
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

	name_norm(name, want, sizeof(want));
	for (const char *p = text; p && *p;) {
		size_t l;
		char got[64];

		p += strspn(p, " \t");
		l = strcspn(p, " \t\r\n");
		if (l && l < sizeof(got)) {
			memcpy(got, p, l);
			got[l] = 0;
			name_norm(got, got, sizeof(got));
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
	struct buf order, dep, conf;
	void *depbin;
	size_t depbin_len;
};

static void texts_free(struct texts *t)
{
	free(t->order.p);
	free(t->dep.p);
	free(t->conf.p);
	free(t->depbin);
}

static int build_texts(const struct archive *a, const struct aim_initrd_add *add,
		       const char *moddir, struct texts *t)
{
	_cleanup_free_ struct depline *img = NULL, *own = NULL;
	_cleanup_free_ char *dep_path = NULL;
	size_t nimg = 0, nown = 0;
	int r;

	r = orig_text(a, "scripts/local-bottom/ORDER", &t->order);
	if (r < 0)
		return r;
	if (!has_line_starting((char *)t->order.p, OUR_SCRIPT " ")) {
		/* initramfs-tools' cache_run_scripts() format, byte for byte */
		r = buf_str(&t->order, OUR_SCRIPT " \"$@\"\n"
					"[ -e /conf/param.conf ] && . /conf/param.conf\n");
		if (r < 0)
			return r;
	}

	r = orig_text(a, "conf/modules", &t->conf);
	for (const char *const *l = add->load; r == 0 && l && *l; l++)
		if (!conf_modules_has((char *)t->conf.p, *l)) {
			r = buf_str(&t->conf, *l);
			if (r == 0)
				r = buf_str(&t->conf, "\n");
		}
	if (r < 0)
		return r;

	if (!add->n_modules)
		return 0;
	if (asprintf(&dep_path, "%s/modules.dep", moddir) < 0)
		return -ENOMEM;
	r = orig_text(a, dep_path, &t->dep);
	if (r == 0)
		r = dep_parse((char *)t->dep.p, &own, &nown);
	if (r == 0)
		r = dep_parse(add->modules_dep, &img, &nimg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < add->n_modules; i++) {
		const char *path = add->modules[i].path;
		const struct depline *d = dep_by_path(img, nimg, path, strlen(path));
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
			if (!found && !dep_by_path(own, nown, p, l))
				return aim_error_set(-EINVAL, "module %s needs %.*s, which is "
							      "neither added nor in the "
							      "initramfs", path, (int)l, p);
			p += l;
		}
		if (dep_by_path(own, nown, path, strlen(path)))
			continue;
		r = buf_put(&t->dep, d->line, d->len);
		if (r == 0)
			r = buf_str(&t->dep, "\n");
		if (r < 0)
			return r;
	}
	return aim_initrd_depbin((char *)t->dep.p, &t->depbin, &t->depbin_len);
}

static int build_cpio(const struct archive *a, const struct aim_initrd_add *add,
		      struct cpio_w *w)
{
	_cleanup_free_ char *moddir = NULL;
	struct texts t = { 0 };
	struct addfile f[8 + 1] = { 0 };
	_cleanup_free_ struct addfile *mods = NULL;
	struct strv dirs = { NULL, 0 };
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
		r = cpio_add(w, dirs.v[i], S_IFDIR | 0755, NULL, 0);
	for (size_t i = 0; r == 0 && i < nf; i++)
		r = cpio_add(w, f[i].path, f[i].mode, f[i].data, f[i].len);
	for (size_t i = 0; r == 0 && i < add->n_modules; i++)
		r = cpio_add(w, mods[i].path, mods[i].mode, mods[i].data, mods[i].len);
	if (r == 0) {
		w->ino = 0;
		r = cpio_add(w, "TRAILER!!!", 0, NULL, 0);
	}
out:
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		free(f[i].path);
	for (size_t i = 0; mods && i < add->n_modules; i++)
		free(mods[i].path);
	aim_initrd_strv_free(dirs.v);
	texts_free(&t);
	return r;
}

static int check_uimage(const uint8_t *in, size_t in_len, size_t *data_len)
{
	uint8_t h[UIMAGE_HDR];
	uint32_t size;

	if (in_len < UIMAGE_HDR)
		return aim_error_set(-EBADMSG, "uImage truncated: %zu bytes, header needs 64",
				     in_len);
	memcpy(h, in, UIMAGE_HDR);
	memset(h + 4, 0, 4);
	if (crc32_buf(h, UIMAGE_HDR) != be32(in + 4))
		return aim_error_set(-EBADMSG, "uImage header CRC mismatch (%08x stored, %08x "
					       "computed)", be32(in + 4), crc32_buf(h, UIMAGE_HDR));
	size = be32(in + 12);
	if (size > in_len - UIMAGE_HDR)
		return aim_error_set(-EBADMSG, "uImage truncated: header says %u data bytes, "
					       "%zu present", size, in_len - UIMAGE_HDR);
	if (crc32_buf(in + UIMAGE_HDR, size) != be32(in + 24))
		return aim_error_set(-EBADMSG, "uImage data CRC mismatch (%08x stored, %08x "
					       "computed)", be32(in + 24),
				     crc32_buf(in + UIMAGE_HDR, size));
	if (in[30] != IH_TYPE_RAMDISK)
		return aim_error_set(-EOPNOTSUPP, "uImage type %u is not a ramdisk (3)", in[30]);
	*data_len = size;
	return 0;
}

int aim_initrd_patch(const void *in, size_t in_len, const struct aim_initrd_add *add, void **ret,
		     size_t *ret_len)
{
	const uint8_t *p = in, *payload = in;
	size_t plen = in_len, hdr = 0, off;
	struct archive a = { 0 };
	struct cpio_w w = { { 0 }, 0, 0 };
	struct buf out = { 0 };
	int r;

	if (!in || !add || !ret || !ret_len || !add->kver || !*add->kver ||
	    strchr(add->kver, '/') || !add->aim_boot || !add->local_bottom ||
	    (add->n_modules && (!add->modules || !add->modules_dep)))
		return aim_error_set(-EINVAL, "initrd patch: missing kver, aim-boot, script or "
					      "modules.dep");
	aim_error_clear();
	if (in_len >= 4 && be32(p) == UIMAGE_MAGIC) {
		r = check_uimage(p, in_len, &plen);
		if (r < 0)
			return r;
		hdr = UIMAGE_HDR;
		payload = p + UIMAGE_HDR;
	}
	if (!plen)
		return aim_error_set(-EBADMSG, "initramfs is empty");
	r = walk(&a, payload, plen);
	if (r < 0)
		goto out;
	w.mtime = add->mtime;
	r = build_cpio(&a, add, &w);
	if (r < 0)
		goto out;

	/* header (patched below), original payload, zeros to a 4-byte boundary of the
	 * payload (the kernel only looks for "0707" at aligned offsets), our archive */
	r = buf_put(&out, p, hdr);
	if (r == 0)
		r = buf_put(&out, payload, plen);
	if (r == 0)
		r = buf_zero(&out, ALIGN_UP(plen, 4) - plen);
	off = out.len;
	if (r == 0)
		r = buf_put(&out, w.b.p, w.b.len);
	if (r < 0)
		goto out;
	if (hdr) {
		size_t dlen = out.len - UIMAGE_HDR;

		if (dlen > UINT32_MAX) {
			r = aim_error_set(-EFBIG, "patched initramfs larger than 4 GiB");
			goto out;
		}
		put_be32(out.p + 12, (uint32_t)dlen);
		put_be32(out.p + 24, crc32_buf(out.p + UIMAGE_HDR, dlen));
		memset(out.p + 4, 0, 4);
		put_be32(out.p + 4, crc32_buf(out.p, UIMAGE_HDR));
	}
	aim_debug("initrd: %zu-byte payload, %zu entries read, archive of %zu bytes at %zu",
		  plen, a.n, w.b.len, off - hdr);
	*ret = TAKE_PTR(out.p);
	*ret_len = out.len;
out:
	free(out.p);
	free(w.b.p);
	archive_free(&a);
	return r;
}
