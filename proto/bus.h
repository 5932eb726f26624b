/* bus: the Redis 7.0 / Valkey 8 cluster bus. Frames messages out of a TCP
 * byte stream (reassembling segments that arrive split, merged,
 * retransmitted, out of order, or from the middle of a connection) and
 * decodes their header. Nothing here trusts the bytes it is given. */
#ifndef RIFT_BUS_H
#define RIFT_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every message starts with the same 16 bytes: signature, total length,
 * version, port, type, gossip count (big-endian). */
#define BUS_SIG "RCmb"
#define BUS_SIG_LEN 4
#define BUS_OFF_TOTLEN 4
#define BUS_OFF_VER 8
#define BUS_OFF_TYPE 12
#define BUS_OFF_SENDER 40 /* the sender's node id, 40 hex digits */
#define BUS_PREFIX_LEN 16
#define BUS_HDR_LEN 2256     /* full header, data follows */
#define BUS_LIGHT_HDR_LEN 16 /* Valkey's light header (PUBLISH, MODULE) */
#define BUS_MAX_MSG (64u << 20)
#define BUS_TYPE_LIGHT 0x8000
#define BUS_MAX_RANGES 16

enum bus_type {
    BUS_PING,
    BUS_PONG,
    BUS_MEET,
    BUS_FAIL,
    BUS_PUBLISH,
    BUS_FAILOVER_AUTH_REQUEST,
    BUS_FAILOVER_AUTH_ACK,
    BUS_UPDATE,
    BUS_MFSTART,
    BUS_MODULE,
    BUS_PUBLISHSHARD,
};

struct bus_msg {
    uint32_t totlen;
    uint16_t ver, port, type, count;
    bool light;
    uint64_t current_epoch, config_epoch, offset;
    char sender[41], replicaof[41]; /* "" when absent or none */
    char ip[47];
    uint16_t pport, cport, flags;
    uint8_t state;
    int n_slots; /* slots claimed in the bitmap */
    uint16_t ranges[BUS_MAX_RANGES][2];
    int n_ranges; /* may exceed BUS_MAX_RANGES */
};

/* The first BUS_PREFIX_LEN bytes of a message: 0 with its length and
 * type (light flag cleared) when the signature and length are sane, else -1. */
int bus_prefix(const uint8_t *p, uint32_t *totlen, uint16_t *type);
static inline bool bus_has_sig(const uint8_t *p)
{
    return p[0] == 'R' && p[1] == 'C' && p[2] == 'm' && p[3] == 'b';
}

const char *bus_type_name(uint16_t type);
/* The names of every type, in order, for messages ("PING, PONG, ..."). */
extern const char *const bus_type_names[];
#define BUS_N_TYPES 11
/* Type by name (PING, PONG, ...), or -1. */
int bus_type_by_name(const char *name);

/* Decode one whole message (len == its totlen). 0, or -1 if it is not a
 * valid cluster-bus message. */
int bus_decode(const uint8_t *buf, size_t len, struct bus_msg *m);
/* "primary", "replica", plus ",pfail" / ",fail" ... into out. */
void bus_flags_text(uint16_t flags, char *out, size_t len);

typedef void (*bus_msg_cb)(void *ctx, const uint8_t *msg, size_t len);

/* One direction of one TCP connection. */
#define BUS_OOO_MAX 64
struct bus_stream {
    bool synced; /* next_seq is known */
    uint32_t next_seq;
    uint8_t *buf;
    size_t off, len, cap; /* buf[off..len) is not framed yet */
    struct {
        uint32_t seq;
        uint8_t *data;
        size_t len;
    } ooo[BUS_OOO_MAX];
    int n_ooo;
    uint64_t messages, resyncs, dropped_bytes;
    /* the framer's work: bytes it looked at while resynchronising, and
     * bytes it moved to the front of buf (each stays below the stream's
     * length, whatever the bytes) */
    uint64_t scanned, moved;
};

void bus_stream_init(struct bus_stream *s);
void bus_stream_free(struct bus_stream *s);
/* Feed one TCP segment's payload; cb gets every complete message. */
void bus_stream_segment(struct bus_stream *s, uint32_t seq, const uint8_t *data, size_t len,
                        bus_msg_cb cb, void *ctx);

#endif
