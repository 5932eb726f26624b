/* match: which packets a rule selects. Parses IPv4 headers and decides, by
 * node pair, port class and direction, whether a rule applies; also lists
 * the same selection as address/port patterns for iptables. */
#ifndef RIFT_MATCH_H
#define RIFT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../policies/policy.h"

struct pkt_info {
    uint32_t saddr, daddr; /* host byte order */
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t tcp_flags;
    uint16_t ip_len;       /* IPv4 total length */
    uint16_t l4_off;       /* offset of the TCP/UDP header */
    uint16_t data_off;     /* offset of the transport payload */
    uint32_t tcp_seq;
};

/* 0, or -1 for anything that is not a complete IPv4 TCP/UDP header. */
int pkt_parse(const unsigned char *buf, size_t len, struct pkt_info *pi);
/* "127.0.0.14:41234>127.0.0.12:17000 tcp [PA] seq 1234 len 2300" */
int pkt_summary(const struct pkt_info *pi, char *out, size_t outlen);

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
