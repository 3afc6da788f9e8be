// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Kernel modules: modules.dep text (which modules a module needs, transitively) and
 * kmod's binary index modules.dep.bin, byte for byte as depmod writes it (see kmod.h).
 */
#include "moddep.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/endian.h"
#include "base/log.h"
#include "base/macro.h"

int aim_kmod_modname(const char *path, char *buf, size_t size)
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

void aim_kmod_name_norm(const char *in, char *buf, size_t size)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < size; i++)
		buf[i] = in[i] == '-' ? '_' : in[i];
	buf[i] = 0;
}


/* Splits modules.dep text into lines with a "path:" (others are ignored). */
int aim_kmod_dep_parse(const char *text, struct aim_kmod_dep **ret, size_t *ret_n)
{
	struct aim_kmod_dep *v = NULL;
	size_t n = 0, cap = 0;
	const char *p = text ? text : "";

	while (*p) {
		const char *nl = strchr(p, '\n'), *colon;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		colon = memchr(p, ':', len);
		if (colon && colon > p) {
			struct aim_kmod_dep d = { p, len, (size_t)(colon - p), "" };
			_cleanup_free_ char *path = strndup(p, d.path_len);

			if (!path) {
				free(v);
				return -ENOMEM;
			}
			if (aim_kmod_modname(path, d.name, sizeof(d.name)) == 0) {
				if (n == cap) {
					struct aim_kmod_dep *nv;

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

static const struct aim_kmod_dep *dep_by_name(const struct aim_kmod_dep *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

const struct aim_kmod_dep *aim_kmod_dep_by_path(const struct aim_kmod_dep *v, size_t n, const char *path,
					 size_t plen)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].path_len == plen && !memcmp(v[i].line, path, plen))
			return &v[i];
	return NULL;
}





#define MAX_DEP_DEPTH 64

static int deps_visit(const struct aim_kmod_dep *v, size_t n, const struct aim_kmod_dep *d, struct aim_strv *out,
		      const struct aim_kmod_dep **stack, int depth)
{
	const char *p = d->line + d->path_len + 1, *end = d->line + d->len;
	int r;

	if (aim_strv_has(out, d->line, d->path_len))
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
		const struct aim_kmod_dep *dd;
		size_t l;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		l = 0;
		while (p + l < end && p[l] != ' ' && p[l] != '\t' && p[l] != '\r')
			l++;
		if (!l)
			break;
		dd = aim_kmod_dep_by_path(v, n, p, l);
		if (!dd)
			return aim_error_set(-ENOENT, "modules.dep: %.*s needs %.*s, which has no "
						      "line of its own", (int)d->path_len, d->line,
					     (int)l, p);
		r = deps_visit(v, n, dd, out, stack, depth + 1);
		if (r < 0)
			return r;
		p += l;
	}
	return aim_strv_has(out, d->line, d->path_len) ? 0 : aim_strv_add(out, d->line, d->path_len);
}

static bool builtin_has(const char *builtin, const char *name)
{
	const char *p = builtin;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *path = strndup(p, len);
		char nm[64];

		if (path && aim_kmod_modname(path, nm, sizeof(nm)) == 0 && !strcmp(nm, name))
			return true;
		p += len + (nl ? 1 : 0);
	}
	aim_error_clear();
	return false;
}

int aim_kmod_deps(const char *modules_dep, const char *modules_builtin,
			   const char *const *names, char ***ret)
{
	_cleanup_free_ struct aim_kmod_dep *v = NULL;
	const struct aim_kmod_dep *stack[MAX_DEP_DEPTH];
	struct aim_strv out = { 0 };
	size_t n;
	int r;

	if (!modules_dep || !names || !ret)
		return aim_error_set(-EINVAL, "module_deps: missing modules.dep or names");
	r = aim_kmod_dep_parse(modules_dep, &v, &n);
	if (r < 0)
		return r;
	out.v = calloc(1, sizeof(char *));
	if (!out.v)
		return -ENOMEM;
	for (const char *const *nm = names; *nm; nm++) {
		const struct aim_kmod_dep *d;
		char name[64];

		aim_kmod_name_norm(*nm, name, sizeof(name));
		d = dep_by_name(v, n, name);
		if (!d) {
			if (builtin_has(modules_builtin, name))
				continue;
			aim_strv_free(out.v);
			return aim_error_set(-ENOENT, "module %s is neither in modules.dep nor "
						      "built in (modules.builtin)", *nm);
		}
		r = deps_visit(v, n, d, &out, stack, 0);
		if (r < 0) {
			aim_strv_free(out.v);
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


/* Writes the radix-trie node for kv[lo..hi) (sorted keys sharing key[0..d)), children
 * first as depmod does; returns the node offset with its flags in *off. */
static int trie_write(struct aim_buf *b, const struct kv *kv, size_t lo, size_t hi, size_t d,
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
		r = aim_buf_put(b, kv[lo].key + d, plen);
		if (r < 0 || (r = aim_buf_zero(b, 1)) < 0)
			return r;
		o |= INDEX_NODE_PREFIX;
	}
	if (last >= 0) {
		uint8_t fl[2] = { (uint8_t)first, (uint8_t)last };

		r = aim_buf_put(b, fl, 2);
		for (int c = first; r == 0 && c <= last; c++)
			r = aim_buf_be32(b, child[c]);
		if (r < 0)
			return r;
		o |= INDEX_NODE_CHILDS;
	}
	if (vend > lo) {
		r = aim_buf_be32(b, (uint32_t)(vend - lo));
		for (i = lo; r == 0 && i < vend; i++) {
			r = aim_buf_be32(b, kv[i].prio);
			if (r == 0)
				r = aim_buf_put(b, kv[i].value, kv[i].vlen);
			if (r == 0)
				r = aim_buf_zero(b, 1);
		}
		if (r < 0)
			return r;
		o |= INDEX_NODE_VALUES;
	}
	*off = o;
	return 0;
}

int aim_kmod_depbin(const char *modules_dep, void **ret, size_t *ret_len)
{
	_cleanup_free_ struct aim_kmod_dep *v = NULL;
	_cleanup_free_ struct kv *kv = NULL;
	struct aim_buf b = { 0 };
	uint32_t root = 0;
	size_t n, m = 0;
	int r;

	r = aim_kmod_dep_parse(modules_dep, &v, &n);
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
	r = aim_buf_be32(&b, INDEX_MAGIC);
	if (r == 0)
		r = aim_buf_be32(&b, INDEX_VERSION);
	if (r == 0)
		r = aim_buf_be32(&b, 0);
	if (r == 0 && m)
		r = trie_write(&b, kv, 0, m, 0, &root);
	if (r == 0 && !m) {
		/* empty index: a root without prefix, children or values */
		root = (uint32_t)b.len;
		r = aim_buf_zero(&b, 0);
	}
	if (r < 0) {
		free(b.p);
		return r;
	}
	aim_put_be32(b.p + 8, root);
	*ret = b.p;
	*ret_len = b.len;
	return 0;
}
