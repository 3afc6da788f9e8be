/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An in-memory file tree (metadata only; file data stays where it is and is streamed on
 * demand through treeio.h). Filled from an ext4 root by ext4.c, changed by the conversion
 * transforms, written out by squashfs.c, and compared by the tests. Children are kept
 * sorted by strcmp() on the name, which is the order squashfs directories need.
 */
#ifndef AIM_TREE_H
#define AIM_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct aim_xattr {
	char *name;     /* full name with namespace prefix: "security.capability" */
	uint8_t *value; /* POSIX ACLs in the VFS (v2) format */
	size_t len;
};

enum aim_data_src {
	AIM_DATA_NONE,   /* empty file, or not a regular file */
	AIM_DATA_SOURCE, /* read through the tree's data source, key src_ino */
	AIM_DATA_MEM,    /* mem/mem_len, owned by the node */
	AIM_DATA_HOST,   /* a file on the host, host_path */
};

/* Data streaming: buf == NULL means a hole (len zero bytes). Return <0 to stop. */
typedef int (*aim_data_fn)(void *ud, uint64_t off, const void *buf, size_t len);

/* Where the data of a tree's AIM_DATA_SOURCE nodes comes from: the filesystem the tree was
 * loaded from (ext4.c sets one up for its trees; an existing squashfs slot or an EROFS
 * image can be another). read streams the size bytes of the file keyed key (an inode
 * number) in offset order, holes as NULL, as aim_tree_read_data does. */
struct aim_data_source {
	const char *name; /* "ext4": for messages */
	int (*read)(void *ctx, uint64_t key, uint64_t size, aim_data_fn fn, void *ud);
	void *ctx;
};

struct aim_node {
	char *name; /* "" for the root */
	struct aim_node *parent;
	struct aim_node *children; /* first child, sorted by name (strcmp) */
	struct aim_node *next;     /* next sibling */
	struct aim_node *last;     /* last child (tree.c keeps it; makes sorted adds O(1)) */

	uint32_t mode; /* S_IFMT type bits and all 12 permission bits */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint64_t size;     /* regular file size; symlink target length */
	uint64_t rdev;     /* block/char devices: makedev(major, minor) */
	char *target;      /* symlink target */
	struct aim_xattr *xattrs; /* sorted by name */
	size_t nxattrs;

	/* Hard links: every name of a multiply-linked inode is its own node; all but the
	 * first (in tree order) point to the first through link. nlink counts the names
	 * the group has in this tree. */
	struct aim_node *link;
	uint32_t nlink;

	enum aim_data_src src;
	uint64_t src_ino;
	void *mem;
	size_t mem_len;
	char *host_path;

	/* Scratch space for a writer; zero when the tree is built. */
	void *priv;
	uint64_t priv_u64[2];
};

struct aim_tree {
	struct aim_node *root;
	size_t nnodes;
	const struct aim_data_source *source; /* for AIM_DATA_SOURCE nodes (borrowed) */
};

int aim_tree_new(struct aim_tree **ret);
struct aim_tree *aim_tree_free(struct aim_tree *t);

/* Creates a node named name under parent, inserted in sorted order (appending names
 * that sort last is O(1)). The node has nlink 1, everything else zero. -EEXIST if the
 * name exists, -EINVAL for "", ".", "..", a name with '/' or longer than 255 bytes,
 * -ENOTDIR if parent is not a directory. */
int aim_tree_add(struct aim_tree *t, struct aim_node *parent, const char *name, uint32_t mode,
		 struct aim_node **ret);
/* Finds "/a/b/c" (absolute, no symlinks followed). NULL if absent. */
struct aim_node *aim_tree_lookup(const struct aim_tree *t, const char *path);
/* Like lookup, but creates missing directories (mode 0755, root-owned, mtime 0).
 * -ENOTDIR if a component exists and is not a directory. */
int aim_tree_mkdir_p(struct aim_tree *t, const char *path, struct aim_node **ret);
/* Removes node and its subtree; hard-link groups are repaired: the group's next name
 * (in tree order) becomes its first node, and nlink drops by the names removed in every
 * remaining member. Removing the root empties the tree instead. */
void aim_tree_remove(struct aim_tree *t, struct aim_node *n);
/* Replaces a regular file's content with a copy of buf. */
int aim_tree_set_mem(struct aim_node *n, const void *buf, size_t len);
int aim_tree_set_xattr(struct aim_node *n, const char *name, const void *val, size_t len);

/* The node's absolute path ("/" for the root), malloc'ed. */
char *aim_tree_path(const struct aim_node *n);

/* Depth-first, pre-order, children in sorted order. Stops at the first fn() < 0. */
typedef int (*aim_tree_visit_fn)(void *ud, struct aim_node *n);
int aim_tree_walk(struct aim_tree *t, aim_tree_visit_fn fn, void *ud);

#endif
