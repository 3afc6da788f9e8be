// SPDX-License-Identifier: LGPL-2.1-or-later
/* An image file as a target: the partition table gives p1..p3, reads and listings of the
 * boot partition go through lib/fat, writes through lib/mtools; rootless (see target.h,
 * target-backend.h). */
#include "target-backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/slotstate_io.h"
#include "fat.h"
#include "mtools.h"
#include "base/ptable.h"
#include "rpi.h"

struct image_target {
	struct aim_target t;
	char *image;
	int fd;
	uint64_t boot_off, boot_size;
	uint64_t slot_off[2], slot_size[2];
	/* Raspberry Pi images (rpi.h): partitions 5 and 6, slot a's and b's boot files */
	int rpi;
	uint64_t rpi_off[2], rpi_size[2];
};

static struct image_target *img(struct aim_target *t)
{
	return (struct image_target *)t;
}

/* A path for mtools: "::/slot-a/Image". */
static char *mpath(const char *path)
{
	char *s = NULL;

	if (asprintf(&s, "::%s", path) < 0)
		return NULL;
	return s;
}

static int mtools(struct aim_target *t, const char *cmd, const char *a1, const char *a2,
		  const char *a3)
{
	return aim_mtools_l(img(t)->image, img(t)->boot_off, cmd, a1, a2, a3, NULL);
}

/* Where a path of the boot partition lies: on a Raspberry Pi image a slot's boot files
 * ("/slot-b/vmlinuz") are on its own partition ("/vmlinuz" on partition 6), all else on
 * partition 1. Returns the path on that partition. */
static const char *where(struct image_target *m, const char *path, uint64_t *off,
			 uint64_t *size)
{
	*off = m->boot_off;
	*size = m->boot_size;
	if (m->rpi && !strncmp(path, "/slot-", 6) && (path[6] == 'a' || path[6] == 'b') &&
	    path[7] == '/' && aim_rpi_on_slot_part(path + 8)) {
		*off = m->rpi_off[path[6] - 'a'];
		*size = m->rpi_size[path[6] - 'a'];
		return path + 7;
	}
	return path;
}

/* mtools on the partition of path, with "::<path there>" as the last argument. */
static int mtools_on(struct aim_target *t, const char *path, const char *cmd, const char *a1,
		     const char *a2)
{
	uint64_t off, size;
	const char *p = where(img(t), path, &off, &size);
	_cleanup_free_ char *mp = mpath(p);

	if (!mp)
		return -ENOMEM;
	return aim_mtools_l(img(t)->image, off, cmd, a1 ? a1 : mp, a1 ? (a2 ? a2 : mp) : NULL,
			    a1 && a2 ? mp : NULL, NULL);
}

static int image_open(struct aim_target *t, const struct aim_target_opts *o)
{
	struct image_target *m = img(t);
	_cleanup_free_ struct aim_ptable *pt = calloc(1, sizeof(*pt));
	const char *image = o->image;
	struct stat sb;
	int r;

	m->fd = -EBADF;
	if (!pt)
		return -ENOMEM;
	m->image = strdup(image);
	if (!m->image)
		return -ENOMEM;
	m->fd = open(image, (t->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (m->fd < 0)
		return aim_error_set(-errno, "cannot open %s: %s", image, strerror(errno));
	if (fstat(m->fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))
		return aim_error_set(-EINVAL, "%s is not a file", image);
	r = aim_ptable_read(m->fd, (uint64_t)sb.st_size, pt);
	if (r < 0)
		return aim_target_error_wrap(r, "%s: no usable partition table", image);
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];

		if (p->num == 1) {
			m->boot_off = p->start;
			m->boot_size = p->size;
		} else if (p->num == 2 || p->num == 3) {
			m->slot_off[p->num - 2] = p->start;
			m->slot_size[p->num - 2] = p->size;
		} else if (p->num == AIM_RPI_PART_A || p->num == AIM_RPI_PART_B) {
			m->rpi_off[p->num - AIM_RPI_PART_A] = p->start;
			m->rpi_size[p->num - AIM_RPI_PART_A] = p->size;
		}
	}
	if (!m->boot_size || !m->slot_size[0] || !m->slot_size[1])
		return aim_error_set(-ENODEV,
				     "%s is not a converted image: it lacks partition %s", image,
				     !m->boot_size ? "1 (boot)" : !m->slot_size[0] ? "2 (slot a)"
										: "3 (slot b)");
	r = aim_fat_exists(m->fd, m->boot_off, m->boot_size, "/");
	if (r < 0)
		return aim_error_set(-EBADMSG, "%s: partition 1 is not a FAT file system", image);
	/* A Raspberry Pi image: autoboot.txt on partition 1, FAT partitions 5 and 6. */
	if (aim_fat_exists(m->fd, m->boot_off, m->boot_size, AIM_RPI_AUTOBOOT) > 0) {
		for (int i = 0; i < 2; i++)
			if (!m->rpi_size[i] ||
			    aim_fat_exists(m->fd, m->rpi_off[i], m->rpi_size[i], "/") < 0)
				return aim_error_set(-ENODEV, "%s has autoboot.txt but partition %d "
						     "(slot %c's boot files) is missing or not FAT",
						     image, AIM_RPI_PART_A + i, 'a' + i);
		m->rpi = 1;
	}
	return 0;
}

static void image_free(struct aim_target *t)
{
	struct image_target *m = img(t);

	if (m->fd >= 0)
		close(m->fd);
	free(m->image);
}

/* ---- files ---- */

static int image_read_file(struct aim_target *t, const char *path, size_t max, char **ret,
			   size_t *ret_len)
{
	struct image_target *m = img(t);
	uint64_t off, size;
	const char *p = where(m, path, &off, &size);
	int r = aim_fat_read(m->fd, off, size, p, max, ret, ret_len);

	if (r < 0 && r != -ENOENT)
		return aim_target_error_wrap(r, "cannot read %s from the boot partition of %s",
					     path, m->image);
	return r;
}

static int image_exists(struct aim_target *t, const char *path)
{
	uint64_t off, size;
	const char *p = where(img(t), path, &off, &size);

	return aim_fat_exists(img(t)->fd, off, size, p);
}

static int image_mkdir(struct aim_target *t, const char *path)
{
	return mtools_on(t, path, "mmd", NULL, NULL);
}

static int image_file_begin(struct aim_target_file *f)
{
	/* Not CLOEXEC: mcopy reads it as /proc/self/fd/N. */
	f->fd = memfd_create("aim-boot-file", 0);
	return f->fd < 0 ? -errno : 0;
}

/* On an image the file goes to its name in one mcopy, not to a temp name renamed by mmove:
 * mmove keeps the temp entry's case byte (offset 12), so a lower-case 8.3 name such as
 * boot.scr, stored without a long name, came out as BOOT.SCR. The rename bought nothing
 * here: install writes only into a slot marked bad, reset writes an empty flag. */
static int image_file_commit(struct aim_target_file *f)
{
	_cleanup_free_ char *src = NULL;
	int r;

	r = aim_target_make_parents(f->t, f->path);
	if (r < 0)
		return r;
	if (asprintf(&src, "/proc/self/fd/%d", f->fd) < 0)
		return -ENOMEM;
	r = mtools_on(f->t, f->path, "mcopy", "-o", src);
	if (r < 0)
		return r;
	aim_fault_point("boot file written (mcopy)");
	return 0;
}

static int image_remove(struct aim_target *t, const char *path)
{
	int r;

	r = mtools_on(t, path, "mdel", NULL, NULL);
	if (r < 0)
		return r;
	aim_fault_point("boot file removed (mdel)");
	return 0;
}

static int image_rmdir(struct aim_target *t, const char *path)
{
	return mtools_on(t, path, "mdeltree", NULL, NULL);
}

static int rpi_slot_dir(struct image_target *m, const char *dir);
static int rpi_clear(struct image_target *m, int idx);

static int image_rmtree(struct aim_target *t, const char *path)
{
	struct image_target *m = img(t);
	int r;

	if (!rpi_slot_dir(m, path))
		return image_rmdir(t, path);
	r = rpi_clear(m, path[6] - 'a');
	if (r == 0 && aim_fat_exists(m->fd, m->boot_off, m->boot_size, path) > 0)
		r = image_rmdir(t, path);
	return r;
}

/* The top-level entries of a Raspberry Pi slot's partition, as "::/NAME", directories and
 * files apart. */
struct tops {
	struct aim_strv dirs, files;
};

static int top_entry(const struct aim_fat_entry *e, void *userdata)
{
	struct tops *tp = userdata;
	_cleanup_free_ char *p = NULL;

	if (asprintf(&p, "::/%s", e->name) < 0) {
		p = NULL;
		return -ENOMEM;
	}
	return aim_strv_add(e->attr & AIM_FAT_ATTR_DIR ? &tp->dirs : &tp->files, p, strlen(p));
}

/* Everything on the slot's partition: one mdel for the files, one mdeltree for the
 * directories. */
static int rpi_clear(struct image_target *m, int idx)
{
	struct tops tp = {0};
	int r = aim_fat_list(m->fd, m->rpi_off[idx], m->rpi_size[idx], "/", top_entry, &tp);

	if (r == 0 && tp.files.n)
		r = aim_mtools(m->image, m->rpi_off[idx], NULL, "mdel",
			       (const char *const *)tp.files.v);
	if (r == 0 && tp.files.n)
		aim_fault_point("slot boot files removed (mdel)");
	if (r == 0 && tp.dirs.n)
		r = aim_mtools(m->image, m->rpi_off[idx], NULL, "mdeltree",
			       (const char *const *)tp.dirs.v);
	aim_strv_free(tp.files.v);
	aim_strv_free(tp.dirs.v);
	return r;
}

struct walk {
	struct image_target *m;
	uint64_t off, size; /* the partition listed */
	int only_p1;        /* a Raspberry Pi slot's directory on partition 1: its slot.env */
	struct aim_strv *s;
	const char *top, *rel; /* the listed directory; the subdirectory of it walked ("") */
	int depth;
};

static int walk_dir(struct walk *w);

/* Regular files and subdirectories; hidden and system entries left out, as mdir (without
 * -a) left them out when it listed image slots. */
static int walk_entry(const struct aim_fat_entry *e, void *userdata)
{
	struct walk *w = userdata, sub = *w;
	_cleanup_free_ char *rel = NULL;

	if (e->attr & (AIM_FAT_ATTR_HIDDEN | AIM_FAT_ATTR_SYSTEM))
		return 0;
	if (w->only_p1 && !w->rel[0] && aim_rpi_on_slot_part(e->name))
		return 0;
	if (asprintf(&rel, "%s%s%s", w->rel, w->rel[0] ? "/" : "", e->name) < 0) {
		rel = NULL;
		return -ENOMEM;
	}
	if (!(e->attr & AIM_FAT_ATTR_DIR))
		return aim_strv_add(w->s, rel, strlen(rel));
	sub.rel = rel;
	sub.depth++;
	return walk_dir(&sub);
}

static int walk_dir(struct walk *w)
{
	_cleanup_free_ char *path = NULL;

	if (w->depth > 16)
		return -ELOOP;
	if (asprintf(&path, "%s%s%s", w->top, w->rel[0] ? "/" : "", w->rel) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	return aim_fat_list(w->m->fd, w->off, w->size, path, walk_entry, w);
}

/* A Raspberry Pi slot directory ("/slot-a"): its own partition's files, and its slot.env
 * on partition 1. */
static int rpi_slot_dir(struct image_target *m, const char *dir)
{
	return m->rpi && !strncmp(dir, "/slot-", 6) && (dir[6] == 'a' || dir[6] == 'b') &&
	       !dir[7];
}

static int image_list(struct aim_target *t, const char *dir, struct aim_strv *s)
{
	struct image_target *m = img(t);
	struct walk w = {m, 0, 0, 0, s, dir, "", 0};
	int r;

	if (rpi_slot_dir(m, dir)) {
		struct walk p = {m, m->rpi_off[dir[6] - 'a'], m->rpi_size[dir[6] - 'a'], 0, s, "/",
				 "", 0};
		r = walk_dir(&p);
		if (r < 0)
			return aim_target_error_wrap(r, "cannot list partition %d of %s",
						     AIM_RPI_PART(dir[6]), m->image);
		w.only_p1 = 1;
	}
	w.top = where(m, dir, &w.off, &w.size);
	r = walk_dir(&w);

	/* dir exists: -ENOTDIR says it is a file, which lists as empty (as through mdir). */
	if (r == -ENOTDIR)
		return 0;
	if (r < 0 && r != -ENOMEM)
		return aim_target_error_wrap(r, "cannot list %s on the boot partition of %s", dir,
					     img(t)->image);
	return r;
}

/* ---- slot state, slot partitions ---- */

static int image_state_load(struct aim_target *t, struct aim_slotstate *st, int *ret_copy)
{
	_cleanup_free_ char *b1 = NULL, *b2 = NULL, *bc = NULL;
	size_t n1 = 0, n2 = 0, nb = 0;
	int r, r1, r2;

	/* A copy that cannot be read (a directory in its place, a bad cluster chain) is an
	 * invalid copy: the other one decides, the next store rewrites it. */
	r1 = aim_target_read_file(t, "/" AIM_STATE_FILE_1, AIM_SLOTSTATE_MAX + 1, &b1, &n1);
	r2 = aim_target_read_file(t, "/" AIM_STATE_FILE_2, AIM_SLOTSTATE_MAX + 1, &b2, &n2);
	if (r1 == -ENOMEM || r2 == -ENOMEM)
		return -ENOMEM;
	r = aim_slotstate_pick(b1, b1 ? n1 : 0, b2, b2 ? n2 : 0, st, ret_copy);
	if (r < 0 && r1 < 0 && r1 != -ENOENT && r1 != -EFBIG)
		r = r1;
	else if (r < 0 && r2 < 0 && r2 != -ENOENT && r2 != -EFBIG)
		r = r2;
	if (aim_target_read_file(t, "/" AIM_BOOTCOUNT_FILE, AIM_GRUBENV_SIZE, &bc, &nb) == 0) {
		if (r == 0)
			(void)aim_slotstate_apply_bootcount(bc, nb, st);
		else if (aim_slotstate_is_grubenv(bc, nb))
			st->grubenv = 1; /* as aim_slotstate_load: a fresh state keeps it */
	}
	return r;
}

static int fat_is_dir(struct image_target *m, const char *name)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/%s", name);
	return aim_fat_read(m->fd, m->boot_off, m->boot_size, path, AIM_SLOTSTATE_MAX + 1, &buf,
			    NULL) == -EISDIR;
}

static int image_state_store(struct aim_target *t, const struct aim_slotstate *st, int copy)
{
	char buf[AIM_SLOTSTATE_MAX], src[64], dst[32];
	_cleanup_close_ int fd = -EBADF;
	int len = aim_slotstate_format(st, buf), r;

	if (len < 0)
		return aim_error_set(len, "the slot state does not validate");
	fd = memfd_create("aim-state", 0);
	if (fd < 0)
		return -errno;
	r = aim_write_full(fd, buf, (size_t)len);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	snprintf(dst, sizeof(dst), "::state-%d.txt", copy);
	if (fat_is_dir(img(t), dst + 2)) {
		/* A directory in the copy's place (it read as invalid): mcopy would put the
		 * file inside it. */
		r = mtools(t, "mdeltree", dst, NULL, NULL);
		if (r < 0)
			return aim_target_error_wrap(r, "cannot remove the directory state-%d.txt",
						     copy);
	}
	r = mtools(t, "mcopy", "-o", src, dst);
	if (r < 0)
		return aim_target_error_wrap(r, "cannot write state-%d.txt", copy);
	aim_fault_point("state written (mcopy)");
	return 0;
}

static int image_slot_dev(struct aim_target *t, int idx, const char **ret_path,
			  uint64_t *ret_offset, uint64_t *ret_size)
{
	*ret_path = img(t)->image;
	*ret_offset = img(t)->slot_off[idx];
	*ret_size = img(t)->slot_size[idx];
	return 0;
}

const struct aim_target_ops aim_target_image_ops = {
	.size = sizeof(struct image_target),
	.is_image = 1,
	.open = image_open,
	.free = image_free,
	.boot_env = NULL,
	.read_file = image_read_file,
	.exists = image_exists,
	.mkdir = image_mkdir,
	.file_begin = image_file_begin,
	.file_write = aim_target_file_write_fd,
	.file_commit = image_file_commit,
	.remove = image_remove,
	.rmdir = image_rmdir,
	.rmtree = image_rmtree, /* mdeltree: the tree in one run */
	.list = image_list,
	.state_load = image_state_load,
	.state_store = image_state_store,
	.slot_dev = image_slot_dev,
};
