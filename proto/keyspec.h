/* keyspec: which arguments of a request are keys, as the server itself
 * says: a command table loaded from the server's COMMAND reply (RESP2 or
 * RESP3; key specifications of Redis >= 7 and Valkey, or the legacy
 * first/last/step of older servers), key positions found the way the
 * server finds them, and the cluster slot of a key. Depends only on resp. */
#ifndef RIFT_KEYSPEC_H
#define RIFT_KEYSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_SLOTS 16384
#define KS_NAME_MAX 64 /* "xinfo|stream" */
#define KS_KEYWORD_MAX 32
#define KS_MAX_SPECS 8

enum ks_bs { KS_BS_UNKNOWN, KS_BS_INDEX, KS_BS_KEYWORD };
enum ks_fk { KS_FK_UNKNOWN, KS_FK_RANGE, KS_FK_KEYNUM };

struct ks_spec {
    enum ks_bs bs;
    int index;                    /* KS_BS_INDEX */
    char keyword[KS_KEYWORD_MAX]; /* KS_BS_KEYWORD */
    int startfrom;                /* KS_BS_KEYWORD: < 0 searches from the end */
    enum ks_fk fk;
    int lastkey, keystep, limit; /* KS_FK_RANGE */
    int keynumidx, firstkey;     /* KS_FK_KEYNUM (with keystep) */
};

struct ks_cmd {
    char name[KS_NAME_MAX]; /* lower case; a subcommand is "parent|sub" */
    int arity;
    bool movablekeys;
    int first, last, step; /* legacy key range */
    int nspecs;            /* -1: the server gave no key specs (Redis < 7) */
    struct ks_spec spec[KS_MAX_SPECS];
    int nsub;
    struct ks_cmd *sub; /* sorted by name */
};

struct ks_table {
    int n;
    struct ks_cmd *cmd; /* sorted by name */
};

/* How complete the keys of one request are. */
enum ks_found {
    KS_FOUND,   /* every key (possibly none) */
    KS_PARTIAL, /* some keys come from specs the server marks unknown */
    KS_UNKNOWN, /* a command the table does not have */
};

/* Loads the reply to COMMAND (the whole reply in buf). 0, or -1 with err. */
int ks_load(struct ks_table *t, const char *buf, size_t len, char *err, size_t errlen);
void ks_free(struct ks_table *t);

/* The command (or subcommand, for a container like OBJECT or XINFO) a
 * request runs, or NULL. */
const struct ks_cmd *ks_lookup(const struct ks_table *t, int argc, const char *const *argv,
                               const size_t *argl);

typedef void (*ks_key_fn)(void *ctx, int pos);
/* Calls fn with the position of each key of the request, in spec order
 * (a key named twice is reported twice). *cmd is what ran, or NULL. Specs
 * the server marks unknown (SORT's BY/GET patterns) make the result
 * KS_PARTIAL; a spec the arguments do not fit (a bad numkeys, a missing
 * argument) gives no keys: the server refuses such a request anyway. An
 * empty argument in a key's place is not a key (MIGRATE ... "" ... KEYS).
 * NOT_KEY specs count: they name shard channels (SSUBSCRIBE, SPUBLISH),
 * which a cluster routes by slot like keys. */
enum ks_found ks_keys(const struct ks_table *t, int argc, const char *const *argv,
                      const size_t *argl, const struct ks_cmd **cmd, ks_key_fn fn, void *ctx);

/* The cluster slot of a key: CRC16 of the key, or of the part between the
 * first '{' and the next '}' when that part is not empty. */
uint16_t ks_slot(const char *key, size_t len);

#endif
