// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state carry from one slot's writable layer to the other's (lib/base/carry.h).
 * libc only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/accounts.h"
#include "base/carry.h"
#include "base/fault.h"

#define OPAQUE "trusted.overlay.opaque"
#define AIM_NEW ".aim-new"

/* Carried as they are: the owner's data and the state the system keeps about itself. */
static const char *const keep[] = {
	"home", "root", "srv",
	"var/lib/systemd/timesync", /* the clock of systemd-timesyncd */
	"var/lib/systemd/random-seed",
	"var/lib/NetworkManager", /* leases, the Wi-Fi and connection state */
	"var/lib/bluetooth", /* pairings */
	"var/lib/iwd",
	"var/spool/cron", /* crontabs */
	NULL,
};

/* Under /etc, but the new system's: release files and what is generated from /usr. */
static const char *const etc_follow[] = {
	"etc/armbian-release", "etc/armbian-image-release", "etc/os-release",
	"etc/debian_version", "etc/ld.so.cache", "etc/alternatives", "etc/armimmutable",
	NULL,
};

/* snprintf for paths and messages: a path longer than PATH_MAX is cut (and then not
 * found), never overflows. */
__attribute__((format(printf, 3, 4))) static void pf(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
}

static int under(const char *rel, const char *p)
{
	size_t n = strlen(p);

	return !strncmp(rel, p, n) && (rel[n] == 0 || rel[n] == '/');
}

enum aim_carry_kind aim_carry_classify(const char *rel)
{
	size_t n = strlen(rel);

	for (size_t i = 0; keep[i]; i++)
		if (under(rel, keep[i]))
			return AIM_CARRY_KEEP;
	if (under(rel, "etc"))
		return AIM_CARRY_ETC;
	for (size_t i = 0; keep[i]; i++)
		if (!n || (!strncmp(keep[i], rel, n) && keep[i][n] == '/'))
			return AIM_CARRY_DESCEND;
	return AIM_CARRY_DROP;
}

struct carry {
	const char *ol, *ou, *nl, *nu; /* old lower (or NULL), old upper, new lower, new upper */
	FILE *log;
	struct aim_carry_stats *st;
	char err[320];
};

static int fail(struct carry *c, int r, const char *what, const char *path)
{
	if (!c->err[0])
		pf(c->err, sizeof(c->err), "%s %s: %s", what, path, strerror(-r));
	return r;
}

static void path_of(char *buf, const char *root, const char *rel)
{
	pf(buf, PATH_MAX, "%s%s%s", root, rel[0] ? "/" : "", rel);
}

static int is_whiteout(const struct stat *s)
{
	return S_ISCHR(s->st_mode) && s->st_rdev == makedev(0, 0);
}

/* xattrs of src onto dst (both paths, not followed); trusted.overlay.* only the opaque
 * mark (origin and impure name the old lower's inodes). */
static int copy_xattrs(const char *src, const char *dst)
{
	char names[4096], val[4096];
	ssize_t n = llistxattr(src, names, sizeof(names));

	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *nm = names + i;
		ssize_t vl;

		if (!strncmp(nm, "trusted.overlay.", 16) && strcmp(nm, OPAQUE))
			continue;
		vl = lgetxattr(src, nm, val, sizeof(val));
		if (vl >= 0 && lsetxattr(dst, nm, val, (size_t)vl, 0) < 0 && errno != ENOTSUP)
			return -errno;
	}
	return 0;
}

static int copy_data(const char *src, const char *dst, const struct stat *s)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, s->st_mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t w, o = 0; o < n; o += w)
			if ((w = write(out, buf + o, (size_t)(n - o))) < 0) {
				r = -errno;
				goto out;
			}
	if (n < 0)
		r = -errno;
out:
	close(in);
	if (close(out) < 0 && !r)
		r = -errno;
	return r;
}

/* One entry (not its children) from src to dst, which must not exist: type, data,
 * owner, mode, xattrs, times. */
static int copy_entry(struct carry *c, const char *src, const char *dst)
{
	struct stat s;
	char tgt[PATH_MAX];
	ssize_t n;
	int r = 0;

	if (lstat(src, &s) < 0)
		return fail(c, -errno, "cannot read", src);
	if (S_ISDIR(s.st_mode))
		r = mkdir(dst, 0700) < 0 ? -errno : 0;
	else if (S_ISREG(s.st_mode))
		r = copy_data(src, dst, &s);
	else if (S_ISLNK(s.st_mode)) {
		n = readlink(src, tgt, sizeof(tgt) - 1);
		if (n < 0)
			return fail(c, -errno, "cannot read the link", src);
		tgt[n] = 0;
		r = symlink(tgt, dst) < 0 ? -errno : 0;
	} else
		r = mknod(dst, s.st_mode, s.st_rdev) < 0 ? -errno : 0;
	if (r < 0)
		return fail(c, r, "cannot create", dst);
	if (lchown(dst, s.st_uid, s.st_gid) < 0 ||
	    (!S_ISLNK(s.st_mode) && chmod(dst, s.st_mode & 07777) < 0))
		return fail(c, -errno, "cannot set the owner or mode of", dst);
	r = copy_xattrs(src, dst);
	if (r < 0)
		return fail(c, r, "cannot copy the extended attributes to", dst);
	struct timespec ts[2] = {s.st_atim, s.st_mtim};
	utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
	c->st->kept++;
	aim_fault_point("carry write");
	return 0;
}

static int copy_tree(struct carry *c, const char *src, const char *dst)
{
	char s2[PATH_MAX], d2[PATH_MAX];
	struct dirent *de;
	struct stat s;
	DIR *d;
	int r = copy_entry(c, src, dst);

	if (r < 0 || lstat(src, &s) < 0 || !S_ISDIR(s.st_mode))
		return r;
	d = opendir(src);
	if (!d)
		return fail(c, -errno, "cannot read", src);
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pf(s2, sizeof(s2), "%s/%s", src, de->d_name);
		pf(d2, sizeof(d2), "%s/%s", dst, de->d_name);
		r = copy_tree(c, s2, d2);
	}
	closedir(d);
	return r;
}

/* Same type, owner, mode and content (or link target)? */
static int same(const char *a, const char *b)
{
	struct stat sa, sb;
	char ba[65536], bb[65536];
	int fa, fb, eq = 1;

	if (lstat(a, &sa) < 0 || lstat(b, &sb) < 0)
		return 0;
	if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid ||
	    (S_ISREG(sa.st_mode) && sa.st_size != sb.st_size))
		return 0;
	if (S_ISLNK(sa.st_mode)) {
		ssize_t na = readlink(a, ba, sizeof(ba)), nb = readlink(b, bb, sizeof(bb));

		return na >= 0 && na == nb && !memcmp(ba, bb, (size_t)na);
	}
	if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode))
		return sa.st_rdev == sb.st_rdev;
	if (!S_ISREG(sa.st_mode))
		return 1;
	fa = open(a, O_RDONLY | O_CLOEXEC);
	fb = open(b, O_RDONLY | O_CLOEXEC);
	while (fa >= 0 && fb >= 0 && eq) {
		ssize_t na = read(fa, ba, sizeof(ba)), nb = read(fb, bb, sizeof(bb));

		if (na <= 0 || nb <= 0) {
			eq = na == 0 && nb == 0;
			break;
		}
		eq = na == nb && !memcmp(ba, bb, (size_t)na);
	}
	if (fa < 0 || fb < 0)
		eq = 0;
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return eq;
}

static int exists(const char *p)
{
	struct stat s;

	return lstat(p, &s) == 0;
}

/* The directories above rel in the new upper, each with the metadata of the new lower's
 * (the old upper's when the new lower lacks it). */
static int ensure_parents(struct carry *c, const char *rel)
{
	char part[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	const char *slash = rel;
	int r;

	while ((slash = strchr(slash, '/'))) {
		pf(part, sizeof(part), "%.*s", (int)(slash - rel), rel);
		slash++;
		path_of(dst, c->nu, part);
		if (exists(dst))
			continue;
		path_of(src, c->nl, part);
		if (!exists(src))
			path_of(src, c->ou, part);
		r = copy_entry(c, src, dst);
		if (r < 0)
			return r;
		c->st->kept--; /* a directory made for what is below it */
	}
	return 0;
}

static int read_all(const char *path, char **ret)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	*ret = NULL;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = (cap + 4096) * 2);

			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	fclose(f);
	*ret = buf;
	return 0;
}

/* An account database the owner changed: merged three-way into the new upper, with the
 * owner and mode of the new system's file. */
static int merge_db(struct carry *c, const char *rel, const char *name)
{
	char b[PATH_MAX], o[PATH_MAX], t[PATH_MAX], d[PATH_MAX];
	char *bt = NULL, *ot = NULL, *tt = NULL, *res = NULL;
	struct stat s;
	int r, fd;

	path_of(b, c->ol ? c->ol : "", rel);
	path_of(o, c->ou, rel);
	path_of(t, c->nl, rel);
	path_of(d, c->nu, rel);
	if ((r = c->ol ? read_all(b, &bt) : 0) < 0 || (r = read_all(o, &ot)) < 0 ||
	    (r = read_all(t, &tt)) < 0) {
		fail(c, r, "cannot read", rel);
		goto out;
	}
	r = aim_accounts_merge(name, c->ol ? (bt ? bt : "") : NULL, ot, tt, &res, c->log);
	if (r < 0)
		goto out;
	if (lstat(t, &s) < 0 && lstat(o, &s) < 0) {
		r = fail(c, -errno, "cannot read", o);
		goto out;
	}
	r = ensure_parents(c, rel);
	if (r < 0)
		goto out;
	fd = open(d, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, res, strlen(res)) != (ssize_t)strlen(res) ||
	    fchown(fd, s.st_uid, s.st_gid) < 0 || fchmod(fd, s.st_mode & 07777) < 0) {
		r = fail(c, -errno, "cannot write", d);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	aim_fault_point("carry write");
	c->st->merged++;
	if (c->log)
		fprintf(c->log, "merge /%s\n", rel);
out:
	free(bt);
	free(ot);
	free(tt);
	free(res);
	return r;
}

static int carry_etc(struct carry *c, const char *rel);

/* A directory of the old upper below /etc: opaque (the owner replaced it) carried as it
 * is, else entry by entry. */
static int etc_dir(struct carry *c, const char *rel)
{
	char src[PATH_MAX], sub[PATH_MAX], dst[PATH_MAX], v[8];
	struct dirent *de;
	DIR *d;
	int r = 0;

	path_of(src, c->ou, rel);
	if (lgetxattr(src, OPAQUE, v, sizeof(v)) == 1 && v[0] == 'y') {
		if (c->log)
			fprintf(c->log, "keep /%s (replaced by the owner)\n", rel);
		path_of(dst, c->nu, rel);
		return ensure_parents(c, rel) ?: copy_tree(c, src, dst);
	}
	d = opendir(src);
	if (!d)
		return fail(c, -errno, "cannot read", src);
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		r = carry_etc(c, sub);
	}
	closedir(d);
	return r;
}

/*
 * One entry of the old upper under /etc. The owner changed it when it differs from the
 * old system's. Then: the new system has the old system's version (the update did not
 * touch it), or none: the owner's is carried; the update changed it too: the owner's is
 * kept and the update's put beside it as FILE.aim-new (dpkg's confold), with a log line.
 * A deletion (whiteout) follows the same rule.
 */
static int carry_etc(struct carry *c, const char *rel)
{
	char ou[PATH_MAX], ol[PATH_MAX], nl[PATH_MAX], nu[PATH_MAX], side[PATH_MAX];
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	int old_has, new_has, wo, r;
	struct stat s;

	for (size_t i = 0; etc_follow[i]; i++)
		if (under(rel, etc_follow[i])) {
			if (c->log)
				fprintf(c->log, "drop /%s (follows the update)\n", rel);
			c->st->dropped++;
			return 0;
		}
	path_of(ou, c->ou, rel);
	path_of(nl, c->nl, rel);
	path_of(nu, c->nu, rel);
	if (c->ol)
		path_of(ol, c->ol, rel);
	if (lstat(ou, &s) < 0)
		return fail(c, -errno, "cannot read", ou);
	old_has = c->ol && exists(ol);
	new_has = exists(nl);
	wo = is_whiteout(&s);
	if (S_ISDIR(s.st_mode)) {
		if (old_has || new_has)
			return etc_dir(c, rel);
		if (c->log)
			fprintf(c->log, "keep /%s\n", rel);
		return ensure_parents(c, rel) ?: copy_tree(c, ou, nu);
	}
	if (!strncmp(rel, "etc/", 4) && !strchr(rel + 4, '/') && aim_accounts_is_db(base) && !wo)
		return old_has && same(ou, ol) ? 0 : merge_db(c, rel, base);
	/* not the owner's change, or the same as the update's: the new system's shows */
	if (wo ? !new_has || (c->ol && !old_has) : (old_has && same(ou, ol)) ||
						       (new_has && same(ou, nl)))
		return 0;
	r = ensure_parents(c, rel);
	if (r == 0)
		r = copy_entry(c, ou, nu);
	if (r < 0 || !new_has || (old_has && same(ol, nl)))
		return r;
	/* the update changed it too (or added a file of the same name) */
	c->st->conflicts++;
	pf(side, sizeof(side), "%s" AIM_NEW, nu);
	if (exists(side) && unlink(side) < 0)
		return fail(c, -errno, "cannot replace", side);
	r = copy_tree(c, nl, side);
	if (c->log)
		fprintf(c->log, "conflict /%s: changed by the owner and by the update: the "
				"owner's version kept, the update's is /%s" AIM_NEW "\n",
			rel, rel);
	return r;
}

static int carry_dir(struct carry *c, const char *rel)
{
	char src[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	struct stat s;
	DIR *d;
	int r = 0;

	path_of(src, c->ou, rel);
	d = opendir(src);
	if (!d)
		return fail(c, -errno, "cannot read", src);
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		switch (aim_carry_classify(sub)) {
		case AIM_CARRY_KEEP:
			path_of(src, c->ou, sub);
			path_of(dst, c->nu, sub);
			if (c->log)
				fprintf(c->log, "keep /%s\n", sub);
			r = ensure_parents(c, sub);
			if (r == 0)
				r = copy_tree(c, src, dst);
			break;
		case AIM_CARRY_ETC:
			r = carry_etc(c, sub);
			break;
		case AIM_CARRY_DESCEND:
			path_of(src, c->ou, sub);
			if (lstat(src, &s) == 0 && S_ISDIR(s.st_mode)) {
				r = carry_dir(c, sub);
				break;
			}
			__attribute__((fallthrough)); /* not a directory here */
		case AIM_CARRY_DROP:
			if (c->log)
				fprintf(c->log, "drop /%s\n", sub);
			c->st->dropped++;
			break;
		}
	}
	closedir(d);
	return r;
}

static struct aim_carry_stats dummy_stats;

static int tree(const char *old_lower, const char *old_upper, const char *new_lower,
		const char *new_upper, FILE *log, struct aim_carry_stats *st, char *err,
		size_t errsz)
{
	struct carry c = {.ol = old_lower, .ou = old_upper, .nl = new_lower, .nu = new_upper,
			  .log = log, .st = st ? st : &dummy_stats};
	int r = carry_dir(&c, "");

	if (r < 0 && log)
		fprintf(log, "error: %s\n", c.err);
	if (err)
		pf(err, errsz, "%s", c.err);
	return r;
}

int aim_carry_tree(const char *old_lower, const char *old_upper, const char *new_lower,
		   const char *new_upper, FILE *log, struct aim_carry_stats *st)
{
	return tree(old_lower, old_upper, new_lower, new_upper, log, st, NULL, 0);
}

/* ---- the layer: build beside, stamp, swap ---- */

/* rootfs_sha256= (with sha) and installed= of one key=value file into sha and inst (kept
 * when absent; installed=0 means unknown and does not replace a known time). */
static int ident_keys(const char *path, char *sha, size_t shasz, char *inst, size_t instsz)
{
	char buf[4096];
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = 0;
		if (sha && !strncmp(buf, "rootfs_sha256=", 14))
			pf(sha, shasz, "%s", buf + 14);
		else if (!strncmp(buf, "installed=", 10) && buf[10] && strcmp(buf + 10, "0"))
			pf(inst, instsz, "%s", buf + 10);
	}
	fclose(f);
	return 0;
}

int aim_carry_slot_ident(const char *slot_env, char *ret, size_t retsz)
{
	char sha[80] = "", inst[32] = "", ienv[PATH_MAX];
	const char *slash = strrchr(slot_env, '/');
	int r;

	ret[0] = 0;
	r = ident_keys(slot_env, sha, sizeof(sha), inst, sizeof(inst));
	if (r < 0)
		return r;
	/* install.env beside it: what install adds to a signed slot.env (docs/verity.md),
	 * laid over it as the library's reader does (aim_target_slot_info_read) */
	pf(ienv, sizeof(ienv), "%.*s%s", slash ? (int)(slash - slot_env + 1) : 0, slot_env,
	   "install.env");
	ident_keys(ienv, NULL, 0, inst, sizeof(inst));
	if (!sha[0])
		return -ENOENT;
	pf(ret, retsz, "%s %s", sha, inst[0] ? inst : "0");
	return 0;
}

static void read_stamp(const char *dir, char *ret, size_t retsz)
{
	char p[PATH_MAX];
	FILE *f;

	ret[0] = 0;
	pf(p, sizeof(p), "%s/base", dir);
	f = fopen(p, "re");
	if (!f)
		return;
	if (!fgets(ret, (int)retsz, f))
		ret[0] = 0;
	ret[strcspn(ret, "\n")] = 0;
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

static int sync_path(const char *path, int fs)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if ((fs ? syncfs(fd) : fsync(fd)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The stamp, written last: a .new with a stamp is complete. */
static int write_stamp(const char *dir, const char *ident)
{
	char p[PATH_MAX], tmp[PATH_MAX];
	int fd, r = 0;

	pf(p, sizeof(p), "%s/base", dir);
	pf(tmp, sizeof(tmp), "%s/base.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%s\n", ident) < 0 || fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, p) < 0)
		r = -errno;
	if (r == 0)
		r = sync_path(dir, 0);
	return r;
}

static int mkdir_meta(const char *path, const char *like)
{
	struct stat s;

	if (mkdir(path, 0755) < 0)
		return -errno;
	if (like && stat(like, &s) == 0 &&
	    (chown(path, s.st_uid, s.st_gid) < 0 || chmod(path, s.st_mode & 07777) < 0))
		return -errno;
	return 0;
}

static int build(const struct aim_carry_layer *c, const char *nw, const char *src,
		 const char *old_lower, struct aim_carry_stats *st, char *err, size_t errsz)
{
	char up[PATH_MAX], work[PATH_MAX];
	int r;

	pf(up, sizeof(up), "%s/upper", nw);
	pf(work, sizeof(work), "%s/work", nw);
	if ((r = mkdir_meta(nw, NULL)) < 0 || (r = mkdir_meta(up, src)) < 0 ||
	    (r = mkdir_meta(work, NULL)) < 0) {
		pf(err, errsz, "cannot create %s: %s", nw, strerror(-r));
		return r;
	}
	aim_fault_point("carry mkdir");
	if (src) {
		r = tree(old_lower, src, c->new_lower, up, c->log, st, err, errsz);
		if (r < 0)
			return r;
	}
	r = sync_path(nw, 1);
	if (r == 0) {
		aim_fault_point("carry sync");
		r = write_stamp(nw, c->ident);
	}
	if (r < 0) {
		pf(err, errsz, "cannot complete %s: %s", nw, strerror(-r));
		return r;
	}
	aim_fault_point("carry stamp");
	return 0;
}

int aim_carry_layer_run(const struct aim_carry_layer *c, struct aim_carry_stats *st, char *err,
			size_t errsz)
{
	char dir[PATH_MAX], nw[PATH_MAX], other[PATH_MAX], src[PATH_MAX], stamp[200];
	const char *from = NULL, *old_lower = c->old_lower;
	struct aim_carry_stats dummy = {0};
	int r;

	err[0] = 0;
	if (!st)
		st = &dummy;
	if (!c->ident[0])
		return 0;
	pf(dir, sizeof(dir), "%s/%c", c->overlay, c->slot);
	pf(nw, sizeof(nw), "%s/%c.new", c->overlay, c->slot);
	pf(other, sizeof(other), "%s/%c/upper", c->overlay, c->slot == 'a' ? 'b' : 'a');
	if (mkdir(c->overlay, 0755) < 0 && errno != EEXIST) {
		pf(err, errsz, "cannot create %s: %s", c->overlay, strerror(errno));
		return -errno;
	}
	read_stamp(nw, stamp, sizeof(stamp));
	if (!strcmp(stamp, c->ident)) {
		if (c->log)
			fprintf(c->log, "finishing the carry an interruption left complete\n");
		goto swap;
	}
	if (exists(nw) && nftw(nw, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
		pf(err, errsz, "cannot remove the incomplete %s: %s", nw, strerror(errno));
		return -errno;
	}
	read_stamp(dir, stamp, sizeof(stamp));
	if (!strcmp(stamp, c->ident))
		return 0;
	pf(src, sizeof(src), "%s/upper", dir);
	if (exists(other)) {
		from = other;
		st->from = c->slot == 'a' ? 'b' : 'a';
	} else if (exists(src)) {
		from = src; /* the other slot has no layer: the slot's own is all the state */
		old_lower = NULL;
		st->from = c->slot;
	}
	if (c->log)
		fprintf(c->log, "slot %c: new payload (%s), layer %s: %s%s\n", c->slot, c->ident,
			stamp[0] ? "built for another" : exists(dir) ? "without a stamp" : "none",
			from ? "carrying from " : "starting empty", from ? from : "");
	r = build(c, nw, from, old_lower, st, err, errsz);
	if (r < 0)
		return r;
swap:
	if (exists(dir)) {
		char t[PATH_MAX];

		if (mkdir(c->trash, 0700) < 0 && errno != EEXIST) {
			pf(err, errsz, "cannot create %s: %s", c->trash, strerror(errno));
			return -errno;
		}
		for (unsigned i = 0;; i++) {
			pf(t, sizeof(t), "%s/overlay-%c.%u", c->trash, c->slot, i);
			if (!exists(t))
				break;
		}
		if (rename(dir, t) < 0) {
			pf(err, errsz, "cannot move %s to %s: %s", dir, t, strerror(errno));
			return -errno;
		}
		aim_fault_point("carry retire");
	}
	if (rename(nw, dir) < 0) {
		pf(err, errsz, "cannot rename %s to %s: %s", nw, dir, strerror(errno));
		return -errno;
	}
	r = sync_path(c->overlay, 0);
	if (r < 0) {
		pf(err, errsz, "cannot sync %s: %s", c->overlay, strerror(-r));
		return r;
	}
	aim_fault_point("carry swap");
	return 1;
}

/* ---- what a layer holds ---- */

static int64_t du(const char *path)
{
	struct stat s;
	int64_t n;
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];

	if (lstat(path, &s) < 0)
		return 0;
	n = (int64_t)s.st_blocks * 512;
	if (!S_ISDIR(s.st_mode) || !(d = opendir(path)))
		return n;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			pf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			n += du(sub);
		}
	}
	closedir(d);
	return n;
}

static int64_t scan(const char *upper, const char *rel, aim_carry_scan_fn fn, void *ud)
{
	char p[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	struct stat s;
	int64_t total = 0, b;
	DIR *d;

	path_of(p, upper, rel);
	d = opendir(p);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		path_of(p, upper, sub);
		enum aim_carry_kind k = aim_carry_classify(sub);
		if (k == AIM_CARRY_DESCEND && lstat(p, &s) == 0 && S_ISDIR(s.st_mode)) {
			b = scan(upper, sub, fn, ud);
			total += b > 0 ? b : 0;
			continue;
		}
		b = du(p);
		total += b;
		if (fn) {
			char abs[PATH_MAX];

			pf(abs, sizeof(abs), "/%s", sub);
			fn(ud, abs, k == AIM_CARRY_KEEP || k == AIM_CARRY_ETC, (uint64_t)b);
		}
	}
	closedir(d);
	return total;
}

int64_t aim_carry_scan(const char *upper, aim_carry_scan_fn fn, void *ud)
{
	return scan(upper, "", fn, ud);
}
