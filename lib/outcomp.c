// SPDX-License-Identifier: LGPL-2.1-or-later
/* Compressed output images: xz (liblzma, multi-threaded, multi-block) and zstd (libzstd
 * with workers). See outcomp.h. */
#include "outcomp.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define CHUNK (1024 * 1024)

int aim_outcomp_from_name(const char *path, enum aim_outcomp_format *ret)
{
	static const char *const other[] = {".gz", ".bz2", ".lz4", ".lzma", ".zip", ".zstd",
					    ".7z"};
	size_t n = strlen(path);

	*ret = AIM_OUTCOMP_RAW;
	if (n > 3 && !strcmp(path + n - 3, ".xz"))
		*ret = AIM_OUTCOMP_XZ;
	else if (n > 4 && !strcmp(path + n - 4, ".zst"))
		*ret = AIM_OUTCOMP_ZSTD;
	for (size_t i = 0; *ret == AIM_OUTCOMP_RAW && i < ARRAY_SIZE(other); i++) {
		size_t k = strlen(other[i]);
		if (n > k && !strcmp(path + n - k, other[i]))
			return aim_error_set(-EINVAL, "%s: convert writes .xz or .zst compressed "
					     "output, not %s (the image would be raw under a "
					     "compressed name)", path, other[i]);
	}
	return 0;
}

const char *aim_outcomp_name(enum aim_outcomp_format f)
{
	return f == AIM_OUTCOMP_XZ ? "xz" : f == AIM_OUTCOMP_ZSTD ? "zstd" : "raw";
}

int aim_outcomp_default_level(enum aim_outcomp_format f)
{
	return f == AIM_OUTCOMP_XZ ? 6 : f == AIM_OUTCOMP_ZSTD ? 3 : 0;
}

int aim_outcomp_level_range(enum aim_outcomp_format f, int *lo, int *hi)
{
	*lo = f == AIM_OUTCOMP_XZ ? 0 : 1;
	*hi = f == AIM_OUTCOMP_XZ ? 9 : f == AIM_OUTCOMP_ZSTD ? 19 : 0;
	return f == AIM_OUTCOMP_RAW ? -EINVAL : 0;
}

/* The input: data read from the file, holes (SEEK_HOLE) given as zeros without a read. */
struct src {
	int fd;
	uint64_t pos, size, data_end; /* [pos, data_end): data; then a hole up to the next */
	uint8_t *buf;
	const uint8_t *zeros;
};

/* The next piece of input (at most CHUNK bytes); *len 0 at the end. */
static int src_next(struct src *s, const uint8_t **p, size_t *len)
{
	size_t n;

	*len = 0;
	if (s->pos >= s->size)
		return 0;
	if (s->pos >= s->data_end) {
		off_t d = lseek(s->fd, (off_t)s->pos, SEEK_DATA), h;

		if (d < 0 && errno != ENXIO)
			d = (off_t)s->pos; /* no SEEK_DATA: all data */
		if (d < 0 || (uint64_t)d >= s->size)
			d = (off_t)s->size;
		if ((uint64_t)d > s->pos) {
			*p = s->zeros;
			*len = (size_t)MIN((uint64_t)CHUNK, (uint64_t)d - s->pos);
			s->pos += *len;
			return 0;
		}
		h = lseek(s->fd, d, SEEK_HOLE);
		s->data_end = h < 0 || (uint64_t)h > s->size ? s->size : (uint64_t)h;
	}
	n = (size_t)MIN((uint64_t)CHUNK, s->data_end - s->pos);
	{
		int r = aim_pread_full(s->fd, s->buf, n, s->pos);
		if (r < 0)
			return aim_error_set(r, "cannot read the raw image: %s", strerror(-r));
	}
	*p = s->buf;
	*len = n;
	s->pos += n;
	return 0;
}

static int sink(int fd, struct aim_sha256 *h, const uint8_t *p, size_t n)
{
	int r = aim_write_full(fd, p, n);

	if (r < 0)
		return aim_error_set(r, "cannot write the compressed image: %s", strerror(-r));
	return h ? aim_sha256_update(h, p, n) : 0;
}

static int run_xz(struct src *s, int level, unsigned threads, int out_fd, struct aim_sha256 *h,
		  uint8_t *out, aim_outcomp_progress_fn fn, void *ud)
{
	lzma_mt mt = {
		.threads = threads,
		.block_size = AIM_OUTCOMP_XZ_BLOCK,
		.preset = (uint32_t)level,
		.check = LZMA_CHECK_CRC64,
	};
	lzma_stream x = LZMA_STREAM_INIT;
	lzma_ret lr = lzma_stream_encoder_mt(&x, &mt);
	int r = 0;

	if (lr != LZMA_OK)
		return aim_error_set(lr == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL,
				     "xz: cannot start the encoder (%d)", (int)lr);
	for (lzma_action act = LZMA_RUN; r == 0;) {
		if (x.avail_in == 0 && act == LZMA_RUN) {
			size_t n;
			r = src_next(s, &x.next_in, &n);
			x.avail_in = n;
			if (r == 0 && n == 0)
				act = LZMA_FINISH;
			if (fn)
				fn(ud, s->pos, s->size);
		}
		x.next_out = out;
		x.avail_out = CHUNK;
		lr = lzma_code(&x, act);
		if (lr != LZMA_OK && lr != LZMA_STREAM_END)
			r = aim_error_set(lr == LZMA_MEM_ERROR ? -ENOMEM : -EIO,
					  "xz: the encoder failed (%d)", (int)lr);
		if (r == 0 && x.avail_out < CHUNK)
			r = sink(out_fd, h, out, CHUNK - x.avail_out);
		if (lr == LZMA_STREAM_END)
			break;
	}
	lzma_end(&x);
	return r;
}

static int run_zstd(struct src *s, int level, unsigned threads, int out_fd, struct aim_sha256 *h,
		    uint8_t *out, aim_outcomp_progress_fn fn, void *ud)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_inBuffer in = {0};
	size_t z;
	int r = 0, last = 0;

	if (!c)
		return -ENOMEM;
	z = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(z))
		z = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	/* Workers even for one thread: libzstd's output is the same for any nbWorkers >= 1
	 * (not for 0, its single-threaded mode), so the bytes do not depend on -j. */
	if (!ZSTD_isError(z))
		z = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, (int)threads);
	if (!ZSTD_isError(z))
		z = ZSTD_CCtx_setPledgedSrcSize(c, s->size);
	if (ZSTD_isError(z))
		r = aim_error_set(-EINVAL, "zstd: %s", ZSTD_getErrorName(z));
	while (r == 0) {
		ZSTD_outBuffer o = {out, CHUNK, 0};

		if (in.pos == in.size && !last) {
			const uint8_t *p = NULL;
			size_t n;
			r = src_next(s, &p, &n);
			in = (ZSTD_inBuffer){p, n, 0};
			last = r == 0 && n == 0;
			if (fn)
				fn(ud, s->pos, s->size);
			if (r < 0)
				break;
		}
		z = ZSTD_compressStream2(c, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(z))
			r = aim_error_set(-EIO, "zstd: %s", ZSTD_getErrorName(z));
		if (r == 0 && o.pos)
			r = sink(out_fd, h, out, o.pos);
		if (last && z == 0)
			break;
	}
	ZSTD_freeCCtx(c);
	return r;
}

int aim_outcomp_write(enum aim_outcomp_format f, int level, unsigned threads, int in_fd,
		      uint64_t size, int out_fd, struct aim_sha256 *h,
		      aim_outcomp_progress_fn fn, void *ud)
{
	_cleanup_free_ uint8_t *buf = malloc(CHUNK), *out = malloc(CHUNK),
			       *zeros = calloc(1, CHUNK);
	struct src s = {.fd = in_fd, .size = size, .buf = buf, .zeros = zeros};
	int lo, hi;

	if (!buf || !out || !zeros)
		return -ENOMEM;
	if (aim_outcomp_level_range(f, &lo, &hi) < 0)
		return aim_error_set(-EINVAL, "no compression for this output");
	if (level < 0)
		level = aim_outcomp_default_level(f);
	if (level < lo || level > hi)
		return aim_error_set(-EINVAL, "%s level %d is not in %d..%d", aim_outcomp_name(f),
				     level, lo, hi);
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	if (f == AIM_OUTCOMP_XZ)
		return run_xz(&s, level, threads, out_fd, h, out, fn, ud);
	return run_zstd(&s, level, threads, out_fd, h, out, fn, ud);
}
