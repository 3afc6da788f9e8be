/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to lib/source.c and lib/source-range.c: the source object and the HTTP helpers
 * both use (the sequential transfer's error mapping, retry rules and backoff). */
#ifndef AIM_SOURCE_INT_H
#define AIM_SOURCE_INT_H

#include <stdint.h>

#include "source.h"

/* The static device build of the CLI links the minimal libcurl that tools/curl-static.sh
 * builds from Debian's curl source (Debian's own libcurl.a needs GSSAPI and LDAP archives
 * that do not exist; docs/device-build.md). Without it (an arch whose static curl is not
 * built) it sets AIM_WITH_CURL=0, and http(s) sources are refused with a hint to pipe the
 * bundle in. Files, stdin and block devices work alike. */
#ifndef AIM_WITH_CURL
#define AIM_WITH_CURL 1
#endif
#if AIM_WITH_CURL
#include <curl/curl.h>
#endif

#define BUF_CAP (1024 * 1024)
#define CURL_BUFSIZE (128 * 1024)
#define MAX_BACKOFF_MS 30000u
#define VALIDATOR_MAX 256

enum { SRC_FILE, SRC_HTTP };

struct validators {
	char etag[VALIDATOR_MAX];
	char lastmod[VALIDATOR_MAX];
};

struct aim_source {
	int kind;
	char *name;
	int64_t size;
	uint64_t pos; /* bytes handed to the caller */
	int err;      /* sticky error */
	int eof;

	/* SRC_FILE */
	int fd;

	/* SRC_HTTP */
	struct aim_source_opts opts;
	char *url;
	int tls; /* an https:// source: every redirect must stay https */
#if AIM_WITH_CURL
	CURL *easy;
	CURLM *multi;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode result;   /* result of the finished attempt */
#endif
	uint8_t *buf;
	size_t buf_off, buf_len, buf_cap;
	int paused;
	int running;	   /* the easy handle is in the multi handle */
	int attempt_done;
	unsigned reconnects;
	unsigned fails_in_row;

	/* Per attempt: the offset asked for, what the response headers said. */
	uint64_t attempt_off;
	uint64_t attempt_got; /* body bytes of this attempt accepted (after skip) */
	uint64_t skip;	      /* bytes to drop: a 200 answer to a Range request */
	long status;
	int validated;
	int64_t resp_len; /* Content-Length, -1 */
	int have_crange;
	uint64_t cr_start, cr_end;
	int64_t cr_total; /* -1 for '*' */
	struct validators cur;

	/* From the first response: what every later one must match. */
	int have_first;
	struct validators first;

	/* Random access (aim_source_fetch, lib/source-range.c). */
	int range_ok;	       /* aim_source_fetch() works */
	const char *range_why; /* why not (static text) */
	int multipart;	       /* -1 not known yet, 0 the server declines it, 1 it answers it */
	uint64_t fetched;      /* aim_source_fetched_bytes() */
	unsigned requests;     /* aim_source_requests() */
	unsigned connections;  /* aim_source_connections() */
	struct rng_req *req;   /* the request under way (source-range.c) */
};

struct rng_req;

/* Files and block devices: pread; stdin and pipes refused. */
int aim_src_file_fetch(struct aim_source *s, const struct aim_range *r, size_t n);

#if AIM_WITH_CURL
void aim_src_copy_value(char *dst, const char *v, size_t len);
/* A header callback's status line ("HTTP/1.1 206 ..."): 1, *status its code (0 without
 * one); 0 for any other line. */
int aim_src_status_line(const char *line, size_t len, long *status);
int aim_src_header_is(const char *line, size_t len, const char *name, const char **val,
		      size_t *vlen);
/* -ESTALE with a detail when cur's ETag or Last-Modified differ from the first response's
 * (between: "attempts", "requests"); 0 when they match or there was none yet. */
int aim_src_check_validators(const struct aim_source *s, const struct validators *cur,
			     const char *between);
/* Whether the finished attempt (s->result, HTTP status code) is worth a reconnect. */
int aim_src_retryable(struct aim_source *s, long code);
/* The finished attempt's failure as -errno with a one-line detail. */
int aim_src_attempt_error(struct aim_source *s, long code);
void aim_src_backoff(struct aim_source *s);
/* Sets the options every request of s shares (URL, TLS, timeouts) on s->easy. */
void aim_src_setup_easy(struct aim_source *s);
/* open of an HTTP source with opts.random_access: one bytes=0-0 request. */
int aim_src_http_open_random(struct aim_source *s);
int aim_src_http_fetch(struct aim_source *s, const struct aim_range *r, size_t n);
void aim_src_http_close_random(struct aim_source *s);
#endif

#endif
