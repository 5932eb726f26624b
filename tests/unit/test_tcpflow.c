/* test_tcpflow: TCP reassembly of segments that arrive ahead of a hole:
 * delivered in order once the hole fills, whatever order they came in, at
 * a cost of a few comparisons each however many are held; and a direction
 * that holds more than the bounds is given up and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/observe/tcpflow.h"

#define ISN 0xFFFF0000u /* sequence numbers wrap past 2^32 in the middle */

/* What the client-to-server direction delivered. */
struct got {
    uint8_t *data;
    size_t len, cap;
    int gaps;
};

static void on_data(void *ctx, struct tf_conn *c, int dir, const uint8_t *d, size_t len)
{
    struct got *g = ctx;
    (void)c;
    assert_int_equal(dir, TF_C2S);
    assert_true(g->len + len <= g->cap);
    memcpy(g->data + g->len, d, len);
    g->len += len;
}

static void on_gap(void *ctx, struct tf_conn *c, int dir)
{
    struct got *g = ctx;
    (void)c;
    assert_int_equal(dir, TF_C2S);
    g->gaps++;
}

static void open_table(struct tf_table *t, struct got *g, size_t cap)
{
    static const struct tf_ops ops = {.data = on_data, .gap = on_gap};
    memset(g, 0, sizeof(*g));
    g->data = malloc(cap);
    g->cap = cap;
    assert_non_null(g->data);
    assert_int_equal(tf_init(t, &ops, g), 0);
}

/* Client 10.0.0.1:40000 -> server 10.0.0.2:6379, byte i of the stream at
 * sequence number ISN + 1 + i. */
static void send_seg(struct tf_table *t, uint8_t flags, size_t at, const uint8_t *d, size_t len)
{
    struct tf_pkt p = {.src = {.ip = {10, 0, 0, 1}, .port = 40000},
                       .dst = {.ip = {10, 0, 0, 2}, .port = 6379},
                       .seq = flags & TF_SYN ? ISN : ISN + 1 + (uint32_t)at,
                       .flags = flags,
                       .data = d,
                       .len = len,
                       .wire_len = len};
    tf_packet(t, &p);
}

static uint8_t byte_at(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

/* Comparisons a binary heap of at most 65536 segments (16 levels) needs per
 * segment held and taken out: one a level up, two a level down. */
#define STEPS_PER_SEG (3 * 16)

/* n one-byte segments ahead of a missing first byte, in the order given
 * (0: ascending, 1: descending, 2: scattered), then the first byte. */
static void hold_and_fill(int order, size_t n)
{
    struct tf_table t;
    struct got g;
    static uint8_t stream[65536];
    size_t step = 7919; /* prime to n: every index once */
    open_table(&t, &g, n + 1);
    for (size_t i = 0; i <= n; i++)
        stream[i] = byte_at(i);
    send_seg(&t, TF_SYN, 0, NULL, 0);
    for (size_t k = 0; k < n; k++) {
        size_t i = order == 0 ? k : order == 1 ? n - 1 - k : (k * step) % n;
        send_seg(&t, TF_ACK, 1 + i, stream + 1 + i, 1);
        if (t.st.order_steps > STEPS_PER_SEG * (k + 1))
            fail_msg("order %d: %llu comparisons for %zu segments held", order,
                     (unsigned long long)t.st.order_steps, k + 1);
    }
    assert_int_equal(g.len, 0);
    send_seg(&t, TF_ACK, 0, stream, 1);
    printf("    order %d: %zu segments held, %llu comparisons to hold and deliver them\n", order, n,
           (unsigned long long)t.st.order_steps);
    assert_true(t.st.order_steps <= STEPS_PER_SEG * n);
    assert_int_equal(g.len, n + 1);
    assert_memory_equal(g.data, stream, n + 1);
    assert_int_equal(g.gaps, 0);
    assert_int_equal(t.st.held_over, 0);
    tf_finish(&t);
    free(g.data);
}

static void test_held_in_order_whatever_the_arrival(void **state)
{
    (void)state;
    for (int order = 0; order < 3; order++)
        hold_and_fill(order, 60000);
}

/* 1 MiB a byte per segment behind a hole: the 65537th segment held is one
 * too many, the direction ends there (a gap, held_over), and the rest of
 * the stream costs nothing. */
static void test_held_over_the_segment_bound(void **state)
{
    struct tf_table t;
    struct got g;
    static const uint8_t x = 'x';
    size_t n = 1 << 20;
    (void)state;
    open_table(&t, &g, 16);
    send_seg(&t, TF_SYN, 0, NULL, 0);
    for (size_t i = 1; i < n; i++) {
        send_seg(&t, TF_ACK, i, &x, 1);
        if (t.st.order_steps > STEPS_PER_SEG * i)
            fail_msg("%llu comparisons for %zu segments", (unsigned long long)t.st.order_steps, i);
    }
    send_seg(&t, TF_ACK, 0, &x, 1);
    printf("    %zu one-byte segments behind a hole: %llu comparisons, held_over %llu\n", n,
           (unsigned long long)t.st.order_steps, (unsigned long long)t.st.held_over);
    assert_int_equal(g.gaps, 1);
    assert_int_equal(t.st.gaps, 1);
    assert_int_equal(t.st.held_over, 1);
    assert_int_equal(g.len, 0);
    tf_finish(&t);
    free(g.data);
}

/* Over 8 MiB held behind a hole (1000-byte segments): given up the same way. */
static void test_held_over_the_byte_bound(void **state)
{
    struct tf_table t;
    struct got g;
    static uint8_t seg[1000];
    size_t n = TF_MAX_PENDING / sizeof(seg) + 2;
    (void)state;
    open_table(&t, &g, 16);
    send_seg(&t, TF_SYN, 0, NULL, 0);
    for (size_t i = 1; i <= n; i++)
        send_seg(&t, TF_ACK, i * sizeof(seg), seg, sizeof(seg));
    assert_int_equal(g.gaps, 1);
    assert_int_equal(t.st.held_over, 1);
    tf_finish(&t);
    free(g.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_in_order_whatever_the_arrival),
        cmocka_unit_test(test_held_over_the_segment_bound),
        cmocka_unit_test(test_held_over_the_byte_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
