/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * aim_source_fetch (lib/source-range.c): random access to files (one range, many, the very
 * end, empty ranges, refused range lists), stdin (refused with the reason), a loop block
 * device (root only), and HTTP against a scripted server for what nginx never sends:
 * malformed multipart answers (-EBADMSG with a detail line), a part of another version
 * (-ESTALE), a coalesced single-part answer, and a multipart answer cut mid-part (resumed
 * from the first missing byte of that range). Every fetch is compared with memcmp.
 *
 * With arguments it is the helper of tests/integ/t0125-source-range.sh instead:
 *   test-source-range --fetch SPEC --ref FILE [--ranges OFF:LEN,...] [--random N]
 *       [--seed N] [--max-per-req N] [--retries N] [--delay-ms N] [--low-speed S]
 *       [--cafile F] [--mark FILE] [--again FILE]
 * opens SPEC for random access, fetches the ranges (OFF < 0: from the end; --random N: N
 * random sorted ranges of up to 64 KiB), compares them with the same bytes of FILE and
 * prints "random 0|1", "why TEXT", "size N", "same 0|1", "bytes N" (sum of the lengths),
 * "fetched N", "requests N", "connections N", "reconnects N". On an error: "error -ERRNO:
 * detail" on stderr and exit 1. --mark FILE: rewritten with the bytes fetched after each
 * MiB. --again FILE: after the first fetch create FILE.ready, wait for FILE, fetch again.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "tap.h"
#include "base/log.h"
#include "base/macro.h"

#define MiB (1024u * 1024u)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = malloc((size_t)st.st_size + 1);
	*n = 0;
	while (p && *n < (size_t)st.st_size) {
		ssize_t k = read(fd, p + *n, (size_t)st.st_size - *n);
		if (k <= 0)
			break;
		*n += (size_t)k;
	}
	close(fd);
	return p;
}

/* n random sorted non-overlapping ranges of 1..maxlen bytes within size (fewer if it is
 * small); buffers allocated. Returns the count. */
static size_t random_ranges(struct aim_range *r, size_t n, uint64_t size, uint64_t maxlen,
			    unsigned seed)
{
	uint64_t step = size / n, pos = 0;
	size_t k = 0;

	srandom(seed);
	for (size_t i = 0; i < n && step > 1; i++) {
		uint64_t start = pos + (uint64_t)random() % (step / 2);
		uint64_t len = 1 + (uint64_t)random() % MIN(maxlen, step / 2);
		r[k].off = start;
		r[k].len = len;
		r[k].buf = malloc(len);
		k++;
		pos += step;
	}
	return k;
}

static int ranges_equal(const struct aim_range *r, size_t n, const unsigned char *ref)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].len && memcmp(r[i].buf, ref + r[i].off, r[i].len))
			return 0;
	return 1;
}

static void free_ranges(struct aim_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].buf);
}

/* ---- the helper of t0125 ---- */

static const char *mark_path;
static uint64_t next_mark = MiB;

static void on_progress(void *ud, uint64_t fetched)
{
	(void)ud;
	if (!mark_path || fetched < next_mark)
		return;
	FILE *f = fopen(mark_path, "w");
	if (f) {
		fprintf(f, "%" PRIu64 "\n", fetched);
		fclose(f);
	}
	next_mark = fetched + MiB;
}

static int helper_fail(int r)
{
	fprintf(stderr, "error %d: %s\n", r,
		aim_error_detail() ? aim_error_detail() : strerror(-r));
	return 1;
}

static int helper_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fetch", required_argument, NULL, 'f' },
		{ "ref", required_argument, NULL, 'R' },
		{ "ranges", required_argument, NULL, 'g' },
		{ "random", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'S' },
		{ "max-per-req", required_argument, NULL, 'x' },
		{ "retries", required_argument, NULL, 'r' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "low-speed", required_argument, NULL, 'l' },
		{ "cafile", required_argument, NULL, 'c' },
		{ "mark", required_argument, NULL, 'm' },
		{ "again", required_argument, NULL, 'a' },
		{}
	};
	struct aim_source_opts o;
	struct aim_source *s = NULL;
	struct aim_range r[4096];
	const char *spec = NULL, *refp = NULL, *list = NULL, *again = NULL, *why = "";
	unsigned nrandom = 0, seed = 1;
	unsigned char *ref;
	size_t refn = 0, n = 0;
	uint64_t bytes = 0;
	int c, rr, random_ok;

	aim_source_opts_init(&o);
	o.random_access = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'f': spec = optarg; break;
		case 'R': refp = optarg; break;
		case 'g': list = optarg; break;
		case 'n': nrandom = (unsigned)atoi(optarg); break;
		case 'S': seed = (unsigned)atoi(optarg); break;
		case 'x': o.max_ranges_per_request = (unsigned)atoi(optarg); break;
		case 'r': o.max_retries = (unsigned)atoi(optarg); break;
		case 'd': o.retry_delay_ms = (unsigned)atoi(optarg); break;
		case 'l': o.low_speed_time_s = (unsigned)atoi(optarg); break;
		case 'c': o.ca_file = optarg; break;
		case 'm': mark_path = optarg; break;
		case 'a': again = optarg; break;
		default: return 2;
		}
	}
	if (!spec || !refp || nrandom > ARRAY_SIZE(r))
		return 2;
	ref = slurp(refp, &refn);
	if (!ref)
		return 2;
	o.fetch_progress = on_progress;
	rr = aim_source_open(spec, &o, &s);
	if (rr < 0) {
		free(ref);
		return helper_fail(rr);
	}
	random_ok = aim_source_random_access(s, &why);
	printf("random %d\nwhy %s\nsize %" PRId64 "\n", random_ok, random_ok ? "" : why,
	       aim_source_size(s));
	fflush(stdout);
	if (list) {
		for (const char *p = list; *p && n < ARRAY_SIZE(r); n++) {
			char *end;
			long long off = strtoll(p, &end, 10);
			uint64_t len = strtoull(end + 1, &end, 10);
			r[n].off = off < 0 ? refn + (uint64_t)off : (uint64_t)off;
			r[n].len = len;
			r[n].buf = malloc(len + 1);
			p = *end == ',' ? end + 1 : end;
		}
	} else {
		n = random_ranges(r, nrandom, refn, 64 * 1024, seed);
	}
	for (size_t i = 0; i < n; i++)
		bytes += r[i].len;
	for (int round = 0; round < (again ? 2 : 1); round++) {
		if (round) {
			char ready[600];
			snprintf(ready, sizeof(ready), "%s.ready", again);
			close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
			while (access(again, F_OK) != 0)
				usleep(20000);
			for (size_t i = 0; i < n; i++)
				memset(r[i].buf, 0, r[i].len);
		}
		rr = aim_source_fetch(s, r, n);
		if (rr < 0) {
			helper_fail(rr);
			aim_source_close(s);
			free_ranges(r, n);
			free(ref);
			return 1;
		}
	}
	printf("same %d\nbytes %" PRIu64 "\nfetched %" PRIu64 "\nrequests %u\nconnections %u\n"
	       "reconnects %u\n",
	       ranges_equal(r, n, ref), bytes, aim_source_fetched_bytes(s), aim_source_requests(s),
	       aim_source_connections(s), aim_source_reconnects(s));
	aim_source_close(s);
	free_ranges(r, n);
	free(ref);
	return 0;
}

/* ---- files, stdin, a block device ---- */

static char dir[256];

static int write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, p, n) != (ssize_t)n)
		r = -EIO;
	close(fd);
	return r;
}

static void fetch_checks(const char *spec, const unsigned char *data, size_t n, const char *what)
{
	struct aim_source_opts o;
	struct aim_source *s = NULL;
	struct aim_range r[300], one;
	uint64_t sum = 0;
	size_t k;
	int rr;

	aim_source_opts_init(&o);
	o.random_access = 1;
	rr = aim_source_open(spec, &o, &s);
	is_int(rr, 0, "%s: open", what);
	if (rr < 0)
		return;
	ok(aim_source_random_access(s, NULL) == 1, "%s: random access", what);
	is_int(aim_source_size(s), n, "%s: size", what);

	one = (struct aim_range){ .off = 12345, .len = 100000, .buf = malloc(100000) };
	is_int(aim_source_fetch(s, &one, 1), 0, "%s: one range", what);
	ok(!memcmp(one.buf, data + one.off, one.len), "%s: one range: bytes equal", what);
	free(one.buf);

	k = random_ranges(r, ARRAY_SIZE(r), n, 20000, 5);
	for (size_t i = 0; i < k; i++)
		sum += r[i].len;
	uint64_t before = aim_source_fetched_bytes(s);
	unsigned req_before = aim_source_requests(s);
	is_int(aim_source_fetch(s, r, k), 0, "%s: %zu ranges", what, k);
	ok(ranges_equal(r, k, data), "%s: %zu ranges: bytes equal", what, k);
	is_int(aim_source_fetched_bytes(s) - before, sum, "%s: fetched bytes counted", what);
	ok(aim_source_requests(s) - req_before >= k, "%s: a pread per range at least", what);
	free_ranges(r, k);

	/* The very end, an empty range, then the whole source in one. */
	r[0] = (struct aim_range){ .off = 0, .len = 0, .buf = NULL };
	r[1] = (struct aim_range){ .off = n - 1, .len = 1, .buf = malloc(1) };
	is_int(aim_source_fetch(s, r, 2), 0, "%s: an empty range and the last byte", what);
	ok(r[1].buf[0] == data[n - 1], "%s: the last byte", what);
	free(r[1].buf);
	r[0] = (struct aim_range){ .off = 0, .len = n, .buf = malloc(n) };
	is_int(aim_source_fetch(s, r, 1), 0, "%s: everything in one range", what);
	ok(!memcmp(r[0].buf, data, n), "%s: everything: bytes equal", what);

	/* Refused lists: nothing read. */
	struct aim_range bad[2] = { { 100, 10, r[0].buf }, { 50, 10, r[0].buf } };
	is_int(aim_source_fetch(s, bad, 2), -EINVAL, "%s: unsorted ranges refused", what);
	bad[1].off = 105;
	is_int(aim_source_fetch(s, bad, 2), -EINVAL, "%s: overlapping ranges refused", what);
	bad[0] = (struct aim_range){ n - 5, 6, r[0].buf };
	is_int(aim_source_fetch(s, bad, 1), -EINVAL, "%s: a range past the end refused", what);
	ok(aim_error_detail() && strstr(aim_error_detail(), "beyond the size"),
	   "%s: past the end: says so (%s)", what, aim_error_detail());
	free(r[0].buf);
	aim_source_close(s);
}

static void test_file(void)
{
	const size_t n = 3 * MiB + 4321;
	unsigned char *data = malloc(n);
	char path[300];

	fill(data, n, 3);
	snprintf(path, sizeof(path), "%s/data.bin", dir);
	ok(write_file(path, data, n) == 0, "fixture: %zu-byte file", n);
	fetch_checks(path, data, n, "file");

	/* A file opened for sequential reads may be fetched from as well (pread). */
	struct aim_source *s = NULL;
	struct aim_range r = { .off = n - 4096, .len = 4096, .buf = malloc(4096) };
	unsigned char head[10];
	is_int(aim_source_open(path, NULL, &s), 0, "file opened for sequential reads");
	is_int(aim_source_read(s, head, 10), 10, "sequential read");
	is_int(aim_source_fetch(s, &r, 1), 0, "and a fetch beside it");
	ok(!memcmp(r.buf, data + r.off, r.len) && !memcmp(head, data, 10), "both bytes equal");
	is_int(aim_source_read(s, head, 10), 10, "the sequential position is kept");
	ok(!memcmp(head, data + 10, 10), "next sequential bytes equal");
	aim_source_close(s);
	free(r.buf);

	/* Block device: a read-only loop device over the file (root only). */
	if (geteuid() == 0) {
		char cmd[400], dev[64] = "";
		FILE *p;
		snprintf(cmd, sizeof(cmd), "losetup -f --show -r '%s' 2>/dev/null", path);
		p = popen(cmd, "r");
		if (p && fgets(dev, sizeof(dev), p))
			dev[strcspn(dev, "\n")] = '\0';
		if (p)
			pclose(p);
		if (dev[0]) {
			/* The loop device's size is the file's, rounded down to 512 bytes. */
			fetch_checks(dev, data, n & ~(size_t)511, "loop block device");
			snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
			if (system(cmd) != 0)
				printf("# losetup -d %s failed\n", dev);
		} else {
			ok(1, "# SKIP loop block device: losetup failed (no loop devices here?)");
		}
	} else {
		ok(1, "# SKIP loop block device: not root");
	}
	free(data);
}

static void test_stdin(void)
{
	struct aim_source_opts o;
	struct aim_source *s = NULL;
	struct aim_range r = { .off = 0, .len = 1, .buf = (uint8_t[1]){ 0 } };
	const char *why = NULL;
	int p[2], saved, rr;

	aim_source_opts_init(&o);
	o.random_access = 1;
	if (pipe(p) < 0)
		return;
	saved = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	rr = aim_source_open("-", &o, &s);
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(p[0]);
	close(p[1]);
	is_int(rr, 0, "stdin: open");
	if (rr < 0)
		return;
	is_int(aim_source_random_access(s, &why), 0, "stdin: no random access");
	ok(why && strstr(why, "stdin"), "stdin: the reason says so (%s)", why ? why : "");
	is_int(aim_source_fetch(s, &r, 1), -EOPNOTSUPP, "stdin: fetch refused");
	aim_source_close(s);
}

#include "source-range-http.h"

int main(int argc, char **argv)
{
	char cmd[400];

	if (argc > 1)
		return helper_main(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/test-source-range.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_file();
	test_stdin();
	test_http();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", dir);
	return done_testing();
}
