/* workload: the acknowledged-INCR ledger. Writer threads INCR their own keys
 * (spread over every primary's slots and over the slots the scenario
 * migrates) through cclient, from the clients address, and remember the
 * highest value each INCR acknowledged. After the run a read of every key
 * shows lost writes (read < acknowledged) and writes applied without an
 * acknowledgement (read > acknowledged). */
#ifndef RIFT_WORKLOAD_H
#define RIFT_WORKLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../observe/tseries.h"
#include "cclient.h"

#define WL_MAX_WRITERS 64
#define WL_MAX_KEYS 64

struct wl_key {
    char name[48];
    uint16_t slot;
    long long acked; /* highest acknowledged value */
    uint64_t ok, failed;
    uint64_t fail_since_ms;  /* 0: last op succeeded */
    uint64_t unavailable_ms; /* total time between a failure and the next success */
};

struct wl_writer {
    pthread_t th;
    struct workload *wl;
    struct cclient cc;
    struct wl_key keys[WL_MAX_KEYS];
    int n_keys;
    struct tseries ts; /* this writer's INCRs over time, from the workload's t0_ms */
};

struct workload {
    int n;
    struct wl_writer w[WL_MAX_WRITERS];
    volatile bool stop;
    uint64_t t0_ms;
    int interval_us;
    char pass[72];     /* the nodes' password, "": none */
    struct tseries ts; /* every writer's, merged by wl_stop; the caller frees it */
};

/* Keys for writer w: a fixed spread over all slots plus, for each extra
 * range [lo, hi], keys that hash into it. */
void wl_init(struct workload *wl, int writers, const char *source, const char *seed,
             const char *pass, const int (*ranges)[2], int n_ranges, int timeout_ms);
/* The ledger of one key: an INCR acknowledged with value (ok) or failed. */
void wl_key_result(struct wl_key *k, bool ok, long long value, uint64_t now_ms);
/* Compare a final read with the ledger: acknowledged writes lost, and
 * writes applied without an acknowledgement. Returns 1 if any was lost. */
int wl_key_check(const struct wl_key *k, long long read, int *lost, int *unacked);
int wl_start(struct workload *wl);
void wl_stop(struct workload *wl);

struct wl_result {
    uint64_t ops, ok, errors[CC__COUNT];
    int lost_keys, lost_writes, unacked_applied, unreadable;
    char last_error[160];
};
/* Read every key back from source (an address no fault touches) and sum
 * up. observe(ctx, check, key, text) is called for each finding. */
void wl_verify(struct workload *wl, const char *source, const char *seed,
               void (*observe)(void *ctx, const char *check, const char *what), void *ctx,
               struct wl_result *res);
void wl_free(struct workload *wl);

#endif
