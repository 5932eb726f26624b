/* model: the per-rule random models (seeded PRNG, correlated Bernoulli,
 * Gilbert-Elliott loss, jittered delay, rate) and the per-packet decision. */
#ifndef RIFT_MODEL_H
#define RIFT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct model_rng {
    uint64_t s[4];
};

struct model_bern {
    bool last;
    bool init;
};

struct model_state {
    struct model_rng rng;
    struct model_bern loss, dup, reorder;
    bool ge_bad;
    double z; /* last standard normal of the delay process */
    bool z_init;
    uint64_t rate_next;     /* when the rate-limited link is free again */
    uint64_t last_deadline; /* delayed packets leave in arrival order */
};

enum model_verdict {
    MODEL_PASS, /* accept now, nothing held */
    MODEL_DROP,
    MODEL_DELAY,   /* hold until deadline */
    MODEL_HOLD,    /* hold until the rule turns off */
    MODEL_REORDER, /* accept now, ahead of the packets the rule holds */
};

struct model_decision {
    enum model_verdict verdict;
    bool duplicate;
    uint64_t deadline; /* MODEL_DELAY only */
};

void model_rng_seed(struct model_rng *r, uint64_t seed, uint64_t stream);
uint64_t model_rng_next(struct model_rng *r);
/* Uniform in (0, 1), never 0 or 1. */
double model_rng_unit(struct model_rng *r);

/* Each rule gets its own stream, so one rule's decisions depend only on the
 * seed and on the packets that rule saw. */
void model_init(struct model_state *m, uint64_t seed, unsigned rule_index);

bool model_bernoulli(struct model_rng *r, struct model_bern *b, uint64_t p, uint64_t rho);
bool model_ge_loss(struct model_rng *r, bool *bad, const struct pol_effects *fx);
/* Delay in ns for one packet: delay + jitter drawn from the distribution,
 * with lag-1 correlation through a Gaussian AR(1) process; never negative. */
uint64_t model_delay(struct model_state *m, const struct pol_effects *fx);

void model_decide(const struct pol_effects *fx, struct model_state *m, uint64_t now, uint32_t len,
                  struct model_decision *d);

#endif
