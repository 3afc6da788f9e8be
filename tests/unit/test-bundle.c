/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/bundle.c: write a bundle, read it back through the streaming reader (whole reads
 * and 1..7 byte dribbles), then tamper with every part: header fields, manifest,
 * signature, payload bytes, padding, truncation at each region, trailing data, wrong key;
 * and the manifest parser's bounds (names, offsets, sizes, counts, numbers), exactly as
 * docs/ota.md section 3 says (keys once, offset/size required, canonical format number,
 * UTF-8 without C0/DEL/C1 controls, unknown keys of any length ignored).
 */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"

static char dir[256];
static struct aim_pubkey pub, other_pub;
static struct aim_seckey sec, other_sec;

struct mem {
	const uint8_t *p;
	size_t len, pos, chunk; /* chunk: 0 = as much as asked, else at most 1..chunk */
};

static ssize_t mem_read(void *ud, void *buf, size_t n)
{
	struct mem *m = ud;

	if (m->chunk && n > 1 + m->pos % m->chunk)
		n = 1 + m->pos % m->chunk;
	if (n > m->len - m->pos)
		n = m->len - m->pos;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int has(const char *s, const char *sub)
{
	return s && strstr(s, sub) != NULL;
}

static void make_file(const char *name, size_t size, unsigned seed, char *path, size_t plen)
{
	uint8_t *b = malloc(size + 1);

	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
	snprintf(path, plen, "%s/%s", dir, name);
	aim_write_file_atomic(path, b, size, 0644);
	free(b);
}

/* Reads the whole bundle; returns 0 or the first error, and the payload count. */
static int read_all(const uint8_t *buf, size_t len, size_t chunk, const struct aim_pubkey *k,
		    unsigned flags, unsigned *ret_n)
{
	struct mem m = {buf, len, 0, chunk};
	struct aim_bundle_reader *b = NULL;
	const struct aim_bundle_payload *p;
	uint8_t tmp[8192];
	unsigned n = 0;
	int r = aim_bundle_open(mem_read, &m, k, k ? 1 : 0, flags, &b);

	if (r < 0)
		return r;
	while ((r = aim_bundle_next(b, &p)) > 0) {
		ssize_t k2;
		n++;
		while ((k2 = aim_bundle_read(b, tmp, sizeof(tmp))) > 0)
			;
		if (k2 < 0) {
			r = (int)k2;
			break;
		}
	}
	if (ret_n)
		*ret_n = n;
	aim_bundle_close(b);
	return r;
}

static uint8_t *bundle_buf;
static size_t bundle_len;

static void test_write_read(void)
{
	struct aim_bundle_meta meta = {.version = "25.5.1", .board = "orangepizero2",
				       .family = "sun50iw9", .linuxfamily = "sunxi64",
				       .arch = "arm64", .created = 1718236800};
	struct aim_bundle_writer *w = NULL;
	char p1[512], p2[512], p3[512], out[512];
	struct aim_bundle_reader *b = NULL;
	const struct aim_bundle_payload *p;
	const struct aim_bundle_manifest *m;
	struct mem mm;
	unsigned n = 0;
	int fd, r;

	make_file("root.sqfs", 100000, 1, p1, sizeof(p1));
	make_file("Image", 5000, 2, p2, sizeof(p2));
	make_file("empty", 0, 3, p3, sizeof(p3));
	is_int(aim_bundle_writer_new(&meta, &w), 0, "writer");
	is_int(aim_bundle_writer_add_file(w, "rootfs.squashfs", "rootfs", p1), 0, "add rootfs");
	is_int(aim_bundle_writer_add_file(w, "Image", "boot", p2), 0, "add Image");
	is_int(aim_bundle_writer_add_file(w, "dtb/vendor/x.dtb", "boot", p3), 0,
	       "add an empty file in a subdirectory");
	r = aim_bundle_writer_add_file(w, "../etc/passwd", "boot", p2);
	is_int(r, -EINVAL, "writer refuses a name with '..'");
	ok(has(aim_error_detail(), "'..'"), "message names the '..'");
	is_int(aim_bundle_writer_add_file(w, "/abs", "boot", p2), -EINVAL,
	       "writer refuses an absolute name");
	is_int(aim_bundle_writer_add_file(w, "Image", "boot", p2), -EINVAL,
	       "writer refuses a name twice");
	is_int(aim_bundle_writer_add_file(w, "r2", "rootfs", p1), -EINVAL,
	       "writer refuses a second rootfs");
	is_int(aim_bundle_writer_add_file(w, "x", "Boot!", p1), -EINVAL, "writer refuses a bad kind");
	is_int(aim_bundle_writer_add_file(w, "a\x9b[2J", "boot", p2), -EINVAL,
	       "writer refuses a name that is not UTF-8 (a raw C1 byte)");
	is_int(aim_bundle_writer_add_file(w, "a\xc2\x9b", "boot", p2), -EINVAL,
	       "writer refuses a name with a C1 control (U+009B)");
	snprintf(out, sizeof(out), "%s/b.aimb", dir);
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	is_int(aim_bundle_write(w, &sec, fd, NULL, NULL), 0, "bundle written");
	close(fd);
	aim_bundle_writer_free(w);
	aim_read_file(out, 1 << 24, (char **)&bundle_buf, &bundle_len);
	is_int(bundle_len % 4096, 0, "bundle size is a multiple of 4 KiB");
	ok(!memcmp(bundle_buf, AIM_BUNDLE_MAGIC, 8), "magic");

	mm = (struct mem){bundle_buf, bundle_len, 0, 0};
	is_int(aim_bundle_open(mem_read, &mm, &pub, 1, 0, &b), 0, "opens with the right key");
	m = aim_bundle_get_manifest(b);
	is_str(m->version, "25.5.1", "version");
	is_str(m->board, "orangepizero2", "board");
	is_str(m->family, "sun50iw9", "family");
	is_str(m->linuxfamily, "sunxi64", "linuxfamily");
	is_str(m->arch, "arm64", "arch");
	is_int(m->created, 1718236800, "created");
	is_int(m->npayloads, 3, "three payloads");
	ok(aim_bundle_signature(b) != NULL, "signature reported as checked");
	is_int(strlen(aim_bundle_manifest_sha256(b)), 64, "manifest sha256 hex");
	is_int(aim_bundle_total_size(b), bundle_len, "total size matches the file");
	is_int(aim_bundle_next(b, &p), 1, "first payload");
	is_str(p->kind, "rootfs", "first is the rootfs");
	is_int(p->offset, 0, "at offset 0");
	{
		uint8_t buf[4096];
		ssize_t k;
		uint64_t got = 0;
		while ((k = aim_bundle_read(b, buf, sizeof(buf))) > 0)
			got += (uint64_t)k;
		is_int(k, 0, "rootfs read to the end, hash good");
		is_int(got, 100000, "all its bytes");
		is_int(aim_bundle_position(b) % 4096, 100000 % 4096, "position after it");
	}
	is_int(aim_bundle_next(b, &p), 1, "second payload (first one fully read)");
	is_str(p->name, "Image", "second is Image");
	is_int(p->offset, 102400, "Image at the next 4 KiB boundary");
	is_int(aim_bundle_next(b, &p), 1, "third payload (Image left unread: drained)");
	is_str(p->name, "dtb/vendor/x.dtb", "third name");
	is_int(p->size, 0, "empty payload");
	is_int(aim_bundle_next(b, &p), 0, "end of the bundle");
	aim_bundle_close(b);

	is_int(read_all(bundle_buf, bundle_len, 7, &pub, 0, &n), 0, "reads in 1..7 byte dribbles");
	is_int(n, 3, "all payloads through the dribble");
	{
		struct aim_pubkey two[2] = {other_pub, pub};
		mm = (struct mem){bundle_buf, bundle_len, 0, 0};
		is_int(aim_bundle_open(mem_read, &mm, two, 2, 0, &b), 0,
		       "opens with the key second in the trusted list");
		aim_bundle_close(b);
	}
	/* A minisign-verifiable signature: header | manifest | signature text. */
	{
		uint32_t ml = aim_get_le32(bundle_buf + 16), sl = aim_get_le32(bundle_buf + 20);
		char mp[512], sp[512], kp[512], cmd[2048];
		char *pt = NULL;
		snprintf(mp, sizeof(mp), "%s/manifest", dir);
		snprintf(sp, sizeof(sp), "%s/manifest.minisig", dir);
		snprintf(kp, sizeof(kp), "%s/k.pub", dir);
		aim_write_file_atomic(mp, bundle_buf + 64, ml, 0644);
		aim_write_file_atomic(sp, bundle_buf + 64 + ml, sl, 0644);
		aim_pubkey_format(&pub, &pt);
		aim_write_file_atomic(kp, pt, strlen(pt), 0644);
		free(pt);
		snprintf(cmd, sizeof(cmd), "minisign -Vq -p %s -m %s", kp, mp);
		is_int(system(cmd), 0, "minisign -V verifies the manifest signature");
	}
}

/* A copy of the bundle with one change, read fully: the first error. */
static int tampered(size_t off, uint8_t x, size_t len, const struct aim_pubkey *k)
{
	uint8_t *c = malloc(len > bundle_len ? len : bundle_len);
	int r;

	memcpy(c, bundle_buf, bundle_len);
	if (len > bundle_len)
		memset(c + bundle_len, 0xaa, len - bundle_len);
	if (off < len)
		c[off] ^= x;
	aim_error_clear();
	r = read_all(c, len, 0, k, 0, NULL);
	free(c);
	return r;
}

static void test_tamper(void)
{
	uint32_t ml = aim_get_le32(bundle_buf + 16), sl = aim_get_le32(bundle_buf + 20);
	size_t area = (64 + ml + sl + 4095) / 4096 * 4096;
	int r;

	r = tampered(0, 1, bundle_len, &pub);
	is_int(r, -EBADMSG, "bad magic refused");
	ok(has(aim_error_detail(), "not an armimmutable bundle"), "message: not a bundle");
	r = tampered(8, 3, bundle_len, &pub);
	is_int(r, -EOPNOTSUPP, "format 2 refused as unsupported");
	ok(has(aim_error_detail(), "format 2"), "message names the format");
	r = tampered(19, 0x40, bundle_len, &pub);
	is_int(r, -EBADMSG, "huge manifest length refused");
	ok(has(aim_error_detail(), "out of range"), "message: out of range");
	r = tampered(30, 1, bundle_len, &pub);
	is_int(r, -EBADMSG, "reserved header byte refused");
	r = tampered(16, 1, bundle_len, &pub);
	ok(r == -EKEYREJECTED || r == -EBADMSG, "manifest length off by one refused (%d)", r);
	{
		uint8_t *c = malloc(bundle_len);
		memcpy(c, bundle_buf, bundle_len);
		memset(c + 20, 0, 4);
		r = read_all(c, bundle_len, 0, &pub, 0, NULL);
		is_int(r, -EKEYREJECTED, "missing signature refused");
		ok(has(aim_error_detail(), "no signature"), "message: no signature");
		free(c);
	}
	/* A byte of the manifest: the version number digit. */
	{
		const char *v = memmem(bundle_buf + 64, ml, "version=25", 10);
		r = tampered((size_t)((const uint8_t *)v - bundle_buf) + 8, 1, bundle_len, &pub);
		is_int(r, -EKEYREJECTED, "changed manifest refused");
		ok(has(aim_error_detail(), "signature verification failed"),
		   "message: signature verification failed");
	}
	r = tampered(64 + ml + 100, 1, bundle_len, &pub);
	is_int(r, -EKEYREJECTED, "changed signature byte refused");
	{
		const char *tc = memmem(bundle_buf + 64 + ml, sl, "timestamp:", 10);
		r = tampered((size_t)((const uint8_t *)tc - bundle_buf) + 10, 1, bundle_len, &pub);
		is_int(r, -EKEYREJECTED, "changed trusted comment refused");
	}
	r = tampered(0, 0, bundle_len, &other_pub);
	is_int(r, -EKEYREJECTED, "wrong key refused");
	ok(has(aim_error_detail(), "not a trusted key"), "message: not a trusted key");
	r = tampered(0, 0, bundle_len, NULL);
	is_int(r, -EKEYREJECTED, "no key refused");
	r = tampered(area + 500, 0x10, bundle_len, &pub);
	is_int(r, -AIM_E_HASH, "changed rootfs byte refused (-AIM_E_HASH)");
	ok(has(aim_error_detail(), "SHA-256"), "message names the SHA-256 mismatch");
	ok(has(aim_error_detail(), "rootfs.squashfs"), "message names the payload");
	r = tampered(area + 102400 + 4999, 0x10, bundle_len, &pub);
	is_int(r, -AIM_E_HASH, "changed last byte of Image refused (-AIM_E_HASH)");
	r = tampered(area + 100000 + 5, 0x10, bundle_len, &pub);
	is_int(r, -EBADMSG, "non-zero padding refused");
	ok(has(aim_error_detail(), "padding"), "message: padding");
	r = tampered(64 + ml + sl + 1, 1, bundle_len, &pub);
	is_int(r, -EBADMSG, "non-zero padding after the signature refused");
	r = tampered(0, 0, bundle_len + 1, &pub);
	is_int(r, -EBADMSG, "trailing byte refused");
	ok(has(aim_error_detail(), "after the end"), "message: data after the end");
	{
		size_t cuts[] = {0, 5, 63, 64 + ml / 2, 64 + ml + sl / 2, area - 1, area + 50000,
				 bundle_len - 4096, bundle_len - 1};
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			r = tampered(0, 0, cuts[i], &pub);
			ok(r == -EBADMSG && (has(aim_error_detail(), "truncated") ||
					     has(aim_error_detail(), "bad magic")),
			   "truncated at %zu refused (%d: %s)", cuts[i], r,
			   aim_error_detail() ? aim_error_detail() : "");
		}
	}
	/* Without verification a tampered manifest still parses, and info can show it. */
	{
		unsigned n = 0;
		r = read_all(bundle_buf, bundle_len, 0, NULL, AIM_BUNDLE_NO_VERIFY, &n);
		is_int(r, 0, "NO_VERIFY reads the bundle");
	}
}

static int parse_text(const char *text)
{
	struct aim_bundle_manifest *m = NULL;
	int r;

	aim_error_clear();
	r = aim_bundle_manifest_parse(text, strlen(text), &m);
	aim_bundle_manifest_free(m);
	return r;
}

static int parse(const char *payloads)
{
	char text[65536];
	struct aim_bundle_manifest *m = NULL;
	int r;

	snprintf(text, sizeof(text),
		 "armimmutable-bundle 1\nversion=1\nboard=b\nfamily=f\narch=arm64\n%s", payloads);
	aim_error_clear();
	r = aim_bundle_manifest_parse(text, strlen(text), &m);
	aim_bundle_manifest_free(m);
	return r;
}

#define H "0000000000000000000000000000000000000000000000000000000000000000"

#define P1 "[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\nsha256=" H "\n"
#define TOP "version=1\nboard=b\nfamily=f\narch=arm64\n"

/* The parser is exactly docs/ota.md section 3: nothing it leaves open is accepted. */
static void test_manifest_exact(void)
{
	char longkey[200];

	/* A known key twice, created= included (its repeat check used to be reset). */
	is_int(parse("created=1\ncreated=2\npayload_bytes=4096\n" P1), -EBADMSG,
	       "created= twice refused");
	ok(has(aim_error_detail(), "'created' given twice"), "message: 'created' given twice");
	is_int(parse("created=1\npayload_bytes=4096\n" P1), 0, "created= once accepted");

	/* offset= and size= are required, like name, kind and sha256. */
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\nsize=10\nsha256=" H
		     "\n"), -EBADMSG, "payload without offset= refused");
	ok(has(aim_error_detail(), "payload 1 lacks offset"), "message: payload 1 lacks offset");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\noffset=0\nsha256=" H
		     "\n"), -EBADMSG, "payload without size= refused");
	ok(has(aim_error_detail(), "payload 1 lacks size"), "message: payload 1 lacks size");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\nsha256=" H "\n"),
	       -EBADMSG, "payload with neither refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=e\nkind=boot\nsha256=" H "\n" P1),
	       -EBADMSG, "a first payload without offset/size refused (not only the last)");
	ok(has(aim_error_detail(), "payload 1 lacks offset"), "message names payload 1");

	/* The format number: canonical decimal only. */
	is_int(parse_text("armimmutable-bundle 1\n" TOP "payload_bytes=4096\n" P1), 0,
	       "format 1");
	is_int(parse_text("armimmutable-bundle 0x1\n" TOP "payload_bytes=4096\n" P1), -EBADMSG,
	       "format 0x1 refused");
	ok(has(aim_error_detail(), "bad format number '0x1'"), "message: bad format number");
	is_int(parse_text("armimmutable-bundle 01\n" TOP "payload_bytes=4096\n" P1), -EBADMSG,
	       "format 01 refused");
	is_int(parse_text("armimmutable-bundle +1\n" TOP "payload_bytes=4096\n" P1), -EBADMSG,
	       "format +1 refused");
	is_int(parse_text("armimmutable-bundle 1 \n" TOP "payload_bytes=4096\n" P1), -EBADMSG,
	       "format '1 ' refused");
	is_int(parse_text("armimmutable-bundle  1\n" TOP "payload_bytes=4096\n" P1), -EBADMSG,
	       "format ' 1' refused");
	is_int(parse_text("armimmutable-bundle 0\n" TOP), -EOPNOTSUPP, "format 0 unsupported");
	is_int(parse_text("armimmutable-bundle 99999999999999999999999\n" TOP), -EOPNOTSUPP,
	       "a huge format number is unsupported, not corrupt");
	ok(has(aim_error_detail(), "format 99999999999999999999999 is not"),
	   "message names it as written");

	/* UTF-8 text without control characters (C0, DEL, C1). */
	is_int(parse("generator=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\npayload_bytes=4096\n"
		     P1), 0, "UTF-8 (2, 3 and 4 byte sequences) accepted");
	is_int(parse("generator=a\x9b[2J\npayload_bytes=4096\n" P1), -EBADMSG,
	       "a raw C1 byte (not UTF-8) refused");
	ok(has(aim_error_detail(), "line 6: control character or invalid UTF-8"),
	   "message names the line");
	is_int(parse("generator=a\xc2\x9b[2J\npayload_bytes=4096\n" P1), -EBADMSG,
	       "U+009B (C1 control, CSI) refused");
	is_int(parse("generator=a\xc2\x85\npayload_bytes=4096\n" P1), -EBADMSG,
	       "U+0085 (C1 control, NEL) refused");
	is_int(parse("generator=a\tb\npayload_bytes=4096\n" P1), -EBADMSG, "tab refused");
	is_int(parse("generator=a\x7f\npayload_bytes=4096\n" P1), -EBADMSG, "DEL refused");
	is_int(parse("generator=\xc0\xaf\npayload_bytes=4096\n" P1), -EBADMSG,
	       "overlong '/' refused");
	is_int(parse("generator=\xe0\x80\xaf\npayload_bytes=4096\n" P1), -EBADMSG,
	       "overlong 3-byte form refused");
	is_int(parse("generator=\xed\xa0\x80\npayload_bytes=4096\n" P1), -EBADMSG,
	       "UTF-16 surrogate refused");
	is_int(parse("generator=\xf4\x90\x80\x80\npayload_bytes=4096\n" P1), -EBADMSG,
	       "above U+10FFFF refused");
	is_int(parse("generator=\xe2\x82\npayload_bytes=4096\n" P1), -EBADMSG,
	       "truncated sequence refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\xff\nkind=rootfs\noffset=0\n"
		     "size=10\nsha256=" H "\n"), -EBADMSG, "a name that is not UTF-8 refused");

	/* Unknown keys are ignored whatever their length. */
	memset(longkey, 'k', 150);
	snprintf(longkey + 150, sizeof(longkey) - 150, "=v\n");
	{
		char t[1024];

		snprintf(t, sizeof(t), "%spayload_bytes=4096\n" P1, longkey);
		is_int(parse(t), 0, "an unknown key of 150 bytes is ignored");
	}
}

/* The rootfs's verity keys (docs/verity.md): none, or all of them and consistent. */
static void test_manifest_verity(void)
{
#define PV(extra) "payload_bytes=8192\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=8192\n" \
		  "sha256=" H "\n" extra
#define VK(root, salt, blocks, off) "verity_root=" root "\nverity_salt=" salt \
				    "\nverity_data_blocks=" blocks "\nverity_hash_offset=" off "\n"
	struct aim_bundle_manifest *m = NULL;
	const char *t = "armimmutable-bundle 1\n" TOP PV(VK(H, H, "1", "4096"));

	is_int(aim_bundle_manifest_parse(t, strlen(t), &m), 0, "verity keys accepted");
	ok(m && m->payloads[0].verity_data_blocks == 1 && m->payloads[0].verity_hash_offset == 4096 &&
	   !strcmp(m->payloads[0].verity_salt, H), "verity values parsed");
	aim_bundle_manifest_free(m);
	is_int(parse(PV("verity_root=\n")), 0, "an empty verity_root: no tree");
	is_int(parse(PV("verity_root=\nverity_data_blocks=1\n")), -EBADMSG,
	       "verity keys without a root refused");
	is_int(parse(PV(VK(H, H, "1", "8192"))), -EBADMSG, "hash offset != blocks * 4096 refused");
	ok(has(aim_error_detail(), "verity_hash_offset"), "message names the key");
	is_int(parse(PV(VK(H, H, "3", "12288"))), -EBADMSG, "hash offset past the payload refused");
	is_int(parse(PV(VK(H, "00", "1", "4096"))), -EBADMSG, "short salt refused");
	is_int(parse(PV("verity_root=" H "\n")), -EBADMSG, "a root without the other keys refused");
	is_int(parse("payload_bytes=8192\n[payload]\nname=r\nkind=boot\noffset=0\nsize=8192\n"
		     "sha256=" H "\n" VK(H, H, "1", "4096")), -EBADMSG,
	       "verity keys on a boot payload refused");
#undef PV
#undef VK
}

static void test_manifest(void)
{
	char *big;
	size_t n = 0;

	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), 0, "minimal manifest");
	is_int(parse("payload_bytes=4096\nfuture=1\n[payload]\nname=r\nkind=rootfs\noffset=0\n"
		     "size=10\nsha256=" H "\nalso_future=x\n"), 0, "unknown keys are ignored");
	is_int(parse("payload_bytes=4096\n[payload]\nname=../r\nkind=boot\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "'..' name refused");
	ok(has(aim_error_detail(), "'..'"), "message names '..'");
	is_int(parse("payload_bytes=4096\n[payload]\nname=a/./b\nkind=boot\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "'.' component refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=/r\nkind=boot\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "absolute name refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=a//b\nkind=boot\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "empty component refused");
	is_int(parse("payload_bytes=8192\n[payload]\nname=r\nkind=boot\noffset=0\nsize=10\n"
		     "sha256=" H "\n[payload]\nname=r\nkind=boot\noffset=4096\nsize=1\nsha256=" H
		     "\n"), -EBADMSG, "duplicate name refused");
	is_int(parse("payload_bytes=12288\n[payload]\nname=r\nkind=boot\noffset=0\nsize=10\n"
		     "sha256=" H "\n[payload]\nname=s\nkind=boot\noffset=8192\nsize=1\nsha256=" H
		     "\n"), -EBADMSG, "gap between payloads refused");
	ok(has(aim_error_detail(), "expected 4096"), "message names the expected offset");
	is_int(parse("payload_bytes=8192\n[payload]\nname=r\nkind=boot\noffset=0\nsize=5000\n"
		     "sha256=" H "\n[payload]\nname=s\nkind=boot\noffset=4096\nsize=1\nsha256=" H
		     "\n"), -EBADMSG, "overlapping payloads refused");
	is_int(parse("payload_bytes=8192\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "payload_bytes that do not add up refused");
	ok(has(aim_error_detail(), "add up"), "message: add up");
	is_int(parse("payload_bytes=8192\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\n"
		     "sha256=" H "\n[payload]\nname=s\nkind=rootfs\noffset=4096\nsize=1\nsha256=" H
		     "\n"), -EBADMSG, "two rootfs payloads refused");
	is_int(parse("payload_bytes=0x1000\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "hex number refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\noffset=00\nsize=10\n"
		     "sha256=" H "\n"), -EBADMSG, "leading zero refused");
	is_int(parse("payload_bytes=18446744073709551615\n[payload]\nname=r\nkind=rootfs\n"
		     "offset=0\nsize=18446744073709551615\nsha256=" H "\n"), -EBADMSG,
	       "huge size refused (no overflow)");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\n"
		     "sha256=ABC\n"), -EBADMSG, "bad sha256 refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\nkind=rootfs\noffset=0\nsize=10\n"),
	       -EBADMSG, "missing sha256 refused");
	is_int(parse("payload_bytes=0\n"), -EBADMSG, "no payloads refused");
	is_int(parse("payload_bytes=4096\n[payload]\nname=r\x1b[2J\nkind=rootfs\noffset=0\n"
		     "size=10\nsha256=" H "\n"), -EBADMSG, "control character refused");
	is_int(parse("payload_bytes=4096\npayload_bytes=4096\n"), -EBADMSG, "repeated key refused");
	{
		struct aim_bundle_manifest *m = NULL;
		const char *t = "armimmutable-bundle 2\nversion=1\n";
		is_int(aim_bundle_manifest_parse(t, strlen(t), &m), -EOPNOTSUPP,
		       "manifest format 2 unsupported");
		t = "armimmutable-bundle 1\nboard=b\nfamily=f\narch=a\npayload_bytes=0\n";
		is_int(aim_bundle_manifest_parse(t, strlen(t), &m), -EBADMSG, "missing version");
		ok(has(aim_error_detail(), "'version' is missing"), "message names the version");
		t = "armimmutable-bundle 1\nversion=1";
		is_int(aim_bundle_manifest_parse(t, strlen(t), &m), -EBADMSG, "no final newline");
	}
	test_manifest_exact();
	test_manifest_verity();
	/* AIM_BUNDLE_PAYLOADS_MAX + 1 payloads. */
	big = malloc(1 << 21);
	n += (size_t)sprintf(big + n, "payload_bytes=0\n");
	for (int i = 0; i <= AIM_BUNDLE_PAYLOADS_MAX; i++)
		n += (size_t)sprintf(big + n, "[payload]\nname=f%d\nkind=boot\noffset=0\nsize=0\n"
					      "sha256=" H "\n", i);
	{
		char *t = malloc(n + 128);
		struct aim_bundle_manifest *m = NULL;
		int l = sprintf(t, "armimmutable-bundle 1\nversion=1\nboard=b\nfamily=f\narch=a\n%s",
				big);
		is_int(aim_bundle_manifest_parse(t, (size_t)l, &m), -EBADMSG,
		       "too many payloads refused");
		ok(has(aim_error_detail(), "more than"), "message: more than N payloads");
		free(t);
	}
	free(big);
}

static void test_short_source(void)
{
	struct aim_bundle_meta meta = {.version = "1", .board = "b", .family = "f", .arch = "a"};
	struct aim_bundle_writer *w = NULL;
	char p[512], out[512];
	int fd, src, r;

	make_file("short", 100, 4, p, sizeof(p));
	src = open(p, O_RDONLY);
	aim_bundle_writer_new(&meta, &w);
	aim_bundle_writer_add_fd(w, "rootfs.squashfs", "rootfs", src, 0, 200);
	snprintf(out, sizeof(out), "%s/short.aimb", dir);
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
	r = aim_bundle_write(w, &sec, fd, NULL, NULL);
	is_int(r, -EBADMSG, "a source shorter than declared is refused");
	ok(has(aim_error_detail(), "ended 100 bytes early"), "message says how short");
	close(fd);
	close(src);
	aim_bundle_writer_free(w);
	meta.board = "";
	is_int(aim_bundle_writer_new(&meta, &w), -EINVAL, "empty board refused");
}

int main(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "%s/test-bundle.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	aim_sign_keygen(&pub, &sec);
	aim_sign_keygen(&other_pub, &other_sec);
	test_write_read();
	test_tamper();
	test_manifest();
	test_short_source();
	free(bundle_buf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
