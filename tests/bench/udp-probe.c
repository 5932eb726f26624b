/* udp-probe: numbered UDP datagrams for rift's tests and benchmarks.
 *   udp-probe echo IP:PORT [--spin]            echo every datagram back
 *   udp-probe ping FROM_IP IP:PORT COUNT INTERVAL_US [--spin]
 *                                              round trips, printed as JSON
 *   udp-probe owd FROM_IP IP:PORT COUNT INTERVAL_US [--fifo]
 *                                              one-way delays (us), as JSON
 *   udp-probe wake COUNT INTERVAL_US          cross-CPU thread wake-ups (us)
 *   udp-probe send FROM_IP IP:PORT COUNT [SIZE [PPS [FLOWS [FROM_PORT [SEQ0]]]]]
 *                                              FLOWS sockets take turns
 *   udp-probe recv IP:PORT COUNT TIMEOUT_MS    received/duplicate/out-of-order
 * --spin polls without sleeping, so that the probe's own wake-up latency
 * does not count as the shim's. */
#include "../../policies/value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An argv number; a bad one is reported and is -1 (the caller exits 2). */
static int arg_int(const char *name, const char *s, long lo, long hi, int *out)
{
    long v;
    if (val_parse_long(s, lo, hi, &v) < 0) {
        fprintf(stderr, "udp-probe: %s: expected an integer %ld-%ld, not \"%s\"\n", name, lo, hi,
                s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *c = strchr(s, ':');
    long port;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (!c) {
        snprintf(host, sizeof(host), "%s", s);
    } else {
        snprintf(host, sizeof(host), "%.*s", (int)(c - s), s);
        if (val_parse_long(c + 1, 0, 65535, &port) < 0)
            return -1;
        sa->sin_port = htons((uint16_t)port);
    }
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* A destination IP:PORT from argv; a bad one is reported and is -1. */
static int arg_addr(const char *s, struct sockaddr_in *sa)
{
    if (addr(s, sa) < 0) {
        fprintf(stderr, "udp-probe: expected IP:PORT (port 0-65535), not \"%s\"\n", s);
        return -1;
    }
    return 0;
}

static int udp_socket(const char *bind_to)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), buf = 64 << 20;
    if (fd < 0 || addr(bind_to, &sa) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "udp-probe: bind %s: %s\n", bind_to, strerror(errno));
        exit(2);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    return fd;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int echo(int argc, char **argv)
{
    bool spin = argc > 3 && !strcmp(argv[3], "--spin");
    int fd = udp_socket(argv[2]);
    char buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n =
            recvfrom(fd, buf, sizeof(buf), spin ? MSG_DONTWAIT : 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            continue;
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
    return 0;
}

static int ping(int argc, char **argv)
{
    struct sockaddr_in to;
    int fd, count, interval;
    bool spin;
    uint64_t *rtt;
    int got = 0;
    if (argc < 6 || arg_addr(argv[3], &to) < 0 ||
        arg_int("COUNT", argv[4], 1, 10000000, &count) < 0 ||
        arg_int("INTERVAL_US", argv[5], 0, 10000000, &interval) < 0)
        return 2;
    char from[80];
    snprintf(from, sizeof(from), "%s:0", argv[2]);
    fd = udp_socket(from);
    spin = argc > 6 && !strcmp(argv[6], "--spin");
    rtt = calloc((size_t)count, sizeof(*rtt));
    for (int i = 0; i < count; i++) {
        uint32_t seq = (uint32_t)i, back;
        uint64_t t0 = now_ns(), deadline = t0 + 2000000000ull;
        sendto(fd, &seq, sizeof(seq), 0, (struct sockaddr *)&to, sizeof(to));
        for (;;) {
            ssize_t n = recv(fd, &back, sizeof(back), spin ? MSG_DONTWAIT : 0);
            if (n == sizeof(back) && back == seq) {
                rtt[got++] = now_ns() - t0;
                break;
            }
            if (now_ns() > deadline)
                break;
            if (!spin) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                poll(&p, 1, 100);
            }
        }
        uint64_t next = t0 + (uint64_t)interval * 1000;
        while (now_ns() < next)
            if (!spin)
                usleep(50);
    }
    qsort(rtt, (size_t)got, sizeof(*rtt), cmp_u64);
    double sum = 0;
    for (int i = 0; i < got; i++)
        sum += (double)rtt[i];
    printf("{\"sent\":%d,\"received\":%d", count, got);
    if (got)
        printf(",\"min_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
               "\"mean_us\":%.1f",
               rtt[0] / 1e3, rtt[got / 2] / 1e3, rtt[(int)(got * 0.9)] / 1e3,
               rtt[(int)(got * 0.99)] / 1e3, rtt[got - 1] / 1e3, sum / got / 1e3);
    printf("}\n");
    return got == count ? 0 : 1;
}

/* One-way delay FROM -> TO within this process: send, then poll the
 * receiving socket without sleeping until the datagram is there. */
static int owd(int argc, char **argv)
{
    char from[80];
    int a, b, count, interval, got = 0;
    uint64_t *d;
    struct sockaddr_in to;
    if (argc < 6 || arg_addr(argv[3], &to) < 0 ||
        arg_int("COUNT", argv[4], 1, 10000000, &count) < 0 ||
        arg_int("INTERVAL_US", argv[5], 0, 10000000, &interval) < 0)
        return 2;
    snprintf(from, sizeof(from), "%s:0", argv[2]);
    /* --fifo: block at SCHED_FIFO instead of spinning, so that on a loaded
     * machine the probe is woken at once and does not take a CPU from the
     * load (a spinning probe at normal priority waits for its time slice) */
    bool fifo = argc > 6 && !strcmp(argv[6], "--fifo");
    if (fifo) {
        struct sched_param sp = {.sched_priority = 20};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
            perror("udp-probe: SCHED_FIFO");
            return 2;
        }
    }
    a = udp_socket(from);
    b = udp_socket(argv[3]);
    d = calloc((size_t)count, sizeof(*d));
    for (int i = 0; i < count; i++) {
        uint32_t seq = (uint32_t)i, back;
        uint64_t t0 = now_ns(), deadline = t0 + 2000000000ull;
        sendto(a, &seq, sizeof(seq), 0, (struct sockaddr *)&to, sizeof(to));
        while (now_ns() < deadline) {
            if (recv(b, &back, sizeof(back), MSG_DONTWAIT) == sizeof(back) && back == seq) {
                d[got++] = now_ns() - t0;
                break;
            }
            if (fifo) {
                struct pollfd p = {.fd = b, .events = POLLIN};
                poll(&p, 1, 100);
            }
        }
        uint64_t next = t0 + (uint64_t)interval * 1000;
        if (fifo) {
            /* at SCHED_FIFO, sleep: spinning would take a CPU from the shim */
            struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
            continue;
        }
        while (now_ns() + 100000 < next)
            usleep(50);
        while (now_ns() < next)
            ;
    }
    printf("{\"sent\":%d,\"received\":%d,\"us\":[", count, got);
    for (int i = 0; i < got; i++)
        printf("%s%.1f", i ? "," : "", d[i] / 1e3);
    printf("]}\n");
    return got == count ? 0 : 1;
}

/* The platform's own wake-up latency, for reference: a thread on one CPU
 * blocked in read() is woken by a write from the other CPU. */
static int wake_fds[2];
static uint64_t wake_lat[100000];
static int wake_count;

static void *wake_reader(void *arg)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(1, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    (void)arg;
    for (int i = 0; i < wake_count; i++) {
        uint64_t t;
        if (read(wake_fds[0], &t, sizeof(t)) != sizeof(t))
            break;
        wake_lat[i] = now_ns() - t;
    }
    return NULL;
}

static int wake(int argc, char **argv)
{
    pthread_t th;
    cpu_set_t set;
    int interval;
    if (argc < 4 || arg_int("COUNT", argv[2], 1, 100000, &wake_count) < 0 ||
        arg_int("INTERVAL_US", argv[3], 0, 10000000, &interval) < 0 || pipe(wake_fds) < 0)
        return 2;
    pthread_create(&th, NULL, wake_reader, NULL);
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    for (int i = 0; i < wake_count; i++) {
        uint64_t t;
        usleep((useconds_t)interval);
        t = now_ns();
        if (write(wake_fds[1], &t, sizeof(t)) != sizeof(t))
            return 1;
    }
    pthread_join(th, NULL);
    printf("{\"us\":[");
    for (int i = 0; i < wake_count; i++)
        printf("%s%.1f", i ? "," : "", wake_lat[i] / 1e3);
    printf("]}\n");
    return 0;
}

static int send_mode(int argc, char **argv)
{
    struct sockaddr_in to;
    char from[80], buf[65536] = {0};
    int fds[64], nflows = 1, count, size = 64;
    double pps = 0;
    if (argc < 5 || arg_addr(argv[3], &to) < 0 ||
        arg_int("COUNT", argv[4], 0, INT32_MAX, &count) < 0)
        return 2;
    snprintf(from, sizeof(from), "%s:0", argv[2]);
    /* 65507: the largest UDP payload over IPv4 */
    if (argc > 5 && arg_int("SIZE", argv[5], 0, 65507, &size) < 0)
        return 2;
    if (argc > 6) {
        char *end;
        errno = 0;
        pps = strtod(argv[6], &end);
        if (*argv[6] < '0' || *argv[6] > '9' || *end || errno || !isfinite(pps)) {
            fprintf(stderr, "udp-probe: PPS: expected a rate, 0 for no limit, not \"%s\"\n",
                    argv[6]);
            return 2;
        }
    }
    if (argc > 7 && arg_int("FLOWS", argv[7], 1, 64, &nflows) < 0)
        return 2;
    /* FROM_PORT: flows from FROM_PORT on (0: any), so that a flow keeps its
     * NFQUEUE queue from one run to the next; SEQ0: the first number */
    int port0 = 0, seq0 = 0;
    if ((argc > 8 && arg_int("FROM_PORT", argv[8], 0, 65535 - 64, &port0) < 0) ||
        (argc > 9 && arg_int("SEQ0", argv[9], 0, INT32_MAX, &seq0) < 0))
        return 2;
    for (int f = 0; f < nflows; f++) {
        snprintf(from, sizeof(from), "%s:%d", argv[2], port0 ? port0 + f : 0);
        fds[f] = udp_socket(from);
    }
    if (size < 4)
        size = 4;
    uint64_t t0 = now_ns();
    for (int i = 0; i < count; i++) {
        uint32_t seq = (uint32_t)seq0 + (uint32_t)i;
        memcpy(buf, &seq, 4);
        while (sendto(fds[i % nflows], buf, (size_t)size, 0, (struct sockaddr *)&to, sizeof(to)) <
               0) {
            if (errno != ENOBUFS && errno != EAGAIN) {
                perror("udp-probe: sendto");
                return 1;
            }
            usleep(100);
        }
        if (pps > 0) {
            uint64_t next = t0 + (uint64_t)((i + 1) * 1e9 / pps);
            while (now_ns() < next)
                ;
        }
    }
    printf("{\"sent\":%d}\n", count);
    return 0;
}

static int recv_mode(int argc, char **argv)
{
    int fd, count, timeout_ms;
    if (argc < 5 || arg_int("COUNT", argv[3], 1, 100000000, &count) < 0 ||
        arg_int("TIMEOUT_MS", argv[4], 0, 86400000, &timeout_ms) < 0)
        return 2;
    fd = udp_socket(argv[2]);
    unsigned char *seen = calloc((size_t)count, 1);
    long received = 0, dups = 0, ooo = 0, unique = 0;
    int64_t maxseq = -1;
    /* Say we are listening only once the socket is bound. */
    fprintf(stderr, "ready\n");
    fflush(stderr);
    uint64_t last = now_ns(), first_at = 0, last_at = 0;
    char buf[65536];
    /* a release of a million held datagrams arrives at once: room for them */
    int big = 1 << 30;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    while ((now_ns() - last) / 1000000 < (uint64_t)timeout_ms) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        uint32_t seq;
        if (n < 0) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            poll(&p, 1, 20);
            continue;
        }
        if (n < 4)
            continue;
        memcpy(&seq, buf, 4);
        last = now_ns();
        if (!received)
            first_at = last;
        last_at = last;
        received++;
        if (seq >= (uint32_t)count)
            continue;
        if (seen[seq]) {
            dups++;
        } else {
            seen[seq] = 1;
            unique++;
        }
        if ((int64_t)seq < maxseq)
            ooo++;
        else
            maxseq = seq;
        if (unique == count && timeout_ms > 200)
            timeout_ms = 200; /* all there: wait a little for duplicates */
    }
    /* FNV-1a over which datagrams arrived: equal runs give equal prints. */
    uint64_t fp = 1469598103934665603ull;
    for (int i = 0; i < count; i++)
        fp = (fp ^ seen[i]) * 1099511628211ull;
    printf("{\"expected\":%d,\"received\":%ld,\"unique\":%ld,\"duplicates\":%ld,"
           "\"out_of_order\":%ld,\"lost\":%ld,\"span_ms\":%.3f,\"fingerprint\":\"%016llx\"}\n",
           count, received, unique, dups, ooo, count - unique, (last_at - first_at) / 1e6,
           (unsigned long long)fp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "echo"))
        return echo(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "ping"))
        return ping(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "wake"))
        return wake(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "owd"))
        return owd(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "send"))
        return send_mode(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "recv"))
        return recv_mode(argc, argv);
    fprintf(stderr, "usage: udp-probe echo|ping|send|recv ... (see the source)\n");
    return 2;
}
