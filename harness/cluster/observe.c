/* observe: observations, samples, exits, logs. */
#include "observe.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../policies/esc.h"

#include "../observe/viewlog.h"
#include "nodes.h"

int obs_views_open(struct run *r, char *err, size_t el)
{
    const struct scenario *scn = r->scn;
    uint32_t ips[SCN_MAX_NODES];
    char vp[300];
    snprintf(vp, sizeof(vp), "%s/views.jsonl", r->tmp);
    for (int i = 0; i < scn->n_nodes; i++)
        ips[i] = scn_node_ip(scn, i);
    if (!(r->views = malloc(sizeof(*r->views))) ||
        viewlog_open(r->views, vp, scn->n_nodes, (const char(*)[16])scn->names, ips) < 0) {
        free(r->views);
        r->views = NULL;
        snprintf(err, el, "cannot write %s", vp);
        return -1;
    }
    return 0;
}

void obs_views_close(struct run *r)
{
    if (!r->views)
        return;
    viewlog_close(r->views);
    run_progress(r,
                 "views.jsonl: %" PRIu64 " bytes: %" PRIu64 " whole views and %" PRIu64
                 " 'same' lines for %" PRIu64 " samples",
                 r->views->bytes, r->views->full, r->views->same, r->views->samples);
    free(r->views);
    r->views = NULL;
}

bool obs_converged(struct run *r, char *why, size_t wl)
{
    const struct view *vs[SCN_MAX_NODES];
    int n = 0;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        if (r->nodes[i].down || r->nodes[i].paused)
            continue;
        if (r->scn->standalone) { /* settled: the server answers */
            if (!r->nodes[i].answered) {
                snprintf(why, wl, "%s does not answer", r->scn->names[i]);
                return false;
            }
            continue;
        }
        if (!r->nodes[i].have_view) {
            snprintf(why, wl, "no view from %s", r->scn->names[i]);
            return false;
        }
        vs[n++] = &r->nodes[i].view;
    }
    return r->scn->standalone || view_converged(vs, n, why, wl);
}

void obs_record(struct run *r, const char *check, const char *observer, const char *what)
{
    obs_record_fields(r, check, observer, what, NULL);
}

void obs_record_fields(struct run *r, const char *check, const char *observer, const char *what,
                       const struct obs_fields *f)
{
    int64_t t = run_ms(r);
    for (int i = r->n_obs - 1; i >= 0; i--) {
        struct obs *o = &r->obs[i];
        if (!strcmp(o->check, check) && !strcmp(o->observer, observer) && !strcmp(o->what, what)) {
            o->last_ms = t;
            o->samples++;
            return;
        }
    }
    if (r->n_obs == MAX_OBS)
        return;
    struct obs *o = &r->obs[r->n_obs++];
    snprintf(o->check, sizeof(o->check), "%s", check);
    snprintf(o->observer, sizeof(o->observer), "%s", observer);
    snprintf(o->what, sizeof(o->what), "%s", what);
    o->first_ms = o->last_ms = t;
    o->samples = 1;
    if (f)
        o->f = *f;
    if (strcmp(observer, "ledger") != 0)
        run_progress(r, "%s seen by %s: %s", check, observer, what);
}

const char *obs_name_of(const struct run *r, const char *id)
{
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (!strcmp(r->nodes[i].id, id))
            return r->scn->names[i];
    return "?";
}

static void analyse(struct run *r, int i)
{
    const struct view *v = &r->nodes[i].view;
    const char *me = r->scn->names[i];
    int cyc[VIEW_MAX_NODES], len;
    uint16_t ranges[16][2];
    int nr, lost;
    char what[256];
    size_t off = 0;

    len = view_cycle(v, cyc, VIEW_MAX_NODES);
    if (len > 0) {
        struct obs_fields f = {0};
        for (int k = 0; k < len && off < sizeof(what) - 40; k++) {
            const char *name = obs_name_of(r, v->nodes[cyc[k]].id);
            off += (size_t)snprintf(what + off, sizeof(what) - off, "%s -> ", name);
            if (f.n_nodes < OBS_MAX_NODES)
                snprintf(f.nodes[f.n_nodes++], sizeof(f.nodes[0]), "%s", name);
        }
        snprintf(what + off, sizeof(what) - off, "%s", obs_name_of(r, v->nodes[cyc[0]].id));
        obs_record_fields(r, "cycles", me, what, &f);
    }
    lost = view_lost_slots(v, ranges, OBS_MAX_RANGES, &nr);
    if (lost > 0) {
        struct obs_fields f = {0};
        off = 0;
        for (int k = 0; k < nr && k < OBS_MAX_RANGES && off < sizeof(what) - 40; k++) {
            off += (size_t)snprintf(what + off, sizeof(what) - off, "%s%u-%u", k ? "," : "",
                                    ranges[k][0], ranges[k][1]);
            f.ranges[f.n_ranges][0] = ranges[k][0];
            f.ranges[f.n_ranges++][1] = ranges[k][1];
        }
        if (nr > OBS_MAX_RANGES)
            snprintf(what + off, sizeof(what) - off, ",...");
        obs_record_fields(r, "lost_slots", me, what, &f);
    }
}

/* One round: CLUSTER NODES and cluster_state of every live node. */
/* How long each recorded sampling round took (all nodes, one after the
 * other): the report's "sampling". */
static void round_time(struct run *r, uint64_t ns)
{
    if (r->n_rounds == r->cap_rounds) {
        int cap = r->cap_rounds ? r->cap_rounds * 2 : 1024;
        uint32_t *p = realloc(r->round_us, sizeof(*p) * (size_t)cap);
        if (!p)
            return;
        r->round_us = p;
        r->cap_rounds = cap;
    }
    r->round_us[r->n_rounds++] = (uint32_t)(ns / 1000 < UINT32_MAX ? ns / 1000 : UINT32_MAX);
}

bool obs_sample(struct run *r, bool record)
{
    int64_t t = run_ms(r);
    uint64_t t0 = run_now_ns();
    bool all = true;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        struct node_rt *n = &r->nodes[i];
        redisReply *nodes, *info;
        char err[256];
        if (n->down || n->paused) {
            n->have_view = false;
            n->answered = false;
            if (record && r->views)
                viewlog_quiet(r->views, i);
            continue;
        }
        if (r->scn->standalone) { /* no cluster view: whether it answers */
            redisReply *pong = node_cmd(r, i, "PING");
            n->answered = pong && pong->type == REDIS_REPLY_STATUS;
            all &= n->answered;
            if (pong)
                freeReplyObject(pong);
            continue;
        }
        nodes = node_cmd(r, i, "CLUSTER NODES");
        info = nodes ? node_cmd(r, i, "CLUSTER INFO") : NULL;
        if (!nodes || nodes->type != REDIS_REPLY_STRING || !info ||
            info->type != REDIS_REPLY_STRING ||
            view_parse(&n->view, nodes->str, err, sizeof(err)) < 0) {
            n->have_view = false;
            all = false;
            if (record && r->views)
                viewlog_quiet(r->views, i);
        } else {
            n->have_view = true;
            n->view.state_ok = strstr(info->str, "cluster_state:ok") != NULL;
            if (record) {
                if (r->views)
                    viewlog_sample(r->views, i, t, n->view.state_ok, &n->view, nodes->str);
                analyse(r, i);
            }
        }
        if (nodes)
            freeReplyObject(nodes);
        if (info)
            freeReplyObject(info);
    }
    if (record)
        round_time(r, run_now_ns() - t0);
    return all;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

bool obs_round_stats(const struct run *r, double *median_ms, double *p99_ms, double *max_ms)
{
    uint32_t *us;
    if (!r->n_rounds || !(us = malloc(sizeof(*us) * (size_t)r->n_rounds)))
        return false;
    int mid = r->n_rounds / 2, p99 = r->n_rounds * 99 / 100;
    memcpy(us, r->round_us, sizeof(*us) * (size_t)r->n_rounds);
    qsort(us, (size_t)r->n_rounds, sizeof(*us), cmp_u32);
    *median_ms = (double)us[mid] / 1000.0;
    *p99_ms = (double)us[p99] / 1000.0;
    *max_ms = (double)us[r->n_rounds - 1] / 1000.0;
    free(us);
    return true;
}

/* Unexpected exits: a crash finding, not a harness error. */
void obs_reap_nodes(struct run *r)
{
    if (r->hr)
        return; /* a round trip per host: before steps only (step_run), and at the end */
    for (int i = 0; r->remote && i < r->scn->n_nodes; i++) {
        /* an attached cluster's node: its process gone while no step
         * stopped it */
        struct node_rt *n = &r->nodes[i];
        if (n->down || r->remote->alive(r, i))
            continue;
        char what[128];
        snprintf(what, sizeof(what), "%s exited (its process is gone)", r->scn->names[i]);
        obs_record(r, "crashes", r->scn->names[i], what);
        node_down(r, i, "exited on its own at %.3f s", (double)run_ms(r) / 1000.0);
        n->paused = false;
    }
    for (int i = 0; i < r->scn->n_nodes; i++) {
        struct node_rt *n = &r->nodes[i];
        int status;
        if (n->pid <= 0 || !proc_reap(n->pid, &status))
            continue;
        if (!n->down) {
            char what[128];
            snprintf(what, sizeof(what), "%s exited (%s %d)", r->scn->names[i],
                     WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            obs_record(r, "crashes", r->scn->names[i], what);
            node_down(r, i, "exited on its own at %.3f s", (double)run_ms(r) / 1000.0);
        }
        n->down = true;
        n->paused = false;
        n->pid = 0;
    }
}

void obs_scan_logs(struct run *r)
{
    static const char *const marks[] = {"ASSERTION FAILED", "BUG REPORT START", "crashed by signal",
                                        "Guru Meditation"};
    for (int i = 0; i < r->scn->n_nodes; i++) {
        FILE *f = fopen(r->nodes[i].log, "r");
        char line[1024];
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
                if (strstr(line, marks[k])) {
                    char next[1024], what[1024];
                    const char *expr;
                    line[strcspn(line, "\n")] = '\0';
                    snprintf(what, sizeof(what), "%s", line);
                    /* the failed assertion itself is on the next line: "==> file:line 'expr'" */
                    if (k == 0 && fgets(next, sizeof(next), f) && (expr = strstr(next, "==> ")))
                        snprintf(what, sizeof(what), "ASSERTION FAILED: %.*s",
                                 (int)strcspn(expr + 4, "\n"), expr + 4);
                    obs_record(r, "crashes", r->scn->names[i], what);
                    break;
                }
        }
        fclose(f);
    }
}

void obs_ledger(void *ctx, const char *check, const char *what)
{
    obs_record(ctx, check, "ledger", what);
}

/* Was node id one of the scenario's primaries when the cluster was built? */
static bool primary_at_start(const struct run *r, const char *id)
{
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (r->scn->primary_of[i] < 0 && !strcmp(r->nodes[i].id, id))
            return true;
    return false;
}

void obs_final_roles(struct run *r)
{
    for (int i = 0; i < r->scn->n_nodes; i++) {
        const struct view *v = &r->nodes[i].view;
        int chain[3];
        if (!r->nodes[i].have_view)
            continue;
        for (int x = 0; (x = view_chained(v, x, chain)) >= 0; x++) {
            char what[160];
            struct obs_fields f = {.n_nodes = chain[2] >= 0 ? 3 : 2};
            for (int k = 0; k < f.n_nodes; k++)
                snprintf(f.nodes[k], sizeof(f.nodes[k]), "%s",
                         obs_name_of(r, v->nodes[chain[k]].id));
            snprintf(what, sizeof(what), "%s is a replica of %s, which is a replica of %s",
                     f.nodes[0], f.nodes[1], f.n_nodes == 3 ? f.nodes[2] : "?");
            obs_record_fields(r, "chained_replicas", r->scn->names[i], what, &f);
        }
        for (int x = 0; x < v->n; x++) {
            const struct view_node *n = &v->nodes[x];
            char what[160];
            struct obs_fields f = {.n_nodes = 1};
            if (!(n->flags & VIEW_F_PRIMARY) || (n->flags & VIEW_F_FAIL) || view_slots_of(v, x) ||
                primary_at_start(r, n->id))
                continue;
            snprintf(f.nodes[0], sizeof(f.nodes[0]), "%s", obs_name_of(r, n->id));
            snprintf(what, sizeof(what), "%s is a primary with no slots (a replica at the start)",
                     f.nodes[0]);
            obs_record_fields(r, "empty_primaries", r->scn->names[i], what, &f);
        }
    }
}

void obs_open_slots(struct run *r)
{
    for (int i = 0; i < r->scn->n_nodes; i++) {
        const struct view *v = &r->nodes[i].view;
        for (int k = 0; r->nodes[i].have_view && k < v->n_open; k++) {
            char what[96];
            struct obs_fields f = {.n_ranges = 1, .n_nodes = 1};
            snprintf(what, sizeof(what), "slot %u %s %s", v->open[k].slot,
                     v->open[k].importing ? "importing from" : "migrating to",
                     obs_name_of(r, v->open[k].peer));
            f.ranges[0][0] = f.ranges[0][1] = v->open[k].slot;
            snprintf(f.nodes[0], sizeof(f.nodes[0]), "%s", obs_name_of(r, v->open[k].peer));
            obs_record_fields(r, "open_slots", r->scn->names[i], what, &f);
        }
    }
}
