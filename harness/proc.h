/* proc: child processes and the run registry. Every process a run starts
 * is started from an argv array, reaped, and written to the run's registry
 * folder (/run/rift/runs/ID) so that `rift cleanup` can stop it even after
 * the harness was killed. */
#ifndef RIFT_PROC_H
#define RIFT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_REGISTRY "/run/rift/runs"

struct registry {
    char dir[256];   /* /run/rift/runs/ID */
};

int reg_create(struct registry *r, const char *id, const char *netns, const char *tmpdir,
               char *err, size_t errlen);
void reg_add_pid(struct registry *r, pid_t pid);
void reg_remove(struct registry *r);

/* fork + exec argv with stdout/stderr to log (append; NULL: /dev/null). */
pid_t proc_spawn(char *const argv[], const char *log);
/* SIGTERM, wait up to ms, then SIGKILL; returns the wait status. */
int proc_stop(pid_t pid, int ms);
/* Run argv to completion; returns its exit status, -1 if it could not run. */
int proc_run(char *const argv[]);

/* `rift cleanup`: stop what every registered run left, delete its network
 * namespace and temp dir. Prints what it removed. Returns the number of
 * runs cleaned. */
int reg_cleanup_all(void);

#endif
