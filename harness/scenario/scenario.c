/* scenario: inih loader for `rift run` scenario files, with line tracking
 * as in policies/policy.c; faults become a shim policy (struct policy). */
#include "scenario.h"

#include "../../policies/esc.h"
#include "../../policies/ini.h"
#include "../../policies/value.h"
#include "../../proto/bus.h"
#include "../../proto/pkt.h"
#include "appscn.h"
#include "flavour.h"
#include "timeline.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_TEXT_MAX 256 /* longer than inih's line */

enum sec {
    SEC_NONE,
    SEC_CLUSTER,
    SEC_SERVER,
    SEC_TIMELINE,
    SEC_WORKLOAD,
    SEC_CHECK,
    SEC_EXPECT,
    SEC_CLIENTS,
    SEC_SHIM,
    SEC_APP,
    SEC_FAULT,
    SEC_BAD,
};

/* Sections that appear at most once, and their keys ([server] and
 * [timeline] take any key). */
static const char *const sec_names[] = {
    [SEC_CLUSTER] = "cluster",   [SEC_SERVER] = "server", [SEC_TIMELINE] = "timeline",
    [SEC_WORKLOAD] = "workload", [SEC_CHECK] = "check",   [SEC_EXPECT] = "expect",
    [SEC_CLIENTS] = "clients",   [SEC_SHIM] = "shim",     [SEC_APP] = "app",
};
static const char *const cluster_keys[] = {"server",       "masters",        "replicas",
                                           "node_timeout", "mode",           "password",
                                           "attach",       "attach_signals", NULL};
static const char *const workload_keys[] = {"writers", NULL};
static const char *const check_keys[] = {"cycles",          "lost_slots", "lost_writes",
                                         "crashes",         "open_slots", "converge_within",
                                         "heal_within",     "crossslot",  "chained_replicas",
                                         "empty_primaries", NULL};
/* The shim settings a scenario may change (the rest belong to the run). */
static const char *const shim_keys[] = {"queue_maxlen", "on_overflow", "queues", "realtime",
                                        "timer_spin",   "busy_poll",   "seed",   NULL};
static const char *const expect_keys[] = {"cycles",           "lost_slots",      "lost_writes",
                                          "crashes",          "never_heals",     "crossslot",
                                          "chained_replicas", "empty_primaries", NULL};

/* Directives rift sets itself on every node. */
static const char *const reserved_conf[] = {
    "port",
    "bind",
    "bind-source-addr",
    "cluster-enabled",
    "cluster-config-file",
    "cluster-port",
    "cluster-node-timeout",
    "daemonize",
    "dir",
    "include",
    "pidfile",
    "logfile",
    "replicaof",
    "slaveof",
    "requirepass",
    "masterauth",
    "masteruser",
    "protected-mode",
    NULL,
};

struct loader {
    struct ini ini; /* lines, the first error */
    struct scenario *s;
    enum sec sec;
    int cur;               /* current fault (rule index) */
    unsigned sec_seen;     /* bitmask of enum sec */
    int sec_line[SEC_BAD]; /* header line of each section seen */
    unsigned key_seen;     /* keys of the current section, by table index */
    char step_text[SCN_MAX_STEPS][STEP_TEXT_MAX];
    char seeds_spec[256];
    int seeds_line;
    char never_spec[256];
    int never_line;
};

/* ---- sections and keys ---- */

static int begin_section(struct loader *L, const char *section)
{
    struct policy *p = &L->s->faults;
    L->key_seen = 0;
    if (!strncmp(section, "fault ", 6)) {
        const char *name = section + 6;
        struct pol_rule *r;
        while (*name == ' ')
            name++;
        L->sec = SEC_BAD;
        if (!pol_valid_name(name))
            return ini_fail(&L->ini, "[%s]: a name of letters, digits, '-', '_' or '.' is needed",
                            section);
        if (pol_find_rule(p, name) >= 0)
            return ini_fail(&L->ini, "fault '%s' is declared twice", name);
        /* The shim policy adds a rule of its own (scn_policy_text). */
        if (!strcmp(name, "observe-bus"))
            return ini_fail(&L->ini, "[%s]: observe-bus is the name of rift's bus observer",
                            section);
        if (p->n_rules == POL_MAX_RULES - 1)
            return ini_fail(&L->ini, "too many faults (at most %d)", POL_MAX_RULES - 1);
        L->cur = p->n_rules++;
        r = &p->rules[L->cur];
        /* The defaults of a policy rule, but started by the timeline. */
        pol_rule_defaults(r);
        r->start_ns = POL_START_MANUAL;
        snprintf(r->name, sizeof(r->name), "%.*s", POL_NAME_MAX - 1, name); /* valid_name */
        r->line = L->ini.line;
        L->sec = SEC_FAULT;
        return 1;
    }
    for (int i = SEC_CLUSTER; i < SEC_FAULT; i++) {
        if (strcmp(section, sec_names[i]) != 0)
            continue;
        if (L->sec_seen & (1u << i)) {
            L->sec = SEC_BAD;
            return ini_fail(&L->ini, "[%s] is given twice (first on line %d)", section,
                            L->sec_line[i]);
        }
        L->sec_seen |= 1u << i;
        L->sec_line[i] = L->ini.line;
        L->sec = (enum sec)i;
        if (i == SEC_EXPECT)
            L->s->has_expect = true;
        return 1;
    }
    L->sec = SEC_BAD;
    return ini_fail(&L->ini,
                    "unknown section [%s] (expected [cluster], [server], [fault NAME], "
                    "[timeline], [workload], [clients], [app], [shim], [check] or [expect])",
                    section);
}

/* Index of key in a section's table, or -1 after an error. */
static int section_key(struct loader *L, const char *const *keys, const char *key)
{
    const char *sec = sec_names[L->sec];
    char list[512];
    for (int i = 0; keys[i]; i++) {
        if (!strcmp(key, keys[i])) {
            if (L->key_seen & (1u << i))
                return ini_fail(&L->ini, "'%s' is given twice in [%s]", key, sec), -1;
            L->key_seen |= 1u << i;
            return i;
        }
    }
    val_join(list, sizeof(list), keys, SIZE_MAX);
    return ini_fail(&L->ini, "unknown key '%s' in [%s] (expected %s)", key, sec, list), -1;
}

/* [shim]: validated by the policy loader itself, then passed on to the
 * shim's policy as written. */
static int shim_key(struct loader *L, const char *key, const char *v)
{
    static struct policy tmp; /* large: not on the stack */
    struct scenario *s = L->s;
    char text[256], err[POL_ERR_MAX];
    if (section_key(L, shim_keys, key) < 0)
        return 0;
    snprintf(text, sizeof(text),
             "[shim]\n%s = %s\n[node a]\naddr = 127.0.0.1\n[node b]\naddr = 127.0.0.3\n"
             "[rule r]\nfrom = a\n"
             "to = b\n",
             key, v);
    if (pol_load_string(&tmp, "shim", text, err, sizeof(err)) < 0) {
        /* "shim:2: what": keep the what */
        const char *msg = strstr(err, ":2: ");
        return ini_fail(&L->ini, "%s", msg ? msg + 4 : err);
    }
    /* tmp holds this one key; the others are its defaults */
    if (!strcmp(key, "queue_maxlen"))
        s->faults.shim.queue_maxlen = tmp.shim.queue_maxlen;
    else if (!strcmp(key, "on_overflow"))
        s->faults.shim.overflow_pass = tmp.shim.overflow_pass;
    else if (!strcmp(key, "queues"))
        s->faults.shim.queues = tmp.shim.queues;
    else if (!strcmp(key, "realtime"))
        s->faults.shim.realtime = tmp.shim.realtime;
    else if (!strcmp(key, "timer_spin"))
        s->faults.shim.timer_spin_ns = tmp.shim.timer_spin_ns;
    else if (!strcmp(key, "seed")) {
        /* the run's seed when --seed is not given: a scenario that replays */
        s->faults.shim.seed = tmp.shim.seed;
        s->faults.shim.seed_given = true;
    } else
        s->faults.shim.busy_poll_ns = tmp.shim.busy_poll_ns;
    return 1;
}

bool scn_password_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 8 || n > SCN_PASSWORD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] > '~' || v[i] == '"' || v[i] == '\'' || v[i] == '\\')
            return false;
    return true;
}

static int cluster_key(struct loader *L, const char *key, const char *v)
{
    struct scenario *s = L->s;
    switch (section_key(L, cluster_keys, key)) {
    case 0:
        if (!flavour_name_ok(v) || strlen(v) >= sizeof(s->server))
            return ini_fail(&L->ini,
                            "server: expected redis, redis8, valkey, valkey-1912, NAME@SUITE "
                            "(valkey@sid, ...) or an absolute path, got '%s'",
                            v);
        snprintf(s->server, sizeof(s->server), "%s", v);
        s->server_line = L->ini.line;
        return 1;
    case 1:
        s->masters_line = L->ini.line;
        if (scn_parse_int(v, 1, 16, &s->masters) < 0)
            return ini_fail(&L->ini, "masters: expected 1 to 16, got '%s'", v);
        return 1;
    case 2:
        if (scn_parse_int(v, 0, 2, &s->replicas) < 0)
            return ini_fail(&L->ini, "replicas: expected 0 to 2 per master, got '%s'", v);
        return 1;
    case 3:
        if (scn_parse_int(v, 100, 60000, &s->node_timeout_ms) < 0)
            return ini_fail(&L->ini,
                            "node_timeout: expected milliseconds from 100 to 60000, got '%s'", v);
        return 1;
    case 4:
        if (strcmp(v, "cluster") != 0 && strcmp(v, "standalone") != 0)
            return ini_fail(&L->ini, "mode: expected cluster or standalone, got '%s'", v);
        s->standalone = !strcmp(v, "standalone");
        return 1;
    case 5:
        if (!scn_password_ok(v))
            return ini_fail(&L->ini,
                            "password: expected 8 to %zu printable characters without blanks, "
                            "quotes or backslashes",
                            sizeof(s->password) - 1);
        snprintf(s->password, sizeof(s->password), "%s", v);
        return 1;
    case 6: {
        char err[SCN_ERR_MAX];
        if (scn_attach_parse(&s->attach, v, err, sizeof(err)) < 0)
            return ini_fail(&L->ini, "attach: %s", err);
        s->attach.line = L->ini.line;
        return 1;
    }
    case 7:
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
            return ini_fail(&L->ini, "attach_signals: expected yes or no, got '%s'", v);
        s->attach.signals = !strcmp(v, "yes");
        return 1;
    }
    return 0;
}

static int server_key(struct loader *L, const char *key, const char *v)
{
    struct scenario *s = L->s;
    size_t n = strlen(key);
    if (n >= sizeof(s->conf[0][0]) || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return ini_fail(&L->ini,
                        "[server]: '%s' is not a redis.conf directive (lowercase letters, "
                        "digits and '-')",
                        key);
    for (int i = 0; reserved_conf[i]; i++)
        if (!strcmp(key, reserved_conf[i]))
            return ini_fail(
                &L->ini, "[server]: %s is set by rift%s", key,
                strcmp(key, "cluster-node-timeout") ? "" : " (use node_timeout in [cluster])");
    for (int i = 0; i < s->n_conf; i++)
        if (!strcmp(s->conf[i][0], key))
            return ini_fail(&L->ini, "'%s' is given twice in [server]", key);
    if (strlen(v) >= sizeof(s->conf[0][1]))
        return ini_fail(&L->ini, "%s: value too long (at most %zu characters)", key,
                        sizeof(s->conf[0][1]) - 1);
    if (s->n_conf == SCN_MAX_CONF)
        return ini_fail(&L->ini, "too many [server] directives (at most %d)", SCN_MAX_CONF);
    if (!s->n_conf)
        s->conf_line = L->ini.line;
    snprintf(s->conf[s->n_conf][0], sizeof(s->conf[0][0]), "%s", key);
    snprintf(s->conf[s->n_conf][1], sizeof(s->conf[0][1]), "%s", v);
    s->n_conf++;
    return 1;
}

static int check_key(struct loader *L, const char *key, const char *v)
{
    struct scn_checks *c = &L->s->check;
    enum scn_rule *rule[] = {
        &c->cycles, &c->lost_slots, &c->lost_writes, &c->crashes,          &c->open_slots,
        NULL,       NULL,           &c->crossslot,   &c->chained_replicas, &c->empty_primaries};
    int k = section_key(L, check_keys, key);
    if (k < 0)
        return 0;
    if (k == 5 || k == 6) {
        uint64_t *t = k == 5 ? &c->converge_within_ns : &c->heal_within_ns;
        if (pol_parse_time(v, t) < 0 || !*t)
            return ini_fail(&L->ini, "%s: expected a time greater than 0 (e.g. 10s), got '%s'", key,
                            v);
        return 1;
    }
    if (!strcmp(v, "forbid"))
        *rule[k] = SCN_FORBID;
    else if (!strcmp(v, "allow"))
        *rule[k] = SCN_ALLOW;
    else
        return ini_fail(&L->ini, "%s: expected forbid or allow, got '%s'", key, v);
    return 1;
}

static int expect_key(struct loader *L, const char *key, const char *v)
{
    struct scn_expect *e = &L->s->expect;
    bool *flag[] = {&e->cycles, &e->lost_slots, &e->lost_writes,      &e->crashes,
                    NULL,       &e->crossslot,  &e->chained_replicas, &e->empty_primaries};
    int k = section_key(L, expect_keys, key);
    if (k < 0)
        return 0;
    if (k == 4) {
        /* probes are resolved after parsing: keep the text */
        snprintf(L->never_spec, sizeof(L->never_spec), "%s", v);
        L->never_line = L->ini.line;
        return 1;
    }
    if (strcmp(v, "present") != 0)
        return ini_fail(&L->ini, "%s: expected present (what a known bug shows), got '%s'", key, v);
    *flag[k] = true;
    return 1;
}

static int timeline_key(struct loader *L, const char *key, const char *v)
{
    struct scenario *s = L->s;
    struct scn_step *st;
    uint64_t ns;
    if (pol_parse_time(key, &ns) < 0)
        return ini_fail(&L->ini, "timeline: bad time '%s' (expected e.g. 1.5s, 250ms, 0)", key);
    if (s->n_steps && ns < s->steps[s->n_steps - 1].at_ns)
        return ini_fail(&L->ini,
                        "timeline: %s comes before the step on line %d: steps must be in "
                        "time order",
                        key, s->steps[s->n_steps - 1].line);
    if (s->n_steps == SCN_MAX_STEPS)
        return ini_fail(&L->ini, "too many timeline steps (at most %d)", SCN_MAX_STEPS);
    if (strlen(v) >= STEP_TEXT_MAX)
        return ini_fail(&L->ini, "timeline: step too long");
    st = &s->steps[s->n_steps];
    memset(st, 0, sizeof(*st));
    st->line = L->ini.line;
    st->at_ns = ns;
    st->node = st->fault = st->src = st->dst = -1;
    snprintf(L->step_text[s->n_steps], STEP_TEXT_MAX, "%s", v);
    s->n_steps++;
    return 1;
}

static int fault_key(struct loader *L, const char *key, const char *v)
{
    struct pol_rule *r = &L->s->faults.rules[L->cur];
    char err[POL_ERR_MAX];
    int k = pol_key_index(key);
    if (k < 0) {
        char names[320];
        pol_key_names(names, sizeof(names));
        return ini_fail(&L->ini, "unknown key '%s' in [fault %s] (a shim [rule]'s: %s)", key,
                        r->name, names);
    }
    if (r->key_line[k])
        return ini_fail(&L->ini, "'%s' is given twice in [fault %s]", key, r->name);
    if (pol_rule_set(r, key, v, err, sizeof(err)) < 0)
        return ini_fail(&L->ini, "%s", err);
    r->key_line[k] = L->ini.line;
    return 1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct loader *L = user;
    (void)section; /* the reader saw its header: L->sec */
    switch (L->sec) {
    case SEC_CLUSTER:
        return cluster_key(L, key, value);
    case SEC_SERVER:
        return server_key(L, key, value);
    case SEC_FAULT:
        return fault_key(L, key, value);
    case SEC_TIMELINE:
        return timeline_key(L, key, value);
    case SEC_WORKLOAD:
        if (section_key(L, workload_keys, key) < 0)
            return 0;
        if (scn_parse_int(value, 0, 64, &L->s->writers) < 0)
            return ini_fail(&L->ini, "writers: expected 0 to 64, got '%s'", value);
        return 1;
    case SEC_CHECK:
        return check_key(L, key, value);
    case SEC_CLIENTS:
        return clients_key(&L->ini, L->s, key, value, L->seeds_spec, sizeof(L->seeds_spec),
                           &L->seeds_line);
    case SEC_SHIM:
        return shim_key(L, key, value);
    case SEC_EXPECT:
        return expect_key(L, key, value);
    case SEC_APP:
        return app_key(&L->ini, &L->s->app, key, value);
    default:
        return 0;
    }
}

static void on_section(void *ctx, const char *name)
{
    begin_section(ctx, name);
}

/* ---- after parsing: nodes, faults, steps ---- */

static void build_nodes(struct loader *L)
{
    struct scenario *s = L->s;
    struct policy *p = &s->faults;
    int line = L->sec_line[SEC_CLUSTER] ? L->sec_line[SEC_CLUSTER] : 1;
    s->n_nodes = s->masters * (1 + s->replicas); /* at most 16 * 3 <= SCN_MAX_NODES */
    for (int i = 0; i < s->n_nodes; i++) {
        int m = i % s->masters, r = i / s->masters;
        struct pol_node *n = &p->nodes[i];
        if (r == 0)
            snprintf(s->names[i], sizeof(s->names[i]), "m%d", m + 1);
        else
            snprintf(s->names[i], sizeof(s->names[i]), "m%dr%d", m + 1, r);
        s->primary_of[i] = r ? m : -1;
        memset(n, 0, sizeof(*n));
        snprintf(n->name, sizeof(n->name), "%s", s->names[i]);
        n->ip = SCN_NODE_IP(i);
        n->port = SCN_PORT;
        n->bus = SCN_PORT + 10000;
        n->line = n->addr_line = line;
    }
    /* pseudo-nodes: rift's clients, and the application ([app]) */
    for (int k = 0; k < 2; k++) {
        struct pol_node *n = &p->nodes[s->n_nodes + k];
        memset(n, 0, sizeof(*n));
        snprintf(n->name, POL_NAME_MAX, "%s", k ? "app" : "clients");
        n->ip = k ? SCN_APP_IP : SCN_CLIENTS_IP;
        n->line = n->addr_line = line;
    }
    p->n_nodes = s->n_nodes + 2;
}

/* from/to name scenario nodes, clients or *: say so before pol_rule_check
 * would talk about [node] sections a scenario does not have. */
static int check_spec(struct loader *L, const struct pol_rule *r, int k)
{
    const char *spec = k == PK_FROM ? r->from_spec : r->to_spec;
    char buf[sizeof(r->from_spec)], names[128], *save = NULL, *tok;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (strcmp(tok, "*") != 0 && strcmp(tok, "clients") != 0 && strcmp(tok, "app") != 0 &&
            strcmp(tok, "others") != 0 && scn_node(L->s, tok) < 0) {
            scn_node_names(L->s, names, sizeof(names));
            return ini_fail_at(
                &L->ini, r->key_line[k],
                "%s: unknown node '%s' (this cluster has %s; or clients, app, *, others)",
                k == PK_FROM ? "from" : "to", tok, names);
        }
    }
    return 0;
}

static int build_faults(struct loader *L)
{
    struct policy *p = &L->s->faults;
    char err[POL_ERR_MAX];
    int line;
    for (int i = 0; i < p->n_rules; i++) {
        struct pol_rule *r = &p->rules[i];
        if (!r->key_line[PK_FROM] || !r->key_line[PK_TO])
            return ini_fail_at(&L->ini, r->line, "[fault %s] needs both from = and to =", r->name);
        if (check_spec(L, r, PK_FROM) < 0 || check_spec(L, r, PK_TO) < 0)
            return -1;
        if (pol_rule_check(p, r, &line, err, sizeof(err)) < 0)
            return ini_fail_at(&L->ini, line, "%s", err);
    }
    return 0;
}

static int validate(struct loader *L)
{
    struct scenario *s = L->s;
    /* No section at all: an empty file (or comments only) runs nothing a
     * user meant; every section left out has its defaults. */
    if (!L->sec_seen && !s->faults.n_rules)
        return ini_fail_at(&L->ini, L->ini.line ? L->ini.line : 1,
                           "%s: no section (a scenario has [cluster], [timeline], ...)",
                           L->ini.line ? "nothing but comments" : "the file is empty");
    if (scn_mode_defaults(&L->ini, s, L->sec_line[SEC_CLUSTER]) < 0)
        return -1;
    build_nodes(L);
    if (build_faults(L) < 0)
        return -1;
    for (int i = 0; i < s->n_steps; i++) {
        char *t = L->step_text[i];
        if (s->standalone && (!strncmp(t, "failover", 8) || !strncmp(t, "migrate", 7)))
            return ini_fail_at(&L->ini, s->steps[i].line,
                               "%s needs a cluster, and mode = standalone runs one server",
                               t[0] == 'f' ? "failover" : "migrate");
        if (tl_parse_step(&L->ini, s, &s->steps[i], t) < 0)
            return -1;
    }
    if (scn_standalone_check(&L->ini, s, L->sec_line[SEC_WORKLOAD], L->sec_line[SEC_CLIENTS]) < 0)
        return -1;
    if (s->attach.n) {
        char err[SCN_ERR_MAX];
        int line = 0;
        if (scn_attach_check(s, &line, err, sizeof(err)) < 0)
            return ini_fail_at(&L->ini, line ? line : s->attach.line, "%s", err);
    }
    if (L->seeds_line) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", L->seeds_spec);
        for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            int n = scn_node(s, t);
            if (n < 0)
                return ini_fail_at(&L->ini, L->seeds_line, "seeds: unknown node '%s'", t);
            s->probe_seeds |= UINT64_C(1) << n;
        }
    }
    if (L->never_line) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", L->never_spec);
        for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            int k;
            for (k = 0; k < s->n_probes && strcmp(s->probes[k].name, t) != 0; k++)
                ;
            if (k == s->n_probes)
                return ini_fail_at(&L->ini, L->never_line,
                                   "never_heals: '%s' is not in [clients] probes", t);
            s->expect.never_heals |= 1u << k;
        }
    }
    if ((L->sec_seen & (1u << SEC_APP)) && !s->app.on)
        return ini_fail_at(&L->ini, L->sec_line[SEC_APP], "[app] needs command =");
    if (!s->app.timeout_ns)
        s->app.timeout_ns = APP_TIMEOUT_DEFAULT_NS;
    if (s->check.heal_within_ns && !s->n_probes)
        return ini_fail_at(&L->ini, L->sec_line[SEC_CHECK], "heal_within needs [clients] probes");
    if (s->has_expect && !(s->expect.cycles || s->expect.lost_slots || s->expect.lost_writes ||
                           s->expect.crashes || s->expect.never_heals || s->expect.crossslot ||
                           s->expect.chained_replicas || s->expect.empty_primaries))
        return ini_fail_at(&L->ini, L->sec_line[SEC_EXPECT],
                           "[expect] names nothing: give at least one of cycles, lost_slots, "
                           "lost_writes, crashes, crossslot = present");
    return 0;
}

static int validate_cb(void *ctx)
{
    return validate(ctx);
}

static int load(struct scenario *s, const char *name, const char *file, const char *text, char *err,
                size_t errlen)
{
    struct policy *p = &s->faults;
    struct loader *L;
    int rc;
    if (!(L = calloc(1, sizeof(*L)))) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
        return -1;
    }
    L->s = s;
    L->cur = -1;
    L->ini = (struct ini){.kind = "scenario",
                          .first = "[cluster]",
                          .on_section = on_section,
                          .on_key = handler,
                          .validate = validate_cb,
                          .ctx = L};
    memset(s, 0, sizeof(*s));
    snprintf(s->file, sizeof(s->file), "%s", name);
    snprintf(s->server, sizeof(s->server), "redis");
    s->masters = 0; /* defaults by mode: scn_mode_defaults */
    s->replicas = -1;
    s->node_timeout_ms = 2000;
    /* [shim] as pol_load leaves it when the section is absent. */
    snprintf(p->file, sizeof(p->file), "%s", name);
    pol_shim_defaults(&p->shim);
    rc = ini_load(&L->ini, name, file, text, err, errlen);
    free(L);
    return rc;
}

int scn_load(struct scenario *s, const char *file, char *err, size_t errlen)
{
    return load(s, file, file, NULL, err, errlen);
}

int scn_load_string(struct scenario *s, const char *name, const char *text, char *err,
                    size_t errlen)
{
    return load(s, name, NULL, text, err, errlen);
}

/* ---- the shim policy ---- */

char *scn_policy_text(const struct scenario *s, const char *control, const char *capture,
                      uint64_t seed)
{
    static const char head[] = "; rift-shim policy for the faults of scenario ";
    struct policy *p = malloc(sizeof(*p));
    char *buf = NULL;
    size_t len = 0, file_len = strcspn(s->file, "\n");
    FILE *o;
    int rc;
    if (!p)
        return NULL;
    *p = s->faults;
    if (control && *control)
        snprintf(p->shim.control, sizeof(p->shim.control), "%s", control);
    snprintf(p->shim.capture, sizeof(p->shim.capture), "%s", capture ? capture : "");
    p->shim.seed = seed;
    p->shim.seed_given = true;
    if (!(o = open_memstream(&buf, &len))) {
        free(p);
        return NULL;
    }
    /* The scenario's path, cut at a newline or where inih would cut the line. */
    if (file_len > POL_INI_LINE - strlen(head))
        file_len = POL_INI_LINE - strlen(head);
    fprintf(o, "%s%.*s\n", head, (int)file_len, s->file);
    rc = pol_write(o, p);
    /* Last, so that every fault matches first: all bus traffic passes
     * through the shim unchanged, for the capture and the decoded bus
     * timeline of the report. */
    fprintf(o, "\n; every cluster-bus packet, unchanged: for the capture\n"
               "[rule observe-bus]\nfrom = *\nto = *\nports = bus\nstart = 0s\n");
    free(p);
    if (fclose(o) != 0 || rc < 0) {
        free(buf);
        errno = EINVAL;
        return NULL;
    }
    return buf;
}
