/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Delta installs: the bundle stream assembled from the target, the running slot and
 * ranges of the source (delta.h, docs/delta.md section 7). */
#include "delta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delta-tree.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "util/sha256.h"

#define HEAD_FIRST (64u * 1024)
#define WINDOW (8u << 20)     /* rootfs bytes assembled at a time */
#define FETCH_CHUNK (8u << 20) /* a plain range of the bundle fetched at a time */
#define BOOT_MAX (256u << 20) /* a boot file of the running slot read whole */

enum { P_FETCH = 0, P_HELD, P_LOCAL, P_ZERO, P_TREE };
enum { BOOT_FETCH = 0, BOOT_CUR, BOOT_HELD };

struct aim_delta {
	struct aim_source *src;
	struct aim_bundle_reader *br; /* over head: the verified manifest */
	const struct aim_bundle_manifest *m;
	uint8_t *head;
	uint64_t area, total;
	uint64_t head_fetched; /* bytes open fetched for the header */

	const struct aim_bundle_payload *rootfs, *idxp;
	struct aim_delta_index *nx; /* the bundle's index */
	uint8_t *nx_raw;
	size_t nx_len;
	uint8_t *how;      /* per piece of nx: P_* */
	uint64_t *old_off; /* per piece: where the running slot has it (P_LOCAL) */
	uint8_t *boot_local; /* per payload: BOOT_CUR or BOOT_HELD have this boot file */
	char **keep;         /* names of the boot files the target slot holds (NULL-ended) */
	size_t nkeep;
	int idx_held;        /* the target slot had the bundle's index */
	struct aim_vtree *vt; /* the verity tree, made here (P_TREE pieces) */
	uint64_t tree_off;    /* where it starts in the rootfs payload */
	char cur, slot;
	int old_fd, new_fd;
	uint64_t old_base, new_base;
	struct aim_target *t;
	char why[300];

	/* the stream */
	uint64_t pos;
	const uint8_t *wp; /* window: stream bytes [woff, woff + wlen) */
	uint64_t woff, wlen;
	uint8_t *buf;   /* WINDOW bytes */
	char *file;     /* a boot file of the running slot */
	size_t cursor;  /* payload index hint */
	size_t pcursor; /* piece index hint */
	struct aim_delta_stats st;
};

static const uint8_t zeros[64 * 1024];

struct mem {
	const uint8_t *b;
	size_t len, pos;
};

static ssize_t mem_read(void *ud, void *buf, size_t n)
{
	struct mem *m = ud;
	size_t k = MIN(n, m->len - m->pos);

	memcpy(buf, m->b + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static int fetch(struct aim_delta *d, uint64_t off, uint8_t *buf, uint64_t len)
{
	struct aim_range rg = { .off = off, .len = len, .buf = buf };
	uint64_t before = aim_source_fetched_bytes(d->src);
	int r = aim_source_fetch(d->src, &rg, 1);

	if (r < 0)
		return r;
	d->st.fetched += aim_source_fetched_bytes(d->src) - before;
	d->st.requests = aim_source_requests(d->src);
	return 0;
}

int aim_delta_open(struct aim_source *src, const struct aim_pubkey *keys, size_t nkeys,
		   struct aim_delta **ret)
{
	_cleanup_(aim_delta_freep) struct aim_delta *d = NULL;
	int64_t size = aim_source_size(src);
	const char *why = NULL;
	uint64_t m, s, first;
	struct mem mr;
	int r;

	if (!aim_source_random_access(src, &why))
		return aim_error_set(-EOPNOTSUPP, "%s", why ? why : "the source cannot seek");
	if (size < AIM_BUNDLE_HEADER_SIZE)
		return aim_error_set(-EBADMSG, "not an armimmutable bundle (%" PRId64 " bytes)",
				     size);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->src = src;
	d->old_fd = d->new_fd = -1;
	first = MIN((uint64_t)size, HEAD_FIRST);
	d->head = malloc(first);
	if (!d->head)
		return -ENOMEM;
	r = fetch(d, 0, d->head, first);
	if (r < 0)
		return r;
	d->head_fetched = first;
	if (memcmp(d->head, AIM_BUNDLE_MAGIC, 8))
		return aim_error_set(-EBADMSG, "not an armimmutable bundle (bad magic)");
	m = aim_get_le32(d->head + 16);
	s = aim_get_le32(d->head + 20);
	if (m > AIM_BUNDLE_MANIFEST_MAX || s > AIM_BUNDLE_SIG_MAX)
		return aim_error_set(-EBADMSG, "%s: manifest or signature too long",
				     aim_source_name(src));
	d->area = (AIM_BUNDLE_HEADER_SIZE + m + s + AIM_BUNDLE_ALIGN - 1) &
		  ~(uint64_t)(AIM_BUNDLE_ALIGN - 1);
	if (d->area > (uint64_t)size)
		return aim_error_set(-EBADMSG, "the bundle is truncated in its manifest or "
				     "signature (%" PRId64 " bytes)", size);
	if (d->area > first) {
		uint8_t *h = realloc(d->head, d->area);
		if (!h)
			return -ENOMEM;
		d->head = h;
		r = fetch(d, first, h + first, d->area - first);
		if (r < 0)
			return r;
		d->head_fetched = d->area;
	}
	mr = (struct mem){ .b = d->head, .len = d->area };
	r = aim_bundle_open(mem_read, &mr, keys, nkeys, nkeys ? 0 : AIM_BUNDLE_NO_VERIFY, &d->br);
	if (r < 0)
		return r;
	d->m = aim_bundle_get_manifest(d->br);
	d->total = d->area + d->m->payload_bytes;
	if ((uint64_t)size < d->total)
		return aim_error_set(-EBADMSG, "the bundle is truncated: %" PRId64 " bytes, its "
				     "manifest says %" PRIu64, size, d->total);
	if ((uint64_t)size > d->total)
		return aim_error_set(-EBADMSG, "the bundle has trailing data: %" PRId64 " bytes, "
				     "its manifest says %" PRIu64, size, d->total);
	d->rootfs = aim_bundle_manifest_find(d->m, AIM_BUNDLE_KIND_ROOTFS);
	for (size_t i = 0; i < d->m->npayloads; i++)
		if (!strcmp(d->m->payloads[i].kind, AIM_BUNDLE_KIND_BOOT) &&
		    !strcmp(d->m->payloads[i].name, AIM_DELTA_INDEX_NAME))
			d->idxp = &d->m->payloads[i];
	d->boot_local = calloc(d->m->npayloads, 1);
	d->buf = malloc(WINDOW);
	if (!d->boot_local || !d->buf)
		return -ENOMEM;
	d->st.total = d->total;
	snprintf(d->why, sizeof(d->why), "no plan was made");
	*ret = TAKE_PTR(d);
	return 0;
}

struct aim_delta *aim_delta_free(struct aim_delta *d)
{
	if (!d)
		return NULL;
	aim_bundle_close(d->br);
	aim_delta_index_free(d->nx);
	free(d->head);
	free(d->nx_raw);
	free(d->how);
	free(d->old_off);
	free(d->boot_local);
	aim_vtree_free(d->vt);
	for (size_t i = 0; i < d->nkeep; i++)
		free(d->keep[i]);
	free(d->keep);
	free(d->buf);
	free(d->file);
	if (d->old_fd >= 0)
		close(d->old_fd);
	if (d->new_fd >= 0)
		close(d->new_fd);
	free(d);
	return NULL;
}

const struct aim_bundle_manifest *aim_delta_manifest(const struct aim_delta *d)
{
	return d->m;
}

const char *aim_delta_why(const struct aim_delta *d)
{
	return d->why;
}

void aim_delta_get_stats(const struct aim_delta *d, struct aim_delta_stats *ret)
{
	*ret = d->st;
}

/* No delta: the reason, everything is fetched. */
static int no_plan(struct aim_delta *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int no_plan(struct aim_delta *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	free(d->how);
	d->how = NULL;
	d->st.planned = 0;
	d->st.to_fetch = d->total;
	return 1;
}

/* The bundle's index, checked against the manifest (a mismatch is an error: the index
 * is signed through it). */
static int load_new_index(struct aim_delta *d)
{
	uint8_t md[32];
	int r;

	if (d->nx)
		return 0;
	if (d->idxp->size > AIM_DELTA_INDEX_MAX)
		return aim_error_set(-EBADMSG, "the bundle's block index is too large");
	if (!d->nx_raw) {
		d->nx_len = (size_t)d->idxp->size;
		d->nx_raw = malloc(d->nx_len ? d->nx_len : 1);
		if (!d->nx_raw)
			return -ENOMEM;
		r = fetch(d, d->area + d->idxp->offset, d->nx_raw, d->nx_len);
		if (r < 0)
			return r;
	}
	r = aim_sha256_oneshot(d->nx_raw, d->nx_len, md);
	if (r < 0)
		return r;
	if (memcmp(md, d->idxp->sha256, 32))
		return aim_error_set(-EBADMSG, "payload '%s': SHA-256 differs from the signed "
				     "manifest's: the block index is refused", d->idxp->name);
	r = aim_delta_index_parse(d->nx_raw, d->nx_len, &d->nx);
	if (r < 0)
		return aim_error_set(r, "the bundle's %s: %s", AIM_DELTA_INDEX_NAME,
				     aim_error_text(r));
	if (d->nx->size != d->rootfs->size || memcmp(d->nx->sha256, d->rootfs->sha256, 32))
		return aim_error_set(-EBADMSG, "the bundle's block index is not that of its "
				     "rootfs payload");
	return 0;
}

static int unhex(const char *hex, uint8_t *out, size_t max, size_t *ret_len)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*ret_len = n / 2;
	return 0;
}

/* With verity, the tree is made here from the data rather than fetched (delta-tree.h);
 * when the manifest's numbers do not describe a tree of our layout, it is fetched. */
static void setup_tree(struct aim_delta *d)
{
	const struct aim_bundle_payload *p = d->rootfs;
	uint8_t salt[256];
	size_t n;

	if (d->vt || !p->verity_root[0] || !p->verity_hash_offset ||
	    p->verity_hash_offset != p->verity_data_blocks * 4096 ||
	    p->verity_hash_offset >= p->size ||
	    unhex(p->verity_salt, salt, sizeof(salt), &n) < 0 ||
	    aim_vtree_new(p->verity_data_blocks, p->size - p->verity_hash_offset, salt, n,
			  &d->vt) < 0)
		return;
	d->tree_off = p->verity_hash_offset;
}

static int prepare(struct aim_delta *d)
{
	int r;

	if (!d->rootfs)
		return no_plan(d, "the bundle has no rootfs payload");
	if (!d->idxp)
		return no_plan(d, "the bundle has no block index (%s; made by an older "
			       "armimmutable)", AIM_DELTA_INDEX_NAME);
	r = load_new_index(d);
	if (r < 0)
		return r;
	setup_tree(d);
	free(d->how);
	free(d->old_off);
	d->how = calloc(d->nx->n, 1);
	d->old_off = calloc(d->nx->n, sizeof(*d->old_off));
	if (!d->how || !d->old_off)
		return -ENOMEM;
	return 0;
}

/* Classifies the pieces the target does not hold: zeros, in old, or to fetch; and sums
 * what is to be fetched. */
static void classify(struct aim_delta *d, struct aim_delta_index *ox)
{
	/* the header (as open fetched it) and the bundle's index, unless the target had it */
	uint64_t fetch_bytes = d->head_fetched + (d->idx_held ? 0 : d->idxp->size);

	for (size_t i = 0; i < d->nx->n; i++) {
		const struct aim_piece *p = &d->nx->p[i], *q;

		if (d->how[i] == P_HELD)
			continue;
		if (d->vt && p->off >= d->tree_off) {
			d->how[i] = P_TREE;
		} else if (p->kind == AIM_PIECE_ZERO) {
			d->how[i] = P_ZERO;
		} else if ((q = aim_delta_index_find(ox, p->sha256, p->len))) {
			d->how[i] = P_LOCAL;
			d->old_off[i] = q->off;
		} else {
			d->how[i] = P_FETCH;
			fetch_bytes += p->len;
		}
	}
	for (size_t i = 0; i < d->m->npayloads; i++) {
		const struct aim_bundle_payload *p = &d->m->payloads[i];

		if (p != d->rootfs && p != d->idxp && !d->boot_local[i])
			fetch_bytes += p->size;
	}
	d->st.to_fetch = fetch_bytes;
	d->st.planned = 1;
}

/* Marks the pieces slot (fd at base, size bytes) holds at their own offsets. */
static int mark_held(struct aim_delta *d, int fd, uint64_t base, uint64_t size)
{
	uint64_t woff = 0, wlen = 0;

	for (size_t i = 0; i < d->nx->n; i++) {
		const struct aim_piece *p = &d->nx->p[i];
		uint8_t md[32];
		int r;

		if (p->off + p->len > size)
			break;
		if (p->off + p->len > woff + wlen) { /* read the next window */
			woff = p->off;
			wlen = MIN((uint64_t)WINDOW, size - woff);
			r = aim_pread_full(fd, d->buf, (size_t)wlen, base + woff);
			if (r < 0)
				return r;
		}
		r = aim_sha256_oneshot(d->buf + (p->off - woff), p->len, md);
		if (r < 0)
			return r;
		if (!memcmp(md, p->sha256, 32)) {
			d->how[i] = P_HELD;
			d->st.held += p->len;
		}
	}
	return 0;
}

/* 1 when /slot-X/<name> holds the payload's bytes (then *ret keeps them, if not NULL). */
static int slot_has(struct aim_target *t, char x, const struct aim_bundle_payload *p, char **ret)
{
	_cleanup_free_ char *f = NULL;
	char path[AIM_BUNDLE_NAME_MAX + 16];
	uint8_t md[32];
	size_t len;

	snprintf(path, sizeof(path), "/slot-%c/%s", x, p->name);
	if (p->size > BOOT_MAX || aim_target_read_file(t, path, BOOT_MAX, &f, &len) < 0 ||
	    len != p->size || aim_sha256_oneshot(f, len, md) < 0 || memcmp(md, p->sha256, 32))
		return 0;
	if (ret)
		*ret = TAKE_PTR(f);
	return 1;
}

static int keep_add(struct aim_delta *d, const char *name)
{
	char **k = realloc(d->keep, (d->nkeep + 2) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	d->keep = k;
	if (!(k[d->nkeep] = strdup(name)))
		return -ENOMEM;
	k[++d->nkeep] = NULL;
	return 0;
}

const char *const *aim_delta_keep(const struct aim_delta *d)
{
	static const char *const none[] = { NULL };

	return d->keep ? (const char *const *)d->keep : none;
}

int aim_delta_plan(struct aim_delta *d, struct aim_target *t, char cur, char slot)
{
	_cleanup_(aim_delta_index_freep) struct aim_delta_index *ox = NULL;
	_cleanup_free_ char *raw = NULL;
	struct aim_slot_info si;
	char path[AIM_BUNDLE_NAME_MAX + 16], hex[65];
	const char *dev;
	uint64_t off, size;
	size_t len;
	int r;

	d->t = t;
	d->cur = cur;
	d->slot = slot;
	/* a rerun after a cut: the target may hold the bundle's index already */
	if (slot && d->idxp && !d->nx_raw && slot_has(t, slot, d->idxp, (char **)&d->nx_raw)) {
		d->nx_len = (size_t)d->idxp->size;
		d->idx_held = 1;
	}
	r = prepare(d);
	if (r != 0)
		return r;
	snprintf(path, sizeof(path), "/slot-%c/%s", cur, AIM_DELTA_INDEX_NAME);
	r = aim_target_read_file(t, path, AIM_DELTA_INDEX_MAX, &raw, &len);
	if (r == -ENOENT)
		return no_plan(d, "slot %c has no block index (%s: made before delta updates)",
			       cur, path);
	if (r < 0)
		return no_plan(d, "cannot read %s: %s", path, aim_error_text(r));
	r = aim_delta_index_parse(raw, len, &ox);
	if (r < 0)
		return no_plan(d, "%s: %s", path, aim_error_text(r));
	r = aim_target_slot_info_read(t, cur, &si);
	aim_sha256_hex(ox->sha256, hex);
	if (r < 0 || strcmp(si.rootfs_sha256, hex))
		return no_plan(d, "%s does not describe slot %c (its slot.env names another rootfs)",
			       path, cur);
	r = aim_target_slot_dev(t, cur, &dev, &off, &size);
	if (r < 0)
		return no_plan(d, "slot %c: %s", cur, aim_error_text(r));
	if (ox->size > size)
		return no_plan(d, "%s is larger than slot %c", path, cur);
	d->old_fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (d->old_fd < 0)
		return no_plan(d, "cannot read slot %c (%s): %m", cur, dev);
	d->old_base = off;

	/* what the target already holds: a resumed install writes and fetches none of it */
	if (slot) {
		r = aim_target_slot_dev(t, slot, &dev, &off, &size);
		if (r == 0 && (d->new_fd = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
			r = -errno;
		d->new_base = off;
		if (r == 0)
			r = mark_held(d, d->new_fd, off, size);
		if (r < 0)
			return no_plan(d, "cannot read slot %c: %s", slot, aim_error_text(r));
	}

	/* boot files the running slot has with the same bytes, else the target (a rerun):
	 * those stay when install clears the target's files (aim_delta_keep) */
	for (size_t i = 0; i < d->m->npayloads; i++) {
		const struct aim_bundle_payload *p = &d->m->payloads[i];

		if (strcmp(p->kind, AIM_BUNDLE_KIND_BOOT) || p == d->idxp)
			continue;
		if (slot_has(t, cur, p, NULL))
			d->boot_local[i] = BOOT_CUR;
		else if (slot && slot_has(t, slot, p, NULL)) {
			d->boot_local[i] = BOOT_HELD;
			r = keep_add(d, p->name);
			if (r < 0)
				return r;
		}
	}
	classify(d, ox);
	return 0;
}

int aim_delta_plan_bundle(struct aim_delta *d, struct aim_delta *base)
{
	int r = prepare(d);

	if (r != 0)
		return r;
	if (!base->rootfs || !base->idxp)
		return no_plan(d, "the base bundle has no block index");
	r = load_new_index(base);
	if (r < 0)
		return r;
	for (size_t i = 0; i < d->m->npayloads; i++) {
		const struct aim_bundle_payload *p = &d->m->payloads[i];

		if (strcmp(p->kind, AIM_BUNDLE_KIND_BOOT))
			continue;
		for (size_t j = 0; j < base->m->npayloads; j++) {
			const struct aim_bundle_payload *q = &base->m->payloads[j];

			if (!strcmp(q->kind, AIM_BUNDLE_KIND_BOOT) && q->size == p->size &&
			    !memcmp(q->sha256, p->sha256, 32))
				d->boot_local[i] = BOOT_CUR;
		}
	}
	classify(d, base->nx);
	return 0;
}

/* ---- the stream ---- */

/* The payload holding stream byte pos, or NULL (pos in the padding after one). */
static const struct aim_bundle_payload *payload_at(struct aim_delta *d, uint64_t pos,
						    uint64_t *pad_end)
{
	const struct aim_bundle_payload *ps = d->m->payloads;
	size_t n = d->m->npayloads;

	if (d->cursor >= n || d->area + ps[d->cursor].offset > pos)
		d->cursor = 0;
	for (size_t i = d->cursor; i < n; i++) {
		uint64_t a = d->area + ps[i].offset, e = a + ps[i].size;
		uint64_t next = i + 1 < n ? d->area + ps[i + 1].offset : d->total;

		if (pos >= a && pos < e) {
			d->cursor = i;
			return &ps[i];
		}
		if (pos >= e && pos < next) {
			*pad_end = next;
			return NULL;
		}
	}
	*pad_end = d->total;
	return NULL;
}

/* The piece holding rootfs byte off (the hint first: the stream reads in order). The
 * writer thread calls it without the hint (the stream moves it meanwhile). */
static size_t piece_at(const struct aim_delta *d, uint64_t off, size_t hint)
{
	size_t lo = 0, hi = d->nx->n;

	if (hint < d->nx->n && d->nx->p[hint].off == off)
		return hint;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (d->nx->p[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Piece i of the window at start (fetched already, if it was to be): made from where the
 * plan found it and checked against the index; a piece that does not match is fetched,
 * unless it was fetched: then the bundle is wrong. */
static int take_piece(struct aim_delta *d, size_t i, uint64_t start)
{
	const struct aim_piece *p = &d->nx->p[i];
	uint8_t *b = d->buf + (p->off - start), md[32];
	int r = 0;

	switch (d->how[i]) {
	case P_ZERO:
		memset(b, 0, p->len);
		d->st.zero += p->len;
		break;
	case P_HELD:
		r = aim_pread_full(d->new_fd, b, p->len, d->new_base + p->off);
		if (r < 0)
			return aim_error_set(r, "cannot read the target slot: %s", strerror(-r));
		break;
	case P_LOCAL:
		r = aim_pread_full(d->old_fd, b, p->len, d->old_base + d->old_off[i]);
		if (r < 0)
			return aim_error_set(r, "cannot read slot %c: %s", d->cur, strerror(-r));
		break;
	case P_TREE:
		r = aim_vtree_read(d->vt, p->off - d->tree_off, b, p->len);
		if (r == -ENOMEM)
			return r;
		break;
	}
	if (r == 0 && (r = aim_sha256_oneshot(b, p->len, md)) < 0)
		return r;
	if (r == 0 && !memcmp(md, p->sha256, 32)) {
		if (d->how[i] == P_LOCAL)
			d->st.local += p->len;
		else if (d->how[i] == P_TREE)
			d->st.computed += p->len;
		return 0;
	}
	if (d->how[i] == P_FETCH)
		return aim_error_set(-EBADMSG, "the rootfs piece at byte %" PRIu64 " (%" PRIu32
				     " bytes) does not match the bundle's block index",
				     p->off, p->len);
	/* the running slot (or the target) no longer holds it, or the tree came out
	 * otherwise: fetch it */
	r = fetch(d, d->area + d->rootfs->offset + p->off, b, p->len);
	if (r == 0)
		r = aim_sha256_oneshot(b, p->len, md);
	if (r < 0)
		return r;
	if (memcmp(md, p->sha256, 32))
		return aim_error_set(-EBADMSG, "the rootfs piece at byte %" PRIu64 " does not "
				     "match the bundle's block index", p->off);
	if (d->how[i] == P_HELD)
		d->st.held -= p->len;
	d->how[i] = P_FETCH; /* written, and not skipped */
	d->st.refetched++;
	return 0;
}

/* Assembles whole pieces of the rootfs payload from rel on into d->buf. */
static int fill_rootfs(struct aim_delta *d, uint64_t rel)
{
	struct aim_range rg[64];
	size_t first = piece_at(d, rel, d->pcursor), last = first, n = 0;
	uint64_t start = d->nx->p[first].off, len = 0;
	int r;

	if (start != rel)
		return aim_error_set(-EIO, "internal error: rootfs read at %" PRIu64 " inside a "
				     "piece", rel);
	while (last < d->nx->n && (len == 0 || len + d->nx->p[last].len <= WINDOW)) {
		const struct aim_piece *p = &d->nx->p[last];

		if (d->how[last] == P_FETCH) {
			if (n && rg[n - 1].off + rg[n - 1].len == d->area + d->rootfs->offset + p->off) {
				rg[n - 1].len += p->len;
			} else if (n == ARRAY_SIZE(rg)) {
				break;
			} else {
				rg[n++] = (struct aim_range){ .off = d->area + d->rootfs->offset + p->off,
							      .len = p->len,
							      .buf = d->buf + (p->off - start) };
			}
		}
		len += p->len;
		last++;
	}
	if (n) {
		uint64_t before = aim_source_fetched_bytes(d->src);

		r = aim_source_fetch(d->src, rg, n);
		if (r < 0)
			return r;
		d->st.fetched += aim_source_fetched_bytes(d->src) - before;
		d->st.requests = aim_source_requests(d->src);
	}
	/* the pieces made here, then (once this window's data fed the tree) the tree's */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = first; i < last; i++) {
			if ((d->how[i] == P_TREE) != pass)
				continue;
			r = take_piece(d, i, start);
			if (r < 0)
				return r;
		}
		if (pass == 0 && d->vt && (r = aim_vtree_feed(d->vt, start, d->buf, len)) < 0)
			return r;
	}
	d->pcursor = last;
	d->wp = d->buf;
	d->woff = d->area + d->rootfs->offset + start;
	d->wlen = len;
	return 0;
}

/* Sets the window to the bytes at d->pos. */
static int fill(struct aim_delta *d)
{
	const struct aim_bundle_payload *p;
	uint64_t pad_end = 0, a, end;
	int r;

	if (d->pos < d->area) {
		d->wp = d->head;
		d->woff = 0;
		d->wlen = d->area;
		return 0;
	}
	p = payload_at(d, d->pos, &pad_end);
	if (!p) { /* zero padding between payloads */
		d->wp = zeros;
		d->woff = d->pos;
		d->wlen = MIN(pad_end - d->pos, (uint64_t)sizeof(zeros));
		return 0;
	}
	a = d->area + p->offset;
	end = a + p->size;
	if (p == d->rootfs && d->how)
		return fill_rootfs(d, d->pos - a);
	if (p == d->idxp && d->nx_raw) {
		d->wp = d->nx_raw;
		d->woff = a;
		d->wlen = p->size;
		return 0;
	}
	if (d->how && d->boot_local[p - d->m->payloads]) {
		char path[AIM_BUNDLE_NAME_MAX + 16];
		size_t len = 0;

		free(d->file);
		d->file = NULL;
		snprintf(path, sizeof(path), "/slot-%c/%s",
			 d->boot_local[p - d->m->payloads] == BOOT_HELD ? d->slot : d->cur, p->name);
		r = aim_target_read_file(d->t, path, BOOT_MAX, &d->file, &len);
		if (r == 0 && len == p->size && d->pos == a) {
			d->wp = (const uint8_t *)d->file;
			d->woff = a;
			d->wlen = len;
			d->st.local += len;
			return 0; /* its SHA-256 is checked by the bundle reader */
		}
		d->boot_local[p - d->m->payloads] = 0;
	}
	d->wlen = MIN(end - d->pos, (uint64_t)WINDOW);
	r = fetch(d, d->pos, d->buf, d->wlen);
	if (r < 0)
		return r;
	d->wp = d->buf;
	d->woff = d->pos;
	return 0;
}

ssize_t aim_delta_read(void *ud, void *buf, size_t n)
{
	struct aim_delta *d = ud;
	size_t done = 0;

	while (done < n && d->pos < d->total) {
		uint64_t k;

		if (d->pos < d->woff || d->pos >= d->woff + d->wlen) {
			int r = fill(d);
			if (r < 0)
				return r;
		}
		k = MIN((uint64_t)(n - done), d->woff + d->wlen - d->pos);
		memcpy((uint8_t *)buf + done, d->wp + (d->pos - d->woff), (size_t)k);
		done += (size_t)k;
		d->pos += k;
	}
	return (ssize_t)done;
}

int aim_delta_held(struct aim_delta *d, uint64_t off, uint64_t *len)
{
	size_t i;
	uint64_t end = off + *len, run;
	int held;

	if (!d->how || !d->nx || off >= d->nx->size)
		return 0;
	i = piece_at(d, off, SIZE_MAX);
	held = d->how[i] == P_HELD;
	for (; i < d->nx->n && d->nx->p[i].off < end; i++)
		if ((d->how[i] == P_HELD) != held)
			break;
	run = i < d->nx->n ? d->nx->p[i].off : d->nx->size;
	*len = MIN(run, end) - off;
	return held;
}
