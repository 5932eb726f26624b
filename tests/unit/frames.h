/* frames: TCP segments framed as libpcap link types, built for the audit's
 * unit test and fuzzer. */
#ifndef RIFT_TEST_FRAMES_H
#define RIFT_TEST_FRAMES_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* One TCP segment between 127.0.0.200:port and 127.0.0.11:7000 (or
 * ::200 and ::11 with v6), framed for link type lt. */
struct seg {
    int lt;
    bool v6, to_server;
    uint16_t port;
    uint32_t seq;
    uint8_t flags;
    const char *data;
    size_t len;
};

static inline size_t build(const struct seg *s, uint8_t *f)
{
    size_t o = 0, ip;
    uint16_t l4 = (uint16_t)(20 + s->len);
    uint16_t sport = s->to_server ? s->port : 7000, dport = s->to_server ? 7000 : s->port;
    switch (s->lt) {
    case DLT_EN10MB: /* with a VLAN tag */
        memset(f, 0, 12);
        f[12] = 0x81, f[13] = 0x00, f[14] = 0, f[15] = 5;
        f[16] = s->v6 ? 0x86 : 0x08, f[17] = s->v6 ? 0xdd : 0x00;
        o = 18;
        break;
    case DLT_LINUX_SLL:
        memset(f, 0, 14);
        f[14] = s->v6 ? 0x86 : 0x08, f[15] = s->v6 ? 0xdd : 0x00;
        o = 16;
        break;
    case DLT_LINUX_SLL2:
        memset(f, 0, 20);
        f[0] = s->v6 ? 0x86 : 0x08, f[1] = s->v6 ? 0xdd : 0x00;
        o = 20;
        break;
    case DLT_NULL:
        f[0] = s->v6 ? 30 : 2, f[1] = f[2] = f[3] = 0;
        o = 4;
        break;
    default:
        break;
    }
    ip = o;
    uint8_t cli = 200, srv = 11;
    if (!s->v6) {
        memset(f + o, 0, 20);
        f[o] = 0x45;
        f[o + 2] = (uint8_t)((20 + l4) >> 8), f[o + 3] = (uint8_t)(20 + l4);
        f[o + 8] = 64, f[o + 9] = 6;
        uint8_t a[4] = {127, 0, 0, s->to_server ? cli : srv},
                b[4] = {127, 0, 0, s->to_server ? srv : cli};
        memcpy(f + o + 12, a, 4);
        memcpy(f + o + 16, b, 4);
        o += 20;
    } else {
        memset(f + o, 0, 40);
        f[o] = 0x60;
        f[o + 4] = (uint8_t)(l4 >> 8), f[o + 5] = (uint8_t)l4;
        f[o + 6] = 6, f[o + 7] = 64;
        f[o + 23] = s->to_server ? cli : srv;
        f[o + 39] = s->to_server ? srv : cli;
        o += 40;
    }
    (void)ip;
    memset(f + o, 0, 20);
    f[o] = (uint8_t)(sport >> 8), f[o + 1] = (uint8_t)sport;
    f[o + 2] = (uint8_t)(dport >> 8), f[o + 3] = (uint8_t)dport;
    f[o + 4] = (uint8_t)(s->seq >> 24), f[o + 5] = (uint8_t)(s->seq >> 16);
    f[o + 6] = (uint8_t)(s->seq >> 8), f[o + 7] = (uint8_t)s->seq;
    f[o + 12] = 0x50;
    f[o + 13] = s->flags;
    o += 20;
    memcpy(f + o, s->data, s->len);
    return o + s->len;
}

#endif
