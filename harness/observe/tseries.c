/* tseries: counts over time in fixed buckets, grown on demand. */
#include "tseries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct tseries *ts, int need)
{
    int cap = ts->cap ? ts->cap : 256;
    uint32_t *ok;
    while (cap < need)
        cap *= 2;
    if (cap > TS_MAX_BUCKETS)
        cap = TS_MAX_BUCKETS;
    if (cap <= ts->cap)
        return -1;
    if (!(ok = realloc(ts->ok, sizeof(*ok) * (size_t)cap)))
        return -1;
    memset(ok + ts->cap, 0, sizeof(*ok) * (size_t)(cap - ts->cap));
    ts->ok = ok;
    for (int k = 0; k < ts->n_kinds; k++) {
        uint32_t *f = realloc(ts->fail[k], sizeof(*f) * (size_t)cap);
        if (!f)
            return -1; /* ts->cap unchanged: the grown arrays are merely larger */
        memset(f + ts->cap, 0, sizeof(*f) * (size_t)(cap - ts->cap));
        ts->fail[k] = f;
    }
    ts->cap = cap;
    return 0;
}

static int kind_index(struct tseries *ts, const char *kind)
{
    for (int k = 0; k < ts->n_kinds; k++)
        if (!strcmp(ts->kinds[k], kind))
            return k;
    if (ts->n_kinds == TS_KINDS)
        return -1;
    if (!(ts->fail[ts->n_kinds] = calloc((size_t)(ts->cap ? ts->cap : 1), sizeof(uint32_t))))
        return -1;
    snprintf(ts->kinds[ts->n_kinds], TS_KIND_LEN, "%s", kind);
    return ts->n_kinds++;
}

static void add_n(struct tseries *ts, int b, const char *kind, uint32_t n)
{
    int k = -1;
    /* grow stops at TS_MAX_BUCKETS: a bucket past it is "other" too */
    if (b >= ts->cap && (grow(ts, b + 1) < 0 || b >= ts->cap)) {
        ts->other += n;
        return;
    }
    if (kind && (k = kind_index(ts, kind)) < 0) {
        ts->other += n;
        return;
    }
    if (b >= ts->n)
        ts->n = b + 1;
    if (kind)
        ts->fail[k][b] += n;
    else
        ts->ok[b] += n;
}

void ts_add(struct tseries *ts, int64_t t_ms, const char *kind)
{
    if (t_ms < 0)
        return;
    add_n(ts, (int)(t_ms / TS_BUCKET_MS < TS_MAX_BUCKETS ? t_ms / TS_BUCKET_MS : TS_MAX_BUCKETS),
          kind, 1);
}

void ts_merge(struct tseries *dst, const struct tseries *src)
{
    for (int b = 0; b < src->n; b++) {
        if (src->ok[b])
            add_n(dst, b, NULL, src->ok[b]);
        for (int k = 0; k < src->n_kinds; k++)
            if (src->fail[k][b])
                add_n(dst, b, src->kinds[k], src->fail[k][b]);
    }
    dst->other += src->other;
}

uint64_t ts_total_fail(const struct tseries *ts, int bucket)
{
    uint64_t n = 0;
    if (bucket < 0 || bucket >= ts->n)
        return 0;
    for (int k = 0; k < ts->n_kinds; k++)
        n += ts->fail[k][bucket];
    return n;
}

void ts_free(struct tseries *ts)
{
    free(ts->ok);
    for (int k = 0; k < ts->n_kinds; k++)
        free(ts->fail[k]);
    memset(ts, 0, sizeof(*ts));
}
