/* sniff: the live capture behind the CROSSSLOT audit. */
#include "sniff.h"

#include <stdio.h>
#include <string.h>

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct sniff *s = (struct sniff *)user;
    au_frame(s->a, s->lt, data, h->caplen,
             (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec);
}

static void *loop(void *arg)
{
    struct sniff *s = arg;
    while (!s->stop) {
        int rc = pcap_dispatch(s->p, -1, on_frame, (u_char *)s);
        if (rc == PCAP_ERROR) {
            snprintf(s->err, sizeof(s->err), "capture: %s", pcap_geterr(s->p));
            break;
        }
        if (rc == PCAP_ERROR_BREAK)
            break;
    }
    return NULL;
}

int sniff_start(struct sniff *s, struct audit *a, const char *filter, char *err, size_t el)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct bpf_program prog;
    memset(s, 0, sizeof(*s));
    s->a = a;
    if (!(s->p = pcap_create("lo", perr))) {
        snprintf(err, el, "capture on lo: %s", perr);
        return -1;
    }
    /* whole frames (loopback carries up to 64 KiB per segment), a buffer
     * for bursts, and a short timeout so that stopping is prompt */
    pcap_set_snaplen(s->p, 262144);
    pcap_set_buffer_size(s->p, 32 << 20);
    pcap_set_timeout(s->p, 50);
    pcap_set_immediate_mode(s->p, 1); /* no frame waits in a half-full block at the end */
    pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_MICRO);
    int rc = pcap_activate(s->p);
    if (rc < 0 || pcap_compile(s->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        snprintf(err, el, "capture on lo: %s", pcap_geterr(s->p));
        pcap_close(s->p);
        s->p = NULL;
        return -1;
    }
    rc = pcap_setfilter(s->p, &prog);
    pcap_freecode(&prog);
    s->lt = pcap_datalink(s->p);
    if (rc < 0 || !tf_linktype_ok(s->lt)) {
        snprintf(err, el, "capture on lo: %s", rc < 0 ? pcap_geterr(s->p) : "unknown link type");
        pcap_close(s->p);
        s->p = NULL;
        return -1;
    }
    if (pthread_create(&s->th, NULL, loop, s) != 0) {
        snprintf(err, el, "capture on lo: cannot start its thread");
        pcap_close(s->p);
        s->p = NULL;
        return -1;
    }
    s->running = true;
    return 0;
}

void sniff_stop(struct sniff *s)
{
    struct pcap_stat st;
    if (!s->running)
        return;
    s->stop = 1;
    pcap_breakloop(s->p);
    pthread_join(s->th, NULL);
    s->running = false;
    /* what the kernel buffered is read before the count: the last replies
     * (a break still pending ends the first call at once) */
    char perr[PCAP_ERRBUF_SIZE];
    pcap_setnonblock(s->p, 1, perr);
    for (int i = 0; i < 10000; i++) {
        int rc = pcap_dispatch(s->p, -1, on_frame, (u_char *)s);
        if (rc == 0 || rc == PCAP_ERROR)
            break;
    }
    if (pcap_stats(s->p, &st) == 0)
        s->a->dropped_frames = st.ps_drop;
    pcap_close(s->p);
    s->p = NULL;
    au_finish(s->a);
}
