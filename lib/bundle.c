/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Update bundles (docs/ota.md): the header, the writer and the streaming reader (the
 * manifest text format is in bundle-manifest.c). Header, 64 bytes, little endian:
 *   0 magic "AIMBNDL\n"  8 le32 format  12 le32 header size (64)  16 le32 manifest length
 *   20 le32 signature length  24..63 zero (reserved)
 * then the manifest, the minisign signature text of the manifest, zeros up to the next
 * 4 KiB boundary (the payload area), the payloads at their manifest offsets.
 */
#include "bundle.h"
#include "bundle-int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "util/sha256.h"
#include "base/text.h"

#define BUF_SIZE (1024 * 1024)

/* ---- Writer ---- */

struct wpayload {
	char *name, *kind;
	int fd, own_fd;
	uint64_t src_off, size, offset;
	uint8_t sha256[32];
};

struct aim_bundle_writer {
	char *version, *board, *family, *linuxfamily, *arch, *tc;
	uint64_t created;
	char verity_root[65], verity_salt[65];
	uint64_t verity_data_blocks, verity_hash_offset;
	struct wpayload *p;
	size_t n;
};

struct aim_bundle_writer *aim_bundle_writer_free(struct aim_bundle_writer *w)
{
	if (!w)
		return NULL;
	for (size_t i = 0; i < w->n; i++) {
		free(w->p[i].name);
		free(w->p[i].kind);
		if (w->p[i].own_fd)
			close(w->p[i].fd);
	}
	free(w->p);
	free(w->version);
	free(w->board);
	free(w->family);
	free(w->linuxfamily);
	free(w->arch);
	free(w->tc);
	free(w);
	return NULL;
}

static int value_ok(const char *v, const char *what)
{
	if (!v || strlen(v) > VALUE_MAX)
		return aim_error_set(-EINVAL, "%s is missing or longer than %d bytes", what,
				     VALUE_MAX);
	if (!aim_text_valid(v, strlen(v)))
		return aim_error_set(-EINVAL, "%s has a control character or is not UTF-8", what);
	return 0;
}

int aim_bundle_writer_new(const struct aim_bundle_meta *meta, struct aim_bundle_writer **ret)
{
	struct aim_bundle_writer *w;
	int r;

	if ((r = value_ok(meta->version, "the version")) < 0 ||
	    (r = value_ok(meta->board, "the board")) < 0 ||
	    (r = value_ok(meta->family, "the family")) < 0 ||
	    (r = value_ok(meta->arch, "the architecture")) < 0 ||
	    (r = value_ok(meta->linuxfamily ? meta->linuxfamily : "", "LINUXFAMILY")) < 0)
		return r;
	if (!meta->version[0] || !meta->board[0] || !meta->family[0] || !meta->arch[0])
		return aim_error_set(-EINVAL, "the version, board, family and architecture must "
					      "not be empty");
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->version = strdup(meta->version);
	w->board = strdup(meta->board);
	w->family = strdup(meta->family);
	w->linuxfamily = strdup(meta->linuxfamily ? meta->linuxfamily : "");
	w->arch = strdup(meta->arch);
	w->created = meta->created;
	if (meta->trusted_comment)
		w->tc = strdup(meta->trusted_comment);
	else if (asprintf(&w->tc, "timestamp:%" PRIu64 "\tversion:%s\tboard:%s", meta->created,
			  meta->version, meta->board) < 0)
		w->tc = NULL;
	if (!w->version || !w->board || !w->family || !w->linuxfamily || !w->arch || !w->tc) {
		aim_bundle_writer_free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

int aim_bundle_writer_set_verity(struct aim_bundle_writer *w, const char *root_hex,
				 const char *salt_hex, uint64_t data_blocks, uint64_t hash_offset)
{
	if (strlen(root_hex) != 64 || strlen(salt_hex) != 64 || !data_blocks ||
	    hash_offset != data_blocks * 4096)
		return aim_error_set(-EINVAL, "bad verity parameters for the rootfs payload");
	memcpy(w->verity_root, root_hex, 65);
	memcpy(w->verity_salt, salt_hex, 65);
	w->verity_data_blocks = data_blocks;
	w->verity_hash_offset = hash_offset;
	return 0;
}

int aim_bundle_writer_add_fd(struct aim_bundle_writer *w, const char *name, const char *kind,
			     int fd, uint64_t offset, uint64_t size)
{
	struct wpayload *np;
	char why[96];

	if (!aim_bundle_name_ok(name, why, sizeof(why)))
		return aim_error_set(-EINVAL, "payload name '%s' %s", name, why);
	if (!aim_bundle_kind_ok(kind))
		return aim_error_set(-EINVAL, "payload kind '%s' is not [a-z0-9-]{1,32}", kind);
	if (w->n >= AIM_BUNDLE_PAYLOADS_MAX)
		return aim_error_set(-EFBIG, "more than %d payloads", AIM_BUNDLE_PAYLOADS_MAX);
	if (size > PAYLOAD_SIZE_MAX)
		return aim_error_set(-EFBIG, "payload '%s' is larger than 16 TiB", name);
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->p[i].name, name) && !strcmp(w->p[i].kind, kind))
			return aim_error_set(-EINVAL, "payload '%s' added twice", name);
	if (!strcmp(kind, AIM_BUNDLE_KIND_ROOTFS))
		for (size_t i = 0; i < w->n; i++)
			if (!strcmp(w->p[i].kind, kind))
				return aim_error_set(-EINVAL, "a bundle has one rootfs payload");
	np = realloc(w->p, (w->n + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	w->p = np;
	np = &w->p[w->n];
	memset(np, 0, sizeof(*np));
	np->name = strdup(name);
	np->kind = strdup(kind);
	if (!np->name || !np->kind) {
		free(np->name);
		free(np->kind);
		return -ENOMEM;
	}
	np->fd = fd;
	np->src_off = offset;
	np->size = size;
	w->n++;
	return 0;
}

int aim_bundle_writer_add_file(struct aim_bundle_writer *w, const char *name, const char *kind,
			       const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	struct stat st;

	if (fd < 0)
		return aim_error_set(-errno, "cannot open %s: %m", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return aim_error_set(-EINVAL, "%s is not a regular file", path);
	}
	r = aim_bundle_writer_add_fd(w, name, kind, fd, 0, (uint64_t)st.st_size);
	if (r < 0) {
		close(fd);
		return r;
	}
	w->p[w->n - 1].own_fd = 1;
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

static char *format_manifest(const struct aim_bundle_writer *w, uint64_t total)
{
	char *s = NULL;
	size_t sl = 0;
	FILE *f = open_memstream(&s, &sl);

	if (!f)
		return NULL;
	fprintf(f, "%s %d\nversion=%s\nboard=%s\nfamily=%s\nlinuxfamily=%s\narch=%s\n"
		   "created=%" PRIu64 "\ngenerator=armimmutable %s\npayload_bytes=%" PRIu64 "\n",
		manifest_magic, AIM_BUNDLE_FORMAT, w->version, w->board, w->family, w->linuxfamily,
		w->arch, w->created, AIM_VERSION, total);
	for (size_t i = 0; i < w->n; i++) {
		char h[65];
		hex(w->p[i].sha256, 32, h);
		fprintf(f, "\n[payload]\nname=%s\nkind=%s\noffset=%" PRIu64 "\nsize=%" PRIu64
			   "\nsha256=%s\n", w->p[i].name, w->p[i].kind, w->p[i].offset,
			w->p[i].size, h);
		if (strcmp(w->p[i].kind, AIM_BUNDLE_KIND_ROOTFS))
			continue;
		fprintf(f, "verity_root=%s\n", w->verity_root);
		if (w->verity_root[0])
			fprintf(f, "verity_salt=%s\nverity_data_blocks=%" PRIu64
				   "\nverity_hash_offset=%" PRIu64 "\n", w->verity_salt,
				w->verity_data_blocks, w->verity_hash_offset);
	}
	if (fclose(f))
		return NULL;
	return s;
}

/* Copies one payload to out at off, hashing it. */
static int copy_payload(struct wpayload *p, int out, uint64_t off, uint8_t *buf, uint64_t *done,
			uint64_t total, aim_bundle_progress_fn fn, void *ud, struct aim_sha256 *hs)
{
	uint64_t left = p->size, pos = p->src_off;
	int r;

	r = aim_sha256_init(hs);
	if (r < 0)
		return r;
	while (left) {
		size_t want = (size_t)MIN(left, (uint64_t)BUF_SIZE);
		ssize_t n = pread(p->fd, buf, want, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return aim_error_set(-errno, "payload '%s': read error: %m", p->name);
		if (n == 0)
			return aim_error_set(-EBADMSG, "payload '%s': the source ended %" PRIu64
						       " bytes early", p->name, left);
		r = aim_sha256_update(hs, buf, (size_t)n);
		if (r < 0)
			return r;
		r = aim_pwrite_full(out, buf, (size_t)n, off);
		if (r < 0)
			return aim_error_set(r, "cannot write the bundle: %s", strerror(-r));
		off += (uint64_t)n, pos += (uint64_t)n, left -= (uint64_t)n;
		*done += (uint64_t)n;
		if (fn)
			fn(ud, *done, total);
	}
	return aim_sha256_final(hs, p->sha256);
}

int aim_bundle_write(struct aim_bundle_writer *w, const struct aim_seckey *sk, int out_fd,
		     aim_bundle_progress_fn fn, void *ud)
{
	_cleanup_free_ char *m0 = NULL, *s0 = NULL, *m = NULL, *s = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(aim_sha256_done) struct aim_sha256 hs = {0};
	uint8_t hdr[AIM_BUNDLE_HEADER_SIZE] = {0};
	uint64_t end = 0, area, done = 0, sum = 0, head;
	int r;

	if (sodium_init() < 0)
		return -ENOMEM;
	if (w->n == 0)
		return aim_error_set(-EINVAL, "a bundle needs at least one payload");
	for (size_t i = 0; i < w->n; i++) {
		w->p[i].offset = end;
		end = ALIGN_UP(end + w->p[i].size, (uint64_t)AIM_BUNDLE_ALIGN);
		sum += w->p[i].size;
	}
	/* The manifest's length does not depend on the hashes (fixed-width hex), nor the
	 * signature's on the message: place the payload area first, hash while copying. */
	m0 = format_manifest(w, end);
	if (!m0)
		return -ENOMEM;
	r = aim_sign_buffer(sk, m0, strlen(m0), w->tc, "armimmutable bundle manifest signature",
			    &s0);
	if (r < 0)
		return r;
	if (strlen(m0) > AIM_BUNDLE_MANIFEST_MAX || strlen(s0) > AIM_BUNDLE_SIG_MAX)
		return aim_error_set(-EFBIG, "the manifest would be larger than %d bytes",
				     AIM_BUNDLE_MANIFEST_MAX);
	head = AIM_BUNDLE_HEADER_SIZE + strlen(m0) + strlen(s0);
	area = ALIGN_UP(head, (uint64_t)AIM_BUNDLE_ALIGN);
	buf = malloc(BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		r = copy_payload(&w->p[i], out_fd, area + w->p[i].offset, buf, &done, sum, fn, ud,
				 &hs);
		if (r < 0)
			return r;
	}
	m = format_manifest(w, end);
	if (!m)
		return -ENOMEM;
	r = aim_sign_buffer(sk, m, strlen(m), w->tc, "armimmutable bundle manifest signature",
			    &s);
	if (r < 0)
		return r;
	if (strlen(m) != strlen(m0) || strlen(s) != strlen(s0))
		return aim_error_set(-EINVAL, "internal error: the manifest changed length");
	memcpy(hdr, AIM_BUNDLE_MAGIC, 8);
	aim_put_le32(hdr + 8, AIM_BUNDLE_FORMAT);
	aim_put_le32(hdr + 12, AIM_BUNDLE_HEADER_SIZE);
	aim_put_le32(hdr + 16, (uint32_t)strlen(m));
	aim_put_le32(hdr + 20, (uint32_t)strlen(s));
	memset(buf, 0, AIM_BUNDLE_ALIGN);
	if ((r = aim_pwrite_full(out_fd, hdr, sizeof(hdr), 0)) < 0 ||
	    (r = aim_pwrite_full(out_fd, m, strlen(m), AIM_BUNDLE_HEADER_SIZE)) < 0 ||
	    (r = aim_pwrite_full(out_fd, s, strlen(s), AIM_BUNDLE_HEADER_SIZE + strlen(m))) < 0 ||
	    (r = aim_pwrite_full(out_fd, buf, (size_t)(area - head), head)) < 0)
		return aim_error_set(r, "cannot write the bundle: %s", strerror(-r));
	/* The padding after each payload: the holes of a fresh file read as zeros. */
	if (ftruncate(out_fd, (off_t)(area + end)) < 0)
		return aim_error_set(-errno, "cannot size the bundle: %m");
	return 0;
}

/* ---- Reader ---- */

struct aim_bundle_reader {
	aim_bundle_read_fn fn;
	void *ud;
	uint64_t pos, area;
	char *text;
	size_t text_len;
	char sha_hex[65];
	struct aim_sig sig;
	int verified;
	struct aim_bundle_manifest *m;
	size_t next;      /* index of the next payload */
	struct aim_bundle_payload *cur;
	uint64_t cur_done;
	int cur_checked;
	struct aim_sha256 hs;
	int failed;       /* sticky error */
	uint8_t *scratch; /* BUF_SIZE, for skipping */
};

ssize_t aim_bundle_fd_read(void *ud, void *buf, size_t n)
{
	int fd = *(int *)ud;

	for (;;) {
		ssize_t k = read(fd, buf, n);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return -errno;
	}
}

/* Reads exactly n bytes unless the stream ends: returns the count read, or -errno. */
static ssize_t read_full(struct aim_bundle_reader *r, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = r->fn(r->ud, (uint8_t *)buf + got, n - got);
		if (k < 0)
			return aim_error_set((int)k, "reading the bundle at byte %" PRIu64 ": %s",
					     r->pos + got, strerror((int)-k));
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->pos += got;
	return (ssize_t)got;
}

struct aim_bundle_reader *aim_bundle_close(struct aim_bundle_reader *r)
{
	if (!r)
		return NULL;
	aim_bundle_manifest_free(r->m);
	free(r->text);
	free(r->scratch);
	aim_sha256_done(&r->hs);
	free(r);
	return NULL;
}

static void reader_freep(struct aim_bundle_reader **r)
{
	aim_bundle_close(*r);
}

static int read_header(struct aim_bundle_reader *r, uint32_t *mlen, uint32_t *slen)
{
	uint8_t h[AIM_BUNDLE_HEADER_SIZE];
	ssize_t k = read_full(r, h, sizeof(h));
	uint32_t fmt, hs;

	if (k < 0)
		return (int)k;
	if (k < 8 || memcmp(h, AIM_BUNDLE_MAGIC, 8))
		return aim_error_set(-EBADMSG, "not an armimmutable bundle (bad magic)");
	if (k < (ssize_t)sizeof(h))
		return aim_error_set(-EBADMSG, "truncated bundle: the header ends at byte %zd", k);
	fmt = aim_get_le32(h + 8);
	hs = aim_get_le32(h + 12);
	*mlen = aim_get_le32(h + 16);
	*slen = aim_get_le32(h + 20);
	if (fmt != AIM_BUNDLE_FORMAT)
		return aim_error_set(fmt > AIM_BUNDLE_FORMAT ? -EOPNOTSUPP : -EBADMSG,
				     "bundle format %" PRIu32 " is not supported (this armimmutable "
				     "reads format %d)", fmt, AIM_BUNDLE_FORMAT);
	if (hs != AIM_BUNDLE_HEADER_SIZE)
		return aim_error_set(-EBADMSG, "bundle header size %" PRIu32 " is not %d", hs,
				     AIM_BUNDLE_HEADER_SIZE);
	for (size_t i = 24; i < sizeof(h); i++)
		if (h[i])
			return aim_error_set(-EBADMSG, "bundle header: reserved bytes are not zero");
	if (*mlen == 0 || *mlen > AIM_BUNDLE_MANIFEST_MAX)
		return aim_error_set(-EBADMSG, "bundle header: manifest length %" PRIu32
					       " out of range (1..%d)", *mlen,
				     AIM_BUNDLE_MANIFEST_MAX);
	if (*slen == 0)
		return aim_error_set(-EKEYREJECTED, "the bundle has no signature");
	if (*slen > AIM_BUNDLE_SIG_MAX)
		return aim_error_set(-EBADMSG, "bundle header: signature length %" PRIu32
					       " out of range (1..%d)", *slen, AIM_BUNDLE_SIG_MAX);
	return 0;
}

/* Reads up to target, which must all be zero padding. */
static int skip_zeros(struct aim_bundle_reader *r, uint64_t target, const char *where)
{
	while (r->pos < target) {
		size_t want = (size_t)MIN(target - r->pos, (uint64_t)BUF_SIZE);
		ssize_t k = read_full(r, r->scratch, want);
		if (k < 0)
			return (int)k;
		if ((size_t)k < want)
			return aim_error_set(-EBADMSG, "truncated bundle: the stream ends at byte "
						       "%" PRIu64 ", %s", r->pos, where);
		for (size_t i = 0; i < want; i++)
			if (r->scratch[i])
				return aim_error_set(-EBADMSG, "bundle: non-zero byte in the padding "
							       "at %" PRIu64, r->pos - want + i);
	}
	return 0;
}

int aim_bundle_open(aim_bundle_read_fn fn, void *ud, const struct aim_pubkey *keys,
		    size_t nkeys, unsigned flags, struct aim_bundle_reader **ret)
{
	_cleanup_(reader_freep) struct aim_bundle_reader *r = calloc(1, sizeof(*r));
	_cleanup_free_ char *sigtext = NULL;
	uint8_t sha[32];
	uint32_t mlen = 0, slen = 0;
	ssize_t k;
	int rc;

	if (!r || sodium_init() < 0)
		return -ENOMEM;
	r->fn = fn, r->ud = ud;
	aim_error_clear();
	rc = read_header(r, &mlen, &slen);
	if (rc < 0)
		return rc;
	r->text = malloc((size_t)mlen + 1);
	sigtext = malloc((size_t)slen + 1);
	r->scratch = malloc(BUF_SIZE);
	if (!r->text || !sigtext || !r->scratch)
		return -ENOMEM;
	k = read_full(r, r->text, mlen);
	if (k >= 0 && k == (ssize_t)mlen)
		k = read_full(r, sigtext, slen);
	else if (k >= 0)
		k = -1;
	if (k < 0 && k != -1)
		return (int)k;
	if (k != (ssize_t)slen)
		return aim_error_set(-EBADMSG, "truncated bundle: the stream ends at byte %" PRIu64
					       " inside the %s", r->pos,
				     r->pos < AIM_BUNDLE_HEADER_SIZE + (uint64_t)mlen ? "manifest"
										       : "signature");
	r->text[mlen] = 0;
	sigtext[slen] = 0;
	r->text_len = mlen;
	/* Nothing of the manifest is looked at before the signature checks out. */
	if (!(flags & AIM_BUNDLE_NO_VERIFY)) {
		rc = aim_sig_parse(sigtext, slen, &r->sig);
		if (rc < 0)
			return aim_error_set(rc == -EBADMSG ? -EKEYREJECTED : rc, "bundle %s",
					     aim_error_detail());
		if (nkeys == 0)
			return aim_error_set(-EKEYREJECTED, "no trusted public key to check the "
							    "bundle signature with");
		rc = aim_sig_verify(&r->sig, keys, nkeys, r->text, mlen);
		if (rc < 0)
			return aim_error_set(rc, "bundle manifest: %s", aim_error_detail());
		r->verified = 1;
	} else if (aim_sig_parse(sigtext, slen, &r->sig) < 0) {
		memset(&r->sig, 0, sizeof(r->sig));
	}
	rc = aim_sha256_oneshot(r->text, mlen, sha);
	if (rc < 0)
		return rc;
	hex(sha, 32, r->sha_hex);
	if (memchr(r->text, 0, mlen))
		return aim_error_set(-EBADMSG, "manifest: contains a NUL byte");
	rc = aim_bundle_manifest_parse(r->text, mlen, &r->m);
	if (rc < 0)
		return rc;
	r->area = ALIGN_UP(r->pos, (uint64_t)AIM_BUNDLE_ALIGN);
	*ret = TAKE_PTR(r);
	return 0;
}

const struct aim_bundle_manifest *aim_bundle_get_manifest(const struct aim_bundle_reader *r)
{
	return r->m;
}

const char *aim_bundle_manifest_text(const struct aim_bundle_reader *r, size_t *ret_len)
{
	if (ret_len)
		*ret_len = r->text_len;
	return r->text;
}

const char *aim_bundle_manifest_sha256(const struct aim_bundle_reader *r)
{
	return r->sha_hex;
}

const struct aim_sig *aim_bundle_signature(const struct aim_bundle_reader *r)
{
	return r->verified ? &r->sig : NULL;
}

uint64_t aim_bundle_position(const struct aim_bundle_reader *r)
{
	return r->pos;
}

uint64_t aim_bundle_total_size(const struct aim_bundle_reader *r)
{
	return r->area + r->m->payload_bytes;
}

ssize_t aim_bundle_read(struct aim_bundle_reader *r, void *buf, size_t n)
{
	struct aim_bundle_payload *p = r->cur;
	uint64_t left;
	ssize_t k;
	uint8_t sha[32];
	int rc;

	if (r->failed)
		return r->failed;
	if (!p)
		return aim_error_set(-EINVAL, "no current payload (call aim_bundle_next first)");
	left = p->size - r->cur_done;
	if (left == 0) {
		if (r->cur_checked)
			return 0;
		rc = aim_sha256_final(&r->hs, sha);
		if (rc < 0)
			return r->failed = rc;
		r->cur_checked = 1;
		if (sodium_memcmp(sha, p->sha256, 32)) {
			char h[65];
			hex(sha, 32, h);
			/* Not sticky: the stream stays in step, bundle verify goes on to
			 * report the other payloads. */
			return aim_error_set(-AIM_E_HASH, "payload '%s': SHA-256 %.16s... differs "
						       "from the signed manifest's %.16s...",
					     p->name, h, p->sha256_hex);
		}
		return 0;
	}
	if (n > left)
		n = (size_t)left;
	k = r->fn(r->ud, buf, n);
	while (k < 0 && k == -EINTR)
		k = r->fn(r->ud, buf, n);
	if (k < 0)
		return r->failed = aim_error_set((int)k, "reading payload '%s' at byte %" PRIu64
							 ": %s", p->name, r->pos, strerror((int)-k));
	if (k == 0)
		return r->failed = aim_error_set(-EBADMSG, "truncated bundle: the stream ends at "
							   "byte %" PRIu64 " inside payload '%s' "
							   "(%" PRIu64 " of %" PRIu64 " bytes)",
						 r->pos, p->name, r->cur_done, p->size);
	r->cur_done += (uint64_t)k;
	r->pos += (uint64_t)k;
	if ((rc = aim_sha256_update(&r->hs, buf, (size_t)k)) < 0)
		return r->failed = rc;
	return k;
}

int aim_bundle_next(struct aim_bundle_reader *r, const struct aim_bundle_payload **ret)
{
	struct aim_bundle_payload *p;
	uint8_t one;
	ssize_t k;
	int rc;

	if (r->failed)
		return r->failed;
	while (r->cur && (k = aim_bundle_read(r, r->scratch, BUF_SIZE)) != 0)
		if (k < 0)
			return (int)k;
	if (r->next == r->m->npayloads) {
		rc = skip_zeros(r, r->area + r->m->payload_bytes, "before the end of the last "
								  "payload's padding");
		if (rc < 0)
			return r->failed = rc;
		k = read_full(r, &one, 1);
		if (k < 0)
			return r->failed = (int)k;
		if (k > 0)
			return r->failed = aim_error_set(-EBADMSG, "bundle: data after the end (%" PRIu64
								   " bytes expected)", r->pos - 1);
		r->cur = NULL;
		return 0;
	}
	p = &r->m->payloads[r->next];
	rc = skip_zeros(r, r->area + p->offset, "before a payload starts");
	if (rc < 0)
		return r->failed = rc;
	rc = aim_sha256_init(&r->hs);
	if (rc < 0)
		return r->failed = rc;
	r->next++;
	r->cur = p;
	r->cur_done = 0;
	r->cur_checked = 0;
	*ret = p;
	return 1;
}
