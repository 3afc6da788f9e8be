/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Delta-update benchmark helper (docs/delta.md): how many bytes of a new squashfs a device
 * must fetch when it may reuse whatever its running (old) squashfs already holds, for two
 * position-independent schemes:
 *
 *   4k     fixed 4 KiB blocks (RAUC's block-hash-index, and the level-0 blocks of our
 *          verity tree): every 4 KiB block of NEW whose SHA-256 is not the hash of some
 *          4 KiB block of OLD. All-zero blocks are counted apart (made locally).
 *   sqfs   squashfs blocks as written: every compressed data block and fragment block of
 *          NEW (located through the inode table and the fragment table) whose SHA-256 of
 *          the stored bytes is not that of one in OLD, plus everything that is not a data
 *          or fragment block (superblock, inode/directory/fragment/id/xattr tables,
 *          padding between blocks), which changes with any change anyway.
 *
 * Each distinct missing piece counts once (a block NEW holds twice is fetched once).
 * Usage: delta-blocks OLD.sqfs NEW.sqfs
 *        delta-blocks --raw OLD NEW      any two files: the 4k counts only
 * Prints one line of key=value pairs (bytes): size, 4k_missing, 4k_zero, sqfs_missing,
 * sqfs_data_missing (data and fragment blocks), sqfs_frag_missing (fragment blocks),
 * sqfs_meta, sqfs_pad (zero gaps between blocks, not fetched),
 * sqfs_pieces, sqfs_pieces_missing.
 * Build: see bench/delta.sh (cc -O2 -Ilib ... libsquashfs1 libcrypto).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sqfs/compressor.h>
#include <sqfs/frag_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_reader.h>
#include <sqfs/super.h>
#include <sqfs/block.h>

#define BLK 4096u

struct piece {
	uint64_t off;
	uint32_t len;
	uint32_t frag; /* 1: a fragment block */
};

struct img {
	const char *path;
	const uint8_t *map;
	uint64_t size; /* file size */
	sqfs_super_t super;
	struct piece *p;
	size_t np, capp;
};

/* An open-addressing set of 32-byte digests. */
struct set {
	uint8_t (*k)[32];
	size_t cap, n;
};

static void die(const char *what, const char *path)
{
	fprintf(stderr, "delta-blocks: %s: %s\n", path, what);
	exit(1);
}

static void set_init(struct set *s, size_t want)
{
	s->cap = 1024;
	while (s->cap < want * 2)
		s->cap *= 2;
	s->k = calloc(s->cap, 32);
	s->n = 0;
	if (!s->k)
		die("out of memory", "set");
}

static int is_empty(const uint8_t *k)
{
	static const uint8_t z[32];
	return !memcmp(k, z, 32);
}

/* Adds md; returns 1 when it was new. The all-zero digest is never a SHA-256 we meet. */
static int set_add(struct set *s, const uint8_t md[32])
{
	size_t i;

	memcpy(&i, md, sizeof(i));
	for (i &= s->cap - 1; !is_empty(s->k[i]); i = (i + 1) & (s->cap - 1))
		if (!memcmp(s->k[i], md, 32))
			return 0;
	memcpy(s->k[i], md, 32);
	s->n++;
	return 1;
}

static int set_has(const struct set *s, const uint8_t md[32])
{
	size_t i;

	memcpy(&i, md, sizeof(i));
	for (i &= s->cap - 1; !is_empty(s->k[i]); i = (i + 1) & (s->cap - 1))
		if (!memcmp(s->k[i], md, 32))
			return 1;
	return 0;
}

static void add_piece(struct img *im, uint64_t off, uint32_t len, uint32_t frag)
{
	if (!len)
		return;
	if (off + len > im->size)
		die("a block lies beyond the end of the file", im->path);
	if (im->np == im->capp) {
		im->capp = im->capp ? im->capp * 2 : 4096;
		im->p = realloc(im->p, im->capp * sizeof(*im->p));
		if (!im->p)
			die("out of memory", im->path);
	}
	im->p[im->np++] = (struct piece){ off, len, frag };
}

static void map_file(struct img *im)
{
	struct stat st;
	int fd;

	fd = open(im->path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(strerror(errno), im->path);
	im->size = (uint64_t)st.st_size;
	im->map = im->size ? mmap(NULL, im->size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (im->map == MAP_FAILED)
		die(strerror(errno), im->path);
	close(fd);
}

/* Lists every data block (from the file inodes) and fragment block of a squashfs. */
static void load(struct img *im)
{
	sqfs_compressor_config_t cfg;
	sqfs_compressor_t *cmp;
	sqfs_meta_reader_t *mr;
	sqfs_frag_table_t *ft;
	sqfs_file_t *f;
	sqfs_u64 blk;
	size_t off, i, nb;
	sqfs_u32 k;

	f = sqfs_open_file(im->path, SQFS_FILE_OPEN_READ_ONLY);
	if (!f || sqfs_super_read(&im->super, f))
		die("not a squashfs", im->path);
	sqfs_compressor_config_init(&cfg, im->super.compression_id, im->super.block_size, 0);
	cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	if (sqfs_compressor_create(&cfg, &cmp))
		die("compressor not available", im->path);

	mr = sqfs_meta_reader_create(f, cmp, im->super.inode_table_start,
				     im->super.directory_table_start);
	if (!mr)
		die("out of memory", im->path);
	blk = im->super.inode_table_start;
	off = 0;
	for (k = 0; k < im->super.inode_count; k++) {
		sqfs_inode_generic_t *in;
		sqfs_u64 pos;

		/* the block is relative to the inode table here, absolute in get_position */
		if (sqfs_meta_reader_read_inode(mr, &im->super, blk - im->super.inode_table_start,
						off, &in))
			die("cannot read the inode table", im->path);
		sqfs_meta_reader_get_position(mr, &blk, &off);
		if (in->base.type == SQFS_INODE_FILE || in->base.type == SQFS_INODE_EXT_FILE) {
			sqfs_inode_get_file_block_start(in, &pos);
			nb = sqfs_inode_get_file_block_count(in);
			for (i = 0; i < nb; i++) {
				uint32_t sz = in->extra[i] & ((1u << 24) - 1);

				add_piece(im, pos, sz, 0); /* 0: a sparse block, nothing stored */
				pos += sz;
			}
		}
		sqfs_free(in);
	}
	sqfs_destroy(mr);

	ft = sqfs_frag_table_create(0);
	if (!ft || sqfs_frag_table_read(ft, f, &im->super, cmp))
		die("cannot read the fragment table", im->path);
	for (i = 0; i < sqfs_frag_table_get_size(ft); i++) {
		sqfs_fragment_t fr;

		if (sqfs_frag_table_lookup(ft, (sqfs_u32)i, &fr))
			die("bad fragment table", im->path);
		add_piece(im, fr.start_offset, fr.size & ((1u << 24) - 1), 1);
	}
	sqfs_destroy(ft);
	sqfs_destroy(cmp);
	sqfs_destroy(f);
}

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int main(int argc, char **argv)
{
	static const uint8_t zero[BLK];
	struct img o = { 0 }, n = { 0 };
	struct set s4, s4new, sq, sqnew;
	uint8_t md[32];
	uint64_t i, miss4 = 0, zero4 = 0, missq = 0, covered = 0, end = 0, nmiss = 0, pad = 0;
	uint64_t missf = 0;

	int raw = argc == 4 && !strcmp(argv[1], "--raw");

	if (argc != 3 && !raw) {
		fprintf(stderr, "usage: delta-blocks [--raw] OLD NEW\n");
		return 2;
	}
	o.path = argv[1 + raw];
	n.path = argv[2 + raw];
	map_file(&o);
	map_file(&n);
	if (!raw) {
		load(&o);
		load(&n);
	}

	/* Fixed 4 KiB blocks, position-independent. */
	set_init(&s4, o.size / BLK + 1);
	for (i = 0; i + BLK <= o.size; i += BLK) {
		SHA256(o.map + i, BLK, md);
		set_add(&s4, md);
	}
	set_init(&s4new, n.size / BLK + 1);
	for (i = 0; i < n.size; i += BLK) {
		uint8_t b[BLK] = { 0 };
		size_t len = n.size - i < BLK ? (size_t)(n.size - i) : BLK;

		memcpy(b, n.map + i, len);
		if (!memcmp(b, zero, BLK)) {
			zero4 += BLK;
			continue;
		}
		SHA256(b, BLK, md);
		if (!set_has(&s4, md) && set_add(&s4new, md))
			miss4 += BLK;
	}

	if (raw) {
		printf("size=%llu 4k_missing=%llu 4k_zero=%llu\n", (unsigned long long)n.size,
		       (unsigned long long)miss4, (unsigned long long)zero4);
		return 0;
	}

	/* Squashfs blocks as stored, position-independent; the rest counts as missing. */
	set_init(&sq, o.np + 1);
	for (i = 0; i < o.np; i++) {
		SHA256(o.map + o.p[i].off, o.p[i].len, md);
		set_add(&sq, md);
	}
	set_init(&sqnew, n.np + 1);
	qsort(n.p, n.np, sizeof(*n.p), piece_cmp);
	for (i = 0; i < n.np; i++) {
		const struct piece *p = &n.p[i];

		if (p->off < end) /* a deduplicated block listed twice */
			continue;
		if (end && p->off > end) { /* a gap between blocks: zeros are made locally */
			uint64_t g;

			for (g = end; g < p->off && !n.map[g]; g++)
				;
			if (g == p->off) {
				pad += p->off - end;
				covered += p->off - end;
			}
		}
		end = p->off + p->len;
		covered += p->len;
		SHA256(n.map + p->off, p->len, md);
		if (!set_has(&sq, md) && set_add(&sqnew, md)) {
			missq += p->len;
			missf += p->frag ? p->len : 0;
			nmiss++;
			if (getenv("DELTA_BLOCKS_LIST"))
				fprintf(stderr, "missing %s at %llu, %u bytes\n",
					p->frag ? "fragment block" : "data block",
					(unsigned long long)p->off, p->len);
		}
	}
	printf("size=%llu 4k_missing=%llu 4k_zero=%llu sqfs_missing=%llu sqfs_data_missing=%llu "
	       "sqfs_frag_missing=%llu sqfs_meta=%llu sqfs_pad=%llu sqfs_pieces=%llu sqfs_pieces_missing=%llu\n",
	       (unsigned long long)n.size, (unsigned long long)miss4,
	       (unsigned long long)zero4, (unsigned long long)(missq + n.size - covered),
	       (unsigned long long)missq, (unsigned long long)missf,
	       (unsigned long long)(n.size - covered),
	       (unsigned long long)pad,
	       (unsigned long long)n.np, (unsigned long long)nmiss);
	return 0;
}
