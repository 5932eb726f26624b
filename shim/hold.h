/* hold: packets the shim holds, ordered by release time. Arrivals in
 * deadline order (the usual case: fixed delay, hold) go to a ring in O(1);
 * the rest go to a binary heap. Ties leave in arrival order. */
#ifndef RIFT_HOLD_H
#define RIFT_HOLD_H

#include <stddef.h>
#include <stdint.h>

#define HOLD_FOREVER UINT64_MAX
#define HOLD_F_DUP 0x1
#define HOLD_F_MODIFIED 0x2 /* data was rewritten: the verdict carries it */

/* One held packet; the payload copy follows the header in one allocation. */
struct hold_pkt {
    uint64_t deadline;
    uint64_t seq;
    uint32_t id;  /* NFQUEUE packet id */
    uint32_t len; /* bytes in data */
    uint8_t rule;
    uint8_t flags;
    uint16_t queue;      /* NFQUEUE number the packet waits in */
    uint32_t arrived_us; /* arrival, us since shim start (event log) */
    unsigned char data[];
};

struct hold_store {
    struct hold_pkt **ring;
    size_t ring_cap, ring_head, ring_len;
    struct hold_pkt **heap;
    size_t heap_cap, heap_len;
};

void hold_init(struct hold_store *s);
/* Frees the arrays and any packet still stored. */
void hold_destroy(struct hold_store *s);
/* 0, or -ENOMEM (the packet is not stored). */
int hold_push(struct hold_store *s, struct hold_pkt *p);
struct hold_pkt *hold_peek(const struct hold_store *s);
struct hold_pkt *hold_pop(struct hold_store *s);

static inline size_t hold_count(const struct hold_store *s)
{
    return s->ring_len + s->heap_len;
}

/* Memory the store's arrays use, for the memory-per-packet figure. */
size_t hold_overhead_bytes(const struct hold_store *s);

#endif
