/* audit: the CROSSSLOT audit of client traffic. */
#include "audit.h"

#include <ctype.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../policies/esc.h"
#include "../../proto/resp.h"

/* A MULTI block being queued. */
struct au_block {
    char commands[256];
    char keys[AU_KEYS][AU_KEY_MAX];
    int nkeys;
    uint8_t map[KS_SLOTS / 8];
    int nslots;
    uint64_t first_us;
};

struct au_conn {
    struct audit *a;
    struct resp_stream req, rep;
    bool decided, skip;
    bool replies_lost; /* server bytes came before the first request */
    char client[64];
    struct au_block *multi;
};

/* ---- findings ---- */

static void keep_key(char (*keys)[AU_KEY_MAX], int *n, const char *k, size_t len)
{
    size_t o = 0;
    if (*n >= AU_KEYS)
        return;
    for (size_t i = 0; i < len && o + 5 < AU_KEY_MAX; i++) {
        if (k[i]) {
            keys[*n][o++] = k[i];
        } else { /* a C string cannot hold NUL */
            memcpy(keys[*n] + o, "\\x00", 4);
            o += 4;
        }
    }
    keys[*n][o] = '\0';
    (*n)++;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Records one request (or block) with its sorted distinct slots. */
static void add_finding(struct audit *a, const char *command, const char *commands,
                        const char *script, long db, const uint16_t *slots, int nslots,
                        char (*keys)[AU_KEY_MAX], int nkeys, const char *client, uint64_t first_us)
{
    uint64_t h = fnv(1469598103934665603ull, command, strlen(command) + 1);
    h = fnv(h, commands, strlen(commands) + 1);
    h = fnv(h, script, strlen(script) + 1);
    h = fnv(h, &db, sizeof(db));
    h = fnv(h, slots, (size_t)nslots * sizeof(*slots));
    for (int i = 0; i < a->nf; i++) {
        struct au_finding *f = &a->f[i];
        if (f->hash == h && f->nslots == nslots && f->db == db && !strcmp(f->command, command) &&
            !strcmp(f->commands, commands) && !strcmp(f->script, script) &&
            (!nslots || !memcmp(f->slots, slots, (size_t)nslots * sizeof(*slots)))) {
            f->count++;
            return;
        }
    }
    if (a->nf >= AU_MAX_FINDINGS) {
        a->findings_dropped++;
        return;
    }
    struct au_finding *f = &a->f[a->nf];
    memset(f, 0, sizeof(*f));
    if (nslots && !(f->slots = malloc((size_t)nslots * sizeof(*slots)))) {
        a->findings_dropped++;
        return;
    }
    a->nf++;
    snprintf(f->command, sizeof(f->command), "%s", command);
    snprintf(f->commands, sizeof(f->commands), "%s", commands);
    snprintf(f->script, sizeof(f->script), "%s", script);
    snprintf(f->client, sizeof(f->client), "%s", client);
    if (nslots)
        memcpy(f->slots, slots, (size_t)nslots * sizeof(*slots));
    f->nslots = nslots;
    f->db = db;
    f->hash = h;
    f->count = 1;
    f->first_ms = first_us > a->t0_us ? (first_us - a->t0_us) / 1000 : 0;
    memcpy(f->keys, keys, (size_t)nkeys * sizeof(f->keys[0])); /* the rest is not set */
    f->nkeys = nkeys;
}

static void count_name(struct au_name *v, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(v[i].name, name)) {
            v[i].count++;
            return;
        }
    if (*n < AU_MAX_NAMES) {
        snprintf(v[*n].name, sizeof(v[*n].name), "%s", name);
        v[(*n)++].count = 1;
    }
}

/* ---- requests ---- */

/* The keys of one request. */
struct keyscan {
    struct audit *a;
    const struct resp_msg *m;
    char keys[AU_KEYS][AU_KEY_MAX];
    int nkeys;
};

static void on_key(void *ctx, int pos)
{
    struct keyscan *k = ctx;
    struct audit *a = k->a;
    uint16_t s = ks_slot(k->m->argv[pos], k->m->argl[pos]);
    keep_key(k->keys, &k->nkeys, k->m->argv[pos], k->m->argl[pos]);
    if (!(a->slotmap[s / 8] & (1u << (s % 8)))) {
        a->slotmap[s / 8] |= (uint8_t)(1u << (s % 8));
        a->touched[a->ntouched++] = s;
    }
}

static int cmp_u16(const void *x, const void *y)
{
    return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

static bool arg_is(const struct resp_msg *m, int i, const char *s)
{
    return i < m->argc && m->argl[i] == strlen(s) && !strncasecmp(m->argv[i], s, m->argl[i]);
}

/* A database number argument, or -1. */
static long db_arg(const struct resp_msg *m, int i)
{
    long v = 0;
    if (i >= m->argc || !m->argl[i] || m->argl[i] > 9)
        return -1;
    for (size_t j = 0; j < m->argl[i]; j++) {
        if (!isdigit((unsigned char)m->argv[i][j]))
            return -1;
        v = v * 10 + (m->argv[i][j] - '0');
    }
    return v;
}

/* SELECT, SWAPDB, MOVE and COPY ... DB: a cluster has database 0 only, and
 * refuses SWAPDB and MOVE whatever their arguments. Returns whether the
 * request is done with (COPY still has keys to look at). */
static bool db_request(struct au_conn *c, const struct resp_msg *m, const char *name)
{
    struct audit *a = c->a;
    long db = 0;
    bool report;
    if (!strcmp(name, "SELECT")) {
        db = db_arg(m, 1);
        report = db > 0;
    } else if (!strcmp(name, "SWAPDB")) {
        db = db_arg(m, 1) ? db_arg(m, 1) : db_arg(m, 2);
        db = db < 0 ? AU_DB_UNREADABLE : db;
        report = true;
    } else if (!strcmp(name, "MOVE")) {
        db = db_arg(m, 2) < 0 ? AU_DB_UNREADABLE : db_arg(m, 2);
        report = true;
    } else if (!strcmp(name, "COPY")) {
        for (int i = 3; i + 1 < m->argc; i++)
            if (arg_is(m, i, "DB"))
                db = db_arg(m, i + 1);
        report = db > 0;
    } else {
        return false;
    }
    if (report) {
        char none[AU_KEYS][AU_KEY_MAX];
        add_finding(a, name, "", "", db, NULL, 0, none, 0, c->client, a->now_us);
    }
    return strcmp(name, "COPY") != 0;
}

static void block_add(struct au_block *b, const char *name, struct keyscan *k, struct audit *a)
{
    char word[KS_NAME_MAX + 2];
    snprintf(word, sizeof(word), " %s ", name);
    char padded[sizeof(b->commands) + 2];
    snprintf(padded, sizeof(padded), " %s ", b->commands);
    if (!strstr(padded, word) && strlen(b->commands) + strlen(name) + 2 < sizeof(b->commands))
        snprintf(b->commands + strlen(b->commands), sizeof(b->commands) - strlen(b->commands),
                 "%s%s", b->commands[0] ? " " : "", name);
    for (int i = 0; i < k->nkeys; i++)
        keep_key(b->keys, &b->nkeys, k->keys[i], strlen(k->keys[i]));
    for (int i = 0; i < a->ntouched; i++) {
        uint16_t s = a->touched[i];
        if (!(b->map[s / 8] & (1u << (s % 8)))) {
            b->map[s / 8] |= (uint8_t)(1u << (s % 8));
            b->nslots++;
        }
    }
}

static void block_end(struct au_conn *c, bool exec)
{
    struct au_block *b = c->multi;
    struct audit *a = c->a;
    if (!b)
        return;
    if (exec && b->nslots > 1) {
        int n = 0;
        for (int s = 0; s < KS_SLOTS; s++)
            if (b->map[s / 8] & (1u << (s % 8)))
                a->touched[n++] = (uint16_t)s;
        add_finding(a, "MULTI", b->commands, "", -1, a->touched, n, b->keys, b->nkeys, c->client,
                    b->first_us);
    }
    free(b);
    c->multi = NULL;
}

/* The command's name as a cluster client sees it: "MSET", "XINFO STREAM". */
static void display_name(const struct ks_cmd *cmd, const struct resp_msg *m, char *out, size_t len)
{
    size_t i = 0;
    const char *src = cmd ? cmd->name : m->argv[0];
    size_t n = cmd ? strlen(cmd->name) : m->argl[0];
    for (; i < n && i + 1 < len && i < 39; i++) {
        unsigned char ch = (unsigned char)src[i];
        out[i] = ch == '|' ? ' ' : isprint(ch) ? (char)toupper(ch) : '?';
    }
    out[i] = '\0';
}

static void on_request(void *ctx, const struct resp_msg *m)
{
    struct au_conn *c = ctx;
    struct audit *a = c->a;
    char name[KS_NAME_MAX];
    if (!c->decided) {
        c->decided = true;
        for (size_t i = 0; m->inline_cmd && i < m->argl[0]; i++)
            if (!isalpha((unsigned char)m->argv[0][i]))
                c->skip = true; /* not a command: another protocol */
        if (c->skip) {
            a->not_resp++;
            return;
        }
        a->clients++;
    }
    if (c->skip)
        return;
    a->requests++;
    display_name(NULL, m, name, sizeof(name));
    if (!strcmp(name, "MULTI")) {
        if (!c->multi && (c->multi = calloc(1, sizeof(*c->multi))))
            c->multi->first_us = a->now_us;
        return;
    }
    if (!strcmp(name, "EXEC") || !strcmp(name, "DISCARD")) {
        block_end(c, !strcmp(name, "EXEC"));
        return;
    }
    if (db_request(c, m, name))
        return;
    struct keyscan k = {.a = a, .m = m};
    const struct ks_cmd *cmd;
    a->ntouched = 0;
    enum ks_found found = ks_keys(a->tab, m->argc, m->argv, m->argl, &cmd, on_key, &k);
    display_name(cmd, m, name, sizeof(name));
    if (found == KS_UNKNOWN)
        count_name(a->unknown, &a->nunknown, name);
    else if (found == KS_PARTIAL)
        count_name(a->partial, &a->npartial, name);
    if (c->multi)
        block_add(c->multi, name, &k, a);
    /* one that spans slots by itself is refused where it stands, queued or
     * not (in a transaction, when it is queued) */
    if (a->ntouched > 1) {
        uint16_t sorted[KS_SLOTS];
        memcpy(sorted, a->touched, (size_t)a->ntouched * sizeof(*sorted));
        qsort(sorted, (size_t)a->ntouched, sizeof(*sorted), cmp_u16);
        char script[sizeof(a->f[0].script)] = "";
        if (m->argc > 1 && (!strncmp(name, "EVAL", 4) || !strncmp(name, "FCALL", 5))) {
            size_t n = m->argl[1] < sizeof(script) - 1 ? m->argl[1] : sizeof(script) - 1;
            for (size_t i = 0; i < n; i++)
                script[i] = isprint((unsigned char)m->argv[1][i]) ? m->argv[1][i] : '?';
            script[n] = '\0';
        }
        add_finding(a, name, "", script, -1, sorted, a->ntouched, k.keys, k.nkeys, c->client,
                    a->now_us);
    }
    for (int i = 0; i < a->ntouched; i++)
        a->slotmap[a->touched[i] / 8] = 0;
}

static void on_reply(void *ctx, const struct resp_msg *m)
{
    struct au_conn *c = ctx;
    c->a->replies++;
    if (m->type == '-' && m->len >= 9 && !memcmp(m->str, "CROSSSLOT", 9))
        c->a->crossslot_errors++;
}

/* ---- connections ---- */

static bool port_ok(const struct audit *a, uint16_t port)
{
    for (int i = 0; i < a->o.nports; i++)
        if (a->o.ports[i] == port)
            return true;
    return !a->o.nports;
}

static int orient(void *ctx, const struct tf_pkt *p)
{
    struct audit *a = ctx;
    if (a->o.nports)
        return port_ok(a, p->dst.port) ? TF_C2S : port_ok(a, p->src.port) ? TF_S2C : -1;
    return p->dst.port < p->src.port ? TF_C2S : TF_S2C; /* ephemeral ports are the high ones */
}

static bool can_start(void *ctx, struct tf_conn *tc, int dir, const uint8_t *d, size_t len)
{
    (void)ctx;
    (void)tc;
    if (dir == TF_C2S)
        return len > 1 && ((d[0] == '*' && isdigit(d[1])) || isalpha(d[0]));
    return len > 0 && strchr("+-:$*%_,#(!=~>|", d[0]) && d[0];
}

static void on_open(void *ctx, struct tf_conn *tc)
{
    struct audit *a = ctx;
    struct au_conn *c;
    if (!port_ok(a, tc->srv.port) || !(c = calloc(1, sizeof(*c))))
        return;
    c->a = a;
    resp_init(&c->req, true);
    resp_init(&c->rep, false);
    tf_addr_str(&tc->cli, c->client, sizeof(c->client));
    tc->user = c;
}

static void on_data(void *ctx, struct tf_conn *tc, int dir, const uint8_t *d, size_t len)
{
    struct au_conn *c = tc->user;
    (void)ctx;
    if (!c || c->skip)
        return;
    if (dir == TF_S2C && (!c->decided || c->replies_lost)) {
        /* replies before any request (a connection joined mid-stream): the
         * reply stream has no known start, so it is not decoded at all */
        c->replies_lost = true;
        return;
    }
    struct resp_stream *s = dir == TF_C2S ? &c->req : &c->rep;
    if (s->state == RESP_OK && resp_feed(s, d, len, dir == TF_C2S ? on_request : on_reply, c) < 0) {
        if (dir == TF_C2S && !c->decided) {
            c->skip = true; /* the first bytes are not RESP: another protocol */
            c->a->not_resp++;
            return;
        }
        c->a->undecodable++;
        if (!c->a->first_bad[0])
            snprintf(c->a->first_bad, sizeof(c->a->first_bad), "%s (%s): %s", c->client,
                     dir == TF_C2S ? "requests" : "replies", s->why);
    }
}

static void on_close(void *ctx, struct tf_conn *tc)
{
    struct au_conn *c = tc->user;
    (void)ctx;
    if (!c)
        return;
    free(c->multi);
    resp_free(&c->req);
    resp_free(&c->rep);
    free(c);
    tc->user = NULL;
}

int au_init(struct audit *a, const struct ks_table *tab, const struct au_opts *o)
{
    static const struct tf_ops ops = {.orient = orient,
                                      .can_start = can_start,
                                      .open = on_open,
                                      .data = on_data,
                                      .close = on_close};
    memset(a, 0, sizeof(*a));
    a->tab = tab;
    a->server_ops = -1;
    if (o)
        a->o = *o;
    if (!(a->f = calloc(AU_MAX_FINDINGS, sizeof(*a->f))))
        return -1;
    if (tf_init(&a->tf, &ops, a) < 0) {
        free(a->f);
        a->f = NULL;
        return -1;
    }
    return 0;
}

void au_frame(struct audit *a, int lt, const uint8_t *frame, size_t caplen, uint64_t ts_us)
{
    struct tf_pkt p;
    int rc = tf_decode(lt, frame, caplen, &p);
    a->tf.st.frames++;
    if (!a->t0_us)
        a->t0_us = ts_us;
    a->now_us = ts_us;
    if (rc < 0)
        a->tf.st.malformed++;
    else if (rc == 0)
        a->tf.st.other++;
    else
        tf_packet(&a->tf, &p);
}

void au_finish(struct audit *a)
{
    if (a->tf.bucket)
        tf_finish(&a->tf);
}

void au_free(struct audit *a)
{
    au_finish(a);
    for (int i = 0; a->f && i < a->nf; i++)
        free(a->f[i].slots);
    free(a->f);
    a->f = NULL;
    a->nf = 0;
}

int au_read_pcap(struct audit *a, const char *file, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_MICRO, perr);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc, lt;
    if (!p) {
        snprintf(err, errlen, "%s: %s", file, perr);
        return -1;
    }
    lt = pcap_datalink(p);
    if (!tf_linktype_ok(lt)) {
        const char *n = pcap_datalink_val_to_name(lt);
        snprintf(err, errlen, "%s: link type %s (%d) is not one rift reads", file, n ? n : "?", lt);
        pcap_close(p);
        return -1;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1)
        au_frame(a, lt, data, h->caplen,
                 (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec);
    if (rc == -1) {
        snprintf(err, errlen, "%s: %s", file, pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    pcap_close(p);
    au_finish(a);
    return 0;
}

/* ---- output ---- */

uint64_t au_total(const struct audit *a)
{
    uint64_t n = 0;
    for (int i = 0; i < a->nf; i++)
        n += a->f[i].count;
    return n;
}

static void json_names(FILE *f, const char *key, const struct au_name *v, int n)
{
    fprintf(f, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"command\":", i ? "," : "");
        esc_json(f, v[i].name);
        fprintf(f, ",\"count\":%llu}", (unsigned long long)v[i].count);
    }
    fputs("]", f);
}

static void json_finding(FILE *f, const struct au_finding *x)
{
    fputs("{\"command\":", f);
    esc_json(f, x->command);
    if (x->script[0]) {
        fputs(",\"script\":", f);
        esc_json(f, x->script);
    }
    if (x->commands[0]) {
        char copy[sizeof(x->commands)];
        int k = 0;
        snprintf(copy, sizeof(copy), "%s", x->commands);
        fputs(",\"commands\":[", f);
        for (char *t = strtok(copy, " "); t; t = strtok(NULL, " ")) {
            fputs(k++ ? "," : "", f);
            esc_json(f, t);
        }
        fputs("]", f);
    }
    fputs(",\"keys\":[", f);
    for (int k = 0; k < x->nkeys; k++) {
        fputs(k ? "," : "", f);
        esc_json(f, x->keys[k]);
    }
    fputs("],\"slots\":[", f);
    for (int k = 0; k < x->nslots; k++)
        fprintf(f, "%s%u", k ? "," : "", x->slots[k]);
    fputs("]", f);
    if (x->db >= 0)
        fprintf(f, ",\"db\":%ld", x->db);
    else if (x->db == AU_DB_UNREADABLE)
        fputs(",\"db\":null", f);
    fprintf(f, ",\"count\":%llu,\"first_ms\":%llu,\"client\":", (unsigned long long)x->count,
            (unsigned long long)x->first_ms);
    esc_json(f, x->client);
    fputs("}", f);
}

void au_json(const struct audit *a, FILE *f)
{
    fputs(",\"crossslot\":[", f);
    for (int i = 0; i < a->nf; i++) {
        fputs(i ? "," : "", f);
        json_finding(f, &a->f[i]);
    }
    fprintf(f,
            "],\"crossslot_audit\":{\"requests\":%llu,\"replies\":%llu,"
            "\"refusable_requests\":%llu,\"crossslot_errors\":%llu,\"connections\":%llu,"
            "\"joined_midstream\":%llu,\"not_resp\":%llu,\"undecodable\":%llu,\"gaps\":%llu,"
            "\"held_over\":%llu,\"truncated_frames\":%llu,\"dropped_frames\":%llu,"
            "\"findings_dropped\":%llu",
            (unsigned long long)a->requests, (unsigned long long)a->replies,
            (unsigned long long)au_total(a), (unsigned long long)a->crossslot_errors,
            (unsigned long long)a->clients, (unsigned long long)a->tf.st.midstream,
            (unsigned long long)a->not_resp, (unsigned long long)a->undecodable,
            (unsigned long long)a->tf.st.gaps, (unsigned long long)a->tf.st.held_over,
            (unsigned long long)a->tf.st.truncated, (unsigned long long)a->dropped_frames,
            (unsigned long long)a->findings_dropped);
    if (a->server_ops >= 0)
        fprintf(f, ",\"server_incompatible_ops\":%lld", (long long)a->server_ops);
    else
        fputs(",\"server_incompatible_ops\":null", f);
    json_names(f, "unknown_commands", a->unknown, a->nunknown);
    json_names(f, "partial_keys", a->partial, a->npartial);
    fputs(",\"first_undecodable\":", f);
    esc_json(f, a->first_bad);
    fputs("}", f);
}

uint64_t au_unread(const struct audit *a)
{
    return a->dropped_frames + a->tf.st.gaps + a->undecodable + a->tf.st.overflow;
}

static bool same_group(const struct au_finding *x, const struct au_finding *y)
{
    return !strcmp(x->command, y->command) && !strcmp(x->commands, y->commands) &&
           !strcmp(x->script, y->script) && x->db == y->db;
}

/* One row of the table: the findings of one command (and script, or
 * transaction's commands), however many slot patterns they had. */
static void table_row(const struct audit *a, int first, FILE *f)
{
    const struct au_finding *x = &a->f[first];
    uint64_t count = 0, first_ms = x->first_ms;
    int kinds = 0, most = 0;
    char cmd[320], slots[64], keys[200] = "", t[AU_KEY_MAX * 4];
    size_t o = 0;
    for (int i = first; i < a->nf; i++)
        if (same_group(x, &a->f[i])) {
            count += a->f[i].count;
            kinds++;
            most = a->f[i].nslots > most ? a->f[i].nslots : most;
            first_ms = a->f[i].first_ms < first_ms ? a->f[i].first_ms : first_ms;
        }
    snprintf(cmd, sizeof(cmd), "%s%s%.12s%s%s%s", x->command, x->script[0] ? " " : "", x->script,
             x->commands[0] ? " (" : "", x->commands, x->commands[0] ? ")" : "");
    if (x->db >= 0 || x->db == AU_DB_UNREADABLE)
        snprintf(slots, sizeof(slots), x->db >= 0 ? "db %ld" : "db ?", x->db);
    else if (kinds > 1)
        snprintf(slots, sizeof(slots), "up to %d, %d sets", most, kinds);
    else if (x->nslots <= 3)
        for (int k = 0; k < x->nslots; k++)
            o += (size_t)snprintf(slots + o, sizeof(slots) - o, "%s%u", k ? "," : "", x->slots[k]);
    else
        snprintf(slots, sizeof(slots), "%d slots", x->nslots);
    o = 0;
    for (int k = 0; k < x->nkeys && k < 3; k++) {
        esc_text(t, sizeof(t), x->keys[k]);
        o += (size_t)snprintf(keys + o, o < sizeof(keys) ? sizeof(keys) - o : 0, "%s%s",
                              k ? " " : "", t);
    }
    if (x->nkeys > 3 && o < sizeof(keys))
        snprintf(keys + o, sizeof(keys) - o, " +%d", x->nkeys - 3);
    esc_text(t, sizeof(t), cmd);
    fprintf(f, "  %8llu %8.3fs  %-30s %-18s %s  (%s)\n", (unsigned long long)count,
            (double)first_ms / 1000.0, t, slots, keys, x->client);
}

void au_table(const struct audit *a, FILE *f)
{
    fprintf(f,
            "crossslot: %d kind%s of request a cluster refuses, %llu request%s; %llu CROSSSLOT "
            "error%s seen; %llu requests read on %llu connection%s\n",
            a->nf, a->nf == 1 ? "" : "s", (unsigned long long)au_total(a),
            au_total(a) == 1 ? "" : "s", (unsigned long long)a->crossslot_errors,
            a->crossslot_errors == 1 ? "" : "s", (unsigned long long)a->requests,
            (unsigned long long)a->clients, a->clients == 1 ? "" : "s");
    if (a->nf)
        fprintf(f, "  %8s %9s  %-30s %-18s %s  (%s)\n", "requests", "first", "command", "slots",
                "keys", "first client");
    for (int i = 0; i < a->nf; i++) {
        int j = 0;
        while (j < i && !same_group(&a->f[j], &a->f[i]))
            j++;
        if (j == i)
            table_row(a, i, f);
    }
    if (a->findings_dropped)
        fprintf(f, "  ... and %llu more kinds not kept\n", (unsigned long long)a->findings_dropped);
    if (a->server_ops >= 0)
        fprintf(f, "  the server's own count (INFO cluster_incompatible_ops): %lld\n",
                (long long)a->server_ops);
    for (int i = 0; i < a->nunknown; i++)
        fprintf(f, "  not audited: %s (%llu): the server does not know this command\n",
                a->unknown[i].name, (unsigned long long)a->unknown[i].count);
    for (int i = 0; i < a->npartial; i++)
        fprintf(f, "  partly audited: %s (%llu): some of its key specs are unknown to the server\n",
                a->partial[i].name, (unsigned long long)a->partial[i].count);
    if (a->undecodable)
        fprintf(f, "  %llu connection%s could not be decoded to the end, first %s\n",
                (unsigned long long)a->undecodable, a->undecodable == 1 ? "" : "s", a->first_bad);
    if (a->tf.st.gaps)
        fprintf(f, "  %llu direction%s of a connection lost bytes in the capture\n",
                (unsigned long long)a->tf.st.gaps, a->tf.st.gaps == 1 ? "" : "s");
    if (a->tf.st.held_over)
        fprintf(f,
                "  %llu of them held more past the hole than %u MiB or %u segments, and were "
                "given up\n",
                (unsigned long long)a->tf.st.held_over, TF_MAX_PENDING >> 20, TF_MAX_PENDING_SEGS);
}
