/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel modules of an image or an initramfs: modules.dep text (the module files one
 * module needs, transitively) and kmod's binary modules.dep.bin (what modprobe reads),
 * built from modules.dep text as depmod does.
 */
#ifndef AIM_MODDEP_H
#define AIM_MODDEP_H

#include <stddef.h>

/* One "path: deps..." line of modules.dep text (pointing into the text). */
struct aim_kmod_dep {
	const char *line; /* start of the line in the text */
	size_t len;	  /* without the newline */
	size_t path_len;  /* up to the ':' */
	char name[64];	  /* module name of the path */
};

/* Splits modules.dep text into its module lines (other lines are ignored); *ret is
 * malloc'd (free it), NULL when there are none. */
int aim_kmod_dep_parse(const char *text, struct aim_kmod_dep **ret, size_t *ret_n);
const struct aim_kmod_dep *aim_kmod_dep_by_path(const struct aim_kmod_dep *v, size_t n,
						const char *path, size_t plen);

/* The modules (paths relative to lib/modules/<kver>/, as modules.dep spells them) that
 * loading names[] needs, dependencies included (transitively), each once, dependencies
 * before their users. names are module names ("squashfs", "overlay"; '-' and '_' are
 * the same). A name without a modules.dep line is looked up in modules_builtin (the
 * image's modules.builtin text, may be NULL): built-in names are skipped, others give
 * -ENOENT naming the module. *ret is a NULL-terminated malloc'd array of malloc'd
 * strings: free with aim_strv_free() (base/buf.h). */
int aim_kmod_deps(const char *modules_dep, const char *modules_builtin,
		  const char *const *names, char ***ret);

/* Module name of a module path: basename without .ko[.xz|.zst|.gz], '-' -> '_'. Writes
 * at most size bytes to buf (NUL-terminated); returns 0 or -EINVAL (not a .ko name). */
int aim_kmod_modname(const char *path, char *buf, size_t size);
/* A module name as written by a user ("dm-mod") in its canonical form ("dm_mod"). */
void aim_kmod_name_norm(const char *in, char *buf, size_t size);

/* kmod's binary modules.dep.bin, built from modules.dep text (priority = line number,
 * as depmod does). */
int aim_kmod_depbin(const char *modules_dep, void **ret, size_t *ret_len);

#endif
