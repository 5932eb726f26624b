/* decode: `rift decode FILE.pcap [--json]`: the cluster-bus messages in a
 * capture, as a timeline (time, from, to, type, sender, role, replica-of,
 * epochs, slots claimed, gossip count). */
#ifndef RIFT_DECODE_H
#define RIFT_DECODE_H

#include <stdbool.h>
#include <stdio.h>

/* Writes the timeline to out. t0_real_us: realtime microseconds that
 * become time 0 (0: the first packet). Returns the number of messages, or
 * -1 with err. */
long decode_pcap(const char *path, bool json, double t0_real_s, FILE *out, char *err,
                 size_t errlen);

#endif
