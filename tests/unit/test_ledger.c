/* test_ledger: the acknowledged-INCR ledger and the cluster client's key
 * hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../harness/cluster/cclient.h"
#include "../../harness/cluster/workload.h"

static void test_key_slot(void **state)
{
    (void)state;
    /* Values from the Redis Cluster specification and CLUSTER KEYSLOT. */
    assert_int_equal(ks_slot("foo", 3), 12182);
    assert_int_equal(ks_slot("bar", 3), 5061);
    assert_int_equal(ks_slot("123456789", 9), 0x31C3);
    assert_int_equal(ks_slot("{user1000}.following", 20), ks_slot("user1000", 8));
    assert_int_equal(ks_slot("{user1000}.followers", 20), ks_slot("user1000", 8));
    /* An empty {} is not a hash tag: the whole key is hashed (CLUSTER
     * KEYSLOT foo{}{bar} is 8363). */
    assert_int_equal(ks_slot("foo{}{bar}", 10), 8363);
    assert_int_not_equal(ks_slot("foo{}{bar}", 10), ks_slot("bar", 3));
    assert_int_equal(ks_slot("foo{{bar}}zap", 13), ks_slot("{bar", 4));
    assert_int_equal(ks_slot("{bar", 4), 4015);
}

static void test_ledger_lost_and_unacknowledged(void **state)
{
    struct wl_key k;
    int lost, unacked;
    (void)state;
    memset(&k, 0, sizeof(k));
    for (int v = 1; v <= 10; v++)
        wl_key_result(&k, true, v, 1000 + (uint64_t)v);
    assert_int_equal(k.acked, 10);
    assert_int_equal(k.ok, 10);
    /* Two failures (timeouts) from t=2000, a success at t=2500. */
    wl_key_result(&k, false, 0, 2000);
    wl_key_result(&k, false, 0, 2100);
    assert_int_equal(k.fail_since_ms, 2000);
    wl_key_result(&k, true, 13, 2500);
    assert_int_equal(k.unavailable_ms, 500);
    assert_int_equal(k.acked, 13);
    assert_int_equal(k.failed, 2);
    /* Read back 13: nothing lost. 15: two writes applied unacknowledged. */
    assert_int_equal(wl_key_check(&k, 13, &lost, &unacked), 0);
    assert_int_equal(lost + unacked, 0);
    assert_int_equal(wl_key_check(&k, 15, &lost, &unacked), 0);
    assert_int_equal(unacked, 2);
    /* Read back 9: four acknowledged writes lost. */
    assert_int_equal(wl_key_check(&k, 9, &lost, &unacked), 1);
    assert_int_equal(lost, 4);
    assert_int_equal(unacked, 0);
    /* A stale acknowledgement never lowers the ledger. */
    wl_key_result(&k, true, 5, 3000);
    assert_int_equal(k.acked, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_slot),
        cmocka_unit_test(test_ledger_lost_and_unacknowledged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
