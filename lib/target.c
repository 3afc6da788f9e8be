// SPDX-License-Identifier: LGPL-2.1-or-later
/* The running device or an image file as the place of the slots and the slot state. */
#include "target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
/* The device build of the CLI links statically and Debian has no libmount.a: it sets
 * AIM_WITH_LIBMOUNT=0 and mounts with mount(2) (the same call libmount makes here, with
 * helpers and mtab disabled). */
#ifndef AIM_WITH_LIBMOUNT
#define AIM_WITH_LIBMOUNT 1
#endif
#if AIM_WITH_LIBMOUNT
#include <libmount.h>
#endif
#include <limits.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/slotstate_io.h"
#include "fat.h"
#include "base/ptable.h"
#include "base/bootenv.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"

#define BOOT_ENV_MAX (64 * 1024)
#define MAX_ENV 64
#define TMP_SUFFIX ".aim-tmp"

extern char **environ;

struct aim_target {
	int is_image;
	int readonly;
	int last_copy; /* copy the last load returned (1/2), 0: none */
	/* image */
	char *image;
	int fd;
	uint64_t boot_off, boot_size;
	uint64_t slot_off[2], slot_size[2];
	char *where; /* "IMG@@OFFSET" for mtools */
	/* device */
	char *run_dir, *sysfs, *dev_dir;
	char *env_text;
	const char *env_key[MAX_ENV], *env_val[MAX_ENV];
	int nenv;
	char slot;
	char *mnt;
	int mounted;
	char *disk;
	char *slot_path[2];
};

struct aim_target_file {
	struct aim_target *t;
	char *path;
	int fd;       /* device: the temp file on the mount; image: a memfd */
	char *tmp;    /* device: host path of the temp file */
};

int aim_target_is_image(const struct aim_target *t)
{
	return t->is_image;
}

char aim_target_booted_slot(const struct aim_target *t)
{
	return t->is_image ? 0 : t->slot;
}

const char *aim_target_boot_env(const struct aim_target *t, const char *key)
{
	for (int i = 0; i < t->nenv; i++)
		if (!strcmp(t->env_key[i], key))
			return t->env_val[i];
	return NULL;
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

/* Sets "msg: <the detail recorded so far>" (copied first: the detail buffer is the
 * destination too). */
__attribute__((format(printf, 2, 3))) static int with_detail(int r, const char *fmt, ...)
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

/* ---- helper programs (mtools) ---- */

static const char *const mtools_env[] = {"MTOOLS_SKIP_CHECK=1", NULL};

/* Runs argv with stdout and stderr into memfds. Returns the exit status (>= 0) or -errno;
 * *ret_out gets stdout (NUL-terminated) when not NULL, *ret_err the first line of stderr. */
static int run(const char *const argv[], char **ret_out, char *err, size_t errsz)
{
	_cleanup_close_ int ofd = memfd_create("aim-out", MFD_CLOEXEC);
	_cleanup_close_ int efd = memfd_create("aim-err", MFD_CLOEXEC);
	_cleanup_free_ char **envp = NULL;
	posix_spawn_file_actions_t fa;
	size_t n = 0;
	int status, r;
	pid_t pid;

	if (ofd < 0 || efd < 0)
		return -errno;
	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(char *));
	if (!envp)
		return -ENOMEM;
	envp[0] = (char *)mtools_env[0];
	memcpy(envp + 1, environ, n * sizeof(char *));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ofd, 1);
	posix_spawn_file_actions_adddup2(&fa, efd, 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return aim_error_set(-r, "cannot run %s: %s (is mtools installed?)", argv[0],
				     strerror(r));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (err && errsz) {
		ssize_t got = pread(efd, err, errsz - 1, 0);

		err[got > 0 ? got : 0] = 0;
		err[strcspn(err, "\n")] = 0;
	}
	if (ret_out) {
		struct stat sb;
		char *out;

		if (fstat(ofd, &sb) < 0)
			return -errno;
		out = malloc((size_t)sb.st_size + 1);
		if (!out)
			return -ENOMEM;
		r = sb.st_size ? aim_pread_full(ofd, out, (size_t)sb.st_size, 0) : 0;
		if (r < 0) {
			free(out);
			return r;
		}
		out[sb.st_size] = 0;
		*ret_out = out;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs an mtools command that must succeed. */
static int mtool(const char *const argv[])
{
	char err[256];
	int r = run(argv, NULL, err, sizeof(err));

	if (r < 0)
		return r;
	if (r != 0)
		return aim_error_set(-EIO, "%s failed (exit status %d)%s%s", argv[0], r,
				     err[0] ? ": " : "", err);
	return 0;
}

static char *mpath(const char *path)
{
	char *s = NULL;

	if (asprintf(&s, "::%s", path) < 0)
		return NULL;
	return s;
}

/* ---- opening ---- */

static int parse_boot_env(struct aim_target *t)
{
	t->nenv = aim_bootenv_parse(t->env_text, t->env_key, t->env_val, MAX_ENV);
	return 0;
}

static int simple_name(const char *s)
{
	return s && s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < 64;
}

static int open_image(struct aim_target *t, const char *image)
{
	_cleanup_free_ struct aim_ptable *pt = calloc(1, sizeof(*pt));
	struct stat sb;
	int r;

	if (!pt)
		return -ENOMEM;
	t->image = strdup(image);
	if (!t->image)
		return -ENOMEM;
	t->fd = open(image, (t->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (t->fd < 0)
		return aim_error_set(-errno, "cannot open %s: %s", image, strerror(errno));
	if (fstat(t->fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))
		return aim_error_set(-EINVAL, "%s is not a file", image);
	r = aim_ptable_read(t->fd, (uint64_t)sb.st_size, pt);
	if (r < 0)
		return with_detail(r, "%s: no usable partition table", image);
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];

		if (p->num == 1) {
			t->boot_off = p->start;
			t->boot_size = p->size;
		} else if (p->num == 2 || p->num == 3) {
			t->slot_off[p->num - 2] = p->start;
			t->slot_size[p->num - 2] = p->size;
		}
	}
	if (!t->boot_size || !t->slot_size[0] || !t->slot_size[1])
		return aim_error_set(-ENODEV,
				     "%s is not a converted image: it lacks partition %s", image,
				     !t->boot_size ? "1 (boot)" : !t->slot_size[0] ? "2 (slot a)"
										: "3 (slot b)");
	r = aim_fat_exists(t->fd, t->boot_off, t->boot_size, "/");
	if (r < 0)
		return aim_error_set(-EBADMSG, "%s: partition 1 is not a FAT file system", image);
	if (asprintf(&t->where, "%s@@%" PRIu64, image, t->boot_off) < 0) {
		t->where = NULL;
		return -ENOMEM;
	}
	t->is_image = 1;
	return 0;
}

/* /sys/class/block/<disk>/<child>/partition == n: the child's name into ret. */
static int find_partition(struct aim_target *t, const char *disk, int n, char *ret, size_t sz)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int r = -ENODEV;

	snprintf(dir, sizeof(dir), "%s/class/block/%s", t->sysfs, disk);
	d = opendir(dir);
	if (!d)
		return aim_error_set(-ENODEV, "cannot read %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		char p[PATH_MAX + 300], *buf = NULL;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/partition", dir, de->d_name);
		if (aim_read_file(p, 32, &buf, NULL) < 0)
			continue;
		if (atoi(buf) == n && strlen(de->d_name) < sz) {
			memcpy(ret, de->d_name, strlen(de->d_name) + 1);
			r = 0;
		}
		free(buf);
		if (r == 0)
			break;
	}
	closedir(d);
	if (r < 0)
		return aim_error_set(r, "disk %s has no partition %d", disk, n);
	return 0;
}

static int mount_boot(struct aim_target *t, const char *node, const char *fstype)
{
#if AIM_WITH_LIBMOUNT
	struct libmnt_context *cxt;
	char buf[256] = "";
#endif
	int r;

	r = aim_mkdir_p(t->mnt, 0700);
	if (r < 0)
		return aim_error_set(r, "cannot create %s: %s", t->mnt, strerror(-r));
	/* A mount namespace of our own: the mount is invisible elsewhere and goes away with
	 * the process, even when it is killed. Without the privilege, a plain mount. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		aim_debug("cannot make / private: %s", strerror(errno));
#if !AIM_WITH_LIBMOUNT
	if (mount(node, t->mnt, fstype ? fstype : "vfat",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | (t->readonly ? MS_RDONLY : 0), NULL) < 0) {
		r = -errno;
		return aim_error_set(r, "cannot mount the boot partition %s on %s: %s", node,
				     t->mnt, strerror(-r));
	}
#else
	cxt = mnt_new_context();
	if (!cxt)
		return -ENOMEM;
	mnt_context_set_source(cxt, node);
	mnt_context_set_target(cxt, t->mnt);
	mnt_context_set_fstype(cxt, fstype ? fstype : "vfat");
	mnt_context_set_options(cxt, t->readonly ? "ro,nosuid,nodev,noexec"
						 : "rw,nosuid,nodev,noexec");
	mnt_context_disable_mtab(cxt, 1);
	mnt_context_disable_helpers(cxt, 1);
	r = mnt_context_mount(cxt);
	if (r != 0 || mnt_context_get_status(cxt) != 1) {
		int e = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;

		mnt_context_get_excode(cxt, r, buf, sizeof(buf));
		mnt_free_context(cxt);
		return aim_error_set(e ? -e : -EIO, "cannot mount the boot partition %s on %s: %s",
				     node, t->mnt, buf[0] ? buf : e ? strerror(e) : "failed");
	}
	mnt_free_context(cxt);
#endif
	t->mounted = 1;
	return 0;
}

static int open_device(struct aim_target *t, const struct aim_target_opts *o)
{
	char path[PATH_MAX], node[PATH_MAX];
	const char *v, *boot, *disk;
	struct stat sb;
	int r;

	t->run_dir = strdup(o && o->run_dir ? o->run_dir : AIM_TARGET_RUN_DIR);
	t->sysfs = strdup(o && o->sysfs ? o->sysfs : "/sys");
	t->dev_dir = strdup(o && o->dev_dir ? o->dev_dir : "/dev");
	if (!t->run_dir || !t->sysfs || !t->dev_dir)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/" AIM_BOOT_ENV_NAME, t->run_dir);
	r = aim_read_file(path, BOOT_ENV_MAX, &t->env_text, NULL);
	if (r == -ENOENT)
		return aim_error_set(r, "no %s: this system was not booted by aim-boot "
					"(use --image IMG for an image file)", path);
	if (r < 0)
		return aim_error_set(r, "cannot read %s: %s", path, strerror(-r));
	parse_boot_env(t);
	v = aim_target_boot_env(t, "slot");
	if (!v || strlen(v) != 1 || (v[0] != 'a' && v[0] != 'b'))
		return aim_error_set(-EBADMSG, "%s has no slot=a|b", path);
	t->slot = v[0];
	boot = aim_target_boot_env(t, "boot_dev");
	disk = aim_target_boot_env(t, "disk");
	if (simple_name(disk)) {
		t->disk = strdup(disk);
		if (!t->disk)
			return -ENOMEM;
	}
	if (o && o->boot_dir) {
		t->mnt = strdup(o->boot_dir);
		return t->mnt ? 0 : -ENOMEM;
	}
	if (!simple_name(boot) || !t->disk)
		return aim_error_set(-EBADMSG, "%s names no boot_dev= and disk= (aim-boot could "
					       "not find the devices at boot)", path);
	snprintf(node, sizeof(node), "%s/%s", t->dev_dir, boot);
	if (stat(node, &sb) < 0 || !S_ISBLK(sb.st_mode))
		return aim_error_set(-ENODEV, "boot partition %s is not a block device", node);
	if (asprintf(&t->mnt, "%s/boot-mnt", t->run_dir) < 0) {
		t->mnt = NULL;
		return -ENOMEM;
	}
	return mount_boot(t, node, o ? o->boot_fstype : NULL);
}

int aim_target_open(const struct aim_target_opts *o, struct aim_target **ret)
{
	struct aim_target *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->fd = -EBADF;
	t->readonly = o ? o->readonly : 0;
	if (o && o->image)
		r = open_image(t, o->image);
	else
		r = open_device(t, o);
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
	if (t->mounted && umount2(t->mnt, 0) < 0) {
		aim_debug("cannot unmount %s: %s (detaching)", t->mnt, strerror(errno));
		(void)umount2(t->mnt, MNT_DETACH);
	}
	if (t->fd >= 0)
		close(t->fd);
	free(t->image);
	free(t->where);
	free(t->run_dir);
	free(t->sysfs);
	free(t->dev_dir);
	free(t->env_text);
	free(t->mnt);
	free(t->disk);
	free(t->slot_path[0]);
	free(t->slot_path[1]);
	free(t);
	return NULL;
}

/* ---- files ---- */

static char *host_path(const struct aim_target *t, const char *path)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s", t->mnt, path) < 0)
		return NULL;
	return s;
}

int aim_target_read_file(struct aim_target *t, const char *path, size_t max, char **ret,
			 size_t *ret_len)
{
	_cleanup_free_ char *hp = NULL;
	int r = check_path(path);

	if (r < 0)
		return r;
	if (t->is_image) {
		r = aim_fat_read(t->fd, t->boot_off, t->boot_size, path, max, ret, ret_len);
		if (r < 0 && r != -ENOENT)
			return with_detail(r, "cannot read %s from the boot partition of %s", path,
					   t->image);
		return r;
	}
	hp = host_path(t, path);
	if (!hp)
		return -ENOMEM;
	return aim_read_file(hp, max, ret, ret_len);
}

int aim_target_exists(struct aim_target *t, const char *path)
{
	_cleanup_free_ char *hp = NULL;
	int r = check_path(path);

	if (r < 0)
		return r;
	if (t->is_image)
		return aim_fat_exists(t->fd, t->boot_off, t->boot_size, path);
	hp = host_path(t, path);
	if (!hp)
		return -ENOMEM;
	if (access(hp, F_OK) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

/* Creates the parent directories of path on the boot partition. */
static int make_parents(struct aim_target *t, const char *path)
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
			if (t->is_image) {
				_cleanup_free_ char *mp = mpath(p);
				const char *argv[] = {"mmd", "-i", t->where, mp, NULL};

				if (!mp)
					return -ENOMEM;
				r = mtool(argv);
			} else {
				_cleanup_free_ char *hp = host_path(t, p);

				if (!hp)
					return -ENOMEM;
				r = mkdir(hp, 0755) < 0 && errno != EEXIST ? -errno : 0;
				if (r == 0)
					r = aim_fsync_parent(hp);
			}
			if (r < 0)
				return with_detail(r, "cannot create %s on the boot partition", p);
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
	if (t->readonly)
		return aim_error_set(-EROFS, "target opened read-only");
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->t = t;
	f->fd = -EBADF;
	f->path = strdup(path);
	if (!f->path) {
		aim_target_file_abort(f);
		return -ENOMEM;
	}
	if (t->is_image) {
		/* Not CLOEXEC: mcopy reads it as /proc/self/fd/N. */
		f->fd = memfd_create("aim-boot-file", 0);
		if (f->fd < 0) {
			r = -errno;
			aim_target_file_abort(f);
			return r;
		}
	} else {
		r = make_parents(t, path);
		if (r < 0) {
			aim_target_file_abort(f);
			return r;
		}
		if (asprintf(&f->tmp, "%s%s" TMP_SUFFIX, t->mnt, path) < 0) {
			f->tmp = NULL;
			aim_target_file_abort(f);
			return -ENOMEM;
		}
		f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (f->fd < 0) {
			r = aim_error_set(-errno, "cannot create %s: %s", f->tmp, strerror(errno));
			free(f->tmp);
			f->tmp = NULL;
			aim_target_file_abort(f);
			return r;
		}
		aim_fault_point("boot file temp created");
	}
	*ret = f;
	return 0;
}

int aim_target_file_write(struct aim_target_file *f, const void *buf, size_t len)
{
	int r = aim_write_full(f->fd, buf, len);

	if (r < 0)
		return aim_error_set(r, "cannot write %s: %s", f->path, strerror(-r));
	if (!f->t->is_image)
		aim_fault_point("boot file write");
	return 0;
}

/* On an image the file goes to its name in one mcopy, not to a temp name renamed by mmove:
 * mmove keeps the temp entry's case byte (offset 12), so a lower-case 8.3 name such as
 * boot.scr, stored without a long name, came out as BOOT.SCR. The rename bought nothing
 * here: install writes only into a slot marked bad, reset writes an empty flag. */
static int commit_image(struct aim_target_file *f)
{
	struct aim_target *t = f->t;
	_cleanup_free_ char *src = NULL, *dst = NULL;
	int r;

	r = make_parents(t, f->path);
	if (r < 0)
		return r;
	if (asprintf(&src, "/proc/self/fd/%d", f->fd) < 0 || !(dst = mpath(f->path)))
		return -ENOMEM;
	{
		const char *argv[] = {"mcopy", "-o", "-i", t->where, src, dst, NULL};

		r = mtool(argv);
		if (r < 0)
			return r;
		aim_fault_point("boot file written (mcopy)");
	}
	return 0;
}

int aim_target_file_commit(struct aim_target_file *f)
{
	int r = 0;

	if (f->t->is_image) {
		r = commit_image(f);
	} else {
		_cleanup_free_ char *hp = host_path(f->t, f->path);

		if (!hp)
			r = -ENOMEM;
		if (r == 0 && fsync(f->fd) < 0)
			r = aim_error_set(-errno, "cannot fsync %s: %s", f->tmp, strerror(errno));
		if (r == 0)
			aim_fault_point("boot file fsync");
		if (close(f->fd) < 0 && r == 0)
			r = aim_error_set(-errno, "cannot write %s: %s", f->tmp, strerror(errno));
		f->fd = -EBADF;
		if (r == 0 && rename(f->tmp, hp) < 0)
			r = aim_error_set(-errno, "cannot rename %s to %s: %s", f->tmp, hp,
					  strerror(errno));
		if (r == 0) {
			free(f->tmp);
			f->tmp = NULL;
			aim_fault_point("boot file rename");
			r = aim_fsync_parent(hp);
			if (r == 0)
				aim_fault_point("boot file directory fsync");
		}
	}
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
	if (t->readonly)
		return aim_error_set(-EROFS, "target opened read-only");
	r = aim_target_exists(t, path);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	if (t->is_image) {
		_cleanup_free_ char *mp = mpath(path);
		const char *argv[] = {"mdel", "-i", t->where, mp, NULL};

		if (!mp)
			return -ENOMEM;
		r = mtool(argv);
	} else {
		_cleanup_free_ char *hp = host_path(t, path);

		if (!hp)
			return -ENOMEM;
		if (unlink(hp) < 0)
			return aim_error_set(-errno, "cannot remove %s: %s", hp, strerror(errno));
		aim_fault_point("boot file removed");
		r = aim_fsync_parent(hp);
	}
	if (r < 0)
		return r;
	aim_fault_point(t->is_image ? "boot file removed (mdel)" : "boot file directory fsync");
	return 0;
}

/* ---- listing ---- */

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_host(const char *base, const char *rel, struct aim_strv *s, int depth)
{
	char p[2 * PATH_MAX + 2];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > 16)
		return -ELOOP;
	snprintf(p, sizeof(p), "%s%s%s", base, rel[0] ? "/" : "", rel);
	d = opendir(p);
	if (!d)
		return errno == ENOENT && depth == 0 ? 0 : -errno;
	while (r == 0 && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		snprintf(p, sizeof(p), "%s/%s", base, sub);
		if (lstat(p, &sb) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(sb.st_mode))
			r = list_host(base, sub, s, depth + 1);
		else
			r = aim_strv_add(s, sub, strlen(sub));
	}
	closedir(d);
	return r;
}

static int list_image(struct aim_target *t, const char *dir, struct aim_strv *s)
{
	_cleanup_free_ char *mp = mpath(dir), *out = NULL, *prefix = NULL;
	const char *argv[] = {"mdir", "-/", "-b", "-i", t->where, mp, NULL};
	char err[256];
	size_t pl;
	int r;

	if (!mp || asprintf(&prefix, "::%s/", dir) < 0)
		return -ENOMEM;
	r = run(argv, &out, err, sizeof(err));
	if (r < 0)
		return r;
	/* mdir says "File not found" for an empty directory too */
	if (r != 0 && strstr(err, "not found"))
		return 0;
	if (r != 0)
		return aim_error_set(-EIO, "mdir %s failed: %s", dir, err);
	pl = strlen(prefix);
	for (char *l = out; l && *l;) {
		char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);

		/* mdir -b: "::/slot-a/dtb/" for a directory, "::/slot-a/Image" for a file */
		if (n > pl && !strncasecmp(l, prefix, pl) && l[n - 1] != '/') {
			r = aim_strv_add(s, l + pl, n - pl);
			if (r < 0)
				return r;
		}
		l = nl ? nl + 1 : NULL;
	}
	return 0;
}

int aim_target_list(struct aim_target *t, const char *dir, char ***ret, size_t *ret_n)
{
	struct aim_strv s = {0};
	int r = check_path(dir);

	if (r < 0)
		return r;
	r = aim_target_exists(t, dir);
	if (r > 0) {
		if (t->is_image) {
			r = list_image(t, dir, &s);
		} else {
			_cleanup_free_ char *hp = host_path(t, dir);

			r = hp ? list_host(hp, "", &s, 0) : -ENOMEM;
		}
	}
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
			if (t->is_image) {
				_cleanup_free_ char *mp = mpath(p);
				const char *argv[] = {"mdeltree", "-i", t->where, mp, NULL};

				r = mp ? mtool(argv) : -ENOMEM;
			} else {
				_cleanup_free_ char *hp = host_path(t, p);

				r = !hp ? -ENOMEM : rmdir(hp) < 0 ? -errno : aim_fsync_parent(hp);
			}
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

	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "no such slot '%c'", slot ? slot : '?');
	snprintf(dir, sizeof(dir), "/slot-%c", slot);
	r = aim_target_list(t, dir, &files, NULL);
	if (r < 0)
		return r;
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
	int r, copy = 0;

	if (t->is_image) {
		_cleanup_free_ char *b1 = NULL, *b2 = NULL, *bc = NULL;
		size_t n1 = 0, n2 = 0, nb = 0;
		int r1, r2;

		/* A copy that cannot be read (a directory in its place, a bad cluster chain)
		 * is an invalid copy: the other one decides, the next store rewrites it. */
		r1 = aim_target_read_file(t, "/" AIM_STATE_FILE_1, AIM_SLOTSTATE_MAX + 1, &b1, &n1);
		r2 = aim_target_read_file(t, "/" AIM_STATE_FILE_2, AIM_SLOTSTATE_MAX + 1, &b2, &n2);
		if (r1 == -ENOMEM || r2 == -ENOMEM)
			return -ENOMEM;
		r = aim_slotstate_pick(b1, b1 ? n1 : 0, b2, b2 ? n2 : 0, st, &copy);
		if (r < 0 && r1 < 0 && r1 != -ENOENT && r1 != -EFBIG)
			r = r1;
		else if (r < 0 && r2 < 0 && r2 != -ENOENT && r2 != -EFBIG)
			r = r2;
		if (r == 0 && aim_target_read_file(t, "/" AIM_BOOTCOUNT_FILE, 256, &bc, &nb) == 0)
			(void)aim_slotstate_apply_bootcount(bc, nb, st);
	} else {
		r = aim_slotstate_load(t->mnt, st, &copy);
	}
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

static int fat_is_dir(struct aim_target *t, const char *name)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/%s", name);
	return aim_fat_read(t->fd, t->boot_off, t->boot_size, path, AIM_SLOTSTATE_MAX + 1, &buf,
			    NULL) == -EISDIR;
}

int aim_target_state_store(struct aim_target *t, const struct aim_slotstate *st)
{
	int copy = t->last_copy ? 3 - t->last_copy : 2;
	int r;

	if (t->readonly)
		return aim_error_set(-EROFS, "target opened read-only");
	if (t->is_image) {
		char buf[AIM_SLOTSTATE_MAX], src[64], dst[32];
		_cleanup_close_ int fd = -EBADF;
		int len = aim_slotstate_format(st, buf);

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
		if (fat_is_dir(t, dst + 2)) {
			/* A directory in the copy's place (it read as invalid): mcopy would put
			 * the file inside it. */
			const char *argv[] = {"mdeltree", "-i", t->where, dst, NULL};

			r = mtool(argv);
			if (r < 0)
				return with_detail(r, "cannot remove the directory state-%d.txt", copy);
		}
		{
			const char *argv[] = {"mcopy", "-o", "-i", t->where, src, dst, NULL};

			r = mtool(argv);
		}
		if (r < 0)
			return with_detail(r, "cannot write state-%d.txt", copy);
		aim_fault_point("state written (mcopy)");
	} else {
		r = aim_slotstate_store(t->mnt, st, copy);
		if (r < 0)
			return aim_error_set(r, "cannot write %s/state-%d.txt: %s", t->mnt, copy,
					     strerror(-r));
	}
	t->last_copy = copy;
	return 0;
}

/* ---- slot partitions ---- */

int aim_target_slot_dev(struct aim_target *t, char slot, const char **ret_path,
			uint64_t *ret_offset, uint64_t *ret_size)
{
	int s = slot - 'a';

	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "no such slot '%c'", slot ? slot : '?');
	if (t->is_image) {
		*ret_path = t->image;
		*ret_offset = t->slot_off[s];
		*ret_size = t->slot_size[s];
		return 0;
	}
	{
		char p[PATH_MAX], *buf = NULL, name[64];
		uint64_t sectors;
		int r;

		if (!t->disk)
			return aim_error_set(-ENODEV, "boot.env names no disk=");
		r = find_partition(t, t->disk, 2 + s, name, sizeof(name));
		if (r < 0)
			return r;
		free(t->slot_path[s]);
		if (asprintf(&t->slot_path[s], "%s/%s", t->dev_dir, name) < 0) {
			t->slot_path[s] = NULL;
			return -ENOMEM;
		}

		snprintf(p, sizeof(p), "%s/class/block/%s/size", t->sysfs, name);
		r = aim_read_file(p, 64, &buf, NULL);
		if (r < 0)
			return aim_error_set(r, "cannot read %s: %s", p, strerror(-r));
		buf[strcspn(buf, "\n")] = 0;
		r = aim_parse_u64(buf, &sectors);
		free(buf);
		if (r < 0 || sectors > UINT64_MAX / 512)
			return aim_error_set(-EBADMSG, "bad size in %s", p);
		*ret_path = t->slot_path[s];
		*ret_offset = 0;
		*ret_size = sectors * 512;
	}
	return 0;
}

/* ---- slot.env ---- */

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

int aim_target_slot_info_read(struct aim_target *t, char slot, struct aim_slot_info *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[32];
	size_t len = 0;
	int r;

	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "no such slot '%c'", slot ? slot : '?');
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV, slot);
	r = aim_target_read_file(t, path, 16384, &buf, &len);
	if (r < 0)
		return r;
	return aim_slot_info_parse(buf, len, ret);
}

int aim_target_slot_info_write(struct aim_target *t, char slot, const struct aim_slot_info *si)
{
	_cleanup_free_ char *txt = NULL;
	char path[32];
	int r;

	if (slot != 'a' && slot != 'b')
		return aim_error_set(-EINVAL, "no such slot '%c'", slot ? slot : '?');
	r = aim_slot_info_format(si, &txt);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV, slot);
	return aim_target_write_file(t, path, txt, (size_t)r);
}
