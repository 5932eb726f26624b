/* match: packet selection by node pair, port class and direction. */
#include "match.h"

#include "../proto/bus.h"

#include <stdio.h>
#include <string.h>

void match_index_build(const struct policy *p, struct match_index *mi)
{
    memset(mi, 0, sizeof(*mi));
    mi->n = p->n_nodes;
    for (int i = 0; i < MATCH_LEARN_MAX; i++)
        mi->learned[i].node = -1;
    for (int i = 0; i < p->n_nodes; i++) {
        mi->ip[i] = p->nodes[i].ip;
        mi->port[i] = p->nodes[i].port;
        mi->bus[i] = p->nodes[i].bus;
        memcpy(mi->id[i], p->nodes[i].id, sizeof(mi->id[i]));
    }
    for (int i = 0; i < p->n_nodes; i++)
        if (pol_node_shares_addr(p, i))
            mi->shared |= UINT64_C(1) << i;
}

/* The first of the MATCH_LEARN_WAYS slots a connection may live in. */
static unsigned learn_slot(uint32_t ip, uint16_t port, uint32_t rip, uint16_t rport)
{
    uint64_t h = ((uint64_t)ip << 32 | rip) * UINT64_C(0x9e3779b97f4a7c15);
    h ^= ((uint64_t)port << 16 | rport) * UINT64_C(0xc2b2ae3d27d4eb4f);
    return (unsigned)(h >> 40) & (MATCH_LEARN_MAX - 1);
}

static struct match_learned *learned_at(const struct match_index *mi, uint32_t ip, uint16_t port,
                                        uint32_t rip, uint16_t rport)
{
    unsigned base = learn_slot(ip, port, rip, rport);
    for (unsigned k = 0; k < MATCH_LEARN_WAYS; k++) {
        const struct match_learned *e = &mi->learned[(base + k) & (MATCH_LEARN_MAX - 1)];
        if (e->node >= 0 && e->ip == ip && e->port == port && e->rip == rip && e->rport == rport)
            return (struct match_learned *)e;
    }
    return NULL;
}

/* ip:port is where node i listens (client or bus port). */
static bool listens(const struct match_index *mi, int i, uint32_t ip, uint16_t port)
{
    return mi->ip[i] == ip && mi->port[i] && (port == mi->port[i] || port == mi->bus[i]);
}

uint64_t match_endpoint(const struct match_index *mi, uint32_t ip, uint16_t port, uint32_t rip,
                        uint16_t rport)
{
    uint64_t at = match_nodes_at(mi, ip), portless = 0;
    const struct match_learned *e;
    if (!(at & mi->shared))
        return at;
    for (uint64_t a = at; a; a &= a - 1) {
        int i = __builtin_ctzll(a);
        if (!mi->port[i])
            portless |= UINT64_C(1) << i;
        else if (listens(mi, i, ip, port))
            return UINT64_C(1) << i;
    }
    if ((e = learned_at(mi, ip, port, rip, rport)))
        return UINT64_C(1) << e->node;
    return portless;
}

/* The node at ip whose id a bus header at p (BUS_PREFIX_LEN and more)
 * names as its sender, or -1. */
static int sender_at(const struct match_index *mi, uint32_t ip, const uint8_t *p, size_t len)
{
    if (len < BUS_OFF_SENDER + 40)
        return -1;
    for (int i = 0; i < mi->n; i++)
        if (((mi->shared >> i) & 1) && mi->ip[i] == ip &&
            !memcmp(p + BUS_OFF_SENDER, mi->id[i], 40))
            return i;
    return -1;
}

void match_learn(struct match_index *mi, const struct pkt_info *pi, const uint8_t *payload,
                 size_t len)
{
    struct match_learned *e, *slot = NULL;
    unsigned base;
    int node = -1;
    bool to_bus = false;
    if (pi->proto != POL_PROTO_TCP || !(match_nodes_at(mi, pi->saddr) & mi->shared))
        return;
    /* only a dialer's side is learned: its messages go to a bus port */
    for (int i = 0; i < mi->n; i++) {
        if (listens(mi, i, pi->saddr, pi->sport))
            return;
        to_bus |= mi->ip[i] == pi->daddr && mi->bus[i] && pi->dport == mi->bus[i];
    }
    if (!to_bus)
        return;
    e = learned_at(mi, pi->saddr, pi->sport, pi->daddr, pi->dport);
    if ((pi->tcp_flags & PKT_TCP_SYN) && !(pi->tcp_flags & PKT_TCP_ACK)) {
        if (e) {
            e->node = -1;
            mi->n_forgot++;
        }
        return;
    }
    if (e) /* a connection's dialer is known until its port is dialed anew */
        return;
    /* a message starts where the segment does, or later in it */
    for (size_t off = 0; payload && node < 0 && off + BUS_OFF_SENDER + 40 <= len; off++) {
        const uint8_t *q = memchr(payload + off, BUS_SIG[0], len - off);
        if (!q)
            break;
        off = (size_t)(q - payload);
        if (bus_has_sig(q))
            node = sender_at(mi, pi->saddr, q, len - off);
    }
    if (node < 0)
        return;
    /* a free slot of the connection's, else the one used longest ago */
    base = learn_slot(pi->saddr, pi->sport, pi->daddr, pi->dport);
    for (unsigned k = 0; k < MATCH_LEARN_WAYS; k++) {
        struct match_learned *c = &mi->learned[(base + k) & (MATCH_LEARN_MAX - 1)];
        if (c->node < 0) {
            slot = c;
            break;
        }
        if (!slot || c->last_use < slot->last_use)
            slot = c;
    }
    *slot = (struct match_learned){.ip = pi->saddr,
                                   .port = pi->sport,
                                   .rip = pi->daddr,
                                   .rport = pi->dport,
                                   .node = (int8_t)node,
                                   .last_use = ++mi->tick};
    mi->n_learned++;
}

uint64_t match_nodes_at(const struct match_index *mi, uint32_t ip)
{
    uint64_t m = 0;
    for (int i = 0; i < mi->n; i++)
        if (mi->ip[i] == ip)
            m |= UINT64_C(1) << i;
    return m;
}

static uint16_t class_port(const struct pol_node *n, int cls)
{
    return cls == POL_PORTS_BUS ? n->bus : n->port;
}

/* Who dialed the connection a packet travels on, seen from the packet. */
enum dialer { DIAL_ANY, DIAL_SENDER, DIAL_RECEIVER };

/* The dialer a rule's opened_by asks for, for packets from its `from` side
 * (forward) or from its `to` side (direction = both). */
static enum dialer rule_dialer(const struct pol_rule *r, bool forward)
{
    if (r->opened_by == POL_OPENED_ANY)
        return DIAL_ANY;
    return (r->opened_by == POL_OPENED_FROM) == forward ? DIAL_SENDER : DIAL_RECEIVER;
}

/* Packets from x to y in port class cls: y's listening port as destination
 * (x dialed y), or x's listening port as source (replies on y's dial).
 * Nodes without ports (client hosts) match on addresses alone, and then
 * only when the rule does not ask who dialed. */
static bool pair_ports(const struct pol_node *x, const struct pol_node *y, int cls, uint16_t sport,
                       uint16_t dport, enum dialer d)
{
    uint16_t px = class_port(x, cls), py = class_port(y, cls);
    if (!px && !py)
        return d == DIAL_ANY;
    return (d != DIAL_RECEIVER && py && dport == py) || (d != DIAL_SENDER && px && sport == px);
}

static bool pair_match(const struct policy *p, const struct pol_rule *r, uint64_t xs, uint64_t ys,
                       const struct pkt_info *pi, bool forward)
{
    enum dialer d = rule_dialer(r, forward);
    for (uint64_t a = xs; a; a &= a - 1) {
        int x = __builtin_ctzll(a);
        for (uint64_t b = ys; b; b &= b - 1) {
            int y = __builtin_ctzll(b);
            if (x == y)
                continue;
            for (int cls = POL_PORTS_BUS; cls <= POL_PORTS_CLIENT; cls <<= 1)
                if ((r->ports & cls) &&
                    pair_ports(&p->nodes[x], &p->nodes[y], cls, pi->sport, pi->dport, d))
                    return true;
        }
    }
    return false;
}

bool match_rule(const struct policy *p, const struct pol_rule *r, const struct pkt_info *pi,
                uint64_t src_nodes, uint64_t dst_nodes)
{
    uint64_t xs, ys;
    if (pi->proto != r->proto)
        return false;
    xs = src_nodes & r->from;
    ys = dst_nodes & r->to;
    if (xs && ys && pair_match(p, r, xs, ys, pi, true))
        return true;
    if (!r->both)
        return false;
    xs = src_nodes & r->to;
    ys = dst_nodes & r->from;
    return xs && ys && pair_match(p, r, xs, ys, pi, false);
}

static int add_pat(struct match_pat *out, size_t *n, size_t max, struct match_pat pat)
{
    for (size_t i = 0; i < *n; i++)
        /* member by member: the struct's padding is not initialised */
        if (out[i].src == pat.src && out[i].dst == pat.dst && out[i].sport == pat.sport &&
            out[i].dport == pat.dport && out[i].proto == pat.proto)
            return 0;
    if (*n == max)
        return -1;
    out[(*n)++] = pat;
    return 0;
}

static int dir_patterns(const struct policy *p, const struct pol_rule *r, bool forward,
                        struct match_pat *out, size_t *n, size_t max)
{
    enum dialer d = rule_dialer(r, forward);
    uint64_t from = forward ? r->from : r->to, to = forward ? r->to : r->from;
    for (uint64_t a = from; a; a &= a - 1) {
        const struct pol_node *x = &p->nodes[__builtin_ctzll(a)];
        for (uint64_t b = to; b; b &= b - 1) {
            const struct pol_node *y = &p->nodes[__builtin_ctzll(b)];
            if (x == y)
                continue;
            for (int cls = POL_PORTS_BUS; cls <= POL_PORTS_CLIENT; cls <<= 1) {
                struct match_pat pat;
                uint16_t px, py;
                if (!(r->ports & cls))
                    continue;
                px = class_port(x, cls);
                py = class_port(y, cls);
                memset(&pat, 0, sizeof(pat));
                pat.src = x->ip;
                pat.dst = y->ip;
                pat.proto = (uint8_t)r->proto;
                if (!px && !py && d == DIAL_ANY && add_pat(out, n, max, pat) < 0)
                    return -1;
                if (py && d != DIAL_RECEIVER) {
                    pat.dport = py;
                    if (add_pat(out, n, max, pat) < 0)
                        return -1;
                    pat.dport = 0;
                }
                if (px && d != DIAL_SENDER) {
                    pat.sport = px;
                    if (add_pat(out, n, max, pat) < 0)
                        return -1;
                    /* x's replies go to an ephemeral port of y's, which only
                     * y's own messages to x can name where y shares its
                     * address: those are queued too, to learn from */
                    if (cls == POL_PORTS_BUS && pol_node_shares_addr(p, (int)(y - p->nodes))) {
                        struct match_pat learn = {
                            .src = y->ip, .dst = x->ip, .dport = px, .proto = pat.proto};
                        if (add_pat(out, n, max, learn) < 0)
                            return -1;
                    }
                }
            }
        }
    }
    return 0;
}

int match_patterns(const struct policy *p, const struct pol_rule *r, struct match_pat *out,
                   size_t max)
{
    size_t n = 0;
    if (dir_patterns(p, r, true, out, &n, max) < 0)
        return -1;
    if (r->both && dir_patterns(p, r, false, out, &n, max) < 0)
        return -1;
    return (int)n;
}
