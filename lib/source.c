/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bundle sources: files, stdin and HTTP(S) with transparent resume.
 *
 * Design of the HTTP side: one curl easy handle driven by a curl multi handle, pulled on
 * demand from aim_source_read() in the caller's thread. The write callback appends to a
 * bounded buffer and returns CURL_WRITEFUNC_PAUSE when it is full; read() drains the buffer
 * and unpauses. No worker thread: nothing to lock, nothing to cancel, and when the consumer
 * (a slow eMMC write) stalls, the transfer simply stops and TCP flow control throttles the
 * server. A transfer that ends early is restarted on the same easy handle with CURLOPT_RANGE
 * from the next byte the caller has not seen, after a backoff; the response headers of every
 * attempt are checked (status, Content-Range, ETag, Last-Modified, Content-Length) against
 * the first one before a byte of its body is accepted. Random access (aim_source_fetch)
 * is in source-range.c.
 */
#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "source-int.h"

void aim_source_opts_init(struct aim_source_opts *o)
{
	*o = (struct aim_source_opts){
		.max_retries = 10,
		.retry_delay_ms = 1000,
		.low_speed_time_s = 30,
		.connect_timeout_s = 30,
		.max_ranges_per_request = 32,
	};
}

/* "https://user:pw@host/x" -> "https://host/x" for messages. */
static char *redact(const char *spec)
{
	const char *p = strstr(spec, "://"), *at, *slash;
	char *r;

	if (!p)
		return strdup(spec);
	p += 3;
	slash = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(slash - p));
	if (!at)
		return strdup(spec);
	if (asprintf(&r, "%.*s%s", (int)(p - spec), spec, at + 1) < 0)
		return NULL;
	return r;
}

static int is_url(const char *s, int *is_http)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3))
		return 0;
	*is_http = !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
	return 1;
}

/* ---- files and stdin ---- */

static int open_file(struct aim_source *s, const char *spec)
{
	struct stat st;
	int fd;

	if (!strcmp(spec, "-"))
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(spec, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		return aim_error_set(r, "%s: %s", s->name, strerror(-r));
	}
	s->fd = fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		return aim_error_set(r, "%s: %s", s->name, strerror(-r));
	}
	if (S_ISDIR(st.st_mode))
		return aim_error_set(-EISDIR, "%s: is a directory", s->name);
	if (!strcmp(spec, "-"))
		s->range_why = "stdin is read sequentially";
	else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		s->range_ok = 1;
	else
		s->range_why = "not a regular file or block device (a pipe?): read sequentially";
	if (S_ISREG(st.st_mode)) {
		off_t cur = lseek(fd, 0, SEEK_CUR);
		s->size = st.st_size - (cur > 0 ? cur : 0);
	} else if (S_ISBLK(st.st_mode)) {
		uint64_t sz;
		if (ioctl(fd, BLKGETSIZE64, &sz) == 0 && sz <= INT64_MAX)
			s->size = (int64_t)sz;
	}
	return 0;
}

static ssize_t read_file(struct aim_source *s, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(s->fd, buf + got, n - got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			s->err = aim_error_set(-errno, "%s: read at byte %" PRIu64 ": %s", s->name,
					       s->pos + got, strerror(errno));
			return s->err;
		}
		if (k == 0) {
			s->eof = 1;
			break;
		}
		got += (size_t)k;
	}
	s->pos += got;
	return (ssize_t)got;
}

/* ---- HTTP ---- */
#if AIM_WITH_CURL

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void aim_src_copy_value(char *dst, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= VALIDATOR_MAX)
		len = VALIDATOR_MAX - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

int aim_src_status_line(const char *line, size_t len, long *status)
{
	const char *sp;

	if (len < 5 || strncmp(line, "HTTP/", 5))
		return 0;
	sp = memchr(line, ' ', len);
	*status = sp ? strtol(sp + 1, NULL, 10) : 0;
	return 1;
}

int aim_src_header_is(const char *line, size_t len, const char *name, const char **val,
		     size_t *vlen)
{
	size_t l = strlen(name);

	if (len <= l || strncasecmp(line, name, l) || line[l] != ':')
		return 0;
	*val = line + l + 1;
	*vlen = len - l - 1;
	return 1;
}

static int parse_content_range(struct aim_source *s, const char *v, size_t len)
{
	char tmp[128];
	unsigned long long a, b, t;
	char star;

	aim_src_copy_value(tmp, v, MIN(len, sizeof(tmp) - 1));
	if (sscanf(tmp, "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
		s->cr_total = t > INT64_MAX ? -1 : (int64_t)t;
	} else if (sscanf(tmp, "bytes %llu-%llu/%c", &a, &b, &star) == 3 && star == '*') {
		s->cr_total = -1;
	} else {
		return 0;
	}
	s->cr_start = a;
	s->cr_end = b;
	s->have_crange = 1;
	return 0;
}

int aim_src_check_validators(const struct aim_source *s, const struct validators *cur,
			     const char *between)
{
	int etag = strcmp(s->first.etag, cur->etag) != 0;

	if (!s->have_first || (!etag && !strcmp(s->first.lastmod, cur->lastmod)))
		return 0;
	return aim_error_set(-ESTALE,
			     "%s: content changed on the server between %s (%s '%s', now "
			     "'%s'): refusing to splice two versions",
			     s->name, between, etag ? "ETag" : "Last-Modified",
			     etag ? s->first.etag : s->first.lastmod,
			     etag ? cur->etag : cur->lastmod);
}

/* The headers of a 2xx response are complete: accept or refuse this attempt. */
static int validate_response(struct aim_source *s)
{
	curl_off_t cl = -1;
	int r;

	if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK)
		cl = -1;
	s->resp_len = cl;

	r = aim_src_check_validators(s, &s->cur, "attempts");
	if (r < 0)
		return r;

	if (s->attempt_off == 0) {
		if (s->status != 200)
			return aim_error_set(-EIO, "%s: unexpected HTTP status %ld", s->name,
					     s->status);
		if (s->size >= 0 && cl >= 0 && cl != s->size)
			return aim_error_set(-ESTALE,
					     "%s: content changed on the server between attempts "
					     "(size %" PRId64 ", now %" PRId64 ")",
					     s->name, s->size, (int64_t)cl);
		if (s->size < 0)
			s->size = cl;
	} else if (s->status == 206) {
		if (!s->have_crange || s->cr_start != s->attempt_off || s->cr_end < s->cr_start)
			return aim_error_set(-EBADMSG,
					     "%s: resumed at byte %" PRIu64
					     " but the server answered another range",
					     s->name, s->attempt_off);
		if (s->size >= 0 && s->cr_total >= 0 && s->cr_total != s->size)
			return aim_error_set(-ESTALE,
					     "%s: content changed on the server between attempts "
					     "(size %" PRId64 ", now %" PRId64 ")",
					     s->name, s->size, s->cr_total);
		if (s->size < 0)
			s->size = s->cr_total;
	} else if (s->status == 200) {
		/* The server ignored Range: skip into the full body, but only when it is
		 * provably the same content. */
		if (!s->first.etag[0] && !s->first.lastmod[0])
			return aim_error_set(-EOPNOTSUPP,
					     "%s: the connection was cut at byte %" PRIu64
					     " and the server ignores Range requests without an "
					     "ETag or Last-Modified to prove the content unchanged: "
					     "cannot resume",
					     s->name, s->attempt_off);
		if (s->size >= 0 && cl >= 0 && cl != s->size)
			return aim_error_set(-ESTALE,
					     "%s: content changed on the server between attempts "
					     "(size %" PRId64 ", now %" PRId64 ")",
					     s->name, s->size, (int64_t)cl);
		s->skip = s->attempt_off;
	} else {
		return aim_error_set(-EIO, "%s: unexpected HTTP status %ld on resume", s->name,
				     s->status);
	}
	if (!s->have_first) {
		s->first = s->cur;
		s->have_first = 1;
	}
	s->validated = 1;
	return 0;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
	struct aim_source *s = ud;
	size_t len = size * nitems;
	const char *v;
	size_t vlen;

	if (aim_src_status_line(line, len, &s->status)) {
		/* A new response (redirects, 1xx): forget the previous one's headers. */
		s->have_crange = 0;
		s->cr_total = -1;
		memset(&s->cur, 0, sizeof(s->cur));
		return len;
	}
	if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		if (s->status >= 200 && s->status < 300 && !s->validated) {
			int r = validate_response(s);
			if (r < 0) {
				s->err = r;
				return 0; /* aborts the transfer */
			}
		}
		return len;
	}
	if (aim_src_header_is(line, len, "ETag", &v, &vlen))
		aim_src_copy_value(s->cur.etag, v, vlen);
	else if (aim_src_header_is(line, len, "Last-Modified", &v, &vlen))
		aim_src_copy_value(s->cur.lastmod, v, vlen);
	else if (aim_src_header_is(line, len, "Content-Range", &v, &vlen))
		parse_content_range(s, v, vlen);
	return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct aim_source *s = ud;
	size_t len = size * nmemb, used, skip = 0;

	if (!s->validated) {
		/* Body without a 2xx header block: should not happen with FAILONERROR. */
		s->err = aim_error_set(-EIO, "%s: unexpected HTTP status %ld", s->name,
				       s->status);
		return 0;
	}
	if (s->skip) {
		/* Dropped only when accepted: a paused chunk comes back whole. */
		skip = (size_t)MIN((uint64_t)len, s->skip);
		data += skip;
		len -= skip;
		if (!len) {
			s->skip -= skip;
			return size * nmemb;
		}
	}
	used = s->buf_len - s->buf_off;
	if (used && used + len > s->buf_cap) {
		s->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	s->skip -= skip;
	if (s->buf_off + used + len > s->buf_cap) {
		memmove(s->buf, s->buf + s->buf_off, used);
		s->buf_off = 0;
		s->buf_len = used;
	}
	if (len > s->buf_cap) {
		uint8_t *nb = realloc(s->buf, len);
		if (!nb) {
			s->err = -ENOMEM;
			return 0;
		}
		s->buf = nb;
		s->buf_cap = len;
	}
	memcpy(s->buf + s->buf_len, data, len);
	s->buf_len += len;
	s->attempt_got += len;
	return size * nmemb;
}

static int start_attempt(struct aim_source *s)
{
	char range[48];
	CURLMcode mr;

	s->attempt_off = s->pos + (s->buf_len - s->buf_off);
	s->attempt_got = 0;
	s->skip = 0;
	s->status = 0;
	s->validated = 0;
	s->have_crange = 0;
	s->cr_total = -1;
	s->attempt_done = 0;
	s->result = CURLE_OK;
	s->paused = 0;
	memset(&s->cur, 0, sizeof(s->cur));
	s->errbuf[0] = '\0';
	if (s->attempt_off) {
		snprintf(range, sizeof(range), "%" PRIu64 "-", s->attempt_off);
		curl_easy_setopt(s->easy, CURLOPT_RANGE, range);
	} else {
		curl_easy_setopt(s->easy, CURLOPT_RANGE, NULL);
	}
	mr = curl_multi_add_handle(s->multi, s->easy);
	if (mr != CURLM_OK)
		return aim_error_set(-EIO, "%s: %s", s->name, curl_multi_strerror(mr));
	s->running = 1;
	return 0;
}

static void stop_attempt(struct aim_source *s)
{
	if (s->running) {
		curl_multi_remove_handle(s->multi, s->easy);
		s->running = 0;
	}
}

/* Runs the transfer a little: until data arrived, the attempt ended, or a poll timeout. */
static int pump(struct aim_source *s)
{
	int still = 0, left;
	CURLMcode mr;
	CURLMsg *m;

	mr = curl_multi_perform(s->multi, &still);
	if (mr != CURLM_OK)
		return aim_error_set(-EIO, "%s: %s", s->name, curl_multi_strerror(mr));
	while ((m = curl_multi_info_read(s->multi, &left))) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == s->easy) {
			s->attempt_done = 1;
			s->result = m->data.result;
		}
	}
	if (s->attempt_done || s->buf_len > s->buf_off)
		return 0;
	mr = curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
	if (mr != CURLM_OK)
		return aim_error_set(-EIO, "%s: %s", s->name, curl_multi_strerror(mr));
	return 0;
}

int aim_src_retryable(struct aim_source *s, long code)
{
	switch (s->result) {
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SSL_CONNECT_ERROR:
		/* Only once the server has been seen: at the start, fail fast and clearly. */
		return s->have_first;
	case CURLE_HTTP_RETURNED_ERROR:
		return code >= 500 || code == 408 || code == 429;
	default:
		return 0;
	}
}

/* Turns a failed attempt into an error with a one-line detail. */
int aim_src_attempt_error(struct aim_source *s, long code)
{
	const char *e = s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result);

	if (s->err)
		return s->err;
	switch (s->result) {
	case CURLE_HTTP_RETURNED_ERROR:
		if (code == 404 || code == 410)
			return aim_error_set(-ENOENT, "%s: HTTP %ld (not found)", s->name, code);
		if (code == 401 || code == 403)
			return aim_error_set(-EACCES, "%s: HTTP %ld (access denied)", s->name, code);
		if (code == 416)
			return aim_error_set(-ESTALE,
					     "%s: HTTP 416: the server no longer has byte %" PRIu64
					     " (content changed?)",
					     s->name, s->attempt_off);
		return aim_error_set(-EIO, "%s: HTTP %ld", s->name, code);
	case CURLE_COULDNT_RESOLVE_HOST:
		return aim_error_set(-EHOSTUNREACH, "%s: cannot resolve host: %s", s->name, e);
	case CURLE_COULDNT_CONNECT: {
		long os = 0;
		curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &os);
		if (os > 0)
			return aim_error_set(-(int)os, "%s: cannot connect: %s (%s)", s->name, e,
					     strerror((int)os));
		return aim_error_set(-ECONNREFUSED, "%s: cannot connect: %s", s->name, e);
	}
	case CURLE_PEER_FAILED_VERIFICATION:
		return aim_error_set(-EKEYREJECTED, "%s: TLS certificate not trusted: %s", s->name,
				     e);
	case CURLE_SSL_CACERT_BADFILE:
		return aim_error_set(-ENOENT, "%s: cannot read the CA bundle: %s", s->name, e);
	case CURLE_UNSUPPORTED_PROTOCOL: {
		const char *to = NULL;
		_cleanup_free_ char *shown = NULL;

		curl_easy_getinfo(s->easy, CURLINFO_EFFECTIVE_URL, &to);
		if (s->tls && to && strncasecmp(to, "https://", 8) && (shown = redact(to)))
			return aim_error_set(-EPROTONOSUPPORT,
					     "%s: redirected to %s: refused, an https source is "
					     "only followed to https URLs",
					     s->name, shown);
		return aim_error_set(-EPROTONOSUPPORT, "%s: %s", s->name, e);
	}
	case CURLE_OPERATION_TIMEDOUT:
		return aim_error_set(-ETIMEDOUT, "%s: %s", s->name, e);
	default:
		return aim_error_set(-EIO, "%s: %s", s->name, e);
	}
}

void aim_src_backoff(struct aim_source *s)
{
	uint64_t ms = s->opts.retry_delay_ms;
	struct timespec ts;

	for (unsigned i = 1; i < s->fails_in_row && ms < MAX_BACKOFF_MS; i++)
		ms *= 2;
	ms = MIN(ms, (uint64_t)MAX_BACKOFF_MS);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The attempt has ended: decide between the end, a reconnect and an error. */
static int finish_attempt(struct aim_source *s)
{
	long code = 0;
	uint64_t have = s->attempt_off + s->attempt_got;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	stop_attempt(s);
	if (s->err)
		return s->err;
	if (s->result == CURLE_OK) {
		if (!s->validated) {
			int r = validate_response(s);
			if (r < 0)
				return r;
		}
		if (s->size < 0 || have == (uint64_t)s->size) {
			s->eof = 1;
			return 0;
		}
		if (have > (uint64_t)s->size)
			return aim_error_set(-EBADMSG,
					     "%s: the server sent %" PRIu64
					     " bytes, more than the %" PRId64 " announced",
					     s->name, have, s->size);
		/* Fewer bytes than announced: a cut the server did not report. */
		s->result = CURLE_PARTIAL_FILE;
	}
	if (!aim_src_retryable(s, code) || s->opts.max_retries == 0)
		return aim_src_attempt_error(s, code);
	if (s->attempt_got)
		s->fails_in_row = 0;
	s->fails_in_row++;
	if (s->fails_in_row > s->opts.max_retries) {
		char why[400];
		int r = aim_src_attempt_error(s, code);
		snprintf(why, sizeof(why), "%s", aim_error_detail() ? aim_error_detail() : "");
		return aim_error_set(r == -ETIMEDOUT ? r : -EIO,
				     "gave up after %u reconnects without progress: %s",
				     s->opts.max_retries, why);
	}
	aim_debug("%s: attempt ended at byte %" PRIu64 " (%s, HTTP %ld), reconnecting", s->name,
		  have, s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result), code);
	aim_src_backoff(s);
	s->reconnects++;
	return start_attempt(s);
}

void aim_src_setup_easy(struct aim_source *s)
{
	CURL *e = s->easy;

	curl_easy_setopt(e, CURLOPT_URL, s->url);
	/* An https source is never downgraded: a redirect to http:// would let anyone on that
	 * leg see, block or replay the transfer (an older validly signed bundle). */
	s->tls = !strncasecmp(s->url, "https://", 8);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, s->tls ? "https" : "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, s->tls ? "https" : "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 8L);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)CURL_BUFSIZE);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "armimmutable/" AIM_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)s->opts.connect_timeout_s);
	if (s->opts.low_speed_time_s) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)s->opts.low_speed_time_s);
	}
	if (s->opts.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->opts.ca_file);
	if (s->opts.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static int open_http(struct aim_source *s, const char *spec)
{
	CURL *e;
	int r;

	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return aim_error_set(-EIO, "libcurl: %s", curl_easy_strerror(curl_init_result));
	s->url = strdup(spec);
	s->easy = e = curl_easy_init();
	if (!s->url || !s->easy)
		return -ENOMEM;
	aim_src_setup_easy(s);
	if (s->opts.random_access)
		return aim_src_http_open_random(s);

	s->buf = malloc(BUF_CAP);
	s->multi = curl_multi_init();
	if (!s->buf || !s->multi)
		return -ENOMEM;
	s->buf_cap = BUF_CAP;
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	s->range_why = "opened for sequential reads (random_access not set)";

	r = start_attempt(s);
	if (r < 0)
		return r;
	/* Run until the first response is accepted (or refused), so that open reports 404,
	 * DNS and connection errors itself. */
	while (!s->validated) {
		if (s->attempt_done) {
			r = finish_attempt(s);
			if (r < 0)
				return r;
			if (s->eof)
				break;
			continue;
		}
		r = pump(s);
		if (r < 0)
			return r;
	}
	return 0;
}

static ssize_t read_http(struct aim_source *s, uint8_t *out, size_t n)
{
	size_t got = 0;
	int r;

	while (got < n) {
		size_t avail = s->buf_len - s->buf_off;
		if (avail) {
			size_t k = MIN(avail, n - got);
			memcpy(out + got, s->buf + s->buf_off, k);
			s->buf_off += k;
			got += k;
			s->pos += k;
			if (s->buf_off == s->buf_len)
				s->buf_off = s->buf_len = 0;
			continue;
		}
		if (s->eof)
			break;
		if (s->paused) {
			s->paused = 0;
			/* May call on_body() right away with the data it held back. */
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
			if (s->err)
				goto fail;
			continue;
		}
		if (s->attempt_done) {
			r = finish_attempt(s);
			if (r < 0) {
				s->err = r;
				goto fail;
			}
			continue;
		}
		r = pump(s);
		if (r < 0) {
			s->err = r;
			goto fail;
		}
	}
	return (ssize_t)got;
fail:
	return s->err;
}
#else
static int open_http(struct aim_source *s, const char *spec)
{
	(void)spec;
	return aim_error_set(-EPROTONOSUPPORT,
			     "%s: this build of armimmutable has no http(s) support; download "
			     "the bundle and install the file, or pipe it: curl -fL URL | "
			     "armimmutable install -",
			     s->name);
}

static ssize_t read_http(struct aim_source *s, uint8_t *out, size_t n)
{
	(void)s, (void)out, (void)n;
	return -EPROTONOSUPPORT;
}
#endif

/* ---- common ---- */

int aim_source_open(const char *spec, const struct aim_source_opts *o, struct aim_source **ret)
{
	_cleanup_(aim_source_closep) struct aim_source *s = NULL;
	int http = 0, r;

	if (!spec || !*spec)
		return aim_error_set(-EINVAL, "empty source");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -EBADF;
	s->size = -1;
	s->cr_total = -1;
	s->multipart = -1;
	if (o)
		s->opts = *o;
	else
		aim_source_opts_init(&s->opts);
	s->name = redact(spec);
	if (!s->name)
		return -ENOMEM;
	if (is_url(spec, &http)) {
		if (!http)
			return aim_error_set(-EPROTONOSUPPORT,
					     "%s: unsupported URL scheme (http:// and https:// "
					     "only)",
					     s->name);
		s->kind = SRC_HTTP;
		r = open_http(s, spec);
	} else {
		s->kind = SRC_FILE;
		r = open_file(s, spec);
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

ssize_t aim_source_read(struct aim_source *s, void *buf, size_t n)
{
	if (s->err)
		return s->err;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (s->kind == SRC_FILE)
		return read_file(s, buf, n);
	if (s->opts.random_access)
		return aim_error_set(-EINVAL, "%s: opened for random access: use aim_source_fetch()",
				     s->name);
	return read_http(s, buf, n);
}

int64_t aim_source_size(struct aim_source *s)
{
	return s->size;
}

uint64_t aim_source_offset(const struct aim_source *s)
{
	return s->pos;
}

unsigned aim_source_reconnects(const struct aim_source *s)
{
	return s->reconnects;
}

const char *aim_source_name(const struct aim_source *s)
{
	return s->name;
}

void aim_source_close(struct aim_source *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
#if AIM_WITH_CURL
	aim_src_http_close_random(s);
	if (s->easy) {
		stop_attempt(s);
		curl_easy_cleanup(s->easy);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
#endif
	free(s->buf);
	free(s->url);
	free(s->name);
	free(s);
}
