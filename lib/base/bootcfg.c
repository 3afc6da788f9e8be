// SPDX-License-Identifier: LGPL-2.1-or-later
/* The kernel command line and armimmutable.conf, as aim-boot reads them. libc only. */
#include "base/bootcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errsz, const char *fmt,
						     ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* 0..86400 seconds */
static int parse_timeout(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v > 86400)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int aim_bootcfg_cmdline(const char *path, struct aim_bootcfg *c, char *err, size_t errsz)
{
	char buf[4096], *save = NULL, *w;

	if (aim_read_text(path, buf, sizeof(buf)) < 0) {
		int r = -errno;

		snprintf(err, errsz, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	for (w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (!strncmp(w, "armimmutable.slot=", 18)) {
			if ((w[18] != 'a' && w[18] != 'b') || w[19])
				return bad(err, errsz, "bad %s on the kernel command line", w);
			c->cmdline_slot = w[18];
		} else if (!strncmp(w, "armimmutable.overlay=", 21)) {
			if (!strcmp(w + 21, "tmpfs"))
				c->overlay_cmdline = 1;
			else if (!strcmp(w + 21, "persistent"))
				c->overlay_cmdline = 0;
			else
				return bad(err, errsz, "bad %s on the kernel command line", w);
		} else if (!strncmp(w, "armimmutable.trial_timeout=", 27)) {
			if (parse_timeout(w + 27, &c->trial_timeout) < 0)
				return bad(err, errsz, "bad %s on the kernel command line", w);
			c->trial_timeout_cmdline = 1;
		} else if (!strncmp(w, "root=PARTUUID=", 14)) {
			snprintf(c->root_partuuid, sizeof(c->root_partuuid), "%s", w + 14);
			for (char *p = c->root_partuuid; *p; p++)
				if (*p >= 'A' && *p <= 'F')
					*p = (char)(*p + 32);
		}
	}
	return 0;
}

/* PERSIST="a b": absolute paths without "..", at most AIM_BOOTCFG_MAX_PERSIST. */
static int parse_persist(const char *path, char *v, struct aim_bootcfg *c, char *err,
			 size_t errsz)
{
	size_t n = strlen(v);
	char *save = NULL, *w;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = 0;
		v++;
	}
	for (w = strtok_r(v, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (w[0] != '/' || strstr(w, "..") || strlen(w) >= 200)
			return bad(err, errsz, "%s: bad persistent path '%s'", path, w);
		if (c->npersist == AIM_BOOTCFG_MAX_PERSIST)
			return bad(err, errsz, "%s: more than %d persistent paths", path,
				   AIM_BOOTCFG_MAX_PERSIST);
		snprintf(c->persist[c->npersist++], sizeof(c->persist[0]), "%s", w);
	}
	return 0;
}

int aim_bootcfg_conf(const char *path, struct aim_bootcfg *c, char *err, size_t errsz)
{
	char buf[8192], *save = NULL, *line;

	if (aim_read_text(path, buf, sizeof(buf)) < 0) {
		snprintf(err, errsz, "no %s: persistent overlay, nothing persisted", path);
		return -ENOENT;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "OVERLAY=", 8)) {
			if (!strcmp(line + 8, "tmpfs"))
				c->overlay_tmpfs = 1;
			else if (!strcmp(line + 8, "persistent"))
				c->overlay_tmpfs = 0;
			else
				return bad(err, errsz, "%s: bad %s", path, line);
		} else if (!strncmp(line, "TRIAL_TIMEOUT=", 14)) {
			unsigned v;

			if (parse_timeout(line + 14, &v) < 0)
				return bad(err, errsz, "%s: bad %s (seconds, 0..86400)", path,
					   line);
			if (!c->trial_timeout_cmdline)
				c->trial_timeout = v;
		} else if (!strncmp(line, "KEEP_IDENTITY=", 14)) {
			if (strcmp(line + 14, "yes") && strcmp(line + 14, "no"))
				return bad(err, errsz, "%s: bad %s (yes or no)", path, line);
			c->no_identity = !strcmp(line + 14, "no");
		} else if (!strncmp(line, "PERSIST=", 8)) {
			int r = parse_persist(path, line + 8, c, err, errsz);

			if (r < 0)
				return r;
		}
	}
	return 0;
}
