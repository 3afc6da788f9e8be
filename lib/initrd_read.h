/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading an initramfs payload for initrd.c (internal): streamed the way the kernel's
 * init/initramfs.c walks it, keeping the entry list, symlink targets and the contents of
 * the files initrd.c extends; paths resolved through the archive's own symlinks.
 */
#ifndef AIM_INITRD_READ_H
#define AIM_INITRD_READ_H

#include <stddef.h>
#include <stdint.h>

/* The input: a file (mem NULL) or a buffer. */
struct aim_initrd_src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

int aim_initrd_src_read(const struct aim_initrd_src *s, void *buf, size_t len, uint64_t off);

struct aim_initrd_entry {
	char *name; /* normalised: no leading "./" or "/", "" for the root */
	uint32_t mode;
	uint8_t *data; /* symlink targets and the files we extend; else NULL */
	size_t size;
};

struct aim_initrd_archive {
	struct aim_initrd_entry *e;
	size_t n, cap;
};

void aim_initrd_archive_free(struct aim_initrd_archive *a);

/* Reads the payload s[base, base + plen) into a. */
int aim_initrd_walk(const struct aim_initrd_src *s, uint64_t base, uint64_t plen,
		    struct aim_initrd_archive *a);

/* The last entry named name (normalised), or NULL. */
const struct aim_initrd_entry *aim_initrd_lookup(const struct aim_initrd_archive *a,
						 const char *name);
/* Resolves path through the archive's symlinks (every component, the last one too).
 * Components that do not exist are kept literally. *ret: malloc'd canonical path. */
int aim_initrd_resolve(const struct aim_initrd_archive *a, const char *path, char **ret);
/* The regular file at path (resolved), or NULL. */
const struct aim_initrd_entry *aim_initrd_find_file(const struct aim_initrd_archive *a,
						    const char *path);

#endif
