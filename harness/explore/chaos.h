/* chaos: `rift chaos`: seeded random rounds with live checks; each failing
 * round is a finding, replayable and shrunk (replay.h has `rift shrink`). */
#ifndef RIFT_CHAOS_H
#define RIFT_CHAOS_H

#include <stdbool.h>
#include <stdint.h>

#define CHAOS_KEEP_FINDINGS 10

struct chaos_opts {
    const char *spec;
    const char *server;     /* or NULL */
    const char *report_dir; /* or NULL */
    uint64_t seed;
    bool seed_given;
    uint64_t time_ns;   /* bound on the rounds (0: none) */
    int rounds;         /* 0: until time_ns */
    uint64_t shrink_ns; /* bound on shrinking each finding; 0: no shrinking */
    int runs;           /* replays per shrink candidate (3: kept when 2 fail) */
    bool dry_run;       /* print the schedules, run nothing */
    int max_findings;   /* stop after this many findings (0: no limit) */
    int keep_findings;  /* findings that keep their whole report; later ones
                           keep what replays them (CHAOS_KEEP_FINDINGS) */
    bool keep_rounds;   /* keep the folders of rounds that passed */
};

int chaos_main(const struct chaos_opts *o);

#endif
