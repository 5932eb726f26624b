/* pstat: a process's start time from /proc/PID/stat, so that a PID is
 * signalled only while it is still the process that was started (a reused
 * PID has another start time). */
#include "pstat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* /proc/PID/stat read into buf; returns what follows the command name
 * (which may hold spaces and parentheses: fields count from the last ')'),
 * or NULL. */
static char *read_stat(pid_t pid, char *buf, size_t len)
{
    char path[64], *p;
    ssize_t n;
    int fd;
    if (pid <= 0)
        return NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p + 2 : NULL;
}

uint64_t pstat_start_time(pid_t pid)
{
    char buf[1024], *p = read_stat(pid, buf, sizeof(buf)), *end;
    unsigned long long v;
    if (!p)
        return 0;
    /* p is field 3 (state); the start time is field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
        return 0;
    return (uint64_t)v;
}

static char proc_state(pid_t pid)
{
    char buf[1024], *p = read_stat(pid, buf, sizeof(buf));
    if (!p)
        return '\0';
    return *p;
}

bool pstat_alive_since(pid_t pid, uint64_t start)
{
    char st;
    if (pid <= 1 || !start || pstat_start_time(pid) != start)
        return false;
    st = proc_state(pid);
    return st && st != 'Z' && st != 'X';
}

bool pstat_word(const char **s, char *out, size_t len)
{
    const char *p = *s;
    size_t n = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '\n')
        return false;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
        if (n + 1 < len)
            out[n++] = *p;
        p++;
    }
    if (len)
        out[n] = 0;
    *s = p;
    return true;
}

bool pstat_u64(const char **s, uint64_t *v)
{
    char w[32], *end;
    if (!pstat_word(s, w, sizeof(w)) || w[0] < '0' || w[0] > '9')
        return false;
    errno = 0;
    *v = strtoull(w, &end, 10);
    return !errno && !*end;
}

#define STOP_MAX 1024

/* Signal pid, with its group when it leads one of its own. */
static void signal_tree(pid_t pid, int sig)
{
    kill(getpgid(pid) == pid ? -pid : pid, sig);
}

/* Sleep in 10 ms steps until none of them runs, at most ms. */
static void wait_gone(const pid_t *pids, const uint64_t *starts, int n, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        int alive = 0;
        for (int i = 0; i < n; i++)
            alive += pstat_alive_since(pids[i], starts[i]);
        if (!alive)
            return;
        usleep(10000);
    }
}

int pstat_stop_listed(FILE *f, int term_ms)
{
    char line[256];
    pid_t pids[STOP_MAX];
    uint64_t starts[STOP_MAX];
    int n = 0;
    while (n < STOP_MAX && fgets(line, sizeof(line), f)) {
        const char *p = line;
        uint64_t pid, start;
        if (pstat_u64(&p, &pid) && pstat_u64(&p, &start) && pid > 1 && pid <= 4194304 &&
            pstat_alive_since((pid_t)pid, start)) {
            pids[n] = (pid_t)pid;
            starts[n++] = start;
        }
    }
    fclose(f);
    for (int i = 0; i < n; i++) {
        signal_tree(pids[i], term_ms ? SIGTERM : SIGKILL);
        if (term_ms)
            signal_tree(pids[i], SIGCONT);
    }
    if (term_ms) {
        wait_gone(pids, starts, n, term_ms);
        for (int i = 0; i < n; i++)
            if (pstat_alive_since(pids[i], starts[i]))
                signal_tree(pids[i], SIGKILL);
    }
    /* gone (or zombies): the caller's next look should not find them */
    wait_gone(pids, starts, n, 5000);
    return n;
}
