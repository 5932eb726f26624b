/* migrate: move a range of slots with their keys from one primary to
 * another, the way redis-cli does: SETSLOT IMPORTING on the target,
 * MIGRATING on the source, MIGRATE of every key in batches, then SETSLOT
 * NODE on the target, the source and every other primary; or, atomic,
 * with Valkey 9's CLUSTER MIGRATESLOTS on the source, followed with CLUSTER
 * GETSLOTMIGRATIONS until it ends. Runs in a thread of its own so that
 * sampling and the workload go on meanwhile. */
#ifndef RIFT_MIGRATE_H
#define RIFT_MIGRATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MIG_MAX_PRIMARIES 16

struct migration {
    int lo, hi;
    bool atomic;
    char source[32];                 /* admin connections bind here */
    char pass[72];                   /* the nodes' password, "": none */
    char src_addr[32], dst_addr[32]; /* ip:port */
    char src_id[41], dst_id[41];
    char others[MIG_MAX_PRIMARIES][32];
    int n_others;
    /* results */
    pthread_t th;
    volatile bool done;
    volatile bool abort; /* set by the harness to stop early */
    int slots_moved;
    long keys_moved;
    int retries;
    uint64_t ms;
    char error[256];
};

int mig_start(struct migration *m);
void mig_join(struct migration *m);

#endif
