/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ext2/3/4 reader (lib/ext4.c, on libext2fs): the input is a small filesystem image
 * (an in-memory file); open, info, the whole tree walk, a path lookup and the data of the
 * first regular files.
 */
#include "fuzz.h"

#include "ext4.h"

struct reads {
	struct aim_ext4 *fs;
	int left;
};

static int sink(void *ud, uint64_t off, const void *buf, size_t len)
{
	(void)ud;
	(void)off;
	(void)buf;
	(void)len;
	return 0;
}

static int visit(void *ud, struct aim_node *n)
{
	struct reads *r = ud;

	if (n->src == AIM_DATA_SOURCE && r->left > 0 && n->size <= (1u << 20)) {
		r->left--;
		aim_ext4_read_data(r->fs, n->src_ino, n->size, sink, NULL);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_ext4 *fs = NULL;
	struct aim_ext4_info info;
	struct aim_tree *t = NULL;
	char path[32], *buf = NULL;
	size_t len;
	int fd = fuzz_memfd(data, size, path);

	if (aim_ext4_probe(fd, 0, size) == 1 && aim_ext4_open(path, 0, size, &fs) == 0) {
		aim_ext4_get_info(fs, &info);
		if (aim_ext4_load_tree(fs, &t) == 0) {
			struct reads r = {fs, 4};

			aim_tree_walk(t, visit, &r);
			aim_tree_free(t);
		}
		if (aim_ext4_read_path(fs, "/etc/armbian-release", 4096, &buf, &len) == 0)
			free(buf);
		aim_ext4_free(fs);
	}
	close(fd);
	return 0;
}
