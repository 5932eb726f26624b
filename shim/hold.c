/* hold: ring + heap keyed by (deadline, seq); packets bump-allocated from
 * blocks that live until their last packet is freed. */
#include "hold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Packets leave mostly in arrival order, so a block empties soon after the
 * next one fills; the live count says when. */
struct hold_block {
    struct hold_block *prev, *next;
    size_t live; /* packets carved from it and not freed */
};

#define BLOCK_HDR ((sizeof(struct hold_block) + 7) & ~(size_t)7)

_Static_assert(sizeof(struct hold_pkt) == 32, "a held packet's header is 32 bytes");
_Static_assert((HOLD_BLOCK_SIZE & (HOLD_BLOCK_SIZE - 1)) == 0, "blocks are a power of two");
_Static_assert(HOLD_IN_BLOCK_MAX <= HOLD_BLOCK_SIZE - BLOCK_HDR, "a small packet fits a block");

static inline bool before(const struct hold_pkt *a, const struct hold_pkt *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && (int32_t)(a->seq - b->seq) < 0);
}

void hold_init(struct hold_store *s)
{
    *s = (struct hold_store){0};
}

/* Header and payload rounded up to 8 bytes, the header's alignment. */
static size_t carve_size(uint32_t len)
{
    return (sizeof(struct hold_pkt) + (size_t)len + 7) & ~(size_t)7;
}

static struct hold_block *block_of(struct hold_pkt *p)
{
    unsigned char *a = (unsigned char *)p;
    return (struct hold_block *)(a - ((uintptr_t)a & (HOLD_BLOCK_SIZE - 1)));
}

/* Twice the size is mapped and all but an aligned block given back. */
static struct hold_block *block_map(struct hold_store *s)
{
    const size_t sz = HOLD_BLOCK_SIZE;
    unsigned char *m =
        mmap(NULL, 2 * sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct hold_block *b;
    size_t head;
    if (m == MAP_FAILED)
        return NULL;
    head = (sz - ((uintptr_t)m & (sz - 1))) & (sz - 1);
    if (head)
        munmap(m, head);
    munmap(m + head + sz, sz - head);
    b = (struct hold_block *)(m + head);
    *b = (struct hold_block){.next = s->blocks};
    if (s->blocks)
        s->blocks->prev = b;
    s->blocks = b;
    s->n_blocks++;
    return b;
}

static void block_unmap(struct hold_store *s, struct hold_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        s->blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    s->n_blocks--;
    munmap(b, HOLD_BLOCK_SIZE);
}

struct hold_pkt *hold_alloc(struct hold_store *s, uint32_t len)
{
    size_t need = carve_size(len);
    struct hold_pkt *p;
    if (need > HOLD_IN_BLOCK_MAX) {
        p = malloc(sizeof(*p) + len);
        if (!p)
            return NULL;
        s->own_bytes += sizeof(*p) + len;
    } else {
        /* A block with no live packet is never left behind here: an empty
         * cur starts over at its beginning (hold_free), where anything fits. */
        if (!s->cur || s->cur_used + need > HOLD_BLOCK_SIZE) {
            struct hold_block *b = s->spare ? s->spare : block_map(s);
            if (!b)
                return NULL;
            s->spare = NULL;
            s->cur = b;
            s->cur_used = BLOCK_HDR;
        }
        p = (struct hold_pkt *)((unsigned char *)s->cur + s->cur_used);
        s->cur_used += need;
        s->cur->live++;
    }
    s->pkt_bytes += sizeof(*p) + len;
    *p = (struct hold_pkt){.len = len};
    return p;
}

void hold_free(struct hold_store *s, struct hold_pkt *p)
{
    struct hold_block *b;
    if (!p)
        return;
    s->pkt_bytes -= sizeof(*p) + p->len;
    if (carve_size(p->len) > HOLD_IN_BLOCK_MAX) {
        s->own_bytes -= sizeof(*p) + p->len;
        free(p);
        return;
    }
    b = block_of(p);
    if (--b->live)
        return;
    if (b == s->cur)
        s->cur_used = BLOCK_HDR;
    else if (!s->spare)
        s->spare = b;
    else
        block_unmap(s, b);
}

void hold_destroy(struct hold_store *s)
{
    struct hold_pkt *p;
    while ((p = hold_pop(s)))
        hold_free(s, p);
    /* cur and the spare */
    while (s->blocks)
        block_unmap(s, s->blocks);
    free(s->ring);
    free(s->heap);
    hold_init(s);
}

static int ring_grow(struct hold_store *s)
{
    size_t cap = s->ring_cap ? s->ring_cap * 2 : 256;
    /* an array of pointers: sizeof a pointer is meant */
    struct hold_pkt **r = malloc(cap * sizeof(*r)); // NOLINT(bugprone-sizeof-expression)
    if (!r)
        return -ENOMEM;
    for (size_t i = 0; i < s->ring_len; i++)
        r[i] = s->ring[(s->ring_head + i) & (s->ring_cap - 1)];
    free(s->ring);
    s->ring = r;
    s->ring_cap = cap;
    s->ring_head = 0;
    return 0;
}

static int heap_push(struct hold_store *s, struct hold_pkt *p)
{
    size_t i;
    if (s->heap_len == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
        /* an array of pointers: sizeof a pointer is meant */
        struct hold_pkt **h =
            realloc(s->heap, cap * sizeof(*h)); // NOLINT(bugprone-sizeof-expression)
        if (!h)
            return -ENOMEM;
        s->heap = h;
        s->heap_cap = cap;
    }
    i = s->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(p, s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = p;
    return 0;
}

static struct hold_pkt *heap_pop(struct hold_store *s)
{
    struct hold_pkt *top = s->heap[0], *last = s->heap[--s->heap_len];
    size_t i = 0, n = s->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(s->heap[c + 1], s->heap[c]))
            c++;
        if (!before(s->heap[c], last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

int hold_push(struct hold_store *s, struct hold_pkt *p)
{
    if (s->ring_len) {
        struct hold_pkt *tail = s->ring[(s->ring_head + s->ring_len - 1) & (s->ring_cap - 1)];
        if (before(p, tail))
            return heap_push(s, p);
    }
    if (s->ring_len == s->ring_cap && ring_grow(s) < 0)
        return -ENOMEM;
    s->ring[(s->ring_head + s->ring_len++) & (s->ring_cap - 1)] = p;
    return 0;
}

struct hold_pkt *hold_peek(const struct hold_store *s)
{
    struct hold_pkt *r = s->ring_len ? s->ring[s->ring_head] : NULL;
    struct hold_pkt *h = s->heap_len ? s->heap[0] : NULL;
    if (!r)
        return h;
    if (!h)
        return r;
    return before(h, r) ? h : r;
}

struct hold_pkt *hold_pop(struct hold_store *s)
{
    struct hold_pkt *p = hold_peek(s);
    if (!p)
        return NULL;
    if (s->ring_len && p == s->ring[s->ring_head]) {
        s->ring_head = (s->ring_head + 1) & (s->ring_cap - 1);
        s->ring_len--;
    } else {
        heap_pop(s);
    }
    return p;
}

size_t hold_total_bytes(const struct hold_store *s)
{
    return (s->ring_cap + s->heap_cap) * sizeof(struct hold_pkt *) + s->n_blocks * HOLD_BLOCK_SIZE +
           s->own_bytes;
}

size_t hold_overhead_bytes(const struct hold_store *s)
{
    return hold_total_bytes(s) - s->pkt_bytes;
}
