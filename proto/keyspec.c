/* keyspec: the server's own description of its commands' keys. */
#include "keyspec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

/* A read position in a complete COMMAND reply. */
struct cur {
    const char *buf;
    size_t len, pos;
    char *err;
    size_t errlen;
};

static int bad(struct cur *c, const char *fmt, ...)
{
    va_list ap;
    int o = snprintf(c->err, c->errlen, "COMMAND reply, byte %zu: ", c->pos);
    va_start(ap, fmt);
    if (o >= 0 && (size_t)o < c->errlen)
        vsnprintf(c->err + o, c->errlen - (size_t)o, fmt, ap);
    va_end(ap);
    return -1;
}

static int next(struct cur *c, struct resp_val *v)
{
    return resp_next(c->buf, c->len, &c->pos, v) < 0 ? bad(c, "not a valid reply") : 0;
}

static int skip(struct cur *c)
{
    return resp_skip(c->buf, c->len, &c->pos) < 0 ? bad(c, "not a valid reply") : 0;
}

static bool is_agg(const struct resp_val *v)
{
    return !v->null && strchr("*~%>", v->type);
}

static bool is_str(const struct resp_val *v)
{
    return !v->null && (v->type == '+' || v->type == '$' || v->type == '=');
}

static bool str_is(const struct resp_val *v, const char *s)
{
    return is_str(v) && v->len == strlen(s) && !strncasecmp(v->str, s, v->len);
}

/* An aggregate's header: its element count, or -1. */
static long long agg(struct cur *c, const char *what)
{
    struct resp_val v;
    if (next(c, &v) < 0)
        return -1;
    if (!is_agg(&v))
        return bad(c, "%s is not an array", what);
    return v.n;
}

static int integer(struct cur *c, const char *what, int *out)
{
    struct resp_val v;
    if (next(c, &v) < 0)
        return -1;
    if (v.type != ':' || v.n < -1000000 || v.n > 1000000)
        return bad(c, "%s is not an integer", what);
    *out = (int)v.n;
    return 0;
}

/* Walks a map (RESP3) or a flat key/value array (RESP2), calling fn for
 * each key with the cursor on its value; fn must consume the value. */
typedef int (*map_fn)(struct cur *c, const struct resp_val *key, void *ctx);

static int map(struct cur *c, const char *what, map_fn fn, void *ctx)
{
    long long n = agg(c, what);
    if (n < 0)
        return -1;
    if (n % 2)
        return bad(c, "%s has an odd number of elements", what);
    for (long long i = 0; i < n; i += 2) {
        struct resp_val k;
        if (next(c, &k) < 0)
            return -1;
        if (!is_str(&k))
            return bad(c, "a key of %s is not a string", what);
        if (fn(c, &k, ctx) < 0)
            return -1;
    }
    return 0;
}

static int bs_spec(struct cur *c, const struct resp_val *k, void *ctx)
{
    struct ks_spec *s = ctx;
    struct resp_val v;
    if (str_is(k, "index"))
        return integer(c, "begin_search index", &s->index);
    if (str_is(k, "startfrom"))
        return integer(c, "begin_search startfrom", &s->startfrom);
    if (!str_is(k, "keyword"))
        return skip(c);
    if (next(c, &v) < 0)
        return -1;
    if (!is_str(&v) || v.len >= sizeof(s->keyword))
        return bad(c, "a begin_search keyword that is not a short string");
    memcpy(s->keyword, v.str, v.len);
    s->keyword[v.len] = '\0';
    return 0;
}

static int fk_spec(struct cur *c, const struct resp_val *k, void *ctx)
{
    struct ks_spec *s = ctx;
    if (str_is(k, "lastkey"))
        return integer(c, "find_keys lastkey", &s->lastkey);
    if (str_is(k, "keystep"))
        return integer(c, "find_keys keystep", &s->keystep);
    if (str_is(k, "limit"))
        return integer(c, "find_keys limit", &s->limit);
    if (str_is(k, "keynumidx"))
        return integer(c, "find_keys keynumidx", &s->keynumidx);
    if (str_is(k, "firstkey"))
        return integer(c, "find_keys firstkey", &s->firstkey);
    return skip(c);
}

/* begin_search or find_keys: {type, spec}. The type comes first in every
 * server's reply; a spec before its type is read as unknown. */
struct search {
    struct ks_spec *s;
    bool begin;
    bool typed;
};

static int search_field(struct cur *c, const struct resp_val *k, void *ctx)
{
    struct search *x = ctx;
    struct resp_val v;
    if (str_is(k, "type")) {
        if (next(c, &v) < 0)
            return -1;
        x->typed = true;
        if (x->begin)
            x->s->bs = str_is(&v, "index")     ? KS_BS_INDEX
                       : str_is(&v, "keyword") ? KS_BS_KEYWORD
                                               : KS_BS_UNKNOWN;
        else
            x->s->fk = str_is(&v, "range")    ? KS_FK_RANGE
                       : str_is(&v, "keynum") ? KS_FK_KEYNUM
                                              : KS_FK_UNKNOWN;
        return 0;
    }
    if (!str_is(k, "spec") || !x->typed)
        return skip(c);
    return map(c, "a key spec's search", x->begin ? bs_spec : fk_spec, x->s);
}

static int spec_field(struct cur *c, const struct resp_val *k, void *ctx)
{
    struct ks_spec *s = ctx;
    if (str_is(k, "begin_search") || str_is(k, "find_keys")) {
        struct search x = {s, str_is(k, "begin_search"), false};
        return map(c, "a key spec's search", search_field, &x);
    }
    return skip(c);
}

static int cmp_cmd(const void *a, const void *b)
{
    return strcmp(((const struct ks_cmd *)a)->name, ((const struct ks_cmd *)b)->name);
}

static int entry(struct cur *c, struct ks_cmd *cmd, int depth);

/* An array of command entries: the reply itself, or a command's subcommands. */
static int entries(struct cur *c, struct ks_cmd **out, int *nout, int depth)
{
    long long n = agg(c, depth ? "a subcommand list" : "the reply");
    if (n < 0)
        return -1;
    if (n > 100000 || n > (long long)(c->len - c->pos) / 4) /* an entry takes 4 bytes at least */
        return bad(c, "%lld commands", n);
    *out = calloc(n ? (size_t)n : 1, sizeof(**out));
    if (!*out)
        return bad(c, "out of memory");
    *nout = 0;
    for (long long i = 0; i < n; i++) /* counted first: ks_free frees a half-read one */
        if (entry(c, &(*out)[(*nout)++], depth) < 0)
            return -1;
    qsort(*out, (size_t)*nout, sizeof(**out), cmp_cmd);
    return 0;
}

/* One command: name, arity, flags, first, last, step, then (Redis >= 7)
 * ACL categories, tips, key specs and subcommands. */
static int entry(struct cur *c, struct ks_cmd *cmd, int depth)
{
    struct resp_val v;
    long long n = agg(c, "a command");
    cmd->nspecs = -1;
    if (n < 6)
        return n < 0 ? -1 : bad(c, "a command with %lld fields", n);
    if (next(c, &v) < 0)
        return -1;
    if (!is_str(&v) || !v.len || v.len >= sizeof(cmd->name))
        return bad(c, "a command name that is not a short string");
    for (size_t i = 0; i < v.len; i++)
        cmd->name[i] = (char)(v.str[i] >= 'A' && v.str[i] <= 'Z' ? v.str[i] + 32 : v.str[i]);
    if (integer(c, "arity", &cmd->arity) < 0)
        return -1;
    long long nf = agg(c, "command flags");
    for (long long i = 0; i < nf; i++) {
        if (next(c, &v) < 0)
            return -1;
        if (str_is(&v, "movablekeys"))
            cmd->movablekeys = true;
    }
    if (nf < 0 || integer(c, "first key", &cmd->first) < 0 ||
        integer(c, "last key", &cmd->last) < 0 || integer(c, "key step", &cmd->step) < 0)
        return -1;
    for (long long f = 6; f < n; f++) {
        if (f == 8) { /* key specs */
            long long ns = agg(c, "key specs");
            if (ns < 0)
                return -1;
            if (ns > KS_MAX_SPECS)
                return bad(c, "%s has %lld key specs", cmd->name, ns);
            cmd->nspecs = (int)ns;
            for (int i = 0; i < cmd->nspecs; i++)
                if (map(c, "a key spec", spec_field, &cmd->spec[i]) < 0)
                    return -1;
        } else if (f == 9 && depth == 0) {
            if (entries(c, &cmd->sub, &cmd->nsub, 1) < 0)
                return -1;
        } else if (skip(c) < 0) {
            return -1;
        }
    }
    return 0;
}

int ks_load(struct ks_table *t, const char *buf, size_t len, char *err, size_t errlen)
{
    struct cur c = {buf, len, 0, err, errlen};
    memset(t, 0, sizeof(*t));
    if (entries(&c, &t->cmd, &t->n, 0) < 0) {
        ks_free(t);
        return -1;
    }
    if (c.pos != len) {
        ks_free(t);
        return bad(&c, "bytes after the reply");
    }
    return 0;
}

void ks_free(struct ks_table *t)
{
    for (int i = 0; t->cmd && i < t->n; i++)
        free(t->cmd[i].sub);
    free(t->cmd);
    memset(t, 0, sizeof(*t));
}

static const struct ks_cmd *find(const struct ks_cmd *v, int n, const char *prefix,
                                 const char *name, size_t len)
{
    static const struct ks_cmd zero;
    struct ks_cmd probe = zero; /* only its name is compared */
    size_t pl = strlen(prefix);
    if (pl + len >= sizeof(probe.name))
        return NULL;
    memcpy(probe.name, prefix, pl);
    for (size_t i = 0; i < len; i++)
        probe.name[pl + i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    probe.name[pl + len] = '\0';
    return bsearch(&probe, v, (size_t)n, sizeof(*v), cmp_cmd);
}

const struct ks_cmd *ks_lookup(const struct ks_table *t, int argc, const char *const *argv,
                               const size_t *argl)
{
    if (argc < 1)
        return NULL;
    const struct ks_cmd *c = find(t->cmd, t->n, "", argv[0], argl[0]);
    if (c && c->nsub && argc > 1) {
        char prefix[KS_NAME_MAX];
        snprintf(prefix, sizeof(prefix), "%s|", c->name);
        const struct ks_cmd *s = find(c->sub, c->nsub, prefix, argv[1], argl[1]);
        if (s)
            return s;
    }
    return c;
}

/* A whole non-negative decimal number, as string2ll would take it. */
static bool number(const char *p, size_t n, long long *v)
{
    long long x = 0;
    if (!n || n > 18)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
}

/* The first key position of a spec's search, 0 when its keyword is absent,
 * -1 when it cannot be computed. */
static int begin(const struct ks_spec *s, int argc, const char *const *argv, const size_t *argl)
{
    if (s->bs == KS_BS_INDEX)
        return s->index;
    if (s->bs != KS_BS_KEYWORD)
        return -1;
    /* as the server searches: forward up to the last argument but one,
     * backward down to argument 2 */
    size_t kl = strlen(s->keyword);
    int from = s->startfrom > 0 ? s->startfrom : argc + s->startfrom;
    int end = s->startfrom > 0 ? argc - 1 : 1;
    int step = s->startfrom > 0 ? 1 : -1;
    for (int i = from; i != end && i >= 1 && i < argc; i += step)
        if (argl[i] == kl && !strncasecmp(argv[i], s->keyword, kl))
            return i + 1;
    return 0;
}

/* One spec's keys: 0, or -1 when the arguments do not fit it (the server
 * would refuse the command, or its keys are not knowable). */
static int spec_keys(const struct ks_spec *s, int argc, const char *const *argv, const size_t *argl,
                     ks_key_fn fn, void *ctx)
{
    int first = begin(s, argc, argv, argl), last, step;
    if (first <= 0)
        return first;
    if (s->keynumidx < 0 || s->firstkey < 0)
        return -1; /* no server describes keys before their search's start */
    if (s->fk == KS_FK_RANGE) {
        step = s->keystep;
        if (s->lastkey >= 0)
            last = first + s->lastkey;
        else if (!s->limit)
            last = argc + s->lastkey;
        else
            last = first + ((argc - first) / s->limit + s->lastkey);
    } else if (s->fk == KS_FK_KEYNUM) {
        long long nk;
        step = s->keystep;
        if (s->keynumidx >= argc - first)
            return -1;
        if (!number(argv[first + s->keynumidx], argl[first + s->keynumidx], &nk) || nk > argc)
            return -1;
        first += s->firstkey;
        last = first + (int)nk - 1;
        if (!nk)
            return 0;
    } else {
        return -1;
    }
    if (step <= 0 || first < 1 || last >= argc || last < first || first >= argc)
        return -1;
    for (int i = first; i <= last; i += step)
        if (argl[i]) /* MIGRATE's "" key slot, when KEYS names the keys */
            fn(ctx, i);
    return 0;
}

enum ks_found ks_keys(const struct ks_table *t, int argc, const char *const *argv,
                      const size_t *argl, const struct ks_cmd **cmdp, ks_key_fn fn, void *ctx)
{
    const struct ks_cmd *cmd = ks_lookup(t, argc, argv, argl);
    enum ks_found found = KS_FOUND;
    if (cmdp)
        *cmdp = cmd;
    if (!cmd)
        return KS_UNKNOWN;
    if (cmd->nspecs < 0) { /* a server without key specs: the legacy range */
        int last = cmd->last < 0 ? argc + cmd->last : cmd->last;
        for (int i = cmd->first; cmd->first > 0 && cmd->step > 0 && i <= last && i < argc;
             i += cmd->step)
            if (argl[i])
                fn(ctx, i);
        return cmd->movablekeys ? KS_PARTIAL : KS_FOUND;
    }
    for (int j = 0; j < cmd->nspecs; j++) {
        const struct ks_spec *s = &cmd->spec[j];
        if (s->bs == KS_BS_UNKNOWN || s->fk == KS_FK_UNKNOWN) {
            found = KS_PARTIAL;
            continue;
        }
        spec_keys(s, argc, argv, argl, fn, ctx); /* no fit: the server refuses the syntax */
    }
    return found;
}

/* CRC16-CCITT (XMODEM), four bits at a time. */
static const uint16_t crc_nibble[16] = {0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5,
                                        0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
                                        0xc18c, 0xd1ad, 0xe1ce, 0xf1ef};

static uint16_t crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)buf[i];
        crc = (uint16_t)((crc << 4) ^ crc_nibble[((crc >> 12) ^ (b >> 4)) & 0xf]);
        crc = (uint16_t)((crc << 4) ^ crc_nibble[((crc >> 12) ^ (b & 0xf)) & 0xf]);
    }
    return crc;
}

uint16_t ks_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        const char *close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
        if (close && close != open + 1)
            return crc16(open + 1, (size_t)(close - open - 1)) & (KS_SLOTS - 1);
    }
    return crc16(key, len) & (KS_SLOTS - 1);
}
