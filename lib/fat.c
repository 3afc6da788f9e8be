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
	size_t csize = (size_t)f->bps * f->spc, len = 0;
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
		nb = realloc(buf, len + csize + 1);
		if (!nb)
			return -ENOMEM;
		buf = nb;
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

/* Finds name in a directory buffer; long names (UCS-2, ASCII subset) or 8.3. */
static int dir_find(const uint8_t *d, size_t len, const char *name, uint32_t *ret_cluster,
		    uint32_t *ret_size, int *ret_dir)
{
	char lfn[256] = "";

	for (size_t i = 0; i + 32 <= len; i += 32) {
		const uint8_t *e = d + i;
		char sfn[13];
		int n = 0;

		if (e[0] == 0)
			break;
		if (e[0] == 0xe5) {
			lfn[0] = 0;
			continue;
		}
		if (e[11] == 0x0f) { /* long-name fragment: 13 UCS-2 chars */
			static const int pos[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
			int seq = (e[0] & 0x1f) - 1;
			if (e[0] & 0x40)
				memset(lfn, 0, sizeof(lfn));
			for (int k = 0; k < 13 && seq >= 0 && seq * 13 + k < 255; k++) {
				uint16_t ch = aim_get_le16(e + pos[k]);
				lfn[seq * 13 + k] = ch == 0 || ch == 0xffff ? 0
						    : ch < 0x80		 ? (char)ch
									 : '?';
			}
			continue;
		}
		if (e[11] & 0x08) { /* volume label */
			lfn[0] = 0;
			continue;
		}
		for (int k = 0; k < 8 && e[k] != ' '; k++)
			sfn[n++] = (char)e[k];
		if (e[8] != ' ') {
			sfn[n++] = '.';
			for (int k = 8; k < 11 && e[k] != ' '; k++)
				sfn[n++] = (char)e[k];
		}
		sfn[n] = 0;
		if (!strcasecmp(sfn, name) || (lfn[0] && !strcasecmp(lfn, name))) {
			*ret_cluster = (uint32_t)aim_get_le16(e + 26) |
				       (uint32_t)aim_get_le16(e + 20) << 16;
			*ret_size = aim_get_le32(e + 28);
			*ret_dir = !!(e[11] & 0x10);
			return 0;
		}
		lfn[0] = 0;
	}
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
		char comp[256];
		size_t n = strcspn(p, "/");
		_cleanup_free_ uint8_t *d = NULL;
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
		r = dir_find(d, dlen, comp, &c, &size, &is_dir);
		if (r < 0)
			return r;
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
