/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The slot policy of convert (see medium.h and docs/convert.md). */
#include "medium.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "base/log.h"
#include "base/macro.h"

#define MiB ((uint64_t)1024 * 1024)
#define GiB (1024 * MiB)

uint64_t aim_medium_capacity(uint64_t size)
{
	return (uint64_t)((unsigned __int128)size * 1000000000U / GiB);
}

void aim_medium_name(uint64_t size, char *buf, size_t n)
{
	if (size % GiB == 0)
		snprintf(buf, n, "%" PRIu64 "G", size / GiB);
	else
		snprintf(buf, n, "%" PRIu64 "M", (size + MiB - 1) / MiB);
}

/* The smallest slot for a slot image of bytes: room for an update twice its size. */
static uint64_t slot_floor(uint64_t bytes)
{
	return MAX(AIM_SLOT_MIN, ALIGN_UP(2 * bytes, 4 * MiB));
}

static uint64_t slot_for(uint64_t medium, uint64_t bytes)
{
	uint64_t share = medium / AIM_MEDIUM_SHARE / (4 * MiB) * (4 * MiB);

	return MAX(slot_floor(bytes), MIN(share, AIM_SLOT_CAP));
}

int aim_medium_plan(uint64_t medium, uint64_t slot, uint64_t head, uint64_t tail,
		    uint64_t bytes, struct aim_medium_plan *ret)
{
	char name[32], root[48] = "";
	uint64_t cap;

	ret->medium_default = medium == 0;
	ret->medium = medium ? medium : AIM_MEDIUM_DEFAULT;
	for (;;) {
		ret->slot_size = slot ? slot : slot_for(ret->medium, bytes);
		ret->disk_size = head + 2 * ret->slot_size + tail;
		cap = aim_medium_capacity(ret->medium);
		if (ret->disk_size <= cap)
			return 0;
		if (!ret->medium_default || ret->medium >= AIM_MEDIUM_MAX)
			break;
		ret->medium *= 2;
	}
	aim_medium_name(ret->medium, name, sizeof(name));
	if (bytes)
		snprintf(root, sizeof(root), " for a root of %" PRIu64 " MiB",
			 (bytes + MiB - 1) / MiB);
	return aim_error_set(-ENOSPC,
			     "the image needs %" PRIu64 " MiB (two root slots of %" PRIu64
			     " MiB%s), more than a medium of %s holds (%" PRIu64 " MiB): give a "
			     "larger --medium-size%s",
			     (ret->disk_size + MiB - 1) / MiB, ret->slot_size / MiB, root, name,
			     cap / MiB, slot ? " or a smaller --slot-size" : "");
}
