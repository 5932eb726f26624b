/* sched: schedules of faults and steps, read from a scenario and written
 * back as one. */
#include "sched.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *header_name(const char *line, size_t len, size_t *n);

/* ---- the sections a schedule does not write itself ---- */

static bool dropped_section(const char *name, size_t n)
{
    static const char *const drop[] = {"timeline", "expect", "shim", "chaos", NULL};
    for (int i = 0; drop[i]; i++)
        if (n == strlen(drop[i]) && !strncmp(name, drop[i], n))
            return true;
    return n > 6 && !strncmp(name, "fault", 5) && isspace((unsigned char)name[5]);
}

char *sched_strip(const char *text, bool keep_lines)
{
    char *out = malloc(strlen(text) + 1);
    size_t o = 0;
    bool drop = false;
    if (!out)
        return NULL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        size_t hn;
        const char *h = header_name(p, len, &hn);
        if (h)
            drop = dropped_section(h, hn);
        if (!drop) {
            memcpy(out + o, p, len);
            o += len;
        } else if (keep_lines && nl) {
            out[o++] = '\n';
        }
        p += len;
    }
    out[o] = '\0';
    return out;
}

/* The section a [header] line names, trimmed, or NULL (n: its length). */
static const char *header_name(const char *line, size_t len, size_t *n)
{
    const char *q = line, *close, *a, *b;
    /* a UTF-8 byte order mark, as the INI loader skips it on line 1 */
    if (len >= 3 && !memcmp(q, "\xEF\xBB\xBF", 3))
        q += 3;
    while (q < line + len && (*q == ' ' || *q == '\t'))
        q++;
    if (q == line + len || *q != '[' || !(close = memchr(q, ']', len - (size_t)(q - line))))
        return NULL;
    for (a = q + 1, b = close; a < b && isspace((unsigned char)*a); a++)
        ;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    *n = (size_t)(b - a);
    return a;
}

char *sched_with_server(const char *text, const char *server)
{
    size_t cap = strlen(text) + strlen(server) + 64, o = 0, hn;
    char *out = malloc(cap);
    bool in_cluster = false, done = false;
    if (!out)
        return NULL;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n'), *h;
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if ((h = header_name(p, len, &hn))) {
            in_cluster = hn == 7 && !strncmp(h, "cluster", 7);
            memcpy(out + o, p, len);
            o += len;
            if (in_cluster && !done) {
                if (!nl)
                    out[o++] = '\n';
                o += (size_t)sprintf(out + o, "server = %s\n", server);
                done = true;
            }
        } else if (!(in_cluster && !strncmp(p + strspn(p, " \t"), "server", 6) &&
                     strchr(" \t=", p[strspn(p, " \t") + 6]))) {
            memcpy(out + o, p, len); /* the old server line is dropped */
            o += len;
        }
        p += len;
    }
    out[o] = '\0';
    if (!done) {
        char *w = malloc(o + strlen(server) + 32);
        if (w)
            sprintf(w, "[cluster]\nserver = %s\n%s", server, out);
        free(out);
        return w;
    }
    return out;
}

/* ---- from a scenario ---- */

/* The time of the last event that is not a wait. */
static uint64_t last_event(const struct sched *sc)
{
    uint64_t last = 0;
    for (int i = 0; i < sc->n; i++) {
        const struct sched_el *e = &sc->el[i];
        if (e->kind == SE_FAULT) {
            for (int k = 0; k < e->n_ev; k++)
                if (e->ev[k].at_ns > last)
                    last = e->ev[k].at_ns;
        } else if (e->kind == SE_STEP) {
            uint64_t t = e->has_end ? e->end.at_ns : e->st.at_ns;
            if (t > last)
                last = t;
        }
    }
    return last;
}

void sched_mark_trailing(struct sched *sc)
{
    uint64_t last = last_event(sc);
    for (int i = 0; i < sc->n; i++) {
        struct sched_el *e = &sc->el[i];
        if (e->kind == SE_WAIT && !e->trailing && e->st.at_ns >= last) {
            e->trailing = true;
            e->gap_ns = e->st.at_ns - last;
        }
    }
}

static int add_el(struct sched *sc, enum sched_kind kind, char *err, size_t el)
{
    if (sc->n == SCHED_MAX) {
        snprintf(err, el, "more than %d faults and steps: too many to shrink", SCHED_MAX);
        return -1;
    }
    memset(&sc->el[sc->n], 0, sizeof(sc->el[0]));
    sc->el[sc->n].kind = kind;
    return sc->n++;
}

int sched_from_scenario(struct sched *sc, const struct scenario *s, const char *text, char *err,
                        size_t el)
{
    bool used[SCN_MAX_STEPS] = {false};
    memset(sc, 0, sizeof(*sc));
    if (!(sc->base = sched_strip(text, false))) {
        snprintf(err, el, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->n_nodes; i++)
        memcpy(sc->names[i], s->names[i], sizeof(sc->names[i]));
    sc->seed = s->faults.shim.seed;
    sc->seed_given = s->faults.shim.seed_given;
    sc->shim = s->faults.shim;
    sc->expect = s->expect;
    sc->has_expect = s->has_expect;
    for (int i = 0; i < s->n_probes; i++)
        memcpy(sc->probe_names[i], s->probes[i].name, sizeof(sc->probe_names[i]));
    for (int f = 0; f < s->faults.n_rules; f++) {
        int k = add_el(sc, SE_FAULT, err, el);
        if (k < 0)
            return -1;
        sc->el[k].rule = s->faults.rules[f];
        for (int i = 0; i < s->n_steps; i++) {
            const struct scn_step *st = &s->steps[i];
            if (st->kind != STEP_FAULT || st->fault != f)
                continue;
            if (sc->el[k].n_ev == SCHED_MAX_EV) {
                snprintf(err, el, "fault %s is switched more than %d times: too many to shrink",
                         s->faults.rules[f].name, SCHED_MAX_EV);
                return -1;
            }
            sc->el[k].ev[sc->el[k].n_ev++] = (struct sched_ev){st->at_ns, st->on, st->line};
        }
    }
    for (int i = 0; i < s->n_steps; i++) {
        const struct scn_step *st = &s->steps[i];
        int k;
        if (st->kind == STEP_FAULT || used[i])
            continue;
        if ((k = add_el(sc, st->kind == STEP_WAIT_CONVERGED ? SE_WAIT : SE_STEP, err, el)) < 0)
            return -1;
        sc->el[k].st = *st;
        if (st->kind == STEP_WAIT_CONVERGED)
            continue;
        if (st->kind != STEP_KILL && st->kind != STEP_PAUSE)
            continue;
        /* its closing step: the next restart (resume) of the same node */
        for (int j = i + 1; j < s->n_steps; j++) {
            const struct scn_step *e = &s->steps[j];
            if (used[j] || e->node != st->node ||
                e->kind != (st->kind == STEP_KILL ? STEP_RESTART : STEP_RESUME))
                continue;
            used[j] = true;
            sc->el[k].has_end = true;
            sc->el[k].end = *e;
            break;
        }
    }
    sched_mark_trailing(sc);
    return 0;
}

void sched_free(struct sched *sc)
{
    free(sc->base);
    sc->base = NULL;
}

int sched_copy(struct sched *dst, const struct sched *src)
{
    char *b = strdup(src->base ? src->base : "");
    if (!b)
        return -1;
    memcpy(dst, src, sizeof(*dst));
    dst->base = b;
    return 0;
}

/* ---- writing ---- */

static void fmt_s(char *out, size_t len, uint64_t ns)
{
    uint64_t ms = (ns + 500000) / 1000000;
    snprintf(out, len, "%" PRIu64 ".%03" PRIu64 "s", ms / 1000, ms % 1000);
}

void sched_step_text(const struct sched *sc, const struct scn_step *st, char *out, size_t len)
{
    static const char *const verbs[] = {
        [STEP_KILL] = "kill",
        [STEP_PAUSE] = "pause",
        [STEP_RESUME] = "resume",
        [STEP_RESTART] = "restart",
    };
    switch (st->kind) {
    case STEP_FAILOVER:
        snprintf(out, len, "failover %s%s%s", sc->names[st->node], st->mode[0] ? " " : "",
                 st->mode);
        return;
    case STEP_MIGRATE:
        if (st->slot_lo == st->slot_hi)
            snprintf(out, len, "migrate %d %s %s%s", st->slot_lo, sc->names[st->src],
                     sc->names[st->dst], st->atomic ? " atomic" : "");
        else
            snprintf(out, len, "migrate %d-%d %s %s%s", st->slot_lo, st->slot_hi,
                     sc->names[st->src], sc->names[st->dst], st->atomic ? " atomic" : "");
        return;
    case STEP_WAIT_CONVERGED:
        snprintf(out, len, "wait converged");
        return;
    case STEP_FAULT:
        snprintf(out, len, "fault");
        return;
    default:
        snprintf(out, len, "%s %s", verbs[st->kind], sc->names[st->node]);
    }
}

struct line {
    uint64_t at_ns;
    int seq;     /* written order, when known */
    int order;   /* then: faults off, faults on, steps; the schedule's order */
    int el, sub; /* sub: event k of a fault; 0 a step, 1 its end */
    char text[160];
};

static int by_time(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq - y->seq;
    return x->order - y->order;
}

/* Every timeline line in time order; ties keep the schedule's order. */
static int timeline_lines(const struct sched *sc, struct line **out)
{
    struct line *l = calloc((size_t)sc->n * (SCHED_MAX_EV + 2) + 1, sizeof(*l));
    uint64_t last = last_event(sc);
    int n = 0;
    if (!l)
        return -1;
    for (int i = 0; i < sc->n; i++) {
        const struct sched_el *e = &sc->el[i];
        if (e->kind == SE_FAULT) {
            for (int k = 0; k < e->n_ev; k++) {
                /* at the same moment: faults off, faults on, then steps */
                l[n] = (struct line){.at_ns = e->ev[k].at_ns,
                                     .seq = e->ev[k].seq,
                                     .order = (e->ev[k].on ? 4096 : 0) + i * 16 + k,
                                     .el = i,
                                     .sub = k};
                snprintf(l[n].text, sizeof(l[n].text), "fault %s %s", e->rule.name,
                         e->ev[k].on ? "on" : "off");
                n++;
            }
            continue;
        }
        l[n] = (struct line){.at_ns = e->trailing ? last + e->gap_ns : e->st.at_ns,
                             .seq = e->st.line,
                             .order = 8192 + i * 16,
                             .el = i};
        sched_step_text(sc, &e->st, l[n].text, sizeof(l[n].text));
        n++;
        if (e->has_end) {
            l[n] = (struct line){.at_ns = e->end.at_ns,
                                 .seq = e->end.line,
                                 .order = 8192 + i * 16 + 1,
                                 .el = i,
                                 .sub = 1};
            sched_step_text(sc, &e->end, l[n].text, sizeof(l[n].text));
            n++;
        }
    }
    qsort(l, (size_t)n, sizeof(*l), by_time);
    *out = l;
    return n;
}

void sched_number(struct sched *sc)
{
    struct line *l;
    int n = timeline_lines(sc, &l);
    for (int i = 0; i < n; i++) {
        struct sched_el *e = &sc->el[l[i].el];
        if (e->kind == SE_FAULT)
            e->ev[l[i].sub].seq = i + 1;
        else if (l[i].sub)
            e->end.line = i + 1;
        else
            e->st.line = i + 1;
    }
    if (n >= 0)
        free(l);
}

static void put_shim(FILE *o, const struct sched *sc)
{
    struct pol_shim d;
    char t[32];
    pol_shim_defaults(&d);
    /* the keys a scenario's [shim] may set */
    if (!sc->seed_given && sc->shim.queue_maxlen == d.queue_maxlen &&
        sc->shim.overflow_pass == d.overflow_pass && sc->shim.queues == d.queues &&
        sc->shim.realtime == d.realtime && sc->shim.timer_spin_ns == d.timer_spin_ns &&
        sc->shim.busy_poll_ns == d.busy_poll_ns)
        return;
    fprintf(o, "\n[shim]\n");
    if (sc->seed_given)
        fprintf(o, "seed = %" PRIu64 "\n", sc->seed);
    if (sc->shim.queue_maxlen != d.queue_maxlen)
        fprintf(o, "queue_maxlen = %u\n", sc->shim.queue_maxlen);
    if (sc->shim.overflow_pass != d.overflow_pass)
        fprintf(o, "on_overflow = %s\n", sc->shim.overflow_pass ? "pass" : "drop");
    if (sc->shim.queues != d.queues)
        fprintf(o, "queues = %u\n", sc->shim.queues);
    if (sc->shim.realtime != d.realtime)
        fprintf(o, "realtime = %s\n", sc->shim.realtime ? "yes" : "no");
    if (sc->shim.timer_spin_ns != d.timer_spin_ns) {
        pol_format_time(t, sizeof(t), sc->shim.timer_spin_ns);
        fprintf(o, "timer_spin = %s\n", t);
    }
    if (sc->shim.busy_poll_ns == UINT64_MAX) {
        fprintf(o, "busy_poll = yes\n");
    } else if (sc->shim.busy_poll_ns != d.busy_poll_ns) {
        pol_format_time(t, sizeof(t), sc->shim.busy_poll_ns);
        fprintf(o, "busy_poll = %s\n", t);
    }
}

static void put_fault(FILE *o, const struct pol_rule *r)
{
    char v[512];
    fprintf(o, "\n[fault %s]\n", r->name);
    for (int k = 0; k < PK__COUNT; k++) {
        if (!r->key_line[k])
            continue;
        pol_key_format(r, k, v, sizeof(v));
        fprintf(o, "%s = %s\n", pol_key_name(k), v);
    }
}

static void put_expect(FILE *o, const struct sched *sc)
{
    const struct scn_expect *e = &sc->expect;
    const char *names[] = {"cycles",    "lost_slots",       "lost_writes",    "crashes",
                           "crossslot", "chained_replicas", "empty_primaries"};
    const bool set[] = {e->cycles,    e->lost_slots,       e->lost_writes,    e->crashes,
                        e->crossslot, e->chained_replicas, e->empty_primaries};
    fprintf(o, "\n[expect]\n");
    for (int i = 0; i < 7; i++)
        if (set[i])
            fprintf(o, "%s = present\n", names[i]);
    if (e->never_heals) {
        fprintf(o, "never_heals = ");
        for (int i = 0, n = 0; i < SCN_MAX_PROBES; i++)
            if ((e->never_heals >> i) & 1)
                fprintf(o, "%s%s", n++ ? ", " : "", sc->probe_names[i]);
        fprintf(o, "\n");
    }
}

int sched_write(FILE *o, const struct sched *sc)
{
    struct line *l;
    int n;
    if (sc->note[0]) {
        /* every line a comment */
        const char *p = sc->note;
        while (*p) {
            size_t len = strcspn(p, "\n");
            fprintf(o, "; %.*s\n", (int)len, p);
            p += len + (p[len] == '\n');
        }
    }
    if (sc->base) {
        /* without its trailing blank lines: every trip writes the same text */
        size_t len = strlen(sc->base);
        while (len &&
               (sc->base[len - 1] == '\n' || sc->base[len - 1] == ' ' || sc->base[len - 1] == '\t'))
            len--;
        fprintf(o, "%.*s\n", (int)len, sc->base);
    }
    put_shim(o, sc);
    for (int i = 0; i < sc->n; i++)
        if (sc->el[i].kind == SE_FAULT)
            put_fault(o, &sc->el[i].rule);
    if ((n = timeline_lines(sc, &l)) < 0)
        return -1;
    if (n) {
        fprintf(o, "\n[timeline]\n");
        for (int i = 0; i < n; i++) {
            char t[32];
            fmt_s(t, sizeof(t), l[i].at_ns);
            fprintf(o, "%s = %s\n", t, l[i].text);
        }
    }
    free(l);
    if (sc->has_expect)
        put_expect(o, sc);
    return ferror(o) ? -1 : 0;
}

char *sched_text(const struct sched *sc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    int rc;
    if (!o)
        return NULL;
    rc = sched_write(o, sc);
    if (fclose(o) != 0 || rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int sched_faults(const struct sched *sc)
{
    int n = 0;
    for (int i = 0; i < sc->n; i++)
        n += sc->el[i].kind == SE_FAULT;
    return n;
}

int sched_steps(const struct sched *sc)
{
    int n = 0;
    for (int i = 0; i < sc->n; i++)
        n += sc->el[i].kind == SE_STEP;
    return n;
}

/* What a fault does, in a word or two: "hold", "delay 20ms PONG". */
void sched_el_line(const struct sched *sc, int i, char *out, size_t len)
{
    const struct sched_el *e = &sc->el[i];
    char a[32], what[160];
    if (e->kind == SE_FAULT) {
        size_t off;
        pol_rule_effect(&e->rule, what, sizeof(what));
        off = (size_t)snprintf(out, len, "%s %s%s%s %s", e->rule.name, e->rule.from_spec,
                               e->rule.both ? "<->" : "->", e->rule.to_spec, what);
        for (int k = 0; k < e->n_ev && off < len; k++) {
            fmt_s(a, sizeof(a), e->ev[k].at_ns);
            off += (size_t)snprintf(out + off, len - off, " %s@%s", e->ev[k].on ? "on" : "off", a);
        }
        return;
    }
    sched_step_text(sc, &e->st, what, sizeof(what));
    if (e->trailing) {
        snprintf(out, len, "%s (last)", what);
        return;
    }
    fmt_s(a, sizeof(a), e->st.at_ns);
    if (e->has_end) {
        char b[32];
        fmt_s(b, sizeof(b), e->end.at_ns);
        snprintf(out, len, "%s@%s..%s", what, a, b);
    } else {
        snprintf(out, len, "%s@%s", what, a);
    }
}

void sched_line(const struct sched *sc, char *out, size_t len)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < sc->n && off < len; i++) {
        char one[256];
        if (sc->el[i].kind == SE_WAIT)
            continue;
        sched_el_line(sc, i, one, sizeof(one));
        off += (size_t)snprintf(out + off, len - off, "%s%s", off ? "; " : "", one);
    }
    if (!out[0])
        snprintf(out, len, "(nothing)");
}
