// SPDX-License-Identifier: LGPL-2.1-or-later
/* Streaming gzip, zstd and xz decoders behind one interface (see decomp.h). */
#include "decomp.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/endian.h"
#include "base/log.h"
#include "base/macro.h"

#define XZ_MEMLIMIT_THREADING (1024ull * 1024 * 1024)

struct aim_decomp {
	enum aim_decomp_format f;
	unsigned flags;
	const char *label;
	uint64_t total_in;
	bool boundary;	  /* CONCAT: the last call ended a stream, no input since */
	z_stream z;
	ZSTD_DCtx *zd;
	lzma_stream x;
};

int aim_decomp_detect(const uint8_t *p, size_t len)
{
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return AIM_DECOMP_GZIP;
	if (len >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4))
		return AIM_DECOMP_ZSTD;
	/* a zstd stream may start with a skippable frame (magic 0x184D2A50..5F, LE) */
	if (len >= 4 && (aim_get_le32(p) & 0xfffffff0u) == 0x184d2a50u)
		return AIM_DECOMP_ZSTD;
	if (len >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
		return AIM_DECOMP_XZ;
	return -1;
}

const char *aim_decomp_unsupported(const uint8_t *p, size_t len)
{
	if (len >= 4 && !memcmp(p, "\x02\x21\x4c\x18", 4))
		return "lz4 (legacy)";
	if (len >= 4 && !memcmp(p, "\x04\x22\x4d\x18", 4))
		return "lz4";
	if (len >= 3 && !memcmp(p, "BZh", 3))
		return "bzip2";
	if (len >= 4 && !memcmp(p, "\x89LZO", 4))
		return "lzo";
	if (len >= 3 && !memcmp(p, "\x5d\x00\x00", 3))
		return "lzma";
	return NULL;
}

const char *aim_decomp_name(enum aim_decomp_format f)
{
	switch (f) {
	case AIM_DECOMP_GZIP:
		return "gzip";
	case AIM_DECOMP_ZSTD:
		return "zstd";
	case AIM_DECOMP_XZ:
		return "xz";
	}
	return "unknown";
}

static const char *lzma_ret_name(lzma_ret ret)
{
	switch (ret) {
	case LZMA_FORMAT_ERROR:
		return "LZMA_FORMAT_ERROR";
	case LZMA_OPTIONS_ERROR:
		return "LZMA_OPTIONS_ERROR";
	case LZMA_DATA_ERROR:
		return "LZMA_DATA_ERROR";
	case LZMA_BUF_ERROR:
		return "LZMA_BUF_ERROR";
	case LZMA_MEM_ERROR:
		return "LZMA_MEM_ERROR";
	case LZMA_MEMLIMIT_ERROR:
		return "LZMA_MEMLIMIT_ERROR";
	case LZMA_UNSUPPORTED_CHECK:
		return "LZMA_UNSUPPORTED_CHECK";
	default:
		return "unexpected lzma_ret";
	}
}

static int xz_new(struct aim_decomp *d, unsigned threads)
{
	lzma_mt mt = {
		.flags = LZMA_CONCATENATED,
		.threads = threads,
		.memlimit_threading = XZ_MEMLIMIT_THREADING,
		.memlimit_stop = UINT64_MAX,
	};
	lzma_ret ret;

	d->x = (lzma_stream)LZMA_STREAM_INIT;
	if (threads > 1 && (d->flags & AIM_DECOMP_CONCAT))
		ret = lzma_stream_decoder_mt(&d->x, &mt);
	else
		ret = lzma_stream_decoder(&d->x, UINT64_MAX,
					  d->flags & AIM_DECOMP_CONCAT ? LZMA_CONCATENATED : 0);
	if (ret == LZMA_MEM_ERROR)
		return -ENOMEM;
	if (ret != LZMA_OK)
		return aim_error_set(-EINVAL, "cannot start the xz decoder (%s)",
				     lzma_ret_name(ret));
	return 0;
}

int aim_decomp_new(enum aim_decomp_format f, unsigned flags, unsigned threads,
		   const char *label, struct aim_decomp **ret)
{
	struct aim_decomp *d = calloc(1, sizeof(*d));
	int r = 0;

	if (!d)
		return -ENOMEM;
	d->f = f;
	d->flags = flags;
	d->label = label ? label : "";
	switch (f) {
	case AIM_DECOMP_GZIP:
		if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK)
			r = -ENOMEM;
		break;
	case AIM_DECOMP_ZSTD:
		d->zd = ZSTD_createDCtx();
		if (!d->zd)
			r = -ENOMEM;
		else if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax, 31)))
			r = aim_error_set(-EINVAL, "zstd: cannot set the window limit");
		break;
	case AIM_DECOMP_XZ:
		r = xz_new(d, threads);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0) {
		aim_decomp_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

static int gzip_run(struct aim_decomp *d, struct aim_decomp_io *io)
{
	size_t in_avail = io->in_len - io->in_pos, out_avail = io->out_cap - io->out_pos;
	int zr;

	d->z.next_in = (Bytef *)io->in + io->in_pos;
	d->z.avail_in = (uInt)MIN(in_avail, (size_t)UINT32_MAX);
	d->z.next_out = io->out + io->out_pos;
	d->z.avail_out = (uInt)MIN(out_avail, (size_t)UINT32_MAX);
	zr = inflate(&d->z, Z_NO_FLUSH);
	io->in_pos = (size_t)((const uint8_t *)d->z.next_in - io->in);
	io->out_pos = (size_t)(d->z.next_out - io->out);
	if (zr == Z_STREAM_END) {
		if (!(d->flags & AIM_DECOMP_CONCAT) || (io->finish && io->in_pos == io->in_len))
			return 1;
		inflateReset(&d->z);
		d->boundary = true;
		return 0;
	}
	if (zr == Z_OK)
		return 0;
	if (zr == Z_BUF_ERROR) {
		if (io->in_pos < io->in_len || io->out_pos == io->out_cap || !io->finish)
			return 0;
		return aim_error_set(-EBADMSG, "%sgzip stream is truncated", d->label);
	}
	if (zr == Z_MEM_ERROR)
		return -ENOMEM;
	return aim_error_set(-EBADMSG, "%sgzip stream is corrupt (%s)", d->label,
			     d->z.msg ? d->z.msg : "inflate failed");
}

static int zstd_run(struct aim_decomp *d, struct aim_decomp_io *io)
{
	ZSTD_inBuffer ib = { io->in, io->in_len, io->in_pos };
	ZSTD_outBuffer ob = { io->out, io->out_cap, io->out_pos };
	size_t zr = ZSTD_decompressStream(d->zd, &ob, &ib);

	if (ZSTD_isError(zr))
		return aim_error_set(-EBADMSG, "%szstd stream is corrupt (%s)", d->label,
				     ZSTD_getErrorName(zr));
	io->in_pos = ib.pos;
	io->out_pos = ob.pos;
	/* zr == 0: a frame ended and nothing is buffered, even if the output filled */
	if (zr == 0 && (!(d->flags & AIM_DECOMP_CONCAT) || (io->finish && ib.pos == ib.size)))
		return 1;
	if (zr == 0) {
		d->boundary = true;
		return 0;
	}
	if (ob.pos == ob.size || ib.pos < ib.size || !io->finish)
		return 0;
	return aim_error_set(-EBADMSG, "%szstd stream is truncated (the last frame needs %zu "
			     "more bytes)", d->label, zr);
}

static int xz_run(struct aim_decomp *d, struct aim_decomp_io *io)
{
	lzma_ret ret;

	d->x.next_in = io->in + io->in_pos;
	d->x.avail_in = io->in_len - io->in_pos;
	d->x.next_out = io->out + io->out_pos;
	d->x.avail_out = io->out_cap - io->out_pos;
	ret = lzma_code(&d->x, io->finish ? LZMA_FINISH : LZMA_RUN);
	io->in_pos = (size_t)(d->x.next_in - io->in);
	io->out_pos = (size_t)(d->x.next_out - io->out);
	if (ret == LZMA_STREAM_END)
		return 1;
	if (ret == LZMA_OK || (ret == LZMA_BUF_ERROR && io->out_pos == io->out_cap))
		return 0;
	if (ret == LZMA_MEM_ERROR || ret == LZMA_MEMLIMIT_ERROR)
		return aim_error_set(-ENOMEM, "out of memory decoding xz (%s)", lzma_ret_name(ret));
	return aim_error_set(-EBADMSG, "%sxz stream is truncated or corrupt (%s)", d->label,
			     lzma_ret_name(ret));
}

int aim_decomp_run(struct aim_decomp *d, struct aim_decomp_io *io)
{
	size_t in0 = io->in_pos;
	int r;

	/* Between two concatenated streams when the input ended: a clean end. */
	if (d->boundary && io->finish && io->in_pos == io->in_len)
		return 1;
	d->boundary = false;
	switch (d->f) {
	case AIM_DECOMP_GZIP:
		r = gzip_run(d, io);
		break;
	case AIM_DECOMP_ZSTD:
		r = zstd_run(d, io);
		break;
	case AIM_DECOMP_XZ:
		r = xz_run(d, io);
		break;
	default:
		return -EINVAL;
	}
	d->total_in += io->in_pos - in0;
	return r;
}

uint64_t aim_decomp_total_in(const struct aim_decomp *d)
{
	return d->total_in;
}

void aim_decomp_free(struct aim_decomp *d)
{
	if (!d)
		return;
	switch (d->f) {
	case AIM_DECOMP_GZIP:
		inflateEnd(&d->z);
		break;
	case AIM_DECOMP_ZSTD:
		ZSTD_freeDCtx(d->zd);
		break;
	case AIM_DECOMP_XZ:
		lzma_end(&d->x);
		break;
	}
	free(d);
}
