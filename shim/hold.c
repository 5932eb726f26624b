/* hold: ring + heap keyed by (deadline, seq). */
#include "hold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static inline bool before(const struct hold_pkt *a, const struct hold_pkt *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

void hold_init(struct hold_store *s)
{
    *s = (struct hold_store){0};
}

void hold_destroy(struct hold_store *s)
{
    struct hold_pkt *p;
    while ((p = hold_pop(s)))
        free(p);
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

size_t hold_overhead_bytes(const struct hold_store *s)
{
    return (s->ring_cap + s->heap_cap) * sizeof(struct hold_pkt *);
}
