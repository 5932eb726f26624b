/* clock: the harness's one monotonic clock. Every module (the run loop,
 * the workload threads, migrations) reads it here, so that a test can run
 * the timing logic on a fake one. */
#ifndef RIFT_CLOCK_H
#define RIFT_CLOCK_H

#include <stdint.h>

/* The source; CLOCK_MONOTONIC unless a test sets its own. */
extern uint64_t (*clk_source)(void);

static inline uint64_t clk_now_ns(void)
{
    return clk_source();
}

static inline uint64_t clk_now_ms(void)
{
    return clk_source() / 1000000ull;
}

#endif
