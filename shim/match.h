/* match: which packets a rule selects: by node pair, port class and
 * direction, whether a rule applies to a parsed packet (proto/pkt.h); also
 * lists the same selection as address/port patterns for iptables. */
#ifndef RIFT_MATCH_H
#define RIFT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../policies/policy.h"
#include "../proto/pkt.h"

/* Node masks for a policy: which nodes own an address. */
struct match_index {
    uint32_t ip[POL_MAX_NODES];
    int n;
};

void match_index_build(const struct policy *p, struct match_index *mi);
uint64_t match_nodes_at(const struct match_index *mi, uint32_t ip);

/* Does rule r select packet pi, given src/dst node masks? */
bool match_rule(const struct policy *p, const struct pol_rule *r, const struct pkt_info *pi,
                uint64_t src_nodes, uint64_t dst_nodes);

struct match_pat {
    uint32_t src, dst;
    uint16_t sport, dport; /* 0: any */
    uint8_t proto;
};

/* Patterns that together select exactly the packets rule r can match (at the
 * address and port level); duplicates removed. Returns the count, or -1 if
 * more than max would be needed. */
int match_patterns(const struct policy *p, const struct pol_rule *r, struct match_pat *out,
                   size_t max);

#endif
