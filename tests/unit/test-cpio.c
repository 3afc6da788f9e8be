/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/cpio.c (the streaming newc reader gives the same entries whatever the chunking,
 * and the errors of a truncated or misaligned archive), lib/decomp.c (gzip, zstd and xz
 * round trips fed a byte at a time, concatenated streams, truncation, a single member
 * stopping at its end), lib/base/buf.c.
 */
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "cpio.h"
#include "decomp.h"
#include "tap.h"
#include "base/buf.h"
#include "base/log.h"

static const char *detail(void)
{
	return aim_error_detail() ? aim_error_detail() : "";
}

/* ---- cpio ---- */

struct seen {
	struct aim_buf list; /* "name mode size [data]\n" per entry */
};

static int want_all(void *ud, const char *name, uint32_t mode, uint32_t size)
{
	(void)ud, (void)mode, (void)size;
	return strcmp(name, "big") != 0;
}

static int entry_log(void *ud, const char *name, uint32_t mode, const uint8_t *data,
		     uint32_t size)
{
	struct seen *s = ud;
	char line[300];

	snprintf(line, sizeof(line), "%s %o %u %.*s\n", name, mode, size, data ? (int)size : 1,
		 data ? (const char *)data : "-");
	return aim_buf_str(&s->list, line);
}

static void sample_archive(struct aim_buf *out)
{
	struct aim_cpio_writer w = { { 0 }, 0, 1700000000 };
	char big[1000];

	memset(big, 'x', sizeof(big));
	ok(aim_cpio_add(&w, "etc", S_IFDIR | 0755, NULL, 0) == 0 &&
		   aim_cpio_add(&w, "etc/hostname", S_IFREG | 0644, "box\n", 4) == 0 &&
		   aim_cpio_add(&w, "lib", S_IFLNK | 0777, "usr/lib", 7) == 0 &&
		   aim_cpio_add(&w, "big", S_IFREG | 0644, big, sizeof(big)) == 0 &&
		   aim_cpio_add(&w, "empty", S_IFREG | 0600, "", 0) == 0 && aim_cpio_finish(&w) == 0,
	   "writer: five entries and the trailer");
	*out = w.b;
}

/* Feeds p in chunks of step bytes; returns the reader's result, the log in *log. */
static int read_chunked(const uint8_t *p, size_t len, size_t step, bool multi, char **log,
			size_t *consumed)
{
	struct seen s = { { 0 } };
	struct aim_cpio_reader rd = {
		.want = want_all, .entry = entry_log, .ud = &s, .where = "test", .multi = multi
	};
	size_t off = 0, used;
	int r = 0;

	while (off < len && r == 0) {
		size_t n = len - off < step ? len - off : step;

		r = aim_cpio_feed(&rd, p + off, n, &used);
		off += used;
	}
	if (r == 0)
		r = aim_cpio_end(&rd);
	aim_buf_zero(&s.list, 0);
	*log = (char *)s.list.p;
	if (consumed)
		*consumed = off;
	aim_cpio_reader_free(&rd);
	return r;
}

static void test_cpio(void)
{
	struct aim_buf a, two = { 0 };
	char *log1, *log2;
	size_t used;

	sample_archive(&a);
	ok(a.len % 4 == 0 && !memcmp(a.p, "070701", 6), "newc, 4-byte aligned (%zu bytes)", a.len);
	is_int(read_chunked(a.p, a.len, a.len, false, &log1, &used), 1, "one chunk: read to the trailer");
	is_int((int)used, (int)a.len, "every byte used");
	free(log1);
	is_int(read_chunked(a.p, a.len, a.len, false, &log1, NULL), 1, "again");
	is_int(read_chunked(a.p, a.len, 1, false, &log2, NULL), 1, "a byte at a time");
	is_str(log1, log2, "same entries whatever the chunks");
	ok(strstr(log1, "etc/hostname 100644 4 box\n") && strstr(log1, "lib 120777 7 usr/lib") &&
		   strstr(log1, "big 100644 1000 -") && strstr(log1, "empty 100600 0 \n"),
	   "entries, kept data and a skipped one: %s", log1);
	free(log1);
	free(log2);

	/* multi: archives and zero padding to the end */
	aim_buf_put(&two, a.p, a.len);
	aim_buf_zero(&two, 8);
	aim_buf_put(&two, a.p, a.len);
	is_int(read_chunked(two.p, two.len, 7, true, &log1, NULL), 0, "two archives and padding");
	ok(strstr(log1, "empty") && strstr(strstr(log1, "empty") + 1, "empty"), "both read");
	free(log1);
	is_int(read_chunked(two.p, two.len - 3, 64, true, &log1, NULL), -EBADMSG,
	       "cut inside the trailer's name padding (as the kernel's reader: truncated)");
	free(log1);
	is_int(read_chunked(two.p, 150, 64, true, &log1, NULL), -EBADMSG, "cut inside an entry");
	ok(strstr(detail(), "truncated"), "detail: %s", detail());
	free(log1);
	is_int(read_chunked(two.p, 60, 64, false, &log1, NULL), -EBADMSG, "cut inside a header");
	ok(strstr(detail(), "header at 0 truncated"), "detail: %s", detail());
	free(log1);
	two.p[a.len + 1] = '7';
	is_int(read_chunked(two.p, two.len, 64, true, &log1, NULL), -EBADMSG,
	       "an archive at an unaligned offset");
	ok(strstr(detail(), "unaligned"), "detail: %s", detail());
	free(log1);
	memcpy(two.p, "070707", 6);
	is_int(read_chunked(two.p, two.len, 64, false, &log1, NULL), -EBADMSG, "odc magic refused");
	ok(strstr(detail(), "no cpio magic at 0"), "detail: %s", detail());
	free(log1);
	aim_buf_free(&two);
	aim_buf_free(&a);
}

/* ---- decomp ---- */

static size_t gz(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream s = { 0 };
	size_t n;

	deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)len;
	s.next_out = out;
	s.avail_out = (uInt)cap;
	deflate(&s, Z_FINISH);
	n = s.total_out;
	deflateEnd(&s);
	return n;
}

static size_t compress_as(enum aim_decomp_format f, const uint8_t *in, size_t len, uint8_t *out,
			  size_t cap)
{
	size_t n = 0;

	if (f == AIM_DECOMP_GZIP)
		return gz(in, len, out, cap);
	if (f == AIM_DECOMP_ZSTD)
		return ZSTD_compress(out, cap, in, len, 3);
	lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &n, cap);
	return n;
}

/* Decodes in[0..len) feeding step bytes and giving out_step bytes of room at a time. */
static int decode(enum aim_decomp_format f, unsigned flags, const uint8_t *in, size_t len,
		  size_t step, size_t out_step, struct aim_buf *out, size_t *used)
{
	struct aim_decomp *d;
	uint8_t room[4096];
	size_t off = 0;
	int r = aim_decomp_new(f, flags, 1, "test ", &d);

	while (r == 0) {
		size_t n = len - off < step ? len - off : step;
		struct aim_decomp_io io = { in + off, n, 0, room, out_step, 0, off + n == len };

		r = aim_decomp_run(d, &io);
		off += io.in_pos;
		if (r >= 0)
			aim_buf_put(out, room, io.out_pos);
	}
	aim_decomp_free(d);
	*used = off;
	return r;
}

static void test_decomp(void)
{
	static const enum aim_decomp_format fs[] = { AIM_DECOMP_GZIP, AIM_DECOMP_ZSTD,
						     AIM_DECOMP_XZ };
	size_t plen = 200000, cap = 400000;
	uint8_t *plain = malloc(plen), *z = malloc(2 * cap);

	for (size_t i = 0; i < plen; i++)
		plain[i] = (uint8_t)((i * 7919) % 251 + (i / 1000));
	for (size_t k = 0; k < 3; k++) {
		enum aim_decomp_format f = fs[k];
		const char *nm = aim_decomp_name(f);
		size_t zl = compress_as(f, plain, plen, z, cap), used;
		struct aim_buf out = { 0 };

		is_int(aim_decomp_detect(z, zl), (int)f, "%s: detected", nm);
		is_int(decode(f, 0, z, zl, 1, 4096, &out, &used), 1, "%s: a byte at a time", nm);
		ok(out.len == plen && !memcmp(out.p, plain, plen) && used == zl,
		   "%s: same bytes, every input byte used", nm);
		out.len = 0;
		is_int(decode(f, 0, z, zl, zl, 7, &out, &used), 1, "%s: 7 bytes of room at a time", nm);
		ok(out.len == plen && !memcmp(out.p, plain, plen), "%s: same bytes", nm);
		/* a single stream stops at its end; the rest is the caller's */
		memcpy(z + zl, "TAIL", 4);
		out.len = 0;
		is_int(decode(f, 0, z, zl + 4, 1000, 4096, &out, &used), 1, "%s: single stream", nm);
		is_int((int)used, (int)zl, "%s: stops at its end", nm);
		/* concatenated: two streams, to the end of the input */
		memcpy(z + zl, z, zl);
		out.len = 0;
		is_int(decode(f, AIM_DECOMP_CONCAT, z, 2 * zl, 999, 4096, &out, &used), 1,
		       "%s: two concatenated streams", nm);
		ok(out.len == 2 * plen && !memcmp(out.p + plen, plain, plen), "%s: both decoded", nm);
		out.len = 0;
		is_int(decode(f, AIM_DECOMP_CONCAT, z, zl, zl, 4096, &out, &used), 1,
		       "%s: concat mode, one stream", nm);
		out.len = 0;
		is_int(decode(f, 0, z, zl - 20, 333, 4096, &out, &used), -EBADMSG, "%s: truncated", nm);
		ok(strstr(detail(), "test ") && strstr(detail(), nm) && strstr(detail(), "truncated"),
		   "detail: %s", detail());
		z[zl / 2] ^= 0x55;
		z[zl / 2 + 1] ^= 0x55;
		out.len = 0;
		is_int(decode(f, 0, z, zl, zl, 4096, &out, &used), -EBADMSG, "%s: corrupt", nm);
		aim_buf_free(&out);
	}
	ok(aim_decomp_detect((const uint8_t *)"\x50\x2a\x4d\x18", 4) == AIM_DECOMP_ZSTD,
	   "a zstd skippable frame");
	is_int(aim_decomp_detect((const uint8_t *)"0707", 4), -1, "cpio is not compressed");
	is_str(aim_decomp_unsupported((const uint8_t *)"BZh9", 4), "bzip2", "bzip2 named");
	ok(aim_decomp_unsupported((const uint8_t *)"\x1f\x8b", 2) == NULL, "gzip is supported");
	free(plain);
	free(z);
}

static void test_buf(void)
{
	struct aim_buf b = { 0 };
	struct aim_strv s = { 0 };

	ok(aim_buf_str(&b, "ab") == 0 && aim_buf_zero(&b, 2) == 0 && aim_buf_be32(&b, 0x01020304) == 0,
	   "put, zero, be32");
	ok(b.len == 8 && !memcmp(b.p, "ab\0\0\1\2\3\4", 8) && b.p[8] == 0, "bytes and terminator");
	for (int i = 0; i < 40; i++) {
		char x[16];

		snprintf(x, sizeof(x), "s%d", i);
		if (aim_strv_add(&s, x, strlen(x)) < 0)
			break;
	}
	ok(s.n == 40 && !strcmp(s.v[39], "s39") && s.v[40] == NULL, "40 strings, NULL-terminated");
	ok(aim_strv_has(&s, "s7xyz", 2) && !aim_strv_has(&s, "s77", 3), "has (by length)");
	aim_strv_free(s.v);
	aim_buf_free(&b);
}

int main(void)
{
	test_cpio();
	test_decomp();
	test_buf();
	return done_testing();
}
