/* proc: child processes and the run registry. Every process a run starts
 * is started from an argv array, reaped, and written to the run's registry
 * folder (/run/rift/runs/ID) with its start time before it may exec, so
 * that `rift cleanup` can stop it even after the harness was killed, and
 * never signals a process that merely reuses its PID. */
#ifndef RIFT_PROC_H
#define RIFT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_REGISTRY "/run/rift/runs"

struct registry {
    char dir[256]; /* /run/rift/runs/ID */
};

/* The registry folder of run ID, holding the namespace and temp dir names
 * (written before either exists) and the run's own PID. */
int reg_create(struct registry *r, const char *id, const char *netns, const char *tmpdir, char *err,
               size_t errlen);
/* Record a process: "PID STARTTIME ROLE". 0, or -errno. */
int reg_add_pid(struct registry *r, pid_t pid, const char *role);
void reg_remove(struct registry *r);

/* Start time of a process (clock ticks after boot, /proc/PID/stat field
 * 22), 0 if there is none. With PID it names one process for good. */
uint64_t proc_start_time(pid_t pid);
/* PID runs (not a zombie) and started at start. */
bool proc_alive_since(pid_t pid, uint64_t start);

/* fork + exec argv. stdout to out and stderr to err (appending; NULL out:
 * /dev/null, NULL err: same as out); env: one extra "NAME=value" or NULL.
 * With reg, the child is registered under role before it execs: a harness
 * killed in between leaves no unregistered process (the child sees its
 * gate close and exits). Returns the PID or -1. */
pid_t proc_spawn_reg(struct registry *reg, const char *role, char *const argv[], const char *out,
                     const char *err, const char *env);
pid_t proc_spawn(char *const argv[], const char *log);
/* Signal a child of ours that has not exited: 0, -ESRCH when it has exited
 * (not reaped yet), -ECHILD when PID is not an unreaped child of this
 * process, -EINVAL for PIDs <= 1 (kill(0) and kill(-1) hit process groups). */
int proc_signal_child(pid_t pid, int sig);
/* The child has exited: reaps it and stores its wait status. */
bool proc_reap(pid_t pid, int *status);
/* SIGTERM, wait up to ms, then SIGKILL; returns the wait status. Only
 * signals an unreaped child of ours. */
int proc_stop(pid_t pid, int ms);
/* Run argv to completion; returns its exit status, -1 if it could not run. */
int proc_run(char *const argv[]);

/* Mark a temp dir of this process (rift matrix's) as ours: `rift cleanup`
 * removes it once this process is gone. */
#define PROC_TMP_PREFIX "/tmp/rift-matrix-"
int proc_mark_owner(const char *dir);

/* `rift cleanup`: stop what every registered run left whose rift process
 * is gone, delete its network namespace and temp dir, and the temp dirs
 * of `rift matrix` processes that are gone. Prints what it removed.
 * Returns the number of runs cleaned. */
int reg_cleanup_all(void);

#endif
