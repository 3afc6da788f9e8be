/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection for power-cut tests. Every write path calls aim_fault_point() right after
 * each write/pwrite/fsync/rename (or helper run) that changes a device, a slot, a boot file
 * or the slot state:
 *
 *	AIM_FAULT_AT=N       the Nth point reached (1-based) ends the process at once with
 *	                     _exit(75): a simulated power cut (no cleanup, no atexit, no
 *	                     flush of stdio buffers)
 *	AIM_FAULT_COUNT=FILE at a normal exit, the number of points reached is written to FILE
 *
 * Neither set: a counter increment and nothing else. Tests run an operation once with
 * AIM_FAULT_COUNT to learn the count, then cut it at every point 1..count in turn.
 *
 * This is the one place where the library reads the environment (on purpose: the points
 * sit deep in write paths). libc only: the static initramfs helper links it too.
 */
#ifndef AIM_BASE_FAULT_H
#define AIM_BASE_FAULT_H

#define AIM_FAULT_EXIT 75

/* what: a short label ("state fsync"), printed to stderr when the cut happens. */
void aim_fault_point(const char *what);

/* Points reached so far in this process. */
unsigned aim_fault_count(void);

#endif
