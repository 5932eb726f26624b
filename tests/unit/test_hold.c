/* test_hold: the held-packet store (ring fast path + heap), ordered by (deadline, seq). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../shim/hold.h"

static uint64_t next_seq;

/* A packet as the shim makes one: header and payload in one allocation.
 * The payload encodes seq so a pop can be checked against its packet. */
static struct hold_pkt *mk(uint64_t deadline)
{
    uint32_t len = 16;
    struct hold_pkt *p = malloc(sizeof(struct hold_pkt) + len);
    assert_non_null(p);
    memset(p, 0, sizeof(*p));
    p->deadline = deadline;
    p->seq = next_seq++;
    p->id = (uint32_t)p->seq;
    p->len = len;
    memset(p->data, (int)(p->seq & 0xff), len);
    return p;
}

static void push(struct hold_store *s, uint64_t deadline)
{
    assert_int_equal(hold_push(s, mk(deadline)), 0);
}

/* Pop one packet and check (deadline, seq) and payload. */
static void pop_expect(struct hold_store *s, uint64_t deadline, uint64_t seq)
{
    struct hold_pkt *p = hold_pop(s);
    assert_non_null(p);
    if (p->deadline != deadline || p->seq != seq)
        fail_msg("popped (%llu, %llu), want (%llu, %llu)", (unsigned long long)p->deadline,
                 (unsigned long long)p->seq, (unsigned long long)deadline, (unsigned long long)seq);
    assert_int_equal(p->data[0], seq & 0xff);
    assert_int_equal(p->data[p->len - 1], seq & 0xff);
    free(p);
}

static int setup(void **state)
{
    (void)state;
    next_seq = 0;
    return 0;
}

static void test_empty(void **state)
{
    struct hold_store s;
    (void)state;
    hold_init(&s);
    assert_int_equal(hold_count(&s), 0);
    assert_null(hold_peek(&s));
    assert_null(hold_pop(&s));
    assert_int_equal(hold_overhead_bytes(&s), 0);
    hold_destroy(&s);
    assert_int_equal(hold_count(&s), 0);
}

static void test_in_order_uses_ring(void **state)
{
    struct hold_store s;
    (void)state;
    hold_init(&s);
    /* Non-decreasing deadlines (equal ones too): all on the ring, none on
     * the heap, across several ring growths (256 -> 512 -> 1024). */
    for (uint64_t i = 0; i < 1000; i++) {
        push(&s, 1000 + i / 3 * 10);
        assert_int_equal(s.heap_len, 0);
        assert_int_equal(hold_count(&s), i + 1);
    }
    assert_int_equal(s.ring_len, 1000);
    assert_int_equal(s.ring_cap, 1024);
    assert_int_equal(hold_overhead_bytes(&s), 1024 * sizeof(struct hold_pkt *));
    for (uint64_t i = 0; i < 1000; i++) {
        assert_int_equal(hold_peek(&s)->seq, i);
        pop_expect(&s, 1000 + i / 3 * 10, i);
        assert_int_equal(hold_count(&s), 999 - i);
    }
    assert_null(hold_pop(&s));
    hold_destroy(&s);
}

static void test_ring_wraps(void **state)
{
    struct hold_store s;
    uint64_t next = 0, want = 0;
    (void)state;
    hold_init(&s);
    /* Push 200, pop 150, then push 500 more: the ring's head has moved when
     * it wraps and when it grows, and order must survive both. */
    for (int i = 0; i < 200; i++)
        push(&s, next++);
    for (int i = 0; i < 150; i++, want++)
        pop_expect(&s, want, want);
    for (int i = 0; i < 500; i++) {
        push(&s, next++);
        assert_int_equal(s.heap_len, 0);
    }
    assert_int_equal(hold_count(&s), 550);
    while (want < next) {
        pop_expect(&s, want, want);
        want++;
    }
    assert_int_equal(hold_count(&s), 0);
    hold_destroy(&s);
}

static void test_out_of_order_sorted(void **state)
{
    static const uint64_t dl[] = {50, 10, 40, 20, 30, 60, 5, 45, 15, 35};
    /* Expected pop order as (deadline, seq). */
    static const uint64_t want[][2] = {{5, 6},  {10, 1}, {15, 8}, {20, 3}, {30, 4},
                                       {35, 9}, {40, 2}, {45, 7}, {50, 0}, {60, 5}};
    struct hold_store s;
    (void)state;
    hold_init(&s);
    for (size_t i = 0; i < 10; i++)
        push(&s, dl[i]);
    assert_int_equal(hold_count(&s), 10);
    assert_true(s.heap_len > 0); /* the late arrivals went to the heap */
    assert_int_equal(s.ring_len + s.heap_len, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(hold_peek(&s)->deadline, want[i][0]);
        pop_expect(&s, want[i][0], want[i][1]);
    }
    assert_null(hold_pop(&s));
    hold_destroy(&s);
}

static void test_ties_in_arrival_order(void **state)
{
    struct hold_store s;
    (void)state;
    hold_init(&s);
    /* seq:      0    1    2    3    4    5   6    7 */
    push(&s, 100);
    push(&s, 200);
    push(&s, 100); /* ties with seq 0 but behind the ring's tail: heap */
    push(&s, 100);
    push(&s, 200);
    push(&s, 50);
    push(&s, 100);
    push(&s, 200);
    pop_expect(&s, 50, 5);
    pop_expect(&s, 100, 0);
    pop_expect(&s, 100, 2);
    pop_expect(&s, 100, 3);
    pop_expect(&s, 100, 6);
    pop_expect(&s, 200, 1);
    pop_expect(&s, 200, 4);
    pop_expect(&s, 200, 7);
    assert_int_equal(hold_count(&s), 0);

    /* All equal: pure arrival order. */
    for (int i = 0; i < 300; i++)
        push(&s, 7);
    for (uint64_t i = 0; i < 300; i++)
        pop_expect(&s, 7, 8 + i);
    hold_destroy(&s);
}

/* Reference for the random test: every (deadline, seq) key is known in
 * advance, so rank them once by sorting; a Fenwick tree over ranks holds the
 * pending set and gives its minimum in O(log n). */
#define NR 100000
struct key {
    uint64_t deadline, seq;
};
static struct key keys[NR];
static uint32_t rank_of[NR]; /* by seq */
static struct key sorted[NR];
static int fen[NR + 1];

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void fen_add(int i, int v)
{
    for (i++; i <= NR; i += i & -i)
        fen[i] += v;
}

/* Smallest rank present (the tree must not be empty). */
static int fen_first(void)
{
    int pos = 0, step = 1;
    while (step * 2 <= NR)
        step *= 2;
    for (; step; step /= 2)
        if (pos + step <= NR && fen[pos + step] == 0)
            pos += step;
    return pos; /* 0-based rank */
}

static uint64_t lcg = 88172645463325252ULL;
static uint64_t rnd(void)
{
    /* xorshift64: a fixed, self-contained sequence. */
    lcg ^= lcg << 13;
    lcg ^= lcg >> 7;
    lcg ^= lcg << 17;
    return lcg;
}

static void test_random_interleaved(void **state)
{
    struct hold_store s;
    size_t pushed = 0, popped = 0, max_heap = 0, to_ring = 0, to_heap = 0;
    (void)state;
    for (int i = 0; i < NR; i++) {
        /* First half: anywhere in a small range, so many deadlines are
         * equal (ties) and most go to the heap. Second half: arrival time
         * plus a jitter, nearly ordered, as a jittered delay produces, so the
         * ring and the heap both take a share. */
        if (i < NR / 2)
            keys[i].deadline = rnd() % 20000;
        else
            keys[i].deadline = 20000 + (uint64_t)i * 2 + rnd() % 200;
        keys[i].seq = (uint64_t)i;
    }
    memcpy(sorted, keys, sizeof(keys));
    qsort(sorted, NR, sizeof(sorted[0]), key_cmp);
    for (int i = 0; i < NR; i++)
        rank_of[sorted[i].seq] = (uint32_t)i;
    memset(fen, 0, sizeof(fen));

    hold_init(&s);
    while (popped < NR) {
        /* Push with probability 3/5 while keys are left, else pop. */
        bool do_push = pushed < NR && (popped == pushed || rnd() % 5 < 3);
        if (do_push) {
            struct hold_pkt *p = mk(keys[pushed].deadline);
            size_t heap_was = s.heap_len;
            assert_int_equal(p->seq, pushed);
            assert_int_equal(hold_push(&s, p), 0);
            if (s.heap_len > heap_was)
                to_heap++;
            else
                to_ring++;
            fen_add((int)rank_of[pushed], 1);
            pushed++;
        } else {
            int r = fen_first();
            pop_expect(&s, sorted[r].deadline, sorted[r].seq);
            fen_add(r, -1);
            popped++;
        }
        assert_int_equal(hold_count(&s), pushed - popped);
        max_heap = s.heap_len > max_heap ? s.heap_len : max_heap;
    }
    /* Both halves of the store were used, the heap at some size. */
    assert_true(max_heap > 1000);
    assert_true(to_ring > 1000 && to_heap > 1000);
    assert_null(hold_pop(&s));
    hold_destroy(&s);
}

static void test_forever_last(void **state)
{
    struct hold_store s;
    uint64_t last = 0;
    int forever_seq[50], nf = 0;
    (void)state;
    hold_init(&s);
    /* Held-until-off packets (HOLD_FOREVER) mixed with delayed ones. */
    for (int i = 0; i < 200; i++) {
        if (i % 4 == 1) {
            forever_seq[nf++] = (int)next_seq;
            push(&s, HOLD_FOREVER);
        } else {
            push(&s, 1000000 + rnd() % 1000000);
        }
    }
    assert_int_equal(nf, 50);
    for (int i = 0; i < 150; i++) {
        struct hold_pkt *p = hold_pop(&s);
        assert_non_null(p);
        assert_true(p->deadline != HOLD_FOREVER);
        assert_true(p->deadline >= last);
        last = p->deadline;
        free(p);
    }
    /* Then the held ones, in arrival order. */
    for (int i = 0; i < nf; i++)
        pop_expect(&s, HOLD_FOREVER, (uint64_t)forever_seq[i]);
    assert_null(hold_pop(&s));
    hold_destroy(&s);
}

/* Live heap blocks, counted by wrapping the allocator for this binary, so
 * that hold_destroy's frees are checked exactly (glibc's own counters keep
 * freed chunks in tcache as "in use"). Under ASan (make ASAN=1) the
 * sanitizer owns malloc; LeakSanitizer checks for leaks at exit there. */
#ifndef __SANITIZE_ADDRESS__
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
static long live_blocks;

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    live_blocks += p != NULL;
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    live_blocks += p != NULL;
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p = __libc_realloc(old, n);
    if (!old)
        live_blocks += p != NULL;
    else if (!n && !p)
        live_blocks--; /* realloc(p, 0) freed it */
    return p;
}

void free(void *p)
{
    live_blocks -= p != NULL;
    __libc_free(p);
}
#endif

static long in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
    return 0;
#else
    return live_blocks;
#endif
}

static void test_destroy_frees(void **state)
{
    struct hold_store s;
    long before, after;
    (void)state;
    before = in_use();

    hold_init(&s);
    for (int i = 0; i < 3000; i++)
        push(&s, rnd() % 100000); /* ring and heap both hold packets */
    for (int i = 0; i < 500; i++)
        free(hold_pop(&s));
    assert_int_equal(hold_count(&s), 2500);
    assert_true(s.ring_len > 0 && s.heap_len > 0);
#ifndef __SANITIZE_ADDRESS__
    /* 2500 packets, the ring and the heap array. */
    assert_int_equal(in_use(), before + 2500 + 2);
#endif
    hold_destroy(&s);
    after = in_use();
    /* Every packet and both arrays are freed, and the store is reusable. */
    assert_int_equal(after, before);
    assert_int_equal(hold_count(&s), 0);
    assert_null(s.ring);
    assert_null(s.heap);
    assert_int_equal(s.ring_cap + s.heap_cap, 0);
    push(&s, 5);
    pop_expect(&s, 5, next_seq - 1);
    hold_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, setup),
        cmocka_unit_test_setup(test_in_order_uses_ring, setup),
        cmocka_unit_test_setup(test_ring_wraps, setup),
        cmocka_unit_test_setup(test_out_of_order_sorted, setup),
        cmocka_unit_test_setup(test_ties_in_arrival_order, setup),
        cmocka_unit_test_setup(test_random_interleaved, setup),
        cmocka_unit_test_setup(test_forever_last, setup),
        cmocka_unit_test_setup(test_destroy_frees, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
