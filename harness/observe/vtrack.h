/* vtrack: what each node saw over a run, as changes. views.jsonl holds a
 * node's whole CLUSTER NODES when what it sees changes (viewlog.h), and
 * short "same" lines between; vtrack keeps one segment
 * per stretch in which an observer's view stayed the same (roles, primary
 * of each replica, PFAIL/FAIL marks, cluster_state, slot owners), for the
 * report page's lanes. Nodes are told apart by their addresses. */
#ifndef RIFT_VTRACK_H
#define RIFT_VTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_MAX_NODES 48
#define VT_MAX_RANGES 64
#define VT_GAP_MS 200 /* no sample for this long: the lane has a gap */

enum { VT_ROLE_NONE, VT_ROLE_PRIMARY, VT_ROLE_REPLICA };
enum { VT_FLAG_NONE, VT_FLAG_PFAIL, VT_FLAG_FAIL };

struct vt_range {
    uint16_t lo, hi;
    int8_t owner; /* scenario node, -1: no owner or one rift did not start */
    bool lost;    /* the lost_slots check's rule (view_slot_lost) */
};

struct vt_state {
    bool ok; /* cluster_state:ok */
    uint8_t role[VT_MAX_NODES];
    int8_t primary[VT_MAX_NODES]; /* a replica's primary, -1 */
    uint8_t flag[VT_MAX_NODES];
    int n_ranges;
    bool ranges_cut; /* more ranges than VT_MAX_RANGES: the rest is not drawn */
    struct vt_range ranges[VT_MAX_RANGES];
};

struct vt_seg {
    int64_t t0, t1; /* first sample, last sample + its interval */
    struct vt_state st;
};

struct vt_lane {
    struct vt_seg *seg;
    int n, cap;
};

struct vtrack {
    int n_nodes;
    uint32_t ip[VT_MAX_NODES]; /* node i's address, host order */
    struct vt_lane lane[VT_MAX_NODES];
    int64_t t_max;   /* the last sample's end */
    long samples;    /* lines read */
    long unreadable; /* lines or views that did not parse */
};

/* Reads views.jsonl for nodes 0..n_nodes-1 named names[i] (the "node"
 * field) at addresses ips[i]. 0, or -1 with err (the file cannot be read,
 * out of memory). */
int vt_load(struct vtrack *vt, const char *path, int n_nodes, const char (*names)[16],
            const uint32_t *ips, char *err, size_t el);
/* What a view shows, as a segment's state: nodes told apart by vt->ip. */
struct view;
void vt_view_state(const struct vtrack *vt, const struct view *v, bool state_ok,
                   struct vt_state *st);
/* Two states the same: what the report page would draw the same. */
bool vt_same(const struct vt_state *a, const struct vt_state *b);
/* Two slot ranges the same (member by member). */
bool vt_same_range(const struct vt_range *a, const struct vt_range *b);
/* Text for one node as an observer saw it in a segment: "replica of m1r1,
 * FAIL"; names as above. */
void vt_describe(const struct vt_state *st, int node, const char (*names)[16], char *out,
                 size_t len);
void vt_free(struct vtrack *vt);

#endif
