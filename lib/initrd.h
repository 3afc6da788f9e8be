/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Make an existing initramfs boot a converted image, without rebuilding it: append a
 * second, uncompressed newc cpio archive (the kernel unpacks concatenated archives in
 * order, later entries replace earlier ones) holding /sbin/aim-boot, our local-bottom
 * script, initramfs-tools' ORDER for local-bottom (the original's lines plus ours), the
 * squashfs/overlay modules with their dependencies, and an updated modules.dep,
 * modules.dep.bin (what kmod's modprobe reads, kmod.h) and /conf/modules (what init
 * loads).
 *
 * The input is a legacy U-Boot uImage (IH_TYPE_RAMDISK, Armbian's uInitrd) or a raw
 * initramfs (initrd.img-<kver>): any sequence of uncompressed, gzip, zstd or xz cpio
 * archives. A uImage comes back as a uImage with the same header fields and new size
 * and CRCs (byte-identical to mkimage for the same payload and time). docs/initrd.md.
 */
#ifndef AIM_INITRD_H
#define AIM_INITRD_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct aim_initrd_file {
	const char *path; /* under lib/modules/<kver>/: kernel/fs/squashfs/squashfs.ko */
	const void *data;
	size_t len;
};

struct aim_initrd_add {
	const char *kver;		/* kernel release: lib/modules/<kver>/ (required) */
	const void *aim_boot;		/* static aim-boot for the image's arch -> /sbin/aim-boot */
	size_t aim_boot_len;
	const void *local_bottom;	/* hooks/.../local-bottom/armimmutable text */
	size_t local_bottom_len;
	const struct aim_initrd_file *modules;	/* module files to add (may be 0) */
	size_t n_modules;
	/* The image's lib/modules/<kver>/modules.dep: the lines for the added modules are
	 * copied from it into the initramfs's modules.dep (required when n_modules > 0). */
	const char *modules_dep;
	/* Module names appended to /conf/modules (loaded by init before the root is
	 * mounted), NULL-terminated, e.g. {"squashfs", "overlay", NULL}; may be NULL. */
	const char *const *load;
	/* Further files, paths from the initramfs root (etc/armimmutable/keys/<id>.pub: the
	 * keys aim-boot checks slot.env with), at most AIM_INITRD_FILES_MAX; mode 0644. */
	const struct aim_initrd_file *files;
	size_t n_files;
	uint32_t mtime;			/* of every added cpio entry */
};
#define AIM_INITRD_FILES_MAX 16

/* Patches in[0..in_len) (uImage or raw initramfs). On success *ret (malloc'd, caller
 * frees) holds the result. Errors: -EBADMSG (bad uImage header/CRC/size, truncated or
 * corrupt archive), -EOPNOTSUPP (lz4, bzip2, lzma, lzo payloads; not a ramdisk uImage),
 * -EINVAL (missing arguments, a module not in add->modules_dep), -ENOMEM; detail via
 * aim_error_detail(). */
int aim_initrd_patch(const void *in, size_t in_len, const struct aim_initrd_add *add, void **ret,
		     size_t *ret_len);

/* The same, streaming: reads the file in_fd (from offset 0, to its size) and writes the
 * result at out_fd's file position; memory stays small whatever the initramfs's size (the
 * entry list, symlink targets and the few files that are extended). *ret_len: bytes
 * written (may be NULL). On error, part of the output may have been written. */
int aim_initrd_patch_fd(int in_fd, int out_fd, const struct aim_initrd_add *add,
			uint64_t *ret_len);

/* aim_initrd_patch_fd() in two steps, for several files with the same payload (a raw
 * initrd.img and the uInitrd made from it): the archive that is appended, built once
 * from one of them (*ret: free with aim_buf_free()), then each file written with it
 * (its own uImage header, if any, updated: sizes, CRCs, and the time set to mtime, so
 * that the same initramfs gives the same file whenever its uImage was made). Same errors
 * as aim_initrd_patch(). */
int aim_initrd_archive_fd(int in_fd, const struct aim_initrd_add *add, struct aim_buf *ret);
int aim_initrd_append_fd(int in_fd, const struct aim_buf *archive, uint32_t mtime, int out_fd);

/* Where an initramfs file's payload is, for comparing files: after a uImage header
 * whose size fits the file (not otherwise checked), else the whole file. */
int aim_initrd_payload_fd(int fd, uint64_t *off, uint64_t *len);

#endif
