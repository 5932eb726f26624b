/* runstate: the clock, progress lines, addresses. */
#include "runstate.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../proto/pkt.h"

volatile sig_atomic_t run_interrupted;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t (*run_clock)(void) = mono_ns;

uint64_t run_now_ns(void)
{
    return run_clock();
}

int64_t run_ms(const struct run *r)
{
    return r->t_ready ? (int64_t)(run_now_ns() - r->t_ready) / 1000000 : 0;
}

void run_progress(struct run *r, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[%8.3f] ", (double)(run_now_ns() - r->t_start) / 1e9);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void run_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void run_node_addr(int i, char *out, size_t len)
{
    char ip[32];
    pkt_addr(SCN_NODE_IP(i), ip, sizeof(ip));
    snprintf(out, len, "%s:%d", ip, SCN_PORT);
}
