/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * armimmutable bundle info BUNDLE --delta-from BASE: the bytes a device running BASE (a
 * converted disk image: its active slot; or the bundle it was installed from) would fetch
 * to install BUNDLE as a delta, without installing (docs/delta.md section 7).
 */
#include "bundle-delta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd-target.h"
#include "delta.h"
#include "source.h"
#include "target.h"
#include "base/json.h"
#include "base/log.h"
#include "base/macro.h"

static int open_delta(const char *path, const struct aim_pubkey *keys, size_t nkeys,
		      struct aim_source **src, struct aim_delta **ret)
{
	struct aim_source_opts so;
	int r;

	aim_source_opts_init(&so);
	so.random_access = 1;
	r = aim_source_open(path, &so, src);
	if (r == 0)
		r = aim_delta_open(*src, keys, nkeys, ret);
	return r;
}

/* 1 when path starts with the bundle magic. */
static int is_bundle(const char *path)
{
	char magic[8] = "";
	FILE *f = fopen(path, "re");
	int yes;

	if (!f)
		return 0;
	yes = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
	      !memcmp(magic, AIM_BUNDLE_MAGIC, sizeof(magic));
	fclose(f);
	return yes;
}

int bundle_delta_from(const char *path, const char *base, const struct aim_pubkey *keys,
		      size_t nkeys, int json)
{
	_cleanup_(aim_source_closep) struct aim_source *src = NULL, *bsrc = NULL;
	_cleanup_(aim_delta_freep) struct aim_delta *d = NULL, *bd = NULL;
	_cleanup_(aim_target_freep) struct aim_target *t = NULL;
	struct aim_delta_stats ds;
	struct aim_slotstate st;
	char slot = 0;
	int r;

	r = open_delta(path, keys, nkeys, &src, &d);
	if (r < 0)
		return aim_err(r, "bundle info: %s", path);
	if (is_bundle(base)) {
		r = open_delta(base, NULL, 0, &bsrc, &bd);
		if (r < 0)
			return aim_err(r, "bundle info: --delta-from %s", base);
		r = aim_delta_plan_bundle(d, bd);
	} else {
		if (cli_target_open("bundle info", base, 1, &t) < 0)
			return -1;
		r = aim_target_state_load(t, &st);
		if (r < 0)
			return aim_err(r, "bundle info: %s: no valid slot state", base);
		slot = st.active;
		r = aim_delta_plan(d, t, slot, 0);
	}
	if (r < 0)
		return aim_err(r, "bundle info: %s", path);
	aim_delta_get_stats(d, &ds);
	if (json) {
		struct aim_json j;

		aim_json_init(&j, stdout, 1);
		aim_json_obj_begin(&j, NULL);
		aim_json_str(&j, "bundle", path);
		aim_json_str(&j, "base", base);
		if (slot) {
			char s[2] = {slot, 0};
			aim_json_str(&j, "base_slot", s);
		}
		aim_json_str(&j, "mode", ds.planned ? "delta" : "full");
		aim_json_str(&j, "why", ds.planned ? NULL : aim_delta_why(d));
		aim_json_u64(&j, "bundle_bytes", ds.total);
		aim_json_u64(&j, "fetch_bytes", ds.to_fetch);
		aim_json_obj_end(&j);
		aim_json_end(&j);
		return 0;
	}
	printf("Bundle:       %s (%" PRIu64 " bytes)\n", path, ds.total);
	if (slot)
		printf("Base:         %s, slot %c\n", base, slot);
	else
		printf("Base:         %s\n", base);
	if (!ds.planned)
		printf("Download:     the whole bundle: %s\n", aim_delta_why(d));
	else
		printf("Download:     %" PRIu64 " bytes (%.2f %% of the bundle) as a delta\n",
		       ds.to_fetch, ds.total ? 100.0 * (double)ds.to_fetch / (double)ds.total : 0.0);
	return 0;
}
