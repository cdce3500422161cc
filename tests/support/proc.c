/*
 * The process as /proc and wait() show it (proc.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Whether task tid still runs code: a thread that has exited can stay
 * listed for a moment after pthread_join() returned, first still running
 * its exit in the kernel (flag PF_EXITING, 0x4, in field 9 of its stat:
 * the kernel wakes the joiner from there), then as Z or X while it is
 * released. */
static int task_alive(const char *tid)
{
    char path[300], stat[512];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;   /* already gone */
    const int got = fgets(stat, sizeof stat, f) != NULL;
    fclose(f);
    const char *end = got ? strrchr(stat, ')') : NULL;
    if (end == NULL || end[1] != ' ')
        return 1;
    char state = 0;
    unsigned long flags = 0;
    if (sscanf(end + 2, "%c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
        return 1;
    return state != 'Z' && state != 'X' && (flags & 0x4) == 0;
}

int proc_pool_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || !task_alive(e->d_name))
            continue;
        char path[300], name[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;   /* the thread has just exited */
        if (fgets(name, sizeof name, f) != NULL && strcmp(name, "focal-pool\n") == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

int proc_task_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.' && task_alive(e->d_name);
    closedir(d);
    return n;
}

long proc_status_kb(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    const size_t len = strlen(name);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ':' && sscanf(line + len + 1, "%ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int proc_under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

int proc_quick(void)
{
    const char *q = getenv("FOCAL_TEST_QUICK");
    return q != NULL && strcmp(q, "1") == 0;
}

int proc_child_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1000;
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -999;
}
