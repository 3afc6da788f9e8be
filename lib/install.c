/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streaming install of a signed bundle into the inactive slot (lib/install.h). */
#include "install.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bootscript.h"
#include "extlinux.h"
#include "grubboot.h"
#include "grubcfg.h"
#include "rpi.h"
#include "base/slotstate.h"
#include "base/ptable.h"
#include "base/fault.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define CHUNK (1024 * 1024)

/* ---- dpkg version comparison (lib/dpkg/version.c: verrevcmp) ---- */

static int order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		int first_diff = 0;

		while ((a < ae && !isdigit((unsigned char)*a)) ||
		       (b < be && !isdigit((unsigned char)*b))) {
			int ac = a < ae ? order((unsigned char)*a) : 0;
			int bc = b < be ? order((unsigned char)*b) : 0;
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (a < ae && b < be && isdigit((unsigned char)*a) &&
		       isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (a < ae && isdigit((unsigned char)*a))
			return 1;
		if (b < be && isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

struct ver {
	unsigned long epoch;
	const char *up, *up_end, *rev, *rev_end;
};

static void split_version(const char *s, struct ver *v)
{
	const char *colon = strchr(s, ':'), *dash, *end = s + strlen(s);

	v->epoch = 0;
	if (colon) {
		const char *p = s;
		while (p < colon && isdigit((unsigned char)*p))
			p++;
		if (p == colon && colon > s) {
			v->epoch = strtoul(s, NULL, 10);
			s = colon + 1;
		}
	}
	dash = strrchr(s, '-');
	v->up = s;
	if (dash) {
		v->up_end = dash;
		v->rev = dash + 1;
		v->rev_end = end;
	} else {
		v->up_end = end;
		v->rev = v->rev_end = end;
	}
}

int aim_version_compare(const char *a, const char *b)
{
	struct ver va, vb;
	int r;

	split_version(a, &va);
	split_version(b, &vb);
	if (va.epoch != vb.epoch)
		return va.epoch < vb.epoch ? -1 : 1;
	r = verrevcmp(va.up, va.up_end, vb.up, vb.up_end);
	if (r)
		return r < 0 ? -1 : 1;
	r = verrevcmp(va.rev, va.rev_end, vb.rev, vb.rev_end);
	return r < 0 ? -1 : r > 0;
}

/* ---- install ---- */

struct inst {
	struct aim_target *t;
	struct aim_bundle_reader *br;
	const struct aim_install_opts *o;
	struct aim_slotstate st;
	uint8_t *buf;
	char slot;
	const char *phase;
	uint64_t total;
	char *env, *env_sig; /* the bundle's own slot.env and its signature, or NULL */
	size_t env_len, env_sig_len;
	struct aim_strv skip; /* boot payloads not written (dup_names) */
	int rpi; /* Raspberry Pi target: autoboot.txt follows the state (rpi.h) */
};

static void progress(struct inst *in, const char *phase)
{
	in->phase = phase;
	if (in->o->progress)
		in->o->progress(in->o->progress_ud, phase, aim_bundle_position(in->br), in->total);
}

static int state_store(struct inst *in)
{
	int r = aim_target_state_store(in->t, &in->st);

	/* Raspberry Pi: autoboot.txt after the state it follows (docs/rpi.md) */
	if (r == 0 && in->rpi && (r = aim_rpi_sync(in->t, &in->st)) > 0)
		r = 0;

	if (r < 0)
		return aim_error_set(r, "cannot write the slot state: %s",
				     aim_error_detail() ? aim_error_detail() : strerror(-r));
	return 0;
}

/* Same board, and family/arch when both sides name them. */
static int check_compatible(const struct aim_bundle_manifest *m, const struct aim_slot_info *si,
			    char cur)
{
	if (strcmp(m->board, si->board))
		return aim_error_set(-EMEDIUMTYPE,
				     "the bundle is for board '%s', this system (slot %c) is "
				     "board '%s'",
				     m->board, cur, si->board);
	if (m->family[0] && si->family[0] && strcmp(m->family, si->family))
		return aim_error_set(-EMEDIUMTYPE,
				     "the bundle is for family '%s', this system (slot %c) is "
				     "family '%s'",
				     m->family, cur, si->family);
	if (m->arch[0] && si->arch[0] && strcmp(m->arch, si->arch))
		return aim_error_set(-EMEDIUMTYPE,
				     "the bundle is for architecture '%s', this system (slot %c) "
				     "is '%s'",
				     m->arch, cur, si->arch);
	return 0;
}

/*
 * The rootfs goes to the slot through a writer thread with two buffers: while it writes
 * one chunk, this thread reads (and the bundle reader hashes) the next, so an install
 * costs max(hash, write) per chunk instead of their sum.
 */
struct writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf[2];
	size_t len[2];
	uint64_t off[2];
	int full[2];
	int quit;
	int err;
	int fd;
	struct aim_delta *delta; /* skip what the target holds: [base, ...) is the payload */
	uint64_t base;
};

/* Writes a chunk, leaving out the runs the target slot already holds (a delta install). */
static int write_chunk(struct writer *w, const uint8_t *b, size_t len, uint64_t off)
{
	while (len) {
		uint64_t run = len;
		int held = w->delta ? aim_delta_held(w->delta, off - w->base, &run) : 0;

		if (!held) {
			int r = aim_pwrite_full(w->fd, b, (size_t)run, off);
			if (r < 0)
				return r;
		}
		b += run;
		len -= (size_t)run;
		off += run;
	}
	return 0;
}

static void *writer_main(void *ud)
{
	struct writer *w = ud;
	int i = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->full[i] && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->full[i])
			break;
		pthread_mutex_unlock(&w->mu);
		int r = w->err ? 0 : write_chunk(w, w->buf[i], w->len[i], w->off[i]);
		if (r == 0 && !w->err)
			aim_fault_point("install rootfs write");
		pthread_mutex_lock(&w->mu);
		if (r < 0 && !w->err)
			w->err = r;
		w->full[i] = 0;
		pthread_cond_broadcast(&w->cv);
		i ^= 1;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Reads the payload into the free buffer and hands it to the writer; 0 at its end. */
static int stream_rootfs(struct inst *in, struct writer *w, uint64_t base, uint64_t size)
{
	uint64_t done = 0;
	int i = 0;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->full[i] && !w->err)
			pthread_cond_wait(&w->cv, &w->mu);
		int err = w->err;
		pthread_mutex_unlock(&w->mu);
		if (err)
			return err;
		ssize_t n = aim_bundle_read(in->br, w->buf[i], CHUNK);
		if (n <= 0)
			return (int)n;
		if (done + (uint64_t)n > size)
			return aim_error_set(-EFBIG, "the rootfs payload overflows slot %c", in->slot);
		pthread_mutex_lock(&w->mu);
		w->len[i] = (size_t)n;
		w->off[i] = base + done;
		w->full[i] = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		done += (uint64_t)n;
		progress(in, "rootfs");
		i ^= 1;
	}
}

/* The slots never grow after flashing (docs/convert.md): what to do about a larger root. */
static int too_big(uint64_t payload, char slot, uint64_t size)
{
	return aim_error_set(-EFBIG,
			     "the rootfs payload (%" PRIu64 " MiB) is larger than slot %c (%" PRIu64
			     " MiB): slots never grow; reconvert the image with a larger "
			     "--medium-size or --slot-size and flash it, or make the update's "
			     "root smaller",
			     (payload + (1 << 20) - 1) >> 20, slot, size >> 20);
}

static int write_rootfs(struct inst *in, const struct aim_bundle_payload *p)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf2 = NULL;
	struct writer w = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	const char *path;
	uint64_t off, size;
	struct stat st;
	pthread_t th;
	int flags = O_RDWR | O_CLOEXEC, r;

	r = aim_target_slot_dev(in->t, in->slot, &path, &off, &size);
	if (r < 0)
		return r;
	if (p->size > size)
		return too_big(p->size, in->slot, size);
	/* A block device: O_EXCL fails while it is mounted. */
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	fd = open(path, flags);
	if (fd < 0) {
		r = -errno;
		if (r == -EBUSY)
			return aim_error_set(r, "slot %c (%s) is in use (mounted?)", in->slot, path);
		return aim_error_set(r, "cannot open slot %c (%s): %s", in->slot, path,
				     strerror(-r));
	}
	buf2 = malloc(CHUNK);
	if (!buf2)
		return -ENOMEM;
	w.buf[0] = in->buf;
	w.buf[1] = buf2;
	w.fd = fd;
	w.delta = in->o->delta;
	w.base = off;
	r = -pthread_create(&th, NULL, writer_main, &w);
	if (r < 0)
		return aim_error_set(r, "cannot start the writer thread: %s", strerror(-r));
	r = stream_rootfs(in, &w, off, size);
	pthread_mutex_lock(&w.mu);
	w.quit = 1;
	pthread_cond_broadcast(&w.cv);
	pthread_mutex_unlock(&w.mu);
	pthread_join(th, NULL);
	if (r == 0 && w.err)
		r = aim_error_set(w.err, "writing slot %c (%s): %s", in->slot, path,
				  strerror(-w.err));
	if (r < 0)
		return r;
	if (fsync(fd) < 0) {
		r = -errno;
		return aim_error_set(r, "fsync of slot %c (%s): %s", in->slot, path, strerror(-r));
	}
	aim_fault_point("install rootfs fsync");
	return 0;
}

/* The PARTUUID of the target's slot partition (2 for a, 3 for b), lower case (the form
 * of /dev/disk/by-partuuid, which initramfs-tools resolves root=PARTUUID= through). */
static int slot_partuuid(struct inst *in, char ret[37])
{
	struct aim_ptable pt;
	const char *path;
	char disk[300];
	uint64_t off, size;
	struct stat st;
	int fd, r;

	if (aim_target_is_image(in->t)) {
		r = aim_target_slot_dev(in->t, in->slot, &path, &off, &size);
		if (r < 0)
			return r;
	} else {
		const char *d = aim_target_boot_env(in->t, "disk"), *e;

		if (!d || !d[0] || strchr(d, '/'))
			return aim_error_set(-ENODEV, "boot.env names no disk");
		/* the disk's node beside the slot's (the target's device directory) */
		r = aim_target_slot_dev(in->t, in->slot, &path, &off, &size);
		if (r < 0)
			return r;
		e = strrchr(path, '/');
		snprintf(disk, sizeof(disk), "%.*s/%s", e ? (int)(e - path) : 4,
			 e ? path : "/dev", d);
		path = disk;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot open %s: %m", path);
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	r = aim_ptable_read(fd, size, &pt);
	close(fd);
	if (r < 0)
		return aim_error_set(r, "cannot read the partition table of %s", path);
	for (unsigned i = 0; i < pt.nparts; i++) {
		if (pt.parts[i].num != (unsigned)(in->slot == 'a' ? 2 : 3))
			continue;
		for (int k = 0; k < 37; k++)
			ret[k] = (char)(pt.parts[i].uuid[k] >= 'A' && pt.parts[i].uuid[k] <= 'F'
						? pt.parts[i].uuid[k] + 32
						: pt.parts[i].uuid[k]);
		return 0;
	}
	return aim_error_set(-ENODEV, "%s has no partition %d for slot %c", path,
			     in->slot == 'a' ? 2 : 3, in->slot);
}

/* A small payload into memory (NUL-terminated), its SHA-256 checked. */
static int read_payload(struct inst *in, const struct aim_bundle_payload *p, char **ret,
			size_t *ret_len)
{
	_cleanup_free_ char *txt = NULL;
	size_t len = 0;

	if (p->size > (1 << 20))
		return aim_error_set(-EFBIG, "%s of %" PRIu64 " bytes", p->name, p->size);
	txt = malloc((size_t)p->size + 1);
	if (!txt)
		return -ENOMEM;
	for (;;) {
		ssize_t n = aim_bundle_read(in->br, txt + len, (size_t)p->size + 1 - len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > p->size)
			return aim_error_set(-EBADMSG, "%s longer than its manifest size", p->name);
	}
	txt[len] = 0;
	*ret = TAKE_PTR(txt);
	*ret_len = len;
	return 0;
}

/* armbianEnv.txt (rootdev=PARTUUID=, armimmutable.slot=) and an extlinux board's
 * extlinux.conf (/slot-X/ paths, root=PARTUUID=, armimmutable.slot=) name their slot: the
 * bundle's copy was made for the bundle's own image, so it is rewritten for the slot it
 * lands in, after its SHA-256 checked out. */
static int write_slot_config(struct inst *in, const struct aim_bundle_payload *p)
{
	char path[AIM_BUNDLE_NAME_MAX + 16], uuid[37];
	_cleanup_free_ char *txt = NULL, *out = NULL;
	size_t len = 0;
	int r;

	r = read_payload(in, p, &txt, &len);
	if (r < 0)
		return r;
	r = slot_partuuid(in, uuid);
	if (r < 0)
		return r;
	r = in->rpi && !strcmp(p->name, AIM_RPI_CMDLINE)
		    ? aim_rpi_rewrite_cmdline(txt, in->slot, uuid, &out)
	    : strcmp(p->name, AIM_EXTLINUX_CONF)
		    ? aim_bootscript_rewrite_env(txt, in->slot, uuid, &out)
		    : aim_extlinux_rewrite(txt, NULL, in->slot, uuid, &out);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/slot-%c/%s", in->slot, p->name);
	r = aim_target_write_file(in->t, path, out, strlen(out));
	progress(in, "boot");
	return r;
}

static int write_boot_file(struct inst *in, const struct aim_bundle_payload *p)
{
	struct aim_target_file *f = NULL;
	char path[AIM_BUNDLE_NAME_MAX + 16];
	int r;

	snprintf(path, sizeof(path), "/slot-%c/%s", in->slot, p->name);
	r = aim_target_file_begin(in->t, path, &f);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = aim_bundle_read(in->br, in->buf, CHUNK);
		if (n < 0) {
			aim_target_file_abort(f);
			return (int)n;
		}
		if (n == 0)
			break;
		r = aim_target_file_write(f, in->buf, (size_t)n);
		if (r < 0) {
			aim_target_file_abort(f);
			return r;
		}
	}
	/* The whole payload was read and its SHA-256 matched: only now does it appear. */
	r = aim_target_file_commit(f);
	progress(in, "boot");
	return r;
}

/* The bundle's own slot.env must say what the manifest says of the rootfs. */
static int check_carried_env(struct inst *in, const struct aim_bundle_payload *rootfs)
{
	struct aim_slot_info si;
	const char *what = NULL;
	int r = aim_slot_info_parse(in->env, in->env_len, &si);

	if (r < 0)
		return aim_error_set(r, "the bundle's slot.env: %s", aim_error_detail());
	if (si.rootfs_size != rootfs->size || strcmp(si.rootfs_sha256, rootfs->sha256_hex))
		what = "size or SHA-256";
	else if (si.verity != !!rootfs->verity_root[0])
		what = "verity on or off";
	else if (si.verity && (strcmp(si.verity_root, rootfs->verity_root) ||
			       strcmp(si.verity_salt, rootfs->verity_salt) ||
			       si.verity_data_blocks != rootfs->verity_data_blocks ||
			       si.verity_hash_offset != rootfs->verity_hash_offset))
		what = "verity parameters";
	if (what)
		return aim_error_set(-EBADMSG, "the bundle's slot.env and its manifest differ in "
				     "the rootfs %s", what);
	return 0;
}

static int write_slot_env(struct inst *in, const struct aim_bundle_manifest *m,
			  const struct aim_bundle_payload *rootfs)
{
	struct aim_slot_info si = {0};
	int64_t now = in->o->now ? in->o->now : (int64_t)time(NULL);
	int r;

	if (in->env) {
		r = check_carried_env(in, rootfs);
		if (r == 0)
			r = aim_target_slot_env_install(in->t, in->slot, in->env, in->env_len,
							in->env_sig, in->env_sig_len, now,
							aim_bundle_manifest_sha256(in->br));
		return r;
	}

	snprintf(si.version, sizeof(si.version), "%s", m->version);
	snprintf(si.board, sizeof(si.board), "%s", m->board);
	snprintf(si.family, sizeof(si.family), "%s", m->family);
	snprintf(si.arch, sizeof(si.arch), "%s", m->arch);
	snprintf(si.source, sizeof(si.source), "bundle");
	si.rootfs_size = rootfs->size;
	snprintf(si.rootfs_sha256, sizeof(si.rootfs_sha256), "%s", rootfs->sha256_hex);
	si.installed = now;
	snprintf(si.bundle, sizeof(si.bundle), "%s", aim_bundle_manifest_sha256(in->br));
	return aim_target_slot_info_write(in->t, in->slot, &si);
}

/* ---- boot file names on FAT ---- */

struct fatname {
	char *folded;	  /* the name as FAT compares it */
	const char *name; /* as the manifest spells it */
};

/* ASCII letters folded, trailing dots and spaces of each component dropped; -EBADMSG for
 * a component left empty. */
static int fat_fold(const char *name, char **ret)
{
	size_t o = 0;
	char *out = malloc(strlen(name) + 1);

	if (!out)
		return -ENOMEM;
	for (const char *c = name;;) {
		size_t l = strcspn(c, "/"), k = l;

		while (k && (c[k - 1] == '.' || c[k - 1] == ' '))
			k--;
		if (!k) {
			free(out);
			return aim_error_set(-EBADMSG,
					     "boot file '%s': a component of only dots or spaces "
					     "has no name on FAT",
					     name);
		}
		for (size_t i = 0; i < k; i++)
			out[o++] = c[i] >= 'A' && c[i] <= 'Z' ? (char)(c[i] - 'A' + 'a') : c[i];
		if (!c[l])
			break;
		out[o++] = '/';
		c += l + 1;
	}
	out[o] = 0;
	*ret = out;
	return 0;
}

/* The end of a name first, then '/', then every other byte: the names under a directory
 * "d/" come right after a file "d" (and "d-x", "d.x" after them). */
static int fat_order(unsigned char c)
{
	return !c ? 0 : c == '/' ? 1 : c + 1;
}

static int fatname_cmp(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)((const struct fatname *)a)->folded;
	const unsigned char *y = (const unsigned char *)((const struct fatname *)b)->folded;

	for (; *x && *x == *y; x++, y++)
		;
	return fat_order(*x) - fat_order(*y);
}

static int fatname_clash(const struct fatname *a, const struct fatname *b)
{
	size_t l = strlen(a->folded);

	if (!strcmp(a->folded, b->folded))
		return aim_error_set(-EBADMSG,
				     "boot files '%s' and '%s' are one file on FAT (names that "
				     "differ only in case or trailing dots and spaces)",
				     a->name, b->name);
	if (!strncmp(a->folded, b->folded, l) && b->folded[l] == '/')
		return aim_error_set(-EBADMSG,
				     "boot file '%s' is a directory of '%s' on FAT (names that "
				     "differ only in case or trailing dots and spaces)",
				     a->name, b->name);
	return 0;
}

int aim_install_check_boot_names(const struct aim_bundle_manifest *m)
{
	static const char *const special[] = {AIM_SLOT_ENV, AIM_SLOT_ENV_SIG, AIM_SLOT_INSTALL_ENV,
					      "armbianEnv.txt", AIM_EXTLINUX_CONF};
	struct fatname *v = calloc(m->npayloads + 1, sizeof(*v));
	size_t n = 0;
	int r = 0;

	if (!v)
		return -ENOMEM;
	/* slot.env is always there (the bundle's own, or written by install) */
	v[n].name = AIM_SLOT_ENV;
	r = fat_fold(AIM_SLOT_ENV, &v[n++].folded);
	for (size_t i = 0; i < m->npayloads && r == 0; i++) {
		const struct aim_bundle_payload *p = &m->payloads[i];

		if (strcmp(p->kind, AIM_BUNDLE_KIND_BOOT) || !strcmp(p->name, AIM_SLOT_ENV))
			continue;
		if (!strcmp(p->name, AIM_SLOT_INSTALL_ENV)) {
			r = aim_error_set(-EBADMSG, "boot file '%s': install writes that file",
					  p->name);
			break;
		}
		v[n].name = p->name;
		r = fat_fold(p->name, &v[n++].folded);
		for (size_t k = 0; k < ARRAY_SIZE(special) && r == 0; k++)
			if (!strcasecmp(v[n - 1].folded, special[k]) && strcmp(p->name, special[k]))
				r = aim_error_set(-EBADMSG,
						  "boot file '%s' is '%s' on FAT, which install "
						  "only handles under its exact name",
						  p->name, special[k]);
	}
	if (r == 0)
		qsort(v, n, sizeof(*v), fatname_cmp);
	for (size_t i = 1; i < n && r == 0; i++)
		r = fatname_clash(&v[i - 1], &v[i]);
	for (size_t i = 0; i < n; i++)
		free(v[i].folded);
	free(v);
	return r;
}

/* A bundle boots the way the system does: a UEFI (GRUB) system loads a slot through its
 * grub.env (docs/boot.md 4b), which only a bundle made from a UEFI image carries; a
 * U-Boot system would never load such a slot's kernel. */
static int check_boot_chain(struct inst *in, const struct aim_bundle_manifest *m)
{
	int grub = aim_target_exists(in->t, AIM_GRUB_CFG), env = 0;

	if (grub < 0)
		return grub;
	for (size_t i = 0; i < m->npayloads; i++)
		env |= !strcmp(m->payloads[i].kind, AIM_BUNDLE_KIND_BOOT) &&
		       !strcmp(m->payloads[i].name, AIM_GRUB_SLOT_ENV);
	if (grub && !env)
		return aim_error_set(-EINVAL, "this system boots through UEFI and GRUB, and the "
				     "bundle has no %s: it was not made from a UEFI image",
				     AIM_GRUB_SLOT_ENV);
	if (!grub && env)
		return aim_error_set(-EINVAL, "the bundle was made from a UEFI (GRUB) image; this "
				     "system boots through U-Boot");
	return 0;
}

/* Everything checked before the first write. */
static int preflight(struct inst *in, const struct aim_bundle_manifest *m,
		     struct aim_install_result *res)
{
	struct aim_slot_info si;
	char booted = aim_target_booted_slot(in->t), cur;
	const char *path;
	uint64_t off, size;
	const struct aim_bundle_payload *rootfs = aim_bundle_manifest_find(m, AIM_BUNDLE_KIND_ROOTFS);
	int r;

	if (!rootfs)
		return aim_error_set(-ENOENT, "the bundle has no rootfs payload");
	r = aim_install_check_boot_names(m);
	if (r < 0)
		return r;
	r = aim_target_state_load(in->t, &in->st);
	if (r < 0)
		return aim_error_set(r, "no valid slot state (%s): boot the system once or repair "
				     "it with mark-good", in->st.reason);
	/* The slot running now; on an image, the last good (active) one. */
	cur = booted ? booted : in->st.active;
	in->slot = aim_slotstate_other(cur);
	if (in->slot == booted)
		return aim_error_set(-EBUSY, "slot %c is the booted slot", in->slot);
	if (in->slot == in->st.active && in->st.try_slot == cur)
		return aim_error_set(-EBUSY,
				     "slot %c is the fallback while slot %c runs on trial: "
				     "mark-good or rollback first",
				     in->slot, cur);
	if (in->slot == in->st.active)
		return aim_error_set(-EBUSY,
				     "slot %c is the active slot (the next boot starts it) although "
				     "slot %c runs now: reboot first",
				     in->slot, cur);
	res->slot = in->slot;
	res->from_slot = cur;

	r = aim_target_slot_info_read(in->t, cur, &si);
	if (r == -ENOENT)
		return aim_error_set(r, "slot %c has no slot.env: cannot check that the bundle "
				     "fits this system", cur);
	if (r < 0)
		return r;
	snprintf(res->old_version, sizeof(res->old_version), "%s", si.version);
	r = check_compatible(m, &si, cur);
	if (r == 0)
		r = check_boot_chain(in, m);
	if (r < 0)
		return r;
	if (!in->o->allow_downgrade && si.version[0] &&
	    aim_version_compare(m->version, si.version) < 0)
		return aim_error_set(-EPERM,
				     "downgrade from %s (slot %c) to %s refused "
				     "(--allow-downgrade)",
				     si.version, cur, m->version);

	r = aim_target_slot_dev(in->t, in->slot, &path, &off, &size);
	if (r < 0)
		return r;
	if (rootfs->size > size)
		return too_big(rootfs->size, in->slot, size);
	return 0;
}

/* One copy of each kernel and initramfs, as convert stores them (lib/bootfiles.h): of the
 * top-level boot payloads that hold the same bytes (a bundle made from files where
 * "Image" and "vmlinuz-6.1" were one file), the names the boot script on the target
 * (/boot.cmd, else /boot.scr: what U-Boot runs) does not load are not written; when it
 * loads none of them, the longest name stays (the versioned one). No script: all stay. */
static int dup_names(struct inst *in, const struct aim_bundle_manifest *m)
{
	_cleanup_free_ char *refs = NULL;
	size_t len = 0;
	int r = aim_target_read_file(in->t, "/boot.cmd", 1 << 20, &refs, &len);

	if (r == -ENOENT)
		r = aim_target_read_file(in->t, "/boot.scr", 1 << 20, &refs, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->npayloads; i++) {
		const struct aim_bundle_payload *p = &m->payloads[i];
		const char *group[16], *keep = p->name;
		size_t n = 0;

		if (strcmp(p->kind, AIM_BUNDLE_KIND_BOOT) || strchr(p->name, '/'))
			continue;
		for (size_t j = 0; j < m->npayloads && n < ARRAY_SIZE(group); j++) {
			const struct aim_bundle_payload *q = &m->payloads[j];

			if (strcmp(q->kind, AIM_BUNDLE_KIND_BOOT) || strchr(q->name, '/') ||
			    q->size != p->size || memcmp(q->sha256, p->sha256, 32))
				continue;
			group[n++] = q->name;
			if (strlen(q->name) > strlen(keep))
				keep = q->name;
		}
		if (aim_bootscript_drop_dup(refs, len, p->name, group, n, keep)) {
			r = aim_strv_add(&in->skip, p->name, strlen(p->name));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int run(struct inst *in, aim_bundle_read_fn fn, void *ud, struct aim_install_result *res)
{
	const struct aim_bundle_manifest *m;
	const struct aim_bundle_payload *p, *rootfs;
	static const char *const keep_nothing[] = { NULL };
	char why[200] = "";
	unsigned tries = in->o->tries ? in->o->tries : 3;
	int r;

	if (tries > AIM_SLOTSTATE_TRIES_MAX)
		return aim_error_set(-EINVAL, "at most %d trial boots", AIM_SLOTSTATE_TRIES_MAX);
	r = aim_bundle_open(fn, ud, in->o->keys, in->o->nkeys, 0, &in->br);
	if (r < 0)
		return r;
	m = aim_bundle_get_manifest(in->br);
	in->total = aim_bundle_total_size(in->br);
	progress(in, "verify");
	snprintf(res->version, sizeof(res->version), "%s", m->version);
	snprintf(res->bundle_sha256, sizeof(res->bundle_sha256), "%s",
		 aim_bundle_manifest_sha256(in->br));
	rootfs = aim_bundle_manifest_find(m, AIM_BUNDLE_KIND_ROOTFS);
	/* Raspberry Pi: the firmware gives a trial one boot (docs/rpi.md) */
	in->rpi = res->rpi = aim_rpi_target(in->t) > 0;
	if (in->rpi)
		tries = 1;
	r = preflight(in, m, res);
	if (r == 0)
		r = dup_names(in, m);
	if (r < 0)
		return r;
	/* A delta install: which pieces the target holds, the running slot has, or are
	 * fetched (1: none can be reused, the whole bundle is fetched; the caller says why) */
	if (in->o->delta) {
		progress(in, "plan");
		r = aim_delta_plan(in->o->delta, in->t, res->from_slot, in->slot);
		if (r < 0)
			return r;
	}

	/* From here on the target slot is never bootable until step 6. */
	r = aim_slotstate_mark_bad(&in->st, in->slot, "install in progress", why, sizeof(why));
	if (r < 0)
		return aim_error_set(r, "cannot mark slot %c bad: %s", in->slot, why);
	if (r > 0)
		r = state_store(in);
	else if (in->rpi) /* a tryboot must not reach the slot being written */
		r = aim_rpi_sync(in->t, &in->st);
	if (r < 0)
		return r;
	r = aim_target_prune_slot(in->t, in->slot,
				  in->o->delta ? aim_delta_keep(in->o->delta) : keep_nothing);
	if (r < 0)
		return r;

	while ((r = aim_bundle_next(in->br, &p)) > 0) {
		if (!strcmp(p->kind, AIM_BUNDLE_KIND_ROOTFS)) {
			r = write_rootfs(in, p);
			res->rootfs_bytes = p->size;
		} else if (!strcmp(p->kind, AIM_BUNDLE_KIND_BOOT) && !strcmp(p->name, AIM_SLOT_ENV)) {
			/* the bundle's own slot.env: written below, after the other files */
			r = read_payload(in, p, &in->env, &in->env_len);
		} else if (!strcmp(p->kind, AIM_BUNDLE_KIND_BOOT) &&
			   !strcmp(p->name, AIM_SLOT_ENV_SIG)) {
			r = read_payload(in, p, &in->env_sig, &in->env_sig_len);
		} else if (!strcmp(p->kind, AIM_BUNDLE_KIND_BOOT) &&
			   aim_strv_has(&in->skip, p->name, strlen(p->name))) {
			continue; /* another name of the same file: read and hashed, not kept */
		} else if (!strcmp(p->kind, AIM_BUNDLE_KIND_BOOT)) {
			r = strcmp(p->name, "armbianEnv.txt") && strcmp(p->name, AIM_EXTLINUX_CONF) &&
					    (!in->rpi || strcmp(p->name, AIM_RPI_CMDLINE))
				    ? write_boot_file(in, p)
				    : write_slot_config(in, p);
			res->boot_files++;
		} else {
			continue; /* a later kind: skipped, still hashed by aim_bundle_next() */
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	progress(in, "finish");
	r = write_slot_env(in, m, rootfs);
	if (r < 0)
		return r;
	r = aim_slotstate_set_trial(&in->st, in->slot, tries, NULL, why, sizeof(why));
	if (r < 0)
		return aim_error_set(r, "cannot put slot %c on trial: %s", in->slot, why);
	if (r > 0) {
		r = state_store(in);
		if (r < 0)
			return r;
	}
	res->tries = tries;
	res->bundle_bytes = aim_bundle_position(in->br);
	return 0;
}

int aim_install_run(struct aim_target *t, aim_bundle_read_fn fn, void *ud,
		    const struct aim_install_opts *o, struct aim_install_result *ret)
{
	struct aim_install_result res = {0};
	struct inst in = { .t = t, .o = o };
	int r;

	in.buf = malloc(CHUNK);
	if (!in.buf)
		return -ENOMEM;
	r = run(&in, fn, ud, &res);
	aim_bundle_close(in.br);
	free(in.buf);
	free(in.env);
	free(in.env_sig);
	aim_strv_free(in.skip.v);
	if (r == 0 && ret)
		*ret = res;
	return r;
}
