/* test_hold: the held-packet store (ring fast path + heap), ordered by
 * (deadline, seq), and the blocks its packets are carved from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../shim/hold.h"

static uint64_t next_seq;

/* Bytes the store has mapped, seen through its mmap and munmap calls; a
 * failure to inject. */
static long long mapped;
static bool mmap_fails;

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *m;
    if (mmap_fails) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    m = __real_mmap(addr, len, prot, flags, fd, off);
    if (m != MAP_FAILED)
        mapped += (long long)len;
    return m;
}

int __wrap_munmap(void *addr, size_t len)
{
    int r = __real_munmap(addr, len);
    if (r == 0)
        mapped -= (long long)len;
    return r;
}

/* Payload byte i of packet seq. */
#define PAY(seq, i) ((unsigned char)((seq)*7 + (i)))

/* A packet as the shim makes one; its payload encodes seq, so a pop can be
 * checked against its packet and memory carved twice would show. */
static struct hold_pkt *mk_len(struct hold_store *s, uint64_t deadline, uint32_t len)
{
    struct hold_pkt *p = hold_alloc(s, len);
    assert_non_null(p);
    assert_int_equal(p->len, len);
    assert_int_equal((uintptr_t)p % 8, 0);
    p->deadline = deadline;
    p->seq = next_seq++;
    p->id = (uint32_t)p->seq;
    for (uint32_t i = 0; i < len; i++)
        p->data[i] = PAY(p->seq, i);
    return p;
}

/* Payload sizes from 1 to 150 bytes, by seq: packets of every alignment. */
static uint32_t len_of(uint64_t seq)
{
    return 1 + (uint32_t)(seq % 150);
}

static struct hold_pkt *mk(struct hold_store *s, uint64_t deadline)
{
    return mk_len(s, deadline, len_of(next_seq));
}

static void push(struct hold_store *s, uint64_t deadline)
{
    assert_int_equal(hold_push(s, mk(s, deadline)), 0);
}

static void check_payload(const struct hold_pkt *p)
{
    for (uint32_t i = 0; i < p->len; i++)
        if (p->data[i] != PAY(p->seq, i))
            fail_msg("packet %llu: payload byte %u changed", (unsigned long long)p->seq, i);
}

/* Pop one packet, check (deadline, seq) and payload, free it. */
static void pop_expect(struct hold_store *s, uint64_t deadline, uint64_t seq)
{
    struct hold_pkt *p = hold_pop(s);
    assert_non_null(p);
    if (p->deadline != deadline || p->seq != seq)
        fail_msg("popped (%llu, %llu), want (%llu, %llu)", (unsigned long long)p->deadline,
                 (unsigned long long)p->seq, (unsigned long long)deadline, (unsigned long long)seq);
    check_payload(p);
    hold_free(s, p);
}

/* The store's blocks are all it has mapped. */
static void check_mapped(const struct hold_store *s)
{
    assert_int_equal(mapped, (long long)(s->n_blocks * HOLD_BLOCK_SIZE));
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
    assert_int_equal(hold_total_bytes(&s), 0);
    hold_destroy(&s);
    assert_int_equal(hold_count(&s), 0);
    assert_int_equal(mapped, 0);
}

static void test_in_order_uses_ring(void **state)
{
    struct hold_store s;
    size_t pkt_bytes = 0;
    (void)state;
    hold_init(&s);
    /* Non-decreasing deadlines (equal ones too): all on the ring, none on
     * the heap, across several ring growths (256 -> 512 -> 1024). */
    for (uint64_t i = 0; i < 1000; i++) {
        pkt_bytes += sizeof(struct hold_pkt) + len_of(i);
        push(&s, 1000 + i / 3 * 10);
        assert_int_equal(s.heap_len, 0);
        assert_int_equal(hold_count(&s), i + 1);
    }
    assert_int_equal(s.ring_len, 1000);
    assert_int_equal(s.ring_cap, 1024);
    /* 1000 packets of 33 to 182 bytes fit one block; what is not packets
     * is the ring and the rest of the block. */
    assert_int_equal(s.n_blocks, 1);
    check_mapped(&s);
    assert_int_equal(hold_total_bytes(&s), 1024 * sizeof(struct hold_pkt *) + HOLD_BLOCK_SIZE);
    assert_int_equal(hold_overhead_bytes(&s), hold_total_bytes(&s) - pkt_bytes);
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
    size_t pushed = 0, popped = 0, max_heap = 0, to_ring = 0, to_heap = 0, max_blocks = 0;
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
            struct hold_pkt *p = mk(&s, keys[pushed].deadline);
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
        max_blocks = s.n_blocks > max_blocks ? s.n_blocks : max_blocks;
    }
    /* Both halves of the store were used, the heap at some size; packets
     * spanned several blocks, and once all are gone only the block carved
     * from and the spare are left. */
    assert_true(max_heap > 1000);
    assert_true(to_ring > 1000 && to_heap > 1000);
    assert_true(max_blocks >= 5);
    assert_null(hold_pop(&s));
    assert_true(s.n_blocks <= 2);
    check_mapped(&s);
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
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
        check_payload(p);
        hold_free(&s, p);
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
static bool malloc_fails;

void *malloc(size_t n)
{
    void *p;
    if (malloc_fails) {
        errno = ENOMEM;
        return NULL;
    }
    p = __libc_malloc(n);
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
    void *p;
    if (malloc_fails) {
        errno = ENOMEM;
        return NULL;
    }
    p = __libc_realloc(old, n);
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
    for (int i = 0; i < 3; i++)   /* and packets of their own allocation */
        assert_int_equal(hold_push(&s, mk_len(&s, rnd() % 100000, 3000)), 0);
    for (int i = 0; i < 500; i++)
        hold_free(&s, hold_pop(&s));
    assert_int_equal(hold_count(&s), 2503);
    assert_true(s.ring_len > 0 && s.heap_len > 0);
    assert_true(s.n_blocks >= 1);
    check_mapped(&s);
#ifndef __SANITIZE_ADDRESS__
    /* The ring, the heap array, and the large packets still stored. */
    assert_int_equal(in_use(), before + 2 + (long)(s.own_bytes / (sizeof(struct hold_pkt) + 3000)));
#endif
    hold_destroy(&s);
    after = in_use();
    /* Every packet, block and array is freed, and the store is reusable. */
    assert_int_equal(after, before);
    assert_int_equal(mapped, 0);
    assert_int_equal(hold_count(&s), 0);
    assert_null(s.ring);
    assert_null(s.heap);
    assert_int_equal(s.ring_cap + s.heap_cap, 0);
    assert_int_equal(hold_total_bytes(&s), 0);
    push(&s, 5);
    pop_expect(&s, 5, next_seq - 1);
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
}

/* In arrival order over 25 blocks: a block is unmapped as its last packet
 * goes, one empty block is kept as the spare, and a refill reuses both the
 * spare and the block carved from. */
static void test_blocks_given_back(void **state)
{
    const size_t n = 50000;
    struct hold_store s;
    size_t per = 0, nb, last;
    (void)state;
    hold_init(&s);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(hold_push(&s, mk_len(&s, i, 92)), 0);
        if (!per && s.n_blocks == 2)
            per = i; /* packets 0 .. per-1 filled the first block */
    }
    /* 92-byte payloads take 128 bytes: a block header of at most 64 bytes */
    assert_true(per >= (HOLD_BLOCK_SIZE - 64) / 128 && per <= HOLD_BLOCK_SIZE / 128);
    nb = (n + per - 1) / per;
    last = (n - 1) / per;
    assert_int_equal(s.n_blocks, nb);
    check_mapped(&s);
    for (size_t k = 1; k <= n; k++) {
        /* the blocks of packets k .. n-1, the spare once the first block
         * emptied, and the block carved from when it is empty too */
        size_t want = (k < n ? last - k / per + 1 : 1) + (k >= per);
        pop_expect(&s, k - 1, k - 1);
        if (s.n_blocks != want)
            fail_msg("after %zu pops: %zu blocks, want %zu", k, s.n_blocks, want);
    }
    check_mapped(&s);
    for (size_t i = 0; i < n; i++) {
        struct hold_pkt *p = mk_len(&s, n + i, 92);
        /* the empty block carved from starts over: no new block */
        if (i == 0)
            assert_true(((uintptr_t)p & (HOLD_BLOCK_SIZE - 1)) <= 64 && s.n_blocks == 2);
        assert_int_equal(hold_push(&s, p), 0);
    }
    assert_int_equal(s.n_blocks, nb);
    check_mapped(&s);
    for (size_t i = 0; i < n; i++)
        pop_expect(&s, n + i, n + i);
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
}

/* A packet released late keeps its block, and only its block, mapped. */
static void test_block_lives_until_last_packet(void **state)
{
    struct hold_store s;
    (void)state;
    hold_init(&s);
    assert_int_equal(hold_push(&s, mk_len(&s, 1000000, 92)), 0); /* seq 0, released last */
    for (uint64_t i = 1; i <= 10000; i++)
        assert_int_equal(hold_push(&s, mk_len(&s, i, 92)), 0);
    assert_int_equal(s.heap_len, 10000); /* released before the first: out of order */
    assert_int_equal(s.n_blocks, 5);
    for (uint64_t i = 1; i <= 10000; i++)
        pop_expect(&s, i, i);
    /* the first packet's block, the empty block carved from, the spare */
    assert_int_equal(s.n_blocks, 3);
    pop_expect(&s, 1000000, 0);
    assert_int_equal(s.n_blocks, 2);
    check_mapped(&s);
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
}

/* Packets up to HOLD_IN_BLOCK_MAX bytes (header included) are carved from a
 * block; larger ones, up to the largest NFQUEUE can copy and beyond, get an
 * allocation of their own. */
static void test_large_packets(void **state)
{
    static const uint32_t lens[] = {0, HOLD_IN_BLOCK_MAX - sizeof(struct hold_pkt),
                                    HOLD_IN_BLOCK_MAX - sizeof(struct hold_pkt) + 1, 65531, 65535};
    const size_t hdr = sizeof(struct hold_pkt);
    struct hold_store s;
    size_t own = 0, all = 0;
    (void)state;
    hold_init(&s);
    for (size_t i = 0; i < 5; i++) {
        struct hold_pkt *p = mk_len(&s, 100 - i, lens[i]);
        bool in_block = (uintptr_t)p - (uintptr_t)s.cur < HOLD_BLOCK_SIZE;
        assert_int_equal(in_block, i < 2);
        own += i < 2 ? 0 : hdr + lens[i];
        all += hdr + lens[i];
        assert_int_equal(hold_push(&s, p), 0);
    }
    assert_int_equal(s.own_bytes, own);
    assert_int_equal(s.pkt_bytes, all);
    assert_int_equal(s.n_blocks, 1);
    assert_int_equal(hold_total_bytes(&s),
                     (s.ring_cap + s.heap_cap) * sizeof(struct hold_pkt *) + HOLD_BLOCK_SIZE + own);
    for (size_t i = 5; i-- > 0;)
        pop_expect(&s, 100 - i, i);
    assert_int_equal(s.own_bytes + s.pkt_bytes, 0);
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
}

/* No memory: hold_alloc says so (the shim then lets the packet through),
 * nothing is counted, and what the store holds is intact. */
static void test_alloc_fails(void **state)
{
    struct hold_store s;
    size_t bytes;
    uint64_t n = 0;
    (void)state;
    hold_init(&s);
    mmap_fails = true;
    errno = 0;
    assert_null(hold_alloc(&s, 92));
    assert_int_equal(errno, ENOMEM);
    mmap_fails = false;
    assert_int_equal(hold_total_bytes(&s), 0);
    /* A full block (no room for 184 bytes, the largest packet mk makes),
     * then no memory for the next one. */
    do
        push(&s, n++);
    while (s.cur_used + 184 <= HOLD_BLOCK_SIZE);
    bytes = s.pkt_bytes;
    mmap_fails = true;
    assert_null(hold_alloc(&s, 200));
    mmap_fails = false;
    assert_int_equal(s.pkt_bytes, bytes);
    assert_int_equal(s.n_blocks, 1);
    assert_int_equal(hold_push(&s, mk_len(&s, n++, 200)), 0);
    assert_int_equal(s.n_blocks, 2);
#ifndef __SANITIZE_ADDRESS__
    {
        struct hold_pkt *p;
        /* A large packet's own allocation fails. */
        malloc_fails = true;
        p = hold_alloc(&s, 65535);
        malloc_fails = false;
        assert_null(p);
        assert_int_equal(s.own_bytes, 0);
        /* The ring cannot grow: the packet is not stored and is freed, as
         * path.c does. */
        while (s.ring_len < s.ring_cap)
            push(&s, n++);
        bytes = s.pkt_bytes;
        p = mk(&s, n);
        malloc_fails = true;
        assert_int_equal(hold_push(&s, p), -ENOMEM);
        malloc_fails = false;
        hold_free(&s, p);
        assert_int_equal(s.pkt_bytes, bytes);
    }
#endif
    for (uint64_t i = 0; i < n; i++)
        pop_expect(&s, i, i);
    assert_null(hold_pop(&s));
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
}

static size_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* The memory figure: 1,000,000 packets of 92 bytes held at once (in
 * order, as a fixed delay holds them) cost at most payload + 48 bytes each,
 * all the store has taken (blocks whole, ring) counted. */
static void test_memory_per_packet(void **state)
{
    const size_t n = 1000000, len = 92;
    struct hold_store s;
    size_t rss0 = rss_bytes(), rss1;
    double per;
    (void)state;
    hold_init(&s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hold_push(&s, mk_len(&s, i, len)), 0);
    rss1 = rss_bytes();
    check_mapped(&s);
    per = (double)hold_total_bytes(&s) / (double)n;
    print_message("%zu held packets of %zu bytes: %.1f B each (payload + %.1f) in %zu blocks "
                  "and a ring of %zu; RSS grew %.1f B per packet\n",
                  n, len, per, per - (double)len, s.n_blocks, s.ring_cap,
                  ((double)rss1 - (double)rss0) / (double)n);
    assert_true(per <= (double)(len + 48));
    for (size_t i = 0; i < n; i++)
        pop_expect(&s, i, i);
    assert_true(s.n_blocks <= 2);
    hold_destroy(&s);
    assert_int_equal(mapped, 0);
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
        cmocka_unit_test_setup(test_blocks_given_back, setup),
        cmocka_unit_test_setup(test_block_lives_until_last_packet, setup),
        cmocka_unit_test_setup(test_large_packets, setup),
        cmocka_unit_test_setup(test_alloc_fails, setup),
        cmocka_unit_test_setup(test_memory_per_packet, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
