/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for lib/squashfs.c: a tree with every inode type and the awkward cases is
 * written at an offset into a file of random bytes, then read back with the real
 * squashfs-tools-ng (rdsquashfs) and squashfs-tools (unsquashfs). Rootless.
 * With AIM_SQFS_KEEP=1 the temp dir is kept and printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "squashfs.h"
#include "tap.h"
#include "tree.h"
#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"

#define MiB (1024 * 1024ull)
#define IMG_OFF (1 * MiB)
#define SLOT (96 * MiB)
#define NMANY 5000
#define DEPTH 300

static char tmp[256];

/* libsquashfs 1.2 leaks the blocks still queued in its thread pool when a block
 * processor is destroyed after an error (the ENOSPC and read-error tests); the
 * successful paths are leak-free. Only consulted by LeakSanitizer builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsquashfs.so\n";
}

/* Runs a shell command, returns its stdout (malloc'ed, NUL-terminated) or NULL. */
static char *run(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *run(int *status, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap + (1 << 20));

			if (!nb)
				break;
			buf = nb;
			cap += 1 << 20;
		}
		n = fread(buf + len, 1, cap - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	st = pclose(p);
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int fill_random(int fd, uint64_t size, uint32_t seed)
{
	static uint8_t buf[1 << 20];
	uint64_t off;
	size_t i;
	uint32_t x = seed;

	for (off = 0; off < size; off += sizeof(buf)) {
		for (i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		if (aim_pwrite_full(fd, buf, sizeof(buf), off) < 0)
			return -1;
	}
	return 0;
}

static struct aim_node *add(struct aim_tree *t, const char *dir, const char *name, uint32_t mode)
{
	struct aim_node *d = NULL, *n = NULL;

	if (aim_tree_mkdir_p(t, dir, &d) < 0 || aim_tree_add(t, d, name, mode, &n) < 0) {
		printf("# cannot add %s/%s\n", dir, name);
		exit(2);
	}
	n->mtime = 1700000000;
	return n;
}

static struct aim_node *add_mem(struct aim_tree *t, const char *dir, const char *name,
				const char *content)
{
	struct aim_node *n = add(t, dir, name, S_IFREG | 0644);

	aim_tree_set_mem(n, content, strlen(content));
	return n;
}

static void host_file(struct aim_tree *t, const char *dir, const char *name, const char *path,
		      uint64_t size)
{
	struct aim_node *n = add(t, dir, name, S_IFREG | 0640);

	n->src = AIM_DATA_HOST;
	n->host_path = strdup(path);
	n->size = size;
}

/* The full test tree: every inode type and the edge cases from the brief. */
static struct aim_tree *build_tree(void)
{
	struct aim_tree *t = NULL;
	struct aim_node *n, *h1, *d;
	char path[512], name[300], target[301];
	int fd, i;
	static uint8_t buf[1 << 20];

	aim_tree_new(&t);
	t->root->mtime = 1600000000;

	/* host files: 3 MiB + 17 bytes of data, and a 64 MiB sparse file */
	snprintf(path, sizeof(path), "%s/host-data", tmp);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fill_random(fd, 4 * MiB, 7);
	if (ftruncate(fd, 3 * MiB + 17) < 0)
		exit(2);
	close(fd);
	host_file(t, "/data", "host", path, 3 * MiB + 17);
	snprintf(path, sizeof(path), "%s/host-sparse", tmp);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memset(buf, 0xa5, 4096);
	if (pwrite(fd, buf, 4096, 0) != 4096 || pwrite(fd, "middle", 6, 32 * MiB) != 6 ||
	    ftruncate(fd, 64 * MiB) < 0)
		exit(2);
	close(fd);
	host_file(t, "/data", "sparse", path, 64 * MiB);
	n = add(t, "/data", "empty", S_IFREG | 0600);
	n = add_mem(t, "/data", "dup-a", "same content in two files\n");
	n = add_mem(t, "/data", "dup-b", "same content in two files\n");

	/* hard links: three names in three directories, one group of two */
	h1 = add_mem(t, "/links/a", "h1", "hard linked content\n");
	n = add(t, "/links/b", "h2", S_IFREG | 0644);
	n->link = h1;
	n = add(t, "/links", "h3", S_IFREG | 0644);
	n->link = h1;
	h1->nlink = 3;
	h1->mode = S_IFREG | 0755;
	h1->uid = 5;
	h1 = add(t, "/links", "f1", S_IFIFO | 0600);
	n = add(t, "/links", "f2", S_IFIFO | 0600);
	n->link = h1;

	/* symlinks */
	n = add(t, "/sym", "fast", S_IFLNK | 0777);
	n->target = strdup("../data/host");
	memset(target, 'x', 300);
	target[300] = '\0';
	memcpy(target, "/very/long/", 11);
	n = add(t, "/sym", "long", S_IFLNK | 0777);
	n->target = strdup(target);

	/* special files */
	n = add(t, "/dev", "c300", S_IFCHR | 0620);
	n->rdev = makedev(300, 70000);
	n = add(t, "/dev", "sda", S_IFBLK | 0660);
	n->rdev = makedev(8, 0);
	n->gid = 6;
	n = add(t, "/dev", "fifo", S_IFIFO | 0644);
	n = add(t, "/dev", "sock", S_IFSOCK | 0755);

	/* permissions, owners, times */
	n = add_mem(t, "/perm", "setuid", "#!/bin/true\n");
	n->mode = S_IFREG | 04755;
	n = add_mem(t, "/perm", "setgid", "#!/bin/false\n");
	n->mode = S_IFREG | 02711;
	n = add(t, "/perm", "sticky", S_IFDIR | 01777);
	n = add_mem(t, "/perm", "owned", "big ids\n");
	n->uid = 100000;
	n->gid = 200000;
	n = add_mem(t, "/time", "future", "after 2106\n");
	n->mtime = (1ll << 32) + 5;
	n = add_mem(t, "/time", "past", "before 1970\n");
	n->mtime = -5;
	n = add_mem(t, "/time", "exact", "u32 max\n");
	n->mtime = UINT32_MAX;

	/* xattrs on a file and a directory */
	n = add_mem(t, "/x", "cap", "capable\n");
	aim_tree_set_xattr(n, "security.capability", "\x01\x00\x00\x02\x00\x20\x00\x00", 8);
	aim_tree_set_xattr(n, "user.comment", "hello", 5);
	aim_tree_set_xattr(n, "trusted.overlay.opaque", "y", 1);
	aim_tree_set_xattr(n, "system.posix_acl_access", "\x02\x00\x00\x00", 4);
	d = aim_tree_lookup(t, "/x");
	aim_tree_set_xattr(d, "user.dir", "d", 1);

	/* a 255-byte name, a 300-level deep directory, a 5000-entry directory */
	memset(name, 'n', 255);
	name[255] = '\0';
	add_mem(t, "/long", name, "long name\n");
	d = aim_tree_lookup(t, "/");
	aim_tree_mkdir_p(t, "/deep", &d);
	for (i = 0; i < DEPTH; i++)
		aim_tree_add(t, d, "d", S_IFDIR | 0755, &d);
	aim_tree_add(t, d, "bottom", S_IFREG | 0644, &n);
	aim_tree_set_mem(n, "at the bottom\n", 14);
	aim_tree_mkdir_p(t, "/many", &d);
	for (i = 0; i < NMANY; i++) {
		snprintf(name, sizeof(name), "f%05d", i);
		snprintf(target, sizeof(target), "file number %d\n", i);
		aim_tree_add(t, d, name, S_IFREG | 0644, &n);
		aim_tree_set_mem(n, target, strlen(target));
	}
	/* the last file in tree order has unique content (no dedup truncation at the end) */
	add_mem(t, "/", "zzz-last", "the very last file\n");
	return t;
}


/* The `rdsquashfs -d` description the tree must produce (hard-link names show the
 * attributes of their group's first name). */
static char *describe(struct aim_tree *t)
{
	struct aim_node *n, *h;
	size_t cap = 1 << 20, len = 0;
	char *out = malloc(cap), *p;

	out[0] = '\0';
	for (n = t->root->children; n;) {
		h = n->link ? n->link : n;
		p = aim_tree_path(n);
		if (cap - len < 8192) {
			cap *= 2;
			out = realloc(out, cap);
		}
		switch (h->mode & S_IFMT) {
		case S_IFDIR:
			len += sprintf(out + len, "dir %s 0%o %u %u\n", p + 1, h->mode & 07777, h->uid,
				       h->gid);
			break;
		case S_IFREG:
			len += sprintf(out + len, "file %s 0%o %u %u\n", p + 1, h->mode & 07777,
				       h->uid, h->gid);
			break;
		case S_IFLNK:
			len += sprintf(out + len, "slink %s 0%o %u %u %s\n", p + 1, h->mode & 07777,
				       h->uid, h->gid, h->target);
			break;
		case S_IFCHR:
		case S_IFBLK:
			len += sprintf(out + len, "nod %s 0%o %u %u %c %u %u\n", p + 1,
				       h->mode & 07777, h->uid, h->gid, S_ISCHR(h->mode) ? 'c' : 'b',
				       major(h->rdev), minor(h->rdev));
			break;
		case S_IFIFO:
			len += sprintf(out + len, "pipe %s 0%o %u %u\n", p + 1, h->mode & 07777,
				       h->uid, h->gid);
			break;
		case S_IFSOCK:
			len += sprintf(out + len, "sock %s 0%o %u %u\n", p + 1, h->mode & 07777,
				       h->uid, h->gid);
			break;
		}
		free(p);
		/* pre-order */
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n && !n->next)
			n = n->parent == t->root ? NULL : n->parent;
		if (n)
			n = n->next;
	}
	return out;
}

struct cmp_ctx {
	int fd;
	int same;
	uint64_t len;
};

static int cmp_cb(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct cmp_ctx *c = ud;
	static uint8_t got[1 << 20];
	size_t done = 0, n;

	while (done < len) {
		n = len - done < sizeof(got) ? len - done : sizeof(got);
		if (aim_pread_full(c->fd, got, n, off + done) < 0) {
			c->same = 0;
			return 0;
		}
		if (buf ? memcmp(got, (const uint8_t *)buf + done, n) : !!memchr(got, 0, 0)) {
			c->same = 0;
			return 0;
		}
		if (!buf)
			for (size_t i = 0; i < n; i++)
				if (got[i]) {
					c->same = 0;
					return 0;
				}
		done += n;
	}
	c->len += len;
	return 0;
}

static int64_t clamp_time(int64_t t)
{
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? (int64_t)UINT32_MAX : t;
}

/* Extracts the image with rdsquashfs and compares contents, modes and mtimes. */
static void check_extracted(struct aim_tree *t, const char *sqfs, const char *label)
{
	char dir[400], path[5000];
	struct aim_node *n, *h;
	int st, bad_data = 0, bad_meta = 0, files = 0;
	char *o;
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/out", tmp);
	free(run(&st, "rm -rf '%s' && rdsquashfs -q -D -T -C -u / -p '%s' '%s' 2>&1", dir, dir,
		 sqfs));
	is_int(st, 0, "%s: rdsquashfs unpacks the image", label);
	for (n = t->root->children; n;) {
		char *p = aim_tree_path(n);

		h = n->link ? n->link : n;
		snprintf(path, sizeof(path), "%s%s", dir, p);
		if (S_ISREG(h->mode)) {
			struct cmp_ctx c = { .same = 1 };

			files++;
			c.fd = open(path, O_RDONLY);
			if (c.fd < 0 || aim_tree_read_data(t, h, cmp_cb, &c) < 0 || !c.same ||
			    c.len != h->size || fstat(c.fd, &sb) < 0 || (uint64_t)sb.st_size != h->size) {
				if (bad_data++ < 5)
					printf("# content differs: %s\n", p);
			}
			if (c.fd >= 0)
				close(c.fd);
		}
		if (!S_ISCHR(h->mode) && !S_ISBLK(h->mode)) {
			if (lstat(path, &sb) < 0 || (sb.st_mode & S_IFMT) != (h->mode & S_IFMT) ||
			    (!S_ISLNK(h->mode) && (sb.st_mode & 07777) != (h->mode & 07777)) ||
			    sb.st_mtime != clamp_time(h->mtime)) {
				if (bad_meta++ < 5)
					printf("# type/mode/mtime differ: %s (0%o %lld)\n", p,
					       sb.st_mode, (long long)sb.st_mtime);
			}
		}
		free(p);
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n && !n->next)
			n = n->parent == t->root ? NULL : n->parent;
		if (n)
			n = n->next;
	}
	ok(files > NMANY, "%s: %d files compared", label, files);
	is_int(bad_data, 0, "%s: every file's content and size match", label);
	is_int(bad_meta, 0, "%s: every type, mode and mtime matches", label);
	o = run(&st, "rm -rf '%s'", dir);
	free(o);
}

/* Value of "Key: value" in rdsquashfs -s output for path, as a number. */
static long long stat_field(const char *sqfs, const char *path, const char *key)
{
	int st;
	char *o = run(&st, "rdsquashfs -s '%s' '%s' 2>/dev/null", path, sqfs), *p;
	long long v = -1;

	if (o && (p = strstr(o, key)))
		v = strtoll(p + strlen(key), NULL, 0);
	free(o);
	return v;
}

static int extract_region(const char *img, uint64_t off, uint64_t len, const char *out)
{
	int st;
	char *o = run(&st, "dd if='%s' of='%s' bs=4096 skip=%llu count=%llu status=none", img,
		      out, (unsigned long long)(off / 4096), (unsigned long long)(len / 4096));

	free(o);
	return st;
}

static int file_eq(const char *a, uint64_t aoff, const char *b, uint64_t boff, uint64_t len)
{
	int st;
	char *o = run(&st, "cmp -s -n %llu -i %llu:%llu '%s' '%s'", (unsigned long long)len,
		      (unsigned long long)aoff, (unsigned long long)boff, a, b);

	free(o);
	return st == 0;
}

static uint64_t data_total(struct aim_tree *t)
{
	struct aim_node *n = t->root;
	uint64_t sum = 0;

	while (n) {
		if (S_ISREG(n->mode) && !n->link)
			sum += n->size;
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n && !n->next)
			n = n->parent;
		if (n)
			n = n->next;
	}
	return sum;
}

struct prog {
	int calls;
	uint64_t done, total;
	int monotonic;
};

static void prog_cb(void *ud, uint64_t done, uint64_t total)
{
	struct prog *p = ud;

	if (done < p->done || done > total)
		p->monotonic = 0;
	p->calls++;
	p->done = done;
	p->total = total;
}

static void test_full(struct aim_tree *t)
{
	struct aim_sqfs_opts o = { .comp = "zstd", .threads = 2, .mkfs_time = 1234567890 };
	struct aim_sqfs_stats st = { 0 }, st1 = { 0 };
	struct prog pr = { .monotonic = 1 };
	char img[300], img1[300], ref[300], sq[300], *exp, *got, *s;
	uint64_t used;
	int fd, fd1, fdr, rc;

	snprintf(img, sizeof(img), "%s/disk.img", tmp);
	snprintf(img1, sizeof(img1), "%s/disk1.img", tmp);
	snprintf(ref, sizeof(ref), "%s/ref.img", tmp);
	snprintf(sq, sizeof(sq), "%s/s.sqfs", tmp);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fd1 = open(img1, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fdr = open(ref, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && fd1 >= 0 && fdr >= 0 && fill_random(fd, IMG_OFF + SLOT + MiB, 1) == 0 &&
		   fill_random(fdr, IMG_OFF + SLOT + MiB, 1) == 0 &&
		   fill_random(fd1, IMG_OFF + SLOT + MiB, 99) == 0,
	   "image files full of random bytes");

	rc = aim_sqfs_write(t, fd, IMG_OFF, SLOT, &o, prog_cb, &pr, &st);
	is_int(rc, 0, "write with 2 threads (%s)", rc ? aim_error_detail() : "ok");
	ok(st.bytes_out > 0 && st.bytes_out % 4096 == 0, "bytes_out %llu is 4 KiB aligned",
	   (unsigned long long)st.bytes_out);
	ok(st.bytes_out < 4 * MiB, "64 MiB sparse file takes no space (image %llu bytes)",
	   (unsigned long long)st.bytes_out);
	is_int(st.xattrs_dropped, 1, "system.posix_acl_access dropped and counted");
	is_int(st.times_clamped, 2, "two mtimes clamped");
	is_int(st.hardlinks, 3, "3 extra hard-link names");
	is_int(st.dirs, 1 + 10 + 3 + DEPTH, "directory count");
	is_int(st.others, 2 + 4 + 1, "symlinks, devices, fifos, socket");
	is_int(st.files, 16 + NMANY, "regular file inodes");
	is_int(st.bytes_in, data_total(t), "bytes_in is the sum of file sizes");
	ok(pr.calls >= 2 && pr.monotonic, "progress called %d times, monotonic", pr.calls);
	ok(pr.done == pr.total && pr.total == st.bytes_in, "progress ends at the total");

	rc = aim_sqfs_write(t, fd1, IMG_OFF, SLOT, &(struct aim_sqfs_opts){ .comp = "zstd",
		.threads = 1, .mkfs_time = 1234567890 }, NULL, NULL, &st1);
	is_int(rc, 0, "write with 1 thread");
	is_int(st1.bytes_out, st.bytes_out, "same size with 1 and 2 threads");
	ok(file_eq(img, IMG_OFF, img1, IMG_OFF, st.bytes_out),
	   "byte-identical with 1 and 2 threads over different random backgrounds");
	ok(file_eq(img, 0, ref, 0, IMG_OFF), "bytes before the offset unchanged");
	ok(file_eq(img, IMG_OFF + st.bytes_out, ref, IMG_OFF + st.bytes_out,
		   SLOT + MiB - st.bytes_out),
	   "bytes after the padded end unchanged");

	is_int(extract_region(img, IMG_OFF, st.bytes_out, sq), 0, "dd the image region");
	used = (uint64_t)stat_field(sq, "/", "Inode number: ");
	is_int(used, st.dirs + st.files + st.others, "root has the last inode number");
	s = run(&rc, "unsquashfs -s '%s'", sq);
	ok(rc == 0 && s && strstr(s, "Compression zstd") && strstr(s, "compression-level 9") &&
		   strstr(s, "Block size 131072"),
	   "unsquashfs -s: zstd level 9, 128 KiB blocks");
	ok(s && strstr(s, "Creation or last append time Fri Feb 13 23:31:30 2009"),
	   "mkfs_time stored");
	if (s && (got = strstr(s, "Filesystem size ")))
		used = strtoull(got + 16, NULL, 10);
	ok(used <= st.bytes_out && used + 4096 > st.bytes_out, "bytes_used %llu pads to bytes_out",
	   (unsigned long long)used);
	free(s);

	exp = describe(t);
	got = run(&rc, "rdsquashfs -d '%s'", sq);
	ok(rc == 0 && got && !strcmp(exp, got),
	   "rdsquashfs -d matches: names, types, modes, owners, symlink targets, devices");
	if (got && strcmp(exp, got))
		printf("# want %zu bytes, got %zu\n", strlen(exp), strlen(got));
	free(got);
	check_extracted(t, sq, "zstd");

	s = run(&rc, "unsquashfs -lln '%s' 2>&1", sq);
	ok(rc == 0 && s && strstr(s, "-rw-r--r-- 100000/200000             8 ") &&
		   strstr(s, "2106-02-07 06:28 squashfs-root/time/future") &&
		   strstr(s, "1970-01-01 00:00 squashfs-root/time/past") &&
		   strstr(s, "brw-rw---- 0/6                   8,  0 ") &&
		   strstr(s, "-rwsr-xr-x 0/0") && strstr(s, "drwxrwxrwt 0/0") &&
		   strstr(s, "squashfs-root/many/f04999"),
	   "unsquashfs -lln agrees (ids 100000/200000, clamped times, setuid, sticky, devices)");
	free(s);

	/* hard links: one inode, nlink 3, referenced from three directories */
	is_int(stat_field(sq, "/links/a/h1", "Hard link count: "), 3, "h1 nlink 3");
	ok(stat_field(sq, "/links/a/h1", "Inode number: ") ==
			   stat_field(sq, "/links/b/h2", "Inode number: ") &&
		   stat_field(sq, "/links/a/h1", "Inode number: ") ==
			   stat_field(sq, "/links/h3", "Inode number: "),
	   "h1, h2, h3 share one inode number");
	is_int(stat_field(sq, "/links/f2", "Hard link count: "), 2, "hard-linked fifo nlink 2");
	ok(stat_field(sq, "/links/f1", "Inode number: ") ==
		   stat_field(sq, "/links/f2", "Inode number: "),
	   "fifo names share one inode");
	ok(stat_field(sq, "/data/dup-a", "Inode number: ") !=
		   stat_field(sq, "/data/dup-b", "Inode number: "),
	   "identical files stay separate inodes");
	is_int(stat_field(sq, "/", "Hard link count: "), 12, "root nlink = 2 + 10 subdirs");
	is_int(stat_field(sq, "/links", "Hard link count: "), 4, "/links nlink = 2 + 2");
	is_int(stat_field(sq, "/many", "Hard link count: "), 2, "/many nlink 2 (5000 files)");
	is_int(stat_field(sq, "/deep/d", "Hard link count: "), 3, "/deep/d nlink 3");
	ok(stat_field(sq, "/data/sparse", "Sparse: ") >= (long long)(62 * MiB),
	   "sparse file has sparse blocks");
	is_int(stat_field(sq, "/data/empty", "File size: "), 0, "empty file size 0");
	s = run(&rc, "rdsquashfs -x /x/cap '%s'", sq);
	is_str(s, "security.capability=0x0100000200200000\ntrusted.overlay.opaque=y\n"
		  "user.comment=hello\n",
	       "xattrs of /x/cap (sorted, system.* dropped)");
	free(s);
	s = run(&rc, "rdsquashfs -x /x '%s'", sq);
	is_str(s, "user.dir=d\n", "xattr on a directory");
	free(s);
	s = run(&rc, "rdsquashfs -x /data/host '%s'", sq);
	is_str(s, "", "no xattrs where none were set");
	free(s);
	free(exp);
	close(fd);
	close(fd1);
	close(fdr);
	unlink(img1);
	unlink(ref);
}

/* Each compressor round-trips: sqfsdiff (contents, owners, modes, times, inode numbers)
 * against the zstd image from test_full. */
static void test_compressors(struct aim_tree *t)
{
	static const char *const comps[] = { "xz", "gzip", "lz4" };
	char img[300], sq[300], ref[300], *s;
	struct aim_sqfs_stats st;
	size_t i;
	int fd, rc;

	snprintf(img, sizeof(img), "%s/disk.img", tmp);
	snprintf(sq, sizeof(sq), "%s/c.sqfs", tmp);
	snprintf(ref, sizeof(ref), "%s/s.sqfs", tmp);
	fd = open(img, O_RDWR);
	for (i = 0; i < sizeof(comps) / sizeof(comps[0]); i++) {
		struct aim_sqfs_opts o = { .comp = comps[i], .threads = 2, .mkfs_time = 1 };

		rc = aim_sqfs_write(t, fd, IMG_OFF, SLOT, &o, NULL, NULL, &st);
		is_int(rc, 0, "%s: write", comps[i]);
		is_int(extract_region(img, IMG_OFF, st.bytes_out, sq), 0, "%s: dd", comps[i]);
		s = run(&rc, "unsquashfs -s '%s'", sq);
		ok(rc == 0 && s && strstr(s, comps[i]), "%s: unsquashfs -s names the compressor",
		   comps[i]);
		free(s);
		s = run(&rc, "sqfsdiff -T -I -a '%s' -b '%s' 2>&1", ref, sq);
		is_int(rc, 0, "%s: sqfsdiff -T -I finds no difference to the zstd image", comps[i]);
		if (rc)
			printf("# %.500s\n", s ? s : "");
		free(s);
	}
	{
		struct aim_sqfs_opts o = { .comp = "lz4", .level = 1, .threads = 1 };

		rc = aim_sqfs_write(t, fd, IMG_OFF, SLOT, &o, NULL, NULL, &st);
		is_int(rc, 0, "lz4 level 1 (HC) writes");
	}
	close(fd);
}

/* --sqfs-layout (docs/delta.md): each layout holds the same tree as the packed image of
 * test_full, repeats byte for byte with 1 and 2 threads, and does what it says. */
static void test_layouts(struct aim_tree *t)
{
	static const char *const specs[] = { "delta", "groups=1", "no-fragments", "align=4096",
					     "align=4096,groups=2", "packed" };
	static const char *const bad[] = { "groups=0", "groups=65537", "align=3000",
					   "align=256", "bogus", "groups=4,", "", "groups= 4",
					   "groups=-1", "align=", "no-fragments,,groups=2" };
	char img[300], img1[300], sq[300], ref[300], *s;
	struct aim_sqfs_stats st, st1;
	long long frags[6];
	size_t i;
	int fd, fd1, rc;

	snprintf(img, sizeof(img), "%s/disk.img", tmp);
	snprintf(img1, sizeof(img1), "%s/layout1.img", tmp);
	snprintf(sq, sizeof(sq), "%s/l.sqfs", tmp);
	snprintf(ref, sizeof(ref), "%s/s.sqfs", tmp);
	fd = open(img, O_RDWR);
	fd1 = open(img1, O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct aim_sqfs_opts o = { .comp = "zstd", .threads = 2, .mkfs_time = 1234567890 };

		is_int(aim_sqfs_parse_layout(specs[i], &o), 0, "layout %s parses", specs[i]);
		rc = aim_sqfs_write(t, fd, IMG_OFF, SLOT, &o, NULL, NULL, &st);
		is_int(rc, 0, "%s: write", specs[i]);
		o.threads = 1;
		rc = aim_sqfs_write(t, fd1, IMG_OFF, SLOT, &o, NULL, NULL, &st1);
		ok(rc == 0 && st1.bytes_out == st.bytes_out &&
		   file_eq(img, IMG_OFF, img1, IMG_OFF, st.bytes_out),
		   "%s: 1 and 2 threads give the same bytes", specs[i]);
		is_int(extract_region(img, IMG_OFF, st.bytes_out, sq), 0, "%s: dd", specs[i]);
		s = run(&rc, "sqfsdiff -T -I -a '%s' -b '%s' 2>&1", ref, sq);
		is_int(rc, 0, "%s: sqfsdiff finds no difference to the packed image", specs[i]);
		if (rc)
			printf("# %.500s\n", s ? s : "");
		free(s);
		s = run(&rc, "unsquashfs -s '%s'", sq);
		frags[i] = -1;
		if (rc == 0 && s && strstr(s, "Number of fragments "))
			frags[i] = atoll(strstr(s, "Number of fragments ") + 20);
		free(s);
		if (strstr(specs[i], "align")) {
			ok(stat_field(sq, "/data/host", "Blocks start: ") % 4096 == 0 &&
			   stat_field(sq, "/data/sparse", "Blocks start: ") % 4096 == 0,
			   "%s: files start at multiples of 4096", specs[i]);
		}
		if (!strcmp(specs[i], "packed"))
			ok(file_eq(img, IMG_OFF, ref, 0, st.bytes_out),
			   "packed: the same bytes as test_full's image (same options)");
	}
	ok(frags[5] > 0 && frags[0] > frags[5] && frags[1] > frags[0],
	   "fragment blocks: packed %lld < delta %lld < groups=1 %lld", frags[5], frags[0],
	   frags[1]);
	is_int(frags[2], 0, "no-fragments: no fragment blocks");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aim_sqfs_opts o = { 0 };
		const char *det;

		aim_error_clear();
		rc = aim_sqfs_parse_layout(bad[i], &o);
		det = aim_error_detail();
		ok(rc == -EINVAL && det && strstr(det, "layout"), "layout '%s' refused: %s", bad[i],
		   det ? det : "");
	}
	close(fd);
	close(fd1);
	unlink(img1);
}

static void test_errors(struct aim_tree *t)
{
	char img[300], path[300];
	struct aim_sqfs_stats st;
	struct aim_sqfs_opts o = { .comp = "zstd", .threads = 2 };
	struct aim_tree *u = NULL;
	struct aim_node *n, *d;
	const char *det;
	int fd, rc, i;
	uint64_t full;

	snprintf(img, sizeof(img), "%s/err.img", tmp);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

	aim_error_clear();
	rc = aim_sqfs_write(t, fd, 4096, 1 * MiB, &o, NULL, NULL, &st);
	det = aim_error_detail();
	is_int(rc, -ENOSPC, "1 MiB slot: -ENOSPC");
	ok(det && strstr(det, "squashfs needs more than 1048576 bytes (slot size)"),
	   "ENOSPC detail: %s", det ? det : "(none)");

	rc = aim_sqfs_write(t, fd, 0, SLOT, &o, NULL, NULL, &st);
	full = st.bytes_out;
	is_int(rc, 0, "full write for the size");
	rc = aim_sqfs_write(t, fd, 0, full, &o, NULL, NULL, &st);
	is_int(rc, 0, "a slot of exactly bytes_out fits");
	aim_error_clear();
	rc = aim_sqfs_write(t, fd, 0, full - 4096, &o, NULL, NULL, &st);
	is_int(rc, -ENOSPC, "4 KiB less: -ENOSPC (fails in the tables or padding)");
	det = aim_error_detail();
	ok(det && strstr(det, "slot size"), "late ENOSPC detail: %s", det ? det : "(none)");

	aim_error_clear();
	rc = aim_sqfs_write(t, fd, 0, SLOT, &(struct aim_sqfs_opts){ .comp = "lzo" }, NULL, NULL,
			    &st);
	det = aim_error_detail();
	is_int(rc, -EINVAL, "compressor lzo: -EINVAL");
	ok(det && strstr(det, "lzo"), "detail names the compressor: %s", det ? det : "");
	is_int(aim_sqfs_default_level("bogus"), -EINVAL, "default level of an unknown compressor");
	is_int(aim_sqfs_default_level("zstd"), 9, "zstd default level 9");
	is_int(aim_sqfs_default_level(NULL), 9, "NULL means zstd");
	is_int(aim_sqfs_default_level("xz"), 6, "xz default 6");
	is_int(aim_sqfs_default_level("gzip"), 9, "gzip default 9");
	is_int(aim_sqfs_default_level("lz4"), 0, "lz4 default 0");
	{
		static const struct {
			const char *comp;
			int level;
		} bad[] = { { "zstd", 23 }, { "zstd", -1 }, { "xz", 10 }, { "gzip", 10 },
			    { "gzip", -3 }, { "lz4", 2 } };

		for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
			aim_error_clear();
			rc = aim_sqfs_write(t, fd, 0, SLOT,
					    &(struct aim_sqfs_opts){ .comp = bad[i].comp,
								     .level = bad[i].level },
					    NULL, NULL, &st);
			det = aim_error_detail();
			ok(rc == -EINVAL && det && strstr(det, "out of range"),
			   "%s level %d: -EINVAL (%s)", bad[i].comp, bad[i].level, det ? det : "");
		}
	}
	aim_error_clear();
	rc = aim_sqfs_write(t, fd, 0, SLOT, &(struct aim_sqfs_opts){ .block_size = 3000 }, NULL,
			    NULL, &st);
	det = aim_error_detail();
	ok(rc == -EINVAL && det && strstr(det, "block size 3000"), "block size 3000: -EINVAL");
	rc = aim_sqfs_write(t, fd, 0, SLOT, &(struct aim_sqfs_opts){ .block_size = 2 * MiB },
			    NULL, NULL, &st);
	is_int(rc, -EINVAL, "block size 2 MiB: -EINVAL");
	rc = aim_sqfs_write(t, fd, 0, SLOT,
			    &(struct aim_sqfs_opts){ .block_size = 1 * MiB, .threads = 2 }, NULL,
			    NULL, &st);
	is_int(rc, 0, "block size 1 MiB works");

	/* data source failures */
	aim_tree_new(&u);
	aim_tree_mkdir_p(u, "/a", &d);
	aim_tree_add(u, d, "gone", S_IFREG | 0644, &n);
	snprintf(path, sizeof(path), "%s/does-not-exist", tmp);
	n->src = AIM_DATA_HOST;
	n->host_path = strdup(path);
	n->size = 10;
	aim_error_clear();
	rc = aim_sqfs_write(u, fd, 0, SLOT, &o, NULL, NULL, &st);
	det = aim_error_detail();
	is_int(rc, -ENOENT, "missing host file: -ENOENT");
	ok(det && strstr(det, "does-not-exist"), "detail names the file: %s", det ? det : "");
	ok(n->priv == NULL && n->priv_u64[0] == 0, "scratch fields cleared after a failure");
	snprintf(path, sizeof(path), "%s/host-data", tmp);
	free(n->host_path);
	n->host_path = strdup(path);
	n->size = 5 * MiB; /* longer than the file */
	aim_error_clear();
	rc = aim_sqfs_write(u, fd, 0, SLOT, &o, NULL, NULL, &st);
	det = aim_error_detail();
	is_int(rc, -EIO, "host file shorter than its size: -EIO");
	ok(det && strstr(det, "shorter"), "detail: %s", det ? det : "");
	n->size = 100;
	n->rdev = 0;
	aim_tree_add(u, d, "bigdev", S_IFCHR | 0600, &n);
	n->rdev = makedev(5000, 1);
	aim_error_clear();
	rc = aim_sqfs_write(u, fd, 0, SLOT, &o, NULL, NULL, &st);
	is_int(rc, -EOVERFLOW, "major 5000 does not fit squashfs: -EOVERFLOW");
	aim_tree_remove(u, n);

	/* 65537 distinct ids */
	aim_tree_mkdir_p(u, "/ids", &d);
	for (i = 0; i < 65537; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%05d", i);
		aim_tree_add(u, d, name, S_IFIFO | 0600, &n);
		n->uid = (uint32_t)i + 1000;
	}
	aim_tree_remove(u, aim_tree_lookup(u, "/a"));
	aim_error_clear();
	rc = aim_sqfs_write(u, fd, 0, SLOT, &o, NULL, NULL, &st);
	det = aim_error_detail();
	is_int(rc, -EFBIG, "65538 distinct uid/gid values: -EFBIG");
	ok(det && strstr(det, "65536"), "detail names the limit: %s", det ? det : "");
	aim_tree_remove(u, n);
	aim_tree_remove(u, aim_tree_lookup(u, "/ids/65535"));
	rc = aim_sqfs_write(u, fd, 0, SLOT, &o, NULL, NULL, &st);
	is_int(rc, 0, "65536 distinct ids (incl. 0) fit");
	aim_tree_free(u);
	close(fd);
	unlink(img);
}

int main(void)
{
	struct aim_tree *t;

	snprintf(tmp, sizeof(tmp), "%s/aim-sqfs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 2;
	t = build_tree();
	test_full(t);
	test_compressors(t);
	test_layouts(t);
	test_errors(t);
	aim_tree_free(t);
	if (getenv("AIM_SQFS_KEEP")) {
		printf("# kept %s\n", tmp);
	} else {
		char *o = run(NULL, "rm -rf '%s'", tmp);

		free(o);
	}
	return done_testing();
}
