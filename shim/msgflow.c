/* msgflow: message boundaries per flow, message drops by rewrite. */
#include "msgflow.h"

#include <string.h>

#include "../proto/bus.h"

#define DROP_VER 0xFFFFu /* any version but 1: Redis and Valkey ignore the message */

static inline int32_t sdiff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

void msgflow_init(struct msgflow_table *t)
{
    memset(t, 0, sizeof(*t));
}

static struct msgflow *lookup(struct msgflow_table *t, const struct pkt_info *pi)
{
    struct msgflow *lru = &t->f[0];
    t->tick++;
    for (int i = 0; i < MSGFLOW_MAX; i++) {
        struct msgflow *f = &t->f[i];
        if (f->used && f->saddr == pi->saddr && f->daddr == pi->daddr && f->sport == pi->sport &&
            f->dport == pi->dport) {
            f->last_use = t->tick;
            return f;
        }
        if (!f->used || f->last_use < lru->last_use)
            lru = f;
    }
    memset(lru, 0, sizeof(*lru));
    lru->used = true;
    lru->saddr = pi->saddr;
    lru->daddr = pi->daddr;
    lru->sport = pi->sport;
    lru->dport = pi->dport;
    lru->last_use = t->tick;
    return lru;
}

/* Find the signature from offset; -1 if none. */
static long find_sig(const uint8_t *p, size_t len, size_t from)
{
    for (size_t i = from; i + BUS_SIG_LEN <= len; i++)
        if (bus_has_sig(p + i))
            return (long)i;
    return -1;
}

static void rewrite(uint8_t *msg_ver)
{
    msg_ver[0] = DROP_VER >> 8;
    msg_ver[1] = DROP_VER & 0xff;
}

void msgflow_scan(struct msgflow_table *t, const struct pkt_info *pi, uint8_t *p, size_t len,
                  struct msgflow_scan *out, bool *changed)
{
    struct msgflow *f = lookup(t, pi);
    uint32_t seq = pi->tcp_seq, end = seq + (uint32_t)len;
    memset(out, 0, sizeof(*out));
    if (!len)
        return;
    /* Retransmission (or overlap): re-apply the rewrites of its messages. */
    for (int i = 0; i < f->n_dropped; i++) {
        uint32_t ver_at = f->dropped[i] + BUS_OFF_VER;
        if (sdiff(ver_at, seq) >= 0 && sdiff(end, ver_at + 2) >= 0 && sdiff(seq, f->next_msg) < 0) {
            rewrite(p + (ver_at - seq));
            *changed = true;
            out->n_retransmitted_drops++;
        }
    }
    if (f->synced && sdiff(seq, f->span_end) < 0 && sdiff(end, seq) > 0 &&
        sdiff(f->span_end, seq) > 0)
        out->carried |= 1u << f->span_type; /* the tail of a message already seen */
    if (f->synced && sdiff(end, f->next_msg) <= 0)
        return; /* nothing new in this segment */
    if (!f->synced || sdiff(seq, f->next_msg) > 0) {
        /* picked up mid-stream, or after a gap: find the next signature */
        long at = find_sig(
            p, len, f->synced && sdiff(f->next_msg, seq) > 0 ? (size_t)(f->next_msg - seq) : 0);
        f->hdr_len = 0;
        if (at < 0) {
            f->synced = false;
            return;
        }
        f->synced = true;
        f->next_msg = seq + (uint32_t)at;
    }
    while (sdiff(end, f->next_msg) > 0) {
        uint32_t off = f->next_msg - seq;
        uint8_t hdr[BUS_PREFIX_LEN];
        uint32_t totlen;
        uint16_t type;
        if (f->hdr_len) {
            /* the rest of a header that began in the previous segment */
            uint32_t need = BUS_PREFIX_LEN - f->hdr_len;
            uint32_t have = (uint32_t)len < need ? (uint32_t)len : need;
            memcpy(f->hdr + f->hdr_len, p, have);
            f->hdr_len += have;
            if (f->hdr_len < BUS_PREFIX_LEN)
                return;
            memcpy(hdr, f->hdr, BUS_PREFIX_LEN);
            f->hdr_len = 0;
            t->split_headers++;
            off = 0; /* not droppable: its version field was in the segment before */
        } else if (len - off < BUS_PREFIX_LEN) {
            f->hdr_len = (uint32_t)(len - off);
            memcpy(f->hdr, p + off, f->hdr_len);
            return;
        } else {
            memcpy(hdr, p + off, BUS_PREFIX_LEN);
        }
        if (bus_prefix(hdr, &totlen, &type) < 0) {
            f->synced = false; /* lost track: resynchronise on the next segment */
            return;
        }
        if (type < 32) {
            out->carried |= 1u << type;
            if (out->n_hdrs < MSGFLOW_MAX_IN_SEG && bus_has_sig(p + off) &&
                off + BUS_OFF_VER + 2 <= len) {
                out->hdrs[out->n_hdrs].type = type;
                out->hdrs[out->n_hdrs].offset = off;
                out->n_hdrs++;
            }
        }
        f->span_end = f->next_msg + totlen;
        f->span_type = type < 32 ? type : 31;
        f->next_msg += totlen;
    }
}

int msgflow_drop(struct msgflow_table *t, const struct pkt_info *pi, uint8_t *p, size_t len,
                 uint32_t offset)
{
    struct msgflow *f = lookup(t, pi);
    if (offset + BUS_OFF_VER + 2 > len)
        return -1;
    rewrite(p + offset + BUS_OFF_VER);
    f->dropped[f->next_dropped] = pi->tcp_seq + offset;
    f->next_dropped = (f->next_dropped + 1) % MSGFLOW_DROPPED;
    if (f->n_dropped < MSGFLOW_DROPPED)
        f->n_dropped++;
    return 0;
}
