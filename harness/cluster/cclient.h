/* cclient: a small, correct Redis Cluster client of rift's own (hiredis):
 * a slot map loaded with CLUSTER SLOTS, MOVED (update the map, retry) and
 * ASK (ASKING to the target, retry once) followed, every error counted by
 * kind. Connections are bound to a source address so that faults on
 * "clients" apply to them. Not thread-safe: one per thread. */
#ifndef RIFT_CCLIENT_H
#define RIFT_CCLIENT_H

#include <hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../proto/keyspec.h"

#define CC_MAX_NODES 64

enum cc_err {
    CC_OK,
    CC_MOVED, /* redirections followed (not failures) */
    CC_ASK,
    CC_TRYAGAIN,
    CC_CLUSTERDOWN,
    CC_LOADING,
    CC_READONLY,
    CC_TIMEOUT,
    CC_IO,        /* refused, reset, closed */
    CC_NOSLOT,    /* no node known for the slot */
    CC_REDIRECTS, /* too many redirections */
    CC_OTHER,
    CC__COUNT
};

struct cc_node {
    char addr[32]; /* ip:port */
    redisContext *c;
};

struct cclient {
    char source[32];
    char pass[72]; /* AUTH on every connection; "": none */
    int timeout_ms;
    struct cc_node nodes[CC_MAX_NODES];
    int n_nodes;
    int16_t slot_node[16384]; /* index into nodes, -1 unknown */
    char seeds[8][32];
    int n_seeds;
    uint64_t errors[CC__COUNT];
    char last_error[160];
};

const char *cc_err_name(enum cc_err e);

/* A blocking hiredis connection to "ip:port" from source, authenticated
 * with pass unless it is NULL or "", or NULL (errno EACCES: the server
 * refused the password). */
redisContext *cc_connect(const char *addr, const char *source, int timeout_ms, const char *pass);
/* A decimal integer lo..hi: digits only, the whole string. 0 or -1. */
int cc_parse_int(const char *s, long lo, long hi, int *out);

void cc_init(struct cclient *cc, const char *source, int timeout_ms, const char *pass);
void cc_add_seed(struct cclient *cc, const char *addr);
/* (Re)load the slot map from the seeds or any known node. 0 or -1. */
int cc_refresh(struct cclient *cc);
/* Run a command on the key's slot owner, following redirections. Returns
 * the reply (caller frees) with *kind CC_OK, or NULL with the error kind
 * (also counted) and last_error set. An error reply (-ERR ...) that is not
 * a redirection comes back as NULL with its kind. */
redisReply *cc_command(struct cclient *cc, const char *key, int argc, const char **argv,
                       enum cc_err *kind);
void cc_close(struct cclient *cc);

#endif
