// SPDX-License-Identifier: LGPL-2.1-or-later
/* slot.env: parse and format (see slotenv.h). */
#include "slotenv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int aim_slot_info_parse(const char *buf, size_t len, struct aim_slot_info *ret)
{
	struct aim_slot_info si;
	size_t pos = 0;
	int lineno = 0;

	memset(&si, 0, sizeof(si));
	while (pos < len) {
		const char *l = buf + pos, *nl = memchr(l, '\n', len - pos), *eq;
		size_t n = nl ? (size_t)(nl - l) : len - pos, kl, vl;
		char num[32];
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
		else if (KEY("rootfs_size") || KEY("installed")) {
			uint64_t v = 0;
			int bad = vl >= sizeof(num);

			if (vl && !bad) {
				memcpy(num, eq + 1, vl);
				num[vl] = 0;
				bad = aim_parse_u64(num, &v) < 0;
			}
			if (bad)
				return aim_error_set(-EBADMSG, "slot.env line %d: bad number "
							"for %.*s", lineno, (int)kl, l);
			if (KEY("rootfs_size"))
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
	*ret = si;
	return 0;
}

int aim_slot_info_format(const struct aim_slot_info *si, char **ret)
{
	const char *vals[] = {si->version, si->board,         si->family,
			      si->arch,    si->source,        si->rootfs_sha256,
			      si->bundle};
	char *s = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
		if (strpbrk(vals[i], "\n\r"))
			return aim_error_set(-EINVAL, "slot.env value with a newline");
	if (asprintf(&s,
		     "version=%s\nboard=%s\nfamily=%s\narch=%s\nsource=%s\nrootfs_size=%" PRIu64
		     "\nrootfs_sha256=%s\ninstalled=%" PRId64 "\nbundle=%s\n",
		     si->version, si->board, si->family, si->arch, si->source, si->rootfs_size,
		     si->rootfs_sha256, si->installed, si->bundle) < 0)
		return -ENOMEM;
	*ret = s;
	return (int)strlen(s);
}
