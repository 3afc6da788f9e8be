/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Full reads and writes, and the write-temp/fsync/rename pattern for every output. */
#ifndef AIM_BASE_FILEIO_H
#define AIM_BASE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pread/pwrite that loop over short transfers. A read past EOF gives -EBADMSG
 * ("truncated"): callers read structures that must be there. */
int aim_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pread that loops until len bytes or end of file: the byte count, or -errno. */
ssize_t aim_pread_upto(int fd, void *buf, size_t len, uint64_t off);
int aim_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int aim_write_full(int fd, const void *buf, size_t len);

/* Reads a whole small file (at most max bytes, else -EFBIG), NUL-terminated. */
int aim_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Reads at most cap-1 bytes of a small file (/proc, sysfs, boot.env) into buf,
 * NUL-terminated; the byte count or -errno (errno set too). Longer files are cut. */
ssize_t aim_read_text(const char *path, char *buf, size_t cap);

/* mkdir -p: creates path and its missing parents with mode; 0 when it exists. -errno,
 * with errno set, for the first component that fails (-ENAMETOOLONG past PATH_MAX). */
int aim_mkdir_p(const char *path, mode_t mode);

/* fsync of a directory, so that its entries (renames, new files) are on the disk. */
int aim_fsync_dir(const char *path);
/* The same for the directory that holds path. */
int aim_fsync_parent(const char *path);

/* Atomic replace: writes path.tmp.XXXXXX, fsyncs it, renames it over path and
 * fsyncs the directory. Nothing half-written is ever visible under path. */
int aim_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode);

/* An output file under construction: created as "<path>.tmp-<pid>" beside path,
 * committed (fsync + rename + directory fsync) or aborted (unlink). */
struct aim_outfile {
	int fd;
	char *path;
	char *tmp;
};
int aim_outfile_open(struct aim_outfile *o, const char *path, int force);
int aim_outfile_commit(struct aim_outfile *o);
void aim_outfile_abort(struct aim_outfile *o);

#endif
