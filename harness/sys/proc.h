/* proc: child processes: started from an argv array (one way for every
 * program the harness runs), signalled only while they are unreaped
 * children of ours, reaped, stopped. */
#ifndef RIFT_PROC_H
#define RIFT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../proto/pstat.h"

/* For out/err: keep the caller's descriptor. */
#define PROC_KEEP ((const char *)-1)

struct proc_opts {
    const char *out;    /* stdout appended to this file; NULL: /dev/null; PROC_KEEP */
    const char *err;    /* stderr likewise; NULL: where stdout goes */
    const char *env;    /* one extra "NAME=value", or NULL */
    char *const *envs;  /* more of them, NULL-terminated, or NULL */
    const char *cgroup; /* a cgroup v2 folder the child joins before exec, or NULL */
    bool same_group;    /* stay in the caller's process group (Ctrl-C reaches it) */
    const int *netns;   /* an open /proc/PID/ns/net the child enters before exec, or NULL */
    /* told of the child under role before it may exec (rift's registry:
     * reg_started with its registry); -1 kills it. NULL: nobody */
    int (*started)(void *ctx, pid_t pid, const char *role);
    void *started_ctx;
    const char *role;
};

/* fork + exec argv. With started, the child is registered before it
 * execs: a harness killed in between leaves no unregistered process (the
 * child sees its gate close and exits). The PID or -1. */
pid_t proc_start(char *const argv[], const struct proc_opts *o);
/* proc_start with stdout and stderr to log (NULL: /dev/null). */
pid_t proc_spawn(char *const argv[], const char *log);
/* Run argv to completion: its exit status, -1 if it could not run. */
int proc_run(char *const argv[]);
/* The same with the caller's stdout, stderr and process group (its
 * progress shows, Ctrl-C reaches it), one extra "NAME=value" or NULL. */
int proc_run_shown(char *const argv[], const char *env);
/* Run argv to completion with its stdout into out (NUL-terminated, cut at
 * len - 1): its exit status, -1 if it could not run. */
int proc_capture(char *const argv[], char *out, size_t len);
/* The whole of a file that stat cannot size (/proc), NUL-terminated, its
 * length in *len when len is not NULL; malloc'd, NULL on error. */
char *proc_read_file(const char *path, size_t *len);

/* A process's start time and whether it still runs: proto/pstat.h (the
 * shim's agent uses them too). With PID, the start time names one process
 * for good. */

/* Signal a child of ours that has not exited: 0, -ESRCH when it has exited
 * (not reaped yet), -ECHILD when PID is not an unreaped child of this
 * process, -EINVAL for PIDs <= 1 (kill(0) and kill(-1) hit process groups). */
int proc_signal_child(pid_t pid, int sig);
/* The child has exited: reaps it and stores its wait status. */
bool proc_reap(pid_t pid, int *status);
/* SIGTERM, wait up to ms, then SIGKILL; returns the wait status. Only
 * signals an unreaped child of ours. */
int proc_stop(pid_t pid, int ms);
/* proc_stop for n children at once: all get SIGTERM first, then each is
 * waited for up to its own ms[i] (counted from the signal) before SIGKILL;
 * status[i] gets its wait status and pids[i] becomes 0. PIDs <= 0 are
 * skipped. The wait takes as long as the slowest, not the sum. */
void proc_stop_all(pid_t *pids, const int *ms, int *status, int n);

#endif
