/* model: netem-style models with exact marginals. */
#include "model.h"

#include <math.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void model_rng_seed(struct model_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
uint64_t model_rng_next(struct model_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double model_rng_unit(struct model_rng *r)
{
    return ((double)(model_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* A 32-bit draw compared with a fixed-point probability (POL_P_ONE = 1). */
static inline bool draw(struct model_rng *r, uint64_t p)
{
    return (model_rng_next(r) >> 32) < p;
}

void model_init(struct model_state *m, uint64_t seed, unsigned rule_index)
{
    *m = (struct model_state){0};
    model_rng_seed(&m->rng, seed, rule_index + 1);
}

/* With probability rho repeat the last outcome, otherwise draw afresh: the
 * marginal rate stays exactly p and the lag-1 correlation is rho. (netem's
 * blend of uniforms shrinks the variance and so changes the rate.) */
bool model_bernoulli(struct model_rng *r, struct model_bern *b, uint64_t p, uint64_t rho)
{
    bool sticky = draw(r, rho);
    bool fresh = draw(r, p);
    if (!(b->init && sticky))
        b->last = fresh;
    b->init = true;
    return b->last;
}

/* Gilbert-Elliott: move the hidden state, then lose the packet with the
 * new state's loss probability (1-k in good, 1-h in bad). */
bool model_ge_loss(struct model_rng *r, bool *bad, const struct pol_effects *fx)
{
    bool move = draw(r, *bad ? fx->ge_r : fx->ge_p);
    bool deliver_draw;
    if (move)
        *bad = !*bad;
    deliver_draw = draw(r, *bad ? fx->ge_h : fx->ge_k);
    return !deliver_draw;
}

static double std_normal(struct model_rng *r)
{
    double u1 = model_rng_unit(r), u2 = model_rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t model_delay(struct model_state *m, const struct pol_effects *fx)
{
    double e = std_normal(&m->rng), z, u, x, d;
    if (!fx->jitter_ns)
        return fx->delay_ns;
    if (m->z_init) {
        double rho = (double)fx->delay_corr / (double)POL_P_ONE;
        z = rho * m->z + sqrt(1.0 - rho * rho) * e;
    } else {
        z = e;
    }
    m->z = z;
    m->z_init = true;
    switch (fx->dist) {
    case POL_DIST_NORMAL:
        x = z;
        break;
    case POL_DIST_PARETO:
        /* Pareto(alpha 3, xm 1) through the normal's CDF, standardised to
         * mean 0 and deviation 1: a long tail to the right. */
        u = 0.5 * erfc(-z / M_SQRT2);
        x = (pow(1.0 - u, -1.0 / 3.0) - 1.5) / sqrt(0.75);
        break;
    case POL_DIST_UNIFORM:
    default:
        u = 0.5 * erfc(-z / M_SQRT2);
        x = 2.0 * u - 1.0;
        break;
    }
    d = (double)fx->delay_ns + (double)fx->jitter_ns * x;
    return d <= 0 ? 0 : (uint64_t)d;
}

void model_decide(const struct pol_effects *fx, struct model_state *m, uint64_t now, uint32_t len,
                  struct model_decision *d)
{
    uint64_t base = now, t;
    bool lost;

    d->verdict = MODEL_PASS;
    d->duplicate = false;
    d->deadline = now;

    if (fx->loss_model == POL_LOSS_GEMODEL)
        lost = model_ge_loss(&m->rng, &m->ge_bad, fx);
    else
        lost = fx->loss && model_bernoulli(&m->rng, &m->loss, fx->loss, fx->loss_corr);
    if (lost) {
        d->verdict = MODEL_DROP;
        return;
    }
    if (fx->duplicate)
        d->duplicate = model_bernoulli(&m->rng, &m->dup, fx->duplicate, fx->duplicate_corr);
    if (fx->hold) {
        d->verdict = MODEL_HOLD;
        return;
    }
    if (fx->reorder && model_bernoulli(&m->rng, &m->reorder, fx->reorder, fx->reorder_corr)) {
        d->verdict = MODEL_REORDER;
        return;
    }
    if (fx->rate_bps) {
        uint64_t tx = (uint64_t)len * 8 * UINT64_C(1000000000) / fx->rate_bps;
        base = (m->rate_next > now ? m->rate_next : now) + tx;
        m->rate_next = base;
    }
    /* Nothing to wait for, unless earlier packets of this rule are still
     * delayed (the delay was just lowered): never overtake them. */
    if (!fx->delay_ns && base == now && m->last_deadline <= now)
        return;
    t = base + model_delay(m, fx);
    if (t < m->last_deadline)
        t = m->last_deadline;
    m->last_deadline = t;
    d->verdict = MODEL_DELAY;
    d->deadline = t;
}
