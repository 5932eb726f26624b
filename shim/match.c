/* match: packet selection by node pair, port class and direction. */
#include "match.h"

#include <stdio.h>
#include <string.h>

void match_index_build(const struct policy *p, struct match_index *mi)
{
    mi->n = p->n_nodes;
    for (int i = 0; i < p->n_nodes; i++)
        mi->ip[i] = p->nodes[i].ip;
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
