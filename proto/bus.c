/* bus: cluster-bus framing and header decoding. */
#include "bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bus_type_names[BUS_N_TYPES] = {
    "PING",
    "PONG",
    "MEET",
    "FAIL",
    "PUBLISH",
    "FAILOVER_AUTH_REQUEST",
    "FAILOVER_AUTH_ACK",
    "UPDATE",
    "MFSTART",
    "MODULE",
    "PUBLISHSHARD",
};

const char *bus_type_name(uint16_t type)
{
    type &= (uint16_t)~BUS_TYPE_LIGHT;
    return type < BUS_N_TYPES ? bus_type_names[type] : "UNKNOWN";
}

int bus_type_by_name(const char *name)
{
    for (size_t i = 0; i < BUS_N_TYPES; i++)
        if (!strcmp(name, bus_type_names[i]))
            return (int)i;
    return -1;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int bus_prefix(const uint8_t *p, uint32_t *totlen, uint16_t *type)
{
    uint32_t n = be32(p + BUS_OFF_TOTLEN);
    if (!bus_has_sig(p) || n < BUS_PREFIX_LEN || n > BUS_MAX_MSG)
        return -1;
    *totlen = n;
    *type = be16(p + BUS_OFF_TYPE) & (uint16_t)~BUS_TYPE_LIGHT;
    return 0;
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A node id: 40 printable characters, or "" for all zeros (none). */
static void node_id(const uint8_t *p, char out[41])
{
    bool zero = true;
    for (int i = 0; i < 40; i++) {
        char c = (char)p[i];
        zero &= c == 0;
        out[i] = '?';
        if (c >= 0x21 && c <= 0x7e)
            out[i] = c;
    }
    out[40] = '\0';
    if (zero)
        out[0] = '\0';
}

int bus_decode(const uint8_t *b, size_t len, struct bus_msg *m)
{
    memset(m, 0, sizeof(*m));
    if (len < BUS_LIGHT_HDR_LEN || !bus_has_sig(b))
        return -1;
    m->totlen = be32(b + 4);
    if (m->totlen != len)
        return -1;
    m->ver = be16(b + BUS_OFF_VER);
    m->port = be16(b + 10);
    m->type = be16(b + BUS_OFF_TYPE);
    m->count = be16(b + 14);
    if (m->type & BUS_TYPE_LIGHT) {
        m->light = true;
        return 0;
    }
    if (len < BUS_HDR_LEN)
        return -1;
    m->current_epoch = be64(b + 16);
    m->config_epoch = be64(b + 24);
    m->offset = be64(b + 32);
    node_id(b + BUS_OFF_SENDER, m->sender);
    node_id(b + 2128, m->replicaof);
    memcpy(m->ip, b + 2168, 46);
    m->ip[46] = '\0';
    for (int i = 0; m->ip[i]; i++)
        if ((unsigned char)m->ip[i] < 0x20 || (unsigned char)m->ip[i] > 0x7e)
            m->ip[i] = '?';
    m->pport = be16(b + 2246);
    m->cport = be16(b + 2248);
    m->flags = be16(b + 2250);
    m->state = b[2252];
    /* slot j is byte j/8, bit j&7 */
    int run = -1;
    for (int j = 0; j <= 16384; j++) {
        bool set = j < 16384 && (b[80 + j / 8] >> (j & 7)) & 1;
        if (set) {
            m->n_slots++;
            if (run < 0)
                run = j;
        } else if (run >= 0) {
            if (m->n_ranges < BUS_MAX_RANGES) {
                m->ranges[m->n_ranges][0] = (uint16_t)run;
                m->ranges[m->n_ranges][1] = (uint16_t)(j - 1);
            }
            m->n_ranges++;
            run = -1;
        }
    }
    return 0;
}

void bus_flags_text(uint16_t flags, char *out, size_t len)
{
    static const struct {
        uint16_t bit;
        const char *name;
    } names[] = {{1, "primary"},      {2, "replica"},     {4, "pfail"},   {8, "fail"},
                 {16, "myself"},      {32, "handshake"},  {64, "noaddr"}, {128, "meet"},
                 {256, "migrate-to"}, {512, "nofailover"}};
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && off < len; i++)
        if (flags & names[i].bit)
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "," : "", names[i].name);
    if (!off)
        snprintf(out, len, "-");
}

/* ---- framing ---- */

void bus_stream_init(struct bus_stream *s)
{
    memset(s, 0, sizeof(*s));
}

void bus_stream_free(struct bus_stream *s)
{
    for (int i = 0; i < s->n_ooo; i++)
        free(s->ooo[i].data);
    free(s->buf);
    bus_stream_init(s);
}

static int append(struct bus_stream *s, const uint8_t *d, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *nb = realloc(s->buf, cap);
        if (!nb)
            return -1;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, d, n);
    s->len += n;
    return 0;
}

/* Moves what is left to the front once it is no longer than what was
 * framed before it: every byte moved stands for at least one byte framed. */
static void compact(struct bus_stream *s)
{
    size_t left = s->len - s->off;
    if (!s->off || left > s->off)
        return;
    memmove(s->buf, s->buf + s->off, left);
    s->moved += left;
    s->len = left;
    s->off = 0;
}

/* Where the next signature starts in p[1..n), or n - 3 (a signature
 * may begin in the last three bytes) when there is none. */
static size_t next_sig(struct bus_stream *s, const uint8_t *p, size_t n)
{
    size_t i = 1;
    while (i + BUS_SIG_LEN <= n) {
        const uint8_t *r = memchr(p + i, 'R', n - BUS_SIG_LEN + 1 - i);
        if (!r)
            break;
        i = (size_t)(r - p);
        if (bus_has_sig(r)) {
            s->scanned += i;
            return i;
        }
        i++;
    }
    s->scanned += n;
    return n - 3;
}

/* Emit every whole message at buf[off]. A stream picked up in the middle,
 * or a length that cannot be right, is resynchronised on the next "RCmb"
 * signature. */
static void frame(struct bus_stream *s, bus_msg_cb cb, void *ctx)
{
    while (s->len - s->off >= 8) {
        const uint8_t *p = s->buf + s->off;
        size_t have = s->len - s->off;
        uint32_t totlen;
        if (!bus_has_sig(p)) {
            size_t i = next_sig(s, p, have);
            s->dropped_bytes += i;
            s->resyncs++;
            s->off += i;
            continue;
        }
        totlen = be32(p + BUS_OFF_TOTLEN);
        if (totlen < BUS_LIGHT_HDR_LEN || totlen > BUS_MAX_MSG) {
            s->dropped_bytes++;
            s->resyncs++;
            s->off++;
            continue;
        }
        if (have < totlen)
            break;
        s->messages++;
        s->off += totlen;
        cb(ctx, p, totlen);
    }
    compact(s);
}

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

/* Take in-order bytes: the part of [seq, seq+len) at or after next_seq. */
static void take(struct bus_stream *s, uint32_t seq, const uint8_t *d, size_t len)
{
    int32_t skip = seq_diff(s->next_seq, seq);
    if (skip < 0 || (size_t)skip >= len)
        return;
    if (append(s, d + skip, len - (size_t)skip) == 0)
        s->next_seq = seq + (uint32_t)len;
}

/* Stored segments that now fit (or are wholly old). */
static void drain(struct bus_stream *s)
{
    for (int i = 0; i < s->n_ooo;) {
        if (seq_diff(s->ooo[i].seq, s->next_seq) > 0) {
            i++;
            continue;
        }
        take(s, s->ooo[i].seq, s->ooo[i].data, s->ooo[i].len);
        free(s->ooo[i].data);
        s->ooo[i] = s->ooo[--s->n_ooo];
        i = 0; /* what was taken may let others in */
    }
}

/* The gap will not fill (the capture lost it): drop what is buffered and
 * go on from the earliest stored segment; framing resynchronises. */
static void give_up(struct bus_stream *s)
{
    int first = 0;
    for (int i = 1; i < s->n_ooo; i++)
        if (seq_diff(s->ooo[i].seq, s->ooo[first].seq) < 0)
            first = i;
    s->dropped_bytes += s->len - s->off;
    s->len = s->off = 0;
    s->resyncs++;
    s->next_seq = s->ooo[first].seq;
}

void bus_stream_segment(struct bus_stream *s, uint32_t seq, const uint8_t *data, size_t len,
                        bus_msg_cb cb, void *ctx)
{
    if (!len)
        return;
    if (!s->synced) {
        s->synced = true;
        s->next_seq = seq;
    }
    if (seq_diff(seq, s->next_seq) > 0) {
        if (s->n_ooo == BUS_OOO_MAX)
            give_up(s);
        drain(s);
    }
    if (seq_diff(seq, s->next_seq) > 0) {
        uint8_t *copy = s->n_ooo < BUS_OOO_MAX ? malloc(len) : NULL;
        if (!copy) {
            s->dropped_bytes += len;
            return;
        }
        memcpy(copy, data, len);
        s->ooo[s->n_ooo].seq = seq;
        s->ooo[s->n_ooo].data = copy;
        s->ooo[s->n_ooo].len = len;
        s->n_ooo++;
        return;
    }
    take(s, seq, data, len);
    drain(s);
    frame(s, cb, ctx);
}
