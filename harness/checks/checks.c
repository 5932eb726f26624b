/* checks: verdicts per check. */
#include "checks.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool checks_seen(const struct run *r, const char *check)
{
    for (int i = 0; i < r->n_obs; i++)
        if (!strcmp(r->obs[i].check, check))
            return true;
    return false;
}

/* The CROSSSLOT audit's check: allow (the default) reports, forbid fails,
 * [expect] crossslot = present needs a finding. */
static void check_crossslot(const struct run *r, struct check_result *c)
{
    const struct scenario *s = r->scn;
    const struct audit *a = r->audit;
    enum scn_rule rule = s->check.crossslot ? s->check.crossslot : SCN_ALLOW;
    c->name = "crossslot";
    c->seen = a->nf > 0;
    snprintf(c->detail, sizeof(c->detail),
             "%d kind%s of request a cluster refuses (%llu requests), %llu CROSSSLOT "
             "error%s seen%s",
             a->nf, a->nf == 1 ? "" : "s", (unsigned long long)au_total(a),
             (unsigned long long)a->crossslot_errors, a->crossslot_errors == 1 ? "" : "s",
             s->expect.crossslot             ? " (expected: present)"
             : rule == SCN_FORBID && c->seen ? " (forbidden)"
                                             : "");
    if (a->server_ops >= 0) {
        size_t o = strlen(c->detail);
        snprintf(c->detail + o, sizeof(c->detail) - o, "; the server counted %lld",
                 (long long)a->server_ops);
    }
    if (s->expect.crossslot)
        c->status = c->seen ? "pass" : "fail";
    else
        c->status = rule == SCN_FORBID && c->seen ? "fail" : "pass";
}

int checks_evaluate(struct run *r, struct check_result *res)
{
    const struct scenario *s = r->scn;
    static const char *const names[] = {"cycles",     "lost_slots",       "crashes",
                                        "open_slots", "chained_replicas", "empty_primaries"};
    const enum scn_rule rules[] = {s->check.cycles,           s->check.lost_slots,
                                   s->check.crashes,          s->check.open_slots,
                                   s->check.chained_replicas, s->check.empty_primaries};
    const bool expect[] = {s->expect.cycles,           s->expect.lost_slots,
                           s->expect.crashes,          false,
                           s->expect.chained_replicas, s->expect.empty_primaries};
    int n = 0;
    for (size_t k = 0; k < 6; k++) {
        if (s->standalone && strcmp(names[k], "crashes") != 0)
            continue; /* one server: no views, no slots */
        struct check_result *c = &res[n++];
        c->name = names[k];
        c->seen = checks_seen(r, names[k]);
        /* Defaults: forbid everything a healthy cluster never shows. */
        enum scn_rule rule = rules[k] ? rules[k] : SCN_FORBID;
        if (expect[k]) {
            c->status = c->seen ? "pass" : "fail";
            snprintf(c->detail, sizeof(c->detail), "%s (expected: present)",
                     c->seen ? "seen" : "NOT seen");
        } else if (rule == SCN_FORBID) {
            c->status = c->seen ? "fail" : "pass";
            snprintf(c->detail, sizeof(c->detail), "%s", c->seen ? "seen (forbidden)" : "none");
        } else {
            c->status = "pass";
            snprintf(c->detail, sizeof(c->detail), "%s (allowed)", c->seen ? "seen" : "none");
        }
    }
    if (s->writers > 0) {
        struct check_result *c = &res[n++];
        enum scn_rule rule = s->check.lost_writes ? s->check.lost_writes : SCN_FORBID;
        c->name = "lost_writes";
        c->seen = checks_seen(r, "lost_writes");
        snprintf(c->detail, sizeof(c->detail),
                 "%d acknowledged writes lost on %d keys, %d applied without "
                 "acknowledgement, %d keys unreadable",
                 r->wl_res.lost_writes, r->wl_res.lost_keys, r->wl_res.unacked_applied,
                 r->wl_res.unreadable);
        if (s->expect.lost_writes)
            c->status = c->seen ? "pass" : "fail";
        else
            c->status = rule == SCN_FORBID && c->seen ? "fail" : "pass";
    }
    if (s->n_probes > 0) {
        struct check_result *c = &res[n++];
        size_t off = 0;
        bool all = true;
        c->name = "heal";
        for (int i = 0; i < s->n_probes; i++) {
            const struct probe_rt *p = &r->probes[i];
            bool in_time =
                p->healed && (!s->check.heal_within_ns ||
                              (uint64_t)p->heal_ms * 1000000ull <= s->check.heal_within_ns);
            /* [expect] never_heals: the known bug is that it does not heal. */
            bool ok = (s->expect.never_heals >> i) & 1 ? !p->healed : in_time;
            all &= ok;
            if (off >= sizeof(c->detail))
                continue; /* the detail is full; every probe still counts */
            if (p->healed)
                off += (size_t)snprintf(c->detail + off, sizeof(c->detail) - off,
                                        "%s%s %" PRId64 " ms", i ? ", " : "", p->cfg->name,
                                        p->heal_ms);
            else
                off += (size_t)snprintf(c->detail + off, sizeof(c->detail) - off, "%s%s never%s",
                                        i ? ", " : "", p->cfg->name,
                                        (s->expect.never_heals >> i) & 1 ? " (expected)" : "");
        }
        c->seen = !all;
        c->status = all ? "pass" : "fail";
    }
    if (s->app.on) {
        struct check_result *c = &res[n++];
        c->name = "app";
        c->status = app_verdict(r, c->detail, sizeof(c->detail)) ? "pass" : "fail";
        c->seen = !strcmp(c->status, "fail");
    }
    if (r->audit)
        check_crossslot(r, &res[n++]);
    /* Convergence after the last step. */
    struct check_result *c = &res[n++];
    c->name = "convergence";
    if (r->converged_ms < 0) {
        c->status = "fail";
        snprintf(c->detail, sizeof(c->detail), "not converged after the last step");
        c->seen = false;
    } else {
        int64_t took = r->converged_ms - r->last_step_ms;
        if (took < 0)
            took = 0;
        c->seen = true;
        if (s->check.converge_within_ns &&
            (uint64_t)took * 1000000ull > s->check.converge_within_ns) {
            c->status = "fail";
            snprintf(c->detail, sizeof(c->detail),
                     "converged %" PRId64 " ms after the last "
                     "step (limit %" PRIu64 " ms)",
                     took, s->check.converge_within_ns / 1000000);
        } else {
            c->status = "pass";
            snprintf(c->detail, sizeof(c->detail), "converged %" PRId64 " ms after the last step",
                     took);
        }
    }
    return n;
}

/* A top-level counter of the shim's stats object (before its "rules"). */
static uint64_t stat_u64(const char *json, const char *key)
{
    char pat[64], *end;
    const char *rules = strstr(json, "\"rules\":"), *at;
    unsigned long long v;
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    at = strstr(json, pat);
    if (!at || (rules && at > rules))
        return 0;
    errno = 0;
    v = strtoull(at + strlen(pat), &end, 10);
    return errno || end == at + strlen(pat) ? 0 : (uint64_t)v;
}

/* The shim could not apply every fault: its kernel queue was full (what
 * arrived then was dropped or passed unheld), or verdicts were lost. Then
 * no finding, and no absence of one, can be trusted. */
bool checks_faults_not_applied(struct run *r, char *why, size_t wl)
{
    const char *st = r->shim_stats;
    const struct scenario *s = r->scn;
    uint64_t full, over, user, verr;
    why[0] = '\0';
    /* exits or logs rift could not read: no crash seen is not no crash */
    if (r->unseen[0]) {
        snprintf(why, wl, "%s", r->unseen);
        return true;
    }
    /* an audit that missed traffic cannot vouch for its absence of findings */
    if (r->audit && !r->audit->nf && (s->check.crossslot == SCN_FORBID || s->expect.crossslot) &&
        (r->sniff.err[0] || au_unread(r->audit))) {
        snprintf(why, wl, "crossslot audit: %s",
                 r->sniff.err[0] ? r->sniff.err
                                 : "it could not read all the traffic (lost frames, holes or "
                                   "undecodable bytes)");
        return true;
    }
    if (!st) {
        if (r->scn->faults.n_rules)
            snprintf(why, wl, "the shim's counters could not be read (%s)", r->shim_err);
        return why[0] != '\0';
    }
    full = stat_u64(st, "queue_full");
    over = stat_u64(st, "queue_overflows");
    user = stat_u64(st, "queue_user_dropped");
    verr = stat_u64(st, "verdict_errors");
    if (!full && !over && !user && !verr)
        return false;
    {
        size_t off = 0;
        int n = snprintf(why, wl, "faults not applied in full:");
        off = n > 0 ? (size_t)n : 0;
        if (full && off < wl) {
            n = snprintf(why + off, wl - off,
                         " the shim's kernel queue (queue_maxlen %" PRIu64 ") was full %" PRIu64
                         " time%s for %" PRIu64 " ms%s",
                         stat_u64(st, "queue_maxlen"), full, full == 1 ? "" : "s",
                         stat_u64(st, "queue_full_ms"),
                         r->scn->faults.shim.overflow_pass
                             ? "; with on_overflow = pass what arrived then passed without the "
                               "faults (the kernel does not count it)"
                             : "");
            off += n > 0 ? (size_t)n : 0;
        }
        if (over && off < wl) {
            n = snprintf(why + off, wl - off,
                         "%s %" PRIu64 " packets dropped by the kernel "
                         "(queue full)",
                         full ? ";" : "", over);
            off += n > 0 ? (size_t)n : 0;
        }
        if (user && off < wl) {
            n = snprintf(why + off, wl - off, "; %" PRIu64 " packets lost to a full queue socket",
                         user);
            off += n > 0 ? (size_t)n : 0;
        }
        if (verr && off < wl)
            snprintf(why + off, wl - off, "; %" PRIu64 " verdict errors", verr);
    }
    return true;
}
