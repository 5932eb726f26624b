/* chaosgen: the [chaos] section and the round generator. */
#include "chaosgen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../policies/ini.h"
#include "../../policies/model.h"
#include "../../proto/bus.h"

const char *const chaos_nemesis_names[NM__COUNT] = {
    [NM_HOLD_PAIR] = "hold-pair",       [NM_PARTITION] = "partition",
    [NM_MSG_DROP] = "message-drop",     [NM_MSG_DELAY] = "message-delay",
    [NM_LINK_DELAY] = "link-delay",     [NM_LINK_LOSS] = "link-loss",
    [NM_FAILOVER] = "failover",         [NM_MIGRATE] = "migrate",
    [NM_KILL_RESTART] = "kill-restart", [NM_PAUSE_RESUME] = "pause-resume",
};

#define FAULTS_MAX 16
#define STEPS_MAX 8

void chaos_nemeses_text(unsigned nemeses, char *out, size_t len)
{
    size_t off = 0;
    out[0] = '\0';
    for (int k = 0; k < NM__COUNT && off < len; k++)
        if ((nemeses >> k) & 1)
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? ", " : "",
                                    chaos_nemesis_names[k]);
}

/* ---- the SPEC ---- */

struct spec_loader {
    struct ini ini;
    struct chaos_spec *cs;
    bool in_chaos, seen_chaos, in_shim;
    int chaos_line, nemeses_line;
    unsigned keys_seen;
};

static void spec_section(void *ctx, const char *name)
{
    struct spec_loader *L = ctx;
    L->in_chaos = !strcmp(name, "chaos");
    L->in_shim = !strcmp(name, "shim");
    L->keys_seen = 0;
    if (L->in_chaos) {
        if (L->seen_chaos)
            ini_fail(&L->ini, "[chaos] is given twice (first on line %d)", L->chaos_line);
        L->seen_chaos = true;
        L->chaos_line = L->ini.line;
    } else if (!strcmp(name, "timeline") || !strncmp(name, "fault", 5) || !strcmp(name, "expect")) {
        ini_fail(&L->ini,
                 "[%s] in a chaos SPEC: rounds draw their own faults and steps from [chaos] "
                 "(for a fixed timeline use `rift run`)",
                 name);
    }
}

/* "N" or "LO-HI", within 0..max. */
static int parse_range(const char *v, int max, int *lo, int *hi)
{
    char a[16];
    const char *dash = strchr(v, '-');
    if (!dash)
        return scn_parse_int(v, 0, max, lo) < 0 ? -1 : (*hi = *lo, 0);
    if ((size_t)(dash - v) >= sizeof(a))
        return -1;
    snprintf(a, sizeof(a), "%.*s", (int)(dash - v), v);
    if (scn_parse_int(a, 0, max, lo) < 0 || scn_parse_int(dash + 1, 0, max, hi) < 0)
        return -1;
    return *lo <= *hi ? 0 : -1;
}

static int chaos_key(struct spec_loader *L, const char *key, const char *v)
{
    static const char *const keys[] = {"round",           "nemeses",  "faults_per_round",
                                       "steps_per_round", "messages", NULL};
    struct chaos_spec *cs = L->cs;
    char buf[256], *save = NULL;
    int k;
    for (k = 0; keys[k] && strcmp(keys[k], key) != 0; k++)
        ;
    if (!keys[k])
        return ini_fail(&L->ini,
                        "unknown key '%s' in [chaos] (expected round, nemeses, faults_per_round, "
                        "steps_per_round, messages)",
                        key);
    if (L->keys_seen & (1u << k))
        return ini_fail(&L->ini, "'%s' is given twice in [chaos]", key);
    L->keys_seen |= 1u << k;
    switch (k) {
    case 0:
        if (pol_parse_time(v, &cs->round_ns) < 0 || cs->round_ns < 1000000000ull ||
            cs->round_ns > 3600000000000ull)
            return ini_fail(&L->ini, "round: expected a time from 1s to 1h (e.g. 20s), got '%s'",
                            v);
        return 1;
    case 1:
        cs->nemeses = 0;
        L->nemeses_line = L->ini.line;
        snprintf(buf, sizeof(buf), "%s", v);
        for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
            int n;
            for (n = 0; n < NM__COUNT && strcmp(chaos_nemesis_names[n], t) != 0; n++)
                ;
            if (n == NM__COUNT) {
                char all[256];
                chaos_nemeses_text((1u << NM__COUNT) - 1, all, sizeof(all));
                return ini_fail(&L->ini, "nemeses: unknown nemesis '%s' (expected %s)", t, all);
            }
            cs->nemeses |= 1u << n;
        }
        if (!cs->nemeses)
            return ini_fail(&L->ini, "nemeses: name at least one");
        return 1;
    case 2:
        if (parse_range(v, FAULTS_MAX, &cs->faults_lo, &cs->faults_hi) < 0)
            return ini_fail(&L->ini, "faults_per_round: expected N or LO-HI from 0 to %d, got '%s'",
                            FAULTS_MAX, v);
        return 1;
    case 3:
        if (parse_range(v, STEPS_MAX, &cs->steps_lo, &cs->steps_hi) < 0)
            return ini_fail(&L->ini, "steps_per_round: expected N or LO-HI from 0 to %d, got '%s'",
                            STEPS_MAX, v);
        return 1;
    default:
        cs->messages = 0;
        snprintf(buf, sizeof(buf), "%s", v);
        for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
            int ty = bus_type_by_name(t);
            if (ty < 0)
                return ini_fail(&L->ini, "messages: unknown cluster-bus message type '%s'", t);
            cs->messages |= 1u << ty;
        }
        if (!cs->messages)
            return ini_fail(&L->ini, "messages: name at least one type");
        return 1;
    }
}

static int spec_key(void *ctx, const char *section, const char *key, const char *v)
{
    struct spec_loader *L = ctx;
    (void)section;
    if (L->in_chaos)
        return chaos_key(L, key, v);
    if (L->in_shim && !strcmp(key, "seed"))
        return ini_fail(&L->ini, "seed: each round has its own seed, drawn from `rift chaos "
                                 "--seed N`");
    return 1; /* the scenario loader checks the rest */
}

static int spec_validate(void *ctx)
{
    struct spec_loader *L = ctx;
    if (!L->seen_chaos)
        return ini_fail_at(&L->ini, 1,
                           "no [chaos] section: a chaos SPEC says what rounds draw from "
                           "([chaos] nemeses = ...); for a fixed timeline use `rift run`");
    return 0;
}

int chaos_load(struct chaos_spec *cs, struct scenario *base, const char *name, const char *file,
               const char *text, char **spec_text, char *err, size_t el)
{
    struct spec_loader L = {0};
    char *own = NULL, *stripped;
    int rc, line;
    *spec_text = NULL;
    if (file && !(text = own = ini_read_file(file, err, el)))
        return -1;
    *cs = (struct chaos_spec){
        .round_ns = 20000000000ull,
        .nemeses = (1u << NM__COUNT) - 1,
        .faults_lo = 1,
        .faults_hi = 3,
        .steps_lo = 1,
        .steps_hi = 2,
        .messages = (1u << BUS_N_TYPES) - 1,
    };
    L.cs = cs;
    L.ini = (struct ini){.kind = "chaos SPEC",
                         .first = "[cluster] or [chaos]",
                         .on_section = spec_section,
                         .on_key = spec_key,
                         .validate = spec_validate,
                         .ctx = &L};
    if (ini_load(&L.ini, name, NULL, text, err, el) < 0)
        goto fail;
    /* the rest is an ordinary scenario, with its line numbers */
    if (!(stripped = sched_strip(text, true))) {
        snprintf(err, el, "%s: out of memory", name);
        goto fail;
    }
    {
        /* [chaos] alone is a SPEC of defaults: the scenario loader wants a section */
        size_t n = strlen(stripped);
        char *full = malloc(n + 16);
        bool any = false;
        for (const char *p = stripped; *p; p++)
            if (*p == '[' && (p == stripped || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '\t'))
                any = true;
        if (full)
            snprintf(full, n + 16, "%s%s%s", stripped,
                     !any && n && stripped[n - 1] != '\n' ? "\n" : "", any ? "" : "[cluster]\n");
        free(stripped);
        stripped = full;
    }
    if (!stripped) {
        snprintf(err, el, "%s: out of memory", name);
        goto fail;
    }
    rc = scn_load_string(base, name, stripped, err, el);
    free(stripped);
    if (rc < 0)
        goto fail;
    line = L.nemeses_line ? L.nemeses_line : L.chaos_line;
    if (((cs->nemeses >> NM_FAILOVER) & 1) && !base->replicas) {
        snprintf(err, el, "%s:%d: nemesis failover needs replicas (this cluster has none)", name,
                 line);
        goto fail;
    }
    if (((cs->nemeses >> NM_MIGRATE) & 1) && base->masters < 2) {
        snprintf(err, el, "%s:%d: nemesis migrate needs two primaries (masters = 1)", name, line);
        goto fail;
    }
    if ((cs->nemeses & ((1u << NM_FIRST_STEP) - 1)) && cs->faults_hi && base->n_nodes < 2) {
        snprintf(err, el, "%s:%d: fault nemeses need two nodes (this cluster has one)", name, line);
        goto fail;
    }
    if (!((cs->nemeses & ((1u << NM_FIRST_STEP) - 1)) && cs->faults_hi) &&
        !((cs->nemeses >> NM_FIRST_STEP) && cs->steps_hi)) {
        snprintf(err, el,
                 "%s:%d: rounds would draw nothing (no fault and no step nemesis, or 0 "
                 "per round)",
                 name, line);
        goto fail;
    }
    *spec_text = own ? own : strdup(text);
    return *spec_text ? 0 : -1;
fail:
    free(own);
    return -1;
}

/* ---- the generator ---- */

uint64_t chaos_round_seed(uint64_t seed, int round)
{
    struct model_rng g;
    model_rng_seed(&g, seed, (uint64_t)round);
    return model_rng_next(&g) & 0xffffffffffffull; /* as short as rift run's */
}

struct gen {
    struct model_rng rng;
    const struct chaos_spec *cs;
    const struct scenario *s;
    struct sched *out;
    uint64_t round_ms;
};

/* Uniform in lo..hi. */
static uint64_t pick(struct gen *g, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + model_rng_next(&g->rng) % (hi - lo + 1);
}

static bool chance(struct gen *g, unsigned percent)
{
    return pick(g, 0, 99) < percent;
}

/* A nemesis from the enabled ones in [first, last). */
static int pick_nemesis(struct gen *g, int first, int last, unsigned allowed)
{
    int opts[NM__COUNT], n = 0;
    for (int k = first; k < last; k++)
        if ((g->cs->nemeses & allowed) >> k & 1)
            opts[n++] = k;
    return n ? opts[pick(g, 0, (uint64_t)n - 1)] : -1;
}

static int pick_node_other(struct gen *g, int not )
{
    int n = g->s->n_nodes, k = (int)pick(g, 0, (uint64_t)n - 2);
    return k >= not ? k + 1 : k;
}

struct anchor {
    int nodes[2], n; /* nodes the step acts on */
    uint64_t at_ms;
};

static struct sched_el *new_el(struct gen *g, enum sched_kind kind)
{
    struct sched_el *e = &g->out->el[g->out->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    return e;
}

static void step_at(struct scn_step *st, enum scn_step_kind kind, uint64_t ms, int node)
{
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    st->at_ns = ms * 1000000ull;
    st->node = node;
    st->fault = st->src = st->dst = -1;
}

/* Shards a step acts on, so that migrations keep to shards nothing else
 * touches (a migration whose source is killed is rift's doing, not a
 * finding). */
static int shard_of(const struct scenario *s, int node)
{
    return s->primary_of[node] < 0 ? node : s->primary_of[node];
}

static void gen_step(struct gen *g, int nemesis, unsigned *busy, struct anchor *a)
{
    const struct scenario *s = g->s;
    uint64_t R = g->round_ms, t = pick(g, R / 10, R / 2);
    struct sched_el *e;
    int node;
    a->n = 0;
    a->at_ms = t;
    switch (nemesis) {
    case NM_FAILOVER: {
        static const char *const modes[] = {"", "", "",      "",      "",
                                            "", "", "force", "force", "takeover"};
        node = s->masters + (int)pick(g, 0, (uint64_t)(s->n_nodes - s->masters) - 1);
        e = new_el(g, SE_STEP);
        step_at(&e->st, STEP_FAILOVER, t, node);
        snprintf(e->st.mode, sizeof(e->st.mode), "%s", modes[pick(g, 0, 9)]);
        a->nodes[a->n++] = node;
        a->nodes[a->n++] = s->primary_of[node];
        *busy |= 1u << shard_of(s, node);
        return;
    }
    case NM_MIGRATE: {
        int free_n = 0, free_p[SCN_MAX_NODES];
        for (int m = 0; m < s->masters; m++)
            if (!((*busy >> m) & 1))
                free_p[free_n++] = m;
        if (free_n < 2)
            return; /* every shard but one is busy: no migration this round */
        int src = free_p[pick(g, 0, (uint64_t)free_n - 1)], dst;
        do
            dst = free_p[pick(g, 0, (uint64_t)free_n - 1)];
        while (dst == src);
        int lo = (int)((long)SCN_SLOTS * src / s->masters);
        int hi = (int)((long)SCN_SLOTS * (src + 1) / s->masters) - 1;
        int width = (int)pick(g, 1, 32);
        int last_first = hi - width + 1;
        int first = (int)pick(g, (uint64_t)lo, (uint64_t)last_first);
        e = new_el(g, SE_STEP);
        step_at(&e->st, STEP_MIGRATE, t, -1);
        e->st.src = src;
        e->st.dst = dst;
        e->st.slot_lo = first;
        e->st.slot_hi = first + width - 1;
        a->nodes[a->n++] = src;
        a->nodes[a->n++] = dst;
        *busy |= 1u << src | 1u << dst;
        return;
    }
    default: { /* kill-restart, pause-resume */
        bool kill = nemesis == NM_KILL_RESTART;
        uint64_t nt = (uint64_t)s->node_timeout_ms;
        uint64_t gap = kill ? pick(g, 1000, R * 3 / 10 > 1000 ? R * 3 / 10 : 1000)
                            : pick(g, 500, nt * 3 < R * 4 / 10 ? nt * 3 : R * 4 / 10);
        node = (int)pick(g, 0, (uint64_t)s->n_nodes - 1);
        e = new_el(g, SE_STEP);
        step_at(&e->st, kill ? STEP_KILL : STEP_PAUSE, t, node);
        e->has_end = true;
        step_at(&e->end, kill ? STEP_RESTART : STEP_RESUME, t + gap, node);
        a->nodes[a->n++] = node;
        *busy |= 1u << shard_of(s, node);
        return;
    }
    }
}

static void set_key(struct pol_rule *r, const char *key, const char *v)
{
    char err[POL_ERR_MAX];
    int k = pol_key_index(key);
    /* values the generator formats itself: always valid */
    if (k >= 0 && pol_rule_set(r, key, v, err, sizeof(err)) == 0)
        r->key_line[k] = 1;
}

static void set_ms(struct pol_rule *r, const char *key, uint64_t ms)
{
    char v[32];
    snprintf(v, sizeof(v), "%" PRIu64 "ms", ms);
    set_key(r, key, v);
}

/* 1 or 2 of the SPEC's message types. */
static void pick_messages(struct gen *g, struct pol_rule *r)
{
    int types[BUS_N_TYPES], n = 0, want = (int)pick(g, 1, 2);
    char v[128] = "";
    size_t off = 0;
    for (int t = 0; t < BUS_N_TYPES; t++)
        if ((g->cs->messages >> t) & 1)
            types[n++] = t;
    for (int i = 0; i < want && n > 0; i++) {
        int k = (int)pick(g, 0, (uint64_t)n - 1);
        off += (size_t)snprintf(v + off, sizeof(v) - off, "%s%s", off ? ", " : "",
                                bus_type_names[types[k]]);
        types[k] = types[--n];
    }
    set_key(r, "messages", v);
}

static void gen_fault(struct gen *g, int nemesis, int index, const struct anchor *anchors,
                      int n_anchors)
{
    static const char *const short_names[] = {
        [NM_HOLD_PAIR] = "hold",      [NM_PARTITION] = "partition",   [NM_MSG_DROP] = "msg-drop",
        [NM_MSG_DELAY] = "msg-delay", [NM_LINK_DELAY] = "link-delay", [NM_LINK_LOSS] = "link-loss",
    };
    const struct scenario *s = g->s;
    uint64_t R = g->round_ms, on, len, off;
    struct sched_el *e = new_el(g, SE_FAULT);
    struct pol_rule *r = &e->rule;
    const struct anchor *a = NULL;
    int from, to;
    bool client = false;
    pol_rule_defaults(r);
    r->start_ns = POL_START_MANUAL;
    snprintf(r->name, sizeof(r->name), "f%d-%s", index, short_names[nemesis]);
    /* Most faults gather around a step, starting a little before it and
     * lasting through it: where a cluster is most fragile. */
    if (n_anchors && chance(g, 75))
        a = &anchors[pick(g, 0, (uint64_t)n_anchors - 1)];
    if (a && a->n) {
        int an = a->nodes[pick(g, 0, (uint64_t)a->n - 1)];
        /* mostly a link to another shard: the step's news has to reach
         * the rest of the cluster over those */
        int other = pick_node_other(g, an);
        if (chance(g, 67) && s->masters > 1)
            while (shard_of(s, other) == shard_of(s, an))
                other = pick_node_other(g, an);
        if (chance(g, 50)) {
            from = an;
            to = other;
        } else {
            to = an;
            from = other;
        }
        on = a->at_ms > 1000 ? a->at_ms - pick(g, 0, 1000) : pick(g, 0, a->at_ms);
    } else {
        from = (int)pick(g, 0, (uint64_t)s->n_nodes - 1);
        to = pick_node_other(g, from);
        on = pick(g, 0, R * 6 / 10);
    }
    len = pick(g, 500, R / 2 > 500 ? R / 2 : 500);
    off = on + len;
    if (off > R * 85 / 100)
        off = R * 85 / 100 > on + 200 ? R * 85 / 100 : on + 200;
    e->n_ev = 2;
    e->ev[0] = (struct sched_ev){on * 1000000ull, true, 0};
    e->ev[1] = (struct sched_ev){off * 1000000ull, false, 0};

    if (nemesis == NM_PARTITION) {
        /* a minority side (with the anchor's node when there is one), cut
         * off from every other node: "to = others" keeps the line short in
         * a cluster of 48 */
        uint64_t side = 1ull << from;
        int want = (int)pick(g, 1, (uint64_t)(s->n_nodes / 2 > 1 ? s->n_nodes / 2 : 1));
        char fv[256] = "";
        size_t fo = 0;
        while (__builtin_popcountll(side) < want)
            side |= 1ull << pick(g, 0, (uint64_t)s->n_nodes - 1);
        for (int i = 0; i < s->n_nodes; i++)
            if ((side >> i) & 1)
                fo +=
                    (size_t)snprintf(fv + fo, sizeof(fv) - fo, "%s%s", fo ? ", " : "", s->names[i]);
        set_key(r, "from", fv);
        set_key(r, "to", "others");
        set_key(r, "ports", "bus");
        set_key(r, "direction", "both");
        set_key(r, "loss", "100%");
        return;
    }
    /* a link between nodes carries the bus, and a migration's MIGRATE on
     * the client port: bus half the time, all a quarter, else a client's
     * link to a node */
    const char *ports = "bus";
    if (nemesis == NM_LINK_DELAY || nemesis == NM_LINK_LOSS) {
        uint64_t k = pick(g, 0, 3);
        client = k == 3;
        ports = k == 2 ? "all" : client ? "client" : "bus";
    }
    set_key(r, "from", client ? "clients" : s->names[from]);
    set_key(r, "to", s->names[client ? (a && a->n ? a->nodes[0] : to) : to]);
    set_key(r, "ports", ports);
    set_key(r, "direction",
            client || (nemesis == NM_HOLD_PAIR && chance(g, 25)) ? "both" : "one-way");
    switch (nemesis) {
    case NM_HOLD_PAIR:
        set_key(r, "hold", "yes");
        break;
    case NM_MSG_DROP:
        pick_messages(g, r);
        set_key(r, "loss", "100%");
        break;
    case NM_MSG_DELAY:
        pick_messages(g, r);
        set_ms(r, "delay", pick(g, 100, 3000));
        break;
    case NM_LINK_DELAY: {
        uint64_t d = pick(g, 5, 500);
        set_ms(r, "delay", d);
        set_ms(r, "jitter", pick(g, 0, d / 2));
        break;
    }
    default: {
        char v[16];
        snprintf(v, sizeof(v), "%d%%", (int)pick(g, 5, 50));
        set_key(r, "loss", v);
        break;
    }
    }
}

int chaos_generate(const struct chaos_spec *cs, const struct scenario *base, const char *spec_text,
                   uint64_t round_seed, struct sched *out)
{
    struct gen g = {.cs = cs, .s = base, .out = out, .round_ms = cs->round_ns / 1000000ull};
    struct anchor anchors[STEPS_MAX];
    unsigned busy = 0, step_ok = ~0u;
    int n_steps, n_faults, n_anchors = 0;
    struct sched_el *w;
    memset(out, 0, sizeof(*out));
    /* the SPEC's opening comments describe the SPEC, not this round */
    while (*spec_text == ';' || *spec_text == '#' || *spec_text == '\n') {
        const char *nl = strchr(spec_text, '\n');
        spec_text = nl ? nl + 1 : spec_text + strlen(spec_text);
    }
    if (!(out->base = sched_strip(spec_text, false)))
        return -1;
    for (int i = 0; i < base->n_nodes; i++)
        memcpy(out->names[i], base->names[i], sizeof(out->names[i]));
    for (int i = 0; i < base->n_probes; i++)
        memcpy(out->probe_names[i], base->probes[i].name, sizeof(out->probe_names[i]));
    out->shim = base->faults.shim;
    out->seed = round_seed;
    out->seed_given = true;
    model_rng_seed(&g.rng, round_seed, 0x6368616f73ull /* "chaos" */);
    if (!base->replicas)
        step_ok &= ~(1u << NM_FAILOVER);
    if (base->masters < 2)
        step_ok &= ~(1u << NM_MIGRATE);
    n_steps = (int)pick(&g, (uint64_t)cs->steps_lo, (uint64_t)cs->steps_hi);
    n_faults = (int)pick(&g, (uint64_t)cs->faults_lo, (uint64_t)cs->faults_hi);
    for (int i = 0; i < n_steps; i++) {
        int k = pick_nemesis(&g, NM_FIRST_STEP, NM__COUNT, step_ok);
        if (k < 0)
            break;
        gen_step(&g, k, &busy, &anchors[n_anchors]);
        if (anchors[n_anchors].n)
            n_anchors++;
    }
    for (int i = 0; i < n_faults; i++) {
        int k = pick_nemesis(&g, 0, NM_FIRST_STEP, ~0u);
        if (k < 0)
            break;
        gen_fault(&g, k, i + 1, anchors, n_anchors);
    }
    /* then heal: every fault is off by now; verify */
    w = new_el(&g, SE_WAIT);
    step_at(&w->st, STEP_WAIT_CONVERGED, g.round_ms, -1);
    sched_mark_trailing(out);
    sched_number(out);
    return 0;
}
