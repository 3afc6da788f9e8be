/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The options and helpers convert and bundle create share (convert-opts.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "convert-opts.h"
#include "sign.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/parse.h"

enum { O_OVERLAY = 512, O_PERSIST, O_TRIAL, O_TRUST, O_TMP, O_NOID, O_VERITY, O_LAYOUT };

const struct cli_option convert_slot_options[] = {
	{"compressor", 'c', required_argument},
	{"level", 'l', required_argument},
	{"block-size", 'b', required_argument},
	{"threads", 'j', required_argument},
	{"sqfs-layout", O_LAYOUT, required_argument},
	{"overlay", O_OVERLAY, required_argument},
	{"persist", O_PERSIST, required_argument},
	{"no-keep-identity", O_NOID, no_argument},
	{"trial-timeout", O_TRIAL, required_argument},
	{"trust", O_TRUST, required_argument},
	{"tmpdir", O_TMP, required_argument},
	{"verity", O_VERITY, required_argument},
	{0},
};

int convert_slot_option(const char *verb, struct aim_convert_opts *o, int key,
			const char *val, unsigned max_trust)
{
	uint64_t v;
	unsigned u;

	switch (key) {
	case 'c':
		if (strcmp(val, "zstd") && strcmp(val, "xz") && strcmp(val, "gzip") &&
		    strcmp(val, "lz4"))
			return usage_err(verb, "unknown compressor '%s' (zstd, xz, gzip, lz4)", val);
		o->sqfs.comp = val;
		return 1;
	case 'l':
		if (aim_parse_uint(val, 1, 22, &u) < 0)
			return usage_err(verb, "invalid level '%s'", val);
		o->sqfs.level = (int)u;
		return 1;
	case 'b':
		if (aim_parse_size(val, &v) < 0 || v < 4096 || v > (1 << 20) || (v & (v - 1)))
			return usage_err(verb, "block size must be a power of two from 4K to 1M");
		o->sqfs.block_size = (uint32_t)v;
		return 1;
	case 'j':
		if (aim_parse_uint(val, 1, 256, &u) < 0)
			return usage_err(verb, "invalid thread count '%s'", val);
		o->sqfs.threads = u;
		return 1;
	case O_LAYOUT:
#ifndef AIM_DEVICE_BUILD
		if (aim_sqfs_parse_layout(val, &o->sqfs) < 0)
			return usage_err(verb, "%s", aim_error_detail());
		return 1;
#else
		return usage_err(verb, "--sqfs-layout: this build writes no squashfs");
#endif
	case O_OVERLAY:
		if (!strcmp(val, "persistent"))
			o->overlay = AIM_OVERLAY_PERSISTENT;
		else if (!strcmp(val, "tmpfs"))
			o->overlay = AIM_OVERLAY_TMPFS;
		else
			return usage_err(verb, "--overlay is persistent or tmpfs");
		return 1;
	case O_PERSIST:
		if (val[0] != '/' || strstr(val, "..") || strpbrk(val, " \t\n\"'") ||
		    !strcmp(val, "/"))
			return usage_err(verb, "--persist needs an absolute path without spaces or "
					       "'..': '%s'", val);
		if (o->npersist >= AIM_MAX_PERSIST)
			return usage_err(verb, "at most %d --persist paths", AIM_MAX_PERSIST);
		o->persist[o->npersist++] = val;
		return 1;
	case O_TRIAL:
		if (aim_parse_uint(val, 0, 86400, &u) < 0)
			return usage_err(verb, "--trial-timeout is 0..86400 seconds");
		o->trial_timeout = u;
		return 1;
	case O_TRUST:
		if (o->ntrust >= max_trust)
			return usage_err(verb, "at most %u --trust keys", max_trust);
		o->trust[o->ntrust++] = val;
		return 1;
	case O_TMP:
		o->tmpdir = val;
		return 1;
	case O_NOID:
		o->no_identity = 1;
		return 1;
	case O_VERITY:
		if (!strcmp(val, "auto"))
			o->verity = AIM_VERITY_AUTO;
		else if (!strcmp(val, "on"))
			o->verity = AIM_VERITY_ON;
		else if (!strcmp(val, "off"))
			o->verity = AIM_VERITY_OFF;
		else
			return usage_err(verb, "--verity is auto, on or off");
		return 1;
	default:
		return 0;
	}
}

int convert_slot_check(const char *verb, const struct aim_convert_opts *o)
{
#ifndef AIM_DEVICE_BUILD /* no squashfs writer there: bundle create --from-image refuses */
	int lo, hi;

	if (o->sqfs.level && aim_sqfs_level_range(o->sqfs.comp, &lo, &hi) == 0 &&
	    (o->sqfs.level < lo || o->sqfs.level > hi))
		return usage_err(verb, "%s level %d out of range %d..%d", o->sqfs.comp,
				 o->sqfs.level, lo, hi);
#else
	(void)verb, (void)o;
#endif
	return 0;
}

int trust_signer(const struct aim_seckey *sk, const char *dir, struct aim_convert_opts *o)
{
	static char signer[4200];
	struct aim_pubkey pk;
	char *txt = NULL;
	int r;

	if (o->ntrust >= AIM_MAX_TRUST)
		return aim_error_set(-E2BIG, "no room for the signing key among %d trusted keys",
				     AIM_MAX_TRUST);
	aim_seckey_pubkey(sk, &pk);
	snprintf(signer, sizeof(signer), "%s/signer.pub", dir);
	r = aim_pubkey_format(&pk, &txt);
	if (r == 0)
		r = aim_write_file_atomic(signer, txt, strlen(txt), 0644);
	free(txt);
	if (r < 0)
		return aim_error_set(r, "cannot write %s", signer);
	o->trust[o->ntrust++] = signer;
	return 0;
}

#ifndef AIM_DEVICE_BUILD
int verity_preflight(const char *verb, const struct aim_image_info *ii,
		     enum aim_verity_mode mode)
{
	char why[300];
	int r = aim_slot_verity_decide(ii, mode, why, sizeof(why));

	if (r == 0 && mode == AIM_VERITY_AUTO)
		aim_info("%s: %s", verb, why);
	return r < 0 ? r : 0;
}
#endif

int source_date_epoch(const char *verb, uint32_t *ret)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	uint64_t v;

	if (!e || !*e)
		return 0;
	if (aim_parse_u64(e, &v) < 0 || v > UINT32_MAX)
		return usage_err(verb, "invalid SOURCE_DATE_EPOCH '%s'", e);
	*ret = (uint32_t)v;
	return 1;
}

void find_device_side(char *dev, char *hooks, size_t len)
{
	char exe[3800];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	snprintf(dev, len, "%s", AIM_LIBEXECDIR);
	snprintf(hooks, len, "%s", AIM_HOOKSDIR);
	if (n > 0) {
		char d[4096], h[4096];
		size_t l;
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		l = strlen(exe);
		snprintf(d, sizeof(d), "%s/dev", exe);
		snprintf(h, sizeof(h), "%s/../hooks", exe);
		if (stat(d, &st) == 0 && stat(h, &st) == 0) {
			snprintf(dev, len, "%s", d);
			snprintf(hooks, len, "%s", h);
		} else if (l >= 4 && !strcmp(exe + l - 4, "/bin")) {
			/* An install: <prefix>/bin/armimmutable beside <prefix>/libexec/armimmutable
			 * and <prefix>/share/armimmutable/hooks (make install, the .deb), wherever
			 * the prefix is (a DESTDIR tree too). */
			snprintf(d, sizeof(d), "%.*s/libexec/armimmutable", (int)(l - 4), exe);
			snprintf(h, sizeof(h), "%.*s/share/armimmutable/hooks", (int)(l - 4), exe);
			if (stat(d, &st) == 0 && stat(h, &st) == 0) {
				snprintf(dev, len, "%s", d);
				snprintf(hooks, len, "%s", h);
			}
		}
	}
	if (getenv("AIM_DEVICE_DIR"))
		snprintf(dev, len, "%s", getenv("AIM_DEVICE_DIR"));
	if (getenv("AIM_HOOKS_DIR"))
		snprintf(hooks, len, "%s", getenv("AIM_HOOKS_DIR"));
}

void conv_progress(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	struct progress *p = ud;

	if (p->what != phase) {
		progress_end(p);
		progress_begin(p, phase, total);
	}
	p->total = total;
	progress_update(p, done);
}
