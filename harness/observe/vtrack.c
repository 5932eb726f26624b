/* vtrack: every observer's views as segments of unchanged state. */
#include "vtrack.h"

#include "../../policies/esc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scenario/scenario.h"
#include "view.h"

#define VT_SAMPLE_MS 20

/* The scenario node listening at "ip:port", -1 if none. */
static int node_of_addr(const struct vtrack *vt, const char *addr)
{
    char ip[INET_ADDRSTRLEN];
    struct in_addr a;
    size_t len = strcspn(addr, ":@");
    uint32_t h;
    if (len == 0 || len >= sizeof(ip))
        return -1;
    memcpy(ip, addr, len);
    ip[len] = 0;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return -1;
    h = ntohl(a.s_addr);
    for (int i = 0; i < vt->n_nodes; i++)
        if (vt->ip[i] == h)
            return i;
    return -1;
}

static void state_of(const struct vtrack *vt, const struct view *v, struct vt_state *st);

void vt_view_state(const struct vtrack *vt, const struct view *v, bool state_ok,
                   struct vt_state *st)
{
    memset(st, 0, sizeof(*st));
    st->ok = state_ok;
    state_of(vt, v, st);
}

static void state_of(const struct vtrack *vt, const struct view *v, struct vt_state *st)
{
    int map[VIEW_MAX_NODES] = {0};
    for (int i = 0; i < v->n; i++)
        map[i] = node_of_addr(vt, v->nodes[i].addr);
    for (int s = 0; s < VT_MAX_NODES; s++)
        st->primary[s] = -1;
    for (int i = 0; i < v->n; i++) {
        const struct view_node *vn = &v->nodes[i];
        int s = map[i], p;
        if (s < 0)
            continue;
        st->role[s] = vn->flags & VIEW_F_PRIMARY   ? VT_ROLE_PRIMARY
                      : vn->flags & VIEW_F_REPLICA ? VT_ROLE_REPLICA
                                                   : VT_ROLE_NONE;
        st->flag[s] = vn->flags & VIEW_F_FAIL    ? VT_FLAG_FAIL
                      : vn->flags & VIEW_F_PFAIL ? VT_FLAG_PFAIL
                                                 : VT_FLAG_NONE;
        if (vn->primary[0] && (p = view_find(v, vn->primary)) >= 0)
            st->primary[s] = (int8_t)map[p];
    }
    for (int slot = 0; slot < VIEW_SLOTS;) {
        int o = v->owner[slot] == VIEW_NO_OWNER ? -1 : map[v->owner[slot]];
        bool lost = view_slot_lost(v, slot);
        int end = slot;
        while (end + 1 < VIEW_SLOTS &&
               (v->owner[end + 1] == VIEW_NO_OWNER ? -1 : map[v->owner[end + 1]]) == o &&
               view_slot_lost(v, end + 1) == lost)
            end++;
        if (st->n_ranges == VT_MAX_RANGES) {
            st->ranges_cut = true;
            break;
        }
        st->ranges[st->n_ranges++] =
            (struct vt_range){(uint16_t)slot, (uint16_t)end, (int8_t)o, lost};
        slot = end + 1;
    }
}

bool vt_same_range(const struct vt_range *a, const struct vt_range *b)
{
    return a->lo == b->lo && a->hi == b->hi && a->owner == b->owner && a->lost == b->lost;
}

bool vt_same(const struct vt_state *a, const struct vt_state *b)
{
    if (a->ok != b->ok || a->n_ranges != b->n_ranges || a->ranges_cut != b->ranges_cut ||
        memcmp(a->role, b->role, sizeof(a->role)) != 0 ||
        memcmp(a->primary, b->primary, sizeof(a->primary)) != 0 ||
        memcmp(a->flag, b->flag, sizeof(a->flag)) != 0)
        return false;
    for (int k = 0; k < a->n_ranges; k++)
        if (!vt_same_range(&a->ranges[k], &b->ranges[k]))
            return false;
    return true;
}

static int vt_add(struct vtrack *vt, int observer, int64_t t_ms, bool state_ok,
                  const char *nodes_text)
{
    static struct view v; /* 40 KB: not on the stack; vtrack is not threaded */
    struct vt_state st;
    struct vt_lane *l;
    char err[128];
    if (observer < 0 || observer >= vt->n_nodes)
        return -1;
    if (view_parse(&v, nodes_text, err, sizeof(err)) < 0) {
        vt->unreadable++;
        return 0;
    }
    memset(&st, 0, sizeof(st));
    st.ok = state_ok;
    state_of(vt, &v, &st);
    l = &vt->lane[observer];
    if (l->n && t_ms - l->seg[l->n - 1].t1 <= VT_GAP_MS && vt_same(&l->seg[l->n - 1].st, &st)) {
        l->seg[l->n - 1].t1 = t_ms + VT_SAMPLE_MS;
    } else {
        if (l->n == l->cap) {
            int cap = l->cap ? l->cap * 2 : 16;
            struct vt_seg *s = realloc(l->seg, sizeof(*s) * (size_t)cap);
            if (!s)
                return -1;
            l->seg = s;
            l->cap = cap;
        }
        l->seg[l->n++] = (struct vt_seg){t_ms, t_ms + VT_SAMPLE_MS, st};
    }
    if (t_ms + VT_SAMPLE_MS > vt->t_max)
        vt->t_max = t_ms + VT_SAMPLE_MS;
    return 0;
}

/* A line saying observer name's view at t_ms was still the last one it
 * wrote: its last segment goes on (after a gap the line is ignored: a
 * full view follows a gap). */
static void vt_extend(struct vtrack *vt, const char *name, const char (*names)[16], int64_t t_ms)
{
    for (int i = 0; i < vt->n_nodes; i++) {
        struct vt_lane *l = &vt->lane[i];
        if (strcmp(names[i], name) != 0)
            continue;
        if (!l->n || t_ms - l->seg[l->n - 1].t1 > VT_GAP_MS || t_ms < l->seg[l->n - 1].t0) {
            vt->unreadable++;
            return;
        }
        l->seg[l->n - 1].t1 = t_ms + VT_SAMPLE_MS;
        if (t_ms + VT_SAMPLE_MS > vt->t_max)
            vt->t_max = t_ms + VT_SAMPLE_MS;
        return;
    }
    vt->unreadable++;
}

int vt_load(struct vtrack *vt, const char *path, int n_nodes, const char (*names)[16],
            const uint32_t *ips, char *err, size_t el)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *nodes = NULL, name[32], state[16];
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    memset(vt, 0, sizeof(*vt));
    vt->n_nodes = n_nodes < VT_MAX_NODES ? n_nodes : VT_MAX_NODES;
    for (int i = 0; i < vt->n_nodes; i++)
        vt->ip[i] = ips[i];
    if (!f) {
        snprintf(err, el, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        const char *t = strstr(line, "\"t_ms\":");
        int obs = -1;
        char *tmp = realloc(nodes, (size_t)len + 1);
        if (!tmp) {
            snprintf(err, el, "%s: out of memory", path);
            rc = -1;
            break;
        }
        nodes = tmp;
        vt->samples++;
        if (t && strstr(line, "\"same\":true") &&
            esc_json_field(line, "node", name, sizeof(name))) {
            vt_extend(vt, name, names, strtoll(t + 7, NULL, 10));
            continue;
        }
        if (!t || !esc_json_field(line, "node", name, sizeof(name)) ||
            !esc_json_field(line, "state", state, sizeof(state)) ||
            !esc_json_field(line, "nodes", nodes, (size_t)len + 1)) {
            vt->unreadable++;
            continue;
        }
        for (int i = 0; i < vt->n_nodes; i++)
            if (!strcmp(names[i], name))
                obs = i;
        if (obs < 0) {
            vt->unreadable++;
            continue;
        }
        if (vt_add(vt, obs, strtoll(t + 7, NULL, 10), !strcmp(state, "ok"), nodes) < 0) {
            snprintf(err, el, "%s: out of memory", path);
            rc = -1;
            break;
        }
    }
    free(line);
    free(nodes);
    fclose(f);
    return rc;
}

void vt_describe(const struct vt_state *st, int node, const char (*names)[16], char *out,
                 size_t len)
{
    const char *flag = st->flag[node] == VT_FLAG_FAIL    ? ", FAIL"
                       : st->flag[node] == VT_FLAG_PFAIL ? ", PFAIL"
                                                         : "";
    int slots = 0;
    for (int i = 0; i < st->n_ranges; i++)
        if (st->ranges[i].owner == node)
            slots += st->ranges[i].hi - st->ranges[i].lo + 1;
    if (st->role[node] == VT_ROLE_REPLICA)
        snprintf(out, len, "replica of %s%s",
                 st->primary[node] >= 0 ? names[st->primary[node]] : "?", flag);
    else if (st->role[node] == VT_ROLE_PRIMARY)
        snprintf(out, len, "primary, %d slots%s", slots, flag);
    else
        snprintf(out, len, "not known%s", flag);
}

void vt_free(struct vtrack *vt)
{
    for (int i = 0; i < VT_MAX_NODES; i++)
        free(vt->lane[i].seg);
    memset(vt, 0, sizeof(*vt));
}
