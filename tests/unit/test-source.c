/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/source.c: files and stdin (a pipe written in small pieces) read back byte-identically
 * in full chunks, sizes, offsets, and every open error with its message (missing file,
 * directory, other URL schemes, credentials kept out of messages, connection refused).
 *
 * With arguments it is the helper of tests/integ/t0120-http.sh instead:
 *   test-source --fetch SPEC [--retries N] [--delay-ms N] [--low-speed S] [--cafile F]
 *               [--insecure] [--chunk N] [--mark FILE] [--slow-ms N] [--no-hash]
 * reads SPEC to the end through aim_source and prints "sha256 HEX", "bytes N", "size N"
 * and "reconnects N" on stdout; on failure one line "error -ERRNO: detail" on stderr and
 * exit 1. --mark FILE rewrites FILE with the offset after every MiB (so the test knows the
 * transfer is under way); --slow-ms sleeps that long after every MiB (a slow consumer).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "tap.h"
#include "http-script.h"
#include "base/log.h"
#include "base/macro.h"

#define MiB (1024u * 1024u)

static int fetch_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fetch", required_argument, NULL, 'f' },
		{ "retries", required_argument, NULL, 'r' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "low-speed", required_argument, NULL, 'l' },
		{ "cafile", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "chunk", required_argument, NULL, 'n' },
		{ "mark", required_argument, NULL, 'm' },
		{ "slow-ms", required_argument, NULL, 's' },
		{ "no-hash", no_argument, NULL, 'H' },
		{}
	};
	struct aim_source_opts o;
	struct aim_source *s = NULL;
	crypto_hash_sha256_state h;
	unsigned char md[32];
	const char *spec = NULL, *mark = NULL;
	size_t chunk = 65536;
	unsigned slow_ms = 0;
	int hash = 1;
	uint64_t total = 0, next_mark = MiB;
	unsigned char *buf;
	int c, r;

	aim_source_opts_init(&o);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'f': spec = optarg; break;
		case 'r': o.max_retries = (unsigned)atoi(optarg); break;
		case 'd': o.retry_delay_ms = (unsigned)atoi(optarg); break;
		case 'l': o.low_speed_time_s = (unsigned)atoi(optarg); break;
		case 'c': o.ca_file = optarg; break;
		case 'k': o.insecure = 1; break;
		case 'n': chunk = (size_t)atol(optarg); break;
		case 'm': mark = optarg; break;
		case 's': slow_ms = (unsigned)atoi(optarg); break;
		case 'H': hash = 0; break;
		default: return 2;
		}
	}
	if (!spec || !chunk)
		return 2;
	buf = malloc(chunk);
	if (!buf || sodium_init() < 0)
		return 2;
	crypto_hash_sha256_init(&h);
	r = aim_source_open(spec, &o, &s);
	if (r < 0) {
		fprintf(stderr, "error %d: %s\n", r,
			aim_error_detail() ? aim_error_detail() : strerror(-r));
		free(buf);
		return 1;
	}
	for (;;) {
		ssize_t k = aim_source_read(s, buf, chunk);
		if (k < 0) {
			fprintf(stderr, "error %d: %s\n", (int)k,
				aim_error_detail() ? aim_error_detail() : strerror((int)-k));
			aim_source_close(s);
			free(buf);
			return 1;
		}
		if (k == 0)
			break;
		if ((size_t)k < chunk && aim_source_read(s, buf, 1) != 0) {
			fprintf(stderr, "error: short read of %zd bytes before the end\n", k);
			aim_source_close(s);
			free(buf);
			return 1;
		}
		if (hash)
			crypto_hash_sha256_update(&h, buf, (unsigned long long)k);
		total += (uint64_t)k;
		while (total >= next_mark) {
			if (mark) {
				FILE *f = fopen(mark, "w");
				if (f) {
					fprintf(f, "%" PRIu64 "\n", total);
					fclose(f);
				}
			}
			if (slow_ms) {
				struct timespec ts = { slow_ms / 1000, (long)(slow_ms % 1000) * 1000000L };
				nanosleep(&ts, NULL);
			}
			next_mark += MiB;
		}
	}
	crypto_hash_sha256_final(&h, md);
	printf("sha256 ");
	for (int i = 0; i < 32; i++)
		printf("%02x", md[i]);
	printf("\nbytes %" PRIu64 "\nsize %" PRId64 "\nreconnects %u\n", total,
	       aim_source_size(s), aim_source_reconnects(s));
	if (aim_source_offset(s) != total) {
		fprintf(stderr, "error: offset %" PRIu64 " != bytes %" PRIu64 "\n",
			aim_source_offset(s), total);
		aim_source_close(s);
		free(buf);
		return 1;
	}
	aim_source_close(s);
	free(buf);
	return 0;
}

static char dir[256];

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

/* Reads a whole source in chunks of `chunk`; every read but the last must be full. */
static int read_all(struct aim_source *s, unsigned char *out, size_t cap, size_t chunk,
		    size_t *ret, int *short_reads)
{
	size_t got = 0;

	*short_reads = 0;
	for (;;) {
		ssize_t k = aim_source_read(s, out + got, MIN(chunk, cap - got));
		if (k < 0)
			return (int)k;
		if (k == 0)
			break;
		if ((size_t)k < MIN(chunk, cap - got))
			(*short_reads)++;
		got += (size_t)k;
		if (got == cap) {
			unsigned char extra;
			if (aim_source_read(s, &extra, 1) != 0)
				return -EFBIG;
			break;
		}
	}
	*ret = got;
	return 0;
}

static void test_file(void)
{
	const size_t n = 3 * MiB + 12345;
	unsigned char *data = malloc(n), *back = malloc(n + 1);
	static const size_t chunks[] = { 1, 4095, 65536, MiB, 4 * MiB };
	char path[300];
	size_t got;
	int shorts, r;

	fill(data, n, 1);
	snprintf(path, sizeof(path), "%s/data.bin", dir);
	ok(write_file(path, data, n) == 0, "fixture: %zu-byte file", n);
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		struct aim_source *s = NULL;

		if (chunks[i] == 1 && n > 70000) {
			/* byte by byte over the first 70000 bytes only, then the rest at once */
			r = aim_source_open(path, NULL, &s);
			is_int(r, 0, "open file for byte reads");
			if (r < 0)
				continue;
			int same = 1;
			for (size_t j = 0; j < 70000; j++) {
				unsigned char b;
				if (aim_source_read(s, &b, 1) != 1 || b != data[j]) {
					same = 0;
					break;
				}
			}
			ok(same, "1-byte reads return the right bytes");
			is_int(aim_source_offset(s), 70000, "offset counts bytes handed out");
			r = read_all(s, back, n - 70000, n, &got, &shorts);
			ok(r == 0 && got == n - 70000 && !memcmp(back, data + 70000, got),
			   "the rest in one read");
			aim_source_close(s);
			continue;
		}
		r = aim_source_open(path, NULL, &s);
		is_int(r, 0, "open file (chunk %zu)", chunks[i]);
		if (r < 0)
			continue;
		is_int(aim_source_size(s), n, "file size known (chunk %zu)", chunks[i]);
		r = read_all(s, back, n + 1, chunks[i], &got, &shorts);
		is_int(r, 0, "read to the end (chunk %zu)", chunks[i]);
		ok(got == n && !memcmp(back, data, n), "bytes identical (chunk %zu)", chunks[i]);
		ok(shorts <= 1, "reads are full until the end (chunk %zu, %d short)", chunks[i],
		   shorts);
		is_int(aim_source_read(s, back, 10), 0, "read after the end gives 0 (chunk %zu)",
		       chunks[i]);
		is_int(aim_source_reconnects(s), 0, "no reconnects for a file");
		is_str(aim_source_name(s), path, "name is the path");
		aim_source_close(s);
	}

	/* Empty file. */
	{
		struct aim_source *s = NULL;
		snprintf(path, sizeof(path), "%s/empty.bin", dir);
		write_file(path, "", 0);
		r = aim_source_open(path, NULL, &s);
		is_int(r, 0, "open empty file");
		if (r == 0) {
			is_int(aim_source_size(s), 0, "empty file: size 0");
			is_int(aim_source_read(s, back, 100), 0, "empty file: first read gives 0");
			aim_source_close(s);
		}
	}
	free(data);
	free(back);
}

/* stdin as a pipe fed by a child in odd-sized pieces with pauses. */
static void test_stdin(void)
{
	const size_t n = 2 * MiB + 777;
	unsigned char *data = malloc(n), *back = malloc(n + 1);
	struct aim_source *s = NULL;
	int p[2], saved, r, shorts, st;
	size_t got = 0;
	pid_t pid;

	fill(data, n, 2);
	if (pipe(p) < 0) {
		ok(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		size_t off = 0, step = 1000;
		close(p[0]);
		while (off < n) {
			size_t k = MIN(step, n - off);
			if (write(p[1], data + off, k) != (ssize_t)k)
				_exit(1);
			off += k;
			step = step * 3 % 70001 + 1;
			if (off % 7 == 0)
				usleep(1000);
		}
		_exit(0);
	}
	close(p[1]);
	saved = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	r = aim_source_open("-", NULL, &s);
	dup2(saved, STDIN_FILENO);
	close(saved);
	is_int(r, 0, "open \"-\" (stdin, a pipe)");
	if (r == 0) {
		is_int(aim_source_size(s), -1, "stdin pipe: size unknown");
		is_str(aim_source_name(s), "-", "stdin: name is -");
		r = read_all(s, back, n + 1, 256 * 1024, &got, &shorts);
		is_int(r, 0, "stdin read to the end");
		ok(got == n && !memcmp(back, data, n), "stdin bytes identical (%zu)", got);
		is_int(shorts, 1, "pipe reads are full until the end despite small writes");
		is_int(aim_source_read(s, back, 1), 0, "stdin: 0 at the end, again");
		aim_source_close(s);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer child finished");

	/* stdin redirected from a regular file: its size is known. */
	{
		char path[300];
		int fd;
		snprintf(path, sizeof(path), "%s/stdin.bin", dir);
		write_file(path, data, 1000);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		saved = dup(STDIN_FILENO);
		dup2(fd, STDIN_FILENO);
		close(fd);
		r = aim_source_open("-", NULL, &s);
		dup2(saved, STDIN_FILENO);
		close(saved);
		is_int(r, 0, "open - redirected from a file");
		if (r == 0) {
			is_int(aim_source_size(s), 1000, "stdin from a file: size known");
			is_int(aim_source_read(s, back, 5000), 1000, "stdin from a file: all bytes");
			aim_source_close(s);
		}
	}
	free(data);
	free(back);
}

static void expect_open_error(const char *spec, int want, const char *needle,
			      const char *absent, const char *what)
{
	struct aim_source *s = NULL;
	const char *d;
	int r;

	aim_error_clear();
	r = aim_source_open(spec, NULL, &s);
	is_int(r, want, "%s: open fails with %s", what, strerror(-want));
	d = aim_error_detail();
	ok(d && strstr(d, needle), "%s: message names it ('%s')", what, d ? d : "(none)");
	if (absent)
		ok(d && !strstr(d, absent), "%s: message leaves out '%s'", what, absent);
	ok(d && !strchr(d, '\n'), "%s: message is one line", what);
	ok(s == NULL, "%s: nothing returned", what);
	if (s)
		aim_source_close(s);
}


/*
 * The scripted HTTP/1.1 server of http-script.h, for the resume rules nginx cannot be made
 * to break: connection k of a scenario gets the answer the scenario gives for it (and the
 * Range start the client asked for). Each connection is closed after one response.
 */
#define HTTP_N 300000u
#define HTTP_CUT 100000u

static unsigned char http_data[HTTP_N], http_data2[HTTP_N];

enum scen {
	SC_CUT_206,	/* 200 cut at HTTP_CUT, then 206 */
	SC_BAD_OFFSET,	/* cut, then 206 starting 10 bytes late */
	SC_SIZE_CHANGED,/* cut, then 206 with another total */
	SC_LASTMOD_CHANGED, /* cut, then 206 with another Last-Modified */
	SC_NO_VALIDATORS, /* 200 without ETag/Last-Modified, cut, then 200 again */
	SC_SKIP_200,	/* 200 with Last-Modified only, cut, then 200 (skipped into) */
	SC_416,		/* cut, then 416 */
	SC_503_FIRST,	/* 503, then 200 */
	SC_DRIP,	/* every connection sends 40000 bytes and is cut */
	SC_503_FOREVER,	/* cut, then 503 on every later connection */
	SC_REDIRECT,	/* 302 to /real, cut, (302 again,) 206 */
	SC_206_FIRST,	/* a 206 to a request without Range */
	SC_404,
};

static enum scen http_sc; /* the scenario of the server forked next */

static void respond(int fd, const struct http_req *q, unsigned k)
{
	enum scen sc = http_sc;
	uint64_t start = q->a[0];
	const char *path = q->path;
	const char *etag = "ETag: \"v1\"\r\n", *lm = "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n";

	if (sc == SC_REDIRECT && strcmp(path, "/real")) {
		sendf(fd, "HTTP/1.1 302 Found\r\nLocation: /real\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (sc == SC_404) {
		sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (sc == SC_206_FIRST) {
		sendf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-%u/%u\r\n"
			  "Content-Length: %u\r\n\r\n", HTTP_N - 1, HTTP_N, HTTP_N);
		send_all(fd, http_data, HTTP_N);
		return;
	}
	if (sc == SC_503_FIRST && k == 0) {
		sendf(fd, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (sc == SC_503_FOREVER && k > 0) {
		sendf(fd, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (start == 0) {
		/* The first answer: a 200, cut at HTTP_CUT (or 40000 for SC_DRIP). */
		int validators = sc != SC_NO_VALIDATORS;
		uint32_t upto = sc == SC_503_FIRST ? HTTP_N : sc == SC_DRIP ? 40000 : HTTP_CUT;
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n%s%s\r\n", HTTP_N,
		      validators && sc != SC_SKIP_200 ? etag : "", validators ? lm : "");
		send_all(fd, http_data, upto);
		return;
	}
	switch (sc) {
	case SC_NO_VALIDATORS:
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", HTTP_N);
		send_all(fd, http_data, HTTP_N);
		return;
	case SC_SKIP_200:
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n%s\r\n", HTTP_N, lm);
		send_all(fd, http_data, HTTP_N);
		return;
	case SC_416:
		sendf(fd, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n");
		return;
	default:
		break;
	}
	{
		uint64_t from = sc == SC_BAD_OFFSET ? start + 10 : start;
		uint32_t total = sc == SC_SIZE_CHANGED ? HTTP_N + 1 : HTTP_N;
		uint64_t upto = sc == SC_DRIP ? MIN(from + 40000, (uint64_t)HTTP_N) : HTTP_N;
		sendf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %llu-%u/%u\r\n"
			  "Content-Length: %llu\r\n%s%s\r\n",
		      (unsigned long long)from, HTTP_N - 1, total,
		      (unsigned long long)(HTTP_N - from), etag,
		      sc == SC_LASTMOD_CHANGED ? "Last-Modified: Tue, 02 Jan 2024 00:00:00 GMT\r\n" : lm);
		send_all(fd, (sc == SC_LASTMOD_CHANGED ? http_data2 : http_data) + from, upto - from);
	}
}

struct http_result {
	int open_r;
	ssize_t read_r;
	size_t got;
	int same;
	unsigned reconnects;
	int64_t size;
	char detail[600];
};

static void http_run(enum scen sc, const char *path, unsigned retries, struct http_result *res)
{
	static unsigned char back[HTTP_N + 16];
	struct aim_source_opts o;
	struct aim_source *s = NULL;
	char url[128];
	pid_t pid = -1;
	int port;

	http_sc = sc;
	port = http_script_start(respond, NULL, &pid);
	memset(res, 0, sizeof(*res));
	aim_source_opts_init(&o);
	o.retry_delay_ms = 10;
	o.max_retries = retries;
	o.low_speed_time_s = 5;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	aim_error_clear();
	res->open_r = aim_source_open(url, &o, &s);
	if (res->open_r == 0) {
		res->size = aim_source_size(s);
		for (;;) {
			/* 1000-byte reads: HTTP_CUT is a multiple, so got shows what was handed
			 * out before an error. */
			ssize_t k = aim_source_read(s, back + res->got,
						    MIN((size_t)1000, sizeof(back) - res->got));
			if (k <= 0) {
				res->read_r = k;
				break;
			}
			res->got += (size_t)k;
		}
		res->reconnects = aim_source_reconnects(s);
		aim_source_close(s);
	}
	res->same = res->got == HTTP_N && !memcmp(back, http_data, HTTP_N);
	snprintf(res->detail, sizeof(res->detail), "%s",
		 aim_error_detail() ? aim_error_detail() : "");
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void test_http(void)
{
	struct http_result r;

	fill(http_data, HTTP_N, 7);
	fill(http_data2, HTTP_N, 8);

	http_run(SC_CUT_206, "/b", 10, &r);
	ok(r.open_r == 0 && r.read_r == 0 && r.same, "cut, 206: all bytes, in order");
	is_int(r.reconnects, 1, "cut, 206: one reconnect");
	is_int(r.size, HTTP_N, "size from Content-Length");

	http_run(SC_BAD_OFFSET, "/b", 10, &r);
	is_int(r.read_r, -EBADMSG, "206 at another offset: -EBADMSG");
	ok(strstr(r.detail, "another range") != NULL, "206 at another offset: says so (%s)",
	   r.detail);
	ok(r.got == HTTP_CUT, "206 at another offset: nothing of it handed out (%zu)", r.got);

	http_run(SC_SIZE_CHANGED, "/b", 10, &r);
	is_int(r.read_r, -ESTALE, "total size changed: -ESTALE");
	ok(strstr(r.detail, "content changed") && strstr(r.detail, "size"),
	   "total size changed: says so (%s)", r.detail);

	http_run(SC_LASTMOD_CHANGED, "/b", 10, &r);
	is_int(r.read_r, -ESTALE, "Last-Modified changed: -ESTALE");
	ok(strstr(r.detail, "Last-Modified") != NULL, "Last-Modified changed: names it (%s)",
	   r.detail);
	ok(r.got == HTTP_CUT, "Last-Modified changed: no byte of the new version handed out");

	http_run(SC_NO_VALIDATORS, "/b", 10, &r);
	is_int(r.read_r, -EOPNOTSUPP, "200 without validators after a cut: -EOPNOTSUPP");
	ok(strstr(r.detail, "cannot resume") != NULL, "no validators: says so (%s)", r.detail);

	http_run(SC_SKIP_200, "/b", 10, &r);
	ok(r.read_r == 0 && r.same, "200 with the same Last-Modified after a cut: skipped into");
	is_int(r.reconnects, 1, "skip-into: one reconnect");

	http_run(SC_416, "/b", 10, &r);
	is_int(r.read_r, -ESTALE, "416 on resume: -ESTALE");
	ok(strstr(r.detail, "416") != NULL, "416: says so (%s)", r.detail);

	http_run(SC_503_FIRST, "/b", 10, &r);
	ok(r.open_r == 0 && r.read_r == 0 && r.same, "503 first, then 200: all bytes");
	is_int(r.reconnects, 1, "503 first: one retry");

	http_run(SC_DRIP, "/b", 3, &r);
	ok(r.read_r == 0 && r.same, "cut every 40000 bytes: all bytes (retries 3, each with progress)");
	is_int(r.reconnects, (HTTP_N + 39999) / 40000 - 1, "cut every 40000 bytes: one reconnect per cut");

	http_run(SC_503_FOREVER, "/b", 2, &r);
	is_int(r.read_r, -EIO, "cut, then 503 forever: -EIO");
	ok(strstr(r.detail, "gave up after 2") && strstr(r.detail, "503"),
	   "cut, then 503: gave up, names the status (%s)", r.detail);

	http_run(SC_REDIRECT, "/start", 10, &r);
	ok(r.read_r == 0 && r.same, "redirect, cut, resume through the redirect: all bytes");

	http_run(SC_206_FIRST, "/b", 10, &r);
	is_int(r.open_r, -EIO, "206 to a request without Range: refused at open");
	ok(strstr(r.detail, "206") != NULL, "206 first: names the status (%s)", r.detail);

	http_run(SC_404, "/b", 10, &r);
	is_int(r.open_r, -ENOENT, "404: -ENOENT at open");
	ok(strstr(r.detail, "HTTP 404") != NULL, "404: says so (%s)", r.detail);
}

static void test_errors(void)
{
	char path[300];
	struct aim_source_opts o;

	snprintf(path, sizeof(path), "%s/no-such-bundle.aimb", dir);
	expect_open_error(path, -ENOENT, "no-such-bundle.aimb", NULL, "missing file");
	expect_open_error(dir, -EISDIR, "is a directory", NULL, "directory");
	expect_open_error("ftp://example.org/b.aimb", -EPROTONOSUPPORT, "unsupported URL scheme",
			  NULL, "ftp URL");
	expect_open_error("ftp://user:secret@example.org/b", -EPROTONOSUPPORT, "example.org/b",
			  "secret", "URL with credentials");
	expect_open_error("", -EINVAL, "empty", NULL, "empty spec");
	/* Port 1 on loopback: nothing listens there; refused at once, not retried. */
	expect_open_error("http://127.0.0.1:1/b.aimb", -ECONNREFUSED, "127.0.0.1", NULL,
			  "connection refused");
	expect_open_error("http://u:topsecret@127.0.0.1:1/b", -ECONNREFUSED, "cannot connect",
			  "topsecret", "refused URL with credentials");

	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/unreadable", dir);
		write_file(path, "x", 1);
		chmod(path, 0);
		expect_open_error(path, -EACCES, "unreadable", NULL, "unreadable file");
	} else {
		ok(1, "# SKIP unreadable file: running as root");
	}

	aim_source_opts_init(&o);
	ok(o.max_retries > 0 && o.retry_delay_ms > 0 && o.low_speed_time_s > 0 &&
		   o.connect_timeout_s > 0 && !o.insecure && !o.ca_file,
	   "defaults: resume on, TLS verified, system CA bundle");
}

int main(int argc, char **argv)
{
	char cmd[400];

	if (argc > 1)
		return fetch_main(argc, argv);

	snprintf(dir, sizeof(dir), "%s/test-source.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_file();
	test_stdin();
	test_errors();
	test_http();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", dir);
	return done_testing();
}
