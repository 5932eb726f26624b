/* shrink: delta debugging of a failing schedule. */
#include "shrink.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../sys/clock.h"

#define MS 1000000ull
#define MIN_WINDOW_NS (200 * MS) /* a fault window is not cut below this */
#define MIN_GAP_NS (500 * MS)    /* kill..restart, pause..resume */
#define LEAD_NS (100 * MS)       /* a fault starts this long before its step */
#define FIRST_AT_NS (500 * MS)   /* the first event, after moving times earlier */
#define WAIT_GAP_NS (100 * MS)   /* from the last event to the wait at the end */
#define STRICT_RUNS 3            /* replays a timing candidate must all fail */

struct shrinker {
    const struct shrink_opts *o;
    shrink_runner run;
    void *ctx;
    struct shrink_stats *st;
    uint64_t t0;
    int stop;
    bool strict;    /* timing candidates: kept only when every replay fails */
    int last_fired; /* of the last candidate */
    /* Elements whose removal alone made the failure go away: not tried
     * again (by their text, which removing others does not change). */
    char essential[SCHED_MAX][256];
    int n_essential;
};

static uint64_t now(const struct shrinker *S)
{
    return S->o->now_ns ? S->o->now_ns() : clk_now_ns();
}

static bool out_of_time(struct shrinker *S)
{
    if (S->o->time_ns && now(S) - S->t0 >= S->o->time_ns)
        S->st->timed_out = true;
    return S->st->timed_out;
}

static struct sched *dup_sched(const struct sched *sc)
{
    struct sched *c = malloc(sizeof(*c));
    if (c && sched_copy(c, sc) < 0) {
        free(c);
        c = NULL;
    }
    return c;
}

#define CONFIRM_MIN_RUNS 3

static void drop_sched(struct sched *c)
{
    if (c) {
        sched_free(c);
        free(c);
    }
}

/* Replays cand up to runs times, stopping as soon as the outcome is
 * decided. 1: kept (cur takes cand's place), 0: not, < 0: stop. cand is
 * consumed either way. */
static int try_candidate(struct shrinker *S, struct sched *cur, struct sched *cand,
                         const char *what)
{
    const struct shrink_opts *o = S->o;
    char last[256] = "";
    int fired = 0, ran = 0, keep;
    if (!cand)
        return S->stop = SHRINK_ERROR;
    if (S->stop || out_of_time(S)) {
        drop_sched(cand);
        return S->stop;
    }
    /* timing candidates: every one of at least STRICT_RUNS replays */
    int runs = S->strict && o->runs < STRICT_RUNS ? STRICT_RUNS : o->runs;
    int need = S->strict ? runs : o->need;
    while (ran < runs) {
        int rc = S->run(S->ctx, cand, last, sizeof(last));
        ran++;
        S->st->replays++;
        if (rc < 0) {
            drop_sched(cand);
            return S->stop = rc;
        }
        fired += rc == SHRINK_FIRED;
        if (fired >= need || fired + (runs - ran) < need)
            break;
    }
    S->st->candidates++;
    if (S->strict && fired >= need)
        S->st->timing_kept++;
    S->last_fired = fired;
    keep = fired >= need;
    if (o->log) {
        fprintf(o->log, "shrink: candidate %d: %s: failed %d of %d -> %s", S->st->candidates, what,
                fired, ran, keep ? "kept" : "dropped");
        if (keep)
            fprintf(o->log, " (%d fault%s, %d step%s left)", sched_faults(cand),
                    sched_faults(cand) == 1 ? "" : "s", sched_steps(cand),
                    sched_steps(cand) == 1 ? "" : "s");
        fprintf(o->log, "\n");
        fflush(o->log);
    }
    if (!keep) {
        drop_sched(cand);
        return 0;
    }
    S->st->kept++;
    sched_free(cur);
    *cur = *cand; /* cur owns cand's base now */
    free(cand);
    return 1;
}

/* ---- faults and steps: delta debugging ---- */

static bool is_essential(const struct shrinker *S, const struct sched *sc, int i)
{
    char one[256];
    sched_el_line(sc, i, one, sizeof(one));
    for (int k = 0; k < S->n_essential; k++)
        if (!strcmp(S->essential[k], one))
            return true;
    return false;
}

static int removable(const struct shrinker *S, const struct sched *sc, int *idx)
{
    int m = 0;
    for (int i = 0; i < sc->n; i++)
        if (sc->el[i].kind != SE_WAIT && !is_essential(S, sc, i))
            idx[m++] = i;
    return m;
}

/* cur without the elements idx[lo..hi). */
static struct sched *without(const struct sched *cur, const int *idx, int lo, int hi)
{
    struct sched *c = dup_sched(cur);
    int n = 0;
    if (!c)
        return NULL;
    for (int i = 0; i < cur->n; i++) {
        bool gone = false;
        for (int k = lo; k < hi; k++)
            gone |= idx[k] == i;
        if (!gone)
            c->el[n++] = cur->el[i];
    }
    c->n = n;
    return c;
}

static int ddmin(struct shrinker *S, struct sched *cur)
{
    int n = 2;
    for (;;) {
        int idx[SCHED_MAX], m = removable(S, cur, idx);
        bool reduced = false;
        if (!m)
            return 0;
        if (n > m)
            n = m;
        for (int c = 0; c < n && !reduced; c++) {
            int lo = c * m / n, hi = (c + 1) * m / n;
            char what[320];
            if (hi - lo == 1) {
                char one[256];
                sched_el_line(cur, idx[lo], one, sizeof(one));
                snprintf(what, sizeof(what), "remove %s", one);
            } else {
                snprintf(what, sizeof(what), "remove %d of %d faults and steps", hi - lo, m);
            }
            int rc = try_candidate(S, cur, without(cur, idx, lo, hi), what);
            if (rc < 0)
                return rc;
            reduced = rc == 1;
            /* not one replay failed without it: it is needed (a flaky
             * failure that fired once may be tried again later) */
            if (rc == 0 && hi - lo == 1 && !S->last_fired && !S->st->timed_out &&
                S->n_essential < SCHED_MAX) {
                sched_el_line(cur, idx[lo], S->essential[S->n_essential], 256);
                S->n_essential++;
                /* the chunks were cut from the old list: start over */
                break;
            }
            if (S->st->timed_out)
                return 0;
        }
        if (reduced)
            n = n > 2 ? n - 1 : 2;
        else if (removable(S, cur, idx) < m)
            continue; /* one more is essential: the same granularity, fewer parts */
        else if (n >= m)
            return 0;
        else
            n = 2 * n > m ? m : 2 * n;
    }
}

/* ---- narrower node sets and message types ---- */

static int split_spec(const char *spec, char tok[][32], int max)
{
    char buf[256], *save = NULL;
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *t = strtok_r(buf, ", \t", &save); t && n < max; t = strtok_r(NULL, ", \t", &save))
        snprintf(tok[n++], 32, "%s", t);
    return n;
}

static int narrow_nodes(struct shrinker *S, struct sched *cur)
{
    for (int i = 0; i < cur->n; i++) {
        for (int side = 0; side < 2 && cur->el[i].kind == SE_FAULT; side++) {
            char tok[SCN_MAX_NODES + 1][32];
            int n, k = 0;
            while ((n = split_spec(side ? cur->el[i].rule.to_spec : cur->el[i].rule.from_spec, tok,
                                   SCN_MAX_NODES + 1)) > 1 &&
                   k < n) {
                struct sched *c = dup_sched(cur);
                char what[320], spec[256] = "";
                size_t off = 0;
                int rc;
                for (int t = 0; t < n; t++)
                    if (t != k)
                        off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%s",
                                                off ? ", " : "", tok[t]);
                if (c)
                    snprintf(side ? c->el[i].rule.to_spec : c->el[i].rule.from_spec,
                             sizeof(c->el[i].rule.to_spec), "%s", spec);
                snprintf(what, sizeof(what), "%s: %s without %s", cur->el[i].rule.name,
                         side ? "to" : "from", tok[k]);
                if ((rc = try_candidate(S, cur, c, what)) < 0)
                    return rc;
                if (S->st->timed_out)
                    return 0;
                if (rc == 0)
                    k++; /* kept: the same k is the next token */
            }
        }
    }
    return 0;
}

static int narrow_messages(struct shrinker *S, struct sched *cur)
{
    for (int i = 0; i < cur->n; i++) {
        for (int t = 0; t < 32; t++) {
            const struct pol_rule *r = &cur->el[i].rule;
            struct sched *c;
            char what[320], v[160];
            int rc;
            if (cur->el[i].kind != SE_FAULT || !r->key_line[PK_MESSAGES] ||
                __builtin_popcount(r->messages) < 2 || !((r->messages >> t) & 1))
                continue;
            if ((c = dup_sched(cur)))
                c->el[i].rule.messages &= ~(1u << t);
            pol_key_format(c ? &c->el[i].rule : r, PK_MESSAGES, v, sizeof(v));
            snprintf(what, sizeof(what), "%s: messages = %s", r->name, v);
            if ((rc = try_candidate(S, cur, c, what)) < 0)
                return rc;
            if (S->st->timed_out)
                return 0;
        }
    }
    return 0;
}

/* direction = both: one way, then the other. */
static int narrow_direction(struct shrinker *S, struct sched *cur)
{
    for (int i = 0; i < cur->n; i++) {
        for (int swap = 0; swap < 2; swap++) {
            struct pol_rule *r = &cur->el[i].rule;
            struct sched *c;
            char what[320];
            int rc;
            if (cur->el[i].kind != SE_FAULT || !r->both)
                break;
            if ((c = dup_sched(cur))) {
                struct pol_rule *cr = &c->el[i].rule;
                cr->both = false;
                if (swap) {
                    char t[sizeof(cr->from_spec)];
                    memcpy(t, cr->from_spec, sizeof(t));
                    memcpy(cr->from_spec, cr->to_spec, sizeof(t));
                    memcpy(cr->to_spec, t, sizeof(t));
                }
            }
            snprintf(what, sizeof(what), "%s: one way, %s -> %s", r->name,
                     swap ? r->to_spec : r->from_spec, swap ? r->from_spec : r->to_spec);
            if ((rc = try_candidate(S, cur, c, what)) < 0)
                return rc;
            if (rc == 1 || S->st->timed_out)
                break;
        }
    }
    return 0;
}

/* ---- times ---- */

static bool one_window(const struct sched_el *e)
{
    return e->kind == SE_FAULT && e->n_ev == 2 && e->ev[0].on && !e->ev[1].on;
}

/* The first step time in [lo, hi), or 0. */
static uint64_t step_in(const struct sched *sc, uint64_t lo, uint64_t hi)
{
    uint64_t best = 0;
    for (int i = 0; i < sc->n; i++) {
        const struct sched_el *e = &sc->el[i];
        if (e->kind != SE_STEP)
            continue;
        if (e->st.at_ns > lo && e->st.at_ns < hi && (!best || e->st.at_ns < best))
            best = e->st.at_ns;
        if (e->has_end && e->end.at_ns > lo && e->end.at_ns < hi && (!best || e->end.at_ns < best))
            best = e->end.at_ns;
    }
    return best;
}

static void fmt_ms(char *out, size_t len, uint64_t ns)
{
    uint64_t ms = ns / MS;
    snprintf(out, len, "%" PRIu64 ".%03" PRIu64 "s", ms / 1000, ms % 1000);
}

/* A window cut until the next cut no longer failed sits on the edge where
 * the failure stops: a replay a little slower than the ones measured misses
 * it. Its end goes halfway back to the longer window before the last cut,
 * which failed as well; the final replays measure the result. */
static void back_off_halfway(struct shrinker *S, struct sched *cur, int i, uint64_t longer)
{
    uint64_t off = cur->el[i].ev[1].at_ns, end = off + (longer - off) / 2;
    cur->el[i].ev[1].at_ns = end;
    if (S->o->log) {
        char a[32], b[32];
        fmt_ms(a, sizeof(a), end);
        fmt_ms(b, sizeof(b), off);
        fprintf(S->o->log,
                "shrink: %s: off at %s, halfway back from %s, the shortest that failed\n",
                cur->el[i].rule.name, a, b);
    }
}

static int shorten_windows(struct shrinker *S, struct sched *cur)
{
    for (int i = 0; i < cur->n; i++) {
        int rc;
        if (!one_window(&cur->el[i]))
            continue;
        /* start just before the step it surrounds */
        {
            uint64_t on = cur->el[i].ev[0].at_ns, off = cur->el[i].ev[1].at_ns;
            uint64_t t = step_in(cur, on, off);
            if (t && t > LEAD_NS && t - LEAD_NS > on + 50 * MS) {
                struct sched *c = dup_sched(cur);
                char what[320], a[32];
                fmt_ms(a, sizeof(a), t - LEAD_NS);
                if (c)
                    c->el[i].ev[0].at_ns = t - LEAD_NS;
                snprintf(what, sizeof(what), "%s: on at %s (just before the step)",
                         cur->el[i].rule.name, a);
                if ((rc = try_candidate(S, cur, c, what)) < 0)
                    return rc;
                if (S->st->timed_out)
                    return 0;
            }
        }
        /* then shorter, by halves */
        uint64_t longer = 0; /* the end before the last cut that was kept */
        for (int k = 0; k < 4; k++) {
            uint64_t on = cur->el[i].ev[0].at_ns, off = cur->el[i].ev[1].at_ns, len = off - on;
            struct sched *c;
            char what[320], a[32];
            if (len / 2 < MIN_WINDOW_NS)
                break;
            if ((c = dup_sched(cur)))
                c->el[i].ev[1].at_ns = on + len / 2;
            fmt_ms(a, sizeof(a), on + len / 2);
            snprintf(what, sizeof(what), "%s: off at %s", cur->el[i].rule.name, a);
            if ((rc = try_candidate(S, cur, c, what)) < 0)
                return rc;
            if (rc == 1)
                longer = off;
            if (rc == 0 || S->st->timed_out) {
                if (longer)
                    back_off_halfway(S, cur, i, longer);
                break;
            }
        }
    }
    return 0;
}

/* kill..restart and pause..resume: half the gap. */
static int shorten_gaps(struct shrinker *S, struct sched *cur)
{
    for (int i = 0; i < cur->n; i++) {
        const struct sched_el *e = &cur->el[i];
        uint64_t gap;
        struct sched *c;
        char what[320], one[256];
        int rc;
        if (e->kind != SE_STEP || !e->has_end || e->end.at_ns <= e->st.at_ns)
            continue;
        gap = e->end.at_ns - e->st.at_ns;
        if (gap / 2 < MIN_GAP_NS)
            continue;
        if ((c = dup_sched(cur)))
            c->el[i].end.at_ns = e->st.at_ns + gap / 2;
        sched_el_line(cur, i, one, sizeof(one));
        snprintf(what, sizeof(what), "%s: half the time until it ends", one);
        if ((rc = try_candidate(S, cur, c, what)) < 0)
            return rc;
        if (S->st->timed_out)
            return 0;
    }
    return 0;
}

/* The wait at the end right after the last event: a shorter replay. */
static int wait_sooner(struct shrinker *S, struct sched *cur)
{
    struct sched *c;
    bool any = false;
    for (int i = 0; i < cur->n; i++)
        any |= cur->el[i].trailing && cur->el[i].gap_ns > WAIT_GAP_NS;
    if (!any)
        return 0;
    if (!(c = dup_sched(cur)))
        return S->stop = SHRINK_ERROR;
    for (int i = 0; i < c->n; i++)
        if (c->el[i].trailing && c->el[i].gap_ns > WAIT_GAP_NS)
            c->el[i].gap_ns = WAIT_GAP_NS;
    return try_candidate(S, cur, c, "wait converged 0.1 s after the last event") < 0 ? S->stop : 0;
}

/* Everything earlier, so that the first event is at FIRST_AT_NS. */
static int move_earlier(struct shrinker *S, struct sched *cur)
{
    uint64_t first = UINT64_MAX, d;
    struct sched *c;
    char what[128], a[32];
    for (int i = 0; i < cur->n; i++) {
        const struct sched_el *e = &cur->el[i];
        if (e->kind == SE_FAULT)
            for (int k = 0; k < e->n_ev; k++)
                first = e->ev[k].at_ns < first ? e->ev[k].at_ns : first;
        else if (!e->trailing)
            first = e->st.at_ns < first ? e->st.at_ns : first;
    }
    if (first == UINT64_MAX || first < FIRST_AT_NS + LEAD_NS)
        return 0;
    d = first - FIRST_AT_NS;
    if (!(c = dup_sched(cur)))
        return S->stop = SHRINK_ERROR;
    for (int i = 0; i < c->n; i++) {
        struct sched_el *e = &c->el[i];
        for (int k = 0; k < e->n_ev; k++)
            e->ev[k].at_ns -= d;
        if (e->kind != SE_FAULT && !e->trailing) {
            e->st.at_ns = e->st.at_ns >= d ? e->st.at_ns - d : 0;
            if (e->has_end)
                e->end.at_ns -= d;
        }
    }
    fmt_ms(a, sizeof(a), d);
    snprintf(what, sizeof(what), "everything %s earlier", a);
    return try_candidate(S, cur, c, what) < 0 ? S->stop : 0;
}

/* The result, final_runs times. */
static void final_replays(struct shrinker *S, const struct sched *sc)
{
    char last[256];
    S->st->final_runs = S->st->final_fired = 0;
    for (int i = 0; i < S->o->final_runs; i++) {
        int rc = S->run(S->ctx, sc, last, sizeof(last));
        if (rc < 0) {
            S->stop = rc;
            return;
        }
        S->st->final_runs++;
        S->st->final_fired += rc == SHRINK_FIRED;
    }
    if (S->o->log)
        fprintf(S->o->log, "shrink: the result failed in %d of %d replays\n", S->st->final_fired,
                S->st->final_runs);
}

int shrink_run(struct sched *sc, const struct shrink_opts *o, shrink_runner run, void *ctx,
               struct shrink_stats *st)
{
    struct shrinker S = {.o = o, .run = run, .ctx = ctx, .st = st};
    struct sched *pre_timing = NULL; /* before the first timing pass */
    int (*const passes[])(struct shrinker *, struct sched *) = {
        ddmin,           narrow_nodes, narrow_direction, narrow_messages,
        shorten_windows, shorten_gaps, wait_sooner,      move_earlier,
    };
    const int first_timing = 4; /* shorten_windows on: timing, kept only if every replay fails */
    memset(st, 0, sizeof(*st));
    S.t0 = now(&S);
    st->faults_before = sched_faults(sc);
    st->steps_before = sched_steps(sc);
    sched_mark_trailing(sc);
    /* the schedule itself: a finding that does not replay cannot be shrunk.
     * It gets at least CONFIRM_MIN_RUNS chances to fail need times: a race
     * that fires 9 times in 10 is not "too rare" for missing once. */
    int confirm_max = o->runs < CONFIRM_MIN_RUNS ? CONFIRM_MIN_RUNS : o->runs;
    while (st->confirm_runs < confirm_max) {
        char last[256];
        int rc = run(ctx, sc, last, sizeof(last));
        if (rc < 0) {
            st->stopped = rc;
            st->ns = now(&S) - S.t0;
            return rc;
        }
        st->confirm_runs++;
        st->replays++;
        st->confirm_fired += rc == SHRINK_FIRED;
        if (st->confirm_fired >= o->need ||
            st->confirm_fired + (confirm_max - st->confirm_runs) < o->need)
            break;
    }
    st->rare = st->confirm_fired < o->need;
    if (o->log)
        fprintf(o->log, "shrink: the schedule itself failed in %d of %d replays%s\n",
                st->confirm_fired, st->confirm_runs,
                st->rare ? ": too rarely to shrink against" : "");
    for (size_t p = 0; !st->rare && p < sizeof(passes) / sizeof(passes[0]); p++) {
        S.strict = (int)p >= first_timing;
        if (S.strict && !pre_timing && !(pre_timing = dup_sched(sc)))
            S.stop = SHRINK_ERROR;
        if (S.stop || passes[p](&S, sc) < 0 || st->timed_out)
            break;
    }
    st->faults_after = sched_faults(sc);
    st->steps_after = sched_steps(sc);
    if (!S.stop && !st->rare) {
        if (o->log && st->timed_out)
            fprintf(o->log, "shrink: time bound reached after %d candidates\n", st->candidates);
        final_replays(&S, sc);
        /* shorter windows that made it fail less often than 4 in 5: back
         * to the schedule before them */
        if (!S.stop && st->timing_kept && pre_timing && st->final_fired * 5 < st->final_runs * 4) {
            if (o->log)
                fprintf(o->log,
                        "shrink: with its times cut it failed in %d of %d: back to the times "
                        "before\n",
                        st->final_fired, st->final_runs);
            st->replays += st->final_runs; /* spent on the undone result */
            sched_free(sc);
            *sc = *pre_timing;
            free(pre_timing);
            pre_timing = NULL;
            st->timing_undone = true;
            final_replays(&S, sc);
        }
    }
    drop_sched(pre_timing);
    st->stopped = S.stop;
    st->ns = now(&S) - S.t0;
    return S.stop;
}
