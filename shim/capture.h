/* capture: a pcap (raw IPv4) of every packet the shim intercepts and, beside
 * it, an event log of JSON lines: time, rule, packet summary, decision. */
#ifndef RIFT_CAPTURE_H
#define RIFT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct capture {
    void *pcap;   /* pcap_t */
    void *dumper; /* pcap_dumper_t */
    FILE *events;
    char events_path[600];
    uint64_t packets;
};

/* The event log is PATH with .pcap replaced by .events.jsonl. */
int capture_open(struct capture *c, const char *path, char *err, size_t errlen);
void capture_packet(struct capture *c, const unsigned char *data, uint32_t caplen, uint32_t len);
/* t_us: microseconds since the shim started. rule may be NULL. */
void capture_event(struct capture *c, uint64_t t_us, const char *rule, const char *pkt,
                   const char *decision, const char *detail);
void capture_close(struct capture *c);

#endif
