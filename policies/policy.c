/* policy: inih loader with line tracking, value parsers, validation. */
#include "../proto/bus.h"
#include "esc.h"
#include "ini.h"
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_bool(const char *s, bool *b)
{
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "on"))
        *b = true;
    else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") ||
             !strcasecmp(s, "off"))
        *b = false;
    else
        return -1;
    return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        return -1;
    *v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE || *v > max)
        return -1;
    return 0;
}

bool pol_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= POL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

void pol_shim_defaults(struct pol_shim *s)
{
    memset(s, 0, sizeof(*s));
    s->queue = 0;
    s->queues = 1;
    s->rules = POL_RULES_IPTABLES;
    s->queue_maxlen = 65536;
    s->overflow_pass = false;
    s->timer_spin_ns = 300000;
    s->busy_poll_ns = 0;
    s->realtime = true;
    snprintf(s->control, sizeof(s->control), "/run/rift/shim.sock");
}

const char *pol_dist_name(enum pol_dist d)
{
    switch (d) {
    case POL_DIST_UNIFORM:
        return "uniform";
    case POL_DIST_NORMAL:
        return "normal";
    case POL_DIST_PARETO:
        return "pareto";
    }
    return "?";
}

/* ---- rule keys ---- */

void pol_rule_defaults(struct pol_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->ports = POL_PORTS_ALL;
    r->proto = POL_PROTO_TCP;
    r->fx.dist = POL_DIST_UNIFORM;
    r->fx.ge_h = 0;
    r->fx.ge_k = POL_P_ONE;
}

int pol_find_rule(const struct policy *p, const char *name)
{
    for (int i = 0; i < p->n_rules; i++)
        if (!strcmp(p->rules[i].name, name))
            return i;
    return -1;
}

bool pol_node_shares_addr(const struct policy *p, int i)
{
    for (int j = 0; p->nodes[i].port && j < p->n_nodes; j++)
        if (j != i && p->nodes[j].port && p->nodes[j].ip == p->nodes[i].ip)
            return true;
    return false;
}

int pol_find_node(const struct policy *p, const char *name)
{
    for (int i = 0; i < p->n_nodes; i++)
        if (!strcmp(p->nodes[i].name, name))
            return i;
    return -1;
}

/* The whole spec is "others" (spaces around it aside). */
static bool spec_is_others(const char *spec)
{
    spec += strspn(spec, " \t");
    return !strncmp(spec, "others", 6) && spec[6 + strspn(spec + 6, " \t")] == '\0';
}

/* "a, b" or "*" to a node bitmask. */
static int resolve_nodes(const struct policy *p, const char *spec, uint64_t *mask, char *err,
                         size_t el)
{
    char buf[256], *save = NULL, *tok;
    *mask = 0;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *e = tok + strlen(tok);
        while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!strcmp(tok, "*")) {
            *mask |= p->n_nodes == 64 ? ~UINT64_C(0) : (UINT64_C(1) << p->n_nodes) - 1;
            continue;
        }
        int i = pol_find_node(p, tok);
        if (i < 0) {
            pol_errf(err, el, "unknown node '%s' (declare it in a [node %s] section)", tok, tok);
            return -1;
        }
        *mask |= UINT64_C(1) << i;
    }
    if (!*mask) {
        pol_errf(err, el, "no nodes given");
        return -1;
    }
    return 0;
}

/* from and to as node masks. "others" on one side: every node the other
 * side does not name (a partition of many nodes, written in one line),
 * the addresses of a scenario's clients and app aside: they are not
 * cluster nodes. */
static int resolve_sides(const struct policy *p, struct pol_rule *r, int *line, char *err,
                         size_t el)
{
    bool from_others = spec_is_others(r->from_spec), to_others = spec_is_others(r->to_spec);
    uint64_t all = 0;
    for (int i = 0; i < p->n_nodes; i++)
        if (strcmp(p->nodes[i].name, "clients") != 0 && strcmp(p->nodes[i].name, "app") != 0)
            all |= UINT64_C(1) << i;
    if (from_others && to_others) {
        *line = r->key_line[PK_TO];
        pol_errf(err, el, "from and to cannot both be others");
        return -1;
    }
    *line = r->key_line[PK_FROM];
    if (!from_others && resolve_nodes(p, r->from_spec, &r->from, err, el) < 0)
        return -1;
    *line = r->key_line[PK_TO];
    if (!to_others && resolve_nodes(p, r->to_spec, &r->to, err, el) < 0)
        return -1;
    if (from_others)
        r->from = all & ~r->to;
    if (to_others)
        r->to = all & ~r->from;
    if (!r->from || !r->to) {
        *line = r->key_line[from_others ? PK_FROM : PK_TO];
        pol_errf(err, el, "others: the other side names every node");
        return -1;
    }
    return 0;
}

#define KEYLINE(r, k) ((r)->key_line[k] ? (r)->key_line[k] : (r)->line)

int pol_rule_check(const struct policy *p, struct pol_rule *r, int *line, char *err, size_t el)
{
    const struct pol_effects *fx = &r->fx;
    *line = r->line;
    if (!r->key_line[PK_FROM] || !r->key_line[PK_TO]) {
        pol_errf(err, el, "rule '%s' needs both from = and to =", r->name);
        return -1;
    }
    if (resolve_sides(p, r, line, err, el) < 0)
        return -1;
    if (r->from == r->to && __builtin_popcountll(r->from) == 1) {
        pol_errf(err, el, "from and to name the same single node");
        return -1;
    }
    if (fx->jitter_ns && !fx->delay_ns) {
        *line = KEYLINE(r, PK_JITTER);
        pol_errf(err, el, "jitter needs a delay");
        return -1;
    }
    if (fx->jitter_ns > fx->delay_ns && fx->dist == POL_DIST_UNIFORM) {
        *line = KEYLINE(r, PK_JITTER);
        pol_errf(err, el, "uniform jitter larger than the delay would need negative delays");
        return -1;
    }
    if ((r->key_line[PK_DIST] || r->key_line[PK_CORR]) && !fx->jitter_ns) {
        *line = KEYLINE(r, r->key_line[PK_DIST] ? PK_DIST : PK_CORR);
        pol_errf(err, el, "%s needs a jitter",
                 r->key_line[PK_DIST] ? "distribution" : "correlation");
        return -1;
    }
    if (fx->reorder && !fx->delay_ns) {
        *line = KEYLINE(r, PK_REORDER);
        pol_errf(err, el, "reorder needs a delay: reordered packets overtake delayed ones");
        return -1;
    }
    if (fx->loss_model == POL_LOSS_GEMODEL) {
        if (r->key_line[PK_LOSS] || r->key_line[PK_LOSS_CORR]) {
            *line = KEYLINE(r, r->key_line[PK_LOSS] ? PK_LOSS : PK_LOSS_CORR);
            pol_errf(err, el, "loss_model = gemodel takes p, r, h, k instead of loss");
            return -1;
        }
        if (!r->key_line[PK_GE_P] || !r->key_line[PK_GE_R]) {
            *line = KEYLINE(r, PK_LOSS_MODEL);
            pol_errf(err, el, "loss_model = gemodel needs p (good->bad) and r (bad->good)");
            return -1;
        }
    } else {
        static const int ge[] = {PK_GE_P, PK_GE_R, PK_GE_H, PK_GE_K};
        for (size_t i = 0; i < 4; i++)
            if (r->key_line[ge[i]]) {
                *line = r->key_line[ge[i]];
                pol_errf(err, el, "%s is a Gilbert-Elliott parameter: set loss_model = gemodel",
                         pol_key_name(ge[i]));
                return -1;
            }
    }
    if (r->opened_by != POL_OPENED_ANY && r->proto != POL_PROTO_TCP) {
        *line = KEYLINE(r, PK_OPENED_BY);
        pol_errf(err, el, "opened_by needs proto = tcp: only TCP has connections");
        return -1;
    }
    if (fx->hold && (fx->delay_ns || fx->reorder || fx->rate_bps)) {
        *line = KEYLINE(r, PK_HOLD);
        pol_errf(err, el,
                 "hold cannot be combined with delay, reorder or rate: held packets "
                 "are released when the rule turns off");
        return -1;
    }
    if (r->messages) {
        *line = KEYLINE(r, PK_MESSAGES);
        if (r->ports != POL_PORTS_BUS) {
            pol_errf(err, el, "messages needs ports = bus");
            return -1;
        }
        /* the bus is TCP: message framing and the checksum rewrite of a
         * dropped message are TCP's */
        if (r->proto != POL_PROTO_TCP) {
            pol_errf(err, el, "messages needs proto = tcp: cluster-bus messages travel on TCP");
            return -1;
        }
        if (fx->reorder || fx->duplicate || fx->rate_bps || fx->loss_model == POL_LOSS_GEMODEL) {
            pol_errf(err, el,
                     "messages works with delay, jitter, hold and loss (which drops "
                     "exactly those messages); not with reorder, duplicate, rate or "
                     "gemodel");
            return -1;
        }
    }
    if (fx->loss_corr && !fx->loss) {
        *line = KEYLINE(r, PK_LOSS_CORR);
        pol_errf(err, el, "loss_correlation needs a loss");
        return -1;
    }
    if (fx->reorder_corr && !fx->reorder) {
        *line = KEYLINE(r, PK_REORDER_CORR);
        pol_errf(err, el, "reorder_correlation needs a reorder");
        return -1;
    }
    if (fx->duplicate_corr && !fx->duplicate) {
        *line = KEYLINE(r, PK_DUP_CORR);
        pol_errf(err, el, "duplicate_correlation needs a duplicate");
        return -1;
    }
    if (fx->delay_corr == POL_P_ONE || fx->loss_corr == POL_P_ONE ||
        fx->reorder_corr == POL_P_ONE || fx->duplicate_corr == POL_P_ONE) {
        *line = r->line;
        pol_errf(err, el, "a correlation of 100%% would never change its first value");
        return -1;
    }
    return 0;
}

/* ---- loader ---- */

struct loader {
    struct ini ini; /* lines, the first error */
    struct policy *p;
    enum { SEC_NONE, SEC_SHIM, SEC_NODE, SEC_RULE, SEC_BAD } sec;
    int cur;            /* current node or rule index */
    unsigned shim_seen; /* bitmask of [shim] keys, to catch duplicates */
    int shim_line[16];
    unsigned node_seen;
};

static int begin_section(struct loader *L, const char *section);

static void on_section(void *ctx, const char *name)
{
    begin_section(ctx, name);
}

static int begin_section(struct loader *L, const char *section)
{
    struct policy *p = L->p;
    if (!strcmp(section, "shim")) {
        L->sec = SEC_SHIM;
        return 1;
    }
    if (!strncmp(section, "node ", 5) || !strncmp(section, "rule ", 5)) {
        bool node = section[0] == 'n';
        const char *name = section + 5;
        while (*name == ' ')
            name++;
        if (!pol_valid_name(name)) {
            L->sec = SEC_BAD;
            return ini_fail(&L->ini, "[%s]: a name of letters, digits, '-', '_' or '.' is needed",
                            section);
        }
        if (node) {
            if (!strcmp(name, "*") || !strcmp(name, "others"))
                return ini_fail(&L->ini, "'%s' cannot be a node name", name);
            if (pol_find_node(p, name) >= 0) {
                L->sec = SEC_BAD;
                return ini_fail(&L->ini, "node '%s' is declared twice", name);
            }
            if (p->n_nodes == POL_MAX_NODES) {
                L->sec = SEC_BAD;
                return ini_fail(&L->ini, "too many nodes (at most %d)", POL_MAX_NODES);
            }
            L->cur = p->n_nodes++;
            memset(&p->nodes[L->cur], 0, sizeof(p->nodes[0]));
            snprintf(p->nodes[L->cur].name, POL_NAME_MAX, "%s", name);
            p->nodes[L->cur].line = L->ini.line;
            L->sec = SEC_NODE;
            L->node_seen = 0;
        } else {
            if (pol_find_rule(p, name) >= 0) {
                L->sec = SEC_BAD;
                return ini_fail(&L->ini, "rule '%s' is declared twice", name);
            }
            if (p->n_rules == POL_MAX_RULES) {
                L->sec = SEC_BAD;
                return ini_fail(&L->ini, "too many rules (at most %d)", POL_MAX_RULES);
            }
            L->cur = p->n_rules++;
            pol_rule_defaults(&p->rules[L->cur]);
            snprintf(p->rules[L->cur].name, POL_NAME_MAX, "%s", name);
            p->rules[L->cur].line = L->ini.line;
            L->sec = SEC_RULE;
        }
        return 1;
    }
    L->sec = SEC_BAD;
    return ini_fail(&L->ini, "unknown section [%s] (expected [shim], [node NAME] or [rule NAME])",
                    section);
}

static int shim_key(struct loader *L, const char *key, const char *v)
{
    static const char *const keys[] = {
        "queue",      "seed",      "capture", "control",  "rules", "queue_maxlen", "on_overflow",
        "timer_spin", "busy_poll", "queues",  "realtime", "owner", "queue_search"};
    struct pol_shim *s = &L->p->shim;
    unsigned long long n;
    bool b;
    size_t i;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(key, keys[i]))
            break;
    if (i == sizeof(keys) / sizeof(keys[0])) {
        char names[256];
        val_join(names, sizeof(names), keys, sizeof(keys) / sizeof(keys[0]));
        return ini_fail(&L->ini, "unknown key '%s' in [shim] (expected %s)", key, names);
    }
    if (L->shim_seen & (1u << i))
        return ini_fail(&L->ini, "'%s' is given twice in [shim]", key);
    L->shim_seen |= 1u << i;
    L->shim_line[i] = L->ini.line;
    switch (i) {
    case 0:
        if (parse_uint(v, 65535, &n) < 0)
            return ini_fail(&L->ini, "queue: expected a queue number 0-65535, got '%s'", v);
        s->queue = (unsigned)n;
        break;
    case 1:
        if (parse_uint(v, UINT64_MAX, &n) < 0)
            return ini_fail(&L->ini, "seed: expected an unsigned integer, got '%s'", v);
        s->seed = n;
        s->seed_given = true;
        break;
    case 2:
    case 3:
        if (!*v || strlen(v) >= POL_PATH_MAX)
            return ini_fail(&L->ini, "%s: expected a path", key);
        snprintf(i == 2 ? s->capture : s->control, POL_PATH_MAX, "%s", v);
        break;
    case 4:
        if (!strcmp(v, "iptables"))
            s->rules = POL_RULES_IPTABLES;
        else if (!strcmp(v, "none"))
            s->rules = POL_RULES_NONE;
        else
            return ini_fail(&L->ini, "rules: expected iptables or none, got '%s'", v);
        break;
    case 5:
        if (parse_uint(v, 4u << 20, &n) < 0 || n < 16)
            return ini_fail(&L->ini, "queue_maxlen: expected 16 to 4194304 packets, got '%s'", v);
        s->queue_maxlen = (uint32_t)n;
        break;
    case 6:
        if (!strcmp(v, "drop"))
            s->overflow_pass = false;
        else if (!strcmp(v, "pass"))
            s->overflow_pass = true;
        else
            return ini_fail(&L->ini, "on_overflow: expected drop or pass, got '%s'", v);
        break;
    case 7:
        if (pol_parse_time(v, &s->timer_spin_ns) < 0 || s->timer_spin_ns > 10000000)
            return ini_fail(&L->ini,
                            "timer_spin: expected a time up to 10ms (e.g. 200us, 0), got '%s'", v);
        break;
    case 9:
        if (parse_uint(v, POL_MAX_QUEUES, &n) < 0 || n < 1)
            return ini_fail(&L->ini, "queues: expected 1 to 64 queues, got '%s'", v);
        s->queues = (unsigned)n;
        break;
    case 10:
        if (parse_bool(v, &s->realtime) < 0)
            return ini_fail(&L->ini, "realtime: expected yes or no, got '%s'", v);
        break;
    case 11:
        if (!*v || strlen(v) > POL_OWNER_MAX ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                strlen(v))
            return ini_fail(&L->ini,
                            "owner: expected 1 to %d letters, digits or '_' (it names the "
                            "iptables chain), got '%s'",
                            POL_OWNER_MAX, v);
        snprintf(s->owner, sizeof(s->owner), "%s", v);
        break;
    case 12:
        if (parse_uint(v, 1000, &n) < 0)
            return ini_fail(&L->ini, "queue_search: expected 0 to 1000 queue blocks, got '%s'", v);
        s->queue_search = (unsigned)n;
        break;
    case 8:
        if (parse_bool(v, &b) == 0)
            s->busy_poll_ns = b ? UINT64_MAX : 0;
        else if (pol_parse_time(v, &s->busy_poll_ns) < 0 || s->busy_poll_ns > 1000000000)
            return ini_fail(&L->ini,
                            "busy_poll: expected yes, no or a time up to 1s (e.g. 100us), "
                            "got '%s'",
                            v);
        break;
    }
    return 1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct loader *L = user;
    (void)section; /* the reader saw its header: L->sec */
    switch (L->sec) {
    case SEC_SHIM:
        return shim_key(L, key, value);
    case SEC_NODE: {
        struct pol_node *n = &L->p->nodes[L->cur];
        if (!strcmp(key, "addr")) {
            if (L->node_seen & 1)
                return ini_fail(&L->ini, "'addr' is given twice in [node %s]", n->name);
            L->node_seen |= 1;
            if (pol_parse_addr(value, &n->ip, &n->port) < 0)
                return ini_fail(&L->ini, "addr: expected IPv4[:PORT] (port 1-55535), got '%s'",
                                value);
            if (!n->ip)
                return ini_fail(&L->ini, "addr: 0.0.0.0 cannot be a node's address");
            n->addr_line = L->ini.line;
            if (!(L->node_seen & 2))
                n->bus = n->port ? (uint16_t)(n->port + 10000) : 0;
            return 1;
        }
        if (!strcmp(key, "bus")) {
            unsigned long long b;
            if (L->node_seen & 2)
                return ini_fail(&L->ini, "'bus' is given twice in [node %s]", n->name);
            L->node_seen |= 2;
            if (parse_uint(value, 65535, &b) < 0 || b == 0)
                return ini_fail(&L->ini, "bus: expected a port 1-65535, got '%s'", value);
            n->bus = (uint16_t)b;
            return 1;
        }
        if (!strcmp(key, "id")) {
            size_t k;
            if (L->node_seen & 4)
                return ini_fail(&L->ini, "'id' is given twice in [node %s]", n->name);
            L->node_seen |= 4;
            for (k = 0; k < 40 && isxdigit((unsigned char)value[k]); k++)
                n->id[k] = (char)tolower((unsigned char)value[k]);
            n->id[k] = '\0';
            if (k != 40 || value[k])
                return ini_fail(&L->ini, "id: expected a node id of 40 hex digits, got '%s'",
                                value);
            return 1;
        }
        return ini_fail(&L->ini, "unknown key '%s' in [node %s] (expected addr, bus, id)", key,
                        n->name);
    }
    case SEC_RULE: {
        struct pol_rule *r = &L->p->rules[L->cur];
        int k = pol_key_index(key);
        if (k >= 0 && r->key_line[k])
            return ini_fail(&L->ini, "'%s' is given twice in [rule %s]", key, r->name);
        char err[POL_ERR_MAX];
        if (pol_rule_set(r, key, value, err, sizeof(err)) < 0)
            return ini_fail(&L->ini, "%s", err);
        r->key_line[k] = L->ini.line;
        return 1;
    }
    default:
        return 0;
    }
}

static int validate(struct loader *L)
{
    struct policy *p = L->p;
    char err[POL_ERR_MAX];
    int line;
    for (int i = 0; i < p->n_nodes; i++) {
        struct pol_node *n = &p->nodes[i];
        if (!n->addr_line) {
            L->ini.line = n->line;
            return ini_fail(&L->ini, "[node %s] needs addr = IPv4[:PORT]", n->name), -1;
        }
        if (!n->port && n->bus) {
            L->ini.line = n->line;
            return ini_fail(&L->ini,
                            "[node %s] has a bus port but no client port: give addr = IP:PORT",
                            n->name),
                   -1;
        }
        for (int j = 0; j < i; j++) {
            const struct pol_node *o = &p->nodes[j];
            const char *why = NULL;
            if (o->ip == n->ip && o->port == n->port)
                why = "has the same address as";
            else if (o->ip == n->ip && n->port && o->port &&
                     (n->bus == o->bus || n->bus == o->port || n->port == o->bus))
                why = "shares a port (client or bus) with";
            else if (o->ip == n->ip && n->port && o->port && (!n->id[0] || !o->id[0]))
                why = "shares its address, and so needs an id = (its CLUSTER MYID) as does";
            else if (n->id[0] && !strcmp(n->id, o->id))
                why = "has the same id as";
            if (why) {
                L->ini.line = n->line;
                return ini_fail(&L->ini, "node '%s' %s node '%s'", n->name, why, o->name), -1;
            }
        }
    }
    if (p->shim.queue + p->shim.queues > 65536) {
        L->ini.line = L->shim_line[9];
        return ini_fail(&L->ini, "queue + queues goes past queue 65535"), -1;
    }
    if (p->n_rules == 0) {
        L->ini.line = L->ini.line ? L->ini.line : 1;
        return ini_fail(&L->ini, "the policy has no [rule NAME] section"), -1;
    }
    for (int i = 0; i < p->n_rules; i++) {
        if (pol_rule_check(p, &p->rules[i], &line, err, sizeof(err)) < 0) {
            L->ini.line = line;
            return ini_fail(&L->ini, "%s", err), -1;
        }
    }
    return 0;
}

static int validate_cb(void *ctx)
{
    return validate(ctx);
}

static int load(struct policy *p, const char *name, const char *file, const char *text, char *err,
                size_t errlen)
{
    struct loader L = {.p = p, .cur = -1};
    memset(p, 0, sizeof(*p));
    snprintf(p->file, sizeof(p->file), "%s", name);
    pol_shim_defaults(&p->shim);
    L.ini = (struct ini){.kind = "policy",
                         .first = "[shim], [node NAME] or [rule NAME]",
                         .on_section = on_section,
                         .on_key = handler,
                         .validate = validate_cb,
                         .ctx = &L};
    return ini_load(&L.ini, name, file, text, err, errlen);
}

int pol_load(struct policy *p, const char *file, char *err, size_t errlen)
{
    return load(p, file, file, NULL, err, errlen);
}

int pol_load_string(struct policy *p, const char *name, const char *text, char *err, size_t errlen)
{
    return load(p, name, NULL, text, err, errlen);
}
