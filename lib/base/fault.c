// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fault injection: AIM_FAULT_AT=N cuts at the Nth point, AIM_FAULT_COUNT=FILE records the
 * number of points reached. libc only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fault.h"

static unsigned reached;
static unsigned long cut_at; /* 0: never */
static int inited;
static char count_file[4096];

static void write_count(void)
{
	char buf[32];
	int n, fd;

	fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%u\n", reached);
	if (write(fd, buf, (size_t)n) != n)
		(void)0;
	close(fd);
}

static void init(void)
{
	const char *at, *cnt;

	if (inited)
		return;
	inited = 1;
	at = getenv("AIM_FAULT_AT");
	if (at && *at) {
		char *end;

		errno = 0;
		cut_at = strtoul(at, &end, 10);
		if (errno || *end)
			cut_at = 0;
	}
	cnt = getenv("AIM_FAULT_COUNT");
	if (cnt && *cnt && strlen(cnt) < sizeof(count_file)) {
		strcpy(count_file, cnt);
		atexit(write_count);
	}
}

/* Runs before main in every program that links this file, so that a run reaching no point
 * still writes its count (0). */
__attribute__((constructor)) static void fault_ctor(void)
{
	init();
}

void aim_fault_point(const char *what)
{
	init();
	reached++;
	if (cut_at && reached == cut_at) {
		char msg[200];
		int n = snprintf(msg, sizeof(msg), "aim-fault: power cut at point %u (%s)\n",
				 reached, what ? what : "?");

		if (n > (int)sizeof(msg) - 1)
			n = (int)sizeof(msg) - 1;
		if (n > 0 && write(2, msg, (size_t)n) < 0)
			(void)0;
		_exit(AIM_FAULT_EXIT);
	}
}

unsigned aim_fault_count(void)
{
	return reached;
}
