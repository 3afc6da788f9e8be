/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* convert's OUTPUT: raw, or .xz/.zst with OUT.sha256 (convert-out.h). */
/* Not in the device build: it has no convert. */
#ifndef AIM_DEVICE_BUILD
#include "convert-out.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "base/log.h"
#include "base/macro.h"
#include "util/sha256.h"

/* The temporary names a signal must remove. */
static char tmp_img[4200], tmp_sum[4200];

void conv_out_cleanup(void)
{
	if (tmp_img[0])
		unlink(tmp_img);
	if (tmp_sum[0])
		unlink(tmp_sum);
}

int conv_out_check(struct conv_out *o, const char *path)
{
	int lo, hi, r = aim_outcomp_from_name(path, &o->fmt);

	if (r < 0)
		return r;
	if (o->level >= 0 && aim_outcomp_level_range(o->fmt, &lo, &hi) < 0)
		return aim_error_set(-EINVAL, "--compress-level needs an OUTPUT ending in .xz or "
				     ".zst");
	if (o->level >= 0 && (o->level < lo || o->level > hi))
		return aim_error_set(-EINVAL, "--compress-level for %s is %d..%d",
				     aim_outcomp_name(o->fmt), lo, hi);
	return 0;
}

/* An unnamed file in path's directory, on the same file system as OUT. mtools and mke2fs
 * open it as /proc/PID/fd/N, which works for an unlinked file too. */
static int raw_tmpfile(const char *path)
{
	_cleanup_free_ char *d = strdup(path), *t = NULL;
	const char *dir;
	int fd;

	if (!d)
		return -ENOMEM;
	dir = dirname(d);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd
			       : aim_error_set(-errno, "cannot create a temporary file in %s: %m",
					       dir);
	if (asprintf(&t, "%s/.armimmutable-raw-XXXXXX", dir) < 0)
		return -ENOMEM;
	fd = mkostemp(t, O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot create a temporary file in %s: %m", dir);
	unlink(t);
	return fd;
}

int conv_out_open(struct conv_out *o, const char *path, int force)
{
	_cleanup_free_ char *sum = NULL;
	int r;

	o->img.fd = o->sum.fd = o->raw_fd = -EBADF;
	if (o->fmt != AIM_OUTCOMP_RAW) {
		if (asprintf(&sum, "%s.sha256", path) < 0)
			return -ENOMEM;
		r = aim_outfile_open(&o->sum, sum, force);
		if (r < 0)
			return r;
		snprintf(tmp_sum, sizeof(tmp_sum), "%s", o->sum.tmp);
	}
	r = aim_outfile_open(&o->img, path, force);
	if (r < 0) {
		conv_out_abort(o);
		return r;
	}
	snprintf(tmp_img, sizeof(tmp_img), "%s", o->img.tmp);
	o->raw_fd = o->fmt == AIM_OUTCOMP_RAW ? o->img.fd : raw_tmpfile(path);
	if (o->raw_fd < 0) {
		r = o->raw_fd;
		conv_out_abort(o);
	}
	return r;
}

void conv_out_abort(struct conv_out *o)
{
	if (o->raw_fd >= 0 && o->raw_fd != o->img.fd)
		close(o->raw_fd);
	o->raw_fd = -EBADF;
	if (o->img.tmp)
		aim_outfile_abort(&o->img);
	if (o->sum.tmp)
		aim_outfile_abort(&o->sum);
	tmp_img[0] = tmp_sum[0] = 0;
}

static int compress(struct conv_out *o, const char *path, struct progress *pr)
{
	_cleanup_free_ char *base = strdup(path);
	_cleanup_(aim_sha256_done) struct aim_sha256 h = {0};
	uint8_t md[AIM_SHA256_BYTES];
	char hex[2 * AIM_SHA256_BYTES + 1];
	struct stat st;
	int r;

	if (!base)
		return -ENOMEM;
	if (fstat(o->raw_fd, &st) < 0)
		return -errno;
	r = aim_sha256_init(&h);
	if (r < 0)
		return r;
	progress_begin(pr, "compress", (uint64_t)st.st_size);
	r = aim_outcomp_write(o->fmt, o->level, o->threads, o->raw_fd, (uint64_t)st.st_size,
			      o->img.fd, &h, progress_cb, pr);
	progress_end(pr);
	if (r == 0)
		r = aim_sha256_final(&h, md);
	if (r < 0)
		return r;
	aim_sha256_hex(md, hex);
	if (dprintf(o->sum.fd, "%s  %s\n", hex, basename(base)) < 0)
		return aim_error_set(-errno, "cannot write %s: %m", o->sum.tmp);
	return 0;
}

int conv_out_commit(struct conv_out *o, const char *path, struct progress *pr)
{
	int r = 0;

	if (o->fmt != AIM_OUTCOMP_RAW) {
		r = compress(o, path, pr);
		close(o->raw_fd);
	}
	o->raw_fd = -EBADF;
	if (r < 0) {
		conv_out_abort(o);
		return r;
	}
	r = aim_outfile_commit(&o->img);
	tmp_img[0] = 0;
	if (r < 0) {
		conv_out_abort(o);
		return r;
	}
	if (o->fmt != AIM_OUTCOMP_RAW) {
		r = aim_outfile_commit(&o->sum);
		tmp_sum[0] = 0;
		if (r < 0)
			unlink(path); /* no image without its checksum */
	}
	return r;
}
#endif
