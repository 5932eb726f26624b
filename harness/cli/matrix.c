/* matrix: `rift matrix SCENARIO --servers redis,redis8,valkey [--runs N]
 * [--report DIR]`: runs the scenario N times on each server flavour (each
 * run a `rift run` of its own, with its own report) and tabulates, per
 * check, in how many runs it was seen and passed, with the median time it
 * was seen for. */
#include "../../policies/esc.h"
#include "matrix.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../report/html.h"
#include "../sys/proc.h"
#include "../sys/registry.h"
#include "../sys/rfile.h"

#define MAX_SERVERS 8
#define MAX_RUNS MATRIX_MAX_RUNS
#define MAX_CHECKS 12

struct cell {
    int seen, passed;
    int64_t dur_ms[MAX_RUNS];
    int n_dur;
};

struct column {
    char server[48], version[32], package[128];
    int runs, passes, errors;
    struct cell cells[MAX_CHECKS];
    char verdict[MAX_RUNS][12]; /* each run's, "" without a report */
};

static char check_names[MAX_CHECKS][24];
static int n_checks;

static int check_index(const char *name)
{
    for (int i = 0; i < n_checks; i++)
        if (!strcmp(check_names[i], name))
            return i;
    if (n_checks == MAX_CHECKS)
        return -1;
    snprintf(check_names[n_checks], sizeof(check_names[0]), "%s", name);
    return n_checks++;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A JSON integer field's value ending at ',' or '}'; -1 if it is not one. */
static int json_int(const char *s, int64_t *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno || (*end != ',' && *end != '}'))
        return -1;
    *out = v;
    return 0;
}

/* Fold one report.json (written by rift run) into a column; -1 if a number
 * in it is not one. */
static int take_report(struct column *c, const char *json)
{
    char verdict[16], name[24], status[16];
    const char *p = strstr(json, "\"checks\":[");
    esc_json_field(json, "server_version", c->version, sizeof(c->version));
    esc_json_field(json, "server_package", c->package, sizeof(c->package));
    esc_json_field(json, "verdict", verdict, sizeof(verdict));
    c->passes += !strcmp(verdict, "pass");
    if (c->runs >= 1 && c->runs <= MAX_RUNS)
        snprintf(c->verdict[c->runs - 1], sizeof(c->verdict[0]), "%s", verdict);
    while (p && (p = strstr(p, "{\"name\":\""))) {
        const char *obs, *end;
        int64_t longest = -1;
        int k;
        esc_json_field(p, "name", name, sizeof(name));
        esc_json_field(p, "status", status, sizeof(status));
        obs = strstr(p, "\"observations\":[");
        if (!obs)
            break;
        obs += 16;
        end = strstr(obs, "]}");
        if (!end)
            break;
        for (const char *o = obs; o < end && (o = strstr(o, "\"first_ms\":")) && o < end;) {
            int64_t first, last;
            const char *l = strstr(o, "\"last_ms\":");
            if (json_int(o + 11, &first) < 0)
                return -1;
            last = first;
            if (l && l < end && json_int(l + 10, &last) < 0)
                return -1;
            if (last - first > longest)
                longest = last - first;
            o += 11;
        }
        if ((k = check_index(name)) >= 0) {
            struct cell *cell = &c->cells[k];
            cell->passed += !strcmp(status, "pass");
            if (longest >= 0) {
                cell->seen++;
                if (cell->n_dur < MAX_RUNS)
                    cell->dur_ms[cell->n_dur++] = longest;
            }
        }
        p = end;
    }
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t median(struct cell *c)
{
    qsort(c->dur_ms, (size_t)c->n_dur, sizeof(int64_t), cmp64);
    return c->dur_ms[c->n_dur / 2];
}

static void print_table(FILE *f, const char *scenario, struct column *cols, int n, int runs)
{
    fprintf(f,
            "rift matrix %s: %d run%s per server; cells: seen in k of N runs (median time "
            "seen), checks passed\n",
            scenario, runs, runs == 1 ? "" : "s");
    fprintf(f, "%-16s", "check");
    for (int i = 0; i < n; i++) {
        char head[64];
        snprintf(head, sizeof(head), "%s %s", cols[i].server, cols[i].version);
        fprintf(f, " %-26s", head);
    }
    fputc('\n', f);
    for (int k = 0; k < n_checks; k++) {
        fprintf(f, "%-16s", check_names[k]);
        for (int i = 0; i < n; i++) {
            struct cell *c = &cols[i].cells[k];
            char txt[64];
            if (c->seen)
                snprintf(txt, sizeof(txt), "seen %d/%d (%.1f s), pass %d", c->seen, cols[i].runs,
                         (double)median(c) / 1000.0, c->passed);
            else
                snprintf(txt, sizeof(txt), "seen 0/%d, pass %d", cols[i].runs, c->passed);
            fprintf(f, " %-26s", txt);
        }
        fputc('\n', f);
    }
    fprintf(f, "%-16s", "verdict");
    for (int i = 0; i < n; i++) {
        char txt[64];
        snprintf(txt, sizeof(txt), "pass %d/%d%s", cols[i].passes, cols[i].runs,
                 cols[i].errors ? " (errors)" : "");
        fprintf(f, " %-26s", txt);
    }
    fputc('\n', f);
    for (int i = 0, shown = 0; i < n; i++)
        if (cols[i].package[0])
            fprintf(f, "%s %s: %s\n", shown++ ? "        " : "packages:", cols[i].server,
                    cols[i].package);
}

static void write_json(FILE *f, const char *scenario, struct column *cols, int n, int runs)
{
    fputs("{\"scenario\":", f);
    esc_json(f, scenario);
    fprintf(f, ",\"runs\":%d,\"servers\":[", runs);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"server\":", i ? "," : "");
        esc_json(f, cols[i].server);
        fputs(",\"version\":", f);
        esc_json(f, cols[i].version);
        fputs(",\"package\":", f);
        if (cols[i].package[0])
            esc_json(f, cols[i].package);
        else
            fputs("null", f);
        fprintf(f, ",\"runs\":%d,\"passed\":%d,\"errors\":%d,\"checks\":{", cols[i].runs,
                cols[i].passes, cols[i].errors);
        for (int k = 0; k < n_checks; k++) {
            struct cell *c = &cols[i].cells[k];
            fprintf(f, "%s\"%s\":{\"seen\":%d,\"passed\":%d,\"median_seen_ms\":", k ? "," : "",
                    check_names[k], c->seen, c->passed);
            if (c->seen)
                fprintf(f, "%" PRId64 "}", median(c));
            else
                fputs("null}", f);
        }
        fputs("}}", f);
    }
    fputs("]}\n", f);
}

/* matrix.html: the table, and every run's verdict linking its page. */
static void write_html(FILE *f, const char *scenario, struct column *cols, int n, int runs)
{
    char title[600];
    snprintf(title, sizeof(title), "rift matrix %s", scenario);
    html_page_start(f, title,
                    "body{font:13px/1.4 system-ui,sans-serif;margin:16px}table{border-collapse:"
                    "collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
                    "th{background:#f3f3f3}.pass{background:#dff3dc}.fail{background:#f8d4d4}"
                    ".error,.invalid{background:#ddd}");
    fputs("<h1>rift matrix ", f);
    esc_xml(f, scenario);
    fprintf(f,
            "</h1>\n<p>%d run%s per server; cells: seen in k of N runs (median time seen), "
            "checks passed.</p>\n<table id=\"matrix\"><tr><th>check</th>",
            runs, runs == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        esc_xml_in(f, "<th>", cols[i].server, " ");
        esc_xml_in(f, "", cols[i].version, "</th>");
    }
    fputs("</tr>\n", f);
    for (int k = 0; k < n_checks; k++) {
        fprintf(f, "<tr><td>%s</td>", check_names[k]);
        for (int i = 0; i < n; i++) {
            struct cell *c = &cols[i].cells[k];
            fprintf(f, "<td class=\"%s\">seen %d/%d", c->passed == cols[i].runs ? "pass" : "fail",
                    c->seen, cols[i].runs);
            if (c->seen)
                fprintf(f, " (%.1f s)", (double)median(c) / 1000.0);
            fprintf(f, ", pass %d</td>", c->passed);
        }
        fputs("</tr>\n", f);
    }
    fputs("<tr><td>runs</td>", f);
    for (int i = 0; i < n; i++) {
        fputs("<td>", f);
        for (int r = 0; r < cols[i].runs && r < MAX_RUNS; r++) {
            char href[200];
            const char *v = cols[i].verdict[r][0] ? cols[i].verdict[r] : "error";
            snprintf(href, sizeof(href), "%s-%d/report.html", cols[i].server, r + 1);
            esc_xml_in(f, "<a class=\"run ", v, "\" href=\"");
            esc_xml(f, href);
            fprintf(f, "\">%d: ", r + 1);
            esc_xml(f, v);
            fputs("</a> ", f);
        }
        fputs("</td>", f);
    }
    fputs("</tr>\n</table>\n</body>\n</html>\n", f);
}

/* A file of the matrix's report: whole, or said it is not. */
static void wrote(const struct rfile_dir *d, FILE *f, const char *name)
{
    int rc = f ? rfile_fclose(d, f, name) : -errno;
    if (rc < 0)
        fprintf(stderr, "rift matrix: cannot write %s/%s: %s\n", d->path, name, strerror(-rc));
}

int matrix_main(const char *self, const char *scenario, const char *servers, int runs,
                const char *report_dir)
{
    struct column cols[MAX_SERVERS];
    char list[256], *save = NULL, err[800];
    struct rfile_dir wd;
    const char *dir = wd.path;
    int n = 0, status = 0;
    bool own_dir = !report_dir;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "rift matrix: --runs: 1 to %d\n", MAX_RUNS);
        return 2;
    }
    if (proc_work_dir(&wd, PROC_TMP_PREFIX, report_dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift matrix: %s\n", err);
        return 2;
    }
    memset(cols, 0, sizeof(cols));
    snprintf(list, sizeof(list), "%s", servers);
    for (char *s = strtok_r(list, ",", &save); s && n < MAX_SERVERS;
         s = strtok_r(NULL, ",", &save)) {
        struct column *c = &cols[n++];
        snprintf(c->server, sizeof(c->server), "%s", s);
        for (int i = 0; i < runs; i++) {
            char rep[600], path[700];
            int st;
            snprintf(rep, sizeof(rep), "%s/%s-%d", dir, s, i + 1);
            fprintf(stderr, "rift matrix: %s run %d of %d\n", s, i + 1, runs);
            char *const argv[] = {(char *)self, "run", (char *)scenario, "--server", s, "--report",
                                  rep,          NULL};
            /* each run's summary is in its report: stdout stays for the table;
             * the run shares our process group, so a Ctrl-C reaches it */
            const struct proc_opts po = {.err = PROC_KEEP, .same_group = true};
            pid_t pid = proc_start(argv, &po);
            if (pid < 0) {
                fprintf(stderr, "rift matrix: cannot run %s: %s\n", self, strerror(errno));
                return 2;
            }
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 130) {
                fprintf(stderr, "rift matrix: interrupted\n");
                return 130;
            }
            c->runs++;
            snprintf(path, sizeof(path), "%s/report.json", rep);
            char *json = slurp(path);
            bool bad = !json || (WIFEXITED(st) && WEXITSTATUS(st) == 2);
            if (json && take_report(c, json) < 0) {
                fprintf(stderr, "rift matrix: %s: a first_ms or last_ms that is not a number\n",
                        path);
                bad = true;
            }
            if (bad) {
                c->errors++;
                status = 2;
            }
            free(json);
        }
    }
    print_table(stdout, scenario, cols, n, runs);
    if (!own_dir) {
        FILE *f;
        if ((f = rfile_fopen(&wd, "matrix.json", RFILE_SHARED)))
            write_json(f, scenario, cols, n, runs);
        wrote(&wd, f, "matrix.json");
        if ((f = rfile_fopen(&wd, "summary.txt", RFILE_SHARED)))
            print_table(f, scenario, cols, n, runs);
        wrote(&wd, f, "summary.txt");
        if ((f = rfile_fopen(&wd, "matrix.html", RFILE_SHARED)))
            write_html(f, scenario, cols, n, runs);
        wrote(&wd, f, "matrix.html");
    } else {
        rfile_rm_rf(dir);
    }
    rfile_dir_close(&wd);
    return status;
}
