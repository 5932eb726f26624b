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

/* An endpoint (address, ephemeral port) of one connection (the other end
 * rip:rport: Linux gives one ephemeral port to connections to different
 * peers) learned to be node `node`'s: the sender id of the bus messages
 * it sent. */
#define MATCH_LEARN_MAX 1024 /* a power of two */
#define MATCH_LEARN_WAYS 8   /* a connection lives in one of 8 slots from its hash */
struct match_learned {
    uint32_t ip, rip; /* the endpoint, and the other end of its connection */
    uint16_t port, rport;
    int8_t node; /* -1: free */
    uint64_t last_use;
};

/* Node masks for a policy: which nodes own an address, and, where nodes
 * with ports share an address (a local cluster on 127.0.0.1), which node
 * each endpoint is: its listening port, or the sender id the bus messages
 * from that endpoint carry. */
struct match_index {
    uint32_t ip[POL_MAX_NODES];
    uint16_t port[POL_MAX_NODES], bus[POL_MAX_NODES];
    char id[POL_MAX_NODES][41];
    int n;
    uint64_t shared; /* nodes with ports whose address another such node has */
    struct match_learned learned[MATCH_LEARN_MAX];
    uint64_t tick;
    uint64_t n_learned, n_forgot; /* counters: endpoints learned, forgotten */
};

void match_index_build(const struct policy *p, struct match_index *mi);
uint64_t match_nodes_at(const struct match_index *mi, uint32_t ip);
/* The nodes endpoint ip:port may be. At an address only one node with
 * ports has, every node there (as match_nodes_at). At a shared address:
 * the node listening on port, else the node learned for the endpoint
 * on its connection to rip:rport,
 * else only the nodes without ports there (clients): an endpoint that is
 * not known is no node's. */
uint64_t match_endpoint(const struct match_index *mi, uint32_t ip, uint16_t port, uint32_t rip,
                        uint16_t rport);
/* Learn from a TCP segment whose source is at a shared address: a SYN
 * forgets its source endpoint (a new connection), a bus message header
 * whose sender id is a node's at that address teaches it. payload may be
 * NULL (not copied). */
void match_learn(struct match_index *mi, const struct pkt_info *pi, const uint8_t *payload,
                 size_t len);

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
