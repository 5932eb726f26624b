/* shrink: cut a failing schedule down to a small one that still fails.
 * Delta debugging over its faults and steps (halves, then smaller parts,
 * down to one at a time), then narrower node sets and message types,
 * shorter fault windows that start closer to the step they act around, and
 * times moved earlier. A candidate is kept when it fails in `need` of `runs`
 * replays; the result is replayed `final_runs` times. The runner is a
 * callback, so tests can shrink against a predicate. */
#ifndef RIFT_SHRINK_H
#define RIFT_SHRINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sched.h"

enum shrink_rc {
    SHRINK_FIRED = 1,   /* the replay failed the way the finding did */
    SHRINK_PASSED = 0,  /* it did not */
    SHRINK_ERROR = -1,  /* rift could not run it (environment): stop */
    SHRINK_STOPPED = -2 /* interrupted: stop */
};

/* Run sc once; which checks it failed go to what (for the log). */
typedef int (*shrink_runner)(void *ctx, const struct sched *sc, char *what, size_t wl);

struct shrink_opts {
    int runs, need;           /* keep a candidate that fires in need of runs (3, 2) */
    int final_runs;           /* replays of the result (5) */
    uint64_t time_ns;         /* stop trying candidates after this long (0: no bound) */
    FILE *log;                /* one line per candidate, or NULL */
    uint64_t (*now_ns)(void); /* NULL: the harness clock */
};

struct shrink_stats {
    int confirm_fired, confirm_runs; /* the schedule itself, first */
    bool rare;                       /* it failed in fewer than need of runs: not shrunk */
    int candidates, kept, replays;
    int timing_kept;    /* timing candidates kept */
    bool timing_undone; /* the result failed in fewer than 4 of 5 with them: undone */
    int final_fired, final_runs;
    int faults_before, steps_before, faults_after, steps_after;
    bool timed_out;
    int stopped; /* 0, SHRINK_ERROR or SHRINK_STOPPED */
    uint64_t ns;
};

/* First replays sc itself as a candidate: when it fails too rarely to be
 * kept, there is nothing to shrink against (st->rare). Then shrinks sc in
 * place. 0 (done, possibly cut short by time, or rare), or
 * SHRINK_ERROR / SHRINK_STOPPED (sc is the smallest kept so far). */
int shrink_run(struct sched *sc, const struct shrink_opts *o, shrink_runner run, void *ctx,
               struct shrink_stats *st);

#endif
