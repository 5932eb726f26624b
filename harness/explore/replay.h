/* replay: a schedule run as an ordinary scenario (run_scenario, quiet),
 * whether it failed the way a finding did, shrinking against that, and
 * `rift shrink`. */
#ifndef RIFT_REPLAY_H
#define RIFT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../run/run.h"
#include "sched.h"
#include "shrink.h"

#define REPLAY_FINAL_RUNS 5              /* replays of a shrunk schedule */
#define REPLAY_CANDIDATE "candidate.ini" /* each replay's scenario, in replay.dir */
#define REPLAY_HIST 64

/* Check names, most specific first: the check a shrink keeps failing. */
extern const char *const replay_checks[];

struct rfile_dir;
struct replay {
    const char *server;
    const struct rfile_dir *dir; /* the folder each replay's scenario is written in */
    char file[600];              /* its path there (dir/REPLAY_CANDIDATE) */
    char target[16];
    bool never_heals_expected;
    unsigned seen[REPLAY_HIST]; /* per replay: bit k when replay_checks[k] fired */
    int n_hist;
    char error[512];
};

int replay_check_index(const char *name);
/* Bit k for replay_checks[k]: the checks a run failed. */
unsigned replay_failed(const struct run_result *res);
/* The most specific check of mask m, or NULL. */
const char *replay_first(unsigned m);
void replay_names(unsigned m, char *out, size_t len);
/* run_scenario on file, quiet, its report in report (or none): its exit
 * status. */
int replay_run(const struct replay *R, const char *file, const struct rfile_dir *report,
               struct run_result *res);
/* Shrinks sc against R->target, runs replays per candidate (kept when a
 * majority fails); writes the result's note and [expect]. */
int replay_shrink(struct sched *sc, struct replay *R, int runs, int final, uint64_t bound_ns,
                  const char *from, struct shrink_stats *st);
/* SIGINT, SIGTERM: run_interrupted. */
void replay_on_signal(int sig);

struct shrink_cli {
    const char *scenario;
    const char *server;
    const char *out;   /* or NULL: stdout */
    const char *check; /* or NULL: the most specific check that fails */
    int runs;
    int final; /* replays of the result (REPLAY_FINAL_RUNS) */
    uint64_t shrink_ns;
};

/* rift shrink: 1 a failing schedule written, 0 the scenario did not fail,
 * 2 rift failed, 130 interrupted. */
int shrink_main(const struct shrink_cli *o);

#endif
