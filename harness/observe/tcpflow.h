/* tcpflow: TCP connections rebuilt from captured packets, for reading
 * what crossed them: frames of the link types libpcap gives (Ethernet
 * with VLAN tags, Linux cooked v1 and v2, raw IP, BSD loopback), IPv4 and
 * IPv6; each direction's bytes delivered once and in order, whatever the
 * retransmissions, overlaps and reordering. A direction whose bytes went
 * missing from the capture ends there (a stream protocol cannot resume
 * after a hole). */
#ifndef RIFT_TCPFLOW_H
#define RIFT_TCPFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TF_MAX_CONNS 65536
#define TF_MAX_PENDING (8u << 20)  /* out-of-order bytes held per direction */
#define TF_MAX_PENDING_SEGS 65536u /* and segments */

struct tf_addr {
    bool v6;
    uint8_t ip[16]; /* IPv4: the first 4 bytes, network order */
    uint16_t port;
};

struct tf_pkt {
    struct tf_addr src, dst;
    uint32_t seq;
    uint8_t flags; /* TCP flags */
    const uint8_t *data;
    size_t len;      /* payload bytes captured */
    size_t wire_len; /* payload bytes on the wire */
    bool truncated;  /* the capture cut the payload short */
};

#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_ACK 0x10

/* Decodes one captured frame: 1 a TCP segment (p filled), 0 anything else
 * (not IP, not TCP, an IP fragment), -1 a malformed header. */
int tf_decode(int linktype, const uint8_t *frame, size_t caplen, struct tf_pkt *p);
/* Whether libpcap's link type is one tf_decode reads. */
bool tf_linktype_ok(int linktype);
/* "127.0.0.1:6379" or "[::1]:6379". */
void tf_addr_str(const struct tf_addr *a, char *out, size_t len);

struct tf_seg;
struct tf_half {
    bool started, fin, broken;
    uint32_t isn;            /* of its SYN */
    uint32_t fin_seq;        /* where its FIN came */
    uint32_t next;           /* sequence number of the next byte to deliver */
    struct tf_seg **pending; /* held segments, a heap: the earliest first */
    size_t n_pending, pending_cap, pending_bytes;
    uint64_t bytes;
};

enum { TF_C2S, TF_S2C };

struct tf_conn {
    struct tf_addr cli, srv;
    bool handshake; /* its SYN was captured: both streams start at their first byte */
    struct tf_half half[2];
    void *user;
    struct tf_conn *next;
};

struct tf_stats {
    uint64_t frames, segments, other, malformed, truncated;
    uint64_t conns, midstream, ignored, gaps, overflow;
    /* directions ended (counted in gaps too) because more was held past a
     * hole than TF_MAX_PENDING bytes or TF_MAX_PENDING_SEGS segments */
    uint64_t held_over;
    uint64_t order_steps; /* sequence comparisons made keeping held segments in order */
};

struct tf_ops {
    /* A connection seen without its SYN: which side is the server
     * (TF_C2S: p->dst; TF_S2C: p->src), or -1 to leave it alone. */
    int (*orient)(void *ctx, const struct tf_pkt *p);
    /* Whether a direction of a connection joined mid-stream may start at
     * this segment (at a message boundary). */
    bool (*can_start)(void *ctx, struct tf_conn *c, int dir, const uint8_t *data, size_t len);
    void (*open)(void *ctx, struct tf_conn *c);
    void (*data)(void *ctx, struct tf_conn *c, int dir, const uint8_t *data, size_t len);
    /* The direction ended with a hole in the capture. */
    void (*gap)(void *ctx, struct tf_conn *c, int dir);
    void (*close)(void *ctx, struct tf_conn *c);
};

struct tf_table {
    struct tf_ops ops;
    void *ctx;
    struct tf_conn **bucket;
    size_t nbuckets, n;
    struct tf_stats st;
};

int tf_init(struct tf_table *t, const struct tf_ops *ops, void *ctx);
void tf_packet(struct tf_table *t, const struct tf_pkt *p);
/* Closes every connection still open (the end of a capture). */
void tf_finish(struct tf_table *t);

#endif
