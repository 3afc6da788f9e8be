/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/input.c: a random+zeros image compressed by the real xz and zstd tools (multi-block
 * and single-block xz, zstd -19 and long-window zstd) decodes byte-identically into a sparse
 * temporary file; truncated and corrupt streams give -EBADMSG, other compressors
 * -EOPNOTSUPP naming them, and the input file is never modified.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "shell.h"
#include "tap.h"
#include "base/log.h"

#define MiB (1024ull * 1024)

static char dir[256];

static const char *path(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static const char *detail(void)
{
	return aim_error_detail() ?: "(none)";
}

struct prog {
	unsigned calls;
	uint64_t last_done, last_total;
	int monotonic;
};

static void progress_cb(void *ud, uint64_t done, uint64_t total)
{
	struct prog *p = ud;

	if (done < p->last_done)
		p->monotonic = 0;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

/* Compares the decoded fd with the original file, byte for byte. */
static int same_content(int fd, const char *orig)
{
	static uint8_t a[1 << 20], b[1 << 20];
	int o = open(orig, O_RDONLY | O_CLOEXEC);
	off_t off = 0;
	int same = 1;

	if (o < 0)
		return 0;
	for (;;) {
		ssize_t na = pread(fd, a, sizeof(a), off), nb = read(o, b, sizeof(b));
		if (na != nb || na < 0 || memcmp(a, b, (size_t)na)) {
			same = 0;
			break;
		}
		if (na == 0)
			break;
		off += na;
	}
	close(o);
	return same;
}

static uint64_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) < 0 ? 0 : (uint64_t)st.st_size;
}

/* Opens a compressed file and checks the decoded image against image.raw. */
static void check_decode(const char *name, unsigned threads, enum aim_input_format fmt)
{
	struct aim_input *in = NULL;
	struct prog pr = { .monotonic = 1 };
	char want_path[64], sha_in[80], sha_orig[80];
	struct stat st0, st1, st;
	struct timespec t0, t1;
	double secs;
	int r;

	snprintf(sha_in, sizeof(sha_in), "%s", out("sha256sum < '%s'", path(name)));
	stat(path(name), &st0);
	aim_error_clear();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = aim_input_open(path(name), dir, threads, progress_cb, &pr, &in);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	is_int(r, 0, "%s: opens (threads %u, %.2f s)%s%s", name, threads, secs, r ? ": " : "",
	       r ? detail() : "");
	if (r < 0)
		return;
	is_int(aim_input_format(in), fmt, "%s: format %s", name,
	       aim_input_format_name(aim_input_format(in)));
	is_int(aim_input_size(in), file_size(path("image.raw")), "%s: decoded size", name);
	ok(same_content(aim_input_fd(in), path("image.raw")), "%s: decoded bytes identical", name);
	snprintf(want_path, sizeof(want_path), "/proc/self/fd/%d", aim_input_fd(in));
	is_str(aim_input_path(in), want_path, "%s: path is /proc/self/fd/N", name);
	/* the child shell reaches our descriptor through /proc/<pid>/fd */
	snprintf(sha_orig, sizeof(sha_orig), "%s", out("sha256sum < '%s'", path("image.raw")));
	is_str(out("sha256sum < /proc/%d/fd/%d", (int)getpid(), aim_input_fd(in)), sha_orig,
	       "%s: sha256 of the decoded image", name);
	is_int(fcntl(aim_input_fd(in), F_GETFL) & O_ACCMODE, O_RDONLY,
	       "%s: decoded fd is read-only", name);
	r = fstat(aim_input_fd(in), &st);
	ok(r == 0 && (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size / 2,
	   "%s: temporary file is sparse (%llu of %llu bytes allocated)", name,
	   (unsigned long long)st.st_blocks * 512, (unsigned long long)st.st_size);
	ok(pr.calls >= 1 && pr.last_done == file_size(path(name)) &&
		   pr.last_total == pr.last_done && pr.monotonic,
	   "%s: progress ends at done == total == compressed size (%u calls)", name, pr.calls);
	ok(pr.calls <= (unsigned)(secs * 10) + 2, "%s: progress at most ~10 calls/s (%u in %.2f s)",
	   name, pr.calls, secs);
	aim_input_free(in);
	stat(path(name), &st1);
	is_str(out("sha256sum < '%s'", path(name)), sha_in, "%s: input sha256 unchanged", name);
	ok(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec && st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec,
	   "%s: input mtime unchanged", name);
}

static void check_fail(const char *name, int want_r, const char *want_detail)
{
	struct aim_input *in = NULL;
	int r;

	aim_error_clear();
	r = aim_input_open(path(name), dir, 2, NULL, NULL, &in);
	is_int(r, want_r, "%s: fails with %s", name, aim_strerror(want_r));
	ok(in == NULL, "%s: no object returned", name);
	ok(strstr(detail(), want_detail) != NULL, "%s: detail '%s' names '%s'", name, detail(),
	   want_detail);
	aim_input_free(in);
}

static void test_detect(void)
{
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0, 0, 4 };
	static const uint8_t zst[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0, 0 };
	static const uint8_t skip[] = { 0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0 };
	static const uint8_t gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 };
	static const uint8_t bz[] = { 'B', 'Z', 'h', '9', '1', 'A', 'Y', '&' };
	static const uint8_t lz4[] = { 0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0, 0 };
	static const uint8_t raw[] = { 0xeb, 0x3c, 0x90, 'm', 'k', 'f', 's', 0 };

	is_int(aim_input_detect(xz, sizeof(xz)), AIM_INPUT_XZ, "detect xz magic");
	is_int(aim_input_detect(zst, sizeof(zst)), AIM_INPUT_ZSTD, "detect zstd magic");
	is_int(aim_input_detect(skip, sizeof(skip)), AIM_INPUT_ZSTD,
	       "detect zstd starting with a skippable frame");
	is_int(aim_input_detect(raw, sizeof(raw)), AIM_INPUT_RAW, "anything else is raw");
	is_int(aim_input_detect(xz, 3), AIM_INPUT_RAW, "3 bytes of the xz magic are raw");
	is_int(aim_input_detect(gz, sizeof(gz)), -EOPNOTSUPP, "gzip: -EOPNOTSUPP");
	ok(strstr(detail(), "gzip") != NULL, "detail names gzip: %s", detail());
	is_int(aim_input_detect(bz, sizeof(bz)), -EOPNOTSUPP, "bzip2: -EOPNOTSUPP");
	ok(strstr(detail(), "bzip2") != NULL, "detail names bzip2: %s", detail());
	is_int(aim_input_detect(lz4, sizeof(lz4)), -EOPNOTSUPP, "lz4: -EOPNOTSUPP");
	ok(strstr(detail(), "lz4") != NULL, "detail names lz4: %s", detail());
	is_str(aim_input_format_name(AIM_INPUT_ZSTD), "zstd", "format name");
}

/* ~28 MiB: random runs, long zero runs, and a tail that is not a multiple of 4 KiB. */
static int make_image(void)
{
	const char *p = path("image.raw");

	return run("set -e; f='%s'; rm -f \"$f\"; "
		   "head -c 3145728 /dev/urandom > \"$f\"; "
		   "dd if=/dev/urandom of=\"$f\" bs=1M seek=10 count=2 conv=notrunc status=none; "
		   "dd if=/dev/urandom of=\"$f\" bs=4096 seek=4000 count=3 conv=notrunc status=none; "
		   "dd if=/dev/urandom of=\"$f\" bs=1M seek=26 count=1 conv=notrunc status=none; "
		   "head -c 12345 /dev/urandom >> \"$f\"",
		   p);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	struct aim_input *in = NULL;
	uint64_t sz;
	int r;

	snprintf(dir, sizeof(dir), "%s/test-input-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_detect();

	ok(!make_image(), "random+zeros image made");
	sz = file_size(path("image.raw"));
	ok(sz == 27 * MiB + 12345, "image is 27 MiB + 12345 bytes");

	/* raw: the file itself */
	r = aim_input_open(path("image.raw"), dir, 0, NULL, NULL, &in);
	is_int(r, 0, "raw image opens");
	if (r == 0) {
		is_int(aim_input_format(in), AIM_INPUT_RAW, "raw: format");
		is_int(aim_input_size(in), sz, "raw: size from fstat");
		is_str(aim_input_path(in), path("image.raw"), "raw: path is the one given");
		is_int(fcntl(aim_input_fd(in), F_GETFL) & O_ACCMODE, O_RDONLY,
		       "raw: opened read-only");
		in = aim_input_free(in);
	}

	ok(!run("cd '%s' && xz -T2 --block-size=1MiB -c image.raw > mt.xz && "
		"xz -T1 -c image.raw > st.xz && zstd -q -19 -c image.raw > l19.zst && "
		"zstd -q --long=27 -c image.raw > long27.zst && "
		"zstd -q -3 --long=30 -c image.raw > long30.zst && "
		"cat st.xz mt.xz > /dev/null",
		dir),
	   "compressed with xz -T2 --block-size=1MiB, xz -T1, zstd -19, zstd --long=27/30");
	ok(atoi(out("xz --robot -l '%s' | awk '$1 == \"totals\" { print $3 }'", path("mt.xz"))) > 1,
	   "mt.xz has several blocks (%s)",
	   out("xz --robot -l '%s' | awk '$1 == \"totals\" { print $3 }'", path("mt.xz")));

	check_decode("mt.xz", 2, AIM_INPUT_XZ);
	check_decode("mt.xz", 1, AIM_INPUT_XZ);
	check_decode("st.xz", 0, AIM_INPUT_XZ);
	check_decode("l19.zst", 1, AIM_INPUT_ZSTD);
	check_decode("long27.zst", 1, AIM_INPUT_ZSTD);
	check_decode("long30.zst", 1, AIM_INPUT_ZSTD);

	/* an image that is an exact multiple of the 4 MiB output buffer: the frame ends just as
	 * the buffer fills, and a further call must not be mistaken for truncation */
	ok(!run("cd '%s' && mv image.raw image.full && head -c 8388608 image.full > image.raw && "
		"zstd -q -c image.raw > even.zst && xz -T1 -c image.raw > even.xz",
		dir),
	   "8 MiB image compressed");
	check_decode("even.zst", 1, AIM_INPUT_ZSTD);
	check_decode("even.xz", 1, AIM_INPUT_XZ);
	ok(!run("cd '%s' && mv image.full image.raw", dir), "full image back");

	/* two concatenated streams decode as one image */
	ok(!run("cd '%s' && head -c 5242880 image.raw | xz -T1 -c > cat.xz && "
		"tail -c +5242881 image.raw | xz -T2 --block-size=1MiB -c >> cat.xz && "
		"head -c 5242880 image.raw | zstd -q -c > cat.zst && "
		"tail -c +5242881 image.raw | zstd -q -c >> cat.zst",
		dir),
	   "concatenated xz and zstd streams");
	check_decode("cat.xz", 2, AIM_INPUT_XZ);
	check_decode("cat.zst", 1, AIM_INPUT_ZSTD);

	/* truncated and corrupt streams */
	ok(!run("cd '%s' && head -c $(( $(stat -c %%s mt.xz) / 2 )) mt.xz > cut.xz && "
		"head -c $(( $(stat -c %%s st.xz) - 100 )) st.xz > cut1.xz && "
		"head -c $(( $(stat -c %%s l19.zst) / 2 )) l19.zst > cut.zst && "
		"head -c $(( $(stat -c %%s l19.zst) - 3 )) l19.zst > cut3.zst && "
		"cp mt.xz bad.xz && printf 'XXXX' | dd of=bad.xz bs=1 seek=300000 conv=notrunc "
		"status=none && cp l19.zst bad.zst && printf 'XXXXXXXX' | dd of=bad.zst bs=1 "
		"seek=300000 conv=notrunc status=none && cp l19.zst trail.zst && "
		"printf 'garbage!' >> trail.zst",
		dir),
	   "truncated, corrupted and trailing-garbage copies");
	check_fail("cut.xz", -EBADMSG, "xz stream is truncated or corrupt (LZMA_BUF_ERROR)");
	check_fail("cut1.xz", -EBADMSG, "xz stream is truncated or corrupt");
	check_fail("bad.xz", -EBADMSG, "xz stream is truncated or corrupt");
	check_fail("cut.zst", -EBADMSG, "zstd stream is truncated");
	check_fail("cut3.zst", -EBADMSG, "zstd stream is truncated");
	check_fail("bad.zst", -EBADMSG, "zstd stream is corrupt");
	check_fail("trail.zst", -EBADMSG, "zstd stream is");

	/* unsupported compressors and bad paths */
	ok(!run("cd '%s' && head -c 100000 image.raw | gzip -c > image.gz && "
		"head -c 100000 image.raw | bzip2 -c > image.bz2 && mkdir -p adir",
		dir),
	   "gzip and bzip2 inputs");
	check_fail("image.gz", -EOPNOTSUPP, "gzip");
	check_fail("image.bz2", -EOPNOTSUPP, "bzip2");
	check_fail("missing.img", -ENOENT, "missing.img");
	check_fail("adir", -EISDIR, "is a directory");
	aim_error_clear();
	r = aim_input_open(path("mt.xz"), "/nonexistent-tmpdir", 1, NULL, NULL, &in);
	is_int(r, -ENOENT, "temporary directory missing: -ENOENT");
	ok(strstr(detail(), "cannot create a temporary file in /nonexistent-tmpdir") != NULL,
	   "detail: %s", detail());
	printf("# not tested: -ENOSPC needs a full filesystem (no unprivileged way to make one)\n");

	run("rm -rf '%s'", dir);
	return done_testing();
}
