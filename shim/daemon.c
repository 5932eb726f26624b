/* daemon: the shim's clock. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t shim_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t shim_since_us(struct shim *s, uint64_t t)
{
    return (t - s->t0) / 1000;
}
