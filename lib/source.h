/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A byte source for bundles: a file path, "-" (stdin, not seekable) or an http:// or
 * https:// URL fetched with libcurl. Reads are sequential; aim_source_fetch() below gives
 * random access to files, block devices and HTTP(S) servers that answer Range requests
 * (open with random_access for HTTP). An HTTP transfer that ends early
 * (connection cut, stall, HTTP 5xx) is resumed with "Range: bytes=<offset>-" after a short
 * backoff; the reader never sees the cut. A resumed response must carry the same ETag and
 * Last-Modified as the first one (else -ESTALE: two versions are never spliced), and a 206
 * must start exactly at the offset asked for. A server that ignores Range is skipped into
 * only when its validators prove the content unchanged. TLS peers are verified against the
 * system CA bundle (or ca_file) unless insecure is set. libcurl's standard proxy variables
 * (http_proxy, https_proxy, no_proxy) apply as usual.
 */
#ifndef AIM_SOURCE_H
#define AIM_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct aim_source_opts {
	/* Reconnects in a row that bring no new byte before giving up (0: never resume). */
	unsigned max_retries;
	/* First backoff before a reconnect, doubled after each fruitless one (max 30 s). */
	unsigned retry_delay_ms;
	/* A transfer that receives nothing for this long is cut and resumed. */
	unsigned low_speed_time_s;
	unsigned connect_timeout_s;
	/* PEM CA bundle instead of the system one (NULL: system). */
	const char *ca_file;
	/* Skip TLS peer and host verification (explicit opt-in only). */
	int insecure;
	/* Open for random access only (aim_source_fetch): no transfer is started by open;
	 * aim_source_read() is not used on such a source. HTTP: open sends one small Range
	 * request (bytes=0-0) to learn the size and validators and whether Range works. */
	int random_access;
	/* aim_source_fetch over HTTP: at most this many ranges in one request (a
	 * multipart/byteranges answer); 0 or 1: one range per request. Default 32. */
	unsigned max_ranges_per_request;
	/* Called from aim_source_fetch() as bytes arrive, with aim_source_fetched_bytes()
	 * (NULL: not called). */
	void (*fetch_progress)(void *ud, uint64_t fetched);
	void *fetch_progress_ud;
};

/* Defaults: max_retries 10, retry_delay_ms 1000, low_speed_time_s 30,
 * connect_timeout_s 30, system CA bundle, TLS verified, sequential, 32 ranges per
 * request. */
void aim_source_opts_init(struct aim_source_opts *o);

struct aim_source;

/*
 * Opens spec: "-" (stdin), "http://..." / "https://..." or a file path. o may be NULL
 * (defaults); it is copied, but ca_file must stay valid until aim_source_close().
 * For HTTP the request is started and its response headers checked before this returns.
 * Errors (with a detail naming the source): -ENOENT (no such file, HTTP 404/410),
 * -EACCES (permission, HTTP 401/403), -EISDIR, -EPROTONOSUPPORT (other URL schemes; an
 * https source redirected to anything but https: redirects of an http source may go to
 * http or https, those of an https source only to https),
 * -EHOSTUNREACH (cannot resolve host), -ECONNREFUSED (cannot connect), -EKEYREJECTED
 * (TLS certificate not trusted), -EIO (other HTTP errors).
 */
int aim_source_open(const char *spec, const struct aim_source_opts *o, struct aim_source **ret);

/*
 * Fills buf with up to n bytes: returns n, or fewer only when the end was reached (0 only
 * at the true end); -errno on failure (sticky). Errors beyond those of open: -ESTALE
 * (content changed between attempts), -EOPNOTSUPP (server ignored Range after a cut and
 * the content cannot be proven unchanged), -EBADMSG (bad Content-Range, more or fewer
 * bytes than announced), -ETIMEDOUT / -EIO (gave up after max_retries reconnects).
 */
ssize_t aim_source_read(struct aim_source *s, void *buf, size_t n);

/* Total size in bytes (Content-Length, file size), -1 when unknown (pipes, chunked). */
int64_t aim_source_size(struct aim_source *s);
/* Bytes handed out by aim_source_read() so far. */
uint64_t aim_source_offset(const struct aim_source *s);
/* Reconnects (resumed attempts) made so far; 0 for files. */
unsigned aim_source_reconnects(const struct aim_source *s);
/* The spec for messages, with any user:password@ in a URL removed. Valid until close. */
const char *aim_source_name(const struct aim_source *s);

void aim_source_close(struct aim_source *s);

/* ---- Random access (delta installs, docs/delta.md section 7) ---- */

struct aim_range {
	uint64_t off; /* in the source */
	uint64_t len; /* bytes; the buffer holds len bytes */
	uint8_t *buf;
};

/* 1 when aim_source_fetch() works on s (a regular file, a block device, an HTTP(S) server
 * that answered a Range request with 206, opened with random_access), 0 when not (stdin, a
 * pipe, a server that ignores Range, an HTTP source opened for sequential reads: then
 * *why, if not NULL, gets a static reason text). */
int aim_source_random_access(const struct aim_source *s, const char **why);

/*
 * Fills every range (sorted by off, not overlapping, each within the size: else -EINVAL)
 * exactly. Files: pread. HTTP: up to max_ranges_per_request ranges in one request when
 * the server answers multipart/byteranges (every part's Content-Range checked), else one
 * request per range; on the same connection (keep-alive). A transfer cut short is resumed
 * from the first missing byte of that range (max_retries, retry_delay_ms as for reads);
 * ETag, Last-Modified and size must match those of open's response (-ESTALE otherwise,
 * two versions are never spliced). Errors as aim_source_read, plus -EOPNOTSUPP when a
 * server that answered 206 before now ignores Range, -EBADMSG for a malformed multipart
 * answer or a Content-Range not asked for. Ranges that failed may be partly written.
 */
int aim_source_fetch(struct aim_source *s, const struct aim_range *r, size_t n);

/* Bytes received for aim_source_fetch (HTTP: body bytes, multipart headers excluded;
 * files: bytes read) and requests made (HTTP requests, open's included; files: pread
 * calls). */
uint64_t aim_source_fetched_bytes(const struct aim_source *s);
unsigned aim_source_requests(const struct aim_source *s);
/* HTTP connections opened for aim_source_fetch and open (0 for files): fewer than the
 * requests when the server keeps the connection alive. */
unsigned aim_source_connections(const struct aim_source *s);

static inline void aim_source_closep(struct aim_source **s)
{
	if (*s)
		aim_source_close(*s);
}

#endif
