/* test_path: rift-shim's packet path under a fake clock, with the kernel
 * queue's verdict calls wrapped (-Wl,--wrap): when each packet gets its
 * verdict, which one, and that every packet gets exactly one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../shim/daemon.h"

#define MAX_IDS 4096

static uint64_t fake_ns;
static int verdict_of[MAX_IDS];   /* 0: none yet, else NF_ACCEPT + 1 or NF_DROP + 1 */
static int verdicts_for[MAX_IDS]; /* how many verdicts each id got */
static uint64_t verdict_at[MAX_IDS];
static uint32_t order[MAX_IDS];
static int n_order;

static uint64_t fake_now(void)
{
    return fake_ns;
}

int __wrap_queue_verdict(struct queue *q, uint16_t queue, uint32_t id, int verdict, uint32_t mark,
                         const void *payload, uint32_t len)
{
    (void)q, (void)queue, (void)mark, (void)payload, (void)len;
    assert_true(id < MAX_IDS);
    verdicts_for[id]++;
    verdict_of[id] = verdict + 1;
    verdict_at[id] = fake_ns;
    order[n_order++] = id;
    return 0;
}

/* An accept that may join a batch verdict is an accept all the same, given
 * now: which packets may be batched is test_queue's and test_batch's. */
int __wrap_queue_accept(struct queue *q, uint16_t queue, uint32_t id, uint32_t mark, bool batch)
{
    (void)batch;
    return __wrap_queue_verdict(q, queue, id, NF_ACCEPT, mark, NULL, 0);
}

int __wrap_queue_warm(struct queue *q, uint16_t queue)
{
    (void)q, (void)queue;
    return 0;
}

int __wrap_queue_flush(struct queue *q)
{
    (void)q;
    return 0;
}

int __wrap_queue_kernel_counters(unsigned queue, unsigned nqueues, uint64_t *dropped,
                                 uint64_t *user)
{
    (void)queue, (void)nqueues;
    *dropped = *user = 0;
    return 0;
}

/* The held-packet store maps its blocks: no memory when this is set. */
static bool mmap_fails;
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (mmap_fails) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return __real_mmap(addr, len, prot, flags, fd, off);
}

static struct shim S;
static struct policy P;

/* A shim with one rule (on) from the policy text's [rule f] onwards. */
static void setup_shim(const char *rule)
{
    char text[1024], err[POL_ERR_MAX];
    snprintf(text, sizeof(text),
             "[shim]\nseed = 7\n[node cl]\naddr = 127.0.0.20\n[node r1]\n"
             "addr = 127.0.0.11:7000\n[rule f]\nfrom = cl\nto = r1\nports = client\n"
             "proto = udp\n%s",
             rule);
    if (pol_load_string(&P, "t.ini", text, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    memset(&S, 0, sizeof(S));
    S.pol = &P;
    S.now = fake_now;
    S.rawfd = -1;
    fake_ns = 1000000000ull;
    S.t0 = fake_ns;
    match_index_build(&P, &S.mi);
    msgflow_init(&S.flows);
    for (int i = 0; i < P.n_rules; i++) {
        model_init(&S.rt[i].model, 7, (unsigned)i);
        hold_init(&S.rt[i].store);
        S.rt[i].active = true;
    }
    memset(verdict_of, 0, sizeof(verdict_of));
    memset(verdicts_for, 0, sizeof(verdicts_for));
    n_order = 0;
}

static void teardown_shim(void)
{
    for (int i = 0; i < P.n_rules; i++)
        hold_destroy(&S.rt[i].store);
}

/* A UDP datagram from 127.0.0.20 to 127.0.0.11:7000, as NFQUEUE hands it. */
static void packet(uint32_t id, uint32_t src)
{
    static unsigned char buf[28 + 8];
    struct queue_packet pkt = {
        .id = id, .queue = 0, .data = buf, .len = sizeof(buf), .orig_len = sizeof(buf)};
    uint32_t s = htonl(src), d = htonl(0x7f00000bu);
    memset(buf, 0, sizeof(buf));
    buf[0] = 0x45;
    buf[2] = 0;
    buf[3] = sizeof(buf);
    buf[8] = 64;
    buf[9] = 17;
    memcpy(buf + 12, &s, 4);
    memcpy(buf + 16, &d, 4);
    buf[20] = 0x9c, buf[21] = 0x40; /* source port 40000 */
    buf[22] = 7000 >> 8, buf[23] = 7000 & 255;
    buf[25] = 16;
    path_on_packet(&pkt, &S);
}

/* Time goes on; the loop releases what is due, as loop_run does. */
static void advance_to(uint64_t ns)
{
    fake_ns = ns;
    for (int i = 0; i < P.n_rules; i++)
        path_release_rule(&S, i, fake_ns, false);
}

static void test_delay_gives_the_verdict_when_due(void **state)
{
    uint64_t t0;
    (void)state;
    setup_shim("delay = 20ms\n");
    t0 = fake_ns;
    packet(1, 0x7f000014u);
    assert_int_equal(verdicts_for[1], 0);
    advance_to(t0 + 19999999);
    assert_int_equal(verdicts_for[1], 0);
    advance_to(t0 + 20000000);
    assert_int_equal(verdicts_for[1], 1);
    assert_int_equal(verdict_of[1], NF_ACCEPT + 1);
    assert_int_equal(verdict_at[1] - t0, 20000000);
    /* a packet no rule selects passes at once */
    packet(2, 0x7f000063u);
    assert_int_equal(verdict_of[2], NF_ACCEPT + 1);
    assert_int_equal(verdict_at[2], fake_ns);
    assert_int_equal(S.unmatched, 1);
    teardown_shim();
}

static void test_loss_and_hold(void **state)
{
    (void)state;
    setup_shim("loss = 100%\n");
    packet(1, 0x7f000014u);
    assert_int_equal(verdict_of[1], NF_DROP + 1);
    teardown_shim();

    setup_shim("hold = yes\n");
    for (uint32_t id = 1; id <= 50; id++)
        packet(id, 0x7f000014u);
    advance_to(fake_ns + 3600000000000ull); /* an hour later: still held */
    assert_int_equal(n_order, 0);
    assert_int_equal(hold_count(&S.rt[0].store), 50);
    path_release_all(&S, fake_ns); /* the rule turns off: in arrival order */
    assert_int_equal(n_order, 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(order[i], (uint32_t)i + 1);
    teardown_shim();
}

/* No memory to hold a packet: it passes at once, counted, and the next one
 * is held again. */
static void test_no_memory_passes(void **state)
{
    uint64_t t0;
    (void)state;
    setup_shim("delay = 20ms\n");
    t0 = fake_ns;
    mmap_fails = true;
    packet(1, 0x7f000014u);
    mmap_fails = false;
    assert_int_equal(verdicts_for[1], 1);
    assert_int_equal(verdict_of[1], NF_ACCEPT + 1);
    assert_int_equal(verdict_at[1], t0);
    assert_int_equal(S.rt[0].st.hold_failed, 1);
    assert_int_equal(S.rt[0].st.delayed, 0);
    assert_int_equal(hold_count(&S.rt[0].store), 0);
    packet(2, 0x7f000014u);
    assert_int_equal(verdicts_for[2], 0);
    advance_to(t0 + 20000000);
    assert_int_equal(verdicts_for[2], 1);
    assert_int_equal(verdict_at[2] - t0, 20000000);
    assert_int_equal(S.rt[0].st.hold_failed, 1);
    teardown_shim();
}

/* Thousands of packets with delay, jitter, loss and reorder: each gets
 * exactly one verdict, none before its arrival, and the counters add up. */
static void test_exactly_one_verdict_each(void **state)
{
    const uint32_t n = 3000;
    uint64_t accepted = 0, dropped = 0;
    (void)state;
    setup_shim("delay = 5ms\njitter = 4ms\ndistribution = normal\nloss = 10%\n"
               "reorder = 20%\n");
    for (uint32_t id = 1; id <= n; id++) {
        packet(id, 0x7f000014u);
        advance_to(fake_ns + 100000); /* 10k packets per second */
    }
    advance_to(fake_ns + 100000000);
    path_release_all(&S, fake_ns);
    for (uint32_t id = 1; id <= n; id++) {
        if (verdicts_for[id] != 1)
            fail_msg("packet %u got %d verdicts", id, verdicts_for[id]);
        accepted += verdict_of[id] == NF_ACCEPT + 1;
        dropped += verdict_of[id] == NF_DROP + 1;
    }
    assert_int_equal(accepted + dropped, n);
    assert_int_equal(dropped, S.rt[0].st.dropped);
    assert_int_equal(S.rt[0].st.matched, n);
    /* 10% loss of 3000: inside 99% bounds (about 300 +- 42) */
    assert_true(dropped > 250 && dropped < 350);
    assert_int_equal(hold_count(&S.rt[0].store), 0);
    teardown_shim();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_gives_the_verdict_when_due),
        cmocka_unit_test(test_loss_and_hold),
        cmocka_unit_test(test_no_memory_passes),
        cmocka_unit_test(test_exactly_one_verdict_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
