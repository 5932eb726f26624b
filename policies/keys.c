/* keys: a rule's keys as one table (name, kind, field, choices), the way
 * iproute2's q_netem lists netem's options: setting a key from text and
 * formatting it back both go through it. */
#include "policy.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../proto/bus.h"

enum key_kind { KK_SPEC, KK_ENUM, KK_MESSAGES, KK_TIME, KK_PROB, KK_RATE, KK_START, KK_DURATION };

struct key_choice {
    const char *name;
    int value;
};

struct rule_key {
    const char *name;
    enum key_kind kind;
    size_t off, size;                 /* the field in struct pol_rule */
    const struct key_choice *choices; /* KK_ENUM, ending with a NULL name */
    const char *expect;               /* what an error says is expected */
};

#define F(field) offsetof(struct pol_rule, field), sizeof(((struct pol_rule *)0)->field)

static const struct key_choice ports[] = {
    {"bus", POL_PORTS_BUS}, {"client", POL_PORTS_CLIENT}, {"all", POL_PORTS_ALL}, {NULL, 0}};
static const struct key_choice direction[] = {{"one-way", 0}, {"both", 1}, {NULL, 0}};
static const struct key_choice opened_by[] = {
    {"any", POL_OPENED_ANY}, {"from", POL_OPENED_FROM}, {"to", POL_OPENED_TO}, {NULL, 0}};
static const struct key_choice proto[] = {
    {"tcp", POL_PROTO_TCP}, {"udp", POL_PROTO_UDP}, {NULL, 0}};
static const struct key_choice dist[] = {{"uniform", POL_DIST_UNIFORM},
                                         {"normal", POL_DIST_NORMAL},
                                         {"pareto", POL_DIST_PARETO},
                                         {NULL, 0}};
static const struct key_choice loss_model[] = {
    {"random", POL_LOSS_RANDOM}, {"gemodel", POL_LOSS_GEMODEL}, {NULL, 0}};
/* yes/no and their synonyms; the first of each value is written back */
static const struct key_choice yes_no[] = {{"yes", 1},   {"no", 0}, {"true", 1},
                                           {"false", 0}, {"on", 1}, {"off", 0},
                                           {"1", 1},     {"0", 0},  {NULL, 0}};

static const struct rule_key keys[PK__COUNT] = {
    [PK_FROM] = {"from", KK_SPEC, F(from_spec), NULL, "node names or *"},
    [PK_TO] = {"to", KK_SPEC, F(to_spec), NULL, "node names or *"},
    [PK_PORTS] = {"ports", KK_ENUM, F(ports), ports, "bus, client or all"},
    [PK_DIRECTION] = {"direction", KK_ENUM, F(both), direction, "one-way or both"},
    [PK_OPENED_BY] = {"opened_by", KK_ENUM, F(opened_by), opened_by, "any, from or to"},
    [PK_PROTO] = {"proto", KK_ENUM, F(proto), proto, "tcp or udp"},
    [PK_MESSAGES] = {"messages", KK_MESSAGES, F(messages), NULL, NULL},
    [PK_DELAY] = {"delay", KK_TIME, F(fx.delay_ns), NULL, NULL},
    [PK_JITTER] = {"jitter", KK_TIME, F(fx.jitter_ns), NULL, NULL},
    [PK_DIST] = {"distribution", KK_ENUM, F(fx.dist), dist, "uniform, normal or pareto"},
    [PK_CORR] = {"correlation", KK_PROB, F(fx.delay_corr), NULL, NULL},
    [PK_LOSS] = {"loss", KK_PROB, F(fx.loss), NULL, NULL},
    [PK_LOSS_CORR] = {"loss_correlation", KK_PROB, F(fx.loss_corr), NULL, NULL},
    [PK_LOSS_MODEL] = {"loss_model", KK_ENUM, F(fx.loss_model), loss_model, "random or gemodel"},
    [PK_GE_P] = {"p", KK_PROB, F(fx.ge_p), NULL, NULL},
    [PK_GE_R] = {"r", KK_PROB, F(fx.ge_r), NULL, NULL},
    [PK_GE_H] = {"h", KK_PROB, F(fx.ge_h), NULL, NULL},
    [PK_GE_K] = {"k", KK_PROB, F(fx.ge_k), NULL, NULL},
    [PK_REORDER] = {"reorder", KK_PROB, F(fx.reorder), NULL, NULL},
    [PK_REORDER_CORR] = {"reorder_correlation", KK_PROB, F(fx.reorder_corr), NULL, NULL},
    [PK_DUP] = {"duplicate", KK_PROB, F(fx.duplicate), NULL, NULL},
    [PK_DUP_CORR] = {"duplicate_correlation", KK_PROB, F(fx.duplicate_corr), NULL, NULL},
    [PK_RATE] = {"rate", KK_RATE, F(fx.rate_bps), NULL, NULL},
    [PK_HOLD] = {"hold", KK_ENUM, F(fx.hold), yes_no, "yes or no"},
    [PK_START] = {"start", KK_START, F(start_ns), NULL, NULL},
    [PK_DURATION] = {"duration", KK_DURATION, F(duration_ns), NULL, NULL},
};

const char *pol_key_name(int k)
{
    return k >= 0 && k < PK__COUNT ? keys[k].name : NULL;
}

void pol_key_names(char *out, size_t len)
{
    const char *names[PK__COUNT];
    for (int i = 0; i < PK__COUNT; i++)
        names[i] = keys[i].name;
    val_join(out, len, names, PK__COUNT);
}

int pol_key_index(const char *key)
{
    for (int i = 0; i < PK__COUNT; i++)
        if (!strcmp(key, keys[i].name))
            return i;
    return -1;
}

int pol_errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* An enum or bool field, whatever its size. */
static void put_int(void *field, size_t size, int v)
{
    if (size == sizeof(bool))
        *(bool *)field = v != 0;
    else
        memcpy(field, &v, sizeof(int));
}

static int get_int(const void *field, size_t size)
{
    int v;
    if (size == sizeof(bool))
        return *(const bool *)field;
    memcpy(&v, field, sizeof(int));
    return v;
}

static int set_messages(uint32_t *types, const char *v, char *err, size_t el)
{
    char buf[256], *save = NULL;
    *types = 0;
    snprintf(buf, sizeof(buf), "%s", v);
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        size_t i;
        for (i = 0; i < BUS_N_TYPES && strcasecmp(t, bus_type_names[i]) != 0; i++)
            ;
        if (i == BUS_N_TYPES)
            return pol_errf(err, el,
                            "messages: unknown cluster-bus message type '%s' (PING, PONG, "
                            "MEET, FAIL, PUBLISH, FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, "
                            "UPDATE, MFSTART, MODULE, PUBLISHSHARD)",
                            t);
        *types |= 1u << i;
    }
    if (!*types)
        return pol_errf(err, el, "messages: name at least one message type");
    return 0;
}

int pol_rule_set(struct pol_rule *r, const char *key, const char *v, char *err, size_t el)
{
    int k = pol_key_index(key);
    const struct rule_key *rk;
    void *field;
    uint64_t ns;
    if (k < 0) {
        char names[320];
        pol_key_names(names, sizeof(names));
        return pol_errf(err, el, "unknown key '%s' in a rule (expected %s)", key, names);
    }
    rk = &keys[k];
    field = (char *)r + rk->off;
    switch (rk->kind) {
    case KK_SPEC:
        if (strlen(v) >= rk->size || !*v)
            return pol_errf(err, el, "%s: expected %s", key, rk->expect);
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case KK_ENUM:
        for (const struct key_choice *c = rk->choices; c->name; c++)
            if (rk->choices == yes_no ? !strcasecmp(v, c->name) : !strcmp(v, c->name)) {
                put_int(field, rk->size, c->value);
                return 0;
            }
        return pol_errf(err, el, "%s: expected %s, got '%s'", key, rk->expect, v);
    case KK_MESSAGES:
        return set_messages(field, v, err, el);
    case KK_TIME:
        if (pol_parse_time(v, field) < 0)
            return pol_errf(err, el, "%s: bad time '%s' (expected e.g. 20ms, 1.5s, 250us)", key, v);
        return 0;
    case KK_PROB:
        if (pol_parse_prob(v, field) < 0)
            return pol_errf(err, el, "%s: expected a percentage between 0%% and 100%%, got '%s'",
                            key, v);
        return 0;
    case KK_RATE:
        if (pol_parse_rate(v, field) < 0)
            return pol_errf(err, el, "rate: bad rate '%s' (expected e.g. 500kbit, 1mbit, 1gbit)",
                            v);
        return 0;
    case KK_START:
        if (!strcmp(v, "manual")) {
            r->start_ns = POL_START_MANUAL;
            return 0;
        }
        if (pol_parse_time(v, &ns) < 0)
            return pol_errf(err, el, "start: expected a time (0s, 2.5s) or manual, got '%s'", v);
        r->start_ns = (int64_t)ns;
        return 0;
    case KK_DURATION:
        if (pol_parse_time(v, &r->duration_ns) < 0 || r->duration_ns == 0)
            return pol_errf(err, el, "duration: expected a time greater than 0, got '%s'", v);
        return 0;
    }
    return pol_errf(err, el, "unknown key '%s' in a rule", key);
}

static void fmt_time(char *out, size_t len, uint64_t ns)
{
    if (ns && ns % 1000000 == 0)
        snprintf(out, len, "%llums", (unsigned long long)(ns / 1000000));
    else if (ns && ns % 1000 == 0)
        snprintf(out, len, "%lluus", (unsigned long long)(ns / 1000));
    else
        snprintf(out, len, "%lluns", (unsigned long long)ns);
}

/* The shortest percentage that parses back to the same fixed-point value
 * (12 digits always do). */
static void fmt_prob(char *out, size_t len, uint64_t p)
{
    double pct = (double)p * 100.0 / (double)POL_P_ONE;
    uint64_t back;
    for (int digits = 6; digits <= 12; digits++) {
        snprintf(out, len, "%.*g%%", digits, pct);
        if (pol_parse_prob(out, &back) == 0 && back == p)
            break;
    }
}

void pol_key_format(const struct pol_rule *r, int k, char *out, size_t len)
{
    const struct rule_key *rk = &keys[k];
    const void *field = (const char *)r + rk->off;
    uint64_t v;
    size_t off = 0;
    out[0] = '\0';
    switch (rk->kind) {
    case KK_SPEC:
        snprintf(out, len, "%s", (const char *)field);
        return;
    case KK_ENUM: {
        int iv = get_int(field, rk->size);
        for (const struct key_choice *c = rk->choices; c->name; c++)
            if (c->value == iv) {
                snprintf(out, len, "%s", c->name);
                return;
            }
        return;
    }
    case KK_MESSAGES:
        for (unsigned t = 0; t < BUS_N_TYPES; t++)
            if ((r->messages >> t) & 1 && off < len)
                off += (size_t)snprintf(out + off, len - off, "%s%s", off ? ", " : "",
                                        bus_type_names[t]);
        return;
    case KK_START:
        if (r->start_ns == POL_START_MANUAL) {
            snprintf(out, len, "manual");
            return;
        }
        fmt_time(out, len, (uint64_t)r->start_ns);
        return;
    case KK_TIME:
    case KK_DURATION:
        memcpy(&v, field, sizeof(v));
        fmt_time(out, len, v);
        return;
    case KK_PROB:
        memcpy(&v, field, sizeof(v));
        fmt_prob(out, len, v);
        return;
    case KK_RATE:
        memcpy(&v, field, sizeof(v));
        snprintf(out, len, "%llubit", (unsigned long long)v);
        return;
    }
}

void pol_format_time(char *out, size_t len, uint64_t ns)
{
    fmt_time(out, len, ns);
}
