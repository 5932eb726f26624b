/* viewlog: views.jsonl as changes. A node's whole CLUSTER NODES goes in
 * when what it shows changes (vtrack's state: roles, primaries, PFAIL and
 * FAIL, cluster_state, slot owners), when it answers again after it did
 * not, and at least every VIEWLOG_FULL_MS; between them a line
 * {"t_ms":T,"node":"m1","same":true} at most every VIEWLOG_SAME_MS, and
 * one for the last unchanged sample before a change or a silence, so that
 * what vtrack rebuilds ends where it did (to the sample). */
#ifndef RIFT_VIEWLOG_H
#define RIFT_VIEWLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "view.h"
#include "vtrack.h"

#define VIEWLOG_FULL_MS 10000
#define VIEWLOG_SAME_MS 100

struct viewlog_node {
    bool have;          /* st holds the last view written */
    struct vt_state st; /* what that view showed */
    int64_t full_ms;    /* when the last whole view was written */
    int64_t line_ms;    /* when the last line was written */
    int64_t pending_ms; /* an unchanged sample not written yet, -1: none */
};

struct viewlog {
    FILE *f;
    struct vtrack map; /* only its addresses, to tell nodes apart */
    char names[VT_MAX_NODES][16];
    struct viewlog_node node[VT_MAX_NODES];
    uint64_t bytes, full, same, samples;
};

/* views.jsonl at path for n nodes named names[i] at ips[i]. 0 or -1. */
int viewlog_open(struct viewlog *vl, const char *path, int n, const char (*names)[16],
                 const uint32_t *ips);
/* Node i answered at t_ms: its parsed view and its CLUSTER NODES text. */
void viewlog_sample(struct viewlog *vl, int i, int64_t t_ms, bool state_ok, const struct view *v,
                    const char *text);
/* Node i gave no view this round (down, paused, no reply). */
void viewlog_quiet(struct viewlog *vl, int i);
/* Writes what is pending and closes the file. */
void viewlog_close(struct viewlog *vl);

#endif
