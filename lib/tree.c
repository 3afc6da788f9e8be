/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The in-memory file tree: individually allocated nodes (they never move), children in
 * strcmp order with a tail pointer for the common sorted-append case.
 */
#include "tree.h"

#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"

static void node_free(struct aim_node *n)
{
	size_t i;

	for (i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->name);
	free(n->target);
	free(n->mem);
	free(n->host_path);
	free(n);
}

static struct aim_node *node_new(const char *name, uint32_t mode)
{
	struct aim_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->mode = mode;
	n->nlink = 1;
	return n;
}

int aim_tree_new(struct aim_tree **ret)
{
	struct aim_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->root = node_new("", S_IFDIR | 0755);
	if (!t->root) {
		free(t);
		return -ENOMEM;
	}
	t->nnodes = 1;
	*ret = t;
	return 0;
}

/* Frees top and everything below it; top must already be detached. Iterative, O(n). */
static size_t subtree_free(struct aim_node *top)
{
	struct aim_node *n = top, *p;
	size_t count = 0;

	for (;;) {
		while (n->children)
			n = n->children;
		count++;
		if (n == top) {
			node_free(n);
			return count;
		}
		p = n->parent;
		p->children = n->next;
		if (!p->children)
			p->last = NULL;
		node_free(n);
		n = p;
	}
}

struct aim_tree *aim_tree_free(struct aim_tree *t)
{
	if (!t)
		return NULL;
	if (t->root)
		subtree_free(t->root);
	free(t);
	return NULL;
}

static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
		return aim_error_set(-EINVAL, "invalid file name '%s'", name);
	if (len > 255)
		return aim_error_set(-EINVAL, "file name longer than 255 bytes: '%.40s...'", name);
	return 0;
}

int aim_tree_add(struct aim_tree *t, struct aim_node *parent, const char *name, uint32_t mode,
		 struct aim_node **ret)
{
	struct aim_node *n, *prev = NULL, *cur;
	int r, c;

	r = check_name(name);
	if (r < 0)
		return r;
	if (!S_ISDIR(parent->mode))
		return aim_error_set(-ENOTDIR, "cannot add '%s': parent is not a directory", name);

	/* Fast path: the loaders add in sorted order, so check the tail first. */
	if (parent->last) {
		c = strcmp(parent->last->name, name);
		if (c == 0)
			return aim_error_set(-EEXIST, "'%s' already exists", name);
		if (c < 0) {
			prev = parent->last;
			goto insert;
		}
	}
	for (cur = parent->children; cur; prev = cur, cur = cur->next) {
		c = strcmp(cur->name, name);
		if (c == 0)
			return aim_error_set(-EEXIST, "'%s' already exists", name);
		if (c > 0)
			break;
	}
insert:
	n = node_new(name, mode);
	if (!n)
		return -ENOMEM;
	n->parent = parent;
	if (prev) {
		n->next = prev->next;
		prev->next = n;
	} else {
		n->next = parent->children;
		parent->children = n;
	}
	if (!n->next)
		parent->last = n;
	t->nnodes++;
	if (ret)
		*ret = n;
	return 0;
}

static struct aim_node *child_find(const struct aim_node *dir, const char *name, size_t len)
{
	struct aim_node *c;
	int d;

	for (c = dir->children; c; c = c->next) {
		d = strncmp(c->name, name, len);
		if (d == 0 && c->name[len] == '\0')
			return c;
		if (d > 0)
			break;
	}
	return NULL;
}

/* Shared by lookup and mkdir_p: walks path, creating directories if t is non-NULL. */
static int resolve(struct aim_tree *t, struct aim_node *root, const char *path, int create,
		   struct aim_node **ret)
{
	struct aim_node *n = root, *c;
	const char *p = path, *e;
	char name[256];
	size_t len;
	int r;

	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		len = e - p;
		if (!S_ISDIR(n->mode))
			return aim_error_set(-ENOTDIR, "'%.*s' in '%s' is not a directory",
					     (int)(p - path), path, path);
		c = child_find(n, p, len);
		if (!c) {
			if (!create)
				return -ENOENT;
			if (len > 255)
				return aim_error_set(-EINVAL, "path component too long in '%s'",
						     path);
			memcpy(name, p, len);
			name[len] = '\0';
			r = aim_tree_add(t, n, name, S_IFDIR | 0755, &c);
			if (r < 0)
				return r;
		}
		n = c;
		p = e;
	}
	if (create && !S_ISDIR(n->mode))
		return aim_error_set(-ENOTDIR, "'%s' exists and is not a directory", path);
	*ret = n;
	return 0;
}

struct aim_node *aim_tree_lookup(const struct aim_tree *t, const char *path)
{
	struct aim_node *n = NULL;

	if (!path || path[0] != '/')
		return NULL;
	if (resolve(NULL, t->root, path, 0, &n) < 0)
		return NULL;
	return n;
}

int aim_tree_mkdir_p(struct aim_tree *t, const char *path, struct aim_node **ret)
{
	struct aim_node *n = NULL;
	int r;

	if (!path || path[0] != '/')
		return aim_error_set(-EINVAL, "not an absolute path: '%s'", path ? path : "");
	r = resolve(t, t->root, path, 1, &n);
	if (r < 0)
		return r;
	if (ret)
		*ret = n;
	return 0;
}

/* Next node in pre-order within the subtree of top (NULL when done). */
static struct aim_node *walk_next(const struct aim_node *top, struct aim_node *n)
{
	if (n->children)
		return n->children;
	while (n != top) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

static int is_linked(const struct aim_node *n)
{
	return !S_ISDIR(n->mode) && (n->link || n->nlink > 1);
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

struct group_fix {
	struct aim_node *head;
	struct aim_node *new_head;
	uint32_t removed;
	uint32_t nlink;
	int head_removed;
};

static int fix_cmp(const void *a, const void *b)
{
	return ptr_cmp(&((const struct group_fix *)a)->head, &((const struct group_fix *)b)->head);
}

/*
 * Repairs hard-link groups that lose names in the detached subtree top: one walk of the
 * subtree collects the removed names, one walk of the remaining tree re-points them.
 */
static void links_repair(struct aim_tree *t, struct aim_node *top)
{
	struct aim_node **gone = NULL, *n, *h;
	struct group_fix *fix = NULL, key, *f;
	size_t ngone = 0, i, nfix = 0;

	for (n = top; n; n = walk_next(top, n))
		if (is_linked(n))
			ngone++;
	if (!ngone)
		return;
	gone = malloc(ngone * sizeof(*gone));
	fix = calloc(ngone, sizeof(*fix));
	if (!gone || !fix)
		goto out; /* cannot repair without memory; the tree stays consistent enough */
	ngone = 0;
	for (n = top; n; n = walk_next(top, n))
		if (is_linked(n))
			gone[ngone++] = n;
	qsort(gone, ngone, sizeof(*gone), ptr_cmp);

	for (i = 0; i < ngone; i++) {
		h = gone[i]->link ? gone[i]->link : gone[i];
		key.head = h;
		f = nfix ? lfind(&key, fix, &nfix, sizeof(*fix), fix_cmp) : NULL;
		if (!f) {
			f = &fix[nfix++];
			f->head = h;
		}
		f->removed++;
	}
	qsort(fix, nfix, sizeof(*fix), fix_cmp);
	for (i = 0; i < nfix; i++) {
		fix[i].head_removed = !!bsearch(&fix[i].head, gone, ngone, sizeof(*gone), ptr_cmp);
		fix[i].nlink = fix[i].head->nlink > fix[i].removed ?
				       fix[i].head->nlink - fix[i].removed : 1;
	}

	for (n = t->root; n; n = walk_next(t->root, n)) {
		if (!is_linked(n))
			continue;
		key.head = n->link ? n->link : n;
		f = bsearch(&key, fix, nfix, sizeof(*fix), fix_cmp);
		if (!f)
			continue;
		if (f->head_removed) {
			if (!f->new_head) {
				f->new_head = n;
				n->link = NULL;
			} else {
				n->link = f->new_head;
			}
		}
		n->nlink = f->nlink;
	}
out:
	free(gone);
	free(fix);
}

void aim_tree_remove(struct aim_tree *t, struct aim_node *n)
{
	struct aim_node **pp, *prev = NULL;

	if (n == t->root) {
		while (n->children)
			aim_tree_remove(t, n->children);
		return;
	}
	for (pp = &n->parent->children; *pp != n; pp = &(*pp)->next)
		prev = *pp;
	*pp = n->next;
	if (n->parent->last == n)
		n->parent->last = prev;
	n->next = NULL;
	links_repair(t, n);
	t->nnodes -= subtree_free(n);
}

int aim_tree_set_mem(struct aim_node *n, const void *buf, size_t len)
{
	void *m = malloc(len ? len : 1);

	if (!m)
		return -ENOMEM;
	if (len)
		memcpy(m, buf, len);
	free(n->mem);
	free(n->host_path);
	n->host_path = NULL;
	n->mem = m;
	n->mem_len = len;
	n->size = len;
	n->src = AIM_DATA_MEM;
	n->src_ino = 0;
	return 0;
}

int aim_tree_set_xattr(struct aim_node *n, const char *name, const void *val, size_t len)
{
	struct aim_xattr *x;
	uint8_t *v;
	size_t i;
	int c = 1;

	if (!name || !*name)
		return aim_error_set(-EINVAL, "empty xattr name");
	for (i = 0; i < n->nxattrs; i++) {
		c = strcmp(n->xattrs[i].name, name);
		if (c >= 0)
			break;
	}
	v = malloc(len ? len : 1);
	if (!v)
		return -ENOMEM;
	if (len)
		memcpy(v, val, len);
	if (i < n->nxattrs && c == 0) {
		free(n->xattrs[i].value);
		n->xattrs[i].value = v;
		n->xattrs[i].len = len;
		return 0;
	}
	x = realloc(n->xattrs, (n->nxattrs + 1) * sizeof(*x));
	if (!x) {
		free(v);
		return -ENOMEM;
	}
	n->xattrs = x;
	memmove(&x[i + 1], &x[i], (n->nxattrs - i) * sizeof(*x));
	x[i].name = strdup(name);
	if (!x[i].name) {
		memmove(&x[i], &x[i + 1], (n->nxattrs - i) * sizeof(*x));
		free(v);
		return -ENOMEM;
	}
	x[i].value = v;
	x[i].len = len;
	n->nxattrs++;
	return 0;
}

char *aim_tree_path(const struct aim_node *n)
{
	const struct aim_node *c;
	size_t len = 0;
	char *s, *p;

	if (!n->parent)
		return strdup("/");
	for (c = n; c->parent; c = c->parent)
		len += strlen(c->name) + 1;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	p = s + len;
	*p = '\0';
	for (c = n; c->parent; c = c->parent) {
		size_t l = strlen(c->name);

		p -= l;
		memcpy(p, c->name, l);
		*--p = '/';
	}
	return s;
}

int aim_tree_walk(struct aim_tree *t, aim_tree_visit_fn fn, void *ud)
{
	struct aim_node *n;
	int r;

	for (n = t->root; n; n = walk_next(t->root, n)) {
		r = fn(ud, n);
		if (r < 0)
			return r;
	}
	return 0;
}
