/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Random access to a bundle source: aim_source_fetch() (docs/delta.md section 7).
 *
 * Files and block devices: pread, nothing else. HTTP(S): open sends "Range: bytes=0-0" and
 * learns from the answer the size (the Content-Range total), the validators (ETag,
 * Last-Modified) every later answer must repeat, and whether Range works at all (206; a
 * 200 means it does not, and the transfer is dropped after the headers). A fetch then asks
 * for up to max_ranges_per_request ranges per request, blocking, with curl_easy_perform on
 * the one easy handle, which keeps the connection open between requests. A multi-range
 * answer (multipart/byteranges) is parsed as it streams in, every part's Content-Range
 * checked against what was asked for, its bytes copied straight into the caller's
 * buffers. A server that declines several ranges at once (nginx with max_ranges 1 answers
 * 200 with the whole file) is asked one range per request from then on; the 200 is cut
 * after its headers. Per range the bytes received so far are counted, so a cut transfer
 * is asked again from the first missing byte, with the reconnect rules of the sequential
 * path (max_retries without progress, doubling backoff).
 *
 * Everything the network says is bounded: Content-Range numbers (19 digits at most, within
 * the size), the boundary (1-70 characters of RFC 2046), multipart lines (1024 bytes),
 * header lines per part, the number of parts (no more than ranges asked for), preamble
 * and epilogue.
 */
#include "source-int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"

/* ---- files and block devices ---- */

static int check_ranges(struct aim_source *s, const struct aim_range *r, size_t n)
{
	uint64_t end = 0;

	for (size_t i = 0; i < n; i++) {
		if (r[i].len && !r[i].buf)
			return aim_error_set(-EINVAL, "%s: range %zu has no buffer", s->name, i);
		if (r[i].off < end || r[i].len > UINT64_MAX - r[i].off)
			return aim_error_set(-EINVAL,
					     "%s: range %zu (%" PRIu64 "+%" PRIu64
					     ") is not sorted or overlaps the one before",
					     s->name, i, r[i].off, r[i].len);
		end = r[i].off + r[i].len;
		if (s->size >= 0 && end > (uint64_t)s->size)
			return aim_error_set(-EINVAL,
					     "%s: range %zu (%" PRIu64 "+%" PRIu64
					     ") ends beyond the size %" PRId64,
					     s->name, i, r[i].off, r[i].len, s->size);
	}
	return 0;
}

int aim_src_file_fetch(struct aim_source *s, const struct aim_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t got = 0;

		while (got < r[i].len) {
			size_t want = (size_t)MIN(r[i].len - got, (uint64_t)(1u << 30));
			ssize_t k = pread(s->fd, r[i].buf + got, want, (off_t)(r[i].off + got));

			s->requests++;
			if (k < 0) {
				if (errno == EINTR)
					continue;
				return aim_error_set(-errno, "%s: read at byte %" PRIu64 ": %s",
						     s->name, r[i].off + got, strerror(errno));
			}
			if (k == 0)
				return aim_error_set(-ESTALE,
						     "%s: ends at byte %" PRIu64
						     ", inside a range (truncated since open?)",
						     s->name, r[i].off + got);
			got += (uint64_t)k;
			s->fetched += (uint64_t)k;
		}
	}
	return 0;
}

/* ---- HTTP ---- */
#if AIM_WITH_CURL

#define MAX_RANGES_HARD 256
#define RANGE_HDR_MAX 4000
#define MP_LINE_MAX 1024
#define MP_HEADERS_MAX 32
#define MP_PREAMBLE_LINES 16
#define MP_EPILOGUE_MAX 4096
#define BOUNDARY_MAX 70

enum { MP_PREAMBLE, MP_HEADERS, MP_DATA, MP_AFTER, MP_END };
/* How a request ended (besides -errno). */
enum { REQ_DONE, REQ_CUT, REQ_DECLINED, REQ_NORANGE };

struct rng_req {
	/* What is asked: ranges [g0, g1) of the fetch's array, got[] bytes of each filled. */
	const struct aim_range *r;
	uint64_t *got;
	size_t g0, g1;
	size_t asked; /* ranges in the Range header (some of [g0, g1) may be full already) */
	int probe; /* open's bytes=0-0 */
	uint8_t probe_byte;
	uint64_t probe_got;
	uint64_t req_start; /* first byte asked for (messages) */
	uint64_t progress;  /* bytes this request filled in */

	/* The response. */
	long status;
	int validated;
	int stop;	 /* REQ_DECLINED / REQ_NORANGE: cut after the headers on purpose */
	int err;	 /* -errno from a callback */
	int multipart;	 /* multipart/byteranges, boundary below */
	int mp_bad;	 /* multipart without a usable boundary */
	char boundary[BOUNDARY_MAX + 1];
	int have_crange; /* a valid Content-Range header; crange_raw keeps bad ones */
	uint64_t cr_start, cr_end;
	int64_t cr_total;
	char crange_raw[64];
	struct validators cur;

	/* The body: the next data byte's offset and what is left of the part. */
	uint64_t pos, left;
	int mp_state;
	char line[MP_LINE_MAX + 1];
	size_t line_len;
	unsigned lines, parts;
	int part_crange;
	uint64_t epilogue;
};

/* "bytes A-B/T", or with T "*" (unknown): decimal numbers of at most 19 digits, A <= B < T. */
static int parse_crange(const char *v, uint64_t *a, uint64_t *b, int64_t *t)
{
	uint64_t x[3] = { 0, 0, 0 };
	const char *p = v;

	if (strncasecmp(p, "bytes", 5))
		return -1;
	p += 5;
	if (*p != ' ' && *p != '\t')
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	for (int k = 0; k < 3; k++) {
		int digits = 0;

		if (k == 2 && *p == '*' && !p[1]) {
			*t = -1;
			*a = x[0], *b = x[1];
			return x[0] <= x[1] ? 0 : -1;
		}
		while (*p >= '0' && *p <= '9') {
			if (++digits > 19)
				return -1;
			x[k] = x[k] * 10 + (uint64_t)(*p++ - '0');
		}
		if (!digits || *p != (k == 0 ? '-' : k == 1 ? '/' : '\0'))
			return -1;
		if (k < 2)
			p++;
	}
	if (x[0] > x[1] || x[1] >= x[2] || x[2] > INT64_MAX)
		return -1;
	*a = x[0], *b = x[1], *t = (int64_t)x[2];
	return 0;
}

static int bchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr("'()+_,-./:=? ", c);
}

/* Content-Type: multipart/byteranges; boundary=X (or "X"): sets multipart and boundary. */
static void parse_content_type(struct rng_req *q, const char *v)
{
	const char *p;
	size_t len = 0;
	int quoted;

	if (strncasecmp(v, "multipart/byteranges", 20))
		return;
	q->multipart = 1;
	q->mp_bad = 1;
	p = strcasestr(v, "boundary=");
	if (!p)
		return;
	p += 9;
	quoted = *p == '"';
	p += quoted;
	while (p[len] && (quoted ? p[len] != '"' : p[len] != ';' && p[len] != ' '))
		if (!bchar((unsigned char)p[len++]) || len > BOUNDARY_MAX)
			return;
	if (!len || (quoted && p[len] != '"') || p[len - 1] == ' ')
		return;
	memcpy(q->boundary, p, len);
	q->boundary[len] = '\0';
	q->mp_bad = 0;
}

/* Copies the bytes [abs, abs + n) into every range of the request they continue. */
static void sink(struct aim_source *s, uint64_t abs, const uint8_t *p, size_t n)
{
	struct rng_req *q = s->req;

	s->fetched += n;
	for (size_t j = q->g0; j < q->g1; j++) {
		const struct aim_range *x = &q->r[j];
		uint64_t want = x->off + q->got[j], end = x->off + x->len, take;

		if (x->off >= abs + n)
			break;
		if (want >= end || abs > want || abs + n <= want)
			continue;
		take = MIN(abs + n, end) - want;
		memcpy(x->buf + q->got[j], p + (want - abs), (size_t)take);
		q->got[j] += take;
		q->progress += take;
	}
	if (s->opts.fetch_progress)
		s->opts.fetch_progress(s->opts.fetch_progress_ud, s->fetched);
}

/* A (part's) Content-Range must start where a range asked for starts, end within the
 * request and carry the size of open's answer. */
static int check_part(struct aim_source *s, uint64_t a, uint64_t b, int64_t t)
{
	struct rng_req *q = s->req;
	const struct aim_range *last = &q->r[q->g1 - 1];
	int starts = 0;

	if (t != s->size)
		return t < 0 ? aim_error_set(-EBADMSG,
					     "%s: the server answered bytes %" PRIu64 "-%" PRIu64
					     " without the total size",
					     s->name, a, b)
			     : aim_error_set(-ESTALE,
					     "%s: content changed on the server between requests "
					     "(size %" PRId64 ", now %" PRId64 ")",
					     s->name, s->size, t);
	for (size_t j = q->g0; j < q->g1 && !starts; j++)
		starts = q->got[j] < q->r[j].len && a == q->r[j].off + q->got[j];
	if (!starts || b >= last->off + last->len)
		return aim_error_set(-EBADMSG,
				     "%s: the server answered bytes %" PRIu64 "-%" PRIu64
				     ", which were not asked for (request from byte %" PRIu64 ")",
				     s->name, a, b, q->req_start);
	return 0;
}

/* The headers of a 2xx answer are complete: >0 to stop on purpose, 0 to go on. */
static int validate(struct aim_source *s)
{
	struct rng_req *q = s->req;
	curl_off_t cl = -1;
	int r;

	if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK)
		cl = -1;
	if (q->status != 200 && q->status != 206)
		return aim_error_set(-EIO, "%s: unexpected HTTP status %ld to a Range request",
				     s->name, q->status);
	r = aim_src_check_validators(s, &q->cur, "requests");
	if (r < 0)
		return r;
	if (q->status == 200 || (q->probe && q->multipart)) {
		if (q->probe) {
			s->first = q->cur;
			s->have_first = 1;
			s->size = q->status == 200 ? cl : -1;
			s->range_ok = s->size == 0;
			s->range_why = q->status == 200
					       ? "the server ignores Range requests (it answered "
						 "bytes=0-0 with the whole file, HTTP 200)"
					       : "the server answered one range with multipart";
			return q->stop = REQ_NORANGE;
		}
		if (cl >= 0 && cl != s->size)
			return aim_error_set(-ESTALE,
					     "%s: content changed on the server between requests "
					     "(size %" PRId64 ", now %" PRId64 ")",
					     s->name, s->size, (int64_t)cl);
		if (q->asked > 1)
			return q->stop = REQ_DECLINED;
		return aim_error_set(-EOPNOTSUPP,
				     "%s: the server answered Range requests with 206 before and "
				     "now ignores them (HTTP 200 to bytes %" PRIu64 "-)",
				     s->name, q->req_start);
	}
	if (q->multipart) {
		if (q->mp_bad)
			return aim_error_set(-EBADMSG,
					     "%s: multipart/byteranges answer without a valid "
					     "boundary (1-70 characters of RFC 2046)",
					     s->name);
		q->mp_state = MP_PREAMBLE;
		return 0;
	}
	if (!q->have_crange)
		return aim_error_set(-EBADMSG, "%s: HTTP 206 with %s Content-Range%s%s%s", s->name,
				     q->crange_raw[0] ? "a malformed" : "no",
				     q->crange_raw[0] ? " '" : "", q->crange_raw,
				     q->crange_raw[0] ? "'" : "");
	if (q->probe) {
		if (q->cr_total < 0 || q->cr_start != 0)
			return aim_error_set(-EBADMSG,
					     "%s: answered bytes=0-0 with '%s' (no total size)",
					     s->name, q->crange_raw);
		s->size = q->cr_total;
		s->first = q->cur;
		s->have_first = 1;
		s->range_ok = 1;
	}
	r = check_part(s, q->cr_start, q->cr_end, q->cr_total);
	if (r < 0)
		return r;
	if (cl >= 0 && (uint64_t)cl != q->cr_end - q->cr_start + 1)
		return aim_error_set(-EBADMSG,
				     "%s: Content-Length %" PRId64
				     " does not match Content-Range %s",
				     s->name, (int64_t)cl, q->crange_raw);
	q->pos = q->cr_start;
	q->left = q->cr_end - q->cr_start + 1;
	return 0;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
	struct aim_source *s = ud;
	struct rng_req *q = s->req;
	size_t len = size * nitems;
	const char *v;
	size_t vlen;

	if (aim_src_status_line(line, len, &q->status)) {
		/* A new response (redirects, 1xx): forget the previous one's headers. */
		q->have_crange = q->multipart = q->mp_bad = 0;
		q->crange_raw[0] = '\0';
		memset(&q->cur, 0, sizeof(q->cur));
		return len;
	}
	if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		if (q->status >= 200 && q->status < 300 && !q->validated) {
			int r = validate(s);
			q->validated = 1;
			if (r != 0) {
				if (r < 0)
					q->err = r;
				return 0; /* aborts the transfer */
			}
		}
		return len;
	}
	if (aim_src_header_is(line, len, "ETag", &v, &vlen)) {
		aim_src_copy_value(q->cur.etag, v, vlen);
	} else if (aim_src_header_is(line, len, "Last-Modified", &v, &vlen)) {
		aim_src_copy_value(q->cur.lastmod, v, vlen);
	} else if (aim_src_header_is(line, len, "Content-Range", &v, &vlen)) {
		aim_src_copy_value(q->crange_raw, v, MIN(vlen, sizeof(q->crange_raw) - 1));
		q->have_crange =
			!parse_crange(q->crange_raw, &q->cr_start, &q->cr_end, &q->cr_total);
	} else if (aim_src_header_is(line, len, "Content-Type", &v, &vlen)) {
		char ct[VALIDATOR_MAX];
		aim_src_copy_value(ct, v, vlen);
		parse_content_type(q, ct);
	}
	return len;
}

/* 1: "--boundary", 2: "--boundary--", 0: another line (trailing blanks allowed). */
static int delimiter(const struct rng_req *q, const char *l, size_t n)
{
	size_t bl = strlen(q->boundary);

	while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	if (n < bl + 2 || l[0] != '-' || l[1] != '-' || memcmp(l + 2, q->boundary, bl))
		return 0;
	if (n == bl + 2)
		return 1;
	return n == bl + 4 && l[bl + 2] == '-' && l[bl + 3] == '-' ? 2 : 0;
}

/* One line of the multipart body outside part data, CR LF removed. */
static int mp_line(struct aim_source *s, const char *l, size_t n)
{
	struct rng_req *q = s->req;
	const char *v;
	size_t vlen;
	int d = q->mp_state == MP_HEADERS ? 0 : delimiter(q, l, n), r;

	switch (q->mp_state) {
	case MP_PREAMBLE:
	case MP_AFTER:
		if (d == 1) {
			if (++q->parts > q->asked)
				return aim_error_set(-EBADMSG,
						     "%s: multipart answer with more parts than "
						     "the %zu ranges asked for",
						     s->name, q->asked);
			q->mp_state = MP_HEADERS;
			q->lines = 0;
			q->part_crange = 0;
			return 0;
		}
		if (d == 2 && q->parts) {
			q->mp_state = MP_END;
			return 0;
		}
		if (d == 0 && ++q->lines <= (q->mp_state == MP_AFTER ? 1u : MP_PREAMBLE_LINES) &&
		    (q->mp_state == MP_PREAMBLE || n == 0))
			return 0;
		return aim_error_set(-EBADMSG,
				     "%s: malformed multipart answer: expected the boundary "
				     "'--%s' %s",
				     s->name, q->boundary,
				     q->parts ? "after a part's data" : "before the first part");
	case MP_HEADERS:
		if (n == 0) {
			if (!q->part_crange)
				return aim_error_set(-EBADMSG,
						     "%s: malformed multipart answer: part %u has "
						     "no Content-Range",
						     s->name, q->parts);
			r = check_part(s, q->cr_start, q->cr_end, q->cr_total);
			if (r < 0)
				return r;
			q->pos = q->cr_start;
			q->left = q->cr_end - q->cr_start + 1;
			q->mp_state = MP_DATA;
			return 0;
		}
		if (++q->lines > MP_HEADERS_MAX)
			return aim_error_set(-EBADMSG,
					     "%s: malformed multipart answer: more than %d header "
					     "lines in part %u",
					     s->name, MP_HEADERS_MAX, q->parts);
		if (!aim_src_header_is(l, n, "Content-Range", &v, &vlen))
			return 0;
		aim_src_copy_value(q->crange_raw, v, MIN(vlen, sizeof(q->crange_raw) - 1));
		if (q->part_crange ||
		    parse_crange(q->crange_raw, &q->cr_start, &q->cr_end, &q->cr_total))
			return aim_error_set(-EBADMSG,
					     "%s: malformed multipart answer: part %u has a %s "
					     "Content-Range '%s'",
					     s->name, q->parts, q->part_crange ? "second" : "bad",
					     q->crange_raw);
		q->part_crange = 1;
		return 0;
	default:
		return 0;
	}
}

static int mp_feed(struct aim_source *s, const uint8_t *p, size_t len)
{
	struct rng_req *q = s->req;

	while (len) {
		if (q->mp_state == MP_DATA) {
			size_t take = (size_t)MIN((uint64_t)len, q->left);
			sink(s, q->pos, p, take);
			q->pos += take;
			q->left -= take;
			p += take;
			len -= take;
			if (!q->left) {
				q->mp_state = MP_AFTER;
				q->lines = 0;
			}
		} else if (q->mp_state == MP_END) {
			q->epilogue += len;
			if (q->epilogue > MP_EPILOGUE_MAX)
				return aim_error_set(-EBADMSG,
						     "%s: multipart answer goes on after its end",
						     s->name);
			return 0;
		} else if (*p == '\n') {
			size_t n = q->line_len;
			int r;

			if (n && q->line[n - 1] == '\r')
				n--;
			q->line[n] = '\0';
			q->line_len = 0;
			r = mp_line(s, q->line, n);
			if (r < 0)
				return r;
			p++, len--;
		} else {
			if (q->line_len >= MP_LINE_MAX)
				return aim_error_set(-EBADMSG,
						     "%s: malformed multipart answer: a line "
						     "longer than %d bytes",
						     s->name, MP_LINE_MAX);
			q->line[q->line_len++] = (char)*p++;
			len--;
		}
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct aim_source *s = ud;
	struct rng_req *q = s->req;
	size_t len = size * nmemb;
	int r;

	if (!q->validated || q->stop) {
		if (!q->stop)
			q->err = aim_error_set(-EIO, "%s: unexpected HTTP status %ld", s->name,
					       q->status);
		return 0;
	}
	if (q->multipart) {
		r = mp_feed(s, (const uint8_t *)data, len);
		if (r < 0) {
			q->err = r;
			return 0;
		}
		return len;
	}
	if (len > q->left) {
		q->err = aim_error_set(-EBADMSG,
				       "%s: the server sent more bytes than its Content-Range %s",
				       s->name, q->crange_raw);
		return 0;
	}
	sink(s, q->pos, (const uint8_t *)data, len);
	q->pos += len;
	q->left -= len;
	return len;
}

/* One request for the ranges [q->g0, q->g1): REQ_* or -errno. */
static int request(struct aim_source *s, const char *range)
{
	struct rng_req *q = s->req;
	long code = 0, redirects = 0, connects = 0;
	CURLcode res;

	q->progress = 0;
	q->status = 0;
	q->validated = q->stop = q->err = 0;
	q->multipart = q->mp_bad = q->have_crange = 0;
	q->line_len = 0;
	q->lines = q->parts = 0;
	q->epilogue = 0;
	q->left = 0;
	s->errbuf[0] = '\0';
	s->attempt_off = q->req_start;
	curl_easy_setopt(s->easy, CURLOPT_RANGE, range);
	res = curl_easy_perform(s->easy);
	s->result = res;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(s->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
	s->requests += 1 + (unsigned)MAX(redirects, 0L);
	s->connections += (unsigned)MAX(connects, 0L);
	s->status = code;
	if (q->err)
		return q->err;
	if (q->stop)
		return q->stop;
	if (res == CURLE_OK) {
		if (!q->validated)
			return aim_error_set(-EIO, "%s: HTTP %ld without a body to a Range request",
					     s->name, code);
		if (q->multipart ? q->mp_state != MP_END : q->left != 0) {
			s->result = CURLE_PARTIAL_FILE; /* a cut the server did not report */
			return REQ_CUT;
		}
		if (!q->progress)
			return aim_error_set(-EBADMSG,
					     "%s: the answer to a request from byte %" PRIu64
					     " brought none of the bytes asked for",
					     s->name, q->req_start);
		return REQ_DONE;
	}
	if (aim_src_retryable(s, code))
		return REQ_CUT;
	return aim_src_attempt_error(s, code);
}

/* Fills r[0..n) (got[] counts what each has), resuming and retrying. */
static int fetch_loop(struct aim_source *s, const struct aim_range *r, uint64_t *got, size_t n)
{
	struct rng_req *q = s->req;
	size_t i = 0;
	int rr;

	q->r = r;
	q->got = got;
	s->fails_in_row = 0;
	for (;;) {
		char range[RANGE_HDR_MAX + 64];
		size_t len = 0, j, count = 0;
		unsigned maxr = MIN(s->opts.max_ranges_per_request, MAX_RANGES_HARD);

		if (s->multipart == 0 || maxr == 0)
			maxr = 1;
		while (i < n && got[i] == r[i].len)
			i++;
		if (i == n)
			return 0;
		for (j = i; j < n && count < maxr && len < RANGE_HDR_MAX; j++) {
			if (got[j] == r[j].len)
				continue;
			len += (size_t)snprintf(range + len, sizeof(range) - len,
						"%s%" PRIu64 "-%" PRIu64, count ? "," : "",
						r[j].off + got[j], r[j].off + r[j].len - 1);
			count++;
		}
		q->g0 = i;
		q->g1 = j;
		q->asked = count;
		q->req_start = r[i].off + got[i];
		rr = request(s, range);
		if (rr < 0)
			return rr;
		if (rr == REQ_NORANGE)
			return 0;
		if (rr == REQ_DECLINED) {
			aim_debug("%s: the server declines %zu ranges in one request: one per "
				  "request from now on",
				  s->name, count);
			s->multipart = 0;
			continue;
		}
		if (count > 1 && q->multipart)
			s->multipart = 1;
		if (q->progress)
			s->fails_in_row = 0;
		if (rr == REQ_DONE)
			continue;
		if (s->opts.max_retries == 0)
			return aim_src_attempt_error(s, s->status);
		if (++s->fails_in_row > s->opts.max_retries) {
			char why[400];
			int e = aim_src_attempt_error(s, s->status);
			snprintf(why, sizeof(why), "%s",
				 aim_error_detail() ? aim_error_detail() : "");
			return aim_error_set(e == -ETIMEDOUT ? e : -EIO,
					     "gave up after %u reconnects without progress: %s",
					     s->opts.max_retries, why);
		}
		aim_debug("%s: request from byte %" PRIu64 " ended early (%s, HTTP %ld), again",
			  s->name, q->req_start,
			  s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result), s->status);
		aim_src_backoff(s);
		s->reconnects++;
	}
}

int aim_src_http_open_random(struct aim_source *s)
{
	struct aim_range pr;
	int r;

	s->req = calloc(1, sizeof(*s->req));
	if (!s->req)
		return -ENOMEM;
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	s->req->probe = 1;
	pr = (struct aim_range){ .off = 0, .len = 1, .buf = &s->req->probe_byte };
	r = fetch_loop(s, &pr, &s->req->probe_got, 1);
	s->req->probe = 0;
	s->fetched = 0;
	return r;
}

int aim_src_http_fetch(struct aim_source *s, const struct aim_range *r, size_t n)
{
	_cleanup_free_ uint64_t *got = calloc(MAX(n, (size_t)1), sizeof(*got));

	if (!got)
		return -ENOMEM;
	return fetch_loop(s, r, got, n);
}

void aim_src_http_close_random(struct aim_source *s)
{
	free(s->req);
	s->req = NULL;
}
#endif

/* ---- common ---- */

int aim_source_random_access(const struct aim_source *s, const char **why)
{
	if (s->range_ok)
		return 1;
	if (why)
		*why = s->range_why ? s->range_why : "random access not available";
	return 0;
}

int aim_source_fetch(struct aim_source *s, const struct aim_range *r, size_t n)
{
	int e;

	if (!s->range_ok)
		return aim_error_set(-EOPNOTSUPP, "%s: no random access: %s", s->name,
				     s->range_why ? s->range_why : "not available");
	e = check_ranges(s, r, n);
	if (e < 0)
		return e;
	if (s->kind == SRC_FILE)
		return aim_src_file_fetch(s, r, n);
#if AIM_WITH_CURL
	return aim_src_http_fetch(s, r, n);
#else
	return -EPROTONOSUPPORT;
#endif
}

uint64_t aim_source_fetched_bytes(const struct aim_source *s)
{
	return s->fetched;
}

unsigned aim_source_requests(const struct aim_source *s)
{
	return s->requests;
}

unsigned aim_source_connections(const struct aim_source *s)
{
	return s->connections;
}
