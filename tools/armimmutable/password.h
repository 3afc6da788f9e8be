/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Passwords for secret keys: from a file, from the terminal, or from a pipe on stdin. */
#ifndef AIM_CMD_PASSWORD_H
#define AIM_CMD_PASSWORD_H

/*
 * Reads a password: the first line of file (file "-" is stdin) when file is set; else
 * from the terminal without echo (twice when confirm is set, and they must match); else
 * the first line of stdin when it is a pipe. *ret is malloc'd: free it with
 * password_free(). -EINVAL with an aim_error_set() detail.
 */
int password_read(const char *file, const char *prompt, int confirm, char **ret);
void password_free(char *p);

struct aim_seckey;
/* A secret key file (bundle create -k, convert --sign): its password, when it has one,
 * through password_read() (password_file, the terminal or stdin). Errors name the file. */
int seckey_load(const char *path, const char *password_file, struct aim_seckey *ret);

#endif
