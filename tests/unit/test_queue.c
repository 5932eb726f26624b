/* test_queue: every verdict the shim queues reaches the kernel or is
 * counted in send_errors, also when a batch send fails (send(2) and the
 * socket are wrapped; the batch is parsed as the kernel would). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
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

ssize_t __wrap_send(int fd, const void *buf, size_t len, int flags)
{
    const struct nlmsghdr *nlh = buf;
    int n = (int)len, msgs = 0;
    (void)flags;
    assert_int_equal(fd, 1000);
    while (mnl_nlmsg_ok(nlh, n)) {
        msgs++;
        nlh = mnl_nlmsg_next(nlh, &n);
    }
    if (mode == SEND_FAIL || (mode == SEND_FAIL_BATCHES && msgs > 1)) {
        errno = EPERM;
        return -1;
    }
    delivered += msgs;
    return (ssize_t)len;
}

static void setup_queue(struct queue *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->vbuf = malloc(cap);
    q->vcap = cap;
    assert_non_null(q->vbuf);
    delivered = 0;
}

static void test_all_delivered(void **state)
{
    struct queue q;
    (void)state;
    mode = SEND_OK;
    setup_queue(&q, 4096);
    for (uint32_t id = 1; id <= 1000; id++)
        assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, NULL, 0), 0);
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
        assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, NULL, 0), 0);
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
        assert_int_equal(queue_verdict(&q, 0, id, NF_ACCEPT, NULL, 0), 0);
    }
    mode = SEND_OK;
    queue_flush(&q);
    assert_true(q.send_errors > 0);
    assert_int_equal((uint64_t)delivered + q.send_errors, 1000);
    free(q.vbuf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_delivered),
        cmocka_unit_test(test_failed_batches_fall_back),
        cmocka_unit_test(test_no_verdict_lost_when_flush_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
