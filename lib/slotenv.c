// SPDX-License-Identifier: LGPL-2.1-or-later
/* slot.env: parse and format (see slotenv.h); written with its signature by
 * slotenv-write.c. */
#include "slotenv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verity.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"

static int set_str(char *dst, size_t sz, const char *v, size_t n, const char *key)
{
	if (n >= sz)
		return aim_error_set(-EBADMSG, "slot.env: %s is too long (%zu bytes)", key, n);
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* verity=1 and its parameters as docs/verity.md defines them (reason names the first
 * wrong one). */
static const char *verity_bad(const struct aim_slot_info *si)
{
	if (strcmp(si->verity_alg, "sha256"))
		return "verity_alg is not sha256";
	if (si->verity_block != 4096)
		return "verity_block is not 4096";
	if (!si->verity_data_blocks || si->verity_data_blocks > (UINT64_MAX >> 13))
		return "verity_data_blocks is missing or out of range";
	if (si->verity_hash_offset != si->verity_data_blocks * si->verity_block)
		return "verity_hash_offset is not verity_data_blocks * verity_block";
	if (!is_hex64(si->verity_salt))
		return "verity_salt is not 64 lower-case hex digits";
	if (!is_hex64(si->verity_root))
		return "verity_root is not 64 lower-case hex digits";
	return NULL;
}

static int parse_num(const char *v, size_t vl, uint64_t *ret)
{
	char num[32];

	if (!vl || vl >= sizeof(num))
		return -1;
	memcpy(num, v, vl);
	num[vl] = 0;
	return aim_parse_u64(num, ret);
}

int aim_slot_info_parse(const char *buf, size_t len, struct aim_slot_info *ret)
{
	struct aim_slot_info si;
	size_t pos = 0;
	int lineno = 0;

	memset(&si, 0, sizeof(si));
	while (pos < len) {
		const char *l = buf + pos, *nl = memchr(l, '\n', len - pos), *eq;
		size_t n = nl ? (size_t)(nl - l) : len - pos, kl, vl;
		uint64_t v = 0;
		int r = 0;

		pos += n + 1;
		lineno++;
		if (n && l[n - 1] == '\r')
			n--;
		if (n == 0 || l[0] == '#')
			continue;
		/* Only a CRLF line end is tolerated: what parses must format back the same. */
		if (memchr(l, '\r', n))
			return aim_error_set(-EBADMSG, "slot.env line %d has a carriage return "
						"inside", lineno);
		eq = memchr(l, '=', n);
		if (!eq)
			return aim_error_set(-EBADMSG, "slot.env line %d has no '='", lineno);
		kl = (size_t)(eq - l);
		vl = n - kl - 1;
#define KEY(k) (kl == strlen(k) && !memcmp(l, k, kl))
		if (KEY("version"))
			r = set_str(si.version, sizeof(si.version), eq + 1, vl, "version");
		else if (KEY("board"))
			r = set_str(si.board, sizeof(si.board), eq + 1, vl, "board");
		else if (KEY("family"))
			r = set_str(si.family, sizeof(si.family), eq + 1, vl, "family");
		else if (KEY("arch"))
			r = set_str(si.arch, sizeof(si.arch), eq + 1, vl, "arch");
		else if (KEY("source"))
			r = set_str(si.source, sizeof(si.source), eq + 1, vl, "source");
		else if (KEY("rootfs_sha256"))
			r = set_str(si.rootfs_sha256, sizeof(si.rootfs_sha256), eq + 1, vl,
				    "rootfs_sha256");
		else if (KEY("bundle"))
			r = set_str(si.bundle, sizeof(si.bundle), eq + 1, vl, "bundle");
		else if (KEY("verity_alg"))
			r = set_str(si.verity_alg, sizeof(si.verity_alg), eq + 1, vl, "verity_alg");
		else if (KEY("verity_salt"))
			r = set_str(si.verity_salt, sizeof(si.verity_salt), eq + 1, vl,
				    "verity_salt");
		else if (KEY("verity_root"))
			r = set_str(si.verity_root, sizeof(si.verity_root), eq + 1, vl,
				    "verity_root");
		else if (KEY("rootfs_size") || KEY("installed") || KEY("verity") ||
			 KEY("verity_block") || KEY("verity_data_blocks") ||
			 KEY("verity_hash_offset")) {
			if (parse_num(eq + 1, vl, &v) < 0)
				return aim_error_set(-EBADMSG, "slot.env line %d: bad number "
							"for %.*s", lineno, (int)kl, l);
			if (KEY("verity") && v > 1)
				return aim_error_set(-EBADMSG, "slot.env line %d: verity is 0 or 1",
						     lineno);
			if (KEY("verity"))
				si.verity = (int)v;
			else if (KEY("verity_block"))
				si.verity_block = v > UINT32_MAX ? 0 : (uint32_t)v;
			else if (KEY("verity_data_blocks"))
				si.verity_data_blocks = v;
			else if (KEY("verity_hash_offset"))
				si.verity_hash_offset = v;
			else if (KEY("rootfs_size"))
				si.rootfs_size = v;
			else if (v > INT64_MAX)
				return aim_error_set(-EBADMSG, "slot.env: installed out of range");
			else
				si.installed = (int64_t)v;
		}
#undef KEY
		if (r < 0)
			return r;
	}
	if (si.verity && verity_bad(&si))
		return aim_error_set(-EBADMSG, "slot.env: verity=1 but %s", verity_bad(&si));
	if (!si.verity) {
		si.verity_alg[0] = si.verity_salt[0] = si.verity_root[0] = 0;
		si.verity_block = 0;
		si.verity_data_blocks = si.verity_hash_offset = 0;
	}
	*ret = si;
	return 0;
}

int aim_slot_info_format(const struct aim_slot_info *si, char **ret)
{
	const char *vals[] = {si->version, si->board,         si->family,
			      si->arch,    si->source,        si->rootfs_sha256,
			      si->bundle};
	char *s = NULL, *v = NULL;
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
		if (strpbrk(vals[i], "\n\r"))
			return aim_error_set(-EINVAL, "slot.env value with a newline");
	if (si->verity && verity_bad(si))
		return aim_error_set(-EINVAL, "slot.env: %s", verity_bad(si));
	if (si->verity)
		n = asprintf(&v,
			     "verity=1\nverity_alg=%s\nverity_block=%" PRIu32
			     "\nverity_data_blocks=%" PRIu64 "\nverity_hash_offset=%" PRIu64
			     "\nverity_salt=%s\nverity_root=%s\n",
			     si->verity_alg, si->verity_block, si->verity_data_blocks,
			     si->verity_hash_offset, si->verity_salt, si->verity_root);
	else
		n = (v = strdup("")) ? 0 : -1;
	if (n < 0)
		return -ENOMEM;
	n = asprintf(&s,
		     "version=%s\nboard=%s\nfamily=%s\narch=%s\nsource=%s\nrootfs_size=%" PRIu64
		     "\nrootfs_sha256=%s\ninstalled=%" PRId64 "\nbundle=%s\n%s",
		     si->version, si->board, si->family, si->arch, si->source, si->rootfs_size,
		     si->rootfs_sha256, si->installed, si->bundle, v);
	free(v);
	if (n < 0)
		return -ENOMEM;
	*ret = s;
	return (int)strlen(s);
}

void aim_slot_info_set_verity(struct aim_slot_info *si, const struct aim_verity *v)
{
	si->verity = 1;
	snprintf(si->verity_alg, sizeof(si->verity_alg), "sha256");
	si->verity_block = AIM_VERITY_BLOCK;
	si->verity_data_blocks = v->data_blocks;
	si->verity_hash_offset = v->hash_offset;
	for (int i = 0; i < AIM_VERITY_HASH_BYTES; i++) {
		snprintf(si->verity_salt + 2 * i, 3, "%02x", v->salt[i]);
		snprintf(si->verity_root + 2 * i, 3, "%02x", v->root[i]);
	}
}
