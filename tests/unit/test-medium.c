/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/medium.c: the slot policy of convert (docs/convert.md, "Slot sizes and the
 * medium"): an eighth of the medium per slot, capped at 4 GiB, at least twice the slot
 * image and 64 MiB; the default medium the smallest of 8G, 16G, ... that holds the image;
 * a given medium too small for the image refused with the sizes; the decimal capacity.
 */
#include "medium.h"

#include <errno.h>
#include <string.h>

#include "tap.h"
#include "base/log.h"

#define M ((uint64_t)1 << 20)
#define G ((uint64_t)1 << 30)

/* The sample's layout: 312 MiB before slot A, a 256 MiB data partition after B. */
#define HEAD (312 * M)
#define TAIL (256 * M)

int main(void)
{
	struct aim_medium_plan p;
	char name[32];

	is_int(aim_medium_capacity(8 * G), 8000000000ULL, "8G: an 8 GB card, 8*10^9 bytes");
	aim_medium_name(16 * G, name, sizeof(name));
	is_str(name, "16G", "name of 16 GiB");
	aim_medium_name(1536 * M, name, sizeof(name));
	is_str(name, "1536M", "name of 1.5 GiB");

	/* The sample (157 MiB slot image), no options: an 8G medium, 1 GiB slots. */
	is_int(aim_medium_plan(0, 0, HEAD, TAIL, 157 * M, &p), 0, "default: planned");
	is_int(p.medium, 8 * G, "default: 8G");
	ok(p.medium_default, "default: flagged as the default");
	is_int(p.slot_size, 1 * G, "default: slots of 8G / 8");
	is_int(p.disk_size, HEAD + 2 * G + TAIL, "default: disk = head + 2 slots + tail");

	is_int(aim_medium_plan(16 * G, 0, HEAD, TAIL, 157 * M, &p), 0, "16G");
	is_int(p.slot_size, 2 * G, "16G: 2 GiB slots");
	ok(!p.medium_default, "16G: given");
	is_int(aim_medium_plan(64 * G, 0, HEAD, TAIL, 157 * M, &p), 0, "64G");
	is_int(p.slot_size, 4 * G, "64G: capped at 4 GiB");

	/* A root of 700 MiB: twice it (1400 MiB) beats 1 GiB, and fits an 8 GB card. */
	is_int(aim_medium_plan(0, 0, HEAD, TAIL, 700 * M, &p), 0, "700 MiB root");
	is_int(p.slot_size, 1400 * M, "700 MiB root: slot twice the root");
	is_int(p.medium, 8 * G, "700 MiB root: still 8G");
	/* A 2 GiB root (desktop): 4 GiB slots, 8.5 GiB in all: a 16G medium by default. */
	is_int(aim_medium_plan(0, 0, HEAD, TAIL, 2 * G, &p), 0, "2 GiB root");
	is_int(p.slot_size, 4 * G, "2 GiB root: 4 GiB slots");
	is_int(p.medium, 16 * G, "2 GiB root: the default grows to 16G");
	/* ... but a given 8G medium is refused, naming the sizes and what to do. */
	aim_error_clear();
	is_int(aim_medium_plan(8 * G, 0, HEAD, TAIL, 2 * G, &p), -ENOSPC, "2 GiB root on 8G");
	ok(strstr(aim_error_text(-ENOSPC), "more than a medium of 8G holds (7629 MiB)") &&
		   strstr(aim_error_text(-ENOSPC), "give a larger --medium-size"),
	   "the message: %s", aim_error_text(-ENOSPC));
	aim_error_clear();

	/* The floor: 64 MiB; the share rounded down to 4 MiB. */
	is_int(aim_medium_plan(1 * G, 0, 64 * M, 16 * M, 1 * M, &p), 0, "1G, tiny root");
	is_int(p.slot_size, 128 * M, "1G: 128 MiB slots");
	is_int(aim_medium_plan(300 * M, 0, 4 * M, 16 * M, 1 * M, &p), 0, "300M, tiny root");
	is_int(p.slot_size, 64 * M, "300M: the 64 MiB floor");

	/* --slot-size overrides the policy, and is checked against the medium. */
	is_int(aim_medium_plan(0, 200 * M, HEAD, TAIL, 157 * M, &p), 0, "--slot-size 200M");
	is_int(p.slot_size, 200 * M, "--slot-size: taken as given");
	is_int(p.medium, 8 * G, "--slot-size: medium the default");
	is_int(aim_medium_plan(1 * G, 400 * M, HEAD, TAIL, 157 * M, &p), -ENOSPC,
	       "--slot-size 400M on a 1G medium");
	ok(strstr(aim_error_text(-ENOSPC), "or a smaller --slot-size") != NULL,
	   "the message names --slot-size");
	aim_error_clear();
	return done_testing();
}
