/* cclient: slot map, redirections, error kinds. */
#include "../../policies/value.h"
#include "cclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REDIRECTS 8

const char *cc_err_name(enum cc_err e)
{
    static const char *const names[CC__COUNT] = {
        "ok",       "moved",   "ask", "tryagain", "clusterdown", "loading",
        "readonly", "timeout", "io",  "noslot",   "redirects",   "other",
    };
    return e < CC__COUNT ? names[e] : "?";
}

/* CRC16-CCITT (XMODEM), as Redis Cluster hashes keys. */
void cc_init(struct cclient *cc, const char *source, int timeout_ms, const char *pass)
{
    memset(cc, 0, sizeof(*cc));
    snprintf(cc->source, sizeof(cc->source), "%s", source ? source : "");
    snprintf(cc->pass, sizeof(cc->pass), "%s", pass ? pass : "");
    cc->timeout_ms = timeout_ms;
    memset(cc->slot_node, 0xff, sizeof(cc->slot_node));
}

void cc_add_seed(struct cclient *cc, const char *addr)
{
    if (cc->n_seeds < 8)
        snprintf(cc->seeds[cc->n_seeds++], sizeof(cc->seeds[0]), "%s", addr);
}

static int node_index(struct cclient *cc, const char *addr)
{
    for (int i = 0; i < cc->n_nodes; i++)
        if (!strcmp(cc->nodes[i].addr, addr))
            return i;
    if (cc->n_nodes == CC_MAX_NODES)
        return -1;
    snprintf(cc->nodes[cc->n_nodes].addr, sizeof(cc->nodes[0].addr), "%s", addr);
    cc->nodes[cc->n_nodes].c = NULL;
    return cc->n_nodes++;
}

static void drop(struct cc_node *n)
{
    if (n->c) {
        redisFree(n->c);
        n->c = NULL;
    }
}

int cc_parse_int(const char *s, long lo, long hi, int *out)
{
    long v;
    if (val_parse_long(s, lo, hi, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* AUTH pass on c: 0, or -1 with errno EACCES (refused) or EIO. */
static int auth(redisContext *c, const char *pass)
{
    const char *argv[] = {"AUTH", pass};
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    errno = r ? EACCES : EIO;
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

redisContext *cc_connect(const char *addr, const char *source, int timeout_ms, const char *pass)
{
    char ip[32];
    int so = 0, port;
    socklen_t sl = sizeof(so);
    struct pollfd p;
    struct timeval tv = {timeout_ms / 1000, (suseconds_t)(timeout_ms % 1000) * 1000};
    const char *colon = strrchr(addr, ':');
    redisContext *c;
    /* a bad port is not port 0: no connect at all */
    if (!colon || cc_parse_int(colon + 1, 1, 65535, &port) < 0) {
        errno = EINVAL;
        return NULL;
    }
    snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addr), addr);
    /* hiredis 0.14 binds a source address only when not blocking: connect
     * that way, wait for it, then make the context blocking. */
    c = redisConnectBindNonBlock(ip, port, source && *source ? source : NULL);
    if (!c || c->err)
        goto fail;
    p.fd = c->fd;
    p.events = POLLOUT;
    switch (poll(&p, 1, timeout_ms)) {
    case 1:
        break;
    case 0:
        errno = ETIMEDOUT;
        goto fail;
    default:
        goto fail;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
        goto fail;
    if (so) {
        errno = so; /* ECONNREFUSED, ... */
        goto fail;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    c->flags |= REDIS_BLOCK;
    redisSetTimeout(c, tv);
    if (pass && *pass && auth(c, pass) < 0)
        goto fail;
    return c;
fail:
    if (c) {
        int e = errno;
        redisFree(c);
        errno = e;
    }
    return NULL;
}

static redisContext *conn(struct cclient *cc, struct cc_node *n)
{
    if (!n->c)
        n->c = cc_connect(n->addr, cc->source, cc->timeout_ms, cc->pass);
    return n->c;
}

/* The entry's endpoint (*ip, NULL when unknown) and 0, or -1 when its
 * slots cannot be right; an entry of another shape is 0 and ignored. */
static int slot_entry(const redisReply *e, const char **ip, char *why, size_t wl)
{
    const redisReply *a, *b, *node;
    *ip = NULL;
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
        return 0;
    a = e->element[0];
    b = e->element[1];
    node = e->element[2];
    if (a->type != REDIS_REPLY_INTEGER || b->type != REDIS_REPLY_INTEGER || a->integer < 0 ||
        b->integer > 16383 || a->integer > b->integer) {
        if (a->type == REDIS_REPLY_INTEGER && b->type == REDIS_REPLY_INTEGER)
            snprintf(why, wl, "bad slot range %lld..%lld (slots are 0..16383, start <= end)",
                     a->integer, b->integer);
        else
            snprintf(why, wl, "a slot range that is not two integers");
        return -1;
    }
    if (node->element[0]->type == REDIS_REPLY_STRING)
        *ip = node->element[0]->str;
    return 0;
}

/* A reply with a slot range out of 0-16383 is refused whole, as a protocol
 * error: the map in use stays (nothing is written outside it). */
static int load_slots(struct cclient *cc, struct cc_node *n)
{
    redisContext *c = conn(cc, n);
    redisReply *r;
    const char *ip;
    char why[96];
    if (!c)
        return -1;
    r = redisCommand(c, "CLUSTER SLOTS");
    if (!r) {
        drop(n);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++)
        if (slot_entry(r->element[i], &ip, why, sizeof(why)) < 0) {
            cc->errors[CC_OTHER]++;
            snprintf(cc->last_error, sizeof(cc->last_error), "CLUSTER SLOTS from %s: %s", n->addr,
                     why);
            freeReplyObject(r);
            return -1;
        }
    memset(cc->slot_node, 0xff, sizeof(cc->slot_node));
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        char addr[32];
        int idx;
        if (slot_entry(e, &ip, why, sizeof(why)) < 0 || !ip)
            continue; /* not a slot range, or no endpoint to send to */
        snprintf(addr, sizeof(addr), "%s:%lld", ip, e->element[2]->element[1]->integer);
        idx = node_index(cc, addr);
        if (idx < 0)
            continue;
        for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
            cc->slot_node[s] = (int16_t)idx;
    }
    freeReplyObject(r);
    return 0;
}

int cc_refresh(struct cclient *cc)
{
    for (int i = 0; i < cc->n_seeds; i++) {
        int idx = node_index(cc, cc->seeds[i]);
        if (idx >= 0 && load_slots(cc, &cc->nodes[idx]) == 0)
            return 0;
    }
    for (int i = 0; i < cc->n_nodes; i++)
        if (load_slots(cc, &cc->nodes[i]) == 0)
            return 0;
    return -1;
}

static enum cc_err classify(const char *msg)
{
    if (!strncmp(msg, "TRYAGAIN", 8))
        return CC_TRYAGAIN;
    if (!strncmp(msg, "CLUSTERDOWN", 11))
        return CC_CLUSTERDOWN;
    if (!strncmp(msg, "LOADING", 7))
        return CC_LOADING;
    if (!strncmp(msg, "READONLY", 8))
        return CC_READONLY;
    return CC_OTHER;
}

static redisReply *fail(struct cclient *cc, enum cc_err e, enum cc_err *kind, const char *msg)
{
    cc->errors[e]++;
    *kind = e;
    snprintf(cc->last_error, sizeof(cc->last_error), "%s", msg);
    return NULL;
}

redisReply *cc_command(struct cclient *cc, const char *key, int argc, const char **argv,
                       enum cc_err *kind)
{
    uint16_t slot = ks_slot(key, strlen(key));
    int target = cc->slot_node[slot];
    bool asking = false;
    if (target < 0 && (cc_refresh(cc) < 0 || (target = cc->slot_node[slot]) < 0))
        return fail(cc, CC_NOSLOT, kind, "no node serves the slot");
    for (int hop = 0; hop < MAX_REDIRECTS; hop++) {
        struct cc_node *n = &cc->nodes[target];
        redisContext *c = conn(cc, n);
        redisReply *r;
        if (!c) {
            char msg[96];
            snprintf(msg, sizeof(msg), "cannot connect to %s", n->addr);
            cc_refresh(cc);
            return fail(cc, CC_IO, kind, msg);
        }
        if (asking) {
            r = redisCommand(c, "ASKING");
            if (r)
                freeReplyObject(r);
        }
        r = redisCommandArgv(c, argc, argv, NULL);
        if (!r) {
            enum cc_err e =
                strstr(c->errstr, "temporarily unavailable") || strstr(c->errstr, "timed out")
                    ? CC_TIMEOUT
                    : CC_IO;
            char msg[160];
            snprintf(msg, sizeof(msg), "%s: %s", n->addr, c->errstr);
            drop(n);
            return fail(cc, e, kind, msg);
        }
        if (r->type != REDIS_REPLY_ERROR) {
            *kind = CC_OK;
            return r;
        }
        if (!strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4)) {
            bool ask = r->str[0] == 'A';
            const char *sp = strchr(r->str + (ask ? 4 : 6), ' ');
            char where[32];
            snprintf(where, sizeof(where), "%s", sp ? sp + 1 : "");
            cc->errors[ask ? CC_ASK : CC_MOVED]++;
            freeReplyObject(r);
            target = node_index(cc, where);
            if (target < 0)
                return fail(cc, CC_OTHER, kind, "too many nodes");
            if (!ask)
                cc->slot_node[slot] = (int16_t)target;
            asking = ask;
            continue;
        }
        enum cc_err e = classify(r->str);
        char msg[160];
        snprintf(msg, sizeof(msg), "%s", r->str);
        freeReplyObject(r);
        if (e == CC_CLUSTERDOWN)
            cc_refresh(cc);
        return fail(cc, e, kind, msg);
    }
    return fail(cc, CC_REDIRECTS, kind, "too many redirections");
}

void cc_close(struct cclient *cc)
{
    for (int i = 0; i < cc->n_nodes; i++)
        drop(&cc->nodes[i]);
}
