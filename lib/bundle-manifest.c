/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Update bundles (docs/ota.md): the manifest's text format, parsed strictly. The header,
 * the writer and the streaming reader are in bundle.c.
 */
#include "bundle.h"
#include "bundle-int.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/text.h"

/* ---- Manifest ---- */

int aim_bundle_name_ok(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);
	const char *c = s;

	if (n == 0 || n > AIM_BUNDLE_NAME_MAX) {
		snprintf(why, whylen, "empty or longer than %d bytes", AIM_BUNDLE_NAME_MAX);
		return 0;
	}
	if (s[0] == '/' || s[n - 1] == '/') {
		snprintf(why, whylen, "starts or ends with '/'");
		return 0;
	}
	if (!aim_text_valid(s, n) || strchr(s, '\\')) {
		snprintf(why, whylen, "has a control character, a backslash or invalid UTF-8");
		return 0;
	}
	/* Components: no "", ".", "..". */
	while (*c) {
		const char *e = strchr(c, '/');
		size_t l = e ? (size_t)(e - c) : strlen(c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.')) {
			snprintf(why, whylen, "has an empty, '.' or '..' component");
			return 0;
		}
		c += l + (e ? 1 : 0);
	}
	return 1;
}

int aim_bundle_kind_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t bl = 0;
	const char *e = NULL;

	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	if (sodium_hex2bin(out, n, s, 2 * n, NULL, &bl, &e) || bl != n)
		return -1;
	return 0;
}

static void payload_clear(struct aim_bundle_payload *p)
{
	free(p->name);
	free(p->kind);
	free(p->verity_root);
	free(p->verity_salt);
}

struct aim_bundle_manifest *aim_bundle_manifest_free(struct aim_bundle_manifest *m)
{
	if (!m)
		return NULL;
	free(m->version);
	free(m->board);
	free(m->family);
	free(m->linuxfamily);
	free(m->arch);
	free(m->generator);
	for (size_t i = 0; i < m->npayloads; i++)
		payload_clear(&m->payloads[i]);
	free(m->payloads);
	free(m);
	return NULL;
}

static void manifest_freep(struct aim_bundle_manifest **m)
{
	aim_bundle_manifest_free(*m);
}

const struct aim_bundle_payload *aim_bundle_manifest_find(const struct aim_bundle_manifest *m,
							  const char *kind)
{
	for (size_t i = 0; i < m->npayloads; i++)
		if (!strcmp(m->payloads[i].kind, kind))
			return &m->payloads[i];
	return NULL;
}

/* Stores a string field once; a repeated key is an error. */
static int set_str(char **field, const char *val, unsigned line, const char *key)
{
	if (*field)
		return aim_error_set(-EBADMSG, "manifest line %u: '%s' given twice", line, key);
	*field = strdup(val);
	return *field ? 0 : -ENOMEM;
}

static int set_u64(uint64_t *field, int *seen, const char *val, unsigned line, const char *key)
{
	if (*seen)
		return aim_error_set(-EBADMSG, "manifest line %u: '%s' given twice", line, key);
	/* Canonical decimal only: digits, no leading zero, no "0x". */
	if (!val[0] || strspn(val, "0123456789") != strlen(val) || (val[0] == '0' && val[1]) ||
	    aim_parse_u64(val, field) < 0)
		return aim_error_set(-EBADMSG, "manifest line %u: '%s' is not a decimal number",
				     line, key);
	*seen = 1;
	return 0;
}

/* Numeric keys seen so far (a repeat is an error; offset and size are required). */
struct pseen {
	int offset, size, vblocks, voffset;
};

struct mseen {
	int created, payload_bytes;
};

static int payload_key(struct aim_bundle_payload *p, struct pseen *s, const char *key,
		       const char *val, unsigned line)
{
	if (!strcmp(key, "name"))
		return set_str(&p->name, val, line, key);
	if (!strcmp(key, "kind"))
		return set_str(&p->kind, val, line, key);
	if (!strcmp(key, "verity_root"))
		return set_str(&p->verity_root, val, line, key);
	if (!strcmp(key, "verity_salt"))
		return set_str(&p->verity_salt, val, line, key);
	if (!strcmp(key, "verity_data_blocks"))
		return set_u64(&p->verity_data_blocks, &s->vblocks, val, line, key);
	if (!strcmp(key, "verity_hash_offset"))
		return set_u64(&p->verity_hash_offset, &s->voffset, val, line, key);
	if (!strcmp(key, "offset"))
		return set_u64(&p->offset, &s->offset, val, line, key);
	if (!strcmp(key, "size"))
		return set_u64(&p->size, &s->size, val, line, key);
	if (!strcmp(key, "sha256")) {
		if (p->sha256_hex[0])
			return aim_error_set(-EBADMSG, "manifest line %u: 'sha256' given twice",
					     line);
		if (hex_decode(val, p->sha256, 32) < 0)
			return aim_error_set(-EBADMSG, "manifest line %u: sha256 is not 64 lower "
						       "case hex digits", line);
		memcpy(p->sha256_hex, val, 65);
		return 0;
	}
	return 0; /* a key of a later revision of format 1 */
}

static int bundle_key(struct aim_bundle_manifest *m, struct mseen *ms, const char *key,
		      const char *val, unsigned line)
{
	if (!strcmp(key, "version"))
		return set_str(&m->version, val, line, key);
	if (!strcmp(key, "board"))
		return set_str(&m->board, val, line, key);
	if (!strcmp(key, "family"))
		return set_str(&m->family, val, line, key);
	if (!strcmp(key, "linuxfamily"))
		return set_str(&m->linuxfamily, val, line, key);
	if (!strcmp(key, "arch"))
		return set_str(&m->arch, val, line, key);
	if (!strcmp(key, "generator"))
		return set_str(&m->generator, val, line, key);
	if (!strcmp(key, "created"))
		return set_u64(&m->created, &ms->created, val, line, key);
	if (!strcmp(key, "payload_bytes"))
		return set_u64(&m->payload_bytes, &ms->payload_bytes, val, line, key);
	return 0;
}

/* The end of a [payload] section (the next one, or the end of the manifest). */
static int payload_end(const struct aim_bundle_manifest *m, const struct pseen *ps)
{
	if (m->npayloads && (!ps->offset || !ps->size))
		return aim_error_set(-EBADMSG, "manifest: payload %zu lacks %s", m->npayloads,
				     !ps->offset ? "offset" : "size");
	return 0;
}

/* A payload's verity keys: none (verity_root empty: the others must be absent), or all,
 * on the rootfs, consistent and inside the payload. */
static int verity_check(const struct aim_bundle_payload *p)
{
	uint8_t b[32];

	if (!p->verity_root[0]) {
		if (p->verity_salt[0] || p->verity_data_blocks || p->verity_hash_offset)
			return aim_error_set(-EBADMSG, "manifest: payload '%s' has verity keys "
						       "without a verity_root", p->name);
		return 0;
	}
	if (strcmp(p->kind, AIM_BUNDLE_KIND_ROOTFS))
		return aim_error_set(-EBADMSG, "manifest: payload '%s' has a verity_root but is "
					       "no rootfs", p->name);
	if (hex_decode(p->verity_root, b, 32) < 0 || hex_decode(p->verity_salt, b, 32) < 0)
		return aim_error_set(-EBADMSG, "manifest: payload '%s': verity_root and "
					       "verity_salt must be 64 lower case hex digits", p->name);
	if (!p->verity_data_blocks || p->verity_data_blocks > PAYLOAD_SIZE_MAX / 4096 ||
	    p->verity_hash_offset != p->verity_data_blocks * 4096 ||
	    p->verity_hash_offset > p->size)
		return aim_error_set(-EBADMSG, "manifest: payload '%s': verity_hash_offset must be "
					       "verity_data_blocks * 4096, inside the payload",
				     p->name);
	return 0;
}

/* After parsing: required fields, names, the offset chain, the total. */
static int manifest_check(struct aim_bundle_manifest *m, int seen_pb)
{
	const char *req[] = {"version", "board", "family", "arch"};
	char *vals[] = {m->version, m->board, m->family, m->arch};
	uint64_t end = 0;
	unsigned rootfs = 0;
	char why[96];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(req); i++)
		if (!vals[i] || !vals[i][0])
			return aim_error_set(-EBADMSG, "manifest: '%s' is missing", req[i]);
	if (!seen_pb)
		return aim_error_set(-EBADMSG, "manifest: 'payload_bytes' is missing");
	if (m->npayloads == 0)
		return aim_error_set(-EBADMSG, "manifest: no payloads");
	for (size_t i = 0; i < m->npayloads; i++) {
		struct aim_bundle_payload *p = &m->payloads[i];
		if (!p->name || !p->kind || !p->sha256_hex[0])
			return aim_error_set(-EBADMSG, "manifest: payload %zu lacks %s", i + 1,
					     !p->name ? "a name" : !p->kind ? "a kind" : "sha256");
		if (!aim_bundle_name_ok(p->name, why, sizeof(why)))
			return aim_error_set(-EBADMSG, "manifest: payload name '%.64s' %s", p->name,
					     why);
		if (!aim_bundle_kind_ok(p->kind))
			return aim_error_set(-EBADMSG, "manifest: payload '%s' has a bad kind",
					     p->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->payloads[j].name, p->name) &&
			    !strcmp(m->payloads[j].kind, p->kind))
				return aim_error_set(-EBADMSG, "manifest: payload '%s' twice",
						     p->name);
		rootfs += !strcmp(p->kind, AIM_BUNDLE_KIND_ROOTFS);
		if (!p->verity_root && !(p->verity_root = strdup("")))
			return -ENOMEM;
		if (!p->verity_salt && !(p->verity_salt = strdup("")))
			return -ENOMEM;
		r = verity_check(p);
		if (r < 0)
			return r;
		if (p->size > PAYLOAD_SIZE_MAX)
			return aim_error_set(-EBADMSG, "manifest: payload '%s' size %" PRIu64
						       " is out of range", p->name, p->size);
		if (p->offset != end)
			return aim_error_set(-EBADMSG, "manifest: payload '%s' at offset %" PRIu64
						       ", expected %" PRIu64, p->name, p->offset, end);
		end = ALIGN_UP(p->offset + p->size, (uint64_t)AIM_BUNDLE_ALIGN);
	}
	if (rootfs > 1)
		return aim_error_set(-EBADMSG, "manifest: more than one rootfs payload");
	if (end != m->payload_bytes)
		return aim_error_set(-EBADMSG, "manifest: payloads add up to %" PRIu64
					       " bytes, payload_bytes says %" PRIu64, end,
				     m->payload_bytes);
	if (!m->linuxfamily && !(m->linuxfamily = strdup("")))
		return -ENOMEM;
	if (!m->generator && !(m->generator = strdup("")))
		return -ENOMEM;
	return 0;
}

static int parse_first_line(const char *l, size_t n, unsigned *ret)
{
	char buf[64];
	unsigned v;

	if (n >= sizeof(buf) || n <= sizeof(manifest_magic) ||
	    memcmp(l, manifest_magic, sizeof(manifest_magic) - 1) ||
	    l[sizeof(manifest_magic) - 1] != ' ')
		return aim_error_set(-EBADMSG, "manifest: the first line is not '%s N'",
				     manifest_magic);
	memcpy(buf, l + sizeof(manifest_magic), n - sizeof(manifest_magic));
	buf[n - sizeof(manifest_magic)] = 0;
	/* Canonical decimal only: digits, no leading zero, no sign, no "0x". */
	if (strspn(buf, "0123456789") != strlen(buf) || (buf[0] == '0' && buf[1]))
		return aim_error_set(-EBADMSG, "manifest: bad format number '%s'", buf);
	if (strlen(buf) > 9 || aim_parse_uint(buf, 0, UINT32_MAX, &v) < 0 ||
	    v != AIM_BUNDLE_FORMAT)
		return aim_error_set(-EOPNOTSUPP, "manifest format %s is not supported (this "
						  "armimmutable reads format %d)", buf,
				     AIM_BUNDLE_FORMAT);
	*ret = v;
	return 0;
}

int aim_bundle_manifest_parse(const char *text, size_t len, struct aim_bundle_manifest **ret)
{
	_cleanup_(manifest_freep) struct aim_bundle_manifest *m = calloc(1, sizeof(*m));
	const char *p = text, *end = text + len;
	struct pseen ps = {0};
	struct mseen ms = {0};
	unsigned line = 0;
	int r;

	if (!m)
		return -ENOMEM;
	if (len == 0 || text[len - 1] != '\n')
		return aim_error_set(-EBADMSG, "manifest: empty or not ending with a newline");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t n = (size_t)(nl - p);
		char key[64], val[VALUE_MAX + 1];

		line++;
		if (!aim_text_valid(p, n))
			return aim_error_set(-EBADMSG, "manifest line %u: control character or "
						       "invalid UTF-8", line);
		if (line == 1) {
			r = parse_first_line(p, n, &m->format);
		} else if (n == 0) {
			r = 0;
		} else if (n == 9 && !memcmp(p, "[payload]", 9)) {
			struct aim_bundle_payload *np;
			r = payload_end(m, &ps);
			if (r < 0)
				return r;
			if (m->npayloads >= AIM_BUNDLE_PAYLOADS_MAX)
				return aim_error_set(-EBADMSG, "manifest: more than %d payloads",
						     AIM_BUNDLE_PAYLOADS_MAX);
			np = realloc(m->payloads, (m->npayloads + 1) * sizeof(*np));
			if (!np)
				return -ENOMEM;
			m->payloads = np;
			memset(&np[m->npayloads++], 0, sizeof(*np));
			memset(&ps, 0, sizeof(ps));
			r = 0;
		} else {
			eq = memchr(p, '=', n);
			if (!eq || eq == p)
				return aim_error_set(-EBADMSG, "manifest line %u: not key=value",
						     line);
			if (n - (size_t)(eq - p) - 1 > VALUE_MAX)
				return aim_error_set(-EBADMSG, "manifest line %u: value longer than "
							       "%d bytes", line, VALUE_MAX);
			/* A key longer than any known one is an unknown key: ignored. */
			if ((size_t)(eq - p) >= sizeof(key)) {
				p = nl + 1;
				continue;
			}
			memcpy(key, p, (size_t)(eq - p));
			key[eq - p] = 0;
			memcpy(val, eq + 1, n - (size_t)(eq - p) - 1);
			val[n - (size_t)(eq - p) - 1] = 0;
			if (m->npayloads)
				r = payload_key(&m->payloads[m->npayloads - 1], &ps, key, val, line);
			else
				r = bundle_key(m, &ms, key, val, line);
		}
		if (r < 0)
			return r;
		p = nl + 1;
	}
	r = payload_end(m, &ps);
	if (r < 0)
		return r;
	r = manifest_check(m, ms.payload_bytes);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}
