/* test_model: the random models (PRNG, Bernoulli, Gilbert-Elliott, delay) by their statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/model.h"

#define PCT(x) ((uint64_t)llround((x) / 100.0 * (double)POL_P_ONE))
#define MS 1e6 /* ns */

/* Every statistical check below uses a fixed seed, so each is deterministic;
 * the tolerances are still derived from the sample size (about 3.3 to 5
 * standard errors) so that they would hold for almost any seed, and a model
 * that is wrong by more than a few standard errors fails. */

static void near(const char *what, double got, double want, double tol, int line)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("(line %d) %s = %.6g, want %.6g +- %.3g", line, what, got, want, tol);
}
#define ASSERT_NEAR(what, got, want, tol) near(what, got, want, tol, __LINE__)

struct stats {
    double mean, sd, r1, min, max;
};

/* Mean, standard deviation, lag-1 autocorrelation, extremes. */
static struct stats describe(const double *x, size_t n)
{
    struct stats s = {.min = x[0], .max = x[0]};
    double sum = 0, ss = 0, cross = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        s.min = x[i] < s.min ? x[i] : s.min;
        s.max = x[i] > s.max ? x[i] : s.max;
    }
    s.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - s.mean;
        ss += d * d;
        if (i + 1 < n)
            cross += d * (x[i + 1] - s.mean);
    }
    s.sd = sqrt(ss / (double)(n - 1));
    s.r1 = cross / ss;
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- PRNG ---- */

static void test_rng_deterministic(void **state)
{
    struct model_rng a, b, c, d;
    int same_bc = 0, same_bd = 0;
    (void)state;
    model_rng_seed(&a, 1234, 1);
    model_rng_seed(&b, 1234, 1);
    model_rng_seed(&c, 1235, 1); /* other seed */
    model_rng_seed(&d, 1234, 2); /* other stream */
    for (int i = 0; i < 1000; i++) {
        uint64_t x = model_rng_next(&a), y = model_rng_next(&b);
        assert_int_equal(x, y);
        same_bc += y == model_rng_next(&c);
        same_bd += y == model_rng_next(&d);
    }
    /* Two independent 64-bit streams agree nowhere in 1000 draws. */
    assert_int_equal(same_bc, 0);
    assert_int_equal(same_bd, 0);
}

static void test_rng_unit(void **state)
{
    struct model_rng r;
    double lo = 1, hi = 0, sum = 0;
    const int n = 200000;
    (void)state;
    model_rng_seed(&r, 7, 0);
    for (int i = 0; i < n; i++) {
        double u = model_rng_unit(&r);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        sum += u;
    }
    assert_true(lo > 0.0 && lo < 1e-4);
    assert_true(hi < 1.0 && hi > 1 - 1e-4);
    /* sd of the mean: sqrt(1/12 / n) = 6.5e-4; 0.003 is 4.6 of them. */
    ASSERT_NEAR("mean of unit draws", sum / n, 0.5, 0.003);
}

/* ---- correlated Bernoulli ---- */

#define NB 200000
static double bits[NB];

static void run_bernoulli(uint64_t seed, uint64_t p, uint64_t rho)
{
    struct model_rng r;
    struct model_bern b = {0};
    model_rng_seed(&r, seed, 1);
    for (int i = 0; i < NB; i++)
        bits[i] = model_bernoulli(&r, &b, p, rho) ? 1.0 : 0.0;
}

static void test_bernoulli_rate(void **state)
{
    struct stats s;
    (void)state;
    run_bernoulli(42, PCT(30), 0);
    s = describe(bits, NB);
    /* 99.9% binomial interval: 3.29 * sqrt(0.3 * 0.7 / 200000) = 0.00337. */
    ASSERT_NEAR("loss rate, rho 0", s.mean, 0.30, 3.29 * sqrt(0.3 * 0.7 / NB));
    /* Independent draws: r1 has sd 1/sqrt(n) = 0.0022; 0.01 is 4.5 of them. */
    ASSERT_NEAR("lag-1 autocorrelation, rho 0", s.r1, 0.0, 0.01);

    /* Edges: 0% never, 100% always. */
    run_bernoulli(42, 0, 0);
    assert_true(describe(bits, NB).max == 0.0);
    run_bernoulli(42, POL_P_ONE, 0);
    assert_true(describe(bits, NB).min == 1.0);
}

static void test_bernoulli_correlated(void **state)
{
    struct stats s;
    (void)state;
    run_bernoulli(43, PCT(30), PCT(50));
    s = describe(bits, NB);
    /* Repeating the last outcome with probability rho keeps the marginal at p
     * but inflates the variance of the mean by (1 + rho) / (1 - rho) = 3:
     * 99.9% interval 3.29 * sqrt(3 * 0.21 / 200000) = 0.0058. */
    ASSERT_NEAR("loss rate, rho 50%", s.mean, 0.30, 3.29 * sqrt(3 * 0.3 * 0.7 / NB));
    /* r1 of this Markov chain is rho; its sd is about sqrt((1 - rho^2) / n)
     * = 0.0019, so 0.01 is 5 of them (the brief allowed 0.02). */
    ASSERT_NEAR("lag-1 autocorrelation, rho 50%", s.r1, 0.50, 0.01);

    run_bernoulli(44, PCT(10), PCT(90));
    s = describe(bits, NB);
    /* Inflation 19: 3.29 * sqrt(19 * 0.09 / 200000) = 0.0096. */
    ASSERT_NEAR("loss rate, rho 90%", s.mean, 0.10, 0.0096);
    /* sd sqrt(0.19 / n) = 0.001; 0.005 is 5 of them. */
    ASSERT_NEAR("lag-1 autocorrelation, rho 90%", s.r1, 0.90, 0.005);
}

/* ---- Gilbert-Elliott ---- */

static void test_gilbert_elliott(void **state)
{
    struct pol_effects fx = {.loss_model = POL_LOSS_GEMODEL,
                             .ge_p = PCT(1),
                             .ge_r = PCT(10),
                             .ge_h = 0,
                             .ge_k = POL_P_ONE};
    struct model_rng r;
    bool bad = false;
    const long n = 1000000;
    long lost = 0, bursts = 0, run = 0, burst_total = 0;
    (void)state;
    model_rng_seed(&r, 99, 3);
    for (long i = 0; i < n; i++) {
        bool l = model_ge_loss(&r, &bad, &fx);
        /* h = 0, k = 100%: lost exactly when in the bad state. */
        assert_int_equal(l, bad);
        lost += l;
        if (l) {
            run++;
        } else if (run) {
            bursts++;
            burst_total += run;
            run = 0;
        }
    }
    /* Stationary bad share pi = p / (p + r) = 1/11. The chain's lag-k
     * correlation is (1 - p - r)^k = 0.89^k, so the variance of the mean is
     * pi (1 - pi) (1 + 0.89) / (1 - 0.89) / n: sd 0.0012, 99.9% +-0.0039. */
    ASSERT_NEAR("Gilbert-Elliott loss rate", (double)lost / n, 0.01 / 0.11, 0.004);
    /* Bursts are geometric with mean 1/r = 10 and sd sqrt(1 - r)/r = 9.5;
     * about n * p * (1 - pi) = 9100 of them: sd of the mean 0.1, tol 5 sd. */
    assert_true(bursts > 8000 && bursts < 10200);
    ASSERT_NEAR("mean loss burst", (double)burst_total / bursts, 10.0, 0.5);
}

static void test_gilbert_elliott_h_k(void **state)
{
    /* p = 0: never leaves good, so loss = 1 - k. */
    struct pol_effects fx = {
        .loss_model = POL_LOSS_GEMODEL, .ge_p = 0, .ge_r = PCT(50), .ge_h = 0, .ge_k = PCT(90)};
    struct model_rng r;
    bool bad = false;
    long lost = 0;
    (void)state;
    model_rng_seed(&r, 5, 1);
    for (int i = 0; i < NB; i++)
        lost += model_ge_loss(&r, &bad, &fx);
    assert_false(bad);
    /* Binomial 99.9%: 3.29 * sqrt(0.09 / n) = 0.0022. */
    ASSERT_NEAR("loss in good state, k 90%", (double)lost / NB, 0.10, 0.0022);

    /* p = 100%, r = 0: bad after the first packet, loss = 1 - h. */
    fx.ge_p = POL_P_ONE;
    fx.ge_r = 0;
    fx.ge_h = PCT(75);
    lost = 0;
    for (int i = 0; i < NB; i++)
        lost += model_ge_loss(&r, &bad, &fx);
    assert_true(bad);
    /* 3.29 * sqrt(0.1875 / n) = 0.0032. */
    ASSERT_NEAR("loss in bad state, h 75%", (double)lost / NB, 0.25, 0.0032);
}

/* ---- delay ---- */

#define ND 200000
static double delays[ND];

static struct stats run_delay(uint64_t seed, enum pol_dist dist, uint64_t corr)
{
    struct pol_effects fx = {
        .delay_ns = 10000000, .jitter_ns = 2000000, .dist = dist, .delay_corr = corr};
    struct model_state m;
    model_init(&m, seed, 0);
    for (int i = 0; i < ND; i++)
        delays[i] = (double)model_delay(&m, &fx);
    return describe(delays, ND);
}

static void test_delay_uniform(void **state)
{
    struct stats s = run_delay(11, POL_DIST_UNIFORM, 0);
    double sd = 2 * MS / sqrt(3);
    (void)state;
    /* Support is exactly [delay - jitter, delay + jitter]; 200000 draws come
     * within 10 us (0.25% of the width) of both ends. */
    assert_true(s.min >= 8 * MS && s.min < 8.01 * MS);
    assert_true(s.max <= 12 * MS && s.max > 11.99 * MS);
    /* sd of the mean sd / sqrt(n) = 2.6 us; tol 10 us. */
    ASSERT_NEAR("uniform mean", s.mean, 10 * MS, 10000);
    /* sd of s: sqrt((1/5 - 1/9) a^4 / n) / (2 s) = 1.2 us for a = 2 ms;
     * tol 0.5% = 5.8 us. */
    ASSERT_NEAR("uniform sd", s.sd, sd, 0.005 * sd);
    ASSERT_NEAR("uniform r1", s.r1, 0.0, 0.01);
}

static void test_delay_normal(void **state)
{
    struct stats s = run_delay(12, POL_DIST_NORMAL, 0);
    long inside = 0;
    (void)state;
    /* sd of the mean 2 ms / sqrt(n) = 4.5 us; tol 15 us (3.3 sd). */
    ASSERT_NEAR("normal mean", s.mean, 10 * MS, 15000);
    /* sd of s: sigma / sqrt(2n) = 3.2 us; tol 15 us. */
    ASSERT_NEAR("normal sd", s.sd, 2 * MS, 15000);
    ASSERT_NEAR("normal r1", s.r1, 0.0, 0.01);
    for (int i = 0; i < ND; i++)
        inside += fabs(delays[i] - 10 * MS) <= 2 * MS;
    /* Within one sigma: 68.27%, 99.9% binomial +-0.0034. */
    ASSERT_NEAR("normal share within 1 sd", (double)inside / ND, 0.6827, 0.0034);
    /* 5 sigma below 10 ms is 0: clamping to zero never happens here. */
    assert_true(s.min > 0);
}

static void test_delay_pareto(void **state)
{
    struct stats s = run_delay(13, POL_DIST_PARETO, 0);
    /* Pareto(alpha 3, xm 1) has mean 1.5, variance 0.75 and median 2^(1/3);
     * standardised, its lower bound is -0.5/sqrt(0.75) = -0.577 and its
     * median (2^(1/3) - 1.5)/sqrt(0.75) = -0.2772. */
    double lo = 10 * MS - 2 * MS * 0.5 / sqrt(0.75);
    double median = 10 * MS + 2 * MS * (cbrt(2.0) - 1.5) / sqrt(0.75);
    (void)state;
    /* Mean: 2% asked; the sd of the mean is 4.5 us, so 20 us (0.2%) is used. */
    ASSERT_NEAR("pareto mean", s.mean, 10 * MS, 20000);
    assert_true(fabs(s.mean - 10 * MS) < 0.02 * 10 * MS);
    assert_true(s.min >= 10 * MS - 1.733 * 2 * MS - 1000);
    /* Tighter: the support starts at lo; 200000 draws get within 10 us. */
    assert_true(s.min >= lo - 1 && s.min < lo + 10000);
    /* A long tail to the right only. */
    assert_true(s.max > 10 * MS + 5 * 2 * MS);
    qsort(delays, ND, sizeof(delays[0]), cmp_double);
    /* Median sd 1 / (2 f(m) sqrt(n)) = 2.2 us; tol 20 us. */
    ASSERT_NEAR("pareto median", delays[ND / 2], median, 20000);
    assert_true(delays[ND / 2] < s.mean);
}

static void test_delay_correlated(void **state)
{
    struct stats s = run_delay(14, POL_DIST_NORMAL, PCT(75));
    (void)state;
    /* r1 of a Gaussian AR(1) is rho, with sd about sqrt((1 - rho^2) / n)
     * = 0.0015: 0.01 is 6.8 of them (the brief allowed 0.03). */
    ASSERT_NEAR("correlated r1", s.r1, 0.75, 0.01);
    /* The AR(1) keeps a unit variance; sd of s grows by
     * sqrt((1 + rho^2) / (1 - rho^2)) = 1.9 to 6 us: tol 1.5% = 30 us. */
    ASSERT_NEAR("correlated sd", s.sd, 2 * MS, 30000);
    /* sd of the mean 4.5 us * sqrt((1 + rho) / (1 - rho)) = 12 us; tol 45 us. */
    ASSERT_NEAR("correlated mean", s.mean, 10 * MS, 45000);

    /* Through the uniform transform the correlation becomes Spearman's
     * (6/pi) asin(rho/2) = 0.734; same sd as above, tol 0.01. */
    s = run_delay(15, POL_DIST_UNIFORM, PCT(75));
    assert_true(s.min >= 8 * MS && s.max <= 12 * MS);
    ASSERT_NEAR("correlated uniform r1", s.r1, 6 / M_PI * asin(0.375), 0.01);
    ASSERT_NEAR("correlated uniform mean", s.mean, 10 * MS, 40000);
}

static void test_delay_fixed_and_seeds(void **state)
{
    struct pol_effects fx = {
        .delay_ns = 10000000, .jitter_ns = 3000000, .dist = POL_DIST_NORMAL, .delay_corr = PCT(25)};
    struct pol_effects fixed = {.delay_ns = 7000000};
    struct model_state a, b, c;
    int differ = 0;
    (void)state;
    model_init(&a, 77, 0);
    model_init(&b, 77, 0);
    model_init(&c, 78, 0);
    for (int i = 0; i < 10000; i++) {
        uint64_t x = model_delay(&a, &fx), y = model_delay(&b, &fx);
        assert_int_equal(x, y);
        differ += y != model_delay(&c, &fx);
    }
    /* Continuous values from another seed never coincide. */
    assert_int_equal(differ, 10000);
    /* Same seed, other rule index: another stream. */
    model_init(&a, 77, 0);
    model_init(&b, 77, 1);
    differ = 0;
    for (int i = 0; i < 1000; i++)
        differ += model_delay(&a, &fx) != model_delay(&b, &fx);
    assert_int_equal(differ, 1000);
    /* No jitter: exactly the delay. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(model_delay(&a, &fixed), 7000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_deterministic),     cmocka_unit_test(test_rng_unit),
        cmocka_unit_test(test_bernoulli_rate),        cmocka_unit_test(test_bernoulli_correlated),
        cmocka_unit_test(test_gilbert_elliott),       cmocka_unit_test(test_gilbert_elliott_h_k),
        cmocka_unit_test(test_delay_uniform),         cmocka_unit_test(test_delay_normal),
        cmocka_unit_test(test_delay_pareto),          cmocka_unit_test(test_delay_correlated),
        cmocka_unit_test(test_delay_fixed_and_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
