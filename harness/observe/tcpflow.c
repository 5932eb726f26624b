/* tcpflow: TCP reassembly of captured traffic. */
#include "tcpflow.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tf_seg {
    uint32_t seq;
    size_t len;
    uint8_t data[];
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool tf_linktype_ok(int lt)
{
    switch (lt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

/* The TCP header at l4 (n bytes of IP payload captured, wire bytes of it
 * on the wire). */
static int tcp(const uint8_t *l4, size_t n, size_t wire, struct tf_pkt *p)
{
    if (n < 20)
        return -1;
    size_t off = (size_t)(l4[12] >> 4) * 4;
    if (off < 20 || off > wire)
        return -1;
    if (off > n) {
        p->truncated = true;
        off = n;
    }
    p->src.port = be16(l4);
    p->dst.port = be16(l4 + 2);
    p->seq = be32(l4 + 4);
    p->flags = l4[13];
    p->data = l4 + off;
    p->len = n - off;
    p->wire_len = wire - off;
    if (n < wire)
        p->truncated = true;
    return 1;
}

static int ipv4(const uint8_t *ip, size_t n, struct tf_pkt *p)
{
    if (n < 20 || ip[0] >> 4 != 4)
        return -1;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = be16(ip + 2);
    if (ihl < 20 || total < ihl || ihl > n)
        return -1;
    if (ip[9] != 6)
        return 0;
    if (be16(ip + 6) & 0x3fff) /* more fragments, or an offset */
        return 0;
    memset(&p->src, 0, sizeof(p->src));
    memset(&p->dst, 0, sizeof(p->dst));
    memcpy(p->src.ip, ip + 12, 4);
    memcpy(p->dst.ip, ip + 16, 4);
    size_t have = n < total ? n : total;
    return tcp(ip + ihl, have - ihl, total - ihl, p);
}

static int ipv6(const uint8_t *ip, size_t n, struct tf_pkt *p)
{
    if (n < 40 || ip[0] >> 4 != 6)
        return -1;
    size_t total = 40 + (size_t)be16(ip + 4), off = 40;
    uint8_t nh = ip[6];
    while (nh == 0 || nh == 43 || nh == 60) { /* hop-by-hop, routing, destination */
        if (off + 8 > n)
            return -1;
        nh = ip[off];
        off += ((size_t)ip[off + 1] + 1) * 8;
    }
    if (nh != 6 || off > n || off > total)
        return nh == 6 ? -1 : 0; /* a fragment (44) or not TCP */
    memset(&p->src, 0, sizeof(p->src));
    memset(&p->dst, 0, sizeof(p->dst));
    p->src.v6 = p->dst.v6 = true;
    memcpy(p->src.ip, ip + 8, 16);
    memcpy(p->dst.ip, ip + 24, 16);
    size_t have = n < total ? n : total;
    return tcp(ip + off, have - off, total - off, p);
}

static int ip_any(const uint8_t *ip, size_t n, struct tf_pkt *p)
{
    if (!n)
        return -1;
    return ip[0] >> 4 == 4 ? ipv4(ip, n, p) : ip[0] >> 4 == 6 ? ipv6(ip, n, p) : 0;
}

static int by_ethertype(uint16_t type, const uint8_t *ip, size_t n, struct tf_pkt *p)
{
    return type == 0x0800 ? ipv4(ip, n, p) : type == 0x86dd ? ipv6(ip, n, p) : 0;
}

int tf_decode(int lt, const uint8_t *f, size_t n, struct tf_pkt *p)
{
    memset(p, 0, sizeof(*p));
    switch (lt) {
    case DLT_EN10MB: {
        size_t off = 12;
        if (n < 14)
            return -1;
        while (be16(f + off) == 0x8100 || be16(f + off) == 0x88a8) { /* VLAN tags */
            off += 4;
            if (off + 2 > n)
                return -1;
        }
        return by_ethertype(be16(f + off), f + off + 2, n - off - 2, p);
    }
    case DLT_LINUX_SLL:
        return n < 16 ? -1 : by_ethertype(be16(f + 14), f + 16, n - 16, p);
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        return n < 20 ? -1 : by_ethertype(be16(f), f + 20, n - 20, p);
#endif
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return ip_any(f, n, p);
    case DLT_NULL:
    case DLT_LOOP: /* a 4-byte address family (host order, or network order for LOOP) */
        return n < 4 ? -1 : ip_any(f + 4, n - 4, p);
    default:
        return -1;
    }
}

void tf_addr_str(const struct tf_addr *a, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof(ip));
    snprintf(out, len, a->v6 ? "[%s]:%u" : "%s:%u", ip, a->port);
}

/* ---- the connection table ---- */

static bool addr_eq(const struct tf_addr *a, const struct tf_addr *b)
{
    return a->v6 == b->v6 && a->port == b->port && !memcmp(a->ip, b->ip, 16);
}

static uint64_t addr_hash(const struct tf_addr *a)
{
    uint64_t h = 1469598103934665603ull ^ a->port;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->ip[i]) * 1099511628211ull;
    return h;
}

static size_t bucket_of(const struct tf_table *t, const struct tf_pkt *p)
{
    return (size_t)((addr_hash(&p->src) ^ addr_hash(&p->dst)) % t->nbuckets);
}

int tf_init(struct tf_table *t, const struct tf_ops *ops, void *ctx)
{
    memset(t, 0, sizeof(*t));
    t->ops = *ops;
    t->ctx = ctx;
    t->nbuckets = 4093;
    t->bucket = calloc(t->nbuckets, sizeof(struct tf_conn *));
    return t->bucket ? 0 : -1;
}

static void free_pending(struct tf_half *h)
{
    for (size_t i = 0; i < h->n_pending; i++)
        free(h->pending[i]);
    free(h->pending);
    h->pending = NULL;
    h->n_pending = h->pending_cap = h->pending_bytes = 0;
}

/* Bytes of the direction are missing from the capture: it ends here. */
static void hole(struct tf_table *t, struct tf_conn *c, int dir)
{
    struct tf_half *h = &c->half[dir];
    if (h->broken)
        return;
    h->broken = true;
    free_pending(h);
    t->st.gaps++;
    if (t->ops.gap)
        t->ops.gap(t->ctx, c, dir);
}

static void drop(struct tf_table *t, struct tf_conn *c)
{
    for (int d = 0; d < 2; d++) /* bytes held past a hole that never filled */
        if (c->half[d].n_pending)
            hole(t, c, d);
    struct tf_conn **pp = &t->bucket[(addr_hash(&c->cli) ^ addr_hash(&c->srv)) % t->nbuckets];
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    if (t->ops.close)
        t->ops.close(t->ctx, c);
    free_pending(&c->half[0]);
    free_pending(&c->half[1]);
    free(c);
    t->n--;
}

static struct tf_conn *find(struct tf_table *t, const struct tf_pkt *p, int *dir)
{
    for (struct tf_conn *c = t->bucket[bucket_of(t, p)]; c; c = c->next) {
        if (addr_eq(&c->cli, &p->src) && addr_eq(&c->srv, &p->dst)) {
            *dir = TF_C2S;
            return c;
        }
        if (addr_eq(&c->srv, &p->src) && addr_eq(&c->cli, &p->dst)) {
            *dir = TF_S2C;
            return c;
        }
    }
    return NULL;
}

static struct tf_conn *open_conn(struct tf_table *t, const struct tf_pkt *p, int *dir)
{
    bool syn = p->flags & TF_SYN;
    int side = syn             ? ((p->flags & TF_ACK) ? TF_S2C : TF_C2S)
               : t->ops.orient ? t->ops.orient(t->ctx, p)
                               : -1;
    if (side < 0) {
        t->st.ignored++;
        return NULL;
    }
    if (t->n >= TF_MAX_CONNS) {
        t->st.overflow++;
        return NULL;
    }
    struct tf_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        t->st.overflow++;
        return NULL;
    }
    c->cli = side == TF_C2S ? p->src : p->dst;
    c->srv = side == TF_C2S ? p->dst : p->src;
    c->handshake = syn;
    size_t b = bucket_of(t, p);
    c->next = t->bucket[b];
    t->bucket[b] = c;
    t->n++;
    t->st.conns++;
    t->st.midstream += !syn;
    *dir = side;
    if (t->ops.open)
        t->ops.open(t->ctx, c);
    return c;
}

static void deliver(struct tf_table *t, struct tf_conn *c, int dir, uint32_t seq,
                    const uint8_t *data, size_t len)
{
    struct tf_half *h = &c->half[dir];
    int32_t skip = (int32_t)(h->next - seq);
    if (skip < 0 || (size_t)skip >= len)
        return;
    h->next += (uint32_t)(len - (size_t)skip);
    h->bytes += len - (size_t)skip;
    if (t->ops.data)
        t->ops.data(t->ctx, c, dir, data + skip, len - (size_t)skip);
}

/* The held segments are a binary heap on sequence number: every one is
 * ahead of next (by less than 2^31), so their differences order them. */
static bool before(struct tf_table *t, const struct tf_seg *a, const struct tf_seg *b)
{
    t->st.order_steps++;
    return (int32_t)(a->seq - b->seq) < 0;
}

static int hold(struct tf_table *t, struct tf_half *h, struct tf_seg *s)
{
    size_t i = h->n_pending;
    if (i == h->pending_cap) {
        size_t cap = h->pending_cap ? 2 * h->pending_cap : 16;
        struct tf_seg **p = realloc(h->pending, cap * sizeof(struct tf_seg *));
        if (!p)
            return -1;
        h->pending = p;
        h->pending_cap = cap;
    }
    for (; i && before(t, s, h->pending[(i - 1) / 2]); i = (i - 1) / 2)
        h->pending[i] = h->pending[(i - 1) / 2];
    h->pending[i] = s;
    h->n_pending++;
    h->pending_bytes += s->len;
    return 0;
}

/* Takes the earliest held segment out. */
static struct tf_seg *unhold(struct tf_table *t, struct tf_half *h)
{
    struct tf_seg *first = h->pending[0], *last = h->pending[--h->n_pending];
    size_t i = 0, n = h->n_pending;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && before(t, h->pending[k + 1], h->pending[k]))
            k++;
        if (!before(t, h->pending[k], last))
            break;
        h->pending[i] = h->pending[k];
        i = k;
    }
    if (n)
        h->pending[i] = last;
    h->pending_bytes -= first->len;
    return first;
}

/* Delivers what is contiguous now, holds what is ahead. */
static void segment(struct tf_table *t, struct tf_conn *c, int dir, const struct tf_pkt *p)
{
    struct tf_half *h = &c->half[dir];
    if ((int32_t)(p->seq - h->next) > 0) {
        if (h->pending_bytes + p->len > TF_MAX_PENDING || h->n_pending >= TF_MAX_PENDING_SEGS) {
            t->st.held_over++;
            hole(t, c, dir);
            return;
        }
        struct tf_seg *s = malloc(sizeof(*s) + p->len);
        if (s) {
            s->seq = p->seq;
            s->len = p->len;
            memcpy(s->data, p->data, p->len);
        }
        if (!s || hold(t, h, s) < 0) {
            free(s); /* out of memory: these bytes are lost as if not captured */
            hole(t, c, dir);
        }
        return;
    }
    deliver(t, c, dir, p->seq, p->data, p->len);
    while (h->n_pending && (int32_t)(h->pending[0]->seq - h->next) <= 0) {
        struct tf_seg *s = unhold(t, h);
        deliver(t, c, dir, s->seq, s->data, s->len);
        free(s);
    }
}

/* Its FIN came and every byte before it was delivered (or cannot be). */
static bool ended(const struct tf_half *h)
{
    return h->fin && (h->broken || !h->started || (int32_t)(h->next - h->fin_seq) >= 0);
}

void tf_packet(struct tf_table *t, const struct tf_pkt *p)
{
    int dir;
    t->st.segments++;
    struct tf_conn *c = find(t, p, &dir);
    if (c && (p->flags & (TF_SYN | TF_ACK)) == TF_SYN && c->half[TF_C2S].started &&
        p->seq != c->half[TF_C2S].isn) {
        drop(t, c); /* the address pair is reused by a new connection */
        c = NULL;
    }
    if (!c && !(p->flags & TF_SYN) && !p->len)
        return; /* the last ACK of a closed connection, or nothing to read */
    if (!c && !(c = open_conn(t, p, &dir)))
        return;
    struct tf_half *h = &c->half[dir];
    struct tf_pkt d = *p; /* a SYN's data (Fast Open) follows its sequence number */
    if (p->flags & TF_SYN) {
        if (!h->started) {
            h->started = true;
            h->isn = p->seq;
            h->next = p->seq + 1;
        }
        d.seq = p->seq + 1;
    }
    if (p->truncated) {
        t->st.truncated++;
        if (p->wire_len)
            hole(t, c, dir);
    }
    if (!h->started && d.len && !h->broken) {
        if (!t->ops.can_start || !t->ops.can_start(t->ctx, c, dir, d.data, d.len))
            return; /* its SYN was not captured, and this is no message boundary */
        h->started = true;
        h->next = d.seq;
    }
    if (d.len && h->started && !h->broken)
        segment(t, c, dir, &d);
    if (p->flags & TF_FIN) {
        h->fin = true;
        h->fin_seq = d.seq + (uint32_t)d.wire_len;
    }
    if ((p->flags & TF_RST) || (ended(&c->half[0]) && ended(&c->half[1])))
        drop(t, c);
}

void tf_finish(struct tf_table *t)
{
    for (size_t b = 0; b < t->nbuckets; b++)
        while (t->bucket[b])
            drop(t, t->bucket[b]);
    free(t->bucket);
    t->bucket = NULL;
}
