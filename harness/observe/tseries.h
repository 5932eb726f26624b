/* tseries: successes and failures by kind over time, in buckets of
 * TS_BUCKET_MS, for the report page's client and workload lanes. One
 * writer per series (a probe reader, one workload thread); series are
 * merged after the threads are joined. */
#ifndef RIFT_TSERIES_H
#define RIFT_TSERIES_H

#include <stdbool.h>
#include <stdint.h>

#define TS_BUCKET_MS 100
#define TS_KINDS 8 /* failure kinds kept apart; later ones count as "other" */
#define TS_KIND_LEN 40
#define TS_MAX_BUCKETS 36000 /* one hour */

struct tseries {
    int n;                    /* buckets in use */
    int cap;                  /* buckets allocated */
    uint32_t *ok;             /* per bucket */
    uint32_t *fail[TS_KINDS]; /* per kind, per bucket; NULL until the kind is seen */
    char kinds[TS_KINDS][TS_KIND_LEN];
    int n_kinds;
    uint64_t other; /* failures past TS_KINDS kinds, and samples outside the hour */
};

/* One result at t_ms from the series' zero: kind NULL for a success.
 * Samples before zero are dropped; memory trouble drops the sample. */
void ts_add(struct tseries *ts, int64_t t_ms, const char *kind);
/* Add src into dst (the same zero). */
void ts_merge(struct tseries *dst, const struct tseries *src);
uint64_t ts_total_fail(const struct tseries *ts, int bucket);
void ts_free(struct tseries *ts);

#endif
