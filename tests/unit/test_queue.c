/* test_queue: every verdict the shim queues reaches the kernel or is
 * counted in send_errors, also when a batch send fails (send(2) and the
 * socket are wrapped; the batch is parsed as the kernel would). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>

#include "../../shim/queue.h"

enum mode { SEND_OK, SEND_FAIL, SEND_FAIL_BATCHES };
static enum mode mode;
static int delivered; /* verdict messages the "kernel" took */

int __wrap_mnl_socket_get_fd(const struct mnl_socket *nl)
{
    (void)nl;
    return 1000;
}

/* The kernel's queue, as far as verdicts go: 0 waiting, else the verdict
 * + 1; a verdict for a packet that is not waiting is an error, as it is
 * for the kernel (ENOENT). */
#define KMAX 64
static int kstate[KMAX];
static uint32_t kmark[KMAX]; /* the mark a verdict set, + 1; 0: none */
static int kerrors, warms;

static void kernel_verdict(const struct nlmsghdr *nlh)
{
    uint16_t type = nlh->nlmsg_type & 0xff;
    const struct nlattr *a;
    const struct nfqnl_msg_verdict_hdr *vh = NULL;
    uint32_t mark = 0;
    mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
    {
        if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR)
            vh = mnl_attr_get_payload(a);
        if (mnl_attr_get_type(a) == NFQA_MARK)
            mark = ntohl(mnl_attr_get_u32(a)) + 1;
    }
    assert_non_null(vh);
    uint32_t id = ntohl(vh->id);
    int v = (int)ntohl(vh->verdict);
    if (nlh->nlmsg_seq == QUEUE_WARM_SEQ) {
        /* a warm-up must name a packet that already had its verdict */
        assert_true(id < KMAX && kstate[id]);
        warms++;
        return;
    }
    if (type == NFQNL_MSG_VERDICT_BATCH) {
        for (uint32_t i = 1; i <= id && i < KMAX; i++)
            if (!kstate[i]) {
                kstate[i] = v + 1;
                kmark[i] = mark;
            }
        return;
    }
    if (id >= KMAX || kstate[id]) {
        kerrors++;
    } else {
        kstate[id] = v + 1;
        kmark[id] = mark;
    }
}

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    const struct nlmsghdr *nlh = buf;
    int n = (int)len, msgs = 0;
    (void)flags;
    assert_int_equal(fd, 1000);
    while (mnl_nlmsg_ok(nlh, n)) {
        msgs++;
        if (mode == SEND_OK)
            kernel_verdict(nlh);
        nlh = mnl_nlmsg_next(nlh, &n);
    }
    if (mode == SEND_FAIL || (mode == SEND_FAIL_BATCHES && msgs > 1)) {
        errno = EPERM;
        return -1;
    }
    delivered += msgs;
    return (ssize_t)len;
}

/* A fresh queue, and a kernel with nothing verdicted yet. */
static void setup_queue(struct queue *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->vbuf = malloc(cap);
    q->vcap = cap;
    assert_non_null(q->vbuf);
    delivered = 0;
    memset(kstate, 0, sizeof(kstate));
    memset(kmark, 0, sizeof(kmark));
    kerrors = warms = 0;
}

static void test_all_delivered(void **state)
{
    struct queue q;
    (void)state;
    mode = SEND_OK;
    setup_queue(&q, 4096);
    for (uint32_t id = 1; id <= 1000; id++)
        assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, 0, NULL, 0), 0);
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(delivered, 1000);
    assert_int_equal(q.send_errors, 0);
    free(q.vbuf);
}

/* The kernel refuses whole batches: one message at a time still works. */
static void test_failed_batches_fall_back(void **state)
{
    struct queue q;
    (void)state;
    mode = SEND_FAIL_BATCHES;
    setup_queue(&q, 4096);
    for (uint32_t id = 1; id <= 1000; id++)
        assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, 0, NULL, 0), 0);
    queue_flush(&q);
    assert_int_equal(delivered, 1000);
    assert_int_equal(q.send_errors, 0);
    free(q.vbuf);
}

/* Sends fail for a while: each verdict is either delivered later or counted
 * as a send error, never silently dropped (the verdict being queued when a
 * pre-flush failed used to be lost). */
static void test_no_verdict_lost_when_flush_fails(void **state)
{
    struct queue q;
    (void)state;
    setup_queue(&q, 4096);
    mode = SEND_OK;
    for (uint32_t id = 1; id <= 1000; id++) {
        mode = id >= 300 && id < 600 ? SEND_FAIL : SEND_OK;
        assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, 0, NULL, 0), 0);
    }
    mode = SEND_OK;
    queue_flush(&q);
    assert_true(q.send_errors > 0);
    assert_int_equal((uint64_t)delivered + q.send_errors, 1000);
    free(q.vbuf);
}

/* Accepts join one batch verdict only while nothing of the queue is held:
 * packets 4 and 9 are held through two flushes and must still wait; a
 * drop and a rewritten accept among the batched ones keep their verdicts;
 * at the end every packet has exactly its verdict and none got two. */
static void test_batch_never_accepts_a_held_packet(void **state)
{
    struct queue q;
    const char payload[40] = {0x45};
    (void)state;
    mode = SEND_OK;
    setup_queue(&q, 4096);
    for (uint32_t id = 1; id <= 20; id++) {
        bool held = id == 4 || id == 9;
        bool any_held = id > 4; /* 4 is held from its arrival to the end */
        if (held)
            continue;
        if (id == 3)
            assert_int_equal(queue_verdict(&q, 0, id, NF_DROP, 0, NULL, 0), 0);
        else if (id == 12)
            assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, 0, payload, sizeof(payload)), 0);
        else
            assert_int_equal(queue_accept(&q, 0, id, 0, !any_held), 0);
        if (id == 10)
            assert_int_equal(queue_flush(&q), 0);
    }
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(kstate[4], 0);
    assert_int_equal(kstate[9], 0);
    /* released: the queue has nothing held any more */
    assert_int_equal(queue_accept(&q, 0, 4, 0, false), 0);
    assert_int_equal(queue_accept(&q, 0, 9, 0, false), 0);
    assert_int_equal(queue_accept(&q, 0, 21, 0, true), 0);
    assert_int_equal(queue_flush(&q), 0);
    for (uint32_t id = 1; id <= 21; id++)
        assert_int_equal(kstate[id], (id == 3 ? NF_DROP : NF_ACCEPT) + 1);
    assert_int_equal(kerrors, 0);
    /* 1, 2 went in a batch; 5-8, 10-11, 13-20 one by one (4 held) */
    assert_int_equal(q.batched, 3);
    free(q.vbuf);
}

/* A warm-up names only a packet whose verdict went out: not one whose drop
 * or rewrite still waits in the buffer, nor one of a failed send. */
static void test_warm_names_only_sent_verdicts(void **state)
{
    struct queue q;
    (void)state;
    mode = SEND_OK;
    setup_queue(&q, 4096);
    assert_int_equal(queue_warm(&q, 0), 0); /* nothing verdicted yet: nothing sent */
    assert_int_equal(queue_verdict(&q, 0, 5, NF_DROP, 0, NULL, 0), 0);
    assert_int_equal(queue_warm(&q, 0), 0); /* 5's drop is not out yet */
    assert_int_equal(warms, 0);
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(queue_verdict(&q, 0, 6, NF_DROP, 0, NULL, 0), 0);
    assert_int_equal(queue_accept(&q, 0, 7, 0, true), 0);
    assert_int_equal(queue_warm(&q, 0), 0); /* names 5 */
    assert_int_equal(warms, 1);
    mode = SEND_FAIL;
    queue_flush(&q);
    mode = SEND_OK;
    assert_int_equal(queue_warm(&q, 0), 0); /* still 5: 6 and 7 may not be out */
    assert_int_equal(warms, 2);
    assert_int_equal(kstate[5], NF_DROP + 1);
    assert_int_equal(kstate[6], 0);
    assert_int_equal(kerrors, 0);
    free(q.vbuf);
}

/* Batches that find no room behind the single verdicts still go out
 * before queue_flush returns, and only then count for queue_warm. */
static void test_batches_without_room_still_go_out(void **state)
{
    struct queue q;
    (void)state;
    mode = SEND_OK;
    setup_queue(&q, 256);
    uint32_t id = 1, drops;
    while (q.vlen + 80 <= q.vcap) /* the room a batch message needs */
        assert_int_equal(queue_verdict(&q, 0, id++, NF_DROP, 0, NULL, 0), 0);
    drops = id - 1;
    assert_true(drops >= 3 && drops + 5 < KMAX);
    for (; id <= drops + 5; id++)
        assert_int_equal(queue_accept(&q, 0, id, 0, true), 0);
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(q.batch_on, 0);
    assert_int_equal(q.vlen, 0);
    for (id = 1; id <= drops + 5; id++)
        assert_int_equal(kstate[id], (id <= drops ? NF_DROP : NF_ACCEPT) + 1);
    assert_int_equal(q.last_id[0], drops + 5);
    assert_int_equal(kerrors, 0);
    free(q.vbuf);
}

/* With a repeat bit, an accept goes out as NF_REPEAT with the bit added to
 * the packet's own mark (so INPUT runs again for the host's rules and the
 * shim's jump skips it); a drop stays a drop; a packet that has the bit is
 * accepted as it is (no loop); a batch sets the bit alone, so a packet
 * with a mark of its own never joins one. */
static void test_accept_repeats_with_the_mark(void **state)
{
    struct queue q;
    const uint32_t bit = 0x40000000u;
    (void)state;
    mode = SEND_OK;
    setup_queue(&q, 4096);
    q.repeat_bit = bit;
    assert_int_equal(queue_verdict(&q, 0, 1, NF_ACCEPT, 0, NULL, 0), 0);
    assert_int_equal(queue_verdict(&q, 0, 2, NF_ACCEPT, 0x5, NULL, 0), 0);
    assert_int_equal(queue_verdict(&q, 0, 3, NF_DROP, 0x5, NULL, 0), 0);
    assert_int_equal(queue_verdict(&q, 0, 4, NF_ACCEPT, bit | 0x7, NULL, 0), 0);
    assert_int_equal(queue_accept(&q, 0, 5, 0x9, true), 0);
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(queue_accept(&q, 0, 6, 0, true), 0);
    assert_int_equal(queue_accept(&q, 0, 7, 0, true), 0);
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(kerrors, 0);
    assert_int_equal(kstate[1], NF_REPEAT + 1);
    assert_int_equal(kmark[1], bit + 1);
    assert_int_equal(kstate[2], NF_REPEAT + 1);
    assert_int_equal(kmark[2], (bit | 0x5) + 1);
    assert_int_equal(kstate[3], NF_DROP + 1);
    assert_int_equal(kmark[3], 0);
    assert_int_equal(kstate[4], NF_ACCEPT + 1);
    assert_int_equal(kmark[4], 0);
    assert_int_equal(kstate[5], NF_REPEAT + 1); /* its own verdict, not the batch's */
    assert_int_equal(kmark[5], (bit | 0x9) + 1);
    assert_int_equal(kstate[6], NF_REPEAT + 1);
    assert_int_equal(kmark[6], bit + 1);
    assert_int_equal(kstate[7], NF_REPEAT + 1);
    assert_int_equal(q.batched, 2);
    /* without the bit (rules = none) accepts are accepts, marks untouched */
    free(q.vbuf);
    setup_queue(&q, 4096);
    assert_int_equal(queue_verdict(&q, 0, 1, NF_ACCEPT, 0x5, NULL, 0), 0);
    assert_int_equal(queue_flush(&q), 0);
    assert_int_equal(kstate[1], NF_ACCEPT + 1);
    assert_int_equal(kmark[1], 0);
    free(q.vbuf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_repeats_with_the_mark),
        cmocka_unit_test(test_all_delivered),
        cmocka_unit_test(test_failed_batches_fall_back),
        cmocka_unit_test(test_no_verdict_lost_when_flush_fails),
        cmocka_unit_test(test_batch_never_accepts_a_held_packet),
        cmocka_unit_test(test_warm_names_only_sent_verdicts),
        cmocka_unit_test(test_batches_without_room_still_go_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
