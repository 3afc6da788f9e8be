// SPDX-License-Identifier: LGPL-2.1-or-later
/* The running device or an image file as the place of the slots and the slot state: the
 * core, over the back-ends of target-backend.h (target-image.c, target-device.c). */
#include "target-backend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

int aim_target_is_image(const struct aim_target *t)
{
	return t->ops->is_image;
}

char aim_target_booted_slot(const struct aim_target *t)
{
	return t->booted_slot;
}

const char *aim_target_boot_env(const struct aim_target *t, const char *key)
{
	return t->ops->boot_env ? t->ops->boot_env(t, key) : NULL;
}

/* A path on the boot partition: absolute, no empty, "." or ".." components, no '\\'. */
static int check_path(const char *path)
{
	const char *p = path;

	if (!path || path[0] != '/' || strlen(path) > 1024 || strchr(path, '\\'))
		return aim_error_set(-EINVAL, "bad boot partition path '%s'", path ? path : "");
	while (*p == '/') {
		size_t n = strcspn(++p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return aim_error_set(-EINVAL, "bad boot partition path '%s'", path);
		p += n;
	}
	return 0;
}

static int check_slot(char slot)
{
	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "no such slot '%c'", slot ? slot : '?');
	return 0;
}

static int check_writable(const struct aim_target *t)
{
	return t->readonly ? aim_error_set(-EROFS, "target opened read-only") : 0;
}

/* The detail recorded so far is copied first: the detail buffer is the destination too. */
int aim_target_error_wrap(int r, const char *fmt, ...)
{
	char old[512] = "", msg[512];
	const char *d = aim_error_detail();
	va_list ap;

	if (d)
		snprintf(old, sizeof(old), "%s", d);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return aim_error_set(r, "%s%s%s", msg, old[0] ? ": " : "", old);
}

/* ---- opening ---- */

int aim_target_open(const struct aim_target_opts *o, struct aim_target **ret)
{
	const struct aim_target_ops *ops = o && o->image ? &aim_target_image_ops
							 : &aim_target_device_ops;
	struct aim_target *t = calloc(1, ops->size);
	int r;

	if (!t)
		return -ENOMEM;
	t->ops = ops;
	t->readonly = o ? o->readonly : 0;
	r = ops->open(t, o);
	if (r < 0) {
		aim_target_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

struct aim_target *aim_target_free(struct aim_target *t)
{
	if (!t)
		return NULL;
	t->ops->free(t);
	free(t);
	return NULL;
}

/* ---- files ---- */

int aim_target_read_file(struct aim_target *t, const char *path, size_t max, char **ret,
			 size_t *ret_len)
{
	int r = check_path(path);

	return r < 0 ? r : t->ops->read_file(t, path, max, ret, ret_len);
}

int aim_target_exists(struct aim_target *t, const char *path)
{
	int r = check_path(path);

	return r < 0 ? r : t->ops->exists(t, path);
}

int aim_target_make_parents(struct aim_target *t, const char *path)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		int r;

		if (*s != '/')
			continue;
		*s = 0;
		r = aim_target_exists(t, p);
		if (r < 0)
			return r;
		if (r == 0) {
			r = t->ops->mkdir(t, p);
			if (r < 0)
				return aim_target_error_wrap(r, "cannot create %s on the boot partition",
							     p);
			aim_fault_point("boot directory created");
		}
		*s = '/';
	}
	return 0;
}

void aim_target_file_abort(struct aim_target_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	free(f->path);
	free(f);
}

int aim_target_file_begin(struct aim_target *t, const char *path, struct aim_target_file **ret)
{
	struct aim_target_file *f;
	int r = check_path(path);

	if (r < 0)
		return r;
	r = check_writable(t);
	if (r < 0)
		return r;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->t = t;
	f->fd = -EBADF;
	f->path = strdup(path);
	r = f->path ? t->ops->file_begin(f) : -ENOMEM;
	if (r < 0) {
		aim_target_file_abort(f);
		return r;
	}
	*ret = f;
	return 0;
}

int aim_target_file_write_fd(struct aim_target_file *f, const void *buf, size_t len)
{
	int r = aim_write_full(f->fd, buf, len);

	if (r < 0)
		return aim_error_set(r, "cannot write %s: %s", f->path, strerror(-r));
	return 0;
}

int aim_target_file_write(struct aim_target_file *f, const void *buf, size_t len)
{
	return f->t->ops->file_write(f, buf, len);
}

int aim_target_file_commit(struct aim_target_file *f)
{
	int r = f->t->ops->file_commit(f);

	aim_target_file_abort(f);
	return r;
}

int aim_target_write_file(struct aim_target *t, const char *path, const void *buf, size_t len)
{
	struct aim_target_file *f = NULL;
	int r = aim_target_file_begin(t, path, &f);

	if (r < 0)
		return r;
	r = aim_target_file_write(f, buf, len);
	if (r < 0) {
		aim_target_file_abort(f);
		return r;
	}
	return aim_target_file_commit(f);
}

int aim_target_remove_file(struct aim_target *t, const char *path)
{
	int r = check_path(path);

	if (r < 0)
		return r;
	r = check_writable(t);
	if (r < 0)
		return r;
	r = aim_target_exists(t, path);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	return t->ops->remove(t, path);
}

/* ---- listing ---- */

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int aim_target_list(struct aim_target *t, const char *dir, char ***ret, size_t *ret_n)
{
	struct aim_strv s = {0};
	int r = check_path(dir);

	if (r < 0)
		return r;
	r = aim_target_exists(t, dir);
	if (r > 0)
		r = t->ops->list(t, dir, &s);
	if (r == 0 && !s.v) {
		s.v = calloc(1, sizeof(char *));
		if (!s.v)
			r = -ENOMEM;
	}
	if (r < 0) {
		aim_strv_free(s.v);
		return r;
	}
	qsort(s.v, s.n, sizeof(char *), cmpstr);
	*ret = s.v;
	if (ret_n)
		*ret_n = s.n;
	return 0;
}

static int remove_empty_dirs(struct aim_target *t, const char *dir, char **files)
{
	/* Directories of the removed files, deepest first: try each parent chain. */
	for (size_t i = 0; files && files[i]; i++) {
		_cleanup_free_ char *rel = strdup(files[i]);
		char *slash;

		if (!rel)
			return -ENOMEM;
		while ((slash = strrchr(rel, '/'))) {
			_cleanup_free_ char *p = NULL;
			char **left = NULL;
			size_t n = 0;
			int r;

			*slash = 0;
			if (asprintf(&p, "%s/%s", dir, rel) < 0)
				return -ENOMEM;
			r = aim_target_list(t, p, &left, &n);
			aim_strv_free(left);
			if (r < 0 || n > 0 || aim_target_exists(t, p) <= 0)
				break;
			r = t->ops->rmdir(t, p);
			/* The list holds files only: a directory whose files are gone may still
			 * hold empty subdirectories that a later file's walk removes. */
			if (r == -ENOTEMPTY || r == -EEXIST)
				break;
			if (r < 0)
				return r;
			aim_fault_point("boot directory removed");
		}
	}
	return 0;
}

int aim_target_prune_slot(struct aim_target *t, char slot, const char *const *keep)
{
	char dir[16];
	char **files = NULL;
	struct aim_strv gone = {0};
	int r, removed = 0;

	r = check_slot(slot);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "/slot-%c", slot);
	r = aim_target_list(t, dir, &files, NULL);
	if (r < 0)
		return r;
	/* Nothing to keep: the whole directory at once where the back-end can (a slot of the
	 * sample has 250 boot files, most of them device trees). */
	if ((!keep || !keep[0]) && t->ops->rmtree && files[0]) {
		while (files[removed])
			removed++;
		r = check_writable(t);
		if (r == 0)
			r = t->ops->rmtree(t, dir);
		aim_strv_free(files);
		if (r < 0)
			return r;
		aim_fault_point("boot directory removed");
		return removed;
	}
	for (size_t i = 0; files[i] && r >= 0; i++) {
		int kept = 0;
		_cleanup_free_ char *p = NULL;

		for (size_t k = 0; keep && keep[k]; k++)
			if (!strcmp(keep[k], files[i]))
				kept = 1;
		if (kept)
			continue;
		if (asprintf(&p, "%s/%s", dir, files[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = aim_target_remove_file(t, p);
		if (r == 0) {
			removed++;
			r = aim_strv_add(&gone, files[i], strlen(files[i]));
		}
	}
	if (r >= 0)
		r = remove_empty_dirs(t, dir, gone.v);
	aim_strv_free(gone.v);
	aim_strv_free(files);
	return r < 0 ? r : removed;
}

/* ---- slot state ---- */

int aim_target_state_load(struct aim_target *t, struct aim_slotstate *st)
{
	int copy = 0, r = t->ops->state_load(t, st, &copy);

	if (r == -ENOENT)
		return aim_error_set(r, "no valid slot state on the boot partition (%s)",
				     st->reason);
	if (r < 0)
		return aim_error_set(r, "cannot read the slot state: %s", strerror(-r));
	t->last_copy = copy;
	return 0;
}

int aim_target_state_copy(const struct aim_target *t)
{
	return t->last_copy;
}

int aim_target_state_store(struct aim_target *t, const struct aim_slotstate *st)
{
	int copy = t->last_copy ? 3 - t->last_copy : 2;
	int r = check_writable(t);

	if (r < 0)
		return r;
	r = t->ops->state_store(t, st, copy);
	if (r < 0)
		return r;
	t->last_copy = copy;
	return 0;
}

/* ---- slot partitions ---- */

int aim_target_slot_dev(struct aim_target *t, char slot, const char **ret_path,
			uint64_t *ret_offset, uint64_t *ret_size)
{
	int r = check_slot(slot);

	return r < 0 ? r : t->ops->slot_dev(t, slot - 'a', ret_path, ret_offset, ret_size);
}

/* ---- slot.env ---- */

int aim_target_slot_info_read(struct aim_target *t, char slot, struct aim_slot_info *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[32];
	size_t len = 0;
	int r;

	r = check_slot(slot);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV, slot);
	r = aim_target_read_file(t, path, 16384, &buf, &len);
	if (r < 0)
		return r;
	r = aim_slot_info_parse(buf, len, ret);
	if (r < 0)
		return r;
	/* What install adds to a signed slot.env it must not change (docs/verity.md). */
	free(buf);
	buf = NULL;
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_INSTALL_ENV, slot);
	if (aim_target_read_file(t, path, 16384, &buf, &len) == 0) {
		struct aim_slot_info x;
		if (aim_slot_info_parse(buf, len, &x) == 0) {
			if (x.installed)
				ret->installed = x.installed;
			if (x.bundle[0])
				memcpy(ret->bundle, x.bundle, sizeof(ret->bundle));
		}
	}
	return 0;
}

int aim_target_slot_env_install(struct aim_target *t, char slot, const char *env, size_t len,
				const char *sig, size_t siglen, int64_t installed,
				const char *bundle)
{
	_cleanup_free_ char *txt = NULL;
	char path[48];
	int r;

	r = check_slot(slot);
	if (r < 0)
		return r;
	if (sig) {
		snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV_SIG, slot);
		r = aim_target_write_file(t, path, sig, siglen);
		if (r < 0)
			return r;
	}
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV, slot);
	r = aim_target_write_file(t, path, env, len);
	if (r < 0)
		return r;
	r = asprintf(&txt, "installed=%" PRId64 "\nbundle=%s\n", installed, bundle);
	if (r < 0)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_INSTALL_ENV, slot);
	return aim_target_write_file(t, path, txt, (size_t)r);
}

int aim_target_slot_info_write(struct aim_target *t, char slot, const struct aim_slot_info *si)
{
	_cleanup_free_ char *txt = NULL;
	char path[32];
	int r;

	r = check_slot(slot);
	if (r < 0)
		return r;
	r = aim_slot_info_format(si, &txt);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV, slot);
	return aim_target_write_file(t, path, txt, (size_t)r);
}
