/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs of the armimmutable CLI, one file each, and the helpers they share. */
#ifndef AIM_CMD_H
#define AIM_CMD_H

#include <stdint.h>

/* Each verb: argv[0] is the verb name. Returns 0, or <0 (already reported):
 * -AIM_E_USAGE (base/log.h) is a usage error (exit status 2), any other code a failure
 * (exit status 1). */
int cmd_inspect(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_keygen(int argc, char **argv);   /* cmd-keygen.c */
int cmd_bundle(int argc, char **argv);   /* cmd-bundle.c */
int cmd_install(int argc, char **argv);  /* cmd-install.c */
int cmd_status(int argc, char **argv);   /* cmd-status.c */
int cmd_mark_good(int argc, char **argv); /* cmd-slot.c: state-changing verbs */
int cmd_mark_bad(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_reset(int argc, char **argv);

/* SIGINT/SIGTERM/SIGHUP: cleanup() runs in a thread of its own, then "interrupted by
 * SIG; what" and exit 1 (signals.c). */
void watch_signals(void (*cleanup)(void), const char *what);

/* Usage error: prints "armimmutable VERB: msg (see 'armimmutable VERB --help')" and
 * returns -AIM_E_USAGE. */
int usage_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A progress bar on stderr when it is a terminal (rate and ETA), silent otherwise or
 * with --quiet. */
struct progress {
	const char *what;
	uint64_t total;
	double start, last;
	int active;
};
void progress_begin(struct progress *p, const char *what, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);
/* Adapter for library callbacks: ud is a struct progress. */
void progress_cb(void *ud, uint64_t done, uint64_t total);

#endif
