/* decode: pcap -> TCP flows -> bus_stream -> bus_decode -> timeline. */
#include "../../policies/esc.h"
#include "decode.h"

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/bus.h"
#include "../../proto/pkt.h"

#define MAX_FLOWS 4096

struct flow {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    struct bus_stream st;
};

struct ctx {
    struct flow *flows;
    int n;
    FILE *out;
    bool json;
    double t0, now;
    const struct flow *cur;
    long messages;
};

static void on_msg(void *arg, const uint8_t *buf, size_t len)
{
    struct ctx *c = arg;
    struct bus_msg m;
    char from[32], to[32], flags[96], slots[160] = "";
    size_t off = 0;
    if (bus_decode(buf, len, &m) < 0)
        return;
    c->messages++;
    pkt_addr(c->cur->saddr, from, sizeof(from));
    pkt_addr(c->cur->daddr, to, sizeof(to));
    for (int i = 0; i < m.n_ranges && i < BUS_MAX_RANGES && off < sizeof(slots) - 16; i++)
        off += (size_t)snprintf(slots + off, sizeof(slots) - off, "%s%u-%u", i ? "," : "",
                                m.ranges[i][0], m.ranges[i][1]);
    if (m.n_ranges > BUS_MAX_RANGES)
        snprintf(slots + off, sizeof(slots) - off, ",...");
    bus_flags_text(m.flags, flags, sizeof(flags));
    if (c->json) {
        fprintf(c->out,
                "{\"t\":%.6f,\"from\":\"%s:%u\",\"to\":\"%s:%u\",\"type\":\"%s\",\"len\":%u",
                c->now - c->t0, from, c->cur->sport, to, c->cur->dport, bus_type_name(m.type),
                m.totlen);
        if (!m.light) {
            /* node ids and the ip string are bytes from the wire */
            char addr[80];
            snprintf(addr, sizeof(addr), "%s:%u", m.ip[0] ? m.ip : "-", m.port);
            fputs(",\"sender\":", c->out);
            esc_json(c->out, m.sender);
            fputs(",\"sender_addr\":", c->out);
            esc_json(c->out, addr);
            fprintf(c->out, ",\"flags\":\"%s\",\"replicaof\":", flags);
            esc_json(c->out, m.replicaof);
            fprintf(c->out,
                    ",\"current_epoch\":%llu,\"config_epoch\":%llu,"
                    "\"offset\":%llu,\"slots\":\"%s\",\"n_slots\":%d,\"gossip\":%u",
                    (unsigned long long)m.current_epoch, (unsigned long long)m.config_epoch,
                    (unsigned long long)m.offset, slots, m.n_slots, m.count);
        }
        fputs("}\n", c->out);
        return;
    }
    fprintf(c->out, "%10.6f %s:%u > %s:%u %-21s", c->now - c->t0, from, c->cur->sport, to,
            c->cur->dport, bus_type_name(m.type));
    if (m.light) {
        fprintf(c->out, " (light header) len %u\n", m.totlen);
        return;
    }
    /* one line per message whatever the wire held */
    char sender[48], ip[200], replicaof[48];
    snprintf(sender, sizeof(sender), "%.8s", m.sender);
    snprintf(replicaof, sizeof(replicaof), "%.8s", m.replicaof[0] ? m.replicaof : "-");
    esc_text(ip, sizeof(ip), m.ip[0] ? m.ip : "-");
    {
        char tmp[48];
        esc_text(tmp, sizeof(tmp), sender);
        snprintf(sender, sizeof(sender), "%s", tmp);
        esc_text(tmp, sizeof(tmp), replicaof);
        snprintf(replicaof, sizeof(replicaof), "%s", tmp);
    }
    fprintf(c->out, " sender %s %s:%u %s replicaof %s epoch %llu/%llu slots %s gossip %u\n", sender,
            ip, m.port, flags, replicaof, (unsigned long long)m.current_epoch,
            (unsigned long long)m.config_epoch, slots[0] ? slots : "-", m.count);
}

static struct flow *flow_of(struct ctx *c, const struct pkt_info *pi)
{
    for (int i = 0; i < c->n; i++) {
        struct flow *f = &c->flows[i];
        if (f->saddr == pi->saddr && f->daddr == pi->daddr && f->sport == pi->sport &&
            f->dport == pi->dport)
            return f;
    }
    if (c->n == MAX_FLOWS)
        return NULL;
    struct flow *f = &c->flows[c->n++];
    f->saddr = pi->saddr;
    f->daddr = pi->daddr;
    f->sport = pi->sport;
    f->dport = pi->dport;
    bus_stream_init(&f->st);
    return f;
}

long decode_pcap(const char *path, bool json, double t0_real_s, FILE *out, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, perr);
    struct pcap_pkthdr *h;
    const u_char *data;
    struct ctx c = {.out = out, .json = json, .t0 = t0_real_s};
    int link, off, rc;
    if (!p) {
        snprintf(err, errlen, "%s: %s", path, perr);
        return -1;
    }
    link = pcap_datalink(p);
    switch (link) {
    case DLT_RAW:
        off = 0;
        break;
    case DLT_EN10MB:
        off = 14;
        break;
    case DLT_LINUX_SLL:
        off = 16;
        break;
    case DLT_NULL:
        off = 4;
        break;
    default:
        snprintf(err, errlen,
                 "%s: link type %d is not supported (raw IP, Ethernet, "
                 "Linux cooked, BSD loopback)",
                 path, link);
        pcap_close(p);
        return -1;
    }
    c.flows = calloc(MAX_FLOWS, sizeof(struct flow));
    if (!c.flows) {
        pcap_close(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        struct pkt_info pi;
        struct flow *f;
        double t = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
        if (c.t0 == 0)
            c.t0 = t;
        c.now = t;
        if ((int)h->caplen <= off || pkt_parse(data + off, h->caplen - (size_t)off, &pi) < 0 ||
            pi.proto != 6 || pi.ip_len > h->caplen - (size_t)off || pi.data_off >= pi.ip_len)
            continue;
        if (!(f = flow_of(&c, &pi)))
            continue;
        c.cur = f;
        bus_stream_segment(&f->st, pi.tcp_seq, data + off + pi.data_off,
                           (size_t)(pi.ip_len - pi.data_off), on_msg, &c);
    }
    for (int i = 0; i < c.n; i++)
        bus_stream_free(&c.flows[i].st);
    free(c.flows);
    pcap_close(p);
    return c.messages;
}
