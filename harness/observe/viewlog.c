/* viewlog: views.jsonl as changes (see viewlog.h). */
#include "viewlog.h"

#include <inttypes.h>
#include <string.h>

#include "../../policies/esc.h"

int viewlog_open(struct viewlog *vl, const char *path, int n, const char (*names)[16],
                 const uint32_t *ips)
{
    memset(vl, 0, sizeof(*vl));
    vl->map.n_nodes = n < VT_MAX_NODES ? n : VT_MAX_NODES;
    for (int i = 0; i < vl->map.n_nodes; i++) {
        vl->map.ip[i] = ips[i];
        memcpy(vl->names[i], names[i], sizeof(vl->names[i]));
        vl->node[i].pending_ms = -1;
    }
    return (vl->f = fopen(path, "w")) ? 0 : -1;
}

static void same_line(struct viewlog *vl, int i, int64_t t_ms)
{
    int n = fprintf(vl->f, "{\"t_ms\":%" PRId64 ",\"node\":\"%s\",\"same\":true}\n", t_ms,
                    vl->names[i]);
    vl->bytes += n > 0 ? (uint64_t)n : 0;
    vl->same++;
    vl->node[i].line_ms = t_ms;
    vl->node[i].pending_ms = -1;
}

/* The pending unchanged sample, so that the segment ends where it did. */
static void flush_pending(struct viewlog *vl, int i)
{
    if (vl->node[i].pending_ms >= 0)
        same_line(vl, i, vl->node[i].pending_ms);
}

static void full_line(struct viewlog *vl, int i, int64_t t_ms, bool ok, const char *text)
{
    long at = ftell(vl->f);
    fprintf(vl->f, "{\"t_ms\":%" PRId64 ",\"node\":\"%s\",\"state\":\"%s\",\"nodes\":", t_ms,
            vl->names[i], ok ? "ok" : "fail");
    esc_json(vl->f, text);
    fputs("}\n", vl->f);
    if (at >= 0 && ftell(vl->f) > at)
        vl->bytes += (uint64_t)(ftell(vl->f) - at);
    vl->full++;
    vl->node[i].full_ms = vl->node[i].line_ms = t_ms;
    vl->node[i].pending_ms = -1;
}

void viewlog_sample(struct viewlog *vl, int i, int64_t t_ms, bool state_ok, const struct view *v,
                    const char *text)
{
    struct viewlog_node *n;
    struct vt_state st;
    if (!vl->f || i < 0 || i >= vl->map.n_nodes)
        return;
    n = &vl->node[i];
    vl->samples++;
    vt_view_state(&vl->map, v, state_ok, &st);
    if (!n->have || !vt_same(&n->st, &st)) {
        flush_pending(vl, i);
        full_line(vl, i, t_ms, state_ok, text);
        n->st = st;
        n->have = true;
    } else if (t_ms - n->full_ms >= VIEWLOG_FULL_MS) {
        full_line(vl, i, t_ms, state_ok, text);
    } else if (t_ms - n->line_ms >= VIEWLOG_SAME_MS) {
        same_line(vl, i, t_ms);
    } else {
        n->pending_ms = t_ms;
    }
}

void viewlog_quiet(struct viewlog *vl, int i)
{
    if (!vl->f || i < 0 || i >= vl->map.n_nodes)
        return;
    flush_pending(vl, i);
    vl->node[i].have = false; /* its next view is written whole */
}

void viewlog_close(struct viewlog *vl)
{
    if (!vl->f)
        return;
    for (int i = 0; i < vl->map.n_nodes; i++)
        flush_pending(vl, i);
    fclose(vl->f);
    vl->f = NULL;
}
