/* view: one node's view of the cluster (CLUSTER NODES + cluster_state) and
 * what rift checks in it: replication cycles, slots without a healthy
 * owner, and whether several views agree (convergence). */
#ifndef RIFT_VIEW_H
#define RIFT_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIEW_SLOTS 16384
#define VIEW_MAX_NODES 64
#define VIEW_NO_OWNER 0xffff

enum {
    VIEW_F_MYSELF = 1 << 0,
    VIEW_F_PRIMARY = 1 << 1,
    VIEW_F_REPLICA = 1 << 2,
    VIEW_F_PFAIL = 1 << 3,
    VIEW_F_FAIL = 1 << 4,
    VIEW_F_HANDSHAKE = 1 << 5,
    VIEW_F_NOADDR = 1 << 6,
    VIEW_F_NOFAILOVER = 1 << 7,
};

struct view_node {
    char id[41];
    char addr[64]; /* ip:port */
    unsigned flags;
    char primary[41]; /* "" when none */
    uint64_t config_epoch;
    bool connected;
};

struct view_open_slot {
    uint16_t slot;
    bool importing; /* else migrating */
    char peer[41];
};

struct view {
    int n;
    struct view_node nodes[VIEW_MAX_NODES];
    uint16_t owner[VIEW_SLOTS]; /* index into nodes, VIEW_NO_OWNER */
    int n_open;
    struct view_open_slot open[64];
    int myself;    /* index, -1 if not found */
    bool state_ok; /* cluster_state:ok */
};

/* Parse CLUSTER NODES output. 0, or -1 with a message naming the line. */
int view_parse(struct view *v, const char *text, char *err, size_t errlen);
int view_find(const struct view *v, const char *id);

/* A replication cycle: following replica-of edges from some node returns to
 * it. Writes the node indexes of the first cycle found into cycle (up to
 * max) and returns its length, 0 if none. */
int view_cycle(const struct view *v, int *cycle, int max);

/* A replica whose primary is itself a replica (of a third node: two
 * replicas of each other are a cycle): the first one at index >= from,
 * with chain = {replica, its primary, that one's primary (-1 unknown)};
 * -1 when none. */
int view_chained(const struct view *v, int from, int chain[3]);
/* How many slots node (an index) owns in this view. */
int view_slots_of(const struct view *v, int node);

/* A slot is lost when no node this view holds as a healthy primary (master
 * flag, not FAIL) owns it. Writes [start, end] ranges; returns the number
 * of lost slots. */
int view_lost_slots(const struct view *v, uint16_t (*ranges)[2], int max_ranges, int *n_ranges);
/* Slot s has no owner here, or one that is not a healthy primary: the
 * lost_slots check's rule, slot by slot. */
bool view_slot_lost(const struct view *v, int s);

/* Views agree: same owner id for every slot, same role and primary for
 * every node, nobody flagged PFAIL/FAIL, cluster_state ok in each. On
 * disagreement, why is filled in. */
bool view_converged(const struct view *const *views, int n, char *why, size_t whylen);

#endif
