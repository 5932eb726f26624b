/* test_view: CLUSTER NODES parsing, cycles, lost slots and convergence on
 * recorded views (Redis 7.0 format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../harness/observe/view.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "cccccccccccccccccccccccccccccccccccccccc"
#define D "dddddddddddddddddddddddddddddddddddddddd"

/* A healthy cluster as C sees it: B owns 0-5460 with replica A, C owns
 * 5461-16383, D is C's replica. */
static const char *healthy_c =
    B " 127.0.0.11:7000@17000 master - 0 1700000000000 1 connected 0-5460\n" A
      " 127.0.0.14:7000@17000 slave " B " 0 1700000000000 1 connected\n" C
      " 127.0.0.12:7000@17000 myself,master - 0 1700000000000 2 connected 5461-10000 "
      "10001-16383\n" D " 127.0.0.15:7000@17000 slave " C " 0 1700000000000 2 connected\n";

/* The pong race (SEEDS.md 1) as C sees it: B says it is a replica of A, C
 * still holds A as B's replica and has deleted B's slots. */
static const char *race_c =
    B " 127.0.0.11:7000@17000 slave " A " 0 1700000000000 1 connected\n" A
      " 127.0.0.14:7000@17000 slave " B " 0 1700000000000 1 connected\n" C
      " 127.0.0.12:7000@17000 myself,master - 0 1700000000000 2 connected 5461-16383\n" D
      " 127.0.0.15:7000@17000 slave " C " 0 1700000000000 2 connected\n";

static void test_parse_healthy(void **state)
{
    struct view v;
    char err[256];
    (void)state;
    assert_int_equal(view_parse(&v, healthy_c, err, sizeof(err)), 0);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.myself, 2);
    assert_string_equal(v.nodes[1].primary, B);
    assert_string_equal(v.nodes[0].addr, "127.0.0.11:7000");
    assert_true(v.nodes[0].flags & VIEW_F_PRIMARY);
    assert_true(v.nodes[1].flags & VIEW_F_REPLICA);
    assert_int_equal(v.owner[0], 0);
    assert_int_equal(v.owner[5460], 0);
    assert_int_equal(v.owner[5461], 2);
    assert_int_equal(v.owner[16383], 2);
    assert_int_equal(v.nodes[2].config_epoch, 2);
    assert_true(v.nodes[2].connected);
}

static void test_parse_open_slots_and_flags(void **state)
{
    struct view v;
    char err[256];
    const char *text =
        B " 127.0.0.11:7000@17000,host1 myself,master - 0 0 3 connected 0-99 [100->-" C "]\n" C
          " 127.0.0.12:7000@17000 master,fail? - 1 0 2 disconnected 100-16383 [5-<-" B "]\n";
    (void)state;
    assert_int_equal(view_parse(&v, text, err, sizeof(err)), 0);
    assert_string_equal(v.nodes[0].addr, "127.0.0.11:7000");
    assert_int_equal(v.n_open, 2);
    assert_int_equal(v.open[0].slot, 100);
    assert_false(v.open[0].importing);
    assert_string_equal(v.open[0].peer, C);
    assert_true(v.open[1].importing);
    assert_true(v.nodes[1].flags & VIEW_F_PFAIL);
    assert_false(v.nodes[1].flags & VIEW_F_FAIL);
    assert_false(v.nodes[1].connected);
}

static void test_parse_errors(void **state)
{
    struct view v;
    char err[256];
    (void)state;
    assert_int_equal(view_parse(&v, "abc 127.0.0.1:1 master\n", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(
        view_parse(&v, B " 1.1.1.1:1@2 master - 0 0 1 connected 0-99999\n", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad slot '0-99999'"));
    assert_int_equal(
        view_parse(&v, B " 1.1.1.1:1@2 master - 0 0 1 connected 9-3\n", err, sizeof(err)), -1);
    /* a config epoch that is not a number is an error, not epoch 0 */
    assert_int_equal(
        view_parse(&v, B " 1.1.1.1:1@2 master - 0 0 7x connected 0-9\n", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "config epoch '7x' is not a number"));
}

static void test_cycle(void **state)
{
    struct view v;
    char err[256];
    int cyc[8];
    (void)state;
    assert_int_equal(view_parse(&v, healthy_c, err, sizeof(err)), 0);
    assert_int_equal(view_cycle(&v, cyc, 8), 0);
    assert_int_equal(view_parse(&v, race_c, err, sizeof(err)), 0);
    assert_int_equal(view_cycle(&v, cyc, 8), 2);
    assert_int_equal(cyc[0], 0); /* B -> A -> B */
    assert_int_equal(cyc[1], 1);
}

static void test_lost_slots(void **state)
{
    struct view v;
    char err[256];
    uint16_t r[4][2];
    int nr;
    (void)state;
    assert_int_equal(view_parse(&v, healthy_c, err, sizeof(err)), 0);
    assert_int_equal(view_lost_slots(&v, r, 4, &nr), 0);
    assert_int_equal(nr, 0);
    assert_int_equal(view_parse(&v, race_c, err, sizeof(err)), 0);
    assert_int_equal(view_lost_slots(&v, r, 4, &nr), 5461);
    assert_int_equal(nr, 1);
    assert_int_equal(r[0][0], 0);
    assert_int_equal(r[0][1], 5460);
    /* A FAILed primary's slots are lost; a PFAIL one's are not (yet). */
    const char *failed = B " 127.0.0.11:7000@17000 master,fail - 0 0 1 disconnected 0-5460\n" C
                           " 127.0.0.12:7000@17000 myself,master - 0 0 2 connected 5461-16383\n";
    const char *pfailed = B " 127.0.0.11:7000@17000 master,fail? - 0 0 1 disconnected 0-5460\n" C
                            " 127.0.0.12:7000@17000 myself,master - 0 0 2 connected 5461-16383\n";
    assert_int_equal(view_parse(&v, failed, err, sizeof(err)), 0);
    assert_int_equal(view_lost_slots(&v, r, 4, &nr), 5461);
    assert_int_equal(view_parse(&v, pfailed, err, sizeof(err)), 0);
    assert_int_equal(view_lost_slots(&v, r, 4, &nr), 0);
    /* Ranges split around owned slots; nr counts ranges beyond max too. */
    assert_int_equal(view_parse(&v, B " 1.1.1.1:1@2 myself,master - 0 0 1 connected 5 7-8 10\n",
                                err, sizeof(err)),
                     0);
    assert_int_equal(view_lost_slots(&v, r, 2, &nr), 16384 - 4);
    assert_int_equal(nr, 4);
    assert_int_equal(r[0][0], 0);
    assert_int_equal(r[0][1], 4);
    assert_int_equal(r[1][0], 6);
    assert_int_equal(r[1][1], 6);
}

static void test_converged(void **state)
{
    struct view a, b;
    const struct view *vs[2] = {&a, &b};
    char err[256], why[256];
    (void)state;
    assert_int_equal(view_parse(&a, healthy_c, err, sizeof(err)), 0);
    assert_int_equal(view_parse(&b, healthy_c, err, sizeof(err)), 0);
    a.state_ok = b.state_ok = true;
    assert_true(view_converged(vs, 2, why, sizeof(why)));
    b.state_ok = false;
    assert_false(view_converged(vs, 2, why, sizeof(why)));
    assert_non_null(strstr(why, "cluster_state"));
    assert_int_equal(view_parse(&b, race_c, err, sizeof(err)), 0);
    b.state_ok = true;
    assert_false(view_converged(vs, 2, why, sizeof(why)));
    assert_non_null(strstr(why, "owner of slot 0"));
}

/* Views recorded by `rift run failover-pong-race.ini` on Redis 7.0.15: m2
 * (the observer) during the race, m3 at the same moment, both before. */
static char *slurp(const char *name)
{
    static char buf[4][8192];
    static int next;
    char path[256];
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
    f = fopen(path, "r");
    assert_non_null(f);
    char *b = buf[next++ % 4];
    n = fread(b, 1, sizeof(buf[0]) - 1, f);
    fclose(f);
    b[n] = '\0';
    return b;
}

static void test_recorded_pong_race(void **state)
{
    struct view m2, m3, h2, h3;
    const struct view *race[2] = {&m2, &m3}, *healthy[2] = {&h2, &h3};
    char err[256], why[256];
    int cyc[8], nr;
    uint16_t r[4][2];
    (void)state;
    assert_int_equal(view_parse(&m2, slurp("pong-race-m2.nodes"), err, sizeof(err)), 0);
    assert_int_equal(view_parse(&m3, slurp("pong-race-m3.nodes"), err, sizeof(err)), 0);
    assert_int_equal(view_parse(&h2, slurp("healthy-m2.nodes"), err, sizeof(err)), 0);
    assert_int_equal(view_parse(&h3, slurp("healthy-m3.nodes"), err, sizeof(err)), 0);
    /* m2: 127.0.0.11 (m1) and 127.0.0.14 (m1r1) replicate each other. */
    assert_int_equal(view_cycle(&m2, cyc, 8), 2);
    assert_true(strstr(m2.nodes[cyc[0]].addr, "127.0.0.11") ||
                strstr(m2.nodes[cyc[0]].addr, "127.0.0.14"));
    assert_int_equal(view_lost_slots(&m2, r, 4, &nr), 5461);
    assert_int_equal(nr, 1);
    assert_int_equal(r[0][0], 0);
    assert_int_equal(r[0][1], 5460);
    /* m3 at the same moment already knows m1r1 owns 0-5460. */
    assert_int_equal(view_cycle(&m3, cyc, 8), 0);
    assert_int_equal(view_lost_slots(&m3, r, 4, &nr), 0);
    m2.state_ok = m3.state_ok = h2.state_ok = h3.state_ok = true;
    assert_false(view_converged(race, 2, why, sizeof(why)));
    assert_true(view_converged(healthy, 2, why, sizeof(why)));
    assert_int_equal(view_cycle(&h2, cyc, 8), 0);
    assert_int_equal(view_lost_slots(&h2, r, 4, &nr), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_healthy),
        cmocka_unit_test(test_parse_open_slots_and_flags),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_lost_slots),
        cmocka_unit_test(test_converged),
        cmocka_unit_test(test_recorded_pong_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
