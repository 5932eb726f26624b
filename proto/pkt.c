/* pkt: IPv4/TCP/UDP headers, summaries, checksums, addresses. */
#include "pkt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

char *pkt_addr(uint32_t ip, char *out, size_t len)
{
    snprintf(out, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return out;
}

int pkt_parse(const unsigned char *b, size_t len, struct pkt_info *pi)
{
    size_t ihl;
    memset(pi, 0, sizeof(*pi));
    if (len < 20 || (b[0] >> 4) != 4)
        return -1;
    ihl = (size_t)(b[0] & 0xf) * 4;
    if (ihl < 20 || len < ihl)
        return -1;
    pi->ip_len = (uint16_t)(b[2] << 8 | b[3]);
    pi->proto = b[9];
    memcpy(&pi->saddr, b + 12, 4);
    memcpy(&pi->daddr, b + 16, 4);
    pi->saddr = ntohl(pi->saddr);
    pi->daddr = ntohl(pi->daddr);
    pi->l4_off = (uint16_t)ihl;
    /* A fragment other than the first has no ports. */
    if ((b[6] & 0x1f) || b[7])
        return -1;
    if (pi->proto == PKT_PROTO_TCP) {
        size_t doff;
        if (len < ihl + 20)
            return -1;
        pi->sport = (uint16_t)(b[ihl] << 8 | b[ihl + 1]);
        pi->dport = (uint16_t)(b[ihl + 2] << 8 | b[ihl + 3]);
        pi->tcp_seq = (uint32_t)b[ihl + 4] << 24 | (uint32_t)b[ihl + 5] << 16 |
                      (uint32_t)b[ihl + 6] << 8 | b[ihl + 7];
        doff = (size_t)(b[ihl + 12] >> 4) * 4;
        pi->tcp_flags = b[ihl + 13];
        if (doff < 20 || ihl + doff > len)
            return -1;
        pi->data_off = (uint16_t)(ihl + doff);
    } else if (pi->proto == PKT_PROTO_UDP) {
        if (len < ihl + 8)
            return -1;
        pi->sport = (uint16_t)(b[ihl] << 8 | b[ihl + 1]);
        pi->dport = (uint16_t)(b[ihl + 2] << 8 | b[ihl + 3]);
        pi->data_off = (uint16_t)(ihl + 8);
    } else {
        return -1;
    }
    if (pi->data_off > pi->ip_len)
        return -1;
    return 0;
}

int pkt_summary(const struct pkt_info *pi, char *out, size_t outlen)
{
    char flags[8] = "", *f = flags, src[PKT_ADDR_MAX], dst[PKT_ADDR_MAX];
    unsigned payload = (unsigned)(pi->ip_len - pi->data_off);
    pkt_addr(pi->saddr, src, sizeof(src));
    pkt_addr(pi->daddr, dst, sizeof(dst));
    if (pi->proto == PKT_PROTO_TCP) {
        static const char names[] = "FSRPAU";
        for (int i = 0; i < 6; i++)
            if (pi->tcp_flags & (1 << i))
                *f++ = names[i];
        *f = '\0';
        return snprintf(out, outlen, "%s:%u>%s:%u tcp [%s] seq %u len %u", src, pi->sport, dst,
                        pi->dport, flags, pi->tcp_seq, payload);
    }
    return snprintf(out, outlen, "%s:%u>%s:%u udp len %u", src, pi->sport, dst, pi->dport, payload);
}

void pkt_tcp_checksum(uint8_t *pkt, size_t len)
{
    size_t ihl = (size_t)(pkt[0] & 0xf) * 4;
    size_t tcp_len = len - ihl;
    uint32_t sum = 0;
    uint8_t *tcp = pkt + ihl;
    tcp[16] = tcp[17] = 0;
    for (int i = 12; i < 20; i += 2) /* source and destination addresses */
        sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
    sum += 6;
    sum += (uint32_t)tcp_len;
    for (size_t i = 0; i + 1 < tcp_len; i += 2)
        sum += (uint32_t)(tcp[i] << 8 | tcp[i + 1]);
    if (tcp_len & 1)
        sum += (uint32_t)(tcp[tcp_len - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    tcp[16] = (uint8_t)(c >> 8);
    tcp[17] = (uint8_t)(c & 0xff);
}
