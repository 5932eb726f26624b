/* migrate: slot migration in a thread. */
#include "migrate.h"

#include "clock.h"

#include "cclient.h"

#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 100
#define RETRIES 50

static redisContext *connect_to(const char *addr, const char *source)
{
    /* MIGRATE of a batch may take long on a faulty link: 10 s. */
    return cc_connect(addr, source, 10000);
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
        if (!*c && !(*c = connect_to(addr, m->source))) {
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
        if (!*src && !(*src = connect_to(m->src_addr, m->source))) {
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
        const char *argv[8 + BATCH];
        int argc = 0;
        argv[argc++] = "MIGRATE";
        argv[argc++] = dst_ip;
        argv[argc++] = dst_port;
        argv[argc++] = "";
        argv[argc++] = "0";
        argv[argc++] = "5000";
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
        redisContext *o = connect_to(m->others[i], m->source);
        redisReply *r = o ? redisCommandArgv(o, 5, node, NULL) : NULL;
        if (r)
            freeReplyObject(r);
        if (o)
            redisFree(o);
    }
    return true;
}

static void *run(void *arg)
{
    struct migration *m = arg;
    redisContext *src = NULL, *dst = NULL;
    uint64_t t0 = clk_now_ms();
    m->error[0] = '\0';
    for (int s = m->lo; s <= m->hi && !m->abort; s++) {
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
