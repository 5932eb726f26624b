/* msgflow: where cluster-bus messages start in each TCP flow the shim
 * sees, so that a rule can act on the segments that carry chosen message
 * types, and drop single messages by rewriting their version field (the
 * receiver ignores a message of another version; TCP stays intact). */
#ifndef RIFT_MSGFLOW_H
#define RIFT_MSGFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match.h"

#define MSGFLOW_MAX 512
#define MSGFLOW_DROPPED 32
#define MSGFLOW_MAX_IN_SEG 64

struct msgflow {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    bool used, synced;
    uint32_t next_msg; /* sequence number where the next message starts */
    uint32_t span_end; /* end of the last message whose header we read */
    uint16_t span_type;
    uint8_t hdr[16]; /* a header split across segments (BUS_PREFIX_LEN) */
    uint32_t hdr_len;
    uint32_t dropped[MSGFLOW_DROPPED]; /* starts of rewritten messages (retransmissions) */
    int n_dropped, next_dropped;
    uint64_t last_use;
};

struct msgflow_table {
    struct msgflow f[MSGFLOW_MAX];
    uint64_t tick;
    uint64_t split_headers; /* headers split across segments: not droppable */
};

/* One message whose header lies in the segment. */
struct msgflow_hdr {
    uint16_t type;
    uint32_t offset; /* of the message start within the TCP payload */
};

struct msgflow_scan {
    uint32_t carried; /* bit per type carried (wholly or in part) */
    struct msgflow_hdr hdrs[MSGFLOW_MAX_IN_SEG];
    int n_hdrs;
    int n_retransmitted_drops; /* rewrites re-applied to a retransmission */
};

void msgflow_init(struct msgflow_table *t);
/* Look at one segment's payload (data, len, at TCP sequence seq). Message
 * boundaries are tracked in arrival order; a retransmitted segment gets
 * the rewrites its messages got the first time (payload is changed in
 * place, and *changed set). */
void msgflow_scan(struct msgflow_table *t, const struct pkt_info *pi, uint8_t *payload, size_t len,
                  struct msgflow_scan *out, bool *changed);
/* Make the message at offset of this segment invalid for its receiver and
 * remember it. Returns 0, or -1 if its version field is not in this
 * segment. */
int msgflow_drop(struct msgflow_table *t, const struct pkt_info *pi, uint8_t *payload, size_t len,
                 uint32_t offset);

#endif
