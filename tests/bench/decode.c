/* decode: what hostile input costs rift's decoders. Each input is fed
 * the easy way and then the hard way for its decoder (a byte at a time,
 * 64 KiB segments of garbage, or segments in reverse order); both times
 * are printed with their ratio. A decoder whose work is linear in its input keeps the
 * ratio to the cost of a call per piece; one that goes back over what it
 * has (a message re-read from its start, a memmove of the rest per bad
 * byte, a sorted list walked per segment) takes seconds to minutes.
 *
 *   decode [KIB [WHICH]]   inputs of KIB KiB (1024); WHICH picks them by
 *                          letter (rqbnt: reply, request, bad lengths, no
 *                          signature, TCP; all by default)
 * Prints one line per input (the two times, their ratio, and what each
 * decoded: messages, or bytes for TCP) and "decode: worst X ms" last. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../harness/observe/tcpflow.h"
#include "../../proto/bus.h"
#include "../../proto/resp.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_resp(void *ctx, const struct resp_msg *m)
{
    (void)m;
    (*(long *)ctx)++;
}

static void on_bus(void *ctx, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    (*(long *)ctx)++;
}

static void on_data(void *ctx, struct tf_conn *c, int dir, const uint8_t *d, size_t len)
{
    (void)c;
    (void)dir;
    (void)d;
    *(long *)ctx += (long)len;
}

/* RESP text fed in pieces of `piece` bytes: ms, and messages in *n. */
static double resp_time(bool request, const char *text, size_t len, size_t piece, long *n)
{
    struct resp_stream s;
    double t = now_ms();
    *n = 0;
    resp_init(&s, request);
    for (size_t off = 0; off < len; off += piece)
        resp_feed(&s, text + off, len - off < piece ? len - off : piece, on_resp, n);
    resp_free(&s);
    return now_ms() - t;
}

static double bus_time(const uint8_t *data, size_t len, size_t piece, long *n)
{
    struct bus_stream s;
    double t = now_ms();
    *n = 0;
    bus_stream_init(&s);
    for (size_t off = 0; off < len; off += piece)
        bus_stream_segment(&s, 7 + (uint32_t)off, data + off, len - off < piece ? len - off : piece,
                           on_bus, n);
    bus_stream_free(&s);
    return now_ms() - t;
}

/* n one-byte segments of a connection behind its missing first byte, in
 * ascending or descending order, then that byte: ms, bytes delivered. */
static double flow_time(size_t n, bool reverse, long *got)
{
    static const struct tf_ops ops = {.data = on_data};
    static const uint8_t byte = 'x';
    struct tf_table t;
    struct tf_pkt p = {.src = {.ip = {10, 0, 0, 1}, .port = 40000},
                       .dst = {.ip = {10, 0, 0, 2}, .port = 6379},
                       .seq = 1000,
                       .flags = TF_SYN};
    double t0 = now_ms();
    *got = 0;
    if (tf_init(&t, &ops, got) < 0)
        return -1;
    tf_packet(&t, &p);
    p.flags = TF_ACK;
    p.data = &byte;
    p.len = p.wire_len = 1;
    for (size_t k = 0; k < n; k++) {
        p.seq = 1000 + 2 + (uint32_t)(reverse ? n - 1 - k : k);
        tf_packet(&t, &p);
    }
    p.seq = 1001;
    tf_packet(&t, &p);
    tf_finish(&t);
    return now_ms() - t0;
}

static double worst;

/* The input fed the easy way (base) and the hard way (bad). */
static void show(const char *what, const char *base_how, double base, const char *bad_how,
                 double bad, long a, long b)
{
    if (bad > worst)
        worst = bad;
    if (base > worst)
        worst = base;
    printf("  %-40s %-18s %8.1f ms, %-18s %8.1f ms (x%.1f); %ld / %ld\n", what, base_how, base,
           bad_how, bad, base > 0.01 ? bad / base : bad / 0.01, a, b);
}

int main(int argc, char **argv)
{
    size_t kib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, size = kib << 10, len;
    const char *which = argc > 2 ? argv[2] : "rqbnt";
    char *buf = malloc(size + 64);
    long a, b;
    double w, x;
    if (!buf || !kib)
        return 2;
    printf("decode: inputs of %zu KiB\n", kib);

    size_t n = (size - 16) / 4;
    if (strchr(which, 'r')) {
        len = (size_t)sprintf(buf, "*%zu\r\n", n);
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(buf + len, ":%zu\r\n", i % 10);
        w = resp_time(false, buf, len, 65536, &a);
        x = resp_time(false, buf, len, 1, &b);
        show("RESP reply: an array of integers", "in 64 KiB pieces", w, "a byte at a time", x, a,
             b);
    }
    if (strchr(which, 'q')) {

        n = (size - 32) / 7;
        len = (size_t)sprintf(buf, "*%zu\r\n$3\r\nDEL\r\n", n + 1);
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(buf + len, "$1\r\n%zu\r\n", i % 10);
        w = resp_time(true, buf, len, 65536, &a);
        x = resp_time(true, buf, len, 1, &b);
        show("RESP request: DEL of many keys", "in 64 KiB pieces", w, "a byte at a time", x, a, b);
    }
    if (strchr(which, 'b')) {

        static const uint8_t bogus[8] = {'R', 'C', 'm', 'b', 0xff, 0xff, 0xff, 0xff};
        for (size_t i = 0; i < size; i++)
            buf[i] = (char)bogus[i % 8];
        w = bus_time((const uint8_t *)buf, size, 1, &a);
        x = bus_time((const uint8_t *)buf, size, 65536, &b);
        show("bus: signatures with bad lengths", "a byte a segment", w, "64 KiB segments", x, a, b);
    }
    if (strchr(which, 'n')) {

        memset(buf, 'R', size);
        w = bus_time((const uint8_t *)buf, size, 1, &a);
        x = bus_time((const uint8_t *)buf, size, 65536, &b);
        show("bus: no signature, all R", "a byte a segment", w, "64 KiB segments", x, a, b);
    }
    if (strchr(which, 't')) {

        n = size / 16 < 60000 ? size / 16 : 60000;
        w = flow_time(n, false, &a); /* the old sorted list walked to its end for these */
        x = flow_time(n, true, &b);
        char what[64];
        snprintf(what, sizeof(what), "TCP: %zu segments behind a hole", n);
        show(what, "descending", x, "ascending", w, b, a);
    }

    printf("decode: worst %.1f ms\n", worst);
    free(buf);
    return 0;
}
