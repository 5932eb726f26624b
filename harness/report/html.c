/* html: report.html: the header, the timeline (htmlsvg.c), the details
 * behind the findings. Well-formed XML as well as HTML, so that a strict
 * parser reads it; everything from outside is escaped. */
#include "html.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/esc.h"
#include "busctx.h"

static const char css[] =
    "body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}"
    "h1{font-size:18px;margin:0 0 8px}h2{font-size:15px;margin:18px 0 6px}"
    "table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}"
    ".pass{background:#dff3dc}.fail{background:#f8d4d4}.verdict{font-weight:bold;padding:2px 8px}"
    ".v-pass{background:#2ca02c;color:#fff}.v-fail{background:#d62728;color:#fff}"
    ".v-error,.v-invalid{background:#7f7f7f;color:#fff}"
    "code,pre{font:12px/1.35 ui-monospace,monospace}pre{background:#f7f7f7;padding:6px;"
    "overflow-x:auto;margin:4px 0}"
    "svg text{font:11px system-ui,sans-serif;fill:#333}.tick{text-anchor:middle;fill:#666}"
    ".axis line{stroke:#999}.step{stroke:#555;stroke-dasharray:3 3}.step-label{fill:#333}"
    ".step-label.skipped{fill:#999}.lane-bg{fill:#fafafa;stroke:#e3e3e3}"
    ".lane-label{font-weight:bold}.lane-sub{fill:#888}.fault{fill:#ffcc00;fill-opacity:.18}"
    ".fault-window{fill:#ffcc00;fill-opacity:.6}.fault-text{fill:#6b5300}"
    ".role.primary{fill:#3b6fb6}.role.replica{fill:#a9c4e8}.role.pfail{fill:#f39c12}"
    ".role.fail{fill:#d62728}.state.ok{fill:#2ca02c}.state.down{fill:#d62728}"
    ".finding{fill:#d62728;stroke:#800;stroke-width:.5}.ok{fill:#9bd18f}"
    ".heal{stroke:#2ca02c;stroke-width:2}.heal-text{fill:#2a7d22}.never{fill:#d62728;"
    "font-weight:bold}.legend{fill:#444}#cursor{stroke:#000;stroke-opacity:.35}"
    "#cursor-text{fill:#000}.change{fill:#333}.key "
    "span{display:inline-block;width:10px;height:10px;"
    "margin:0 4px 0 12px;vertical-align:middle}";

/* A pointer line with the time under it; XML-safe (no '<' or '&'). */
static const char script[] =
    "(function(){var s=document.getElementById('timeline');if(!s)return;"
    "var c=document.getElementById('cursor'),t=document.getElementById('cursor-text');"
    "var L=+s.getAttribute('data-left'),P=+s.getAttribute('data-plot-width'),"
    "E=+s.getAttribute('data-t-end-ms');"
    "s.addEventListener('mousemove',function(e){var r=s.getBoundingClientRect();"
    "var x=e.clientX-r.left;if(x>L+P||L>x)return;var ms=(x-L)*E/P;"
    "c.setAttribute('x1',x);c.setAttribute('x2',x);t.setAttribute('x',x+3);"
    "t.textContent=(ms/1000).toFixed(3)+' s';});})();";

void html_page_start(FILE *f, const char *title, const char *style)
{
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>"
          "<meta charset=\"utf-8\"/>\n<title>",
          f);
    esc_xml(f, title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
}

static void row(FILE *f, const char *k, const char *v)
{
    fprintf(f, "<tr><th>%s</th><td>", k);
    esc_xml_in(f, "", v, "</td></tr>\n");
}

static void header(FILE *f, const struct run *r, const char *verdict, const char *error)
{
    char buf[8192];
    fputs("<h1>rift run ", f);
    esc_xml(f, r->scn->file);
    fprintf(f, " <span class=\"verdict v-%s\" id=\"verdict\">", verdict);
    esc_xml(f, verdict);
    fputs("</span></h1>\n<table class=\"meta\">\n", f);
    row(f, "scenario", r->scn->file);
    snprintf(buf, sizeof(buf), "%" PRIu64, r->seed);
    row(f, "seed", buf);
    snprintf(buf, sizeof(buf), "%s %s (%s)", r->server_name, r->server_version,
             r->server_package[0] ? r->server_package : r->server_bin);
    row(f, "server", buf);
    snprintf(buf, sizeof(buf), "%d (%d primaries x %d replicas)", r->scn->n_nodes, r->scn->masters,
             r->scn->replicas);
    row(f, "nodes", buf);
    if (error)
        row(f, r->invalid[0] ? "invalid" : "error", error);
    {
        struct run_replay rp;
        run_replay(r, &rp);
        if (!esc_shell_line(buf, sizeof(buf), rp.argc, rp.argv))
            snprintf(buf, sizeof(buf), "(longer than %zu characters)", sizeof(buf) - 1);
    }
    fputs("<tr><th>replay</th><td><code id=\"replay\">", f);
    esc_xml(f, buf);
    fputs("</code></td></tr>\n</table>\n", f);
}

static void checks_table(FILE *f, const struct check_result *res, int n)
{
    if (!n)
        return;
    fputs("<h2>Checks</h2>\n<table class=\"checks\"><tr><th>check</th><th>status</th>"
          "<th>detail</th></tr>\n",
          f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<tr class=\"%s\"><td>", !strcmp(res[i].status, "fail") ? "fail" : "pass");
        esc_xml_in(f, "", res[i].name, "</td><td>");
        esc_xml_in(f, "", res[i].status, "</td><td>");
        esc_xml_in(f, "", res[i].detail, "</td></tr>\n");
    }
    fputs("</table>\n", f);
}

static void key(FILE *f)
{
    fputs("<p class=\"key\">Each observer's lane: the slot owners (top band, a colour per "
          "shard, lighter for a replica that took over, grey for no owner, red hatching where the "
          "owner is not a healthy primary in that view), one thin row per node "
          "as the observer sees it<span style=\"background:#3b6fb6\"></span>primary"
          "<span style=\"background:#a9c4e8\"></span>replica<span style=\"background:#f39c12\">"
          "</span>PFAIL<span style=\"background:#d62728\"></span>FAIL (a black mark where the view "
          "changed says what changed), then cluster_state"
          "<span style=\"background:#2ca02c\"></span>ok; findings as red bars on top, fault "
          "windows shaded<span style=\"background:#ffcc00\"></span>. Hover for details.</p>\n",
          f);
}

/* The last lines of a file, escaped, in a <pre>. */
static void tail_pre(FILE *f, const char *path, int lines)
{
    static char buf[64 * 1024];
    const char *t = run_file_tail(path, lines, buf, sizeof(buf));
    if (!t)
        return;
    esc_xml_in(f, "<pre class=\"log\">", t, "</pre>\n");
}

/* Each finding with the bus messages its observer had just got, and the
 * log's end for a crash. */
static void details(FILE *f, const struct run *r)
{
    int shown = 0;
    for (int k = 0; k < r->n_obs && shown < 64; k++) {
        const struct obs *o = &r->obs[k];
        char *ctx = NULL;
        size_t len = 0;
        FILE *m;
        int node = scn_node(r->scn, o->observer);
        if (!strcmp(o->check, "unavailable"))
            continue;
        if (!shown++)
            fputs("<h2>Findings</h2>\n", f);
        fprintf(f, "<details class=\"finding-detail\" data-check=\"%s\"><summary>", o->check);
        esc_xml_in(f, "", o->check, ": ");
        esc_xml_in(f, "", o->observer, " saw ");
        esc_xml(f, o->what);
        fprintf(f, " from %.3f s to %.3f s (%d samples)</summary>\n", (double)o->first_ms / 1000.0,
                (double)o->last_ms / 1000.0, o->samples);
        if ((m = open_memstream(&ctx, &len))) {
            report_bus_context(r, m, o->observer, o->first_ms, 0);
            fclose(m);
            if (len) {
                esc_xml_in(f, "<pre class=\"bus\">", ctx, "</pre>\n");
            }
            free(ctx);
        }
        if (!strcmp(o->check, "crashes") && node >= 0) {
            fprintf(f, "<p>The end of %s's log:</p>\n", r->scn->names[node]);
            tail_pre(f, r->nodes[node].log, 20);
        }
        fputs("</details>\n", f);
    }
}

int html_write(const struct run *r, const struct check_result *res, int n, const char *verdict,
               const char *error, const char *views_path, FILE *f, char *err, size_t el)
{
    const char(*names)[16] = r->scn->names;
    struct vtrack *vt = calloc(1, sizeof(*vt));
    if (!vt) {
        snprintf(err, el, "out of memory");
        return -1;
    }
    uint32_t ips[VT_MAX_NODES];
    for (int i = 0; i < r->scn->n_nodes && i < VT_MAX_NODES; i++)
        ips[i] = scn_node_ip(r->scn, i);
    if (vt_load(vt, views_path, r->scn->n_nodes, names, ips, err, el) < 0 && vt->samples == 0) {
        /* no views (the run failed before sampling): the page still tells
         * the rest */
        vt_free(vt);
        vt->n_nodes = r->scn->n_nodes;
    }
    {
        char title[POL_PATH_MAX + 40];
        snprintf(title, sizeof(title), "rift: %s (%s)", r->scn->file, verdict);
        html_page_start(f, title, css);
    }
    header(f, r, verdict, error);
    checks_table(f, res, n);
    fputs("<h2>Timeline</h2>\n", f);
    key(f);
    html_svg(f, r, vt);
    if (vt->unreadable)
        fprintf(f, "<p>%ld of %ld view samples could not be read.</p>\n", vt->unreadable,
                vt->samples);
    details(f, r);
    fprintf(f, "<script>//<![CDATA[\n%s\n//]]></script>\n</body>\n</html>\n", script);
    vt_free(vt);
    free(vt);
    if (fflush(f) != 0 || ferror(f)) {
        snprintf(err, el, "write failed");
        return -1;
    }
    return 0;
}
