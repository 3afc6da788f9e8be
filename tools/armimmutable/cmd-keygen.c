/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable keygen: an Ed25519 key pair in minisign's file formats (lib/sign.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-opts.h"
#include "cmd.h"
#include "password.h"
#include "sign.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

static const char *arg_pub = "armimmutable.pub", *arg_sec = "armimmutable.key";
static const char *arg_password_file;
static int arg_no_password, arg_force;

static void help(void)
{
	puts("Usage: armimmutable keygen [OPTIONS]\n"
	     "Make an Ed25519 signing key pair for update bundles, in minisign's formats:\n"
	     "`minisign -V -p PUB` checks what we sign, and keys made by `minisign -G` work\n"
	     "with `bundle create -k`.\n\n"
	     "  -p, --public FILE        public key (default armimmutable.pub)\n"
	     "  -s, --secret FILE        secret key, mode 0600 (default armimmutable.key)\n"
	     "  -W, --no-password        leave the secret key unencrypted\n"
	     "      --password-file F    the password is the first line of F (- for stdin);\n"
	     "                           default: asked on the terminal, or a line of stdin\n"
	     "  -f, --force              overwrite existing key files\n"
	     "  -h, --help               this help\n\n"
	     "The password protects the secret key with scrypt (minisign's parameters).\n"
	     "Exit status: 0 written, 1 failed (nothing was written), 2 usage error.");
}

enum { O_PWFILE = 256 };

static const struct cli_option options[] = {
	{"public", 'p', required_argument},
	{"secret", 's', required_argument},
	{"no-password", 'W', no_argument},
	{"password-file", O_PWFILE, required_argument},
	{"force", 'f', no_argument},
	{"help", 'h', no_argument},
	{0},
};

static int parse_argv(int argc, char **argv)
{
	static const struct cli_option *const tables[] = {options, NULL};
	struct cli_args a;
	const char *val;
	int c;

	cli_args_init(&a, "keygen", argc, argv, tables);
	while ((c = cli_args_next(&a, &val)) > 0) {
		switch (c) {
		case 'p':
			arg_pub = val;
			break;
		case 's':
			arg_sec = val;
			break;
		case 'W':
			arg_no_password = 1;
			break;
		case O_PWFILE:
			arg_password_file = val;
			break;
		case 'f':
			arg_force = 1;
			break;
		case 'h':
			help();
			return 1;
		}
	}
	if (c < 0)
		return c;
	if (a.noperands)
		return usage_err("keygen", "unexpected argument '%s'", a.operand[0]);
	if (arg_no_password && arg_password_file)
		return usage_err("keygen", "--no-password and --password-file exclude each other");
	if (!strcmp(arg_pub, arg_sec))
		return usage_err("keygen", "the public and the secret key need different files");
	return 0;
}

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *d = strdup(path);
	int fd, r = 0;

	if (!d)
		return -ENOMEM;
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Temp name, fsync, then link (refuses to replace) or rename (--force). */
static int write_key_file(const char *path, const char *text, mode_t mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.tmp-%ld", path, (long)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return aim_error_set(-errno, "cannot create %s: %m", tmp);
	r = aim_write_full(fd, text, strlen(text));
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && arg_force && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0 && !arg_force) {
		if (link(tmp, path) < 0)
			r = errno == EEXIST ? aim_error_set(-EEXIST, "%s exists (use --force to "
								     "overwrite)", path)
					    : -errno;
		unlink(tmp);
	}
	if (r < 0) {
		unlink(tmp);
		if (!aim_error_detail_for(r))
			aim_error_set(r, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	return fsync_dir_of(path);
}

int cmd_keygen(int argc, char **argv)
{
	struct aim_pubkey pub;
	struct aim_seckey sec;
	char *pw = NULL, *st = NULL, *pt = NULL, id[17];
	struct stat s;
	int r = parse_argv(argc, argv);

	if (r != 0)
		return r > 0 ? 0 : r;
	aim_error_clear();
	if (!arg_force)
		for (int i = 0; i < 2; i++)
			if (lstat(i ? arg_sec : arg_pub, &s) == 0)
				return aim_err(aim_error_set(-EEXIST, "%s exists (use --force to "
								      "overwrite)", i ? arg_sec : arg_pub),
					       "keygen");
	if (!arg_no_password) {
		r = password_read(arg_password_file, "Password for the new secret key: ", 1, &pw);
		if (r < 0)
			return aim_err(r, "keygen");
	}
	r = aim_sign_keygen(&pub, &sec);
	if (r == 0)
		r = aim_seckey_format(&sec, pw, 0, 0, &st);
	aim_seckey_wipe(&sec);
	password_free(pw);
	if (r == 0)
		r = aim_pubkey_format(&pub, &pt);
	if (r < 0)
		goto out;
	r = write_key_file(arg_sec, st, 0600);
	if (r < 0)
		goto out;
	r = write_key_file(arg_pub, pt, 0644);
	if (r < 0) {
		unlink(arg_sec);
		goto out;
	}
	aim_sign_keyid(pub.keynum, id);
	aim_info("key %s: secret key %s (%s), public key %s", id, arg_sec,
		 arg_no_password ? "unencrypted" : "password-protected", arg_pub);
out:
	aim_sign_free_secret(st);
	free(pt);
	if (r < 0)
		return aim_err(r, "keygen");
	return 0;
}
