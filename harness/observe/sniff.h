/* sniff: the run's passive capture of client traffic for the CROSSSLOT
 * audit: libpcap on the namespace's loopback, filtered in the kernel to
 * the client port, read by a thread of its own that feeds the audit (which
 * is the thread's alone until sniff_stop joins it: no lock per frame). It
 * copies what crosses, never holds it: the audit costs the traffic
 * nothing. */
#ifndef RIFT_SNIFF_H
#define RIFT_SNIFF_H

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "audit.h"

struct sniff {
    pcap_t *p;
    int lt;
    struct audit *a;
    pthread_t th;
    bool running;
    volatile int stop;
    char err[256]; /* the thread's capture error, if any */
};

/* Starts capturing on lo of the caller's network namespace with the BPF
 * filter given. 0, or -1 with err. */
int sniff_start(struct sniff *s, struct audit *a, const char *filter, char *err, size_t el);
/* Stops and joins the thread, counts the kernel's drops into the audit
 * and closes the capture; every connection still open is read to its
 * end. Safe to call twice. */
void sniff_stop(struct sniff *s);

#endif
