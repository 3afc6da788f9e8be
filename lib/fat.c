/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read-only FAT12/16/32 path lookup (see fat.h). */
#include "fat.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

struct fat {
	int fd;
	uint64_t off, size;
	uint32_t bps, spc, reserved, nfats, root_entries, fat_size, total, clusters;
	uint32_t root_cluster; /* FAT32 */
	int bits;              /* 12, 16, 32 */
	uint64_t fat_start, root_start, data_start;
};

static int fat_open(struct fat *f, int fd, uint64_t off, uint64_t size)
{
	uint8_t bs[512];
	int r = aim_pread_full(fd, bs, sizeof(bs), off);
	uint32_t root_sectors, data_sectors;

	if (r < 0)
		return r;
	f->fd = fd;
	f->off = off;
	f->size = size;
	f->bps = aim_get_le16(bs + 11);
	f->spc = bs[13];
	f->reserved = aim_get_le16(bs + 14);
	f->nfats = bs[16];
	f->root_entries = aim_get_le16(bs + 17);
	f->total = aim_get_le16(bs + 19) ? aim_get_le16(bs + 19) : aim_get_le32(bs + 32);
	f->fat_size = aim_get_le16(bs + 22) ? aim_get_le16(bs + 22) : aim_get_le32(bs + 36);
	if (aim_get_le16(bs + 510) != 0xAA55 || (f->bps != 512 && f->bps != 1024 &&
						 f->bps != 2048 && f->bps != 4096) ||
	    !f->spc || (f->spc & (f->spc - 1)) || !f->reserved || !f->nfats || !f->fat_size)
		return aim_error_set(-EBADMSG, "no valid FAT boot sector at byte %llu",
				     (unsigned long long)off);
	root_sectors = (f->root_entries * 32 + f->bps - 1) / f->bps;
	if (f->total < f->reserved + f->nfats * f->fat_size + root_sectors ||
	    (uint64_t)f->total * f->bps > size)
		return aim_error_set(-EBADMSG, "FAT filesystem at byte %llu is larger than "
				     "its partition", (unsigned long long)off);
	data_sectors = f->total - f->reserved - f->nfats * f->fat_size - root_sectors;
	f->clusters = data_sectors / f->spc;
	f->bits = f->clusters < 4085 ? 12 : f->clusters < 65525 ? 16 : 32;
	f->root_cluster = f->bits == 32 ? aim_get_le32(bs + 44) : 0;
	f->fat_start = off + (uint64_t)f->reserved * f->bps;
	f->root_start = f->fat_start + (uint64_t)f->nfats * f->fat_size * f->bps;
	f->data_start = f->root_start + (uint64_t)root_sectors * f->bps;
	return 0;
}

static int next_cluster(struct fat *f, uint32_t c, uint32_t *ret)
{
	uint8_t b[4] = {0};
	uint64_t pos;
	int r;

	if (f->bits == 12) {
		pos = f->fat_start + c + c / 2;
		r = aim_pread_full(f->fd, b, 2, pos);
		if (r < 0)
			return r;
		*ret = (c & 1) ? aim_get_le16(b) >> 4 : aim_get_le16(b) & 0xfff;
		if (*ret >= 0xff8)
			*ret = 0;
	} else if (f->bits == 16) {
		r = aim_pread_full(f->fd, b, 2, f->fat_start + (uint64_t)c * 2);
		if (r < 0)
			return r;
		*ret = aim_get_le16(b);
		if (*ret >= 0xfff8)
			*ret = 0;
	} else {
		r = aim_pread_full(f->fd, b, 4, f->fat_start + (uint64_t)c * 4);
		if (r < 0)
			return r;
		*ret = aim_get_le32(b) & 0x0fffffff;
		if (*ret >= 0x0ffffff8)
			*ret = 0;
	}
	if (*ret && (*ret < 2 || *ret >= f->clusters + 2))
		return aim_error_set(-EBADMSG, "FAT chain points outside the filesystem");
	return 0;
}

/* Reads a cluster chain (or the fixed FAT12/16 root when c == 0) into a buffer. */
static int read_chain(struct fat *f, uint32_t c, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t csize = (size_t)f->bps * f->spc, len = 0, cap = 0;
	_cleanup_free_ uint8_t *buf = NULL;
	unsigned hops = 0;
	int r;

	if (c == 0) {
		len = (size_t)f->root_entries * 32;
		buf = malloc(len + 1);
		if (!buf)
			return -ENOMEM;
		r = aim_pread_full(f->fd, buf, len, f->root_start);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(buf);
		*ret_len = len;
		return 0;
	}
	while (c) {
		uint8_t *nb;
		if (c < 2 || c >= f->clusters + 2 || ++hops > f->clusters)
			return aim_error_set(-EBADMSG, "FAT cluster chain is corrupt");
		if (len >= max + csize)
			return -EFBIG;
		/* grown geometrically (a file's size is known: max), not a cluster at a time:
		 * a 30 MB kernel in 4 KiB clusters was 7500 reallocs */
		if (len + csize + 1 > cap) {
			cap = MAX(len + csize + 1, MIN(2 * cap, max + csize + 1));
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		r = aim_pread_full(f->fd, buf + len, csize,
				   f->data_start + (uint64_t)(c - 2) * csize);
		if (r < 0)
			return r;
		len += csize;
		r = next_cluster(f, c, &c);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* ---- directory entries ---- */

struct dirent_state {
	uint16_t lfn[20 * 13 + 1]; /* UCS-2 units of the long name being gathered */
	int lfn_next;              /* sequence number the next fragment must have; 0: none */
	uint8_t lfn_sum;           /* checksum of the short entry the fragments belong to */
};

struct fat_dirent {
	char name[AIM_FAT_NAME_MAX]; /* long name, else the 8.3 name with its case flags */
	char sfn[13];                /* the 8.3 name as stored */
	uint32_t cluster, size;
	uint8_t attr;
};

static uint8_t sfn_checksum(const uint8_t *e)
{
	uint8_t sum = 0;

	for (int k = 0; k < 11; k++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + e[k]);
	return sum;
}

/* UCS-2 (surrogate pairs joined) to UTF-8; a unit that is no character becomes '?'. */
static void lfn_to_utf8(const uint16_t *u, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; u[i] && u[i] != 0xffff; i++) {
		uint32_t c = u[i];
		char b[4];
		size_t n;

		if (c >= 0xd800 && c < 0xdc00 && u[i + 1] >= 0xdc00 && u[i + 1] < 0xe000)
			c = 0x10000 + ((c - 0xd800) << 10) + (u[++i] - 0xdc00);
		else if (c >= 0xd800 && c < 0xe000)
			c = '?';
		if (c < 0x80) {
			b[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			b[0] = (char)(0xc0 | c >> 6);
			b[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			b[0] = (char)(0xe0 | c >> 12);
			b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			b[0] = (char)(0xf0 | c >> 18);
			b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, b, n);
		o += n;
	}
	out[o] = 0;
}

/* A long-name fragment: 13 UCS-2 units, the last one (0x40) first. Fragments out of
 * order or of another checksum drop the long name. */
static void lfn_add(struct dirent_state *st, const uint8_t *e)
{
	static const int pos[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
	int seq = e[0] & 0x1f;

	if (e[0] & 0x40) {
		memset(st->lfn, 0, sizeof(st->lfn));
		st->lfn_next = seq;
		st->lfn_sum = e[13];
	}
	if (seq < 1 || seq > 20 || seq != st->lfn_next || e[13] != st->lfn_sum) {
		st->lfn_next = 0;
		return;
	}
	for (int k = 0; k < 13; k++)
		st->lfn[(seq - 1) * 13 + k] = aim_get_le16(e + pos[k]);
	st->lfn_next = seq - 1 ? seq - 1 : -1; /* -1: complete, waiting for its short entry */
}

/* The next entry of a directory buffer from *pos, skipping deleted entries, long-name
 * fragments and volume labels: 1 with *ret filled, 0 at the end. */
static int dir_next(const uint8_t *d, size_t len, size_t *pos, struct dirent_state *st,
		    struct fat_dirent *ret)
{
	for (; *pos + 32 <= len; *pos += 32) {
		const uint8_t *e = d + *pos;
		int n = 0, lower;

		if (e[0] == 0)
			return 0;
		if (e[0] == 0xe5) {
			st->lfn_next = 0;
			continue;
		}
		if ((e[11] & 0x3f) == 0x0f) {
			lfn_add(st, e);
			continue;
		}
		if (e[11] & 0x08) { /* volume label */
			st->lfn_next = 0;
			continue;
		}
		for (int k = 0; k < 8 && e[k] != ' '; k++)
			ret->sfn[n++] = (char)(k == 0 && e[k] == 0x05 ? 0xe5 : e[k]);
		if (e[8] != ' ') {
			ret->sfn[n++] = '.';
			for (int k = 8; k < 11 && e[k] != ' '; k++)
				ret->sfn[n++] = (char)e[k];
		}
		ret->sfn[n] = 0;
		if (st->lfn_next == -1 && st->lfn_sum == sfn_checksum(e)) {
			lfn_to_utf8(st->lfn, ret->name, sizeof(ret->name));
		} else {
			/* Windows NT case flags (byte 12): 0x08 base, 0x10 extension in lower case */
			lower = e[12] & 0x08;
			for (int k = 0; k <= n; k++) {
				char c = ret->sfn[k];

				if (c == '.')
					lower = e[12] & 0x10;
				ret->name[k] = lower && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
			}
		}
		st->lfn_next = 0;
		ret->cluster = (uint32_t)aim_get_le16(e + 26) | (uint32_t)aim_get_le16(e + 20) << 16;
		ret->size = aim_get_le32(e + 28);
		ret->attr = e[11];
		*pos += 32;
		return 1;
	}
	return 0;
}

/* Finds name in a directory buffer; by its long name or its 8.3 name, without case. */
static int dir_find(const uint8_t *d, size_t len, const char *name, struct fat_dirent *ret)
{
	struct dirent_state st = {.lfn_next = 0};
	size_t pos = 0;

	while (dir_next(d, len, &pos, &st, ret))
		if (!strcasecmp(ret->sfn, name) || !strcasecmp(ret->name, name))
			return 0;
	return -ENOENT;
}

static int lookup(struct fat *f, const char *path, uint32_t *ret_cluster, uint32_t *ret_size,
		  int *ret_dir)
{
	uint32_t c = f->root_cluster, size = 0;
	int is_dir = 1;
	const char *p = path;

	while (*p == '/')
		p++;
	while (*p) {
		char comp[AIM_FAT_NAME_MAX];
		size_t n = strcspn(p, "/");
		_cleanup_free_ uint8_t *d = NULL;
		struct fat_dirent e;
		size_t dlen;
		int r;

		if (!is_dir)
			return -ENOTDIR;
		if (n >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, n);
		comp[n] = 0;
		r = read_chain(f, c, 4 << 20, &d, &dlen);
		if (r < 0)
			return r;
		r = dir_find(d, dlen, comp, &e);
		if (r < 0)
			return r;
		c = e.cluster;
		size = e.size;
		is_dir = !!(e.attr & AIM_FAT_ATTR_DIR);
		p += n;
		while (*p == '/')
			p++;
	}
	*ret_cluster = c;
	*ret_size = size;
	*ret_dir = is_dir;
	return 0;
}

int aim_fat_exists(int fd, uint64_t offset, uint64_t size, const char *path)
{
	struct fat f;
	uint32_t c, sz;
	int dir, r = fat_open(&f, fd, offset, size);

	if (r < 0)
		return r;
	r = lookup(&f, path, &c, &sz, &dir);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	return r < 0 ? r : 1;
}

int aim_fat_read(int fd, uint64_t offset, uint64_t size, const char *path, size_t max,
		 char **ret, size_t *ret_len)
{
	struct fat f;
	uint32_t c, sz;
	int dir, r = fat_open(&f, fd, offset, size);
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;

	if (r < 0)
		return r;
	r = lookup(&f, path, &c, &sz, &dir);
	if (r < 0)
		return r;
	if (dir)
		return -EISDIR;
	if (sz > max)
		return -EFBIG;
	if (sz == 0) {
		buf = calloc(1, 1);
		len = 0;
	} else {
		r = read_chain(&f, c, sz, &buf, &len);
		if (r < 0)
			return r;
		if (len < sz)
			return aim_error_set(-EBADMSG, "FAT file %s is shorter than its size", path);
	}
	if (!buf)
		return -ENOMEM;
	buf[sz] = 0;
	*ret = (char *)TAKE_PTR(buf);
	if (ret_len)
		*ret_len = sz;
	return 0;
}

int aim_fat_list(int fd, uint64_t offset, uint64_t size, const char *path,
		 int (*cb)(const struct aim_fat_entry *e, void *userdata), void *userdata)
{
	struct fat f;
	struct dirent_state st = {.lfn_next = 0};
	struct fat_dirent e;
	_cleanup_free_ uint8_t *d = NULL;
	size_t dlen, pos = 0;
	uint32_t c, sz;
	int dir, r = fat_open(&f, fd, offset, size);

	if (r < 0)
		return r;
	r = lookup(&f, path, &c, &sz, &dir);
	if (r < 0)
		return r;
	if (!dir)
		return -ENOTDIR;
	if (c == 0 && path[strspn(path, "/")])
		return aim_error_set(-EBADMSG, "FAT directory %s has no cluster", path);
	r = read_chain(&f, c, 4 << 20, &d, &dlen);
	if (r < 0)
		return r;
	while (dir_next(d, dlen, &pos, &st, &e)) {
		struct aim_fat_entry ent = {e.name, e.attr, e.size};

		if (!strcmp(e.sfn, ".") || !strcmp(e.sfn, ".."))
			continue;
		r = cb(&ent, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}
