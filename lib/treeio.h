/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree's file data: streamed from its source, whole-file reads, extraction of a subtree
 * to a host directory. */
#ifndef AIM_TREEIO_H
#define AIM_TREEIO_H

#include <stddef.h>

#include "tree.h"

/* Streams a regular file's content (n->size bytes) from its source, in offset order,
 * holes as NULL: AIM_DATA_SOURCE through t->source, AIM_DATA_MEM from memory,
 * AIM_DATA_HOST in 1 MiB chunks (holes found with SEEK_DATA are given as NULL; a host
 * file shorter than n->size gives -EIO). */
int aim_tree_read_data(const struct aim_tree *t, const struct aim_node *n, aim_data_fn fn,
		       void *ud);

/* Reads a regular file of at most max bytes into a NUL-terminated buffer (-EFBIG). */
int aim_tree_read_small(const struct aim_tree *t, const struct aim_node *n, size_t max,
			char **ret, size_t *ret_len);

/* The same for a file by path (symlinks resolved), trying /usr/lib/... for a /lib/... path
 * that is absent (merged /usr). -ENOENT when absent. */
int aim_tree_read_path(const struct aim_tree *t, const char *path, size_t max, char **ret,
		       size_t *ret_len);

/* Resolves a symlink chain inside the tree starting at n (at most 16 hops): the node
 * a path finally names, or NULL if it dangles or loops. */
struct aim_node *aim_tree_resolve(const struct aim_tree *t, struct aim_node *n);

/* Writes the subtree under dir (its children) into the host directory dest, which must
 * exist. Regular files are copied with their mtimes; symlinks are replaced by copies of
 * their targets when deref is set (for FAT), dangling ones are skipped; other inode
 * types are skipped. Returns the number of bytes written. */
int aim_tree_extract(const struct aim_tree *t, struct aim_node *dir, const char *dest, int deref,
		     uint64_t *ret_bytes);

#endif
