/*
 * The process as /proc and wait() show it, for the tests of the thread
 * pool and of forked children.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef FOCAL_TEST_PROC_H
#define FOCAL_TEST_PROC_H

#include <sys/types.h>

/* The pool's threads alive in this process: the tasks in /proc/self/task
 * named "focal-pool"; -1 when /proc/self/task cannot be read. */
int proc_pool_threads(void);

/* The threads of this process (entries of /proc/self/task, without
 * those that have exited and await release); -1 when it cannot be read. */
int proc_task_count(void);

/* A "Name:   value kB" field of /proc/self/status (VmRSS, VmSize, ...) in
 * kB; -1 when it is not there. */
long proc_status_kb(const char *name);

/* Whether the program runs under valgrind (its preloaded library is in
 * LD_PRELOAD), which executes threads one at a time, 50 to 100 times slower. */
int proc_under_valgrind(void);

/* Whether FOCAL_TEST_QUICK=1 is in the environment: the shorter runs the
 * slow stages ask for (sanitizers, valgrind, coverage, emulated
 * architectures). Any other value, or none, is the full run. */
int proc_quick(void);

/* Waits for the child pid: its exit status, -signal when a signal ended it,
 * -1000 when it cannot be waited for. */
int proc_child_status(pid_t pid);

#endif /* FOCAL_TEST_PROC_H */
