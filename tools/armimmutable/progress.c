/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A progress bar with rate and ETA on stderr, only on a terminal and not with -q. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "base/log.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_begin(struct progress *p, const char *what, uint64_t total)
{
	p->what = what;
	p->total = total;
	p->start = p->last = now();
	p->active = aim_log_level >= AIM_LOG_NORMAL && isatty(STDERR_FILENO);
}

void progress_update(struct progress *p, uint64_t done)
{
	double t = now(), el, rate, pct;
	int bar;

	if (!p->active || t - p->last < 0.2)
		return;
	p->last = t;
	el = t - p->start;
	rate = el > 0 ? (double)done / el : 0;
	pct = p->total ? 100.0 * (double)done / (double)p->total : 0;
	if (pct > 100)
		pct = 100;
	bar = (int)(pct / 5);
	fprintf(stderr, "\r%-12s [%-20.*s] %5.1f%% %7.1f MiB/s", p->what, bar,
		"====================", pct, rate / 1048576.0);
	if (rate > 0 && p->total > done)
		fprintf(stderr, "  ETA %4.0fs", (double)(p->total - done) / rate);
	fputs("   ", stderr);
}

void progress_end(struct progress *p)
{
	if (p->active && p->last > p->start)
		fputs("\r\033[K", stderr);
	p->active = 0;
}

void progress_cb(void *ud, uint64_t done, uint64_t total)
{
	struct progress *p = ud;

	if (total)
		p->total = total;
	progress_update(p, done);
}
