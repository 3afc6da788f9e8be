/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared bits of the libFuzzer harnesses (tests/fuzz/README.md): the input as a
 * NUL-terminated copy or as an in-memory file (memfd) for the parsers that read an fd or
 * a path, and a stream callback over a buffer.
 */
#ifndef AIM_FUZZ_H
#define AIM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy (the parsers take (text, len), some read up to a NUL). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* An in-memory file holding data; its path is /proc/self/fd/N (path[32]). */
static inline int fuzz_memfd(const uint8_t *data, size_t size, char *path)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		abort();
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	if (path)
		snprintf(path, 32, "/proc/self/fd/%d", fd);
	return fd;
}

/* A stream over a buffer, handed out in chunks of at most `chunk` bytes. */
struct fuzz_stream {
	const uint8_t *p;
	size_t len, pos, chunk;
};

static inline ssize_t fuzz_stream_read(void *ud, void *buf, size_t n)
{
	struct fuzz_stream *s = ud;
	size_t left = s->len - s->pos;

	if (n > left)
		n = left;
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

#endif
