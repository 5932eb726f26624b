/* pkt: IPv4 with TCP or UDP as it crosses the wire: header parsing, one-line
 * summaries, the TCP checksum and the one dotted-quad formatter. Addresses
 * are in host byte order everywhere in rift. */
#ifndef RIFT_PKT_H
#define RIFT_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_PROTO_TCP 6
#define PKT_PROTO_UDP 17
/* tcp_flags bits, as on the wire */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_ACK 0x10

struct pkt_info {
    uint32_t saddr, daddr; /* host byte order */
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t tcp_flags;
    uint16_t ip_len;   /* IPv4 total length */
    uint16_t l4_off;   /* offset of the TCP/UDP header */
    uint16_t data_off; /* offset of the transport payload */
    uint32_t tcp_seq;
};

/* 0, or -1 for anything that is not a complete IPv4 TCP/UDP header. */
int pkt_parse(const unsigned char *buf, size_t len, struct pkt_info *pi);
/* "127.0.0.14:41234>127.0.0.12:17000 tcp [PA] seq 1234 len 2300" */
int pkt_summary(const struct pkt_info *pi, char *out, size_t outlen);
/* Recompute the TCP checksum of an IPv4 packet of len bytes in place. */
void pkt_tcp_checksum(uint8_t *pkt, size_t len);

/* "a.b.c.d" of a host-order address; returns out. */
#define PKT_ADDR_MAX 16
char *pkt_addr(uint32_t ip, char *out, size_t len);

#endif
