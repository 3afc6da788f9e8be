/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Input images: raw, xz (liblzma, multi-threaded decoder over a multi-block stream) or
 * zstd (libzstd streaming decoder), recognised by magic bytes. Compressed input is decoded
 * once into an unlinked temporary file, sparse where 4 KiB blocks are zero, so that the
 * pipeline gets random access. The input is only ever opened O_RDONLY.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "decomp.h"

#define IN_BUF (1024 * 1024)
#define OUT_BUF (4 * 1024 * 1024)
#define ZERO_BLOCK 4096
#define PROGRESS_NS 100000000ll /* at most 10 calls a second */

struct aim_input {
	int fd;
	uint64_t size;
	enum aim_input_format format;
	char *path;
};

/* The decoding state shared by the xz and zstd loops. */
struct decoder {
	int in_fd, out_fd;
	const char *tmpdir;
	uint64_t in_size, in_done;
	uint64_t out_off;      /* bytes of output produced so far */
	uint64_t expect_size;  /* decoded size when the container says, else 0 */
	uint8_t *inbuf, *outbuf;
	size_t out_fill;
	aim_progress_fn fn;
	void *ud;
	long long last_ns;
};

static const struct {
	uint8_t magic[6];
	size_t len;
	int format;
	const char *name;
} magics[] = {
	{ { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6, AIM_INPUT_XZ, "xz" },
	{ { 0x28, 0xb5, 0x2f, 0xfd }, 4, AIM_INPUT_ZSTD, "zstd" },
	{ { 0x1f, 0x8b }, 2, -1, "gzip" },
	{ { 'B', 'Z', 'h' }, 3, -1, "bzip2" },
	{ { 0x04, 0x22, 0x4d, 0x18 }, 4, -1, "lz4" },
	{ { 0x02, 0x21, 0x4c, 0x18 }, 4, -1, "lz4 (legacy)" },
	{ { 0x89, 'L', 'Z', 'O', 0x00, 0x0d }, 6, -1, "lzop" },
};

int aim_input_detect(const void *buf, size_t len)
{
	const uint8_t *b = buf;

	/* a zstd stream may start with a skippable frame (magic 0x184D2A50..5F, LE) */
	if (len >= 4 && (aim_get_le32(b) & 0xfffffff0u) == 0x184d2a50u)
		return AIM_INPUT_ZSTD;
	for (size_t i = 0; i < ARRAY_SIZE(magics); i++) {
		if (len < magics[i].len || memcmp(b, magics[i].magic, magics[i].len))
			continue;
		if (magics[i].format >= 0)
			return magics[i].format;
		return aim_error_set(-EOPNOTSUPP,
				     "%s-compressed input is not supported (use .img, .img.xz or "
				     ".img.zst)",
				     magics[i].name);
	}
	return AIM_INPUT_RAW;
}

const char *aim_input_format_name(enum aim_input_format f)
{
	switch (f) {
	case AIM_INPUT_RAW:
		return "raw";
	case AIM_INPUT_XZ:
		return "xz";
	case AIM_INPUT_ZSTD:
		return "zstd";
	}
	return "unknown";
}

/* ---- output: sparse writes to the temporary file ---- */

static int out_write(struct decoder *d, const uint8_t *p, size_t len, uint64_t off)
{
	int r = aim_pwrite_full(d->out_fd, p, len, off);

	if (r == -ENOSPC || r == -EDQUOT) {
		if (d->expect_size)
			return aim_error_set(-ENOSPC, "no space left in %s for the decompressed "
					     "image (needs %llu bytes)", d->tmpdir,
					     (unsigned long long)d->expect_size);
		return aim_error_set(-ENOSPC, "no space left in %s for the decompressed image "
				     "(needs more than %llu bytes)", d->tmpdir,
				     (unsigned long long)off);
	}
	return r;
}

static int block_is_zero(const uint8_t *p, size_t len)
{
	/* p[0] == 0 and p equal to itself shifted by one byte means all bytes are 0 */
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

/* Writes outbuf[0..out_fill) at out_off, skipping all-zero 4 KiB blocks. */
static int out_flush(struct decoder *d)
{
	size_t i = 0, run = 0; /* run: start of the pending non-zero run */
	int r;

	while (i < d->out_fill) {
		size_t n = MIN((size_t)ZERO_BLOCK, d->out_fill - i);

		if (block_is_zero(d->outbuf + i, n)) {
			if (i > run) {
				r = out_write(d, d->outbuf + run, i - run, d->out_off + run);
				if (r < 0)
					return r;
			}
			run = i + n;
		}
		i += n;
	}
	if (i > run) {
		r = out_write(d, d->outbuf + run, i - run, d->out_off + run);
		if (r < 0)
			return r;
	}
	d->out_off += d->out_fill;
	d->out_fill = 0;
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void progress(struct decoder *d, int final)
{
	long long t;

	if (!d->fn)
		return;
	t = now_ns();
	if (!final && t - d->last_ns < PROGRESS_NS)
		return;
	d->last_ns = t;
	d->fn(d->ud, d->in_done, d->in_size);
}

/* Reads the next chunk of compressed input; returns its length, 0 at EOF. */
static ssize_t in_read(struct decoder *d)
{
	for (;;) {
		ssize_t n = read(d->in_fd, d->inbuf, IN_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		d->in_done += (uint64_t)n;
		progress(d, 0);
		return n;
	}
}

/* ---- decoding (decomp.c) ---- */

/* The decoded size from the index of the last stream (for the ENOSPC message only). */
static uint64_t xz_decoded_size(int fd, uint64_t size)
{
	uint8_t footer[LZMA_STREAM_HEADER_SIZE];
	_cleanup_free_ uint8_t *buf = NULL;
	lzma_stream_flags flags;
	lzma_index *idx = NULL;
	uint64_t memlimit = 64 * 1024 * 1024, ret = 0;
	size_t pos = 0;

	if (size < 2 * LZMA_STREAM_HEADER_SIZE ||
	    aim_pread_full(fd, footer, sizeof(footer), size - sizeof(footer)) < 0 ||
	    lzma_stream_footer_decode(&flags, footer) != LZMA_OK ||
	    flags.backward_size > size - 2 * LZMA_STREAM_HEADER_SIZE ||
	    flags.backward_size > memlimit) {
		aim_error_clear();
		return 0;
	}
	buf = malloc(flags.backward_size);
	if (!buf || aim_pread_full(fd, buf, flags.backward_size,
				   size - sizeof(footer) - flags.backward_size) < 0) {
		aim_error_clear();
		return 0;
	}
	if (lzma_index_buffer_decode(&idx, &memlimit, NULL, buf, &pos, flags.backward_size) ==
	    LZMA_OK) {
		ret = lzma_index_uncompressed_size(idx);
		lzma_index_end(idx, NULL);
	}
	return ret;
}

/* The decoded size a zstd frame header states (for the ENOSPC message only). */
static uint64_t zstd_decoded_size(int fd, uint64_t size)
{
	uint8_t hdr[18]; /* ZSTD_FRAMEHEADERSIZE_MAX (static-linking-only API) */
	size_t n = (size_t)MIN((uint64_t)sizeof(hdr), size);
	uint64_t ret = 0;

	if (aim_pread_full(fd, hdr, n, 0) >= 0) {
		unsigned long long cs = ZSTD_getFrameContentSize(hdr, n);
		if (cs != ZSTD_CONTENTSIZE_UNKNOWN && cs != ZSTD_CONTENTSIZE_ERROR)
			ret = cs;
	}
	aim_error_clear();
	return ret;
}

static int decode_stream(struct decoder *d, enum aim_decomp_format f, unsigned threads)
{
	struct aim_decomp *dc = NULL;
	struct aim_decomp_io io = { .out = d->outbuf, .out_cap = OUT_BUF };
	int r, dr = 0;

	d->expect_size = f == AIM_DECOMP_XZ ? xz_decoded_size(d->in_fd, d->in_size)
					    : zstd_decoded_size(d->in_fd, d->in_size);
	r = aim_decomp_new(f, AIM_DECOMP_CONCAT, threads, "", &dc);
	while (r == 0 && dr == 0) {
		if (io.in_pos == io.in_len && !io.finish) {
			ssize_t n = in_read(d);

			if (n < 0) {
				r = (int)n;
				break;
			}
			io.in = d->inbuf;
			io.in_len = (size_t)n;
			io.in_pos = 0;
			io.finish = n == 0;
		}
		io.out_pos = d->out_fill;
		dr = aim_decomp_run(dc, &io);
		d->out_fill = io.out_pos;
		if (dr < 0)
			r = dr;
		else if (d->out_fill == OUT_BUF || dr == 1)
			r = out_flush(d);
	}
	aim_decomp_free(dc);
	return r;
}

/* ---- the temporary file ---- */

static int tmpfile_open(const char *dir)
{
	_cleanup_free_ char *tmpl = NULL;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return aim_error_set(-errno, "cannot create a temporary file in %s: %m", dir);
	if (asprintf(&tmpl, "%s/armimmutable-input-XXXXXX", dir) < 0)
		return -ENOMEM;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot create a temporary file in %s: %m", dir);
	unlink(tmpl);
	return fd;
}

static int decode(struct aim_input *in, int fd, uint64_t in_size, const char *tmpdir,
		  unsigned threads, aim_progress_fn fn, void *ud)
{
	_cleanup_free_ uint8_t *inbuf = malloc(IN_BUF), *outbuf = malloc(OUT_BUF);
	_cleanup_close_ int out = -EBADF;
	struct decoder d = {
		.in_fd = fd, .tmpdir = tmpdir, .in_size = in_size, .inbuf = inbuf,
		.outbuf = outbuf, .fn = fn, .ud = ud,
	};
	char path[64];
	int r, ro;

	if (!inbuf || !outbuf)
		return -ENOMEM;
	out = tmpfile_open(tmpdir);
	if (out < 0)
		return out;
	d.out_fd = out;
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = decode_stream(&d, in->format == AIM_INPUT_XZ ? AIM_DECOMP_XZ : AIM_DECOMP_ZSTD,
			  threads);
	if (r < 0)
		return r;
	progress(&d, 1);
	if (ftruncate(out, (off_t)d.out_off) < 0)
		return aim_error_set(-errno, "cannot size the temporary file in %s: %m", tmpdir);
	/* hand out a read-only descriptor of the same (unlinked) file */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", out);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	in->fd = ro >= 0 ? ro : TAKE_FD(out);
	in->size = d.out_off;
	return 0;
}

/* ---- public ---- */

static int open_raw(int fd, const char *path, struct stat *st, uint64_t *ret_size)
{
	if (fstat(fd, st) < 0)
		return -errno;
	if (S_ISREG(st->st_mode)) {
		*ret_size = (uint64_t)st->st_size;
	} else if (S_ISBLK(st->st_mode)) {
		uint64_t sz;
		if (ioctl(fd, BLKGETSIZE64, &sz) < 0)
			return aim_error_set(-errno, "%s: cannot get the device size: %m", path);
		*ret_size = sz;
	} else if (S_ISDIR(st->st_mode)) {
		return aim_error_set(-EISDIR, "%s is a directory", path);
	} else {
		return aim_error_set(-EINVAL, "%s is not a regular file or block device", path);
	}
	return 0;
}

int aim_input_open(const char *path, const char *tmpdir, unsigned threads, aim_progress_fn fn,
		   void *ud, struct aim_input **ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct aim_input *in;
	uint8_t head[16] = { 0 };
	ssize_t n;
	struct stat st;
	uint64_t size = 0;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return aim_error_set(-errno, "cannot open %s: %m", path);
	r = open_raw(fd, path, &st, &size);
	if (r < 0)
		return r;
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return aim_error_set(-errno, "cannot read %s: %m", path);
	r = aim_input_detect(head, (size_t)n);
	if (r < 0)
		return r;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->fd = -EBADF;
	in->format = (enum aim_input_format)r;
	if (in->format == AIM_INPUT_RAW) {
		in->fd = TAKE_FD(fd);
		in->size = size;
		in->path = strdup(path);
	} else {
		if (!tmpdir)
			tmpdir = getenv("TMPDIR") ?: "/var/tmp";
		r = decode(in, fd, size, tmpdir, threads, fn, ud);
		if (r < 0) {
			aim_input_free(in);
			return r;
		}
		if (asprintf(&in->path, "/proc/self/fd/%d", in->fd) < 0)
			in->path = NULL;
	}
	if (!in->path) {
		aim_input_free(in);
		return -ENOMEM;
	}
	*ret = in;
	return 0;
}

struct aim_input *aim_input_free(struct aim_input *in)
{
	if (!in)
		return NULL;
	if (in->fd >= 0)
		close(in->fd);
	free(in->path);
	free(in);
	return NULL;
}

int aim_input_fd(const struct aim_input *in)
{
	return in->fd;
}

uint64_t aim_input_size(const struct aim_input *in)
{
	return in->size;
}

enum aim_input_format aim_input_format(const struct aim_input *in)
{
	return in->format;
}

const char *aim_input_path(const struct aim_input *in)
{
	return in->path;
}
