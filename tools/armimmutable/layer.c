// SPDX-License-Identifier: LGPL-2.1-or-later
/* The running slot's writable layer, for status and install (tools/armimmutable/layer.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"
#include "base/carry.h"
#include "base/log.h"

#define MAX_PATHS 64

struct paths {
	struct {
		char path[128];
		int kept;
		uint64_t bytes;
	} p[MAX_PATHS];
	size_t n, more;
};

static void add(void *ud, const char *path, int kept, uint64_t bytes)
{
	struct paths *ps = ud;

	if (ps->n == MAX_PATHS) {
		ps->more++;
		return;
	}
	snprintf(ps->p[ps->n].path, sizeof(ps->p[0].path), "%s", path);
	ps->p[ps->n].kept = kept;
	ps->p[ps->n++].bytes = bytes;
}

/* Scans the running layer; -1 when there is none to read. */
static int64_t scan(const char *mode, char slot, struct paths *ps, char *dir, size_t dirsz)
{
	if (!mode || (slot != 'a' && slot != 'b'))
		return -1;
	if (!strcmp(mode, "tmpfs"))
		snprintf(dir, dirsz, "/run/aim/tmpfs/upper");
	else
		snprintf(dir, dirsz, "/run/aim/data/overlay/%c/upper", slot);
	memset(ps, 0, sizeof(*ps));
	return aim_carry_scan(dir, add, ps);
}

static void human(char *buf, size_t sz, uint64_t b)
{
	if (b >= 10 << 20)
		snprintf(buf, sz, "%" PRIu64 " MiB", b >> 20);
	else
		snprintf(buf, sz, "%" PRIu64 " KiB", (b + 1023) >> 10);
}

void cli_layer_text(const char *mode, char slot)
{
	struct paths ps;
	char dir[64], sz[32];
	int64_t total = scan(mode, slot, &ps, dir, sizeof(dir));

	if (total < 0)
		return;
	human(sz, sizeof(sz), (uint64_t)total);
	printf("writable layer: %s in %s\n", sz, dir);
	for (size_t i = 0; i < ps.n; i++) {
		human(sz, sizeof(sz), ps.p[i].bytes);
		printf("  %-30s %10s  %s\n", ps.p[i].path, sz,
		       ps.p[i].kept ? "kept at an update" : "dropped at an update");
	}
	if (ps.more)
		printf("  ... and %zu more\n", ps.more);
}

void cli_layer_json(struct aim_json *j, const char *mode, char slot)
{
	struct paths ps;
	char dir[64];
	int64_t total = scan(mode, slot, &ps, dir, sizeof(dir));

	if (total < 0) {
		aim_json_str(j, "layer", NULL);
		return;
	}
	aim_json_obj_begin(j, "layer");
	aim_json_str(j, "path", dir);
	aim_json_u64(j, "bytes", (uint64_t)total);
	aim_json_arr_begin(j, "changed");
	for (size_t i = 0; i < ps.n; i++) {
		aim_json_obj_begin(j, NULL);
		aim_json_str(j, "path", ps.p[i].path);
		aim_json_u64(j, "bytes", ps.p[i].bytes);
		aim_json_bool(j, "carried", ps.p[i].kept);
		aim_json_obj_end(j);
	}
	aim_json_arr_end(j);
	aim_json_obj_end(j);
}

void cli_layer_carry_info(const char *mode, char from, char to)
{
	struct paths ps;
	char dir[64], kept[512] = "", dropped[512] = "";
	int64_t total;

	if (mode && !strcmp(mode, "tmpfs")) {
		aim_info("kiosk mode: slot %c starts from its image (persistent paths kept)", to);
		return;
	}
	total = scan(mode, from, &ps, dir, sizeof(dir));
	if (total < 0)
		return;
	for (size_t i = 0; i < ps.n; i++) {
		char *l = ps.p[i].kept ? kept : dropped;
		size_t n = strlen(l);

		snprintf(l + n, sizeof(kept) - n, "%s%s", n ? " " : "", ps.p[i].path);
	}
	aim_info("the first boot of slot %c carries the state of slot %c's layer (%s): keeps "
		 "%s, merges account databases, drops %s (docs/state.md)",
		 to, from, dir, kept[0] ? kept : "nothing", dropped[0] ? dropped : "nothing");
}
