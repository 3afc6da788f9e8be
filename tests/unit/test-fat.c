// SPDX-License-Identifier: LGPL-2.1-or-later
/* lib/fat: lookup, read and directory listing on FAT12, FAT16 and FAT32 made by mkfs.vfat
 * and mtools: long names (several fragments, UTF-8), 8.3 names with their lower-case
 * flags, attributes, ".." and "." left out, absent paths and files as directories; a long
 * name whose checksum does not match its short entry gives way to the 8.3 name. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fat.h"
#include "tap.h"

static char dir[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

#define LONG_NAME "a-very-long-file-name-of-more-than-26-characters.dtb"
#define UTF8_NAME "caf\xc3\xa9-\xe2\x82\xac-board.dtb" /* café-€-board.dtb */

struct listing {
	char text[4096]; /* "name:flags " per entry, flags d (dir) h (hidden) s (system) */
	int n;
	int stop_at; /* cb returns 7 at this entry (1-based), 0: never */
};

static int collect(const struct aim_fat_entry *e, void *userdata)
{
	struct listing *l = userdata;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s:%s%s%s%u ", e->name,
		 e->attr & AIM_FAT_ATTR_DIR ? "d" : "", e->attr & AIM_FAT_ATTR_HIDDEN ? "h" : "",
		 e->attr & AIM_FAT_ATTR_SYSTEM ? "s" : "", e->size);
	return ++l->n == l->stop_at ? 7 : 0;
}

static int cmp_words(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The words of a listing, sorted (on-disk order is mtools' business). */
static void sorted(const char *text, char *out, size_t n)
{
	char copy[4096], *w[64], *save = NULL;
	size_t k = 0, o = 0;

	snprintf(copy, sizeof(copy), "%s", text);
	for (char *t = strtok_r(copy, " ", &save); t && k < 64; t = strtok_r(NULL, " ", &save))
		w[k++] = t;
	qsort(w, k, sizeof(w[0]), cmp_words);
	out[0] = 0;
	for (size_t i = 0; i < k && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s ", w[i]);
}

static void test_fs(const char *kind, const char *mkfs, int kib)
{
	char img[300], want[2048], got[4096], *buf = NULL;
	struct listing l = {.n = 0};
	size_t len = 0;
	int fd, r;

	snprintf(img, sizeof(img), "%s/%s.img", dir, kind);
	r = sh("cd '%s' && rm -f '%s' && %s '%s' %d >/dev/null 2>&1 && export MTOOLS_SKIP_CHECK=1 && "
	       "printf 'scr' > boot.scr && printf 'kernel!' > Image && printf 'l' > '" LONG_NAME
	       "' && printf 'u8' > '" UTF8_NAME "' && printf 'ab' > lower.TXT && "
	       "printf 'R' > README.TXT && printf 'h' > hid && printf 's' > sys && "
	       "mmd -i '%s' ::slot-a ::slot-a/dtb ::slot-a/empty && "
	       "mcopy -i '%s' boot.scr Image '" LONG_NAME "' '" UTF8_NAME "' lower.TXT README.TXT "
	       "hid sys ::slot-a/ && mcopy -i '%s' Image ::slot-a/dtb/ && "
	       "mattrib -i '%s' +h ::slot-a/hid && mattrib -i '%s' +s ::slot-a/sys",
	       dir, img, mkfs, img, kib, img, img, img, img, img);
	if (!ok(r == 0, "%s: image made (mkfs.vfat, mtools)", kind))
		return;
	fd = open(img, O_RDONLY | O_CLOEXEC);
	if (!ok(fd >= 0, "%s: open", kind))
		return;
	{
		off_t size = lseek(fd, 0, SEEK_END);

		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/slot-a", collect, &l), 0,
		       "%s: /slot-a lists", kind);
		sorted(l.text, got, sizeof(got));
		snprintf(want, sizeof(want), "%s", "Image:7 README.TXT:1 " LONG_NAME ":1 "
			 "boot.scr:3 " UTF8_NAME ":2 dtb:d0 empty:d0 hid:h1 lower.TXT:2 sys:s1 ");
		is_str(got, want, "%s: names (long, UTF-8, 8.3 with case flags), flags, sizes", kind);
		memset(&l, 0, sizeof(l));
		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/SLOT-A/DTB", collect, &l), 0,
		       "%s: a subdirectory lists (any case)", kind);
		is_str(l.text, "Image:7 ", "%s: its one file, no '.' or '..'", kind);
		memset(&l, 0, sizeof(l));
		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/slot-a/empty", collect, &l), 0,
		       "%s: an empty directory lists", kind);
		is_int(l.n, 0, "%s: nothing in it", kind);
		memset(&l, 0, sizeof(l));
		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/", collect, &l), 0,
		       "%s: the root lists", kind);
		is_str(l.text, "slot-a:d0 ", "%s: the root holds slot-a", kind);
		memset(&l, 0, sizeof(l));
		l.stop_at = 2;
		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/slot-a", collect, &l), 7,
		       "%s: a callback's result ends the walk", kind);
		is_int(l.n, 2, "%s: after two entries", kind);
		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/nope", collect, &l), -ENOENT,
		       "%s: absent directory: -ENOENT", kind);
		is_int(aim_fat_list(fd, 0, (uint64_t)size, "/slot-a/Image", collect, &l),
		       -ENOTDIR, "%s: a file: -ENOTDIR", kind);
		is_int(aim_fat_read(fd, 0, (uint64_t)size, "/slot-a/" UTF8_NAME, 100, &buf, &len),
		       0, "%s: the UTF-8 long name reads", kind);
		is_str(buf, "u8", "%s: its bytes", kind);
		free(buf);
		buf = NULL;
		is_int(aim_fat_read(fd, 0, (uint64_t)size, "/slot-a/" LONG_NAME, 100, &buf, &len),
		       0, "%s: a long name of three fragments reads", kind);
		free(buf);
		buf = NULL;
		is_int(aim_fat_exists(fd, 0, (uint64_t)size, "/slot-a/BOOT.SCR"), 1,
		       "%s: 8.3 lookup without case", kind);
	}
	close(fd);
}

/* A long-name fragment whose checksum does not match: the 8.3 name is the name. */
static void test_bad_checksum(void)
{
	char img[300], *data = NULL, *hit;
	struct listing l = {.n = 0};
	size_t size = 0;
	FILE *f;
	int fd;

	snprintf(img, sizeof(img), "%s/fat16.img", dir);
	f = fopen(img, "r+b");
	if (!ok(f != NULL, "checksum: open the FAT16 image"))
		return;
	fseek(f, 0, SEEK_END);
	size = (size_t)ftell(f);
	data = malloc(size);
	rewind(f);
	if (data && fread(data, 1, size, f) == size &&
	    (hit = memmem(data, size, "README  TXT", 11)) != NULL) {
		/* README.TXT has no long name; A-VERY~1DTB has: break the checksum of its
		 * first (last in order) fragment */
		hit = memmem(data, size, "A-VERY~1DTB", 11);
		if (hit) {
			hit[-32 + 13] ^= 0x5a;
			fseek(f, hit - data - 32 + 13, SEEK_SET);
			fputc(hit[-32 + 13], f);
		}
	} else {
		hit = NULL;
	}
	fclose(f);
	free(data);
	if (!ok(hit != NULL, "checksum: the short entry found and its long name broken"))
		return;
	fd = open(img, O_RDONLY | O_CLOEXEC);
	is_int(aim_fat_list(fd, 0, size, "/slot-a", collect, &l), 0, "checksum: lists");
	ok(strstr(l.text, "A-VERY~1.DTB:1 ") && !strstr(l.text, LONG_NAME),
	   "checksum: the 8.3 name stands in for the long one");
	is_int(aim_fat_exists(fd, 0, size, "/slot-a/" LONG_NAME), 0,
	       "checksum: the long name no longer finds it");
	is_int(aim_fat_exists(fd, 0, size, "/slot-a/a-very~1.dtb"), 1,
	       "checksum: the 8.3 name does");
	close(fd);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-fat-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_fs("fat12", "mkfs.vfat -F 12 -C", 4096);
	test_fs("fat16", "mkfs.vfat -F 16 -C", 32768);
	test_fs("fat32", "mkfs.vfat -F 32 -C", 40960);
	test_bad_checksum();
	sh("rm -rf '%s'", dir);
	return done_testing();
}
