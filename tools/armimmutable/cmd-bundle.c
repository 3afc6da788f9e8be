/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * armimmutable bundle create|info|verify: signed update bundles (lib/bundle.h,
 * docs/ota.md). create takes an Armbian image through convert's own slot step (lib/slot.h:
 * slot A's squashfs and its /slot-a/ boot files, as convert would make them), or a prepared
 * squashfs plus a directory of boot files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle-delta.h"
#include "delta-index.h"
#include "cmd.h"
#include "convert-opts.h"
#include "convert.h"
#include "input.h"
#include "password.h"
#include "slot.h"
#include "sign.h"
#include "slotenv.h"
#include "verity.h"
#include "util/copy.h"
#include "util/sha256.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/text.h"

#define MAX_KEYS 16

/* convert's defaults (the same image must give the same slot), slot B left empty. */
static struct aim_convert_opts conv = {.sqfs = {.comp = "zstd", .frag_group = AIM_SQFS_DELTA_GROUP}, .slot_b_empty = 1,
				       .trial_timeout = AIM_TRIAL_TIMEOUT_DEFAULT};
static const char *arg_key, *arg_password_file, *arg_out, *arg_image, *arg_rootfs, *arg_bootdir;
static const char *arg_delta_from;
static const char *arg_version, *arg_board, *arg_family, *arg_linuxfamily, *arg_arch;
static const char *arg_pub[MAX_KEYS];
static unsigned arg_npub;
static int arg_force, arg_json, arg_no_trust_signer;

static void help(void)
{
	puts("Usage: armimmutable bundle create -k SECKEY [-o OUT.aimb] --from-image IMAGE [OPTIONS]\n"
	     "       armimmutable bundle create -k SECKEY [-o OUT.aimb] --rootfs SQUASHFS\n"
	     "                                  --boot-dir DIR --version V --board B --family F\n"
	     "                                  --arch A [--linuxfamily L]\n"
	     "       armimmutable bundle info BUNDLE [-p PUBKEY] [--json] [--delta-from BASE]\n"
	     "       armimmutable bundle verify BUNDLE -p PUBKEY [-p PUBKEY...]\n"
	     "A signed update bundle: manifest, its minisign signature, the root squashfs and\n"
	     "the slot's boot files (docs/ota.md).\n\n"
	     "create:\n"
	     "  -k, --key FILE          secret key (keygen or minisign -G)\n"
	     "      --password-file F   password of an encrypted key: first line of F\n"
	     "                          (default: asked on the terminal, or a line of stdin)\n"
	     "  -o, --output FILE       the bundle (default BOARD-VERSION.aimb)\n"
	     "      --from-image IMG    an Armbian image (.img, .img.xz, .img.zst), converted as\n"
	     "                          `convert` does; -c, -l, -b, -j, --sqfs-layout,\n"
	     "                          --overlay, --persist, --no-keep-identity,\n"
	     "                          --trial-timeout, --trust as for convert; the signing\n"
	     "                          key's public half is trusted by the new root too\n"
	     "                          (so the next update installs), unless\n"
	     "      --no-trust-signer   is given\n"
	     "      --rootfs SQUASHFS   a prepared root squashfs, with --boot-dir DIR (the files\n"
	     "                          of /slot-X/) and --version, --board, --family, --arch\n"
	     "      --version V ...     override what the image's /etc/armbian-release says\n"
	     "      --tmpdir DIR        temporary files (default $TMPDIR or /var/tmp)\n"
	     "  -f, --force             overwrite the output\n"
	     "info: prints the manifest; the signature is checked only with -p. With\n"
	     "--delta-from BASE (a converted image: its active slot; or a bundle): the bytes a\n"
	     "device running BASE would fetch to install BUNDLE as a delta (docs/delta.md).\n"
	     "verify: checks the signature and the SHA-256 of every payload.\n\n"
	     "Exit status: 0 success, 1 failed or not valid (one line per problem), 2 usage.");
}

enum { O_PW = 256, O_IMG, O_ROOTFS, O_BOOTDIR, O_VER, O_BOARD, O_FAMILY, O_LFAMILY, O_ARCH,
       O_JSON, O_NOSIGNER, O_DELTA_FROM };

/* One table for create, info and verify, with the options create shares with convert. */
static const struct cli_option options[] = {
	{"key", 'k', required_argument},
	{"password-file", O_PW, required_argument},
	{"output", 'o', required_argument},
	{"from-image", O_IMG, required_argument},
	{"rootfs", O_ROOTFS, required_argument},
	{"boot-dir", O_BOOTDIR, required_argument},
	{"version", O_VER, required_argument},
	{"board", O_BOARD, required_argument},
	{"family", O_FAMILY, required_argument},
	{"linuxfamily", O_LFAMILY, required_argument},
	{"arch", O_ARCH, required_argument},
	{"no-trust-signer", O_NOSIGNER, no_argument},
	{"public", 'p', required_argument},
	{"json", O_JSON, no_argument},
	{"delta-from", O_DELTA_FROM, required_argument},
	{"force", 'f', no_argument},
	{"help", 'h', no_argument},
	{0},
};

/* Returns 0 with the operands in a, 1 after --help, or -AIM_E_USAGE. */
static int parse_argv(int argc, char **argv, const char *sub, struct cli_args *a)
{
	static const struct cli_option *const tables[] = {options, convert_slot_options, NULL};
	const char *val;
	int c, r;

	cli_args_init(a, sub, argc, argv, tables);
	while ((c = cli_args_next(a, &val)) > 0) {
		/* one --trust is kept for the signer's own key */
		r = convert_slot_option(sub, &conv, c, val, AIM_MAX_TRUST - 1);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		switch (c) {
		case 'k': arg_key = val; break;
		case O_PW: arg_password_file = val; break;
		case 'o': arg_out = val; break;
		case O_IMG: arg_image = val; break;
		case O_ROOTFS: arg_rootfs = val; break;
		case O_BOOTDIR: arg_bootdir = val; break;
		case O_VER: arg_version = val; break;
		case O_BOARD: arg_board = val; break;
		case O_FAMILY: arg_family = val; break;
		case O_LFAMILY: arg_linuxfamily = val; break;
		case O_ARCH: arg_arch = val; break;
		case O_JSON: arg_json = 1; break;
		case O_DELTA_FROM: arg_delta_from = val; break;
		case O_NOSIGNER: arg_no_trust_signer = 1; break;
		case 'f': arg_force = 1; break;
		case 'p':
			if (arg_npub >= MAX_KEYS)
				return usage_err(sub, "at most %d public keys", MAX_KEYS);
			arg_pub[arg_npub++] = val;
			break;
		case 'h':
			help();
			return 1;
		}
	}
	return c;
}

/* ---- create ---- */

static char tmp_dir[4096], tmp_out[4200];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static void tmp_cleanup(void)
{
	if (tmp_dir[0])
		nftw(tmp_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tmp_dir[0] = 0;
}

/* What an interrupt removes: the temporary directory (the slot being built, a decompressed
 * input) and the partial output. */
static void interrupt_cleanup(void)
{
	tmp_cleanup();
	if (tmp_out[0])
		unlink(tmp_out);
}

/* The files under dir/rel, sorted, as boot payloads named by their relative path. */
static int add_boot_dir(struct aim_bundle_writer *w, const char *dir, const char *rel)
{
	struct dirent **ents = NULL;
	char path[8200], name[4096];
	int n, r = 0;

	snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return aim_error_set(-errno, "cannot list %s: %m", path);
	for (int i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;
		struct stat st;

		if (r < 0 || !strcmp(e, ".") || !strcmp(e, ".."))
			continue;
		/* slot.env and its signature are made for the bundle (make_slot_env); so is
		 * the block index of a prepared --rootfs (add_index) */
		if (!rel[0] && (!strcmp(e, AIM_SLOT_ENV) || !strcmp(e, AIM_SLOT_ENV_SIG) ||
				(arg_rootfs && !strcmp(e, AIM_DELTA_INDEX_NAME))))
			continue;
		if ((size_t)snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", e) >=
		    sizeof(name))
			r = aim_error_set(-ENAMETOOLONG, "%s/%s: path too long", rel, e);
		else if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
			r = aim_error_set(-ENAMETOOLONG, "%s/%s: path too long", dir, name);
		else if (lstat(path, &st) < 0)
			r = aim_error_set(-errno, "%s: %m", path);
		else if (S_ISDIR(st.st_mode))
			r = add_boot_dir(w, dir, name);
		else if (S_ISREG(st.st_mode))
			r = aim_bundle_writer_add_file(w, name, AIM_BUNDLE_KIND_BOOT, path);
		else
			r = aim_error_set(-EOPNOTSUPP, "%s: only regular files and directories can be "
						   "boot files (FAT has nothing else)", path);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

struct from_image {
	struct aim_input *in;
	struct aim_image_info ii;
	struct aim_slot slot;
	int sq_fd; /* slot.slot_bytes of slot image: the squashfs, with verity its tree */
	char sha256[65]; /* of the slot image */
	uint8_t md[AIM_SHA256_BYTES];
};

#ifdef AIM_DEVICE_BUILD
/* No disk images in the device build (docs/device-build.md): the --rootfs form works. */
static int build_slot(struct from_image *fi)
{
	(void)fi;
	return aim_error_set(-EOPNOTSUPP,
			     "%s: this build of armimmutable (device build) cannot read disk "
			     "images; make the bundle on a host, or from a prepared squashfs with "
			     "--rootfs and --boot-dir",
			     arg_image);
}

static void from_image_done(struct from_image *fi)
{
	(void)fi;
}
#else
/* Slot A of the image as convert builds it: its squashfs in tmp_dir/rootfs.squashfs, its
 * boot files in tmp_dir/slot-a/. */
static int build_slot(struct from_image *fi)
{
	static char dev[4096], hooks[4096];
	struct aim_convert_plan ids;
	struct progress pr = {0};
	struct aim_slot_sink k = {.dir = tmp_dir, .max = 64ULL << 30, .copy_fd = -1,
				  .slot_files_only = 1,
				  .progress = conv_progress, .ud = &pr};
	char sq[4200];
	int r;

	progress_begin(&pr, "decompress", 0);
	r = aim_input_open(arg_image, tmp_dir, conv.sqfs.threads, progress_cb, &pr, &fi->in);
	progress_end(&pr);
	if (r < 0)
		return r;
	r = aim_image_analyze(aim_input_fd(fi->in), aim_input_path(fi->in),
			      aim_input_size(fi->in), &fi->ii);
	if (r < 0)
		return r;
	if (!fi->ii.convertible)
		return aim_error_set(-EOPNOTSUPP, "cannot convert this image: %s", fi->ii.reason);
	r = verity_preflight("bundle create", &fi->ii, conv.verity);
	if (r < 0)
		return r;
	find_device_side(dev, hooks, sizeof(dev));
	conv.device_dir = dev;
	conv.hooks_dir = hooks;
	snprintf(sq, sizeof(sq), "%s/rootfs.squashfs", tmp_dir);
	fi->sq_fd = k.fd = open(sq, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fi->sq_fd < 0)
		return aim_error_set(-errno, "cannot create %s: %m", sq);
	/* armbianEnv.txt names the root partition convert gives slot A. */
	aim_convert_ids(&fi->ii, &ids);
	for (int i = 0; i < 2; i++)
		snprintf(fi->slot.root_partuuid[i], sizeof(fi->slot.root_partuuid[i]), "%s",
			 ids.partuuid[1 + i]);
	r = aim_slot_build(aim_input_path(fi->in), &fi->ii, &conv, &k, &fi->slot);
	progress_end(&pr);
	if (r < 0)
		return r;
	if (!fi->slot.ab_boot)
		return aim_error_set(-EOPNOTSUPP, "the converted slot would not boot A/B: %s",
				     fi->slot.boot_note);
	/* The slot step hashed the slot image for slot.env. */
	{
		_cleanup_free_ char *txt = NULL;
		struct aim_slot_info si;
		size_t n;

		snprintf(sq, sizeof(sq), "%s/slot-a/%s", tmp_dir, AIM_SLOT_ENV);
		r = aim_read_file(sq, 1 << 16, &txt, &n);
		if (r == 0)
			r = aim_slot_info_parse(txt, n, &si);
		if (r < 0)
			return r;
		snprintf(fi->sha256, sizeof(fi->sha256), "%s", si.rootfs_sha256);
	}
	return 0;
}

static void from_image_done(struct from_image *fi)
{
	aim_input_free(fi->in);
}

/* --rootfs with --verity on: the tree on a copy of the squashfs in tmp_dir. */
static int rootfs_tree(struct from_image *fi, const struct aim_seckey *sk, int fd, uint64_t size)
{
	struct aim_pubkey pk;
	uint8_t salt[AIM_VERITY_HASH_BYTES];
	char p[4200];
	int r;

	snprintf(p, sizeof(p), "%s/rootfs.img", tmp_dir);
	fi->sq_fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	r = fi->sq_fd < 0 ? aim_error_set(-errno, "cannot create %s: %m", p) : 0;
	if (r == 0)
		r = aim_copy_sparse(fd, 0, fi->sq_fd, 0, size, NULL, NULL, NULL);
	aim_seckey_pubkey(sk, &pk);
	if (r == 0)
		r = aim_verity_salt(pk.pk, salt);
	if (r == 0)
		r = aim_verity_format(p, size, salt, &fi->slot.v);
	if (r < 0)
		return r;
	fi->slot.verity = 1;
	fi->slot.slot_bytes = fi->slot.v.hash_offset + fi->slot.v.hash_size;
	return 0;
}
#endif

/* A prepared squashfs (--rootfs): its SHA-256, and with --verity on its tree. */
static int prepare_rootfs(struct from_image *fi, const struct aim_seckey *sk)
{
	_cleanup_(aim_sha256_done) struct aim_sha256 h = {0};
	struct stat st;
	int fd, r;

	if (conv.verity == AIM_VERITY_AUTO)
		aim_info("bundle create: verity off: a prepared --rootfs has no kernel to check "
			 "(--verity on adds a tree)");
	fd = fi->sq_fd = open(arg_rootfs, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return aim_error_set(-errno, "%s: %m", arg_rootfs);
	if (!S_ISREG(st.st_mode))
		return aim_error_set(-EINVAL, "%s is not a regular file", arg_rootfs);
	fi->slot.sqfs_size = fi->slot.slot_bytes = (uint64_t)st.st_size;
	if (conv.verity == AIM_VERITY_ON) {
#ifdef AIM_DEVICE_BUILD
		(void)sk;
		return aim_error_set(-EOPNOTSUPP, "this build of armimmutable (device build) "
				     "cannot make verity trees: make the bundle on a host");
#else
		r = rootfs_tree(fi, sk, fd, (uint64_t)st.st_size);
		close(fd);
		if (r < 0)
			return r;
#endif
	}
	r = aim_sha256_init(&h);
	if (r == 0)
		r = aim_copy_sparse(fi->sq_fd, 0, -1, 0, fi->slot.slot_bytes, &h, NULL, NULL);
	if (r == 0)
		r = aim_sha256_final(&h, fi->md);
	if (r == 0)
		aim_sha256_hex(fi->md, fi->sha256);
	return r;
}

/* The block index of a prepared --rootfs, for delta installs (lib/delta-index.h); the
 * device build cannot read a squashfs, so its bundles have none (installed whole). */
static int add_index(struct aim_bundle_writer *w, const struct from_image *fi)
{
#ifdef AIM_DEVICE_BUILD
	(void)w, (void)fi;
	return 0;
#else
	_cleanup_(aim_delta_index_freep) struct aim_delta_index *x = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	char p[4200];
	size_t len;
	int r;

	r = aim_delta_index_make(fi->sq_fd, 0, fi->slot.slot_bytes, fi->md, "prepared", &x);
	if (r == -EBADMSG) { /* not a squashfs we can read: installed whole */
		aim_info("bundle create: no block index (delta installs read the whole bundle): "
			 "%s: %s", arg_rootfs, aim_error_text(r));
		return 0;
	}
	if (r == 0)
		r = aim_delta_index_format(x, &buf, &len);
	snprintf(p, sizeof(p), "%s/%s", tmp_dir, AIM_DELTA_INDEX_NAME);
	if (r == 0)
		r = aim_write_file_atomic(p, buf, len, 0644);
	if (r == 0)
		r = aim_bundle_writer_add_file(w, AIM_DELTA_INDEX_NAME, AIM_BUNDLE_KIND_BOOT, p);
	if (r < 0)
		return aim_error_set(r, "the block index of %s: %s", arg_rootfs, aim_error_text(r));
	return 0;
#endif
}

static void hex32(const uint8_t *b, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int set_verity(struct aim_bundle_writer *w, const struct aim_verity *v)
{
	char root[65], salt[65];

	hex32(v->root, root);
	hex32(v->salt, salt);
	return aim_bundle_writer_set_verity(w, root, salt, v->data_blocks, v->hash_offset);
}

/* The slot.env the bundle carries and its signature (docs/verity.md): install writes them
 * as they are, so that the device can check the signature of the exact bytes. */
static int add_slot_env(struct aim_bundle_writer *w, const struct aim_bundle_meta *meta,
			const struct from_image *fi, const struct aim_seckey *sk)
{
	struct aim_slot_info si = {.source = "bundle", .rootfs_size = fi->slot.slot_bytes,
				   .installed = (int64_t)meta->created};
	char dir[4200], p[4300];
	int r;

	snprintf(si.version, sizeof(si.version), "%s", meta->version);
	snprintf(si.board, sizeof(si.board), "%s", meta->board);
	snprintf(si.family, sizeof(si.family), "%s", meta->family);
	snprintf(si.arch, sizeof(si.arch), "%s", meta->arch);
	snprintf(si.rootfs_sha256, sizeof(si.rootfs_sha256), "%s", fi->sha256);
	if (fi->slot.verity)
		aim_slot_info_set_verity(&si, &fi->slot.v);
	snprintf(dir, sizeof(dir), "%s/env", tmp_dir);
	if (mkdir(dir, 0700) < 0)
		return aim_error_set(-errno, "cannot create %s: %m", dir);
	r = aim_slot_env_write(dir, &si, sk, (uint32_t)MIN(meta->created, (uint64_t)UINT32_MAX));
	snprintf(p, sizeof(p), "%s/%s", dir, AIM_SLOT_ENV);
	if (r == 0)
		r = aim_bundle_writer_add_file(w, AIM_SLOT_ENV, AIM_BUNDLE_KIND_BOOT, p);
	snprintf(p, sizeof(p), "%s/%s", dir, AIM_SLOT_ENV_SIG);
	if (r == 0)
		r = aim_bundle_writer_add_file(w, AIM_SLOT_ENV_SIG, AIM_BUNDLE_KIND_BOOT, p);
	return r;
}

static int create_check_args(const struct cli_args *a)
{
	if (a->noperands)
		return usage_err("bundle create", "unexpected argument");
	if (!arg_key)
		return usage_err("bundle create", "needs -k SECKEY");
	if (!!arg_image == !!arg_rootfs)
		return usage_err("bundle create", "needs either --from-image or --rootfs");
	if (arg_rootfs && (!arg_bootdir || !arg_version || !arg_board || !arg_family || !arg_arch))
		return usage_err("bundle create", "--rootfs needs --boot-dir, --version, --board, "
						  "--family and --arch");
	if (arg_image && arg_bootdir)
		return usage_err("bundle create", "--boot-dir goes with --rootfs");
	return 0;
}

static int bundle_create(int argc, char **argv)
{
	struct from_image fi = {.sq_fd = -1};
	struct aim_bundle_writer *w = NULL;
	struct aim_bundle_meta meta = {0};
	struct aim_outfile out = {.fd = -1};
	struct aim_seckey sk;
	struct progress pr = {0};
	char bootdir[4200], defout[512], id[17];
	const char *base;
	struct cli_args a;
	int have_epoch, r = parse_argv(argc, argv, "bundle create", &a);

	if (r != 0)
		return r > 0 ? 0 : r;
	if ((r = create_check_args(&a)) < 0 || (r = convert_slot_check("bundle create", &conv)) < 0)
		return r;
	aim_error_clear();
	/* as convert: the same image gives the same squashfs, and the same bundle */
	have_epoch = source_date_epoch("bundle create", &conv.epoch);
	if (have_epoch < 0)
		return have_epoch;
	r = seckey_load(arg_key, arg_password_file, &sk);
	if (r < 0)
		return aim_err(r, "bundle create");
	watch_signals(interrupt_cleanup, "no bundle was written");
	base = conv.tmpdir ? conv.tmpdir : getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/armimmutable-bundle-XXXXXX", base);
	if (!mkdtemp(tmp_dir)) {
		tmp_dir[0] = 0;
		r = aim_error_set(-errno, "cannot create a temporary directory in %s: %m", base);
		goto out;
	}
	/* The new root must accept the next bundle signed with the same key. */
	if (arg_image && !arg_no_trust_signer && (r = trust_signer(&sk, tmp_dir, &conv)) < 0)
		goto out;
	conv.sign = &sk;
	if (arg_image) {
		r = build_slot(&fi);
		if (r < 0) {
			aim_error_set(r, "%s: %s", arg_image, aim_error_text(r));
			goto out;
		}
		snprintf(bootdir, sizeof(bootdir), "%s/slot-a", tmp_dir);
		meta.version = fi.ii.version;
		meta.board = fi.ii.board;
		meta.family = fi.ii.family;
		meta.linuxfamily = fi.ii.linuxfamily;
		meta.arch = fi.ii.arch[0] ? fi.ii.arch : fi.ii.release_arch;
	} else {
		r = prepare_rootfs(&fi, &sk);
		if (r < 0)
			goto out;
		snprintf(bootdir, sizeof(bootdir), "%s", arg_bootdir);
	}
	meta.version = arg_version ? arg_version : meta.version;
	meta.board = arg_board ? arg_board : meta.board;
	meta.family = arg_family ? arg_family : meta.family;
	meta.linuxfamily = arg_linuxfamily ? arg_linuxfamily : meta.linuxfamily;
	meta.arch = arg_arch ? arg_arch : meta.arch;
	meta.created = have_epoch ? conv.epoch : (uint64_t)time(NULL);
	r = aim_bundle_writer_new(&meta, &w);
	if (r == 0)
		r = aim_bundle_writer_add_fd(w, "rootfs.squashfs", AIM_BUNDLE_KIND_ROOTFS,
					     fi.sq_fd, 0, fi.slot.slot_bytes);
	if (r == 0 && fi.slot.verity)
		r = set_verity(w, &fi.slot.v);
	if (r == 0)
		r = add_boot_dir(w, bootdir, "");
	if (r == 0 && arg_rootfs)
		r = add_index(w, &fi);
	if (r == 0)
		r = add_slot_env(w, &meta, &fi, &sk);
	if (r < 0)
		goto out;
	if (!arg_out) {
		snprintf(defout, sizeof(defout), "%s-%s.aimb", meta.board, meta.version);
		arg_out = defout;
	}
	r = aim_outfile_open(&out, arg_out, arg_force);
	if (r < 0)
		goto out;
	snprintf(tmp_out, sizeof(tmp_out), "%s", out.tmp);
	progress_begin(&pr, "bundle", 0);
	r = aim_bundle_write(w, &sk, out.fd, progress_cb, &pr);
	progress_end(&pr);
	if (r == 0)
		r = aim_outfile_commit(&out);
	else
		aim_outfile_abort(&out);
	if (r == 0) {
		aim_sign_keyid(sk.keynum, id);
		aim_info("Wrote %s: %s %s for %s (%s), signed with key %s", arg_out, meta.board,
			 meta.version, meta.family, meta.arch, id);
	}
out:
	aim_seckey_wipe(&sk);
	aim_bundle_writer_free(w);
	if (fi.sq_fd >= 0)
		close(fi.sq_fd);
	from_image_done(&fi);
	tmp_cleanup();
	if (r < 0)
		return aim_err(r, "bundle create");
	return 0;
}

/* ---- info, verify ---- */

static int load_pubkeys(struct aim_pubkey *keys)
{
	for (unsigned i = 0; i < arg_npub; i++) {
		int r = aim_pubkey_load(arg_pub[i], &keys[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int open_bundle(const char *path, int *fd, unsigned flags, struct aim_bundle_reader **ret)
{
	struct aim_pubkey keys[MAX_KEYS];
	struct stat st;
	int r = load_pubkeys(keys);

	if (r < 0)
		return r;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return aim_error_set(-errno, "cannot open %s: %m", path);
	if (fstat(*fd, &st) < 0 || S_ISDIR(st.st_mode))
		return aim_error_set(-EISDIR, "%s is a directory", path);
	r = aim_bundle_open(aim_bundle_fd_read, fd, keys, arg_npub, flags, ret);
	if (r < 0)
		return aim_error_set(r, "%s: %s", path, aim_error_text(r));
	return 0;
}

static void print_json(const struct aim_bundle_reader *b, const char *path)
{
	const struct aim_bundle_manifest *m = aim_bundle_get_manifest(b);
	const struct aim_sig *s = aim_bundle_signature(b);
	struct aim_json j;
	char id[17];

	aim_json_init(&j, stdout, 1);
	aim_json_obj_begin(&j, NULL);
	aim_json_str(&j, "bundle", path);
	aim_json_u64(&j, "format", m->format);
	aim_json_str(&j, "version", m->version);
	aim_json_str(&j, "board", m->board);
	aim_json_str(&j, "family", m->family);
	aim_json_str(&j, "linuxfamily", m->linuxfamily);
	aim_json_str(&j, "arch", m->arch);
	aim_json_u64(&j, "created", m->created);
	aim_json_str(&j, "generator", m->generator);
	aim_json_str(&j, "manifest_sha256", aim_bundle_manifest_sha256(b));
	aim_json_u64(&j, "size", aim_bundle_total_size(b));
	aim_json_bool(&j, "signature_checked", s != NULL);
	if (s) {
		aim_sign_keyid(s->keynum, id);
		aim_json_str(&j, "key_id", id);
		aim_json_str(&j, "trusted_comment", s->trusted_comment);
	}
	aim_json_arr_begin(&j, "payloads");
	for (size_t i = 0; i < m->npayloads; i++) {
		const struct aim_bundle_payload *p = &m->payloads[i];
		aim_json_obj_begin(&j, NULL);
		aim_json_str(&j, "name", p->name);
		aim_json_str(&j, "kind", p->kind);
		aim_json_u64(&j, "offset", p->offset);
		aim_json_u64(&j, "size", p->size);
		aim_json_str(&j, "sha256", p->sha256_hex);
		aim_json_str(&j, "verity_root", p->verity_root);
		aim_json_obj_end(&j);
	}
	aim_json_arr_end(&j);
	aim_json_obj_end(&j);
	aim_json_end(&j);
}

/* Every string from the bundle is escaped (lib/base/text.h): the manifest is not verified
 * without -p, and even a signed trusted comment may hold bytes a terminal acts on. */
static int print_text(const struct aim_bundle_reader *b, const char *path)
{
	const struct aim_bundle_manifest *m = aim_bundle_get_manifest(b);
	const struct aim_sig *s = aim_bundle_signature(b);
	enum { PATH, VERSION, BOARD, FAMILY, LFAMILY, ARCH, GENERATOR, TRUSTED, NSTR };
	const char *raw[NSTR] = {path, m->version, m->board, m->family, m->linuxfamily,
				 m->arch, m->generator, s ? s->trusted_comment : ""};
	char *e[NSTR] = {NULL}, id[17];
	int r = 0;

	for (size_t i = 0; i < NSTR; i++)
		if (!(e[i] = aim_text_escape(raw[i])))
			r = -ENOMEM;
	if (r < 0)
		goto out;
	printf("Bundle:      %s (%" PRIu64 " bytes, format %u)\n", e[PATH],
	       aim_bundle_total_size(b), m->format);
	printf("Version:     %s\nBoard:       %s\nFamily:      %s%s%s%s\nArch:        %s\n",
	       e[VERSION], e[BOARD], e[FAMILY], m->linuxfamily[0] ? " (" : "", e[LFAMILY],
	       m->linuxfamily[0] ? ")" : "", e[ARCH]);
	printf("Created:     %" PRIu64 "\nGenerator:   %s\nManifest:    sha256 %s\n", m->created,
	       e[GENERATOR], aim_bundle_manifest_sha256(b));
	if (s) {
		aim_sign_keyid(s->keynum, id);
		printf("Signature:   good, key %s\nTrusted:     %s\n", id, e[TRUSTED]);
	} else {
		printf("Signature:   not checked (no -p PUBKEY)\n");
	}
	printf("Payloads:    %zu\n", m->npayloads);
	for (size_t i = 0; i < m->npayloads && r == 0; i++) {
		const struct aim_bundle_payload *p = &m->payloads[i];
		_cleanup_free_ char *kind = aim_text_escape(p->kind);
		_cleanup_free_ char *name = aim_text_escape(p->name);

		if (!kind || !name)
			r = -ENOMEM;
		else
			printf("  %-6s %12" PRIu64 "  %.16s  %s\n", kind, p->size, p->sha256_hex,
			       name);
	}
out:
	for (size_t i = 0; i < NSTR; i++)
		free(e[i]);
	return r;
}

static int bundle_info(int argc, char **argv)
{
	struct aim_bundle_reader *b = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct cli_args a;
	const char *path;
	int r = parse_argv(argc, argv, "bundle info", &a);

	if (r != 0)
		return r > 0 ? 0 : r;
	if (a.noperands != 1)
		return usage_err("bundle info", "needs one BUNDLE");
	path = a.operand[0];
	aim_error_clear();
	if (arg_delta_from) {
		struct aim_pubkey keys[MAX_KEYS];

		r = load_pubkeys(keys);
		if (r < 0)
			return aim_err(r, "bundle info");
		return bundle_delta_from(path, arg_delta_from, keys, arg_npub, arg_json) < 0 ? -1 : 0;
	}
	r = open_bundle(path, &fd, arg_npub ? 0 : AIM_BUNDLE_NO_VERIFY, &b);
	if (r < 0)
		return aim_err(r, "bundle info");
	if (arg_json)
		print_json(b, path);
	else
		r = print_text(b, path);
	aim_bundle_close(b);
	return r < 0 ? aim_err(r, "bundle info") : 0;
}

static int bundle_verify(int argc, char **argv)
{
	struct aim_bundle_reader *b = NULL;
	const struct aim_bundle_payload *p;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct progress pr = {0};
	unsigned bad = 0, n = 0;
	char id[17];
	struct cli_args a;
	const char *path;
	int r = parse_argv(argc, argv, "bundle verify", &a);

	if (r != 0)
		return r > 0 ? 0 : r;
	if (a.noperands != 1)
		return usage_err("bundle verify", "needs one BUNDLE");
	if (!arg_npub)
		return usage_err("bundle verify", "needs -p PUBKEY");
	path = a.operand[0];
	aim_error_clear();
	r = open_bundle(path, &fd, 0, &b);
	if (r < 0)
		return aim_err(r, "bundle verify");
	buf = malloc(1 << 20);
	if (!buf) {
		aim_bundle_close(b);
		return aim_err(-ENOMEM, "bundle verify");
	}
	progress_begin(&pr, "verify", aim_bundle_total_size(b));
	while ((r = aim_bundle_next(b, &p)) > 0) {
		ssize_t k;
		n++;
		while ((k = aim_bundle_read(b, buf, 1 << 20)) > 0)
			progress_update(&pr, aim_bundle_position(b));
		if (k == -AIM_E_HASH) {
			/* One line per bad payload, then go on with the next. */
			progress_end(&pr);
			aim_err((int)k, "bundle verify: %s", path);
			aim_error_clear();
			bad++;
		} else if (k < 0) {
			r = (int)k;
			break;
		}
	}
	progress_end(&pr);
	if (r < 0) {
		aim_err(r, "bundle verify: %s", path);
		bad++;
	}
	if (!bad) {
		aim_sign_keyid(aim_bundle_signature(b)->keynum, id);
		aim_info("%s: good signature (key %s), %u payloads match the manifest",
			 path, id, n);
	}
	aim_bundle_close(b);
	return bad ? -EBADMSG : 0;
}

int cmd_bundle(int argc, char **argv)
{
	if (argc < 2)
		return usage_err("bundle", "needs create, info or verify");
	if (!strcmp(argv[1], "create"))
		return bundle_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return bundle_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return bundle_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		help();
		return 0;
	}
	return usage_err("bundle", "unknown subcommand '%s' (create, info, verify)", argv[1]);
}
