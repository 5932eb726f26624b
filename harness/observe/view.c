/* view: CLUSTER NODES parsing and the checks on one or several views. */
#include "view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned parse_flags(const char *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"myself", VIEW_F_MYSELF}, {"master", VIEW_F_PRIMARY},
        {"slave", VIEW_F_REPLICA}, {"fail?", VIEW_F_PFAIL},
        {"fail", VIEW_F_FAIL},     {"handshake", VIEW_F_HANDSHAKE},
        {"noaddr", VIEW_F_NOADDR}, {"nofailover", VIEW_F_NOFAILOVER},
    };
    unsigned f = 0;
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strcmp(t, names[i].name))
                f |= names[i].bit;
    return f;
}

static int parse_slot_field(struct view *v, int idx, const char *f, char *err, size_t el, int line)
{
    char *end;
    long a, b;
    if (f[0] == '[') {
        /* [slot->-id] migrating to id, [slot-<-id] importing from id */
        const char *arrow;
        struct view_open_slot *o;
        a = strtol(f + 1, &end, 10);
        if (end == f + 1 || a < 0 || a >= VIEW_SLOTS)
            goto bad;
        arrow = end;
        if (v->n_open == (int)(sizeof(v->open) / sizeof(v->open[0])))
            return 0;
        o = &v->open[v->n_open];
        if (!strncmp(arrow, "->-", 3))
            o->importing = false;
        else if (!strncmp(arrow, "-<-", 3))
            o->importing = true;
        else
            goto bad;
        snprintf(o->peer, sizeof(o->peer), "%.40s", arrow + 3);
        o->slot = (uint16_t)a;
        v->n_open++;
        return 0;
    }
    a = strtol(f, &end, 10);
    if (end == f || a < 0 || a >= VIEW_SLOTS)
        goto bad;
    b = a;
    if (*end == '-') {
        const char *s2 = end + 1;
        b = strtol(s2, &end, 10);
        if (end == s2 || b < a || b >= VIEW_SLOTS)
            goto bad;
    }
    if (*end)
        goto bad;
    for (long s = a; s <= b; s++)
        v->owner[s] = (uint16_t)idx;
    return 0;
bad:
    snprintf(err, el, "CLUSTER NODES line %d: bad slot '%s'", line, f);
    return -1;
}

int view_parse(struct view *v, const char *text, char *err, size_t errlen)
{
    const char *p = text;
    int line = 0;
    memset(v, 0, sizeof(*v));
    v->myself = -1;
    for (int s = 0; s < VIEW_SLOTS; s++)
        v->owner[s] = VIEW_NO_OWNER;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char buf[16384], *f[1024], *save = NULL;
        int nf = 0;
        line++;
        if (n >= sizeof(buf)) {
            snprintf(err, errlen, "CLUSTER NODES line %d is too long", line);
            return -1;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        p += n + (nl ? 1 : 0);
        for (char *t = strtok_r(buf, " \r", &save); t && nf < 1024;
             t = strtok_r(NULL, " \r", &save))
            f[nf++] = t;
        if (nf == 0)
            continue;
        if (nf < 8 || strlen(f[0]) != 40) {
            snprintf(err, errlen,
                     "CLUSTER NODES line %d: expected id, address, flags, "
                     "primary, ping, pong, epoch, link",
                     line);
            return -1;
        }
        if (v->n == VIEW_MAX_NODES) {
            snprintf(err, errlen, "CLUSTER NODES: more than %d nodes", VIEW_MAX_NODES);
            return -1;
        }
        struct view_node *node = &v->nodes[v->n];
        snprintf(node->id, sizeof(node->id), "%s", f[0]);
        /* ip:port@cport[,hostname] */
        snprintf(node->addr, sizeof(node->addr), "%.*s", (int)strcspn(f[1], "@,"), f[1]);
        node->flags = parse_flags(f[2]);
        snprintf(node->primary, sizeof(node->primary), "%s", strcmp(f[3], "-") ? f[3] : "");
        {
            char *end;
            errno = 0;
            node->config_epoch = strtoull(f[6], &end, 10);
            if (*end || end == f[6] || errno || f[6][0] == '-') {
                snprintf(err, errlen, "CLUSTER NODES line %d: config epoch '%.20s' is not a number",
                         line, f[6]);
                return -1;
            }
        }
        node->connected = !strcmp(f[7], "connected");
        if (node->flags & VIEW_F_MYSELF)
            v->myself = v->n;
        for (int i = 8; i < nf; i++)
            if (parse_slot_field(v, v->n, f[i], err, errlen, line) < 0)
                return -1;
        v->n++;
    }
    return 0;
}

int view_find(const struct view *v, const char *id)
{
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->nodes[i].id, id))
            return i;
    return -1;
}

int view_cycle(const struct view *v, int *cycle, int max)
{
    for (int start = 0; start < v->n; start++) {
        int cur = start, len = 0;
        int path[VIEW_MAX_NODES];
        for (int steps = 0; steps <= v->n; steps++) {
            path[len++] = cur;
            if (!v->nodes[cur].primary[0])
                break;
            cur = view_find(v, v->nodes[cur].primary);
            if (cur < 0)
                break;
            if (cur == start) {
                int k = len < max ? len : max;
                memcpy(cycle, path, (size_t)k * sizeof(int));
                return len;
            }
            if (len == VIEW_MAX_NODES)
                break;
        }
    }
    return 0;
}

int view_chained(const struct view *v, int from, int chain[3])
{
    for (int x = from; x < v->n; x++) {
        int p, pp;
        if (!(v->nodes[x].flags & VIEW_F_REPLICA) || (p = view_find(v, v->nodes[x].primary)) < 0 ||
            !(v->nodes[p].flags & VIEW_F_REPLICA))
            continue;
        pp = view_find(v, v->nodes[p].primary);
        if (pp == x) /* two replicas of each other: a cycle, not a chain */
            continue;
        chain[0] = x, chain[1] = p, chain[2] = pp;
        return x;
    }
    return -1;
}

int view_slots_of(const struct view *v, int node)
{
    int n = 0;
    for (int s = 0; s < VIEW_SLOTS; s++)
        n += v->owner[s] == node;
    return n;
}

bool view_slot_lost(const struct view *v, int s)
{
    uint16_t o = v->owner[s];
    return o == VIEW_NO_OWNER || !(v->nodes[o].flags & VIEW_F_PRIMARY) ||
           (v->nodes[o].flags & VIEW_F_FAIL);
}

int view_lost_slots(const struct view *v, uint16_t (*ranges)[2], int max_ranges, int *n_ranges)
{
    int lost = 0, nr = 0, run_start = -1;
    for (int s = 0; s <= VIEW_SLOTS; s++) {
        bool is_lost = s < VIEW_SLOTS && view_slot_lost(v, s);
        if (is_lost) {
            lost++;
            if (run_start < 0)
                run_start = s;
        } else if (run_start >= 0) {
            if (nr < max_ranges) {
                ranges[nr][0] = (uint16_t)run_start;
                ranges[nr][1] = (uint16_t)(s - 1);
            }
            nr++;
            run_start = -1;
        }
    }
    *n_ranges = nr;
    return lost;
}

static const char *owner_id(const struct view *v, int s)
{
    uint16_t o = v->owner[s];
    return o == VIEW_NO_OWNER ? "" : v->nodes[o].id;
}

bool view_converged(const struct view *const *views, int n, char *why, size_t whylen)
{
    if (n == 0)
        return true;
    for (int k = 0; k < n; k++) {
        const struct view *v = views[k];
        const char *me = v->myself >= 0 ? v->nodes[v->myself].addr : "?";
        if (!v->state_ok) {
            snprintf(why, whylen, "%s: cluster_state is not ok", me);
            return false;
        }
        for (int i = 0; i < v->n; i++)
            if (v->nodes[i].flags & (VIEW_F_PFAIL | VIEW_F_FAIL | VIEW_F_HANDSHAKE)) {
                snprintf(why, whylen, "%s flags %s as %s", me, v->nodes[i].addr,
                         v->nodes[i].flags & VIEW_F_FAIL    ? "FAIL"
                         : v->nodes[i].flags & VIEW_F_PFAIL ? "PFAIL"
                                                            : "handshake");
                return false;
            }
        if (v->n != views[0]->n) {
            snprintf(why, whylen, "%s knows %d nodes, another view %d", me, v->n, views[0]->n);
            return false;
        }
        if (k == 0)
            continue;
        for (int s = 0; s < VIEW_SLOTS; s++)
            if (strcmp(owner_id(v, s), owner_id(views[0], s)) != 0) {
                snprintf(why, whylen, "views disagree on the owner of slot %d", s);
                return false;
            }
        for (int i = 0; i < v->n; i++) {
            int j = view_find(views[0], v->nodes[i].id);
            unsigned roles = VIEW_F_PRIMARY | VIEW_F_REPLICA;
            if (j < 0 || (v->nodes[i].flags & roles) != (views[0]->nodes[j].flags & roles) ||
                strcmp(v->nodes[i].primary, views[0]->nodes[j].primary) != 0) {
                snprintf(why, whylen, "views disagree on the role of %s", v->nodes[i].addr);
                return false;
            }
        }
    }
    return true;
}
