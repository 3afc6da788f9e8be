/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/tree.c: sorted insertion, lookup, mkdir_p, removal with hard-link
 * repair, walk order, paths, memory/host data, xattrs and the error paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "tree.h"
#include "treeio.h"
#include "base/log.h"

struct walk_rec {
	char buf[4096];
	size_t n;
	int stop_at;
	int count;
};

static int rec_visit(void *ud, struct aim_node *n)
{
	struct walk_rec *w = ud;
	char *p = aim_tree_path(n);
	int k;

	if (!p)
		return -ENOMEM;
	k = snprintf(w->buf + w->n, sizeof(w->buf) - w->n, "%s ", p);
	free(p);
	if (k > 0 && (size_t)k < sizeof(w->buf) - w->n)
		w->n += (size_t)k;
	if (++w->count == w->stop_at)
		return -ECANCELED;
	return 0;
}

static int count_visit(void *ud, struct aim_node *n)
{
	(void)n;
	(*(size_t *)ud)++;
	return 0;
}

struct data_rec {
	uint64_t total, holes, next_off;
	uint8_t first;
	int calls, order_ok;
	uint64_t sum;
};

static int data_cb(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct data_rec *d = ud;
	size_t i;

	if (off != d->next_off)
		d->order_ok = 0;
	d->next_off = off + len;
	if (!d->calls && buf && len)
		d->first = *(const uint8_t *)buf;
	d->calls++;
	d->total += len;
	if (!buf)
		d->holes += len;
	else
		for (i = 0; i < len; i++)
			d->sum += ((const uint8_t *)buf)[i];
	return 0;
}

static void test_add_lookup(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *a, *b, *c, *n, *x;
	struct walk_rec w = { .stop_at = -1 };
	char *p;
	char longname[300];

	is_int(aim_tree_new(&t), 0, "tree_new");
	is_int(t->nnodes, 1, "new tree has only the root");
	is_str(t->root->name, "", "root name is empty");
	ok(S_ISDIR(t->root->mode), "root is a directory");

	is_int(aim_tree_add(t, t->root, "b", S_IFDIR | 0755, &b), 0, "add b");
	is_int(aim_tree_add(t, t->root, "a", S_IFREG | 0644, &a), 0, "add a (before b)");
	is_int(aim_tree_add(t, t->root, "c", S_IFDIR | 0700, &c), 0, "add c (after b)");
	is_int(aim_tree_add(t, t->root, "B", S_IFREG | 0644, &x), 0, "add B (sorts first)");
	is_int(aim_tree_add(t, b, "inner", S_IFREG | 0600, &n), 0, "add b/inner");
	is_int(t->nnodes, 6, "node count");
	is_int(n->nlink, 1, "new node has nlink 1");
	ok(t->root->children == x && x->next == a && a->next == b && b->next == c && !c->next,
	   "children sorted by strcmp (B a b c)");
	ok(t->root->last == c, "last child tracked");

	ok(aim_tree_lookup(t, "/b/inner") == n, "lookup /b/inner");
	ok(aim_tree_lookup(t, "//b///inner/") == n, "lookup tolerates repeated slashes");
	ok(aim_tree_lookup(t, "/") == t->root, "lookup / is root");
	ok(aim_tree_lookup(t, "/b/nope") == NULL, "lookup of a missing name is NULL");
	ok(aim_tree_lookup(t, "/a/x") == NULL, "lookup through a file is NULL");
	ok(aim_tree_lookup(t, "b/inner") == NULL, "relative lookup is NULL");

	aim_error_clear();
	is_int(aim_tree_add(t, t->root, "a", S_IFREG, NULL), -EEXIST, "duplicate (middle) -EEXIST");
	ok(aim_error_detail() && strstr(aim_error_detail(), "'a' already exists"),
	   "duplicate detail names the file");
	is_int(aim_tree_add(t, t->root, "c", S_IFREG, NULL), -EEXIST, "duplicate (tail) -EEXIST");
	is_int(aim_tree_add(t, t->root, "", S_IFREG, NULL), -EINVAL, "empty name -EINVAL");
	is_int(aim_tree_add(t, t->root, ".", S_IFREG, NULL), -EINVAL, "'.' -EINVAL");
	is_int(aim_tree_add(t, t->root, "..", S_IFREG, NULL), -EINVAL, "'..' -EINVAL");
	aim_error_clear();
	is_int(aim_tree_add(t, t->root, "x/y", S_IFREG, NULL), -EINVAL, "slash -EINVAL");
	ok(aim_error_detail() && strstr(aim_error_detail(), "x/y"), "bad-name detail names it");
	memset(longname, 'n', 256);
	longname[256] = '\0';
	is_int(aim_tree_add(t, t->root, longname, S_IFREG, NULL), -EINVAL, "256-byte name -EINVAL");
	longname[255] = '\0';
	is_int(aim_tree_add(t, t->root, longname, S_IFREG, NULL), 0, "255-byte name accepted");
	is_int(aim_tree_add(t, a, "under-file", S_IFREG, NULL), -ENOTDIR,
	       "add under a regular file -ENOTDIR");
	is_int(t->nnodes, 7, "failed adds did not change the count");

	/* mkdir_p */
	is_int(aim_tree_mkdir_p(t, "/b/d1/d2", &n), 0, "mkdir_p /b/d1/d2");
	ok(n && aim_tree_lookup(t, "/b/d1/d2") == n, "mkdir_p result found by lookup");
	is_int(n->mode, S_IFDIR | 0755, "mkdir_p mode 0755");
	is_int(n->uid, 0, "mkdir_p uid 0");
	is_int(aim_tree_mkdir_p(t, "/b/d1/d2", &x), 0, "mkdir_p existing ok");
	ok(x == n, "mkdir_p existing returns the same node");
	is_int(aim_tree_mkdir_p(t, "/", &x), 0, "mkdir_p / ok");
	ok(x == t->root, "mkdir_p / is root");
	aim_error_clear();
	is_int(aim_tree_mkdir_p(t, "/a/sub", &x), -ENOTDIR, "mkdir_p through a file -ENOTDIR");
	ok(aim_error_detail() && strstr(aim_error_detail(), "/a/sub"), "detail names the path");
	is_int(aim_tree_mkdir_p(t, "/a", &x), -ENOTDIR, "mkdir_p onto a file -ENOTDIR");
	is_int(aim_tree_mkdir_p(t, "rel/x", &x), -EINVAL, "mkdir_p relative path -EINVAL");

	/* paths */
	p = aim_tree_path(n);
	is_str(p, "/b/d1/d2", "path of a nested dir");
	free(p);
	p = aim_tree_path(t->root);
	is_str(p, "/", "path of the root");
	free(p);

	/* walk: pre-order, sorted */
	is_int(aim_tree_walk(t, rec_visit, &w), 0, "walk returns 0");
	ok(!strncmp(w.buf, "/ /B /a /b /b/d1 /b/d1/d2 /b/inner /c /nnn", 41),
	   "walk is pre-order, sorted");
	if (strncmp(w.buf, "/ /B /a /b /b/d1 /b/d1/d2 /b/inner /c /nnn", 41))
		printf("# walk gave: %s\n", w.buf);
	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	is_int(aim_tree_walk(t, rec_visit, &w), -ECANCELED, "walk stops at the first error");
	is_int(w.count, 3, "walk visited exactly 3 nodes");

	/* remove subtree */
	is_int(t->nnodes, 9, "count before remove");
	aim_tree_remove(t, b);
	is_int(t->nnodes, 5, "remove took the 4-node subtree");
	ok(!aim_tree_lookup(t, "/b/inner") && !aim_tree_lookup(t, "/b"), "removed names gone");
	ok(t->root->last && !t->root->last->next, "last child still valid");
	c = aim_tree_lookup(t, "/c");
	n = t->root->last;
	aim_tree_remove(t, n);
	ok(t->root->last == c, "removing the tail updates last");
	is_int(aim_tree_add(t, t->root, "zz", S_IFREG, &x), 0, "add after tail removal");
	ok(c->next == x && t->root->last == x, "tail append after removal");
	aim_tree_remove(t, t->root);
	is_int(t->nnodes, 1, "removing the root empties the tree");
	ok(!t->root->children && !t->root->last, "root has no children");
	aim_tree_free(t);
}

static void test_hardlinks(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *d1, *d2, *d3, *h1, *h2, *h3, *h4, *o1, *o2;

	aim_tree_new(&t);
	aim_tree_mkdir_p(t, "/d1", &d1);
	aim_tree_mkdir_p(t, "/d2", &d2);
	aim_tree_mkdir_p(t, "/d3", &d3);
	aim_tree_add(t, d1, "h", S_IFREG | 0644, &h1);
	aim_tree_add(t, d2, "h", S_IFREG | 0644, &h2);
	aim_tree_add(t, d2, "h2", S_IFREG | 0644, &h3);
	aim_tree_add(t, d3, "h", S_IFREG | 0644, &h4);
	h2->link = h3->link = h4->link = h1;
	h1->nlink = h2->nlink = h3->nlink = h4->nlink = 4;
	/* a second, unrelated group of two */
	aim_tree_add(t, d1, "o", S_IFREG | 0644, &o1);
	aim_tree_add(t, d3, "o", S_IFREG | 0644, &o2);
	o2->link = o1;
	o1->nlink = o2->nlink = 2;

	aim_tree_remove(t, h1); /* the group's first name */
	ok(h2->link == NULL, "next name (d2/h) promoted to first");
	ok(h3->link == h2 && h4->link == h2, "others point to the promoted node");
	is_int(h2->nlink, 3, "nlink 3 on new first");
	is_int(h3->nlink, 3, "nlink 3 on d2/h2");
	is_int(h4->nlink, 3, "nlink 3 on d3/h");
	is_int(o1->nlink, 2, "other group untouched");

	aim_tree_remove(t, h3); /* a non-first name */
	ok(h2->link == NULL && h4->link == h2, "removing a non-first keeps the first");
	is_int(h2->nlink, 2, "nlink 2 on first");
	is_int(h4->nlink, 2, "nlink 2 on last");

	aim_tree_remove(t, d2); /* a directory holding the first name */
	ok(h4->link == NULL, "last name becomes first when its group's first dir goes");
	is_int(h4->nlink, 1, "nlink 1 when one name is left");

	aim_tree_remove(t, d1); /* removes o1, the first of the other group */
	ok(o2->link == NULL, "o2 promoted");
	is_int(o2->nlink, 1, "o2 nlink 1");
	is_int(t->nnodes, 4, "node count after removals (/, d3, d3/h, d3/o)");
	aim_tree_free(t);
}

static void test_big(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *n, *d;
	char name[32];
	size_t i, count = 0;
	int r = 0;
	clock_t start;

	aim_tree_new(&t);
	/* 4000 levels deep: walk, path and free must not recurse */
	n = t->root;
	for (i = 0; i < 4000 && r == 0; i++)
		r = aim_tree_add(t, n, "d", S_IFDIR | 0755, &n);
	is_int(r, 0, "4000-level deep chain built");
	is_int(aim_tree_walk(t, count_visit, &count), 0, "walk of the deep tree");
	is_int(count, 4001, "walk visited every level");
	{
		char *p = aim_tree_path(n);

		ok(p && strlen(p) == 8000, "path of the deepest node has 4000 components");
		free(p);
	}

	/* 20000 entries in sorted order (fast path) and reversed order (slow path) */
	aim_tree_mkdir_p(t, "/big", &d);
	start = clock();
	for (i = 0; i < 20000 && r == 0; i++) {
		snprintf(name, sizeof(name), "f%06zu", i);
		r = aim_tree_add(t, d, name, S_IFREG | 0644, NULL);
	}
	is_int(r, 0, "20000 sorted adds");
	ok((clock() - start) < CLOCKS_PER_SEC / 2, "sorted adds are fast (%.3f s)",
	   (double)(clock() - start) / CLOCKS_PER_SEC);
	ok(aim_tree_lookup(t, "/big/f019999") == d->last, "last of 20000");
	aim_tree_mkdir_p(t, "/rev", &d);
	for (i = 5000; i > 0 && r == 0; i--) {
		snprintf(name, sizeof(name), "f%06zu", i);
		r = aim_tree_add(t, d, name, S_IFREG | 0644, NULL);
	}
	is_int(r, 0, "5000 reversed adds");
	ok(!strcmp(d->children->name, "f000001") && !strcmp(d->last->name, "f005000"),
	   "reversed adds end up sorted");
	aim_tree_free(t);
}

static void test_data(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *m, *h, *e, *s, *none;
	struct data_rec d;
	char dir[] = "/tmp/aim-tree-XXXXXX", path[128], path2[160];
	static uint8_t chunk[3 << 20];
	size_t i;
	int fd;
	uint64_t want_sum = 0;

	aim_tree_new(&t);
	aim_tree_add(t, t->root, "m", S_IFREG | 0644, &m);
	is_int(aim_tree_set_mem(m, "hello", 5), 0, "set_mem");
	is_int(m->size, 5, "set_mem sets size");
	is_int(m->src, AIM_DATA_MEM, "set_mem sets src");
	memset(&d, 0, sizeof(d));
	d.order_ok = 1;
	is_int(aim_tree_read_data(t, m, data_cb, &d), 0, "read mem data");
	is_int(d.total, 5, "mem: 5 bytes");
	is_int(d.calls, 1, "mem: one call");
	is_int(d.first, 'h', "mem: content");
	is_int(aim_tree_set_mem(m, "xy", 2), 0, "set_mem again replaces");
	is_int(m->mem_len, 2, "new length");

	aim_tree_add(t, t->root, "e", S_IFREG | 0644, &e);
	memset(&d, 0, sizeof(d));
	is_int(aim_tree_read_data(t, e, data_cb, &d), 0, "empty file reads");
	is_int(d.calls, 0, "empty file: no callback");

	aim_tree_add(t, t->root, "none", S_IFREG | 0644, &none);
	none->size = 10;
	aim_error_clear();
	is_int(aim_tree_read_data(t, none, data_cb, &d), -EINVAL, "size without source -EINVAL");
	ok(aim_error_detail() && strstr(aim_error_detail(), "none"), "detail names the file");

	aim_tree_add(t, t->root, "s", S_IFLNK | 0777, &s);
	is_int(aim_tree_read_data(t, s, data_cb, &d), -EINVAL, "read_data of a symlink -EINVAL");

	/* host file: 3 MiB data, 10 MiB hole, 3 MiB data, 1 MiB hole at the end */
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof(path), "%s/host", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (i = 0; i < sizeof(chunk); i++) {
		chunk[i] = (uint8_t)(i * 7 + 1);
		want_sum += chunk[i];
	}
	ok(fd >= 0 && pwrite(fd, chunk, sizeof(chunk), 0) == sizeof(chunk) &&
		   pwrite(fd, chunk, sizeof(chunk), 13 << 20) == sizeof(chunk) &&
		   ftruncate(fd, 17 << 20) == 0,
	   "sparse host file written");
	close(fd);
	aim_tree_add(t, t->root, "h", S_IFREG | 0644, &h);
	h->src = AIM_DATA_HOST;
	h->host_path = strdup(path);
	h->size = 17 << 20;
	memset(&d, 0, sizeof(d));
	d.order_ok = 1;
	is_int(aim_tree_read_data(t, h, data_cb, &d), 0, "read host data");
	is_int(d.total, 17 << 20, "host: all bytes covered");
	ok(d.order_ok, "host: in offset order, contiguous");
	ok(d.sum == 2 * want_sum, "host: content checksum matches");
	ok(d.holes >= (10 << 20), "host: holes reported as NULL (%llu bytes)",
	   (unsigned long long)d.holes);

	h->size = 18 << 20; /* longer than the file */
	memset(&d, 0, sizeof(d));
	aim_error_clear();
	is_int(aim_tree_read_data(t, h, data_cb, &d), -EIO, "host file shorter than size -EIO");
	ok(aim_error_detail() && strstr(aim_error_detail(), "shorter"), "detail says shorter");

	snprintf(path2, sizeof(path2), "%s/missing", dir);
	free(h->host_path);
	h->host_path = strdup(path2);
	aim_error_clear();
	is_int(aim_tree_read_data(t, h, data_cb, &d), -ENOENT, "missing host file -ENOENT");
	ok(aim_error_detail() && strstr(aim_error_detail(), "missing"), "detail names the file");

	/* host -> mem switch frees host_path */
	is_int(aim_tree_set_mem(h, "", 0), 0, "set_mem with 0 bytes");
	ok(h->host_path == NULL && h->size == 0, "host path dropped, size 0");
	unlink(path);
	rmdir(dir);
	aim_tree_free(t);
}

/* A data source of its own (tree.h): file key k holds size bytes of value k, in two
 * calls with a hole between; the tree reads through it without knowing what it is. */
struct fake_source {
	int calls;
	uint64_t last_key;
};

static int fake_read(void *ctx, uint64_t key, uint64_t size, aim_data_fn fn, void *ud)
{
	struct fake_source *f = ctx;
	uint8_t buf[4];
	int r;

	f->calls++;
	f->last_key = key;
	if (size != 10)
		return -EIO;
	memset(buf, (int)key, sizeof(buf));
	r = fn(ud, 0, buf, sizeof(buf));
	if (r == 0)
		r = fn(ud, 4, NULL, 2);
	if (r == 0)
		r = fn(ud, 6, buf, sizeof(buf));
	return r;
}

static void test_source(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *n;
	struct fake_source f = {0};
	const struct aim_data_source src = {"fake", fake_read, &f};
	struct data_rec d;

	aim_tree_new(&t);
	aim_tree_add(t, t->root, "f", S_IFREG | 0644, &n);
	n->src = AIM_DATA_SOURCE;
	n->src_ino = 3;
	n->size = 10;
	aim_error_clear();
	memset(&d, 0, sizeof(d));
	is_int(aim_tree_read_data(t, n, data_cb, &d), -EINVAL, "no data source on the tree -EINVAL");
	ok(aim_error_detail() && strstr(aim_error_detail(), "no data source"),
	   "detail says there is no data source");
	t->source = &src;
	memset(&d, 0, sizeof(d));
	d.order_ok = 1;
	is_int(aim_tree_read_data(t, n, data_cb, &d), 0, "read through a data source");
	ok(f.calls == 1 && f.last_key == 3, "the source was asked for key 3");
	ok(d.total == 10 && d.holes == 2 && d.sum == 8 * 3 && d.order_ok,
	   "its data and hole arrive in order");
	n->size = 0;
	is_int(aim_tree_read_data(t, n, data_cb, &d), 0, "an empty file does not ask the source");
	is_int(f.calls, 1, "still one call");
	n->size = 11;
	is_int(aim_tree_read_data(t, n, data_cb, &d), -EIO, "the source's error comes back");
	aim_tree_free(t);
}

static void test_xattrs(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *n;

	aim_tree_new(&t);
	aim_tree_add(t, t->root, "f", S_IFREG | 0644, &n);
	is_int(aim_tree_set_xattr(n, "user.b", "2", 1), 0, "set user.b");
	is_int(aim_tree_set_xattr(n, "security.capability", "\1\2\3", 3), 0, "set security.cap");
	is_int(aim_tree_set_xattr(n, "user.a", "1", 1), 0, "set user.a");
	is_int(aim_tree_set_xattr(n, "trusted.overlay.opaque", "y", 1), 0, "set trusted");
	is_int(aim_tree_set_xattr(n, "user.empty", NULL, 0), 0, "set empty value");
	is_int(n->nxattrs, 5, "5 xattrs");
	ok(!strcmp(n->xattrs[0].name, "security.capability") &&
		   !strcmp(n->xattrs[1].name, "trusted.overlay.opaque") &&
		   !strcmp(n->xattrs[2].name, "user.a") && !strcmp(n->xattrs[3].name, "user.b") &&
		   !strcmp(n->xattrs[4].name, "user.empty"),
	   "xattrs sorted by name");
	is_int(aim_tree_set_xattr(n, "user.a", "long", 4), 0, "replace user.a");
	is_int(n->nxattrs, 5, "replacement keeps the count");
	ok(n->xattrs[2].len == 4 && !memcmp(n->xattrs[2].value, "long", 4), "value replaced");
	is_int(aim_tree_set_xattr(n, "", "x", 1), -EINVAL, "empty xattr name -EINVAL");
	aim_tree_free(t); /* frees xattrs (checked by ASan) */
}

int main(void)
{
	test_add_lookup();
	test_hardlinks();
	test_big();
	test_data();
	test_source();
	test_xattrs();
	return done_testing();
}
