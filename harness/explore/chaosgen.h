/* chaosgen: a chaos SPEC (a scenario with [chaos] instead of a timeline)
 * and the seeded generator that draws one round's faults and steps from
 * it. Every choice comes from one PRNG seeded by the round's seed: the same
 * seed and SPEC give the same schedule, byte for byte. */
#ifndef RIFT_CHAOSGEN_H
#define RIFT_CHAOSGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "../scenario/scenario.h"
#include "sched.h"

enum chaos_nemesis {
    /* faults */
    NM_HOLD_PAIR,
    NM_PARTITION,
    NM_MSG_DROP,
    NM_MSG_DELAY,
    NM_LINK_DELAY,
    NM_LINK_LOSS,
    /* steps */
    NM_FAILOVER,
    NM_MIGRATE,
    NM_KILL_RESTART,
    NM_PAUSE_RESUME,
    NM__COUNT
};
#define NM_FIRST_STEP NM_FAILOVER

extern const char *const chaos_nemesis_names[NM__COUNT];

struct chaos_spec {
    uint64_t round_ns;
    unsigned nemeses; /* bit per enum chaos_nemesis */
    int faults_lo, faults_hi;
    int steps_lo, steps_hi;
    uint32_t messages; /* cluster-bus types message nemeses pick from */
};

/* The SPEC's [chaos] section and the scenario its other sections make.
 * *text is the SPEC's text (malloc'd; the base of every round). Errors are
 * "FILE:LINE: what". Exactly one of file and text (then named name). */
int chaos_load(struct chaos_spec *cs, struct scenario *base, const char *name, const char *file,
               const char *text, char **spec_text, char *err, size_t el);
/* Round r's seed (r from 1), from the chaos seed. */
uint64_t chaos_round_seed(uint64_t seed, int round);
/* One round's schedule: faults, steps, then `wait converged` at the end of
 * the round. 0, or -1 (out of memory). */
int chaos_generate(const struct chaos_spec *cs, const struct scenario *base, const char *spec_text,
                   uint64_t round_seed, struct sched *out);
/* "hold-pair, failover" */
void chaos_nemeses_text(unsigned nemeses, char *out, size_t len);

#endif
