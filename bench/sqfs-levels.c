/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compression benchmark for lib/squashfs.c: loads a host directory into an aim_tree
 * (file data as AIM_DATA_HOST), writes it as squashfs and prints time and size.
 * Usage: sqfs-levels DIR OUT COMP LEVEL THREADS
 * Build: cc -O2 -Ilib bench/sqfs-levels.c B/libarmimmutable.a $(pkg-config --libs libsquashfs1)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "squashfs.h"
#include "tree.h"
#include "base/log.h"

struct seen {
	dev_t dev;
	ino_t ino;
	struct aim_node *n;
};
static struct seen *seen;
static size_t nseen, capseen;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load(struct aim_tree *t, struct aim_node *dir, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL, p[4096], tgt[4096];
	size_t n = 0, cap = 0, i, k;
	struct aim_node *c;
	struct stat st;
	ssize_t l;
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap)
			names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && r == 0; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, names[i]);
		if (lstat(p, &st) < 0) {
			r = -errno;
			break;
		}
		r = aim_tree_add(t, dir, names[i], st.st_mode, &c);
		if (r < 0)
			break;
		c->uid = st.st_uid;
		c->gid = st.st_gid;
		c->mtime = st.st_mtime;
		if (S_ISDIR(st.st_mode)) {
			r = load(t, c, p);
		} else if (S_ISLNK(st.st_mode)) {
			l = readlink(p, tgt, sizeof(tgt) - 1);
			tgt[l > 0 ? l : 0] = '\0';
			c->target = strdup(tgt);
			c->size = strlen(tgt);
		} else if (S_ISREG(st.st_mode)) {
			c->src = AIM_DATA_HOST;
			c->host_path = strdup(p);
			c->size = (uint64_t)st.st_size;
		} else {
			c->rdev = st.st_rdev;
		}
		if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
			for (k = 0; k < nseen; k++)
				if (seen[k].dev == st.st_dev && seen[k].ino == st.st_ino)
					break;
			if (k < nseen) {
				c->link = seen[k].n;
				seen[k].n->nlink++;
				c->nlink = seen[k].n->nlink;
			} else {
				if (nseen == capseen)
					seen = realloc(seen, (capseen = capseen ? capseen * 2 : 64) *
								     sizeof(*seen));
				seen[nseen++] = (struct seen){ st.st_dev, st.st_ino, c };
			}
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	struct aim_tree *t = NULL;
	struct aim_sqfs_opts o = { 0 };
	struct aim_sqfs_stats st = { 0 };
	struct timespec a, b;
	int fd, r;

	if (argc != 6) {
		fprintf(stderr, "usage: %s DIR OUT COMP LEVEL THREADS\n", argv[0]);
		return 2;
	}
	o.comp = argv[3];
	o.level = atoi(argv[4]);
	o.threads = (unsigned)atoi(argv[5]);
	o.mkfs_time = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (aim_tree_new(&t) < 0 || load(t, t->root, argv[1]) < 0) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
	r = aim_sqfs_write(t, fd, 0, 1ull << 40, &o, NULL, NULL, &st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (r < 0) {
		fprintf(stderr, "write failed: %s\n", aim_error_detail() ? aim_error_detail() : "");
		return 1;
	}
	if (ftruncate(fd, (off_t)st.bytes_out) < 0)
		return 1;
	close(fd);
	printf("%s %d: %.2f s, %llu bytes (in %llu, %llu files)\n", o.comp, o.level,
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
	       (unsigned long long)st.bytes_out, (unsigned long long)st.bytes_in,
	       (unsigned long long)st.files);
	aim_tree_free(t);
	return 0;
}
