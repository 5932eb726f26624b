/* test_decide: model_decide end to end on rules loaded with pol_load_string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "../../policies/model.h"
#include "../../shim/hold.h"

#define MS UINT64_C(1000000) /* ns */
#define US UINT64_C(1000)

static struct policy P;

/* Effects of a one-rule policy whose rule body is `body`. */
static const struct pol_effects *fx_of(const char *body)
{
    char text[1024], err[POL_ERR_MAX] = "";
    snprintf(text, sizeof(text),
             "[node a]\naddr = 127.0.0.1:7000\n[node b]\naddr = 127.0.0.2:7000\n"
             "[rule r]\nfrom = a\nto = b\n%s",
             body);
    if (pol_load_string(&P, "decide.ini", text, err, sizeof(err)) != 0)
        fail_msg("policy rejected: %s", err);
    return &P.rules[0].fx;
}

static void near(const char *what, double got, double want, double tol, int line)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("(line %d) %s = %.6g, want %.6g +- %.3g", line, what, got, want, tol);
}
#define ASSERT_NEAR(what, got, want, tol) near(what, got, want, tol, __LINE__)

/* 99.9% two-sided binomial interval half-width for rate p over n trials. */
static double binom_tol(double p, long n)
{
    return 3.29 * sqrt(p * (1 - p) / (double)n);
}

static uint64_t xs = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return xs;
}

/* ---- (a) determinism ---- */

#define NA 10000
static uint64_t in_now[NA];
static uint32_t in_len[NA];
static struct model_decision out1[NA], out2[NA], out3[NA];

static void run(const struct pol_effects *fx, uint64_t seed, unsigned rule,
                struct model_decision *out)
{
    struct model_state m;
    model_init(&m, seed, rule);
    for (int i = 0; i < NA; i++)
        model_decide(fx, &m, in_now[i], in_len[i], &out[i]);
}

static int n_differ(const struct model_decision *x, const struct model_decision *y)
{
    int n = 0;
    for (int i = 0; i < NA; i++)
        n += x[i].verdict != y[i].verdict || x[i].duplicate != y[i].duplicate ||
             x[i].deadline != y[i].deadline;
    return n;
}

static void test_determinism(void **state)
{
    const struct pol_effects *fx =
        fx_of("loss = 10%\nduplicate = 5%\nreorder = 25%\ndelay = 10ms\njitter = 3ms\n"
              "distribution = normal\n");
    uint64_t now = 1000 * MS;
    int count[5] = {0}, dups = 0;
    (void)state;
    for (int i = 0; i < NA; i++) {
        now += rnd() % (200 * US);
        in_now[i] = now;
        in_len[i] = 40 + (uint32_t)(rnd() % 1460);
    }
    run(fx, 2024, 0, out1);
    run(fx, 2024, 0, out2);
    assert_int_equal(n_differ(out1, out2), 0);
    /* The inputs exercised every branch. */
    for (int i = 0; i < NA; i++) {
        count[out1[i].verdict]++;
        dups += out1[i].duplicate;
    }
    assert_true(count[MODEL_DROP] > 800 && count[MODEL_DROP] < 1200);
    assert_true(count[MODEL_REORDER] > 2000);
    assert_true(count[MODEL_DELAY] > 6000);
    assert_int_equal(count[MODEL_PASS] + count[MODEL_HOLD], 0);
    assert_true(dups > 300);

    /* Another seed, or another rule index with the same seed: another run.
     * Deadlines are continuous, so almost every decision differs. */
    run(fx, 2025, 0, out3);
    assert_true(n_differ(out1, out3) > NA / 2);
    run(fx, 2024, 1, out3);
    assert_true(n_differ(out1, out3) > NA / 2);
}

/* ---- (b) reorder and delay ---- */

static void test_reorder_fixed_delay(void **state)
{
    const struct pol_effects *fx = fx_of("delay = 10ms\nreorder = 25%\n");
    struct model_state m;
    struct model_decision d;
    const long n = 100000;
    long reordered = 0;
    (void)state;
    model_init(&m, 7, 0);
    for (long i = 0; i < n; i++) {
        uint64_t now = (uint64_t)i * 100 * US;
        model_decide(fx, &m, now, 1000, &d);
        assert_false(d.duplicate);
        if (d.verdict == MODEL_REORDER) {
            reordered++;
            continue;
        }
        /* Everything else waits exactly the delay. */
        assert_int_equal(d.verdict, MODEL_DELAY);
        assert_int_equal(d.deadline, now + 10 * MS);
    }
    ASSERT_NEAR("reorder share", (double)reordered / n, 0.25, binom_tol(0.25, n));
}

static void test_reorder_jitter_fifo(void **state)
{
    /* Jitter (1 ms) much larger than the spacing (100 us): without the FIFO
     * clamp delayed packets would overtake each other all the time. */
    const struct pol_effects *fx =
        fx_of("delay = 10ms\njitter = 1ms\ndistribution = normal\nreorder = 25%\n");
    struct model_state m;
    struct model_decision d;
    struct hold_store s;
    const long n = 100000;
    long reordered = 0, delayed = 0, below3 = 0, clamped = 0;
    uint64_t last = 0, seq = 0;
    (void)state;
    hold_init(&s);
    model_init(&m, 8, 0);
    for (long i = 0; i < n; i++) {
        uint64_t now = 5000 * MS + (uint64_t)i * 100 * US;
        model_decide(fx, &m, now, 1000, &d);
        if (d.verdict == MODEL_REORDER) {
            reordered++;
            continue;
        }
        assert_int_equal(d.verdict, MODEL_DELAY);
        delayed++;
        /* Never before the previous delayed packet's deadline. */
        assert_true(d.deadline >= last);
        clamped += d.deadline == last;
        last = d.deadline;
        /* Normal delay: 5 sd below (5 ms) has p = 3e-7 per packet, so no
         * deadline is that early; 3 sd below (7 ms) has p = 0.00135, and the
         * clamp only lifts deadlines, so at most that share is. */
        assert_true(d.deadline >= now + 5 * MS);
        assert_true(d.deadline <= now + 16 * MS);
        below3 += d.deadline < now + 7 * MS;
        /* The store then releases delayed packets in arrival order. */
        if (delayed <= 20000) {
            struct hold_pkt *p = hold_alloc(&s, 0);
            assert_non_null(p);
            p->deadline = d.deadline;
            p->seq = seq++;
            assert_int_equal(hold_push(&s, p), 0);
        }
    }
    ASSERT_NEAR("reorder share with jitter", (double)reordered / n, 0.25, binom_tol(0.25, n));
    assert_true(below3 <= (long)(0.00135 * (double)delayed));
    assert_true(clamped > 1000);     /* the clamp did work */
    assert_int_equal(s.heap_len, 0); /* all in order: ring only */
    for (uint64_t i = 0; i < seq; i++) {
        struct hold_pkt *p = hold_pop(&s);
        assert_non_null(p);
        assert_int_equal(p->seq, i);
        hold_free(&s, p);
    }
    hold_destroy(&s);
}

/* ---- (c) duplicate ---- */

static void test_duplicate(void **state)
{
    const struct pol_effects *fx = fx_of("duplicate = 20%\n");
    struct model_state m;
    struct model_decision d;
    const long n = 100000;
    long dups = 0, kept = 0;
    (void)state;
    model_init(&m, 9, 0);
    for (long i = 0; i < n; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        /* No delay: pass at once, copy or not. */
        assert_int_equal(d.verdict, MODEL_PASS);
        assert_int_equal(d.deadline, (uint64_t)i * US);
        dups += d.duplicate;
    }
    ASSERT_NEAR("duplicate share", (double)dups / n, 0.20, binom_tol(0.20, n));

    /* With loss, lost packets are not duplicated; of the rest 20% are. */
    fx = fx_of("duplicate = 20%\nloss = 50%\n");
    model_init(&m, 10, 0);
    dups = 0;
    for (long i = 0; i < n; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        if (d.verdict == MODEL_DROP) {
            assert_false(d.duplicate);
            continue;
        }
        kept++;
        dups += d.duplicate;
    }
    ASSERT_NEAR("kept share", (double)kept / n, 0.50, binom_tol(0.5, n));
    ASSERT_NEAR("duplicate share of kept", (double)dups / kept, 0.20, binom_tol(0.2, kept));
}

/* ---- (d) hold and total loss ---- */

static void test_hold_and_total_loss(void **state)
{
    const struct pol_effects *fx = fx_of("hold = yes\nloss = 10%\nduplicate = 50%\n");
    struct model_state m;
    struct model_decision d;
    const long n = 100000;
    long held = 0, dups = 0;
    (void)state;
    model_init(&m, 11, 0);
    for (long i = 0; i < n; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        if (d.verdict == MODEL_DROP)
            continue;
        assert_int_equal(d.verdict, MODEL_HOLD);
        held++;
        dups += d.duplicate;
    }
    ASSERT_NEAR("held share", (double)held / n, 0.90, binom_tol(0.9, n));
    ASSERT_NEAR("duplicate share of held", (double)dups / held, 0.50, binom_tol(0.5, held));

    fx = fx_of("hold = yes\n");
    model_init(&m, 12, 0);
    for (long i = 0; i < 1000; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        assert_int_equal(d.verdict, MODEL_HOLD);
        assert_false(d.duplicate);
    }

    fx = fx_of("loss = 100%\nduplicate = 50%\ndelay = 5ms\n");
    model_init(&m, 13, 0);
    for (long i = 0; i < n; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        assert_int_equal(d.verdict, MODEL_DROP);
        assert_false(d.duplicate);
    }
}

/* ---- (e) rate ---- */

static void test_rate(void **state)
{
    const struct pol_effects *fx = fx_of("rate = 1mbit\n");
    struct model_state m;
    struct model_decision d;
    (void)state;
    assert_int_equal(fx->rate_bps, 1000000);
    /* 1250 bytes at 1 Mbit/s take 1250 * 8 / 1e6 s = 10 ms each; a burst
     * at t = 0 leaves one per 10 ms, the first after its own 10 ms. */
    model_init(&m, 14, 0);
    for (uint64_t i = 0; i < 100; i++) {
        model_decide(fx, &m, 0, 1250, &d);
        assert_int_equal(d.verdict, MODEL_DELAY);
        assert_int_equal(d.deadline, (i + 1) * 10 * MS);
    }
    /* Once the link has drained, a packet waits only its own time. */
    model_decide(fx, &m, 5000 * MS, 1250, &d);
    assert_int_equal(d.deadline, 5010 * MS);
    /* Slower arrivals than the link: each waits its 10 ms. */
    for (uint64_t i = 0; i < 10; i++) {
        model_decide(fx, &m, 6000 * MS + i * 20 * MS, 1250, &d);
        assert_int_equal(d.deadline, 6010 * MS + i * 20 * MS);
    }
    /* Size matters: 125 bytes is 1 ms. */
    model_decide(fx, &m, 7000 * MS, 125, &d);
    assert_int_equal(d.deadline, 7001 * MS);

    /* Rate, then delay on top. */
    fx = fx_of("rate = 1mbit\ndelay = 5ms\n");
    model_init(&m, 15, 0);
    for (uint64_t i = 0; i < 10; i++) {
        model_decide(fx, &m, 0, 1250, &d);
        assert_int_equal(d.verdict, MODEL_DELAY);
        assert_int_equal(d.deadline, (i + 1) * 10 * MS + 5 * MS);
    }
}

/* ---- (f) loss rates ---- */

static void test_loss_rate(void **state)
{
    const struct pol_effects *fx = fx_of("loss = 30%\n");
    struct model_state m;
    struct model_decision d;
    const long n = 200000;
    long dropped = 0;
    (void)state;
    model_init(&m, 16, 0);
    for (long i = 0; i < n; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        if (d.verdict == MODEL_DROP)
            dropped++;
        else
            assert_int_equal(d.verdict, MODEL_PASS); /* nothing else to do */
    }
    /* 99.9% binomial interval: 3.29 * sqrt(0.21 / 200000) = 0.0034. */
    ASSERT_NEAR("loss share", (double)dropped / n, 0.30, binom_tol(0.3, n));

    /* Gilbert-Elliott through model_decide: p / (p + r) = 1/11; the chain's
     * correlation widens the interval to about 0.004 (see test_model). */
    fx = fx_of("loss_model = gemodel\np = 1%\nr = 10%\n");
    model_init(&m, 17, 0);
    dropped = 0;
    for (long i = 0; i < 1000000; i++) {
        model_decide(fx, &m, (uint64_t)i * US, 100, &d);
        dropped += d.verdict == MODEL_DROP;
    }
    ASSERT_NEAR("gemodel loss share", (double)dropped / 1e6, 1.0 / 11, 0.004);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),         cmocka_unit_test(test_reorder_fixed_delay),
        cmocka_unit_test(test_reorder_jitter_fifo), cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_hold_and_total_loss), cmocka_unit_test(test_rate),
        cmocka_unit_test(test_loss_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
