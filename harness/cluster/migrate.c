/* migrate: slot migration in a thread. */
#include "migrate.h"

#include "../sys/clock.h"

#include "cclient.h"

#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BATCH 100
#define RETRIES 50

static redisContext *connect_to(const struct migration *m, const char *addr)
{
    /* MIGRATE of a batch may take long on a faulty link: 10 s. */
    return cc_connect(addr, m->source, 10000, m->pass);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A command that must succeed; retried (the links may be faulty). */
static bool must(struct migration *m, redisContext **c, const char *addr, const char *what,
                 int argc, const char **argv)
{
    for (int t = 0; t < RETRIES && !m->abort; t++) {
        redisReply *r;
        if (!*c && !(*c = connect_to(m, addr))) {
            m->retries++;
            sleep_ms(100);
            continue;
        }
        r = redisCommandArgv(*c, argc, argv, NULL);
        if (!r) {
            redisFree(*c);
            *c = NULL;
            m->retries++;
            sleep_ms(100);
            continue;
        }
        if (r->type != REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            return true;
        }
        snprintf(m->error, sizeof(m->error), "%s on %s: %s", what, addr, r->str);
        freeReplyObject(r);
        m->retries++;
        sleep_ms(100);
    }
    return false;
}

static bool move_slot(struct migration *m, redisContext **src, redisContext **dst, int slot)
{
    char s[16], dst_ip[32], dst_port[8];
    const char *colon = strrchr(m->dst_addr, ':');
    snprintf(s, sizeof(s), "%d", slot);
    snprintf(dst_ip, sizeof(dst_ip), "%.*s", (int)(colon - m->dst_addr), m->dst_addr);
    snprintf(dst_port, sizeof(dst_port), "%s", colon + 1);
    const char *imp[] = {"CLUSTER", "SETSLOT", s, "IMPORTING", m->src_id};
    const char *mig[] = {"CLUSTER", "SETSLOT", s, "MIGRATING", m->dst_id};
    if (!must(m, dst, m->dst_addr, "SETSLOT IMPORTING", 5, imp) ||
        !must(m, src, m->src_addr, "SETSLOT MIGRATING", 5, mig))
        return false;
    for (int t = 0; t < RETRIES && !m->abort;) {
        redisReply *keys;
        if (!*src && !(*src = connect_to(m, m->src_addr))) {
            t++;
            sleep_ms(100);
            continue;
        }
        keys = redisCommand(*src, "CLUSTER GETKEYSINSLOT %d %d", slot, BATCH);
        if (!keys || keys->type != REDIS_REPLY_ARRAY) {
            if (keys)
                freeReplyObject(keys);
            else {
                redisFree(*src);
                *src = NULL;
            }
            t++;
            m->retries++;
            sleep_ms(100);
            continue;
        }
        if (keys->elements == 0) {
            freeReplyObject(keys);
            break;
        }
        const char *argv[10 + BATCH];
        int argc = 0;
        argv[argc++] = "MIGRATE";
        argv[argc++] = dst_ip;
        argv[argc++] = dst_port;
        argv[argc++] = "";
        argv[argc++] = "0";
        argv[argc++] = "5000";
        if (m->pass[0]) { /* the target asks for it too */
            argv[argc++] = "AUTH";
            argv[argc++] = m->pass;
        }
        argv[argc++] = "KEYS";
        for (size_t i = 0; i < keys->elements; i++)
            argv[argc++] = keys->element[i]->str;
        redisReply *r = redisCommandArgv(*src, argc, argv, NULL);
        if (r && r->type != REDIS_REPLY_ERROR) {
            m->keys_moved += (long)keys->elements;
        } else {
            /* IOERR or a timeout between source and target: try again. */
            snprintf(m->error, sizeof(m->error), "MIGRATE slot %d: %s", slot,
                     r ? r->str : (*src)->errstr);
            if (!r) {
                redisFree(*src);
                *src = NULL;
            }
            t++;
            m->retries++;
            sleep_ms(100);
        }
        if (r)
            freeReplyObject(r);
        freeReplyObject(keys);
    }
    /* Target first, so the source's redirections point somewhere that
     * already knows; then the source, then everybody else. */
    const char *node[] = {"CLUSTER", "SETSLOT", s, "NODE", m->dst_id};
    if (!must(m, dst, m->dst_addr, "SETSLOT NODE", 5, node) ||
        !must(m, src, m->src_addr, "SETSLOT NODE", 5, node))
        return false;
    /* The others learn it from gossip as well: one attempt each. */
    for (int i = 0; i < m->n_others; i++) {
        redisContext *o = connect_to(m, m->others[i]);
        redisReply *r = o ? redisCommandArgv(o, 5, node, NULL) : NULL;
        if (r)
            freeReplyObject(r);
        if (o)
            redisFree(o);
    }
    return true;
}

/* The field name of a GETSLOTMIGRATIONS entry (a map, or a flat array in
 * RESP2), or NULL. */
static const char *entry_field(const redisReply *e, const char *name)
{
    for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 1 < e->elements; i += 2)
        if (e->element[i]->type == REDIS_REPLY_STRING && !strcmp(e->element[i]->str, name) &&
            (e->element[i + 1]->type == REDIS_REPLY_STRING ||
             e->element[i + 1]->type == REDIS_REPLY_STATUS))
            return e->element[i + 1]->str;
    return NULL;
}

/* The state of this range's export in CLUSTER GETSLOTMIGRATIONS, "" when
 * it is not listed (yet); message gets its message. */
static void export_state(struct migration *m, redisContext *c, char *state, size_t sl,
                         char *message, size_t ml)
{
    char range[32];
    redisReply *r = redisCommand(c, "CLUSTER GETSLOTMIGRATIONS");
    state[0] = '\0';
    snprintf(range, sizeof(range), "%d-%d", m->lo, m->hi);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *op = entry_field(r->element[i], "operation");
        const char *ranges = entry_field(r->element[i], "slot_ranges");
        const char *st = entry_field(r->element[i], "state");
        const char *msg = entry_field(r->element[i], "message");
        if (op && st && ranges && !strcasecmp(op, "EXPORT") && !strcmp(ranges, range)) {
            snprintf(state, sl, "%s", st);
            snprintf(message, ml, "%s", msg ? msg : "");
        }
    }
    if (r)
        freeReplyObject(r);
}

/* CLUSTER MIGRATESLOTS on the source, then its progress until it ends. */
static void run_atomic(struct migration *m, redisContext **src)
{
    char lo[16], hi[16], state[32] = "", message[200] = "";
    const char *argv[] = {"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", lo, hi, "NODE", m->dst_id};
    snprintf(lo, sizeof(lo), "%d", m->lo);
    snprintf(hi, sizeof(hi), "%d", m->hi);
    for (int s = m->lo; s <= m->hi; s++) { /* what there is to move */
        const char *count[] = {"CLUSTER", "COUNTKEYSINSLOT", lo};
        char slot[16];
        snprintf(slot, sizeof(slot), "%d", s);
        count[2] = slot;
        if (!*src && !(*src = connect_to(m, m->src_addr)))
            break;
        redisReply *r = redisCommandArgv(*src, 3, count, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER)
            m->keys_moved += r->integer;
        if (r)
            freeReplyObject(r);
    }
    if (!must(m, src, m->src_addr, "CLUSTER MIGRATESLOTS", 7, argv))
        return;
    for (int t = 0; !m->abort && t < 600; t++) { /* 60 s */
        if (!*src && !(*src = connect_to(m, m->src_addr))) {
            m->retries++;
        } else {
            export_state(m, *src, state, sizeof(state), message, sizeof(message));
            if (!strcmp(state, "success")) {
                m->slots_moved = m->hi - m->lo + 1;
                m->error[0] = '\0';
                return;
            }
            if (!strcmp(state, "failed") || !strcmp(state, "cancelled")) {
                snprintf(m->error, sizeof(m->error), "atomic migration %s: %s", state, message);
                return;
            }
        }
        sleep_ms(100);
    }
    snprintf(m->error, sizeof(m->error), "atomic migration still %s after 60 s",
             state[0] ? state : "unlisted");
}

static void *run(void *arg)
{
    struct migration *m = arg;
    redisContext *src = NULL, *dst = NULL;
    uint64_t t0 = clk_now_ms();
    m->error[0] = '\0';
    if (m->atomic)
        run_atomic(m, &src);
    for (int s = m->lo; s <= m->hi && !m->abort && !m->atomic; s++) {
        if (!move_slot(m, &src, &dst, s))
            break;
        m->slots_moved++;
        m->error[0] = '\0';
    }
    m->ms = clk_now_ms() - t0;
    if (src)
        redisFree(src);
    if (dst)
        redisFree(dst);
    m->done = true;
    return NULL;
}

int mig_start(struct migration *m)
{
    m->done = false;
    m->slots_moved = 0;
    m->keys_moved = 0;
    m->retries = 0;
    return pthread_create(&m->th, NULL, run, m) == 0 ? 0 : -1;
}

void mig_join(struct migration *m)
{
    pthread_join(m->th, NULL);
}
