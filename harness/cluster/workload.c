/* workload: INCR ledger writers and their verification. */
#include "workload.h"

#include "../sys/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void add_key(struct wl_writer *w, const char *name)
{
    struct wl_key *k;
    if (w->n_keys == WL_MAX_KEYS)
        return;
    k = &w->keys[w->n_keys++];
    memset(k, 0, sizeof(*k));
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->slot = ks_slot(k->name, strlen(k->name));
}

void wl_init(struct workload *wl, int writers, const char *source, const char *seed,
             const char *pass, const int (*ranges)[2], int n_ranges, int timeout_ms)
{
    memset(wl, 0, sizeof(*wl));
    wl->n = writers > WL_MAX_WRITERS ? WL_MAX_WRITERS : writers;
    wl->interval_us = 2000;
    snprintf(wl->pass, sizeof(wl->pass), "%s", pass ? pass : "");
    for (int i = 0; i < wl->n; i++) {
        struct wl_writer *w = &wl->w[i];
        char name[48];
        w->wl = wl;
        cc_init(&w->cc, source, timeout_ms, wl->pass);
        cc_add_seed(&w->cc, seed);
        /* 32 keys whose slots step evenly over 0..16383: every primary's
         * range gets some, whatever the layout. */
        for (int target = 0; target < 32; target++) {
            int lo = target * 512, hi = lo + 511;
            for (int t = 0;; t++) {
                snprintf(name, sizeof(name), "rift:{w%d-%d-%d}", i, target, t);
                uint16_t s = ks_slot(name, strlen(name));
                if (s >= lo && s <= hi)
                    break;
            }
            add_key(w, name);
        }
        for (int r = 0; r < n_ranges; r++)
            for (int k = 0, t = 0; k < 8 && t < 2000000; t++) {
                snprintf(name, sizeof(name), "rift:{m%d-%d-%d}", i, r, t);
                uint16_t s = ks_slot(name, strlen(name));
                if (s >= ranges[r][0] && s <= ranges[r][1]) {
                    add_key(w, name);
                    k++;
                }
            }
    }
}

void wl_key_result(struct wl_key *k, bool ok, long long value, uint64_t now_ms)
{
    if (ok) {
        if (value > k->acked)
            k->acked = value;
        k->ok++;
        if (k->fail_since_ms) {
            k->unavailable_ms += now_ms - k->fail_since_ms;
            k->fail_since_ms = 0;
        }
    } else {
        k->failed++;
        if (!k->fail_since_ms)
            k->fail_since_ms = now_ms;
    }
}

int wl_key_check(const struct wl_key *k, long long read, int *lost, int *unacked)
{
    *lost = read < k->acked ? (int)(k->acked - read) : 0;
    *unacked = read > k->acked ? (int)(read - k->acked) : 0;
    return *lost > 0;
}

static void *writer(void *arg)
{
    struct wl_writer *w = arg;
    struct workload *wl = w->wl;
    int i = 0;
    cc_refresh(&w->cc);
    while (!wl->stop) {
        struct wl_key *k = &w->keys[i];
        const char *argv[2] = {"INCR", k->name};
        enum cc_err kind;
        redisReply *r = cc_command(&w->cc, k->name, 2, argv, &kind);
        bool ok = r && r->type == REDIS_REPLY_INTEGER;
        uint64_t now = clk_now_ms();
        wl_key_result(k, ok, ok ? r->integer : 0, now);
        ts_add(&w->ts, (int64_t)(now - wl->t0_ms),
               ok ? NULL : cc_err_name(kind == CC_OK ? CC_OTHER : kind));
        if (r)
            freeReplyObject(r);
        i = (i + 1) % w->n_keys;
        struct timespec ts = {0, (long)wl->interval_us * 1000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int wl_start(struct workload *wl)
{
    wl->t0_ms = clk_now_ms();
    for (int i = 0; i < wl->n; i++)
        if (pthread_create(&wl->w[i].th, NULL, writer, &wl->w[i]) != 0) {
            wl->stop = true;
            for (int k = 0; k < i; k++)
                pthread_join(wl->w[k].th, NULL);
            wl->n = 0;
            return -1;
        }
    return 0;
}

void wl_stop(struct workload *wl)
{
    uint64_t now;
    wl->stop = true;
    for (int i = 0; i < wl->n; i++) {
        pthread_join(wl->w[i].th, NULL);
        ts_merge(&wl->ts, &wl->w[i].ts);
        ts_free(&wl->w[i].ts);
    }
    now = clk_now_ms();
    for (int i = 0; i < wl->n; i++)
        for (int k = 0; k < wl->w[i].n_keys; k++) {
            struct wl_key *key = &wl->w[i].keys[k];
            if (key->fail_since_ms) {
                key->unavailable_ms += now - key->fail_since_ms;
                key->fail_since_ms = 0;
            }
        }
}

/* A ledger value as INCR leaves it: digits only, the whole string. */
static int parse_count(const char *s, long long *out)
{
    char *end;
    long long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

void wl_verify(struct workload *wl, const char *source, const char *seed,
               void (*observe)(void *ctx, const char *check, const char *what), void *ctx,
               struct wl_result *res)
{
    struct cclient rd;
    memset(res, 0, sizeof(*res));
    cc_init(&rd, source, 2000, wl->pass);
    cc_add_seed(&rd, seed);
    cc_refresh(&rd);
    for (int i = 0; i < wl->n; i++) {
        struct wl_writer *w = &wl->w[i];
        for (int e = 0; e < CC__COUNT; e++)
            res->errors[e] += w->cc.errors[e];
        if (w->cc.last_error[0])
            snprintf(res->last_error, sizeof(res->last_error), "%s", w->cc.last_error);
        for (int k = 0; k < w->n_keys; k++) {
            struct wl_key *key = &w->keys[k];
            const char *argv[2] = {"GET", key->name};
            enum cc_err kind;
            redisReply *r = NULL;
            long long v = -1;
            char what[200], why[160];
            res->ops += key->ok + key->failed;
            res->ok += key->ok;
            for (int attempt = 0; attempt < 5 && !r; attempt++)
                r = cc_command(&rd, key->name, 2, argv, &kind);
            snprintf(why, sizeof(why), "%s", rd.last_error);
            /* not a count is unreadable, not 0 (which would read as lost writes) */
            if (r && r->type == REDIS_REPLY_STRING && parse_count(r->str, &v) < 0)
                snprintf(why, sizeof(why), "not a count: \"%.40s\"", r->str);
            else if (r && r->type == REDIS_REPLY_NIL)
                v = 0;
            if (r)
                freeReplyObject(r);
            if (v < 0) {
                res->unreadable++;
                snprintf(what, sizeof(what), "%s (slot %u): cannot be read back: %s", key->name,
                         key->slot, why);
                observe(ctx, "lost_writes", what);
                continue;
            }
            int lost, unacked;
            if (wl_key_check(key, v, &lost, &unacked)) {
                res->lost_keys++;
                snprintf(what, sizeof(what), "%s (slot %u): acknowledged up to %lld, reads %lld",
                         key->name, key->slot, key->acked, v);
                observe(ctx, "lost_writes", what);
            }
            res->lost_writes += lost;
            res->unacked_applied += unacked;
            if (key->unavailable_ms > 0) {
                snprintf(what, sizeof(what), "slot %u (%s): unavailable for %llu ms", key->slot,
                         key->name, (unsigned long long)key->unavailable_ms);
                observe(ctx, "unavailable", what);
            }
        }
    }
    cc_close(&rd);
}

void wl_free(struct workload *wl)
{
    for (int i = 0; i < wl->n; i++)
        cc_close(&wl->w[i].cc);
}
