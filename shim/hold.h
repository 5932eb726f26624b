/* hold: packets the shim holds, ordered by release time. Arrivals in
 * deadline order (the usual case: fixed delay, hold) go to a ring in O(1);
 * the rest go to a binary heap. Ties leave in arrival order. Packets are
 * carved from large blocks the store owns (hold_alloc, hold_free). */
#ifndef RIFT_HOLD_H
#define RIFT_HOLD_H

#include <stddef.h>
#include <stdint.h>

#define HOLD_FOREVER UINT64_MAX
#define HOLD_F_DUP 0x1
#define HOLD_F_MODIFIED 0x2 /* data was rewritten: the verdict carries it */

/* Blocks are mapped aligned to their size, so a packet's block is its
 * address rounded down. A packet larger than HOLD_IN_BLOCK_MAX (header
 * included) gets an allocation of its own: in a block it could waste up to
 * its own size at the block's end. */
#define HOLD_BLOCK_SIZE ((size_t)256 * 1024)
#define HOLD_IN_BLOCK_MAX ((size_t)2048)

/* One held packet; the payload copy follows the header (32 bytes). */
struct hold_pkt {
    uint64_t deadline;
    uint32_t seq;  /* arrival order; compared modulo 2^32 */
    uint32_t mark; /* the packet's own, kept by its verdict */
    uint32_t id;   /* NFQUEUE packet id */
    uint32_t len;  /* bytes in data; set by hold_alloc, never changed */
    uint8_t rule;
    uint8_t flags;
    uint16_t queue;      /* NFQUEUE number the packet waits in */
    uint32_t arrived_us; /* arrival, us since shim start (event log) */
    unsigned char data[];
};

struct hold_block;

struct hold_store {
    struct hold_pkt **ring;
    size_t ring_cap, ring_head, ring_len;
    struct hold_pkt **heap;
    size_t heap_cap, heap_len;
    struct hold_block *blocks; /* every mapped block, cur and spare included */
    struct hold_block *cur;    /* where packets are carved */
    struct hold_block *spare;  /* an empty block kept against map/unmap churn */
    size_t cur_used;           /* bytes of cur in use, its header included */
    size_t n_blocks;
    size_t pkt_bytes; /* header + payload of every allocated packet */
    size_t own_bytes; /* the same, for packets in an allocation of their own */
};

void hold_init(struct hold_store *s);
/* Frees the arrays, any packet still stored and every block; a packet
 * allocated and not pushed must be freed before. */
void hold_destroy(struct hold_store *s);
/* A packet with room for len bytes of data, its header zeroed but for len;
 * NULL with errno set when there is no memory. */
struct hold_pkt *hold_alloc(struct hold_store *s, uint32_t len);
/* Gives back a packet of this store (NULL: nothing). A block is unmapped
 * when its last packet goes, unless it is the one carved from or the spare. */
void hold_free(struct hold_store *s, struct hold_pkt *p);
/* 0, or -ENOMEM (the packet is not stored). */
int hold_push(struct hold_store *s, struct hold_pkt *p);
struct hold_pkt *hold_peek(const struct hold_store *s);
struct hold_pkt *hold_pop(struct hold_store *s);

static inline size_t hold_count(const struct hold_store *s)
{
    return s->ring_len + s->heap_len;
}

/* Memory the store has taken: arrays, blocks (whole) and packets of their
 * own (malloc's own overhead on those is not counted). */
size_t hold_total_bytes(const struct hold_store *s);
/* The part of it that is not packets (header + payload): arrays, block
 * headers, alignment, unused block space, the spare. */
size_t hold_overhead_bytes(const struct hold_store *s);

#endif
