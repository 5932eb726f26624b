/* report: what a run leaves for its caller. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../../proto/pkt.h"
#include "../cluster/observe.h"
#include "../attach/attach.h"
#include "../hosts/hostrun.h"
#include "../observe/decode.h"
#include "busctx.h"
#include "html.h"

/* The bus timeline of the run, from the shim's capture (every bus packet
 * passes through it): bus.txt and bus.jsonl, times from the timeline. */
void report_decode_bus(struct run *r)
{
    char pcap[300], path[300], err[512];
    for (int json = 0; json < 2; json++) {
        FILE *f;
        long n;
        snprintf(pcap, sizeof(pcap), "%s/shim.pcap", r->tmp);
        snprintf(path, sizeof(path), "%s/bus.%s", r->tmp, json ? "jsonl" : "txt");
        if (!(f = fopen(path, "w")))
            return;
        n = decode_pcap(pcap, json, r->t_ready_real, f, err, sizeof(err));
        fclose(f);
        if (n < 0) {
            run_progress(r, "bus timeline: %s", err);
            return;
        }
        if (!json)
            run_progress(r, "bus timeline: %ld cluster-bus messages decoded", n);
    }
}

void report_summary(struct run *r, FILE *f, const struct check_result *res, int n,
                    const char *verdict)
{
    fprintf(f, "rift run %s: seed %" PRIu64 ", server %s %s (%s), %d nodes\n", r->scn->file,
            r->seed, r->server_name, r->server_version,
            r->server_package[0] ? r->server_package : r->server_bin, r->scn->n_nodes);
    for (int i = 0; i < r->steps_done; i++)
        fprintf(f, "  step %.3f s: %s%s%s\n", (double)r->steps[i].t_ms / 1000.0, r->steps[i].step,
                r->steps[i].skipped[0] ? ": skipped: " : "", r->steps[i].skipped);
    fprintf(f, "%-16s %-6s %s\n", "check", "status", "detail");
    for (int i = 0; i < n; i++) {
        int shown = 0, more = 0;
        fprintf(f, "%-16s %-6s %s\n", res[i].name, res[i].status, res[i].detail);
        for (int k = 0; k < r->n_obs; k++) {
            const struct obs *o = &r->obs[k];
            if (strcmp(o->check, res[i].name) != 0)
                continue;
            if (shown == SUMMARY_ROWS) {
                more++;
                continue;
            }
            shown++;
            if (!strcmp(o->observer, "ledger"))
                fprintf(f, "%-23s  %s\n", "", o->what);
            else
                fprintf(f, "%-23s  %s saw %s from %.3f s to %.3f s (%d samples)\n", "", o->observer,
                        o->what, (double)o->first_ms / 1000.0, (double)o->last_ms / 1000.0,
                        o->samples);
            if (!strcmp(o->check, "cycles") || !strcmp(o->check, "lost_slots"))
                report_bus_context(r, f, o->observer, o->first_ms, 22);
        }
        if (more)
            fprintf(f, "%-23s  ... and %d more (report.json has them all)\n", "", more);
    }
    if (r->scn->writers > 0) {
        const struct wl_result *w = &r->wl_res;
        fprintf(f, "workload: %d writers, %" PRIu64 " INCRs, %" PRIu64 " acknowledged; errors:",
                r->wl.n, w->ops, w->ok);
        int any = 0;
        for (int e = 1; e < CC__COUNT; e++)
            if (w->errors[e]) {
                fprintf(f, " %s %" PRIu64, cc_err_name((enum cc_err)e), w->errors[e]);
                any = 1;
            }
        fprintf(f, "%s\n", any ? "" : " none");
        if (w->last_error[0])
            fprintf(f, "  last error: %s\n", w->last_error);
        int shown = 0, more = 0;
        for (int k = 0; k < r->n_obs; k++)
            if (!strcmp(r->obs[k].check, "unavailable")) {
                if (shown++ < SUMMARY_ROWS)
                    fprintf(f, "  %s\n", r->obs[k].what);
                else
                    more++;
            }
        if (more)
            fprintf(f, "  ... and %d more slots with unavailable keys\n", more);
    }
    if (r->scn->n_probes) {
        const char *base = strrchr(r->scn->file, '/');
        base = base ? base + 1 : r->scn->file;
        fprintf(f, "%-12s %-10s %-28s %-7s %8s  %s\n", "client", "version", "scenario", "healed",
                "heal_ms", "last error");
        for (int i = 0; i < r->scn->n_probes; i++) {
            const struct probe_rt *p = &r->probes[i];
            char ms[24];
            if (!p->cfg)
                continue; /* never started: the run failed before */
            snprintf(ms, sizeof(ms), p->healed ? "%" PRId64 : "-", p->heal_ms);
            fprintf(f, "%-12s %-10s %-28s %-7s %8s  %s\n", p->cfg->name,
                    p->version[0] ? p->version : "?", base,
                    !p->judged  ? "-"
                    : p->healed ? "yes"
                                : "never",
                    ms, p->last_error[0] ? p->last_error : "-");
        }
    }
    for (int i = 0; i < r->n_mig; i++)
        fprintf(f,
                "migration %d-%d: %d of %d slots, %ld keys moved in %" PRIu64
                " ms, %d retries%s%s\n",
                r->mig[i].lo, r->mig[i].hi, r->mig[i].slots_moved, r->mig[i].hi - r->mig[i].lo + 1,
                r->mig[i].keys_moved, r->mig[i].ms, r->mig[i].retries,
                r->mig[i].error[0] ? "; last error: " : "", r->mig[i].error);
    if (r->audit && (r->audit->nf || r->audit->crossslot_errors))
        au_table(r->audit, f);
    if (r->scn->app.on) {
        char d[256];
        bool ok = app_verdict(r, d, sizeof(d));
        char text[sizeof(r->scn->app.text) * 4];
        esc_text(text, sizeof(text), r->scn->app.text);
        fprintf(f, "app: %s: %s\n", text, d);
        if (!ok && r->app.started)
            app_tail(r, f, 15);
    }
    if (r->invalid[0])
        fprintf(f, "invalid: %s\n", r->invalid);
    fprintf(f, "verdict: %s\n", verdict);
    {
        struct run_replay rp;
        char line[8192];
        run_replay(r, &rp);
        if (esc_shell_line(line, sizeof(line), rp.argc, rp.argv))
            fprintf(f, "replay: %s\n", line);
    }
}

/* report.json: the run, its steps as they ran. */
static void json_run(FILE *f, const struct run *r, const char *verdict, const char *error)
{
    fprintf(f, "{\"schema_version\":%d,\"scenario\":", REPORT_SCHEMA_VERSION);
    esc_json(f, r->scn->file);
    fprintf(f, ",\"seed\":%" PRIu64 ",\"server\":", r->seed);
    esc_json(f, r->server_name);
    fputs(",\"server_binary\":", f);
    esc_json(f, r->server_bin);
    fputs(",\"server_version\":", f);
    esc_json(f, r->server_version);
    fputs(",\"server_package\":", f);
    if (r->server_package[0])
        esc_json(f, r->server_package);
    else
        fputs("null", f);
    /* the password itself never leaves the run */
    fputs(",\"password\":\"set\",\"replay\":[", f);
    {
        struct run_replay rp;
        run_replay(r, &rp);
        for (int i = 0; i < rp.argc; i++) {
            fputs(i ? "," : "", f);
            esc_json(f, rp.argv[i]);
        }
    }
    fputc(']', f);
    fprintf(f, ",\"verdict\":\"%s\",", verdict);
    if (error) {
        /* why the run has no verdict: rift's trouble, or a fault that
         * could not be applied in full */
        fputs(r->invalid[0] ? "\"invalid\":" : "\"error\":", f);
        esc_json(f, error);
        fputc(',', f);
    }
    fprintf(f, "\"nodes\":%d,\"timeline\":[", r->scn->n_nodes);
    for (int i = 0; i < r->steps_done; i++) {
        fputs(i ? "," : "", f);
        char text[400];
        snprintf(text, sizeof(text), "%.3f s: %s%s%s", (double)r->steps[i].t_ms / 1000.0,
                 r->steps[i].step, r->steps[i].skipped[0] ? ": skipped: " : "",
                 r->steps[i].skipped);
        esc_json(f, text);
    }
    fputs("],\"steps\":[", f);
    for (int i = 0; i < r->steps_done; i++) {
        fprintf(f, "%s{\"t_ms\":%" PRId64 ",\"step\":", i ? "," : "", r->steps[i].t_ms);
        esc_json(f, r->steps[i].step);
        fprintf(f, ",\"status\":\"%s\"", r->steps[i].skipped[0] ? "skipped" : "done");
        if (r->steps[i].skipped[0]) {
            fputs(",\"reason\":", f);
            esc_json(f, r->steps[i].skipped);
        }
        fputc('}', f);
    }
}

/* An observation's structured fields: "nodes" (a cycle in order, or the
 * peer of an open slot) and "slots" as [lo, hi] ranges. */
static void json_fields(FILE *f, const struct obs_fields *of)
{
    if (of->n_nodes) {
        fputs(",\"nodes\":[", f);
        for (int i = 0; i < of->n_nodes; i++) {
            fputs(i ? "," : "", f);
            esc_json(f, of->nodes[i]);
        }
        fputc(']', f);
    }
    if (of->n_ranges) {
        fputs(",\"slots\":[", f);
        for (int i = 0; i < of->n_ranges; i++)
            fprintf(f, "%s[%u,%u]", i ? "," : "", of->ranges[i][0], of->ranges[i][1]);
        fputc(']', f);
    }
}

void report_json_observations(FILE *f, const struct run *r, const char *check)
{
    int k2 = 0;
    fputc('[', f);
    for (int k = 0; k < r->n_obs; k++) {
        const struct obs *o = &r->obs[k];
        if (strcmp(o->check, check) != 0)
            continue;
        fprintf(f, "%s{\"observer\":", k2++ ? "," : "");
        esc_json(f, o->observer);
        fputs(",\"what\":", f);
        esc_json(f, o->what);
        fprintf(f, ",\"first_ms\":%" PRId64 ",\"last_ms\":%" PRId64 ",\"samples\":%d", o->first_ms,
                o->last_ms, o->samples);
        json_fields(f, &o->f);
        fputc('}', f);
    }
    fputc(']', f);
}

static void json_checks(FILE *f, const struct run *r, const struct check_result *res, int n)
{
    fputs("],\"checks\":[", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"name\":\"%s\",\"status\":\"%s\",\"detail\":", i ? "," : "", res[i].name,
                res[i].status);
        esc_json(f, res[i].detail);
        fputs(",\"observations\":", f);
        report_json_observations(f, r, res[i].name);
        fputc('}', f);
    }
}

static void json_clients(FILE *f, const struct run *r)
{
    fputs("],\"clients\":[", f);
    for (int i = 0, k = 0; r->probes_started && i < r->scn->n_probes; i++) {
        const struct probe_rt *p = &r->probes[i];
        if (!p->cfg)
            continue; /* never started: the run failed before it */
        fprintf(f, "%s{\"name\":\"%s\",\"version\":", k++ ? "," : "", p->cfg->name);
        esc_json(f, p->version);
        /* null: the run ended before the probe's results were read */
        fprintf(f, ",\"healed\":%s,\"heal_ms\":",
                !p->judged  ? "null"
                : p->healed ? "true"
                            : "false");
        if (p->healed)
            fprintf(f, "%" PRId64, p->heal_ms);
        else
            fputs("null", f);
        fputs(",\"last_error\":", f);
        esc_json(f, p->last_error);
        fprintf(f, ",\"ops\":%" PRIu64 ",\"failures\":%" PRIu64 ",\"errors_during_fault\":{",
                p->ops, p->failures);
        for (int k = 0; k < p->n_kinds; k++) {
            fputs(k ? "," : "", f);
            esc_json(f, p->kinds[k]);
            fprintf(f, ":%" PRIu64, p->kind_count[k]);
        }
        /* the probe's own words: checked, never pasted in as they came */
        fputs("},\"options\":", f);
        esc_json_embed(f, p->options[0] ? p->options : "{}");
        fputc('}', f);
    }
    fputs("]", f);
}

/* The attached cluster's nodes as rift named them (attach.h). */
static void attached_json(const struct run *r, FILE *f)
{
    fputs("{\"seeds\":", f);
    esc_json(f, r->att->seeds);
    fputs(",\"nodes\":[", f);
    for (int i = 0; i < r->scn->n_nodes; i++) {
        const struct pol_node *pn = &r->scn->faults.nodes[i];
        char addr[32];
        char ip[PKT_ADDR_MAX];
        snprintf(addr, sizeof(addr), "%s:%u", pkt_addr(pn->ip, ip, sizeof(ip)), pn->port);
        fprintf(f, "%s{\"name\":", i ? "," : "");
        esc_json(f, r->scn->names[i]);
        fputs(",\"id\":", f);
        esc_json(f, pn->id);
        fputs(",\"addr\":", f);
        esc_json(f, addr);
        fprintf(f, ",\"bus\":%u,\"pid\":%d}", pn->bus, (int)r->att->n[i].pid);
    }
    fprintf(f, "],\"keys_removed\":%d}", r->att->keys_removed);
}

static void json_workload_shim(FILE *f, const struct run *r)
{
    if (r->scn->writers > 0) {
        const struct wl_result *w = &r->wl_res;
        fprintf(f,
                ",\"workload\":{\"writers\":%d,\"ops\":%" PRIu64 ",\"acknowledged\":%" PRIu64
                ",\"lost_writes\":%d,\"lost_keys\":%d,\"unacknowledged_applied\":%d,"
                "\"errors\":{",
                r->wl.n, w->ops, w->ok, w->lost_writes, w->lost_keys, w->unacked_applied);
        for (int e = 1; e < CC__COUNT; e++)
            fprintf(f, "%s\"%s\":%" PRIu64, e > 1 ? "," : "", cc_err_name((enum cc_err)e),
                    w->errors[e]);
        fputs("},\"unavailable\":[", f);
        int k2 = 0;
        for (int k = 0; k < r->n_obs; k++)
            if (!strcmp(r->obs[k].check, "unavailable")) {
                fputs(k2++ ? "," : "", f);
                esc_json(f, r->obs[k].what);
            }
        fputs("]}", f);
    }
    fputs(",\"migrations\":[", f);
    for (int i = 0; i < r->n_mig; i++)
        fprintf(f,
                "%s{\"slots\":\"%d-%d\",\"moved\":%d,\"keys\":%ld,\"ms\":%" PRIu64
                ",\"retries\":%d}",
                i ? "," : "", r->mig[i].lo, r->mig[i].hi, r->mig[i].slots_moved,
                r->mig[i].keys_moved, r->mig[i].ms, r->mig[i].retries);
    fputs("]", f);
    if (r->shim_stats) {
        fputs(",\"shim\":", f);
        esc_json_embed(f, r->shim_stats);
    }
    if (r->hr)
        hr_json(r, f);
    if (r->att) {
        fputs(",\"attached\":", f);
        attached_json(r, f);
    }
    {
        double med, p99, max;
        if (obs_round_stats(r, &med, &p99, &max))
            fprintf(f,
                    ",\"sampling\":{\"interval_ms\":%d,\"rounds\":%d,\"nodes\":%d,"
                    "\"round_ms_median\":%.3f,\"round_ms_p99\":%.3f,\"round_ms_max\":%.3f}",
                    SAMPLE_MS, r->n_rounds, r->scn->n_nodes, med, p99, max);
    }
}

static void write_junit(FILE *f, const struct run *r, const struct check_result *res, int n,
                        const char *error)
{
    int failures = 0;
    for (int i = 0; i < n; i++)
        failures += !strcmp(res[i].status, "fail");
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuite name=\"rift\" tests=\"%d\" failures=\"%d\" errors=\"%d\">\n",
            n + (error != NULL), failures, error != NULL);
    for (int i = 0; i < n; i++) {
        fputs("  <testcase classname=\"rift.", f);
        esc_xml(f, r->scn->file);
        fputs("\" name=\"", f);
        esc_xml(f, res[i].name);
        fputc('"', f);
        if (!strcmp(res[i].status, "fail")) {
            fputs(">\n    <failure message=\"", f);
            esc_xml(f, res[i].detail);
            fputs("\"/>\n  </testcase>\n", f);
        } else {
            fputs("/>\n", f);
        }
    }
    if (error) {
        fputs("  <testcase classname=\"rift.", f);
        esc_xml(f, r->scn->file);
        fputs("\" name=\"rift\">\n    <error message=\"", f);
        esc_xml(f, error);
        fputs("\"/>\n  </testcase>\n", f);
    }
    fputs("</testsuite>\n", f);
}

/* Node and probe logs, views, the shim's files and the bus timeline: what
 * the run had (a file it never made is not copied), for the caller alone. */
static void copy_artifacts(const struct run *r)
{
    const struct rfile_dir *d = &r->report;
    char name[80];
    for (int i = 0; i < r->scn->n_nodes; i++) {
        snprintf(name, sizeof(name), "%s.log", r->scn->names[i]);
        rfile_copy(d, name, r->nodes[i].log, RFILE_PRIVATE);
    }
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++) {
        snprintf(name, sizeof(name), "probe-%s.jsonl", r->scn->probes[i].name);
        rfile_copy(d, name, r->probes[i].out_path, RFILE_PRIVATE);
        snprintf(name, sizeof(name), "probe-%s.log", r->scn->probes[i].name);
        rfile_copy(d, name, r->probes[i].log_path, RFILE_PRIVATE);
    }
    static const char *const files[] = {"views.jsonl", "shim.pcap", "shim.events.jsonl", "shim.log",
                                        "shim.ini",    "bus.txt",   "bus.jsonl",         "app.log"};
    for (int h = 0; r->hr && h < r->hr->hs.n; h++) {
        static const char *const ext[] = {"pcap", "log", "ini"};
        for (size_t k = 0; k < 3; k++) {
            char from[400];
            snprintf(name, sizeof(name), "shim-%s.%s", r->hr->hs.h[h].name, ext[k]);
            snprintf(from, sizeof(from), "%s/%s", r->tmp, name);
            rfile_copy(d, name, from, RFILE_PRIVATE);
        }
    }
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        char from[400];
        snprintf(from, sizeof(from), "%s/%s", r->tmp, files[k]);
        rfile_copy(d, files[k], from, RFILE_PRIVATE);
    }
}

int report_open(struct run *r)
{
    char err[700];
    int rc;
    rfile_dir_init(&r->report);
    if (!r->o->report_dir)
        return 0;
    if (r->o->report_open) {
        if ((rc = rfile_dir_dup(r->o->report_open, &r->report)) < 0)
            fprintf(stderr, "rift: --report %s: %s\n", r->o->report_dir, strerror(-rc));
        return rc;
    }
    if ((rc = rfile_dir_open(&r->report, r->o->report_dir, err, sizeof(err))) < 0)
        fprintf(stderr, "rift: --report %s\n", err);
    return rc;
}

/* A document of the report, written whole or not at all: -1 after
 * saying which could not be. */
static int done(struct run *r, FILE *f, const char *name)
{
    int rc = f ? rfile_fclose(&r->report, f, name) : -errno;
    if (rc < 0)
        run_progress(r, "report: cannot write %s/%s: %s", r->report.path, name, strerror(-rc));
    return rc;
}

void report_write(struct run *r, const struct check_result *res, int n, const char *verdict,
                  const char *error)
{
    const struct rfile_dir *d = &r->report;
    FILE *f;
    if (d->fd < 0)
        return;
    if ((f = rfile_fopen(d, "report.json", RFILE_SHARED))) {
        json_run(f, r, verdict, error);
        json_checks(f, r, res, n);
        json_clients(f, r);
        if (r->audit)
            au_json(r->audit, f);
        if (r->scn->app.on)
            app_json(r, f);
        json_workload_shim(f, r);
        fputs("}\n", f);
    }
    done(r, f, "report.json");
    if ((f = rfile_fopen(d, "junit.xml", RFILE_SHARED)))
        write_junit(f, r, res, n, error);
    done(r, f, "junit.xml");
    if ((f = rfile_fopen(d, "summary.txt", RFILE_SHARED)))
        report_summary(r, f, res, n, verdict);
    done(r, f, "summary.txt");
    copy_artifacts(r);
    {
        char views[300], err[300];
        snprintf(views, sizeof(views), "%s/views.jsonl", r->tmp);
        if ((f = rfile_fopen(d, "report.html", RFILE_SHARED)) &&
            html_write(r, res, n, verdict, error, views, f, err, sizeof(err)) < 0) {
            run_progress(r, "report.html: %s", err);
            rfile_fabort(d, f, "report.html");
        } else {
            done(r, f, "report.html");
        }
    }
}
