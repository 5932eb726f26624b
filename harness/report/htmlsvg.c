/* htmlsvg: the report page's timeline as one inline SVG. Every mark carries
 * its numbers in data- attributes (and a <title> shown on hover), so the
 * page can be checked by a parser as well as looked at. */
#include "html.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LEFT 130
#define PLOT_W 1000
#define WIDTH (LEFT + PLOT_W + 20)
#define LABEL_ROWS 3
#define AXIS_Y (LABEL_ROWS * 13 + 16)
#define FAULT_ROW 15
#define BAND_H 24 /* the slot owner band */
#define ROW_H 3   /* one row per node in a lane */
#define STATE_H 4
#define CLIENT_H 26
#define WL_H 40

struct svg {
    FILE *f;
    const struct run *r;
    const struct vtrack *vt;
    int64_t t_end;
    int y; /* next free row */
};

static double X(const struct svg *s, int64_t t)
{
    if (t < 0)
        t = 0;
    if (t > s->t_end)
        t = s->t_end;
    return LEFT + (double)t * PLOT_W / (double)s->t_end;
}

static double W(const struct svg *s, int64_t t0, int64_t t1)
{
    double w = X(s, t1) - X(s, t0);
    return w < 1.0 ? 1.0 : w;
}

static const char *const shard_hue[] = {"#4e79a7", "#59a14f", "#9c6ade", "#f28e2b",
                                        "#76b7b2", "#edc948", "#b07aa1", "#9d7660"};
static const char *const shard_light[] = {"#a7c0de", "#a9d39f", "#cdb3ee", "#f9c795",
                                          "#bbdcd9", "#f6e4a3", "#d8bdd0", "#ceb9af"};

/* A slot owner's colour: its shard's hue, lighter when the owner is not
 * the shard's first primary (a replica that took over). */
static const char *owner_colour(const struct scenario *scn, int node)
{
    int shard;
    if (node < 0)
        return "#e6e6e6";
    shard = scn->primary_of[node] < 0 ? node : scn->primary_of[node];
    return (scn->primary_of[node] < 0 ? shard_hue : shard_light)[shard % 8];
}

static const char *const kind_colour[] = {"#d62728", "#ff7f0e", "#8c564b", "#e377c2",
                                          "#7f7f7f", "#bcbd22", "#17becf", "#9467bd"};

static void fmt_s(char *out, size_t len, int64_t ms)
{
    snprintf(out, len, "%.3f s", (double)ms / 1000.0);
}

/* Step labels in rows above the axis, each a vertical line to the bottom
 * (drawn last, once the height is known). */
static void steps_and_axis(struct svg *s)
{
    FILE *f = s->f;
    double last_end[LABEL_ROWS] = {0};
    int64_t tick = 100;
    static const int64_t nice[] = {100, 200, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000};
    for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]) && s->t_end / nice[i] > 12; i++)
        tick = i + 1 < sizeof(nice) / sizeof(nice[0]) ? nice[i + 1] : nice[i];
    fprintf(f, "<g class=\"axis\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", LEFT, AXIS_Y,
            LEFT + PLOT_W, AXIS_Y);
    for (int64_t t = 0; t <= s->t_end; t += tick)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/><text x=\"%.1f\" y=\"%d\" "
                "class=\"tick\">%g s</text>",
                X(s, t), AXIS_Y - 3, X(s, t), AXIS_Y + 3, X(s, t), AXIS_Y + 14, (double)t / 1000.0);
    fputs("</g>\n", f);
    for (int i = 0; i < s->r->steps_done; i++) {
        const struct step_rec *st = &s->r->steps[i];
        double x = X(s, st->t_ms);
        int row = 0;
        for (int k = 0; k < LABEL_ROWS; k++)
            if (last_end[k] < x) {
                row = k;
                break;
            } else if (last_end[k] < last_end[row]) {
                row = k;
            }
        last_end[row] = x + 6.2 * (double)strlen(st->step) + 8;
        fprintf(f, "<text class=\"step-label%s\" x=\"%.1f\" y=\"%d\">",
                st->skipped[0] ? " skipped" : "", x + 2, 11 + row * 13);
        esc_xml(f, st->step);
        fputs("</text>\n", f);
    }
    s->y = AXIS_Y + 24;
}

static void step_lines(struct svg *s)
{
    for (int i = 0; i < s->r->steps_done; i++) {
        const struct step_rec *st = &s->r->steps[i];
        char t[24];
        fmt_s(t, sizeof(t), st->t_ms);
        fprintf(s->f,
                "<line class=\"step\" data-t-ms=\"%" PRId64 "\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                "y2=\"%d\"><title>",
                st->t_ms, X(s, st->t_ms), 4, X(s, st->t_ms), s->y);
        esc_xml(s->f, t);
        fputs(": ", s->f);
        esc_xml(s->f, st->step);
        if (st->skipped[0]) {
            fputs(" (skipped: ", s->f);
            esc_xml(s->f, st->skipped);
            fputc(')', s->f);
        }
        fputs("</title></line>\n", s->f);
    }
}

/* Windows of fault k: [on, off) pairs from the steps as they ran. */
static int fault_windows(const struct svg *s, int k, int64_t (*win)[2], int max)
{
    const struct scenario *scn = s->r->scn;
    int n = 0;
    bool on = false;
    for (int i = 0; i < s->r->steps_done && i < scn->n_steps; i++) {
        const struct scn_step *st = &scn->steps[i];
        if (st->kind != STEP_FAULT || st->fault != k || s->r->steps[i].skipped[0])
            continue;
        if (st->on && !on && n < max) {
            win[n][0] = s->r->steps[i].t_ms;
            win[n++][1] = s->t_end;
            on = true;
        } else if (!st->on && on) {
            win[n - 1][1] = s->r->steps[i].t_ms;
            on = false;
        }
    }
    return n;
}

/* One row per fault with its windows and what it does; the windows are
 * shaded again over the lanes of the nodes they touch (fault_shades). */
static void fault_rows(struct svg *s)
{
    const struct policy *p = &s->r->scn->faults;
    for (int k = 0; k < p->n_rules; k++) {
        const struct pol_rule *ru = &p->rules[k];
        int64_t win[16][2];
        int n = fault_windows(s, k, win, 16);
        char eff[200];
        if (!n)
            continue;
        pol_rule_effect(ru, eff, sizeof(eff));
        fprintf(s->f, "<g class=\"fault-row\" data-fault=\"");
        esc_xml(s->f, ru->name);
        fprintf(s->f, "\"><text class=\"lane-label\" x=\"4\" y=\"%d\">fault ", s->y + 11);
        esc_xml(s->f, ru->name);
        fputs("</text>", s->f);
        for (int i = 0; i < n; i++) {
            fprintf(s->f,
                    "<rect class=\"fault-window\" data-on-ms=\"%" PRId64 "\" data-off-ms=\"%" PRId64
                    "\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>",
                    win[i][0], win[i][1], X(s, win[i][0]), s->y + 2, W(s, win[i][0], win[i][1]),
                    FAULT_ROW - 4);
        }
        fprintf(s->f, "<text class=\"fault-text\" x=\"%.1f\" y=\"%d\">", X(s, win[0][0]) + 3,
                s->y + 11);
        esc_xml(s->f, ru->from_spec);
        fputs(ru->both ? " &lt;-&gt; " : " -&gt; ", s->f);
        esc_xml(s->f, ru->to_spec);
        fputc(' ', s->f);
        esc_xml(s->f, eff);
        fputs("</text></g>\n", s->f);
        s->y += FAULT_ROW;
    }
    s->y += 6;
}

/* Does fault rule ru touch scenario node i (by name, either side)? */
static bool fault_touches(const struct policy *p, const struct pol_rule *ru, const char *name)
{
    for (int b = 0; b < p->n_nodes; b++)
        if (!strcmp(p->nodes[b].name, name))
            return ((ru->from | ru->to) >> b) & 1;
    return false;
}

static void fault_shades(struct svg *s, int node, int y, int h)
{
    const struct policy *p = &s->r->scn->faults;
    for (int k = 0; k < p->n_rules; k++) {
        int64_t win[16][2];
        int n;
        if (!fault_touches(p, &p->rules[k], s->r->scn->names[node]))
            continue;
        n = fault_windows(s, k, win, 16);
        for (int i = 0; i < n; i++) {
            fprintf(s->f, "<rect class=\"fault\" data-fault=\"");
            esc_xml(s->f, p->rules[k].name);
            fprintf(s->f, "\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n",
                    X(s, win[i][0]), y, W(s, win[i][0], win[i][1]), h);
        }
    }
}

static bool same_band(const struct vt_state *a, const struct vt_state *b)
{
    if (a->n_ranges != b->n_ranges)
        return false;
    for (int k = 0; k < a->n_ranges; k++)
        if (!vt_same_range(&a->ranges[k], &b->ranges[k]))
            return false;
    return true;
}

/* The slot owner band: one column of rectangles per stretch in which the
 * owners did not change. */
static void owner_band(struct svg *s, const struct vt_lane *l, int y)
{
    const struct scenario *scn = s->r->scn;
    for (int i = 0; i < l->n;) {
        int j = i;
        while (j + 1 < l->n && same_band(&l->seg[i].st, &l->seg[j + 1].st) &&
               l->seg[j + 1].t0 - l->seg[j].t1 <= VT_GAP_MS)
            j++;
        for (int k = 0; k < l->seg[i].st.n_ranges; k++) {
            const struct vt_range *rg = &l->seg[i].st.ranges[k];
            double y0 = y + (double)rg->lo * BAND_H / 16384.0;
            double h = (double)(rg->hi - rg->lo + 1) * BAND_H / 16384.0;
            bool lost = rg->lost;
            fprintf(s->f,
                    "<rect class=\"owner%s\" x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" "
                    "height=\"%.2f\" fill=\"%s\"><title>slots %u-%u: %s%s</title></rect>\n",
                    lost ? " lost" : "", X(s, l->seg[i].t0), y0, W(s, l->seg[i].t0, l->seg[j].t1),
                    h < 0.5 ? 0.5 : h, owner_colour(scn, rg->owner), rg->lo, rg->hi,
                    rg->owner >= 0 ? scn->names[rg->owner] : "no owner",
                    lost ? " (lost: not a healthy primary in this view)" : "");
            if (lost)
                fprintf(s->f,
                        "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" height=\"%.2f\" "
                        "fill=\"url(#lost)\"/>\n",
                        X(s, l->seg[i].t0), y0, W(s, l->seg[i].t0, l->seg[j].t1),
                        h < 0.5 ? 0.5 : h);
        }
        i = j + 1;
    }
}

static const char *role_class(const struct vt_state *st, int node)
{
    if (st->flag[node] == VT_FLAG_FAIL)
        return "fail";
    if (st->flag[node] == VT_FLAG_PFAIL)
        return "pfail";
    return st->role[node] == VT_ROLE_PRIMARY ? "primary" : "replica";
}

/* One thin row per node the observer knows: role, primary, PFAIL/FAIL. */
static void node_rows(struct svg *s, int obs, const struct vt_lane *l, int y)
{
    const struct scenario *scn = s->r->scn;
    for (int node = 0; node < s->vt->n_nodes; node++)
        for (int i = 0; i < l->n;) {
            const struct vt_state *a = &l->seg[i].st;
            int j = i;
            while (j + 1 < l->n && l->seg[j + 1].st.role[node] == a->role[node] &&
                   l->seg[j + 1].st.primary[node] == a->primary[node] &&
                   l->seg[j + 1].st.flag[node] == a->flag[node] &&
                   l->seg[j + 1].t0 - l->seg[j].t1 <= VT_GAP_MS)
                j++;
            if (a->role[node] != VT_ROLE_NONE) {
                char what[96], t0[24], t1[24];
                vt_describe(a, node, scn->names, what, sizeof(what));
                fmt_s(t0, sizeof(t0), l->seg[i].t0);
                fmt_s(t1, sizeof(t1), l->seg[j].t1);
                fprintf(s->f,
                        "<rect class=\"role %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
                        "<title>%s sees %s from %s to %s: %s</title></rect>\n",
                        role_class(a, node), X(s, l->seg[i].t0), y + node * ROW_H,
                        W(s, l->seg[i].t0, l->seg[j].t1), ROW_H - 1, scn->names[obs],
                        scn->names[node], t0, t1, what);
            }
            i = j + 1;
        }
}

/* What changed between two states of one observer's view, as text. */
static void changes(const struct scenario *scn, const struct vt_state *a, const struct vt_state *b,
                    int n_nodes, char *out, size_t len)
{
    size_t off = 0;
    out[0] = 0;
    for (int node = 0; node < n_nodes && off < len; node++) {
        char what[96];
        if (a->role[node] == b->role[node] && a->primary[node] == b->primary[node] &&
            a->flag[node] == b->flag[node])
            continue;
        vt_describe(b, node, scn->names, what, sizeof(what));
        off += (size_t)snprintf(out + off, len - off, "%s%s: %s", off ? "; " : "", scn->names[node],
                                what);
    }
    if (a->ok != b->ok && off < len)
        off += (size_t)snprintf(out + off, len - off, "%scluster_state %s", off ? "; " : "",
                                b->ok ? "ok" : "fail");
    if (!same_band(a, b) && off < len)
        snprintf(out + off, len - off, "%sslot owners changed", off ? "; " : "");
}

/* A mark where the observer's view changed, saying what changed. */
static void change_marks(struct svg *s, const struct vt_lane *l, int y)
{
    for (int i = 1; i < l->n; i++) {
        char what[600], t[24];
        if (l->seg[i].t0 - l->seg[i - 1].t1 > VT_GAP_MS)
            snprintf(what, sizeof(what), "no view for %.3f s (the node did not answer)",
                     (double)(l->seg[i].t0 - l->seg[i - 1].t1) / 1000.0);
        else
            changes(s->r->scn, &l->seg[i - 1].st, &l->seg[i].st, s->vt->n_nodes, what,
                    sizeof(what));
        fmt_s(t, sizeof(t), l->seg[i].t0);
        fprintf(s->f,
                "<path class=\"change\" data-t-ms=\"%" PRId64 "\" d=\"M%.1f %d l3 -4 h-6 z\">"
                "<title>%s: ",
                l->seg[i].t0, X(s, l->seg[i].t0), y, t);
        esc_xml(s->f, what);
        fputs("</title></path>\n", s->f);
    }
}

static void state_strip(struct svg *s, const struct vt_lane *l, int y)
{
    for (int i = 0; i < l->n;) {
        int j = i;
        while (j + 1 < l->n && l->seg[j + 1].st.ok == l->seg[i].st.ok &&
               l->seg[j + 1].t0 - l->seg[j].t1 <= VT_GAP_MS)
            j++;
        fprintf(s->f,
                "<rect class=\"state %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
                "<title>cluster_state %s</title></rect>\n",
                l->seg[i].st.ok ? "ok" : "down", X(s, l->seg[i].t0), y,
                W(s, l->seg[i].t0, l->seg[j].t1), STATE_H, l->seg[i].st.ok ? "ok" : "fail");
        i = j + 1;
    }
}

static void finding_bars(struct svg *s, const char *observer, int y, int h)
{
    for (int k = 0; k < s->r->n_obs; k++) {
        const struct obs *o = &s->r->obs[k];
        char t0[24], t1[24];
        if (strcmp(o->observer, observer) != 0)
            continue;
        fmt_s(t0, sizeof(t0), o->first_ms);
        fmt_s(t1, sizeof(t1), o->last_ms);
        fprintf(s->f,
                "<rect class=\"finding\" data-check=\"%s\" data-observer=\"%s\" "
                "data-first-ms=\"%" PRId64 "\" data-last-ms=\"%" PRId64
                "\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
                "<title>",
                o->check, observer, o->first_ms, o->last_ms, X(s, o->first_ms), y,
                W(s, o->first_ms, o->last_ms + 20) < 3 ? 3 : W(s, o->first_ms, o->last_ms + 20), h);
        esc_xml(s->f, o->check);
        fputs(": ", s->f);
        esc_xml(s->f, o->what);
        fprintf(s->f, " (%s to %s, %d samples)</title></rect>\n", t0, t1, o->samples);
    }
}

static void node_lanes(struct svg *s)
{
    const struct scenario *scn = s->r->scn;
    int rows = s->vt->n_nodes;
    for (int i = 0; i < s->vt->n_nodes; i++) {
        const struct vt_lane *l = &s->vt->lane[i];
        int y = s->y, h = 6 + BAND_H + 3 + rows * ROW_H + 2 + STATE_H + 6;
        fprintf(s->f, "<g class=\"lane\" data-node=\"%s\" data-segments=\"%d\">\n", scn->names[i],
                l->n);
        fprintf(s->f,
                "<rect class=\"lane-bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
                "<text class=\"lane-label\" x=\"4\" y=\"%d\">%s's view</text>"
                "<text class=\"lane-sub\" x=\"4\" y=\"%d\">slots</text>"
                "<text class=\"lane-sub\" x=\"4\" y=\"%d\">nodes, state</text>\n",
                LEFT, y, PLOT_W, h - 2, y + 14, scn->names[i], y + 26, y + 6 + BAND_H + 12);
        fault_shades(s, i, y, h - 2);
        owner_band(s, l, y + 6);
        node_rows(s, i, l, y + 6 + BAND_H + 3);
        change_marks(s, l, y + 6 + BAND_H + 3);
        state_strip(s, l, y + 6 + BAND_H + 3 + rows * ROW_H + 2);
        finding_bars(s, scn->names[i], y + 1, 5);
        fputs("</g>\n", s->f);
        s->y += h;
    }
}

/* Buckets per drawn column: at least 2 px each. */
static int group_of(const struct svg *s)
{
    int64_t buckets = s->t_end / TS_BUCKET_MS + 1;
    int g = (int)((buckets + PLOT_W / 2 - 1) / (PLOT_W / 2));
    return g < 1 ? 1 : g;
}

/* A series as columns: every column with a failure is drawn by kind, the
 * all-success stretches as one green bar each. */
static void series_columns(struct svg *s, const struct tseries *ts, int64_t shift_ms, int y, int h)
{
    int g = group_of(s);
    int64_t ok_from = -1, ok_to = -1;
    for (int b0 = 0; b0 < ts->n; b0 += g) {
        uint64_t ok = 0, fail[TS_KINDS] = {0}, nf = 0;
        int64_t t0 = (int64_t)b0 * TS_BUCKET_MS + shift_ms, t1 = t0 + (int64_t)g * TS_BUCKET_MS;
        for (int b = b0; b < b0 + g && b < ts->n; b++) {
            ok += ts->ok[b];
            for (int k = 0; k < ts->n_kinds; k++)
                fail[k] += ts->fail[k][b], nf += ts->fail[k][b];
        }
        if (t1 <= 0 || (!ok && !nf))
            continue;
        if (!nf && ok_to == t0) {
            ok_to = t1;
            continue;
        }
        if (ok_from >= 0)
            fprintf(s->f, "<rect class=\"ok\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n",
                    X(s, ok_from), y, W(s, ok_from, ok_to), h);
        ok_from = ok_to = -1;
        if (!nf) {
            ok_from = t0;
            ok_to = t1;
            continue;
        }
        double yy = y, total = (double)(ok + nf);
        fprintf(s->f,
                "<g class=\"failures\" data-t-ms=\"%" PRId64 "\" data-failures=\"%" PRIu64
                "\"><title>%.1f-%.1f s: %" PRIu64 " ok",
                t0, nf, (double)t0 / 1000.0, (double)t1 / 1000.0, ok);
        for (int k = 0; k < ts->n_kinds; k++)
            if (fail[k]) {
                fprintf(s->f, ", %" PRIu64 " ", fail[k]);
                esc_xml(s->f, ts->kinds[k]);
            }
        fputs("</title>", s->f);
        for (int k = 0; k < ts->n_kinds; k++) {
            double fh = (double)h * (double)fail[k] / total;
            if (!fail[k])
                continue;
            fprintf(s->f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                    X(s, t0), yy, W(s, t0, t1), fh, kind_colour[k]);
            yy += fh;
        }
        if (ok)
            fprintf(s->f,
                    "<rect class=\"ok\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                    X(s, t0), yy, W(s, t0, t1), y + h - yy);
        fputs("</g>\n", s->f);
    }
    if (ok_from >= 0)
        fprintf(s->f, "<rect class=\"ok\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n",
                X(s, ok_from), y, W(s, ok_from, ok_to), h);
}

static void kinds_legend(struct svg *s, const struct tseries *ts, double x, int y)
{
    for (int k = 0; k < ts->n_kinds; k++) {
        uint64_t n = 0;
        for (int b = 0; b < ts->n; b++)
            n += ts->fail[k][b];
        fprintf(s->f,
                "<rect x=\"%.1f\" y=\"%d\" width=\"8\" height=\"8\" fill=\"%s\"/>"
                "<text class=\"legend\" x=\"%.1f\" y=\"%d\">",
                x, y - 8, kind_colour[k], x + 11, y);
        esc_xml(s->f, ts->kinds[k]);
        fprintf(s->f, " %" PRIu64 "</text>", n);
        x += 11 + 7.0 * ((double)strlen(ts->kinds[k]) + 8);
    }
}

static void client_lanes(struct svg *s)
{
    const struct run *r = s->r;
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++) {
        const struct probe_rt *p = &r->probes[i];
        int y = s->y;
        if (!p->cfg)
            continue;
        fprintf(s->f,
                "<g class=\"client\" data-probe=\"%s\" data-healed=\"%s\" data-heal-ms=\"%" PRId64
                "\">\n<rect class=\"lane-bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
                "<text class=\"lane-label\" x=\"4\" y=\"%d\">client %s</text>"
                "<text class=\"lane-sub\" x=\"4\" y=\"%d\">",
                p->cfg->name,
                !p->judged  ? "unknown"
                : p->healed ? "yes"
                            : "never",
                p->healed ? p->heal_ms : -1, LEFT, y, PLOT_W, CLIENT_H - 2, y + 11, p->cfg->name,
                y + 22);
        esc_xml(s->f, p->version);
        fputs("</text>\n", s->f);
        series_columns(s, &p->ts, 0, y + 3, CLIENT_H - 8);
        if (p->healed && r->converged_ms >= 0) {
            int64_t t = r->converged_ms + p->heal_ms;
            fprintf(s->f,
                    "<line class=\"heal\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                    "<text class=\"heal-text\" x=\"%.1f\" y=\"%d\">healed +%" PRId64 " ms</text>\n",
                    X(s, t), y, X(s, t), y + CLIENT_H - 2, X(s, t) + 3, y + 11, p->heal_ms);
        } else if (!p->healed) {
            /* not judged: the run ended in an error first, no verdict */
            fprintf(s->f, "<text class=\"never\" x=\"%d\" y=\"%d\">%s</text>\n", LEFT + PLOT_W + 24,
                    y + 14, p->judged ? "never healed" : "no verdict");
        }
        kinds_legend(s, &p->ts, LEFT + PLOT_W + (p->healed ? 24 : 110), y + 14);
        fputs("</g>\n", s->f);
        s->y += CLIENT_H;
    }
}

/* The workload's errors per second by kind, as bars scaled to the worst
 * second. */
static void workload_lane(struct svg *s)
{
    const struct run *r = s->r;
    const struct tseries *ts = &r->wl.ts;
    int64_t shift = (int64_t)r->wl.t0_ms - (int64_t)(r->t_ready / 1000000u);
    uint64_t worst = 1;
    int y = s->y, h = WL_H - 16;
    if (r->scn->writers <= 0 || !ts->n)
        return;
    for (int b0 = 0; b0 < ts->n; b0 += 10) {
        uint64_t n = 0;
        for (int b = b0; b < b0 + 10; b++)
            n += ts_total_fail(ts, b);
        if (n > worst)
            worst = n;
    }
    fprintf(s->f,
            "<g class=\"workload\" data-worst-second=\"%" PRIu64 "\">\n"
            "<rect class=\"lane-bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
            "<text class=\"lane-label\" x=\"4\" y=\"%d\">workload errors/s</text>"
            "<text class=\"lane-sub\" x=\"4\" y=\"%d\">max %" PRIu64 "/s</text>\n",
            worst, LEFT, y, PLOT_W, WL_H - 2, y + 11, y + 22, worst);
    for (int b0 = 0; b0 < ts->n; b0 += 10) {
        int64_t t0 = (int64_t)b0 * TS_BUCKET_MS + shift;
        double yy = y + 3 + h;
        for (int k = 0; k < ts->n_kinds; k++) {
            uint64_t n = 0;
            for (int b = b0; b < b0 + 10 && b < ts->n; b++)
                n += ts->fail[k][b];
            if (!n || t0 + 1000 <= 0)
                continue;
            double bh = (double)h * (double)n / (double)worst;
            yy -= bh;
            fprintf(s->f,
                    "<rect class=\"wl-errors\" data-t-ms=\"%" PRId64 "\" data-count=\"%" PRIu64
                    "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>"
                    "%.1f-%.1f s: %" PRIu64 " ",
                    t0, n, X(s, t0), yy, W(s, t0, t0 + 1000) - 1, bh, kind_colour[k],
                    (double)t0 / 1000.0, (double)(t0 + 1000) / 1000.0, n);
            esc_xml(s->f, ts->kinds[k]);
            fputs("</title></rect>\n", s->f);
        }
    }
    kinds_legend(s, ts, LEFT + 4, y + WL_H - 4);
    fputs("</g>\n", s->f);
    s->y += WL_H;
}

void html_svg(FILE *f, const struct run *r, const struct vtrack *vt)
{
    struct svg s = {f, r, vt, 1000, 0};
    int64_t end = vt->t_max;
    long at;
    for (int i = 0; i < r->steps_done; i++)
        if (r->steps[i].t_ms + 500 > end)
            end = r->steps[i].t_ms + 500;
    for (int k = 0; k < r->n_obs; k++)
        if (r->obs[k].last_ms + 100 > end)
            end = r->obs[k].last_ms + 100;
    s.t_end = end > 1000 ? end : 1000;
    /* the height is known at the end: the <svg> tag is written with room
     * for it and patched */
    fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" width=\"", f);
    at = ftell(f);
    fprintf(f,
            "%d\" height=\"%6d\" data-t-end-ms=\"%" PRId64 "\" data-left=\"%d\" "
            "data-plot-width=\"%d\">\n",
            WIDTH + 260, 0, s.t_end, LEFT, PLOT_W);
    fputs("<defs><pattern id=\"lost\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">"
          "<path d=\"M0 4 L4 0\" stroke=\"#d62728\" stroke-width=\"1.2\"/></pattern></defs>\n",
          f);
    steps_and_axis(&s);
    fault_rows(&s);
    node_lanes(&s);
    client_lanes(&s);
    workload_lane(&s);
    step_lines(&s);
    fprintf(f,
            "<line id=\"cursor\" x1=\"0\" y1=\"%d\" x2=\"0\" y2=\"%d\"/>"
            "<text id=\"cursor-text\" x=\"0\" y=\"%d\"></text>\n</svg>\n",
            AXIS_Y, s.y, AXIS_Y - 2);
    if (at >= 0) {
        long end_pos = ftell(f);
        if (end_pos >= 0 && fseek(f, at, SEEK_SET) == 0) {
            fprintf(f, "%d\" height=\"%6d", WIDTH + 260, s.y + 4);
            fseek(f, end_pos, SEEK_SET);
        }
    }
}
