/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/util/copy.c: a range copied between offsets of two files is byte for byte the same,
 * all-zero 4 KiB blocks stay holes in the output, the hash is that of every byte read (holes
 * included), a read-only pass (out_fd < 0) hashes without writing, progress reaches the
 * total once per MiB, and a range past the end of the input fails.
 */
#include "util/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "base/fileio.h"

#define MiB (1024 * 1024)

struct prog {
	int calls;
	uint64_t last, total;
};

static void prog_cb(void *ud, uint64_t done, uint64_t total)
{
	struct prog *p = ud;

	p->calls++;
	p->last = done;
	p->total = total;
}

static void hash_of(const uint8_t *buf, size_t n, uint8_t md[AIM_SHA256_BYTES])
{
	struct aim_sha256 h = {0};

	aim_sha256_init(&h);
	aim_sha256_update(&h, buf, n);
	aim_sha256_final(&h, md);
	aim_sha256_done(&h);
}

int main(void)
{
	char dir[] = "/tmp/aim-copy-XXXXXX", in[64], out[64];
	const size_t len = 2 * MiB + 8192 + 100; /* not a whole number of MiB or blocks */
	const uint64_t from = 12345, to = 3 * MiB;
	uint8_t *src = calloc(1, len), *got = malloc(len), md[AIM_SHA256_BYTES],
		want[AIM_SHA256_BYTES];
	struct aim_sha256 h = {0};
	struct prog p = {0};
	struct stat st;
	int ifd, ofd, r;

	ok(src && got && mkdtemp(dir), "set-up");
	/* data, then 1 MiB of zeros (holes in the copy), then data up to the end */
	for (size_t i = 0; i < len; i++)
		src[i] = i < MiB || i >= 2 * MiB ? (uint8_t)(i * 13 + 7) : 0;
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	ifd = open(in, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ofd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(ifd >= 0 && ofd >= 0 && aim_pwrite_full(ifd, src, len, from) == 0, "input written");

	aim_sha256_init(&h);
	r = aim_copy_sparse(ifd, from, ofd, to, len, &h, prog_cb, &p);
	is_int(r, 0, "copy");
	aim_sha256_final(&h, md);
	hash_of(src, len, want);
	ok(!memcmp(md, want, sizeof(md)), "the hash is that of the range");
	is_int(p.calls, 3, "progress after each MiB and at the end");
	ok(p.last == len && p.total == len, "progress reaches the total");
	ok(ftruncate(ofd, (off_t)(to + len)) == 0 && aim_pread_full(ofd, got, len, to) == 0,
	   "output read back");
	ok(!memcmp(got, src, len), "the output range equals the input range");
	r = fsync(ofd) == 0 && fstat(ofd, &st) == 0 ? 0 : -errno;
	ok(r == 0 && st.st_blocks > 0 && (uint64_t)st.st_blocks * 512 < len - MiB / 2,
	   "the zero MiB was not written (%llu bytes allocated)",
	   (unsigned long long)st.st_blocks * 512);
	ok(lseek(ofd, 0, SEEK_DATA) == (off_t)to, "nothing before the target offset was written");

	/* read-only: hashes, writes nothing */
	aim_sha256_init(&h);
	is_int(aim_copy_sparse(ifd, from, -1, 0, len, &h, NULL, NULL), 0, "hash-only pass");
	aim_sha256_final(&h, md);
	ok(!memcmp(md, want, sizeof(md)), "hash-only pass: the same hash");
	is_int(aim_copy_sparse(ifd, from, ofd, to, 0, NULL, NULL, NULL), 0, "an empty range");

	r = aim_copy_sparse(ifd, from + len - 10, ofd, to, 100, NULL, NULL, NULL);
	ok(r < 0, "a range past the end of the input fails (%d)", r);

	aim_sha256_done(&h);
	close(ifd);
	close(ofd);
	unlink(in);
	unlink(out);
	rmdir(dir);
	free(src);
	free(got);
	return done_testing();
}
