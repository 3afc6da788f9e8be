/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A scripted HTTP/1.1 server in a child process, for the unit tests of lib/source.c and
 * lib/source-range.c that need answers nginx never gives. http_script_start() listens on a
 * free loopback port and forks a server for 40 connections, one request each: it reads the
 * request head, logs "path range" to a file if given, lets the test's answer function
 * respond, and closes the connection.
 */
#ifndef AIM_TESTS_HTTP_SCRIPT_H
#define AIM_TESTS_HTTP_SCRIPT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "base/macro.h"

struct http_req {
	char path[256];
	char range[1024]; /* the value of "Range: bytes=", "" without one */
	uint64_t a[16], b[16]; /* its ranges, first and last byte (b 0 for "N-") */
	int n;
};

/* Answers request q on fd; k counts the earlier requests but open's "bytes=0-0". */
typedef void http_answer_fn(int fd, const struct http_req *q, unsigned k);

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = write(fd, c, n);
		if (k <= 0)
			return;
		c += k;
		n -= (size_t)k;
	}
}

__attribute__((format(printf, 2, 3))) static void sendf(int fd, const char *fmt, ...)
{
	char b[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	send_all(fd, b, (size_t)MIN(n, (int)sizeof(b) - 1));
}

static void http_read_request(int fd, struct http_req *q)
{
	char req[8192];
	size_t n = 0;
	const char *r;

	memset(q, 0, sizeof(*q));
	while (n < sizeof(req) - 1) {
		ssize_t k = read(fd, req + n, sizeof(req) - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	sscanf(req, "GET %255s", q->path);
	r = strcasestr(req, "\r\nRange: bytes=");
	if (r)
		sscanf(r + 15, "%1023[0-9,-]", q->range);
	for (char *p = q->range; *p && q->n < 16; q->n++) {
		char *e;
		q->a[q->n] = strtoull(p, &e, 10);
		q->b[q->n] = strtoull(e + 1, &e, 10);
		p = *e == ',' ? e + 1 : e;
	}
}

/* Starts the server (log: a file for "path range" lines, or NULL); returns its port, *pid
 * the child (kill it when done), or -1. */
static int http_script_start(http_answer_fn *answer, const char *log, pid_t *pid)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 8) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		unsigned k = 0;
		for (unsigned i = 0; i < 40; i++) {
			struct http_req q;
			int c = accept(l, NULL, NULL);
			FILE *lf;
			if (c < 0)
				_exit(1);
			http_read_request(c, &q);
			lf = log ? fopen(log, "a") : NULL;
			if (lf) {
				fprintf(lf, "%s %s\n", q.path, q.range);
				fclose(lf);
			}
			answer(c, &q, k);
			if (strcmp(q.range, "0-0"))
				k++;
			shutdown(c, SHUT_WR);
			close(c);
		}
		_exit(0);
	}
	close(l);
	return ntohs(a.sin_port);
}

#endif
