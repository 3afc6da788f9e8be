/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/ext4.c against real images: the rich fixture of tests/sample/mkrootfs.sh (every
 * metadata case, compared with the expected values and with debugfs), inline-data and
 * block-mapped (ext3) images, and broken or unsupported filesystems.
 * AIM_EXT4_BENCH_DIR=/usr/lib also measures load_tree + read_data throughput on that tree
 * (warm page cache; AIM_EXT4_BENCH_COLD=1 drops the image's pages first).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "ext4.h"
#include "tap.h"
#include "tree.h"
#include "treeio.h"
#include "base/fileio.h"
#include "base/log.h"

static char tmp[1024];
static const char *top;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Runs a command and returns its stdout (malloc'ed, NUL-terminated). */
static char *run_out(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!p)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, 4096, p);
		len += n;
	} while (n > 0);
	pclose(p);
	if (!buf)
		buf = malloc(1);
	buf[len] = '\0';
	return buf;
}

static int detail_has(const char *s)
{
	const char *d = aim_error_detail();
	if (d && strstr(d, s))
		return 1;
	printf("#   detail: '%s', want '%s'\n", d ? d : "(none)", s);
	return 0;
}

/* ---- data collection ---------------------------------------------------------------------- */

struct collect {
	crypto_hash_sha256_state sha;
	uint64_t next, data_bytes, hole_bytes, nholes;
	uint64_t hole_off[16], hole_len[16];
	int order_ok;
	int no_hole_hash; /* do not feed holes to the hash (4.5 GiB of zeros is slow) */
	uint8_t *mem; /* optional copy of the first mem_len bytes */
	size_t mem_len;
	uint8_t tail[32]; /* the last 32 bytes seen */
};

static void collect_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	crypto_hash_sha256_init(&c->sha);
	c->order_ok = 1;
}

static const uint8_t zeros[65536];

static void tail_push(struct collect *c, const uint8_t *p, size_t len)
{
	if (len >= sizeof(c->tail)) {
		memcpy(c->tail, p + len - sizeof(c->tail), sizeof(c->tail));
	} else {
		memmove(c->tail, c->tail + len, sizeof(c->tail) - len);
		memcpy(c->tail + sizeof(c->tail) - len, p, len);
	}
}

static int collect_fn(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct collect *c = ud;

	if (off != c->next || len == 0)
		c->order_ok = 0;
	if (c->mem && off < c->mem_len) {
		size_t n = len < c->mem_len - off ? len : c->mem_len - off;
		if (buf)
			memcpy(c->mem + off, buf, n);
		else
			memset(c->mem + off, 0, n);
	}
	if (buf) {
		crypto_hash_sha256_update(&c->sha, buf, len);
		tail_push(c, buf, len);
		c->data_bytes += len;
	} else {
		if (c->nholes < 16) {
			c->hole_off[c->nholes] = off;
			c->hole_len[c->nholes] = len;
		}
		c->nholes++;
		c->hole_bytes += len;
		for (size_t done = 0; done < len && !c->no_hole_hash;) {
			size_t n = len - done < sizeof(zeros) ? len - done : sizeof(zeros);
			crypto_hash_sha256_update(&c->sha, zeros, n);
			tail_push(c, zeros, n);
			done += n;
		}
	}
	c->next = off + len;
	return 0;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void collect_hex(struct collect *c, char out[65])
{
	uint8_t d[32];
	crypto_hash_sha256_final(&c->sha, d);
	hex(d, 32, out);
}

static void sha_hex(const void *buf, size_t len, char out[65])
{
	uint8_t d[32];
	crypto_hash_sha256(d, buf, len);
	hex(d, 32, out);
}

/* The same bytes as mkrootfs.sh gen_random: a SHA-256 chain from a seed. */
static uint8_t *gen_random(const char *seed, size_t n)
{
	uint8_t *o = malloc(n + 32), s[32];
	size_t len = 0;

	crypto_hash_sha256(s, (const uint8_t *)seed, strlen(seed));
	while (len < n) {
		memcpy(o + len, s, 32);
		len += 32;
		crypto_hash_sha256(s, s, 32);
	}
	return o;
}

/* ---- the rich fixture --------------------------------------------------------------------- */

static const struct aim_xattr *xattr(const struct aim_node *n, const char *name)
{
	for (size_t i = 0; n && i < n->nxattrs; i++)
		if (!strcmp(n->xattrs[i].name, name))
			return &n->xattrs[i];
	return NULL;
}

static struct aim_node *L(struct aim_tree *t, const char *path)
{
	struct aim_node *n = aim_tree_lookup(t, path);
	if (!n)
		printf("#   %s missing from the tree\n", path);
	return n;
}

static int read_node(struct aim_ext4 *fs, const struct aim_node *n, struct collect *c)
{
	collect_init(c);
	return aim_ext4_read_data(fs, n->src_ino, n->size, collect_fn, c);
}

/* Compares mode, owner and mtime of a node with what debugfs stat says. */
static void check_debugfs(const char *img, struct aim_tree *t, const char *path)
{
	char cmd[4096], *out;
	unsigned mode = 0, uid = 0, gid = 0, mt = 0, mtx = 0;
	const char *p;
	struct aim_node *n = aim_tree_lookup(t, path);

	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat \"%s\"' '%s' 2>/dev/null", path, img);
	out = run_out(cmd);
	if ((p = strstr(out, "Mode:")))
		sscanf(p, "Mode: %o", &mode);
	if ((p = strstr(out, "User:")))
		sscanf(p, "User: %u Group: %u", &uid, &gid);
	if ((p = strstr(out, " mtime:")))
		sscanf(p, " mtime: 0x%x:%x", &mt, &mtx);
	ok(n && (n->mode & 07777) == mode && n->uid == uid && n->gid == gid &&
		   n->mtime == (int32_t)mt + ((int64_t)(mtx & 3) << 32) &&
		   n->mtime_nsec == mtx >> 2,
	   "%s: mode, owner and mtime agree with debugfs", path);
	free(out);
}

static void test_fixture(void)
{
	char img[1200], h[65], want[65];
	struct aim_ext4 *fs = NULL;
	struct aim_ext4_info info;
	struct aim_tree *t = NULL;
	struct aim_node *n, *a, *b, *c3;
	struct collect c;
	int r, fd;

	snprintf(img, sizeof(img), "%s/root.ext4", tmp);
	r = run("sh '%s/tests/sample/mkrootfs.sh' '%s' 64", top, img);
	if (!ok(r == 0, "mkrootfs.sh builds the fixture"))
		return;

	fd = open(img, O_RDONLY);
	is_int(aim_ext4_probe(fd, 0, 64 << 20), 1, "probe sees the ext4 superblock");
	is_int(aim_ext4_probe(fd, 4096, 0), 0, "probe at a wrong offset says no");
	close(fd);

	r = aim_ext4_open(img, 0, 64 << 20, &fs);
	if (!ok(r == 0, "open the fixture (%d %s)", r, aim_error_detail() ?: ""))
		return;
	aim_ext4_get_info(fs, &info);
	is_str(info.uuid, "5a1e5a1e-0000-4000-8000-00000000a1e4", "uuid");
	is_str(info.label, "aimroot", "label");
	is_str(info.type, "ext4", "type");
	is_int(info.block_size, 4096, "block size");
	is_int(info.blocks, 16384, "block count");
	ok(info.free_blocks > 0 && info.free_blocks < info.blocks, "free blocks");
	is_int(info.used_bytes, (info.blocks - info.free_blocks) * 4096, "used bytes");
	ok(info.inodes >= 5257 && info.inodes - info.free_inodes >= 5257, "inode counts");
	is_int(info.needs_recovery, 0, "clean journal");
	ok(strstr(info.features, "has_journal") && strstr(info.features, "extent") &&
		   strstr(info.features, "metadata_csum") && strstr(info.features, "64bit"),
	   "features: %s", info.features);

	r = aim_ext4_load_tree(fs, &t);
	if (!ok(r == 0, "load_tree (%d %s)", r, aim_error_detail() ?: ""))
		goto out;
	ok(t->source && t->source->ctx == fs && !strcmp(t->source->name, "ext4"),
	   "tree's data source is the fs");

	n = t->root;
	ok(S_ISDIR(n->mode) && (n->mode & 07777) == 0755 && n->uid == 0 && n->mtime == 1600000000,
	   "root: dir 0755 0:0 mtime");
	n = L(t, "/lost+found");
	ok(n && S_ISDIR(n->mode) && (n->mode & 07777) == 0700, "lost+found kept, 0700");

	/* modes and owners */
	n = L(t, "/modes/setuid");
	ok(n && n->mode == (S_IFREG | 04755), "setuid file 04755");
	n = L(t, "/modes/setgid");
	ok(n && n->mode == (S_IFREG | 02755), "setgid file 02755");
	n = L(t, "/modes/all");
	ok(n && n->mode == (S_IFREG | 07777), "mode 07777");
	n = L(t, "/modes/none");
	ok(n && n->mode == S_IFREG, "mode 0000");
	n = L(t, "/modes/sticky");
	ok(n && n->mode == (S_IFDIR | 01777), "sticky dir 01777");
	n = L(t, "/owners/big");
	ok(n && n->uid == 100000 && n->gid == 200000, "uid/gid 100000/200000 (high 16 bits)");
	n = L(t, "/owners/user");
	ok(n && n->uid == 1000 && n->gid == 1000, "uid/gid 1000");
	n = L(t, "/owners/root");
	ok(n && n->uid == 0 && n->gid == 0, "uid/gid 0");

	/* times */
	n = L(t, "/times/nsec");
	ok(n && n->mtime == 1700000000 && n->mtime_nsec == 123456789, "mtime with nanoseconds");
	n = L(t, "/times/y2100");
	ok(n && n->mtime == 4102444800LL && n->mtime_nsec == 5, "post-2038 mtime (epoch bits)");
	n = L(t, "/times/pre1970");
	ok(n && n->mtime == -1 && n->mtime_nsec == 0, "pre-1970 mtime -1");
	n = L(t, "/data/hello.txt");
	ok(n && n->mtime == 1600000000 && n->mtime_nsec == 0, "plain mtime");

	/* xattrs */
	n = L(t, "/xattr/file");
	{
		const struct aim_xattr *x = xattr(n, "user.comment");
		ok(x && x->len == 11 && !memcmp(x->value, "hello xattr", 11), "user.comment");
		x = xattr(n, "trusted.overlay.opaque");
		ok(x && x->len == 1 && x->value[0] == 'y', "trusted.overlay.opaque");
		x = xattr(n, "security.capability");
		static const uint8_t cap[20] = { 1, 0, 0, 2, 0, 0x20 };
		ok(x && x->len == 20 && !memcmp(x->value, cap, 20), "security.capability v2");
		is_int(n ? n->nxattrs : 0, 3, "three xattrs, no system.data");
		ok(n && n->nxattrs == 3 && strcmp(n->xattrs[0].name, n->xattrs[1].name) < 0 &&
			   strcmp(n->xattrs[1].name, n->xattrs[2].name) < 0,
		   "xattrs sorted by name");
	}
	n = L(t, "/xattr/acl");
	{
		const struct aim_xattr *x = xattr(n, "system.posix_acl_access");
		uint8_t acl[44];
		const uint16_t ent[5][2] = {
			{ 1, 6 }, { 2, 4 }, { 4, 4 }, { 0x10, 4 }, { 0x20, 0 },
		};
		const uint32_t ids[5] = { 0xffffffff, 1000, 0xffffffff, 0xffffffff, 0xffffffff };

		acl[0] = 2, acl[1] = acl[2] = acl[3] = 0;
		for (int i = 0; i < 5; i++) {
			uint8_t *p = acl + 4 + 8 * i;
			p[0] = (uint8_t)ent[i][0], p[1] = (uint8_t)(ent[i][0] >> 8);
			p[2] = (uint8_t)ent[i][1], p[3] = 0;
			p[4] = (uint8_t)ids[i], p[5] = (uint8_t)(ids[i] >> 8);
			p[6] = (uint8_t)(ids[i] >> 16), p[7] = (uint8_t)(ids[i] >> 24);
		}
		if (!ok(x && x->len == 44 && !memcmp(x->value, acl, 44),
			"POSIX access ACL in the VFS v2 format (44 bytes, u:1000:r)") && x) {
			char hx[256] = "";
			hex(x->value, x->len < 100 ? x->len : 100, hx);
			printf("#   got %zu bytes %s\n", x->len, hx);
		}
	}
	n = L(t, "/xattr/acldir");
	{
		const struct aim_xattr *x = xattr(n, "system.posix_acl_default");
		ok(x && x->len == 28 && x->value[0] == 2 && x->value[4] == 1 && x->value[6] == 7,
		   "default ACL on a directory, v2 format");
	}

	/* hard links */
	a = L(t, "/links/a");
	b = L(t, "/links/b");
	c3 = L(t, "/links/sub/c");
	ok(a && b && c3 && !a->link && b->link == a && c3->link == a,
	   "hard link group: b, sub/c -> a");
	ok(a && b && c3 && a->nlink == 3 && b->nlink == 3 && c3->nlink == 3,
	   "nlink 3 on all names");
	ok(a && b && a->src == AIM_DATA_SOURCE && b->src_ino == a->src_ino && a->size == 7,
	   "linked names share the inode");
	n = L(t, "/data/hello.txt");
	ok(n && n->nlink == 1 && !n->link, "single name: nlink 1");

	/* symlinks */
	n = L(t, "/links/fast");
	ok(n && S_ISLNK(n->mode) && n->target && !strcmp(n->target, "hello.txt") && n->size == 9,
	   "fast symlink target");
	n = L(t, "/links/slow");
	{
		char want_t[128];
		memcpy(want_t, "../data/", 8);
		memset(want_t + 8, 'x', 92);
		want_t[100] = '\0';
		ok(n && S_ISLNK(n->mode) && n->target && !strcmp(n->target, want_t) &&
			   n->size == 100,
		   "slow symlink target (100 bytes)");
	}
	n = L(t, "/etc/alias");
	ok(n && n->target && !strcmp(n->target, "/data/hello.txt"), "absolute symlink target");

	/* special files */
	n = L(t, "/dev/chr");
	ok(n && S_ISCHR(n->mode) && major(n->rdev) == 300 && minor(n->rdev) == 70000,
	   "char device 300:70000 (new encoding)");
	n = L(t, "/dev/blk");
	ok(n && S_ISBLK(n->mode) && n->rdev == makedev(8, 1) && (n->mode & 07777) == 0666,
	   "block device 8:1 (old encoding)");
	n = L(t, "/dev/null");
	ok(n && S_ISCHR(n->mode) && n->rdev == makedev(1, 3), "char device 1:3");
	n = L(t, "/dev/fifo");
	ok(n && S_ISFIFO(n->mode) && (n->mode & 07777) == 0644, "fifo");
	n = L(t, "/dev/sock");
	ok(n && S_ISSOCK(n->mode), "socket");

	/* names and shapes */
	{
		char p[300] = "/names/";
		memset(p + 7, 'n', 255);
		p[262] = '\0';
		n = L(t, p);
		ok(n && strlen(n->name) == 255 && n->size == 10, "255-byte file name");
	}
	{
		char p[1024] = "/deep";
		size_t len = 5;
		for (int i = 0; i < 200; i++)
			len += (size_t)sprintf(p + len, "/d");
		strcpy(p + len, "/leaf");
		n = L(t, p);
		ok(n && S_ISREG(n->mode) && n->size == 5, "200 levels deep");
	}
	n = L(t, "/bigdir");
	{
		size_t cnt = 0;
		int sorted = 1;
		for (struct aim_node *k = n ? n->children : NULL; k; k = k->next) {
			if (k->next && strcmp(k->name, k->next->name) >= 0)
				sorted = 0;
			cnt++;
		}
		is_int(cnt, 5000, "htree directory has 5000 entries");
		ok(sorted, "children sorted");
		ok(n && (n->mode & S_IFMT) == S_IFDIR && aim_tree_lookup(t, "/bigdir/f4999"),
		   "bigdir/f4999 present");
	}

	/* data */
	n = L(t, "/data/hello.txt");
	r = n ? read_node(fs, n, &c) : -1;
	collect_hex(&c, h);
	sha_hex("hello, world\n", 13, want);
	ok(r == 0 && c.order_ok && c.next == 13 && !strcmp(h, want), "hello.txt content");
	n = L(t, "/data/empty");
	ok(n && n->size == 0 && n->src == AIM_DATA_NONE, "empty file has no data source");
	n = L(t, "/data/random.bin");
	{
		uint8_t *rnd = gen_random("aim", 307200);
		r = n ? read_node(fs, n, &c) : -1;
		collect_hex(&c, h);
		sha_hex(rnd, 307200, want);
		ok(r == 0 && c.order_ok && c.data_bytes == 307200 && !strcmp(h, want),
		   "random.bin SHA-256 matches the source");
		free(rnd);
	}
	n = L(t, "/data/sparse.bin");
	r = n ? read_node(fs, n, &c) : -1;
	ok(r == 0 && c.order_ok && c.next == 64 << 20 && c.data_bytes == 8192 && c.nholes == 1 &&
		   c.hole_off[0] == 4096 && c.hole_len[0] == (64 << 20) - 8192,
	   "sparse.bin: data at both ends, one hole between (%llu data, %llu holes)",
	   (unsigned long long)c.data_bytes, (unsigned long long)c.nholes);
	ok(c.tail[31] == 'E', "sparse.bin ends with E");
	n = L(t, "/data/prealloc.bin");
	r = n ? read_node(fs, n, &c) : -1;
	ok(r == 0 && c.order_ok && n->size == 1 << 20 && c.data_bytes == 8192 &&
		   c.hole_bytes == (1 << 20) - 8192 && c.nholes == 1 && c.hole_off[0] == 8192,
	   "prealloc.bin: uninitialised extent and tail read as one hole");
	n = L(t, "/data/big.bin");
	{
		uint8_t head[17];
		collect_init(&c);
		c.mem = head;
		c.mem_len = sizeof(head);
		c.no_hole_hash = 1;
		r = n ? aim_ext4_read_data(fs, n->src_ino, n->size, collect_fn, &c) : -1;
		ok(n && n->size == 4831838208ULL, "big.bin is 4.5 GiB");
		ok(r == 0 && c.order_ok && c.next == 4831838208ULL && c.data_bytes <= 8192 &&
			   c.hole_bytes >= 4831838208ULL - 8192,
		   "big.bin streamed as holes plus two blocks");
		ok(!memcmp(head, "HEAD-OF-BIG-FILE\n", 17) &&
			   !memcmp(c.tail + 15, "TAIL-OF-BIG-FILE\n", 17),
		   "big.bin head and tail bytes");
	}
	n = L(t, "/links/sub/c");
	r = n ? read_node(fs, n, &c) : -1;
	collect_hex(&c, h);
	sha_hex("linked\n", 7, want);
	ok(r == 0 && !strcmp(h, want), "hard-linked content through the third name");

	/* through aim_tree_read_data (treeio.c reads through the tree's data source) */
	n = L(t, "/etc/hostname");
	collect_init(&c);
	r = n ? aim_tree_read_data(t, n, collect_fn, &c) : -1;
	collect_hex(&c, h);
	sha_hex("aimtest\n", 8, want);
	ok(r == 0 && !strcmp(h, want), "aim_tree_read_data reads ext4 data");

	/* read_path */
	{
		char *buf = NULL;
		size_t len = 0;

		r = aim_ext4_read_path(fs, "/etc/hostname", 4096, &buf, &len);
		ok(r == 0 && len == 8 && !strcmp(buf, "aimtest\n"), "read_path /etc/hostname");
		free(buf);
		buf = NULL;
		r = aim_ext4_read_path(fs, "/etc/alias", 4096, &buf, &len);
		ok(r == 0 && len == 13 && !strcmp(buf, "hello, world\n"),
		   "read_path follows an absolute symlink inside the fs");
		free(buf);
		buf = NULL;
		r = aim_ext4_read_path(fs, "/links/fast", 4096, &buf, &len);
		ok(r == -ENOENT && detail_has("hello.txt"),
		   "relative symlink to a missing file: -ENOENT");
		r = aim_ext4_read_path(fs, "/etc/../links/./sub/c", 4096, &buf, &len);
		ok(r == 0 && len == 7 && !strcmp(buf, "linked\n"), "read_path with . and ..");
		free(buf);
		buf = NULL;
		r = aim_ext4_read_path(fs, "/etc/nothere", 4096, &buf, &len);
		ok(r == -ENOENT && detail_has("nothere"), "missing file: -ENOENT naming it");
		r = aim_ext4_read_path(fs, "/etc/loop1", 4096, &buf, &len);
		ok(r == -ELOOP && detail_has("symlinks"), "symlink loop: -ELOOP");
		r = aim_ext4_read_path(fs, "/etc/hostname/x", 4096, &buf, &len);
		ok(r == -ENOTDIR, "file used as a directory: -ENOTDIR");
		r = aim_ext4_read_path(fs, "/etc", 4096, &buf, &len);
		ok(r == -EISDIR, "directory: -EISDIR");
		r = aim_ext4_read_path(fs, "/data/random.bin", 1000, &buf, &len);
		ok(r == -EFBIG && detail_has("307200"), "too large: -EFBIG with the size");
		r = aim_ext4_read_path(fs, "/dev/fifo", 1000, &buf, &len);
		ok(r == -EINVAL, "fifo: not a regular file");
	}
	r = aim_ext4_read_data(fs, 999999999, 10, collect_fn, &c);
	ok(r == -EINVAL && detail_has("999999999"), "read_data of an impossible inode: -EINVAL");

	/* cross-check with debugfs */
	{
		static const char *const paths[] = {
			"/owners/big", "/times/nsec", "/times/y2100", "/times/pre1970",
			"/modes/setuid", "/modes/sticky", "/dev/chr", "/dev/sock",
			"/links/b", "/xattr/acl",
		};
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			check_debugfs(img, t, paths[i]);
	}
out:
	aim_tree_free(t);
	aim_ext4_free(fs);
}

/* ---- other layouts ------------------------------------------------------------------------ */

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || aim_write_full(fd, buf, len) < 0)
		printf("# cannot write %s\n", path);
	if (fd >= 0)
		close(fd);
}

/* inline_data: small files and a symlink stored in the inode. */
static void test_inline(void)
{
	char src[1200], img[1200];
	struct aim_ext4 *fs = NULL;
	struct aim_tree *t = NULL;
	struct aim_node *n;
	struct collect c;
	uint8_t mem[200];
	char body[101];
	int r;

	snprintf(src, sizeof(src), "%s/inline-src", tmp);
	snprintf(img, sizeof(img), "%s/inline.ext4", tmp);
	mkdir(src, 0755);
	{
		char p[1300];
		snprintf(p, sizeof(p), "%s/tiny", src);
		write_file(p, "abc", 3);
		memset(body, 'q', 100);
		body[99] = '\n';
		snprintf(p, sizeof(p), "%s/hundred", src);
		write_file(p, body, 100);
		snprintf(p, sizeof(p), "%s/link", src);
		if (symlink("tiny", p) < 0)
			printf("# symlink: %s\n", strerror(errno));
	}
	r = run("mke2fs -q -F -t ext4 -O inline_data -I 256 -d '%s' '%s' 8M >/dev/null 2>&1", src,
		img);
	if (!ok(r == 0, "mke2fs -O inline_data"))
		return;
	r = aim_ext4_open(img, 0, 0, &fs);
	ok(r == 0, "open inline image (size 0 = to end of file)");
	if (r < 0)
		return;
	r = aim_ext4_load_tree(fs, &t);
	ok(r == 0, "load inline tree");
	if (r < 0)
		goto out;
	n = L(t, "/tiny");
	collect_init(&c);
	c.mem = mem, c.mem_len = sizeof(mem);
	r = n ? aim_ext4_read_data(fs, n->src_ino, n->size, collect_fn, &c) : -1;
	ok(r == 0 && c.next == 3 && c.data_bytes == 3 && !memcmp(mem, "abc", 3),
	   "inline 3-byte file is 3 bytes, not padded to 60");
	n = L(t, "/hundred");
	collect_init(&c);
	c.mem = mem, c.mem_len = sizeof(mem);
	r = n ? aim_ext4_read_data(fs, n->src_ino, n->size, collect_fn, &c) : -1;
	ok(r == 0 && c.next == 100 && !memcmp(mem, body, 100),
	   "inline 100-byte file (system.data)");
	n = L(t, "/hundred");
	ok(n && !xattr(n, "system.data"), "system.data is not exposed as an xattr");
	n = L(t, "/link");
	ok(n && n->target && !strcmp(n->target, "tiny"), "inline-image symlink");
	{
		char *buf = NULL;
		size_t len;
		r = aim_ext4_read_path(fs, "/link", 100, &buf, &len);
		ok(r == 0 && len == 3 && !strcmp(buf, "abc"), "read_path through inline data");
		free(buf);
	}
out:
	aim_tree_free(t);
	aim_ext4_free(fs);
}

/* ext3: block-mapped files with a hole, at an offset inside a bigger image. */
static void test_ext3_offset(void)
{
	char src[1200], img[1200], p[1300];
	struct aim_ext4 *fs = NULL;
	struct aim_ext4_info info;
	struct aim_tree *t = NULL;
	struct aim_node *n;
	struct collect c;
	uint8_t *mem = calloc(1, 1 << 20);
	int r, fd;

	snprintf(src, sizeof(src), "%s/ext3-src", tmp);
	snprintf(img, sizeof(img), "%s/ext3.img", tmp);
	mkdir(src, 0755);
	snprintf(p, sizeof(p), "%s/holey", src);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	aim_pwrite_full(fd, "start", 5, 0);
	aim_pwrite_full(fd, "middle", 6, 512 * 1024);
	aim_pwrite_full(fd, "end", 3, (1 << 20) - 3);
	close(fd);
	r = run("truncate -s 20M '%s' && mke2fs -q -F -t ext3 -b 1024 -E offset=2097152 -d '%s' "
		"'%s' 16M >/dev/null 2>&1",
		img, src, img);
	if (!ok(r == 0, "mke2fs -t ext3 at offset 2 MiB"))
		goto out;
	fd = open(img, O_RDONLY);
	is_int(aim_ext4_probe(fd, 2 << 20, 16 << 20), 1, "probe at the offset");
	is_int(aim_ext4_probe(fd, 0, 16 << 20), 0, "probe at 0 says no");
	close(fd);
	r = aim_ext4_open(img, 2 << 20, 16 << 20, &fs);
	if (!ok(r == 0, "open ext3 at an offset"))
		goto out;
	aim_ext4_get_info(fs, &info);
	is_str(info.type, "ext3", "type ext3");
	is_int(info.block_size, 1024, "1 KiB blocks");
	ok(!strstr(info.features, "extent"), "no extents feature");
	r = aim_ext4_load_tree(fs, &t);
	n = r == 0 ? L(t, "/holey") : NULL;
	collect_init(&c);
	c.mem = mem, c.mem_len = 1 << 20;
	r = n ? aim_ext4_read_data(fs, n->src_ino, n->size, collect_fn, &c) : -1;
	ok(r == 0 && c.order_ok && c.next == 1 << 20 && !memcmp(mem, "start", 5) &&
		   !memcmp(mem + 512 * 1024, "middle", 6) && !memcmp(mem + (1 << 20) - 3, "end", 3),
	   "block-mapped file content");
	ok(c.nholes >= 2 && c.data_bytes <= 4 * 1024, "block-mapped holes are holes (%llu, %llu)",
	   (unsigned long long)c.nholes, (unsigned long long)c.data_bytes);
	r = aim_ext4_open(img, 2 << 20, 8 << 20, &fs);
	ok(r == -EBADMSG && detail_has("partition"), "fs larger than its partition: -EBADMSG");
out:
	free(mem);
	aim_tree_free(t);
	aim_ext4_free(fs);
}

static void corrupt_copy(const char *from, const char *to, uint64_t off, const void *bytes,
			 size_t len)
{
	int fd;

	run("cp --sparse=always '%s' '%s'", from, to);
	fd = open(to, O_WRONLY);
	aim_pwrite_full(fd, bytes, len, off);
	close(fd);
}

static void test_broken(void)
{
	char img[1200], bad[1200], fat[1200], enc[1200], src[1200], p[1300];
	struct aim_ext4 *fs = NULL;
	struct aim_ext4_info info;
	struct aim_tree *t = NULL;
	int r;

	snprintf(img, sizeof(img), "%s/small.ext4", tmp);
	snprintf(bad, sizeof(bad), "%s/bad.ext4", tmp);
	r = run("mke2fs -q -F -t ext4 '%s' 8M >/dev/null 2>&1", img);
	ok(r == 0, "mke2fs small");

	corrupt_copy(img, bad, 1024 + 56, "\0\0", 2);
	aim_error_clear();
	r = aim_ext4_open(bad, 0, 8 << 20, &fs);
	ok(r == -EBADMSG && detail_has("no ext2/3/4 superblock at byte 0"),
	   "zeroed magic: -EBADMSG, no superblock");

	corrupt_copy(img, bad, 1024 + 24, "\x7f\0\0\0", 4);
	r = aim_ext4_open(bad, 0, 8 << 20, &fs);
	ok(r == -EBADMSG && detail_has("superblock is corrupt"),
	   "garbage s_log_block_size: -EBADMSG, corrupt");

	corrupt_copy(img, bad, 1024 + 96 + 2, "\x04", 1); /* incompat bit 18: unknown */
	r = aim_ext4_open(bad, 0, 8 << 20, &fs);
	ok(r == -EOPNOTSUPP && detail_has("FEATURE_I18"), "unknown incompat feature named");

	r = aim_ext4_open(img, 0, 1500, &fs);
	ok(r == -EBADMSG && detail_has("too small"), "partition too small for a superblock");

	r = aim_ext4_open("/nonexistent/x.img", 0, 0, &fs);
	ok(r == -ENOENT && detail_has("/nonexistent/x.img"), "missing image: -ENOENT");

	snprintf(fat, sizeof(fat), "%s/fat.img", tmp);
	r = run("mkfs.vfat -C '%s' 4096 >/dev/null 2>&1 || /sbin/mkfs.vfat -C '%s' 4096 >/dev/null",
		fat, fat);
	if (ok(r == 0, "mkfs.vfat")) {
		int fd = open(fat, O_RDONLY);
		is_int(aim_ext4_probe(fd, 0, 4 << 20), 0, "probe on FAT says no");
		close(fd);
		r = aim_ext4_open(fat, 0, 4 << 20, &fs);
		ok(r == -EBADMSG && detail_has("no ext2/3/4 superblock"), "FAT: -EBADMSG");
	}

	/* The encrypt feature alone is fine (the kernel mounts it); an encrypted inode is not. */
	snprintf(src, sizeof(src), "%s/enc-src", tmp);
	snprintf(enc, sizeof(enc), "%s/enc.ext4", tmp);
	mkdir(src, 0755);
	snprintf(p, sizeof(p), "%s/secret", src);
	write_file(p, "plain\n", 6);
	r = run("mke2fs -q -F -t ext4 -O encrypt -d '%s' '%s' 8M >/dev/null 2>&1", src, enc);
	ok(r == 0, "mke2fs -O encrypt");
	r = aim_ext4_open(enc, 0, 0, &fs);
	ok(r == 0, "encrypt feature alone: opens");
	if (r == 0) {
		aim_ext4_get_info(fs, &info);
		ok(strstr(info.features, "encrypt") != NULL, "encrypt listed in features");
		r = aim_ext4_load_tree(fs, &t);
		ok(r == 0, "no encrypted inodes: tree loads");
		t = aim_tree_free(t);
		fs = aim_ext4_free(fs);
	}
	r = run("debugfs -w -R 'sif /secret flags 0x80800' '%s' >/dev/null 2>&1", enc);
	ok(r == 0, "debugfs sets EXT4_ENCRYPT_FL");
	r = aim_ext4_open(enc, 0, 0, &fs);
	if (r == 0) {
		r = aim_ext4_load_tree(fs, &t);
		ok(r == -EOPNOTSUPP && detail_has("/secret") && detail_has("encrypted"),
		   "encrypted inode: -EOPNOTSUPP naming the path");
		aim_tree_free(t);
		aim_ext4_free(fs);
	}

	/* Corrupt structures found while walking or reading. */
	snprintf(src, sizeof(src), "%s/corrupt-src", tmp);
	snprintf(bad, sizeof(bad), "%s/corrupt.ext4", tmp);
	mkdir(src, 0755);
	snprintf(p, sizeof(p), "%s/d", src);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/f", src);
	{
		static uint8_t blk[8192];
		memset(blk, 'f', sizeof(blk));
		write_file(p, blk, sizeof(blk));
	}
	r = run("mke2fs -q -F -t ext4 -d '%s' '%s' 8M >/dev/null 2>&1 && "
		"debugfs -w -R 'ln /d /d/loop' '%s' >/dev/null 2>&1 && "
		"debugfs -w -R 'sif /f block[5] 0x7ffffff0' '%s' >/dev/null 2>&1",
		src, bad, bad, bad);
	ok(r == 0, "debugfs makes a directory loop and an extent beyond the fs");
	r = aim_ext4_open(bad, 0, 0, &fs);
	if (r == 0) {
		r = aim_ext4_load_tree(fs, &t);
		ok(r == -EBADMSG && detail_has("/d/loop") && detail_has("loop"),
		   "directory loop: -EBADMSG naming the path");
		t = aim_tree_free(t);
		{
			char *buf = NULL;
			size_t len;

			r = aim_ext4_read_path(fs, "/f", 1 << 20, &buf, &len);
			ok(r == -EBADMSG && detail_has("beyond the filesystem"),
			   "extent beyond the fs: -EBADMSG");
		}
		fs = aim_ext4_free(fs);
	}

	/* A dirty journal is reported, not refused. */
	r = run("debugfs -w -R 'feature needs_recovery' '%s' >/dev/null 2>&1", img);
	r = r ?: aim_ext4_open(img, 0, 0, &fs);
	if (ok(r == 0, "needs_recovery fs opens")) {
		aim_ext4_get_info(fs, &info);
		is_int(info.needs_recovery, 1, "needs_recovery reported");
		fs = aim_ext4_free(fs);
	}
}

/* ---- throughput --------------------------------------------------------------------------- */

struct bench {
	struct aim_ext4 *fs;
	uint64_t bytes, files;
	int r;
};

static int bench_cb(void *ud, uint64_t off, const void *buf, size_t len)
{
	struct bench *b = ud;
	(void)off;
	(void)buf;
	b->bytes += len;
	return 0;
}

static int bench_visit(void *ud, struct aim_node *n)
{
	struct bench *b = ud;
	if (n->src == AIM_DATA_SOURCE && !n->link) {
		int r = aim_ext4_read_data(b->fs, n->src_ino, n->size, bench_cb, b);
		if (r < 0)
			return b->r = r;
		b->files++;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(const char *dir)
{
	char img[1200];
	struct bench b = {};
	struct aim_tree *t = NULL;
	double t0, t1, t2;
	int r;

	snprintf(img, sizeof(img), "%s/bench.ext4", tmp);
	r = run("mke2fs -q -F -t ext4 -d '%s' '%s' 2G >/dev/null 2>&1", dir, img);
	if (!ok(r == 0, "bench image from %s", dir))
		return;
	if (getenv("AIM_EXT4_BENCH_COLD")) /* drop this file's pages from the page cache */
		run("dd if='%s' iflag=nocache count=0 status=none", img);
	else
		run("cat '%s' >/dev/null", img);
	if (aim_ext4_open(img, 0, 0, &b.fs) < 0)
		return;
	t0 = now();
	r = aim_ext4_load_tree(b.fs, &t);
	t1 = now();
	if (r == 0)
		r = aim_tree_walk(t, bench_visit, &b);
	t2 = now();
	ok(r == 0,
	   "bench: %zu nodes, load_tree %.3f s; %llu files, %.1f MB data in %.3f s = %.0f MB/s",
	   t ? t->nnodes : 0, t1 - t0, (unsigned long long)b.files, b.bytes / 1e6, t2 - t1,
	   b.bytes / 1e6 / (t2 - t0));
	aim_tree_free(t);
	aim_ext4_free(b.fs);
}

int main(void)
{
	const char *td = getenv("TMPDIR");

	top = getenv("AIM_TOP") ?: ".";
	if (sodium_init() < 0)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s/test-ext4.XXXXXX", td && *td ? td : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("not ok 1 - mkdtemp\n1..1\n");
		return 1;
	}
	test_fixture();
	test_inline();
	test_ext3_offset();
	test_broken();
	if (getenv("AIM_EXT4_BENCH_DIR"))
		bench(getenv("AIM_EXT4_BENCH_DIR"));
	run("rm -rf '%s'", tmp);
	return done_testing();
}
