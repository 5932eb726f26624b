/* cluster: forming and waiting. */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/pkt.h"
#include "cclient.h"
#include "nodes.h"
#include "observe.h"

static bool cluster_wait(struct run *r, bool (*pred)(struct run *, char *, size_t), int ms,
                         char *why, size_t wl)
{
    uint64_t end = run_now_ns() + (uint64_t)ms * 1000000ull;
    while (run_now_ns() < end && !run_interrupted) {
        if (pred(r, why, wl))
            return true;
        run_sleep_ms(10);
    }
    return false;
}

/* Node i answers cmd with a reply of this type (holding needle, if any). */
static bool reply_is(struct run *r, int i, const char *cmd, int type, const char *needle)
{
    redisReply *rep = node_cmd(r, i, cmd);
    bool ok = rep && rep->type == type && (!needle || strstr(rep->str, needle));
    if (rep)
        freeReplyObject(rep);
    return ok;
}

static bool all_answer(struct run *r, char *why, size_t wl)
{
    for (int i = 0; i < r->scn->n_nodes; i++) {
        if (!reply_is(r, i, "PING", REDIS_REPLY_STATUS, NULL)) {
            snprintf(why, wl, "%s does not answer PING", r->scn->names[i]);
            return false;
        }
    }
    return true;
}

static bool all_know_all(struct run *r, char *why, size_t wl)
{
    obs_sample(r, false);
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (!r->nodes[i].have_view || r->nodes[i].view.n != r->scn->n_nodes) {
            snprintf(why, wl, "%s knows %d of %d nodes", r->scn->names[i],
                     r->nodes[i].have_view ? r->nodes[i].view.n : 0, r->scn->n_nodes);
            return false;
        }
    return true;
}

static bool cluster_ready(struct run *r, char *why, size_t wl)
{
    obs_sample(r, false);
    if (!obs_converged(r, why, wl))
        return false;
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (r->scn->primary_of[i] >= 0 &&
            !reply_is(r, i, "INFO replication", REDIS_REPLY_STRING, "master_link_status:up")) {
            snprintf(why, wl, "%s has not synced with its primary", r->scn->names[i]);
            return false;
        }
    return true;
}

/* Node i meets node j (by address; either side may start it). */
static bool meet(struct run *r, int i, int j, char *err, size_t el)
{
    char ip[32], cmd[64];
    pkt_addr(scn_node_ip(r->scn, j), ip, sizeof(ip));
    snprintf(cmd, sizeof(cmd), "CLUSTER MEET %s %d", ip, SCN_PORT);
    return node_ok(r, i, cmd, err, el);
}

/* Each replica follows its primary as soon as it knows it ("Unknown node"
 * until their handshake is done). True when all do; false with err set on
 * any other refusal. */
static bool replicas_follow(struct run *r, bool *done, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    bool all = true;
    err[0] = '\0';
    for (int i = 0; i < s->n_nodes; i++) {
        redisReply *rep;
        if (s->primary_of[i] < 0 || done[i])
            continue;
        rep = node_cmd(r, i, "CLUSTER REPLICATE %s", r->nodes[s->primary_of[i]].id);
        if (rep && rep->type == REDIS_REPLY_STATUS)
            done[i] = true;
        else if (!rep || rep->type != REDIS_REPLY_ERROR || !strstr(rep->str, "Unknown node"))
            snprintf(err, el, "CLUSTER REPLICATE on %s: %s", s->names[i],
                     !rep                             ? "no reply"
                     : rep->type == REDIS_REPLY_ERROR ? rep->str
                                                      : "unexpected reply");
        if (rep)
            freeReplyObject(rep);
        if (err[0])
            return false;
        all &= done[i];
    }
    return all;
}

/* The cluster, formed the fast way: slots first; each replica meets its
 * primary and follows it as soon as their handshake is done, so that the
 * others learn it as a replica from its first message; then every pair
 * meets directly, which takes one handshake instead of rounds of gossip. */
int cluster_build(struct run *r, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    char why[256];
    bool done[SCN_MAX_NODES] = {false};
    uint64_t end;
    if (!cluster_wait(r, all_answer, 10000, why, sizeof(why))) {
        snprintf(err, el, "servers did not start within 10 s: %s", why);
        return -1;
    }
    if (s->standalone)
        return 0;
    for (int i = 0; i < s->n_nodes; i++) {
        redisReply *rep = node_cmd(r, i, "CLUSTER MYID");
        if (!rep || rep->type != REDIS_REPLY_STRING) {
            snprintf(err, el, "CLUSTER MYID on %s failed (is it a cluster-enabled server?)",
                     s->names[i]);
            if (rep)
                freeReplyObject(rep);
            return -1;
        }
        snprintf(r->nodes[i].id, sizeof(r->nodes[i].id), "%s", rep->str);
        freeReplyObject(rep);
    }
    for (int m = 0; m < s->masters; m++) {
        int lo = (int)((long)VIEW_SLOTS * m / s->masters);
        int hi = (int)((long)VIEW_SLOTS * (m + 1) / s->masters) - 1;
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "CLUSTER ADDSLOTSRANGE %d %d", lo, hi);
        if (!node_ok(r, m, cmd, err, el))
            return -1;
    }
    for (int i = 0; i < s->n_nodes; i++)
        if (s->primary_of[i] >= 0 && !meet(r, i, s->primary_of[i], err, el))
            return -1;
    end = run_now_ns() + 20000000000ull;
    while (!replicas_follow(r, done, err, el)) {
        if (err[0])
            return -1;
        if (run_now_ns() > end || run_interrupted) {
            snprintf(err, el, "replicas did not meet their primaries within 20 s");
            return -1;
        }
        run_sleep_ms(5);
    }
    for (int i = 1; i < s->n_nodes; i++)
        for (int j = 0; j < i; j++)
            if (s->primary_of[i] != j && !meet(r, i, j, err, el))
                return -1;
    if (!cluster_wait(r, all_know_all, 20000, why, sizeof(why))) {
        snprintf(err, el, "nodes did not meet within 20 s: %s", why);
        return -1;
    }
    if (!cluster_wait(r, cluster_ready, 30000, why, sizeof(why))) {
        snprintf(err, el, "the cluster did not converge within 30 s: %s", why);
        return -1;
    }
    return 0;
}

int cluster_wait_ready(struct run *r, int ms, char *err, size_t el)
{
    char why[256] = "";
    if (cluster_wait(r, cluster_ready, ms, why, sizeof(why)))
        return 0;
    snprintf(err, el, "the cluster did not converge within %d s: %s", ms / 1000, why);
    return -1;
}

int cluster_preload(struct run *r, int lo, int hi, int count, char *err, size_t el)
{
    struct cclient cc;
    char src[32], seed[32], key[64];
    int done = 0;
    run_source(r, SCN_ADMIN_IP, src, sizeof(src));
    run_node_addr(r, 0, seed, sizeof(seed));
    cc_init(&cc, src, 2000, r->password);
    cc_add_seed(&cc, seed);
    for (int t = 0; done < count && t < 100000000; t++) {
        snprintf(key, sizeof(key), "rift:pre:{%d}", t);
        uint16_t s = ks_slot(key, strlen(key));
        const char *argv[3] = {"SET", key, "preloaded"};
        enum cc_err kind;
        redisReply *rep;
        if (s < lo || s > hi)
            continue;
        rep = cc_command(&cc, key, 3, argv, &kind);
        if (!rep) {
            snprintf(err, el, "preloading slots %d-%d: %s", lo, hi, cc.last_error);
            cc_close(&cc);
            return -1;
        }
        freeReplyObject(rep);
        done++;
    }
    cc_close(&cc);
    run_progress(r, "preloaded %d keys into slots %d-%d", done, lo, hi);
    return 0;
}
