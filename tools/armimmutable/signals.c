/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interrupts of long verbs (convert, bundle create): SIGINT, SIGTERM and SIGHUP are taken
 * by a thread of their own, so the cleanup runs in normal context, not in a handler. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static void (*on_signal_cleanup)(void);
static const char *on_signal_what;

static void *signal_thread(void *ud)
{
	sigset_t *set = ud;
	int sig = 0;

	sigwait(set, &sig);
	if (on_signal_cleanup)
		on_signal_cleanup();
	fprintf(stderr, "\narmimmutable: interrupted by %s; %s\n", strsignal(sig),
		on_signal_what);
	_exit(1);
}

void watch_signals(void (*cleanup)(void), const char *what)
{
	static sigset_t set;
	pthread_t th;

	on_signal_cleanup = cleanup;
	on_signal_what = what;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&th, NULL, signal_thread, &set) == 0)
		pthread_detach(th);
}
