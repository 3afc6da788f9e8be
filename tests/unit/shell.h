/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shell commands for the unit tests that make their fixtures with the real tools (sfdisk,
 * mkfs, xz, ...): run() gives the exit status, out() the standard output. */
#ifndef AIM_TESTS_SHELL_H
#define AIM_TESTS_SHELL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* The last command line, for a failure's diagnostics. */
static char cmd[4096];

/* Runs a shell command; its exit status, -1 when it did not exit. */
__attribute__((format(printf, 1, 2))) static inline int run(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Runs a shell command and returns its stdout (static buffer, trailing newlines cut). */
__attribute__((format(printf, 1, 2))) static inline const char *out(const char *fmt, ...)
{
	static char buf[65536];
	va_list ap;
	size_t n;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	f = popen(cmd, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	pclose(f);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

#endif
