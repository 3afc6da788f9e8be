/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/verity.c against cryptsetup-bin's veritysetup on the same data: the appended tree
 * (no superblock) byte for byte and the root hash equal to `veritysetup format
 * --no-superblock --salt --hash-offset`; `veritysetup verify` accepts ours and refuses
 * it after one flipped data byte, as aim_verity_verify() does; the tree size formula; the
 * salt derivation; two runs on the same input give the same bytes; the tree on a file
 * reached through /proc/self/fd (how the slot step calls it).
 */
#include "verity.h"
#include "delta-tree.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"
#include "tap.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "util/sha256.h"

static const char *hex(const uint8_t *b, size_t n)
{
	static char h[2][129];
	static int k;

	k ^= 1;
	for (size_t i = 0; i < n; i++)
		snprintf(h[k] + 2 * i, 3, "%02x", b[i]);
	return h[k];
}

/* A file of n bytes of patterned data (not a 4 KiB multiple when n is not). */
static int make_data(const char *path, size_t n, unsigned seed)
{
	uint8_t *b = malloc(n ? n : 1);
	int fd, r;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 2654435761u + seed) >> 7);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	r = fd < 0 ? -errno : aim_pwrite_full(fd, b, n, 0);
	if (fd >= 0)
		close(fd);
	free(b);
	return r;
}

/* The tree a delta install makes on the device (lib/delta-tree.c) from the data of the
 * formatted file a, fed in pieces of odd sizes, is the file's tree byte for byte; one fed
 * out of order makes none (the installer then fetches it). */
static void check_vtree(const char *a, const struct aim_verity *v, const uint8_t salt[32])
{
	struct aim_vtree *t = NULL;
	uint8_t *file = NULL, *tree = NULL;
	size_t len = 0;
	uint64_t off = 0;
	int r = aim_read_file(a, 64 << 20, (char **)&file, &len);

	if (v->data_blocks < 2) {
		is_int(aim_vtree_new(v->data_blocks, v->hash_size, salt, 32, &t), -EINVAL,
		       "device tree: none for %" PRIu64 " data block", v->data_blocks);
		free(file);
		return;
	}
	ok(r == 0 && len == v->hash_offset + v->hash_size, "device tree: the file read");
	is_int(aim_vtree_new(v->data_blocks, v->hash_size + 4096, salt, 32, &t), -EINVAL,
	       "device tree: a hash area of the wrong size is refused");
	is_int(aim_vtree_new(v->data_blocks, v->hash_size, salt, 32, &t), 0, "device tree: new");
	for (size_t k = 1; r == 0 && off < v->hash_offset; k = k * 7 % 40000 + 1) {
		size_t n = (size_t)MIN((uint64_t)k, v->hash_offset - off);
		r = aim_vtree_feed(t, off, file + off, n);
		off += n;
	}
	tree = malloc(v->hash_size);
	is_int(r == 0 && tree ? aim_vtree_read(t, 0, tree, v->hash_size) : -1, 0,
	       "device tree: built from the data fed in odd pieces");
	ok(tree && !memcmp(tree, file + v->hash_offset, v->hash_size),
	   "device tree: byte for byte libcryptsetup's (%" PRIu64 " bytes)", v->hash_size);
	aim_vtree_free(t);
	t = NULL;
	aim_vtree_new(v->data_blocks, v->hash_size, salt, 32, &t);
	aim_vtree_feed(t, 4096, file + 4096, 4096);
	is_int(aim_vtree_read(t, 0, tree, 32), -EAGAIN, "device tree: none after a gap in the feed");
	aim_vtree_free(t);
	free(tree);
	free(file);
}

int main(void)
{
	static const uint64_t sizes[] = {4096, 100000, 128 * 4096, 128 * 4096 + 1,
					 3 * 1024 * 1024 + 17};
	char dir[] = "/tmp/aim-verity-XXXXXX", a[64], b[64];
	uint8_t salt[32], salt2[32], pk[32];
	struct aim_verity v, v2;
	int have_vs = run("command -v veritysetup >/dev/null") == 0;

	ok(mkdtemp(dir) != NULL, "set-up");
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);

	/* ---- salt ---- */
	is_int(aim_verity_salt(NULL, salt), 0, "salt without a key");
	is_str(hex(salt, 32), out("printf 'armimmutable verity salt v1\\n' | sha256sum | cut -c1-64"),
	       "salt = SHA-256 of the label alone");
	for (int i = 0; i < 32; i++)
		pk[i] = (uint8_t)(i * 7 + 1);
	aim_verity_salt(pk, salt2);
	{
		FILE *f = fopen(b, "w");
		fputs("armimmutable verity salt v1\n", f);
		fwrite(pk, 1, 32, f);
		fclose(f);
	}
	is_str(hex(salt2, 32), out("sha256sum %s | cut -c1-64", b), "salt = SHA-256 of label || pk");

	/* ---- tree size ---- */
	is_int((int)aim_verity_tree_size(1), 0, "1 data block: no tree (its hash is the root)");
	is_int((int)aim_verity_tree_size(2), 4096, "2 data blocks: one hash block");
	is_int((int)aim_verity_tree_size(128), 4096, "128 data blocks: one hash block");
	is_int((int)aim_verity_tree_size(129), 3 * 4096, "129: two blocks and a root block");
	is_int((int)aim_verity_tree_size(128 * 128 + 1), (129 + 2 + 1) * 4096,
	       "16385: three levels");

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = sizes[i], h;
		struct stat st;
		char vsroot[80] = "";

		ok(make_data(a, n, (unsigned)i) == 0 && make_data(b, n, (unsigned)i) == 0,
		   "%" PRIu64 " bytes of data", n);
		is_int(aim_verity_format(a, n, salt2, &v), 0, "format (%" PRIu64 " bytes)", n);
		h = (n + 4095) / 4096 * 4096;
		ok(v.hash_offset == h && v.data_blocks == h / 4096 &&
		   v.hash_size == aim_verity_tree_size(v.data_blocks),
		   "hash offset %" PRIu64 ", %" PRIu64 " data blocks", v.hash_offset, v.data_blocks);
		ok(stat(a, &st) == 0 && (uint64_t)st.st_size == h + v.hash_size,
		   "the file ends with the tree");
		is_int(aim_verity_verify(a, &v), 0, "our own check accepts it");
		check_vtree(a, &v, salt2);
		if (!have_vs) {
			ok(1, "# SKIP veritysetup (cryptsetup-bin) not installed");
			continue;
		}
		/* veritysetup on the same data: zero padding to 4 KiB is part of the data. */
		run("truncate -s %" PRIu64 " %s", h, b);
		snprintf(vsroot, sizeof(vsroot), "%s",
			 out("veritysetup format --no-superblock --salt=%s --hash-offset=%" PRIu64
			     " --data-blocks=%" PRIu64 " %s %s 2>&1 | sed -n 's/^Root hash:[[:space:]]*//p'",
			     hex(salt2, 32), h, h / 4096, b, b));
		is_str(hex(v.root, 32), vsroot, "root hash as veritysetup's");
		is_int(run("cmp -s %s %s", a, b), 0, "tree byte for byte as veritysetup's");
		is_int(run("veritysetup verify --no-superblock --salt=%s --hash-offset=%" PRIu64
			   " --data-blocks=%" PRIu64 " %s %s %s >/dev/null 2>&1",
			   hex(salt2, 32), h, h / 4096, a, a, hex(v.root, 32)),
		       0, "veritysetup verify accepts ours");
		/* one flipped byte in the data */
		run("printf '\\001' | dd of=%s bs=1 seek=%" PRIu64 " conv=notrunc status=none", a,
		    n / 2);
		ok(run("veritysetup verify --no-superblock --salt=%s --hash-offset=%" PRIu64
		       " --data-blocks=%" PRIu64 " %s %s %s >/dev/null 2>&1",
		       hex(salt2, 32), h, h / 4096, a, a, hex(v.root, 32)) != 0,
		   "veritysetup verify refuses one flipped data byte");
		is_int(aim_verity_verify(a, &v), -EPERM, "so does ours");
		ok(aim_error_detail() && strstr(aim_error_detail(), "failed"), "with a reason: %s",
		   aim_error_detail() ? aim_error_detail() : "");
	}

	/* ---- determinism, and a path through /proc/self/fd ---- */
	{
		char p[64];
		int fd;

		make_data(a, 300000, 9);
		make_data(b, 300000, 9);
		aim_verity_format(a, 300000, salt, &v);
		fd = open(b, O_RDWR);
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		unlink(b);
		is_int(aim_verity_format(p, 300000, salt, &v2), 0, "format through /proc/self/fd");
		ok(!memcmp(&v, &v2, sizeof(v)), "two runs: the same parameters and root");
		{
			char c[64];
			snprintf(c, sizeof(c), "%s/c", dir);
			run("cat %s > %s", p, c);
			is_int(run("cmp -s %s %s", a, c), 0, "two runs: the same bytes");
		}
		close(fd);
		aim_verity_salt(NULL, salt2);
		make_data(b, 300000, 9);
		aim_verity_format(b, 300000, pk, &v2);
		ok(memcmp(v.root, v2.root, 32) != 0, "another salt, another root");
	}
	/* errors */
	is_int(aim_verity_format("/nonexistent/x", 4096, salt, &v), -ENOENT, "missing file");
	make_data(a, 100, 1);
	is_int(aim_verity_format(a, 4096, salt, &v), -EINVAL, "file shorter than its data");
	run("rm -rf %s", dir);
	return done_testing();
}
