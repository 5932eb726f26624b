/* test_html: report.html rendered from a recorded pong race (the views in
 * tests/unit/data: healthy views, then m2's and m3's views of the cycle)
 * and read back with libxml2's strict XML parser: one lane per node, the
 * findings at their times, the fault windows on the lanes they touch, the
 * client lane with its failures and heal moment, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../harness/report/html.h"
#include "../../policies/esc.h"

static struct scenario scn;
static struct run run;
static struct run_opts opts;
static char dir[] = "/tmp/rift-test-html-XXXXXX";
static char views[300], page[300];

static const char scenario_text[] = "[cluster]\nmasters = 3\nreplicas = 1\n"
                                    "[fault r1-hold]\nfrom = m1r1\nto = m2\nports = bus\n"
                                    "hold = yes\n"
                                    "[timeline]\n0.9s = fault r1-hold on\n1.0s = failover m1r1\n"
                                    "3.0s = fault r1-hold off\n3.1s = wait converged\n";

static char *slurp(const char *name)
{
    char path[300];
    FILE *f;
    long n;
    char *buf;
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
    assert_non_null(f = fopen(path, "r"));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    assert_non_null(buf = calloc(1, (size_t)n + 1));
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

/* A JSON line of views.jsonl. */
static void view_line(FILE *f, int64_t t, const char *node, const char *text)
{
    fprintf(f, "{\"t_ms\":%lld,\"node\":\"%s\",\"state\":\"%s\",\"nodes\":", (long long)t, node,
            strstr(text, "slave 140e") && !strcmp(node, "m2") ? "fail" : "ok");
    esc_json(f, text);
    fputs("}\n", f);
}

static void add_obs(const char *check, const char *observer, const char *what, int64_t t0,
                    int64_t t1)
{
    struct obs *o = &run.obs[run.n_obs++];
    snprintf(o->check, sizeof(o->check), "%s", check);
    snprintf(o->observer, sizeof(o->observer), "%s", observer);
    snprintf(o->what, sizeof(o->what), "%s", what);
    o->first_ms = t0;
    o->last_ms = t1;
    o->samples = (int)((t1 - t0) / 20 + 1);
}

static void add_step(int64_t t, const char *what)
{
    struct step_rec *s = &run.steps[run.steps_done++];
    s->t_ms = t;
    snprintf(s->step, sizeof(s->step), "%s", what);
}

static int setup(void **state)
{
    char err[512];
    char *healthy2 = slurp("healthy-m2.nodes"), *healthy3 = slurp("healthy-m3.nodes");
    char *race2 = slurp("pong-race-m2.nodes"), *race3 = slurp("pong-race-m3.nodes");
    static const char *const names[] = {"m1", "m2", "m3", "m1r1", "m2r1", "m3r1"};
    struct probe_rt *p = &run.probes[0];
    static struct scn_probe probe = {.name = "redis-py"};
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    if (scn_load_string(&scn, "race<&>\".ini", scenario_text, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    run.scn = &scn;
    run.o = &opts;
    run.seed = 42;
    snprintf(run.server_name, sizeof(run.server_name), "redis");
    snprintf(run.server_version, sizeof(run.server_version), "7.0.15");
    snprintf(run.tmp, sizeof(run.tmp), "%s", dir);
    snprintf(views, sizeof(views), "%s/views.jsonl", dir);
    snprintf(page, sizeof(page), "%s/report.html", dir);
    assert_non_null(f = fopen(views, "w"));
    /* every 20 ms for 4 s; m2 and m3 see the race from 1.1 to 2.9 s */
    for (int64_t t = 0; t < 4000; t += 20)
        for (int i = 0; i < 6; i++) {
            bool race = t >= 1100 && t < 2900 && (i == 1 || i == 2);
            view_line(f, t, names[i],
                      race ? (i == 1 ? race2 : race3) : (i == 2 ? healthy3 : healthy2));
        }
    fclose(f);
    add_step(900, "fault r1-hold on");
    add_step(1000, "failover m1r1");
    add_step(3000, "fault r1-hold off");
    add_step(3100, "wait converged");
    add_obs("cycles", "m2", "m1 -> m1r1 -> m1", 1100, 2880);
    add_obs("lost_slots", "m3", "0-5460 <script>alert(1)</script> & more", 1200, 2500);
    run.converged_ms = 3200;
    run.probes_started = true;
    scn.n_probes = 1;
    p->cfg = &probe;
    snprintf(p->version, sizeof(p->version), "4.3.4");
    for (int64_t t = 0; t < 4000; t += 10)
        ts_add(&p->ts, t, t >= 1500 && t < 3500 ? "SlotNotCoveredError" : NULL);
    p->judged = true;
    p->healed = true;
    p->heal_ms = 300;
    free(healthy2);
    free(healthy3);
    free(race2);
    free(race3);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    ts_free(&run.probes[0].ts);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static xmlXPathObjectPtr xp(xmlXPathContextPtr c, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, c);
    if (!o)
        fail_msg("xpath %s", expr);
    return o;
}

static double num(xmlXPathContextPtr c, const char *expr)
{
    xmlXPathObjectPtr o = xp(c, expr);
    double v = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return v;
}

static char *str(xmlXPathContextPtr c, const char *expr)
{
    xmlXPathObjectPtr o = xp(c, expr);
    char *s = (char *)xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    return s;
}

/* The x a time has on the timeline, from the <svg>'s own scale. */
static double x_of(xmlXPathContextPtr c, double ms)
{
    double left = num(c, "string(//s:svg/@data-left)"),
           w = num(c, "string(//s:svg/@data-plot-width)");
    double end = num(c, "string(//s:svg/@data-t-end-ms)");
    return left + ms * w / end;
}

/* The page of run into path. */
static int page_write(const char *path, const char *verdict, const char *error,
                      const char *views_path, char *err, size_t el)
{
    FILE *f = fopen(path, "w");
    int rc;
    if (!f)
        return -1;
    rc = html_write(&run, NULL, 0, verdict, error, views_path, f, err, el);
    return fclose(f) != 0 ? -1 : rc;
}

/* XPath over a page: s: the SVG, h: the XHTML around it. */
static xmlXPathContextPtr xpath(xmlDocPtr doc)
{
    xmlXPathContextPtr c = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(c, (const xmlChar *)"s", (const xmlChar *)"http://www.w3.org/2000/svg");
    xmlXPathRegisterNs(c, (const xmlChar *)"h", (const xmlChar *)"http://www.w3.org/1999/xhtml");
    return c;
}

static void test_render_and_parse(void **state)
{
    char err[300], *s;
    xmlDocPtr doc;
    xmlXPathContextPtr c;
    (void)state;
    if (page_write(page, "fail", NULL, views, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    /* the strict parser: any unescaped '<' or '&', any unclosed tag fails */
    doc = xmlReadFile(page, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    assert_non_null(doc);
    c = xpath(doc);

    /* one lane per node, in the scenario's order */
    assert_int_equal((int)num(c, "count(//s:g[@class='lane'])"), 6);
    s = str(c, "string(//s:g[@class='lane'][4]/@data-node)");
    assert_string_equal(s, "m1r1");
    xmlFree(s);
    /* m2's lane changed twice (into the race and out of it); m1's never */
    assert_int_equal((int)num(c, "string(//s:g[@data-node='m2']/@data-segments)"), 3);
    assert_int_equal((int)num(c, "string(//s:g[@data-node='m1']/@data-segments)"), 1);
    /* in the race m2 sees no owner for 0-5460 (drawn as lost) and m1 as a
     * replica of m1r1, and marks the change */
    assert_int_equal(
        (int)num(c, "count(//s:g[@data-node='m2']//s:rect[@class='owner lost'][contains(s:title,"
                    "'slots 0-5460: no owner')])"),
        1);
    assert_true(num(c, "count(//s:g[@data-node='m2']//s:title[contains(.,'m2 sees m1 from "
                       "1.100 s to 2.900 s: replica of m1r1')])") == 1);

    assert_int_equal((int)num(c, "count(//s:g[@data-node='m2']/s:path[@class='change'])"), 2);
    assert_int_equal((int)num(c, "string(//s:g[@data-node='m2']/s:path[@class='change'][1]/"
                                 "@data-t-ms)"),
                     1100);
    assert_true(
        num(c, "count(//s:g[@data-node='m2']/s:path[@class='change'][1]/s:title["
               "contains(.,'m1: replica of m1r1') and contains(.,'slot owners changed')])") == 1);
    assert_int_equal((int)num(c, "count(//s:g[@data-node='m1']//s:rect[@class='owner lost'])"), 0);

    /* the findings where they were seen */
    assert_int_equal((int)num(c, "count(//s:rect[@class='finding'])"), 2);
    assert_int_equal((int)num(c, "string(//s:g[@data-node='m2']/s:rect[@class='finding']/"
                                 "@data-first-ms)"),
                     1100);
    assert_true(fabs(num(c, "string(//s:g[@data-node='m2']/s:rect[@class='finding']/@x)") -
                     x_of(c, 1100)) < 0.2);
    assert_true(fabs(num(c, "string(//s:g[@data-node='m3']/s:rect[@class='finding']/@x)") -
                     x_of(c, 1200)) < 0.2);
    /* the text of a finding is escaped, whole */
    s = str(c, "string(//s:g[@data-node='m3']/s:rect[@class='finding']/s:title)");
    assert_non_null(strstr(s, "0-5460 <script>alert(1)</script> & more"));
    xmlFree(s);

    /* the fault window: on its row, and shaded on m1r1's and m2's lanes only */
    assert_int_equal((int)num(c, "string(//s:rect[@class='fault-window']/@data-on-ms)"), 900);
    assert_int_equal((int)num(c, "string(//s:rect[@class='fault-window']/@data-off-ms)"), 3000);
    assert_int_equal((int)num(c, "count(//s:g[@data-node='m2']/s:rect[@class='fault'])"), 1);
    assert_int_equal((int)num(c, "count(//s:g[@data-node='m1r1']/s:rect[@class='fault'])"), 1);
    assert_int_equal((int)num(c, "count(//s:g[@data-node='m3']/s:rect[@class='fault'])"), 0);
    assert_true(fabs(num(c, "string(//s:g[@data-node='m2']/s:rect[@class='fault']/@x)") -
                     x_of(c, 900)) < 0.2);

    /* four steps, each a line at its time */
    assert_int_equal((int)num(c, "count(//s:line[@class='step'])"), 4);
    assert_true(fabs(num(c, "string(//s:line[@class='step'][@data-t-ms='1000']/@x1)") -
                     x_of(c, 1000)) < 0.2);

    /* the client lane: 2 s of SlotNotCoveredError, then healed 300 ms after convergence */
    assert_int_equal((int)num(c, "count(//s:g[@class='client'])"), 1);
    s = str(c, "string(//s:g[@class='client']/@data-healed)");
    assert_string_equal(s, "yes");
    xmlFree(s);
    assert_int_equal((int)num(c, "sum(//s:g[@class='client']//s:g[@class='failures']/"
                                 "@data-failures)"),
                     200);
    assert_true(fabs(num(c, "string(//s:line[@class='heal']/@x1)") - x_of(c, 3500)) < 0.2);

    /* the header: the verdict, the replay command, the escaped file name */
    s = str(c, "string(//h:span[@id='verdict'])");
    assert_string_equal(s, "fail");
    xmlFree(s);
    s = str(c, "string(//h:code[@id='replay'])");
    assert_string_equal(s, "rift run 'race<&>\".ini' --seed 42 --server redis");
    xmlFree(s);
    /* two finding details */
    assert_int_equal((int)num(c, "count(//h:details)"), 2);
    xmlXPathFreeContext(c);
    xmlFreeDoc(doc);
}

/* Without any view (the run failed before sampling) the page still parses. */
/* A run that ended in an error before the probes' results were read: the
 * page parses, and the client has no verdict, not "never healed". */
static void test_no_views(void **state)
{
    char err[300], p2[320], *s;
    xmlDocPtr doc;
    xmlXPathContextPtr c;
    (void)state;
    run.probes[0].judged = run.probes[0].healed = false;
    snprintf(p2, sizeof(p2), "%s/empty.html", dir);
    assert_int_equal(
        page_write(p2, "error", "no server", "/nonexistent/views.jsonl", err, sizeof(err)), 0);
    run.probes[0].judged = run.probes[0].healed = true;
    doc = xmlReadFile(p2, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    assert_non_null(doc);
    c = xpath(doc);
    s = str(c, "string(//s:g[@class='client']/@data-healed)");
    assert_string_equal(s, "unknown");
    xmlFree(s);
    s = str(c, "string(//s:g[@class='client']/s:text[@class='never'])");
    assert_string_equal(s, "no verdict");
    xmlFree(s);
    xmlXPathFreeContext(c);
    xmlFreeDoc(doc);
}

/* The size target: a 60 s run of 6 nodes in which every view changes every
 * 250 ms (m3 flagged PFAIL and cleared again) stays far under 5 MB, and a
 * lane has one segment per change. */
static void test_size_of_a_long_busy_run(void **state)
{
    static const char *const names[] = {"m1", "m2", "m3", "m1r1", "m2r1", "m3r1"};
    char *healthy = slurp("healthy-m2.nodes"), *pfail = NULL, *at, err[300];
    char v2[320], p2[320];
    long size;
    FILE *f;
    (void)state;
    at = strstr(healthy, "127.0.0.13:7000@17000 master -");
    assert_non_null(at);
    at += strlen("127.0.0.13:7000@17000 master");
    assert_true(asprintf(&pfail, "%.*s,fail?%s", (int)(at - healthy), healthy, at) > 0);
    snprintf(v2, sizeof(v2), "%s/long.jsonl", dir);
    snprintf(p2, sizeof(p2), "%s/long.html", dir);
    assert_non_null(f = fopen(v2, "w"));
    for (int64_t t = 0; t < 60000; t += 20)
        for (int i = 0; i < 6; i++)
            view_line(f, t, names[i], (t / 250) % 2 ? pfail : healthy);
    fclose(f);
    assert_int_equal(page_write(p2, "pass", NULL, v2, err, sizeof(err)), 0);
    assert_non_null(f = fopen(p2, "r"));
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    print_message("60 s, 6 nodes, a change every 250 ms: report.html is %ld bytes\n", size);
    assert_true(size < 5 * 1024 * 1024);
    {
        struct vtrack vt;
        uint32_t ips[6];
        for (int i = 0; i < 6; i++)
            ips[i] = scn_node_ip(&scn, i);
        assert_int_equal(vt_load(&vt, v2, 6, (const char(*)[16])scn.names, ips, err, sizeof(err)),
                         0);
        assert_int_equal(vt.lane[0].n, 240);
        assert_int_equal(vt.samples, 18000);
        assert_int_equal(vt.unreadable, 0);
        vt_free(&vt);
    }
    free(healthy);
    free(pfail);
}

/* Samples past the hour count as "other" and write nothing, also when the
 * series has to grow to its limit first. */
static void test_series_stops_at_the_hour(void **state)
{
    struct tseries ts = {0};
    (void)state;
    ts_add(&ts, (int64_t)(TS_MAX_BUCKETS - 1) * TS_BUCKET_MS, NULL);
    ts_add(&ts, (int64_t)(TS_MAX_BUCKETS - 1) * TS_BUCKET_MS, "timeout");
    assert_int_equal(ts.n, TS_MAX_BUCKETS);
    ts_add(&ts, (int64_t)TS_MAX_BUCKETS * TS_BUCKET_MS, NULL);
    ts_add(&ts, 7200000, "timeout");
    assert_int_equal(ts.n, TS_MAX_BUCKETS);
    assert_int_equal(ts.other, 2);
    assert_int_equal(ts.ok[TS_MAX_BUCKETS - 1], 1);
    ts_free(&ts);

    struct tseries fresh = {0};
    ts_add(&fresh, 7200000, NULL);
    assert_int_equal(fresh.other, 1);
    assert_true(fresh.n <= fresh.cap);
    ts_free(&fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_and_parse),
        cmocka_unit_test(test_no_views),
        cmocka_unit_test(test_size_of_a_long_busy_run),
        cmocka_unit_test(test_series_stops_at_the_hour),
    };
    return cmocka_run_group_tests_name("html", tests, setup, teardown);
}
