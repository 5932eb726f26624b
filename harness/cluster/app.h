/* app: the user's own program in a run ([app], or `rift run SCN -- CMD`):
 * started on the timeline inside the run's namespace with an address of
 * its own (cgbind) and the RIFT_ variables that tell it where the cluster
 * is, watched, stopped, and judged by the `app` check. */
#ifndef RIFT_APP_H
#define RIFT_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../sys/cgbind.h"

struct run;

struct app_rt {
    pid_t pid; /* an unreaped child of ours, or 0 */
    bool started, exited, stopped, timed_out;
    bool env_failed; /* it could not run at all (exec or cgroup): rift's error */
    int status;      /* wait status, once exited */
    int64_t start_ms, exit_ms;
    char log[300];
    struct cgbind cg;
};

/* 0, or -1 with err (the command cannot run here: rift's error). */
int app_start(struct run *r, char *err, size_t el);
/* Reaps it if it exited. */
void app_poll(struct run *r);
/* stop = wait, and it still runs. */
bool app_pending(const struct run *r);
/* Stops it (SIGTERM, then SIGKILL, then everything left in its cgroup)
 * and removes its cgroup. Safe to call twice. */
void app_stop(struct run *r, const char *why);
/* The `app` check: true when it passes; detail says what happened. */
bool app_verdict(const struct run *r, char *detail, size_t dl);
/* report.json's "app" member, after a comma. */
void app_json(const struct run *r, FILE *f);
/* The last lines of app.log, indented, for a summary. */
void app_tail(const struct run *r, FILE *f, int lines);

#endif
