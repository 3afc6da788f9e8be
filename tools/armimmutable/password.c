/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Passwords for secret keys: a file, the terminal (no echo), or a line on stdin. */
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sign.h"
#include "base/fileio.h"
#include "base/log.h"

#define PASSWORD_MAX 1024 /* minisign PASSWORDMAXBYTES */

void password_free(char *p)
{
	if (p) {
		sodium_memzero(p, strlen(p));
		free(p);
	}
}

/* One line of fd into a PASSWORD_MAX buffer, without its newline. */
static int read_line(int fd, char **ret)
{
	char *buf = malloc(PASSWORD_MAX + 1);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;
			sodium_memzero(buf, PASSWORD_MAX + 1);
			free(buf);
			return r;
		}
		if (k == 0 || buf[n] == '\n')
			break;
		if (++n >= PASSWORD_MAX) {
			sodium_memzero(buf, PASSWORD_MAX + 1);
			free(buf);
			return aim_error_set(-ENOKEY, "password longer than %d bytes",
					     PASSWORD_MAX - 1);
		}
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	*ret = buf;
	return 0;
}

static int tty_read(int tty, const char *prompt, char **ret)
{
	struct termios old, quiet;
	int r;

	if (write(tty, prompt, strlen(prompt)) < 0)
		return -errno;
	if (tcgetattr(tty, &old) < 0)
		return -errno;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(tty, TCSAFLUSH, &quiet);
	r = read_line(tty, ret);
	tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0 && r == 0)
		r = -errno;
	return r;
}

int password_read(const char *file, const char *prompt, int confirm, char **ret)
{
	char *a = NULL, *b = NULL;
	int fd, r;

	if (file) {
		fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
		if (fd < 0)
			return aim_error_set(-errno, "cannot open the password file %s: %m", file);
		r = read_line(fd, &a);
		if (fd != STDIN_FILENO)
			close(fd);
	} else if (isatty(STDIN_FILENO)) {
		int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
		if (tty < 0)
			tty = STDIN_FILENO;
		r = tty_read(tty, prompt, &a);
		if (r == 0 && confirm) {
			r = tty_read(tty, "Password (again): ", &b);
			if (r == 0 && strcmp(a, b))
				r = aim_error_set(-ENOKEY, "the passwords do not match");
			password_free(b);
		}
		if (tty != STDIN_FILENO)
			close(tty);
	} else {
		r = read_line(STDIN_FILENO, &a);
	}
	if (r == 0 && !a[0])
		r = aim_error_set(-ENOKEY, "empty password (use --no-password for an "
					   "unencrypted key)");
	if (r < 0) {
		password_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

int seckey_load(const char *path, const char *password_file, struct aim_seckey *ret)
{
	char *text = NULL, *pw = NULL;
	size_t n;
	int r;

	r = aim_read_file(path, AIM_SIGN_FILE_MAX, &text, &n);
	if (r < 0)
		return aim_error_set(r, "cannot read the secret key %s: %s", path,
				     strerror(-r));
	r = aim_seckey_is_encrypted(text, n);
	if (r > 0)
		r = password_read(password_file, "Password for the secret key: ", 0, &pw);
	if (r >= 0)
		r = aim_seckey_parse(text, n, pw, ret);
	if (r < 0 && aim_error_detail_for(r))
		aim_error_set(r, "%s: %s", path, aim_error_detail_for(r));
	password_free(pw);
	aim_sign_free_secret(text);
	return r;
}
