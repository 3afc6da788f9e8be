/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Part of test-source-range.c: the scripted HTTP/1.1 server of http-script.h playing the
 * multipart answers nginx never sends. Every connection carries one request: "Range:
 * bytes=0-0" (open's) gets a good 206 with ETag "v1"; any other is answered as the path
 * (the scenario) says. Requests are logged ("path range" lines) to check where a resumed
 * request starts.
 */
#include "http-script.h"

#define HN 200000u

static unsigned char hdata[HN];
static char reqlog[300];

static void answer(int fd, const struct http_req *q, unsigned k)
{
	const char *sc = q->path + 1, *etag = strcmp(sc, "etag") ? "\"v1\"" : "\"v2\"";
	const char *hdr = "ETag: %s\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n";
	char bnd[80] = "BOUNDARY42", common[200];
	char *body = NULL;
	size_t blen = 0, cut = 0;
	FILE *f;

	snprintf(common, sizeof(common), hdr, etag);
	if (!strcmp(q->range, "0-0")) {
		sendf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/%u\r\n"
			  "Content-Length: 1\r\nETag: \"v1\"\r\nLast-Modified: Mon, 01 Jan 2024 "
			  "00:00:00 GMT\r\nConnection: close\r\n\r\n", HN);
		send_all(fd, hdata, 1);
		return;
	}
	if (!strcmp(sc, "ignore") || (!strcmp(sc, "decline") && q->n > 1)) {
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n%sConnection: close\r\n\r\n",
		      HN, common);
		send_all(fd, hdata, HN);
		return;
	}
	if (!strcmp(sc, "coalesce") || !strcmp(sc, "bignum") || q->n == 1) {
		uint64_t a = q->a[0], b = q->b[q->n - 1];
		if (!strcmp(sc, "bignum"))
			sendf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes "
				  "%llu-123456789012345678901/%u\r\n", (unsigned long long)a, HN);
		else
			sendf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes "
				  "%llu-%llu/%u\r\n",
			      (unsigned long long)a, (unsigned long long)b, HN);
		sendf(fd, "Content-Length: %llu\r\n%sConnection: close\r\n\r\n",
		      (unsigned long long)(b - a + 1), common);
		send_all(fd, hdata + a, b - a + 1);
		return;
	}
	if (!strcmp(sc, "ok"))
		snprintf(bnd, sizeof(bnd), "a'b(c)+_,-./:=?");
	if (!strcmp(sc, "longb"))
		snprintf(bnd, sizeof(bnd), "%071d", 7);
	f = open_memstream(&body, &blen);
	if (!strcmp(sc, "ok"))
		fprintf(f, "a preamble\r\n");
	for (int i = 0; i < q->n + !strcmp(sc, "extra"); i++) {
		uint64_t a = q->a[i % q->n], b = q->b[i % q->n];
		fprintf(f, "\r\n--%s%s\r\n", bnd, !strcmp(sc, "ok") ? " \t" : "");
		fprintf(f, "Content-Type: application/octet-stream\r\n");
		if (!strcmp(sc, "longline"))
			fprintf(f, "X-Long: %01500d\r\n", 0);
		if (strcmp(sc, "nocr"))
			fprintf(f, "Content-Range: bytes %llu-%llu/%u\r\n",
				(unsigned long long)a + (!strcmp(sc, "notasked") && i == 0),
				(unsigned long long)b, HN + !strcmp(sc, "total"));
		fprintf(f, "\r\n");
		fflush(f);
		if (i == 1 && !strcmp(sc, "cut") && k == 0)
			cut = blen + 700;
		fwrite(hdata + a, 1, b - a + 1, f);
		if (i == 0 && !strcmp(sc, "garbage"))
			fprintf(f, "\r\nXYZ");
	}
	fprintf(f, "\r\n--%s--\r\n", bnd);
	fclose(f);
	sendf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Type: multipart/byteranges; "
		  "boundary=%s%s%s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
	      !strcmp(sc, "ok") ? "\"" : "", bnd, !strcmp(sc, "ok") ? "\"" : "", blen, common);
	send_all(fd, body, cut ? cut : blen);
	free(body);
}

struct hres {
	int open_r, fetch_r, same;
	unsigned requests, reconnects;
	char detail[600];
};

static const struct {
	uint64_t off, len;
} hr[] = { { 10, 100 }, { 5000, 2000 }, { 150000, 50000 } };

static void http_run(const char *path, unsigned max_per_req, struct hres *res)
{
	static uint8_t bufs[3][50000];
	struct aim_range r[3];
	struct aim_source_opts o;
	struct aim_source *s = NULL;
	char url[128];
	pid_t pid = -1;
	int port;

	snprintf(reqlog, sizeof(reqlog), "%s/requests.log", dir);
	unlink(reqlog);
	port = http_script_start(answer, reqlog, &pid);
	memset(res, 0, sizeof(*res));
	memset(bufs, 0, sizeof(bufs));
	for (size_t i = 0; i < 3; i++)
		r[i] = (struct aim_range){ .off = hr[i].off, .len = hr[i].len, .buf = bufs[i] };
	aim_source_opts_init(&o);
	o.random_access = 1;
	o.retry_delay_ms = 10;
	o.max_retries = 3;
	o.low_speed_time_s = 5;
	o.max_ranges_per_request = max_per_req;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	aim_error_clear();
	res->open_r = aim_source_open(url, &o, &s);
	if (res->open_r == 0) {
		res->fetch_r = aim_source_fetch(s, r, 3);
		res->requests = aim_source_requests(s);
		res->reconnects = aim_source_reconnects(s);
		aim_source_close(s);
	}
	res->same = ranges_equal(r, 3, hdata);
	snprintf(res->detail, sizeof(res->detail), "%s",
		 aim_error_detail() ? aim_error_detail() : "");
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void expect_bad(const char *path, int want, const char *needle, const char *what)
{
	struct hres r;

	http_run(path, 32, &r);
	is_int(r.fetch_r, want, "%s: fetch fails with %s", what, strerror(-want));
	ok(strstr(r.detail, needle) && !strchr(r.detail, '\n'), "%s: one line naming it (%s)",
	   what, r.detail);
}

static void test_http(void)
{
	struct hres r;
	char *log;
	size_t n;

	fill(hdata, HN, 11);
	http_run("/ok", 32, &r);
	ok(r.open_r == 0 && r.fetch_r == 0 && r.same,
	   "multipart with preamble, quoted boundary, padding: bytes equal (%s)", r.detail);
	is_int(r.requests, 2, "multipart: open's request and one for 3 ranges");

	http_run("/coalesce", 32, &r);
	ok(r.fetch_r == 0 && r.same, "one part covering all 3 ranges: bytes equal (%s)", r.detail);

	http_run("/decline", 32, &r);
	ok(r.fetch_r == 0 && r.same, "200 to 3 ranges: asked one by one, bytes equal (%s)",
	   r.detail);
	is_int(r.requests, 5, "declined: open, the declined one, 3 single ranges");

	http_run("/ok", 1, &r);
	ok(r.fetch_r == 0 && r.same, "max_ranges_per_request 1: bytes equal");
	is_int(r.requests, 4, "max_ranges_per_request 1: one request per range");

	http_run("/cut", 32, &r);
	ok(r.fetch_r == 0 && r.same, "multipart cut in part 2: resumed, bytes equal (%s)",
	   r.detail);
	is_int(r.reconnects, 1, "cut: one reconnect");
	log = (char *)slurp(reqlog, &n);
	if (log)
		log[n] = '\0';
	ok(log && strstr(log, "/cut 5700-6999,150000-199999\n"),
	   "cut: asked again from the first missing byte of range 2 (%s)", log ? log : "");
	free(log);

	expect_bad("/ignore", -EOPNOTSUPP, "now ignores", "206 at open, then 200 to one range");
	expect_bad("/etag", -ESTALE, "ETag", "another ETag than open's");
	expect_bad("/total", -ESTALE, "size", "a part of another size");
	expect_bad("/longb", -EBADMSG, "boundary", "a 71-character boundary");
	expect_bad("/nocr", -EBADMSG, "no Content-Range", "a part without Content-Range");
	expect_bad("/notasked", -EBADMSG, "not asked for", "a part starting a byte late");
	expect_bad("/longline", -EBADMSG, "longer than", "a 1508-byte part header line");
	expect_bad("/extra", -EBADMSG, "more parts", "4 parts for 3 ranges");
	expect_bad("/garbage", -EBADMSG, "expected the boundary", "garbage after a part");
	expect_bad("/bignum", -EBADMSG, "malformed Content-Range", "a 21-digit Content-Range");
}
