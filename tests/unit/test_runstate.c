/* test_runstate: the run loop's timing decisions on a fake clock: when a
 * converged stretch begins and ends, and when a run has settled (converged
 * for a second after the last step, probes healed or out of heal time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "../../harness/cluster/runstate.h"
#include "../../harness/sys/clock.h"

static uint64_t fake_ns;
static uint64_t fake(void)
{
    return fake_ns;
}

static struct run R;
static struct scenario S;

static void at_ms(int64_t ms)
{
    fake_ns = R.t_ready + (uint64_t)ms * 1000000ull;
}

static void setup_run(int n_probes)
{
    memset(&R, 0, sizeof(R));
    memset(&S, 0, sizeof(S));
    S.n_probes = n_probes;
    R.scn = &S;
    clk_source = fake;
    R.t_ready = 5000000000ull;
    R.converged_ms = -1;
    at_ms(0);
}

static void test_convergence_stretch(void **state)
{
    (void)state;
    setup_run(0);
    at_ms(100);
    run_track_convergence(&R, false);
    assert_int_equal(R.converged_ms, -1);
    at_ms(120);
    run_track_convergence(&R, true);
    assert_int_equal(R.converged_ms, 120);
    at_ms(140);
    run_track_convergence(&R, true); /* still the same stretch */
    assert_int_equal(R.converged_ms, 120);
    at_ms(160);
    run_track_convergence(&R, false); /* broken: starts over */
    assert_int_equal(R.converged_ms, -1);
    at_ms(180);
    run_track_convergence(&R, true);
    assert_int_equal(R.converged_ms, 180);
    assert_int_equal(run_ms(&R), 180);
}

static void test_settled_without_probes(void **state)
{
    (void)state;
    setup_run(0);
    at_ms(2000);
    run_track_convergence(&R, true);
    at_ms(2999);
    assert_false(run_settled(&R, true, true, 0));
    at_ms(3000);
    assert_true(run_settled(&R, true, true, 0));
    assert_false(run_settled(&R, false, true, 0)); /* a migration still runs */
}

static void test_settled_waits_for_probes_or_heal_time(void **state)
{
    const uint64_t heal = 10000000000ull;
    (void)state;
    setup_run(2);
    R.probes_started = true;
    at_ms(1000);
    run_track_convergence(&R, true);
    at_ms(2500);
    assert_false(run_settled(&R, true, false, heal)); /* not healed, 1.5 s of 10 */
    assert_true(run_settled(&R, true, true, heal));   /* healed */
    at_ms(10999);
    assert_false(run_settled(&R, true, false, heal));
    at_ms(11000);
    assert_true(run_settled(&R, true, false, heal)); /* heal time is up */
    R.probes_started = false;
    assert_false(run_settled(&R, true, true, heal)); /* probes not started yet */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convergence_stretch),
        cmocka_unit_test(test_settled_without_probes),
        cmocka_unit_test(test_settled_waits_for_probes_or_heal_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
