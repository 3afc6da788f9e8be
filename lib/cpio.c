// SPDX-License-Identifier: LGPL-2.1-or-later
/* newc cpio reading (streaming) and writing, see cpio.h. */
#include "cpio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"

#define MAX_NAME (1u << 20)

enum { ST_HDR, ST_BETWEEN, ST_NAME, ST_NAMEPAD, ST_DATA, ST_DATAPAD, ST_TRAILPAD };

static int hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EBADMSG;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return 0;
}

static void start_header(struct aim_cpio_reader *r)
{
	r->state = ST_HDR;
	r->h = r->pos;
	r->have = 0;
}

/* The 110 header bytes are in. */
static int header_done(struct aim_cpio_reader *r)
{
	const char *w = r->where;

	if (memcmp(r->hdr, "070701", 6) && memcmp(r->hdr, "070702", 6))
		return aim_error_set(-EBADMSG, "%s: no cpio magic at %" PRIu64 " (archive without "
				     "TRAILER!!!?)", w, r->h);
	if (r->h & 3)
		return aim_error_set(-EBADMSG, "%s: cpio header at unaligned offset %" PRIu64, w,
				     r->h);
	for (int i = 0; i < 13; i++)
		if (hex8(r->hdr + 6 + 8 * i, &r->f[i]) < 0)
			return aim_error_set(-EBADMSG, "%s: bad hex in cpio header at %" PRIu64, w,
					     r->h);
	/* f: 0 ino 1 mode 2 uid 3 gid 4 nlink 5 mtime 6 filesize 7-10 dev 11 namesize */
	if (r->f[11] == 0 || r->f[11] > MAX_NAME)
		return aim_error_set(-EBADMSG, "%s: cpio name at %" PRIu64 " truncated", w, r->h);
	r->name.len = 0;
	r->state = ST_NAME;
	r->skip = r->f[11];
	return 0;
}

static int name_done(struct aim_cpio_reader *r)
{
	const char *name = (const char *)r->name.p;
	int k;

	if (name[r->f[11] - 1] != 0)
		return aim_error_set(-EBADMSG, "%s: cpio name at %" PRIu64 " not terminated",
				     r->where, r->h);
	r->state = ST_NAMEPAD;
	r->skip = ALIGN_UP(r->pos, 4) - r->pos;
	r->data.len = 0;
	r->keep = false;
	if (strcmp(name, "TRAILER!!!") && r->want) {
		k = r->want(r->ud, name, r->f[1], r->f[6]);
		if (k < 0)
			return k;
		r->keep = k > 0;
		if (r->keep && (k = aim_buf_reserve(&r->data, (size_t)r->f[6] + 1)) < 0)
			return k;
	}
	return 0;
}

static int data_done(struct aim_cpio_reader *r)
{
	const char *name = (const char *)r->name.p;
	int k;

	r->skip = ALIGN_UP(r->pos, 4) - r->pos;
	if (!strcmp(name, "TRAILER!!!")) {
		r->state = ST_TRAILPAD;
		return 0;
	}
	r->state = ST_DATAPAD;
	if (r->keep && (k = aim_buf_zero(&r->data, 0)) < 0)
		return k;
	return r->entry ? r->entry(r->ud, name, r->f[1], r->keep ? r->data.p : NULL, r->f[6])
			: 0;
}

/* Moves over the states that need no more bytes; 1 after a single archive's end. */
static int settle(struct aim_cpio_reader *r)
{
	int k;

	for (;;) {
		if (r->skip)
			return 0;
		switch (r->state) {
		case ST_NAMEPAD:
			r->state = ST_DATA;
			r->skip = r->f[6];
			continue;
		case ST_DATA:
			k = data_done(r);
			if (k)
				return k;
			continue;
		case ST_DATAPAD:
			start_header(r);
			return 0;
		case ST_TRAILPAD:
			if (!r->multi)
				return 1;
			r->state = ST_BETWEEN;
			return 0;
		default:
			return 0;
		}
	}
}

int aim_cpio_feed(struct aim_cpio_reader *r, const uint8_t *p, size_t len, size_t *used)
{
	size_t i = 0, n;
	int k = 0;

	if (!r->started) {
		r->started = true;
		if (r->multi)
			r->state = ST_BETWEEN;
		else
			start_header(r);
	}
	while (i < len) {
		switch (r->state) {
		case ST_BETWEEN:
			if (p[i] == 0) {
				i++;
				r->pos++;
				continue;
			}
			start_header(r);
			if (r->h & 3)
				k = aim_error_set(-EBADMSG, "%s: cpio header at unaligned offset "
						  "%" PRIu64, r->where, r->h);
			n = 0;
			break;
		case ST_HDR:
			n = MIN(len - i, AIM_CPIO_HDR - r->have);
			memcpy(r->hdr + r->have, p + i, n);
			r->have += n;
			break;
		case ST_NAME:
			n = (size_t)MIN((uint64_t)(len - i), r->skip);
			k = aim_buf_put(&r->name, p + i, n);
			r->skip -= n;
			break;
		case ST_DATA:
			n = (size_t)MIN((uint64_t)(len - i), r->skip);
			if (r->keep)
				k = aim_buf_put(&r->data, p + i, n);
			r->skip -= n;
			break;
		default: /* padding */
			n = (size_t)MIN((uint64_t)(len - i), r->skip);
			r->skip -= n;
			break;
		}
		i += n;
		r->pos += n;
		if (k < 0)
			break;
		if (r->state == ST_HDR && r->have == AIM_CPIO_HDR)
			k = header_done(r);
		else if (r->state == ST_NAME && !r->skip)
			k = name_done(r);
		if (k == 0)
			k = settle(r);
		if (k)
			break;
	}
	*used = i;
	return k;
}

int aim_cpio_end(struct aim_cpio_reader *r)
{
	const char *w = r->where;

	switch (r->state) {
	case ST_BETWEEN:
	case ST_TRAILPAD:
		return 0;
	case ST_HDR:
		if (r->have == 0)
			return aim_error_set(-EBADMSG, "%s: cpio archive ends without TRAILER!!!",
					     w);
		return aim_error_set(-EBADMSG, "%s: cpio header at %" PRIu64 " truncated", w,
				     r->h);
	case ST_NAME:
		return aim_error_set(-EBADMSG, "%s: cpio name at %" PRIu64 " truncated", w, r->h);
	case ST_DATAPAD:
		return aim_error_set(-EBADMSG, "%s: cpio archive ends without TRAILER!!!", w);
	default:
		return aim_error_set(-EBADMSG, "%s: cpio entry '%s' at %" PRIu64 " truncated", w,
				     (const char *)r->name.p, r->h);
	}
}

void aim_cpio_reader_free(struct aim_cpio_reader *r)
{
	aim_buf_free(&r->name);
	aim_buf_free(&r->data);
}

int aim_cpio_add(struct aim_cpio_writer *w, const char *name, uint32_t mode, const void *data,
		 size_t size)
{
	char hdr[AIM_CPIO_HDR + 1];
	size_t nlen = strlen(name) + 1;
	int r;

	if (size > UINT32_MAX)
		return aim_error_set(-EFBIG, "cpio: %s is larger than 4 GiB", name);
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ++w->ino, mode, 0,
		 0, S_ISDIR(mode) ? 2 : 1, w->mtime, (uint32_t)size, 0, 0, 0, 0, (uint32_t)nlen,
		 0);
	r = aim_buf_put(&w->b, hdr, AIM_CPIO_HDR);
	if (r == 0)
		r = aim_buf_put(&w->b, name, nlen);
	if (r == 0)
		r = aim_buf_zero(&w->b, ALIGN_UP(w->b.len, 4) - w->b.len);
	if (r == 0)
		r = aim_buf_put(&w->b, data, size);
	if (r == 0)
		r = aim_buf_zero(&w->b, ALIGN_UP(w->b.len, 4) - w->b.len);
	return r;
}

int aim_cpio_finish(struct aim_cpio_writer *w)
{
	w->ino = 0;
	return aim_cpio_add(w, "TRAILER!!!", 0, NULL, 0);
}
