/* chaos: the rounds of `rift chaos`, their findings and chaos.json. Every
 * round is an ordinary scenario run by run_scenario() on a fresh cluster:
 * what a round writes replays with `rift run`. */
#include "chaos.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../cluster/runstate.h"
#include "../report/html.h"
#include "../run/run.h"
#include "../sys/clock.h"
#include "../sys/proc.h"
#include "../sys/registry.h"
#include "../sys/rfile.h"
#include "chaosgen.h"
#include "replay.h"
#include "sched.h"
#include "shrink.h"

/* ---- rift chaos ---- */

struct round_rec {
    int round;
    uint64_t seed;
    char verdict[16];
    char failed[128];
    char schedule[768];
    uint64_t ms;
    int finding; /* 1-based, or 0 */
};

struct finding_rec {
    int round;
    char dir[600];
    char target[16], failed[128];
    unsigned failed_mask; /* bit k: replay_checks[k] failed */
    bool shrunk;
    int64_t trimmed; /* bytes removed past --keep-findings, -1: whole */
    struct shrink_stats st;
    char shrunk_line[768];
    char *shrunk_text;
};

struct chaos {
    const struct chaos_opts *o;
    struct chaos_spec cs;
    struct scenario *base;
    char *spec_text;
    uint64_t seed;
    struct rfile_dir wd; /* --report DIR, or a temp dir of ours */
    struct round_rec *rounds;
    int n_rounds;
    struct finding_rec *findings;
    int n_findings;
    uint64_t t0;
    const char *stopped; /* rounds | time | findings | interrupted | error */
    char server[64];
};

static void json_str(FILE *f, const char *k, const char *v, bool comma)
{
    fprintf(f, "%s\"%s\":", comma ? "," : "", k);
    esc_json(f, v);
}

static void write_chaos_json(struct chaos *C)
{
    char nem[256];
    FILE *f;
    /* rewritten after every round: a reader never sees half of it */
    if (!(f = rfile_fopen(&C->wd, "chaos.json", RFILE_SHARED)))
        return;
    chaos_nemeses_text(C->cs.nemeses, nem, sizeof(nem));
    fprintf(f, "{\"schema_version\":1");
    json_str(f, "spec", C->o->spec, true);
    fprintf(f, ",\"seed\":%" PRIu64, C->seed);
    json_str(f, "server", C->server, true);
    fprintf(f, ",\"round_ms\":%" PRIu64, C->cs.round_ns / 1000000);
    json_str(f, "nemeses", nem, true);
    json_str(f, "cluster", "fresh for every round", true);
    json_str(f, "stopped", C->stopped ? C->stopped : "running", true);
    fprintf(f, ",\"elapsed_ms\":%" PRIu64 ",\"rounds\":[", (clk_now_ns() - C->t0) / 1000000);
    for (int i = 0; i < C->n_rounds; i++) {
        const struct round_rec *r = &C->rounds[i];
        fprintf(f, "%s{\"round\":%d,\"seed\":%" PRIu64, i ? "," : "", r->round, r->seed);
        json_str(f, "verdict", r->verdict, true);
        json_str(f, "failed", r->failed, true);
        json_str(f, "schedule", r->schedule, true);
        fprintf(f, ",\"ms\":%" PRIu64 ",\"finding\":%d}", r->ms, r->finding);
    }
    fprintf(f, "],\"findings\":[");
    for (int i = 0; i < C->n_findings; i++) {
        const struct finding_rec *fr = &C->findings[i];
        fprintf(f, "%s{\"round\":%d", i ? "," : "", fr->round);
        json_str(f, "dir", fr->dir, true);
        json_str(f, "failed", fr->failed, true);
        json_str(f, "shrink_check", fr->target, true);
        if (fr->trimmed >= 0)
            fprintf(f, ",\"trimmed_bytes\":%" PRId64, fr->trimmed);
        if (fr->st.confirm_runs)
            fprintf(f, ",\"replayed\":%d,\"replays\":%d,\"rare\":%s", fr->st.confirm_fired,
                    fr->st.confirm_runs, fr->st.rare ? "true" : "false");
        if (fr->shrunk) {
            fprintf(f,
                    ",\"shrunk\":{\"faults\":%d,\"steps\":%d,\"faults_before\":%d,"
                    "\"steps_before\":%d,\"candidates\":%d,\"replays\":%d,\"reproduced\":%d,"
                    "\"replays_final\":%d,\"timed_out\":%s,\"ms\":%" PRIu64,
                    fr->st.faults_after, fr->st.steps_after, fr->st.faults_before,
                    fr->st.steps_before, fr->st.candidates, fr->st.replays, fr->st.final_fired,
                    fr->st.final_runs, fr->st.timed_out ? "true" : "false", fr->st.ns / 1000000);
            json_str(f, "schedule", fr->shrunk_line, true);
            fprintf(f, "}");
        }
        fprintf(f, "}");
    }
    fprintf(f, "]}\n");
    rfile_fclose(&C->wd, f, "chaos.json");
}

/* chaos.html: every round, and each finding linking its round's page. */
static void write_chaos_html(struct chaos *C)
{
    FILE *f;
    if (!(f = rfile_fopen(&C->wd, "chaos.html", RFILE_SHARED)))
        return;
    html_page_start(f, "rift chaos",
                    "body{font:13px/1.4 system-ui,sans-serif;margin:16px}table{border-collapse:"
                    "collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
                    "th{background:#f3f3f3}.finding{background:#f8d4d4}");
    fputs("<h1>rift chaos ", f);
    esc_xml(f, C->o->spec);
    fprintf(f, "</h1>\n<p>seed %" PRIu64 ", server ", C->seed);
    esc_xml(f, C->server);
    fprintf(f,
            ", %d rounds, %d findings (%s)</p>\n<table id=\"findings\"><tr><th>finding</th>"
            "<th>round</th><th>failed</th><th>shrunk to</th></tr>\n",
            C->n_rounds, C->n_findings, C->stopped ? C->stopped : "running");
    for (int i = 0; i < C->n_findings; i++) {
        const struct finding_rec *fr = &C->findings[i];
        const char *base = strrchr(fr->dir, '/');
        fprintf(f, "<tr class=\"finding\"><td><a href=\"");
        esc_xml(f, base ? base + 1 : fr->dir);
        fprintf(f, "/report.html\">finding %d</a></td><td>%d</td><td>", i + 1, fr->round);
        esc_xml_in(f, "", fr->failed, "</td><td>");
        esc_xml_in(f, "", fr->shrunk ? fr->shrunk_line : "-", "</td></tr>\n");
    }
    fputs("</table>\n<table id=\"rounds\"><tr><th>round</th><th>seed</th><th>verdict</th>"
          "<th>schedule</th></tr>\n",
          f);
    for (int i = 0; i < C->n_rounds; i++) {
        const struct round_rec *r = &C->rounds[i];
        fprintf(f, "<tr%s><td>%d</td><td>%" PRIu64 "</td><td>",
                r->finding ? " class=\"finding\"" : "", r->round, r->seed);
        esc_xml_in(f, "", r->verdict, "</td><td>");
        esc_xml_in(f, "", r->schedule, "</td></tr>\n");
    }
    fputs("</table>\n</body>\n</html>\n", f);
    rfile_fclose(&C->wd, f, "chaos.html");
}

/* What a finding past --keep-findings keeps: what replays and judges it
 * again and its pages; the captures, logs, views and bus timeline go. */
static const char *const kept_names[] = {"scenario.ini", "shrunk.ini", "report.json", "report.html",
                                         "summary.txt",  "junit.xml",  "shim.ini",    NULL};

/* Past --keep-findings, the finding keeps only kept_names. */
static void keep_or_trim(struct chaos *C, struct finding_rec *fr, const struct rfile_dir *rd)
{
    fr->trimmed = -1;
    if (C->n_findings <= C->o->keep_findings)
        return;
    fr->trimmed = rfile_remove_except(rd, kept_names);
    if (fr->trimmed < 0) {
        fprintf(stderr, "rift chaos: cannot trim %s: %s\n", fr->dir, strerror((int)-fr->trimmed));
        fr->trimmed = -1;
        return;
    }
    fprintf(stderr,
            "  finding %d: %.1f KB of captures, logs and views removed (--keep-findings %d); "
            "rift run %s/scenario.ini makes them again\n",
            C->n_findings, (double)fr->trimmed / 1024.0, C->o->keep_findings, fr->dir);
}

/* rd: the round's folder, renamed finding-N-round-M (it stays open). */
static int take_finding(struct chaos *C, struct round_rec *rr, struct rfile_dir *rd,
                        const struct sched *sc, const struct run_result *res)
{
    struct finding_rec *fr;
    void *p = realloc(C->findings, (size_t)(C->n_findings + 1) * sizeof(*C->findings));
    unsigned failed = replay_failed(res);
    struct replay R = {.server = C->o->server, .dir = rd};
    struct sched *s2;
    char name[64];
    int rc = 0;
    if (!p)
        return -1;
    C->findings = p;
    fr = &C->findings[C->n_findings++];
    memset(fr, 0, sizeof(*fr));
    fr->trimmed = -1;
    fr->round = rr->round;
    rr->finding = C->n_findings;
    snprintf(name, sizeof(name), "finding-%d-round-%d", C->n_findings, rr->round);
    snprintf(fr->dir, sizeof(fr->dir), "%s/%s", C->wd.path, name);
    if (renameat(C->wd.fd, strrchr(rd->path, '/') + 1, C->wd.fd, name) != 0)
        snprintf(fr->dir, sizeof(fr->dir), "%s", rd->path);
    snprintf(rd->path, sizeof(rd->path), "%s", fr->dir);
    fr->failed_mask = failed;
    replay_names(failed, fr->failed, sizeof(fr->failed));
    snprintf(fr->target, sizeof(fr->target), "%s",
             replay_first(failed) ? replay_first(failed) : "");
    if (!C->o->shrink_ns || !fr->target[0] || run_interrupted) {
        keep_or_trim(C, fr, rd);
        return 0;
    }
    if (!(s2 = malloc(sizeof(*s2))) || sched_copy(s2, sc) < 0) {
        free(s2);
        return -1;
    }
    s2->note[0] = '\0';
    snprintf(R.target, sizeof(R.target), "%s", fr->target);
    snprintf(R.file, sizeof(R.file), "%s/%s", fr->dir, REPLAY_CANDIDATE);
    fprintf(stderr, "  shrinking finding %d (check %s; at most %.0f s)\n", C->n_findings,
            fr->target, (double)C->o->shrink_ns / 1e9);
    {
        char from[128];
        snprintf(from, sizeof(from), "round %d of chaos seed %" PRIu64, rr->round, C->seed);
        rc = replay_shrink(s2, &R, C->o->runs, REPLAY_FINAL_RUNS, C->o->shrink_ns, from, &fr->st);
    }
    unlinkat(rd->fd, REPLAY_CANDIDATE, 0);
    if (rc == SHRINK_ERROR) {
        fprintf(stderr, "rift chaos: shrinking finding %d: %s\n", C->n_findings, R.error);
        sched_free(s2);
        free(s2);
        return -1;
    }
    if (rc == 0 && fr->st.rare) {
        fprintf(stderr,
                "  not shrunk: the round failed in %d of %d replays (a candidate needs %d of %d)\n",
                fr->st.confirm_fired, fr->st.confirm_runs, C->o->runs / 2 + 1, C->o->runs);
    } else if (rc == 0 || fr->st.kept) {
        fr->shrunk = rc == 0;
        sched_line(s2, fr->shrunk_line, sizeof(fr->shrunk_line));
        fr->shrunk_text = sched_text(s2);
        if (!fr->shrunk_text || rfile_put(rd, "shrunk.ini", fr->shrunk_text, RFILE_SHARED) != 0)
            fprintf(stderr, "rift chaos: cannot write %s/shrunk.ini\n", fr->dir);
        fprintf(stderr, "  shrunk: %s (failed in %d of %d replays)\n", fr->shrunk_line,
                fr->st.final_fired, fr->st.final_runs);
    }
    sched_free(s2);
    free(s2);
    keep_or_trim(C, fr, rd);
    return 0;
}

/* The comment a round's scenario.ini starts with (--dry-run prints the same). */
static void round_note(const struct chaos *C, struct sched *sc, int round, uint64_t seed)
{
    snprintf(sc->note, sizeof(sc->note),
             "rift chaos %s, seed %" PRIu64 ": round %d (seed %" PRIu64 ").\n"
             "`rift run` on this file replays the round: the same faults, steps and shim seed.",
             C->o->spec, C->seed, round, seed);
}

/* One round: 0 ran (pass or finding), 2 rift failed, 130 interrupted. */
static int one_round(struct chaos *C, int round)
{
    struct round_rec *rr;
    struct sched *sc = malloc(sizeof(*sc));
    struct run_result res;
    struct rfile_dir rd;
    char name[32], file[RFILE_PATH_MAX + 16], failed[128] = "";
    uint64_t t = clk_now_ns();
    int rc, status = 0;
    void *p = realloc(C->rounds, (size_t)(C->n_rounds + 1) * sizeof(*C->rounds));
    if (!p || !sc) {
        free(sc);
        return 2;
    }
    C->rounds = p;
    rr = &C->rounds[C->n_rounds];
    memset(rr, 0, sizeof(*rr));
    rr->round = round;
    rr->seed = chaos_round_seed(C->seed, round);
    if (chaos_generate(&C->cs, C->base, C->spec_text, rr->seed, sc) < 0) {
        free(sc);
        return 2;
    }
    round_note(C, sc, round, rr->seed);
    sched_line(sc, rr->schedule, sizeof(rr->schedule));
    snprintf(name, sizeof(name), "round-%d", round);
    {
        char *text = sched_text(sc), err[RFILE_PATH_MAX + 100];
        if (rfile_dir_sub(&C->wd, name, &rd, err, sizeof(err)) < 0) {
            fprintf(stderr, "rift chaos: %s\n", err);
            free(text);
            sched_free(sc);
            free(sc);
            return 2;
        }
        snprintf(file, sizeof(file), "%s/scenario.ini", rd.path);
        if (!text || rfile_put(&rd, "scenario.ini", text, RFILE_SHARED) != 0) {
            fprintf(stderr, "rift chaos: cannot write %s\n", file);
            free(text);
            rfile_dir_close(&rd);
            sched_free(sc);
            free(sc);
            return 2;
        }
        free(text);
    }
    C->n_rounds++;
    {
        struct replay R = {.server = C->o->server};
        rc = replay_run(&R, file, &rd, &res);
    }
    rr->ms = (clk_now_ns() - t) / 1000000;
    if (!C->server[0] && res.server[0])
        snprintf(C->server, sizeof(C->server), "%s", res.server);
    snprintf(rr->verdict, sizeof(rr->verdict), "%s", res.verdict);
    replay_names(replay_failed(&res), failed, sizeof(failed));
    snprintf(rr->failed, sizeof(rr->failed), "%s", failed);
    if (rc == 130) {
        status = 130;
    } else if (rc == 2) {
        fprintf(stderr, "round %d: rift could not run it (%s): %s\n", round, res.verdict,
                res.error[0] ? res.error : "see above");
        status = 2;
    } else {
        fprintf(stderr, "round %d (seed %" PRIu64 ", %.1f s): %s -> %s%s\n", round, rr->seed,
                (double)rr->ms / 1000.0, rr->schedule, rc ? "FINDING: " : "pass", rc ? failed : "");
        if (rc == 1 && take_finding(C, rr, &rd, sc, &res) < 0)
            status = 2;
        else if (rc == 0 && !C->o->keep_rounds)
            rfile_rm_rf(rd.path);
    }
    rfile_dir_close(&rd);
    sched_free(sc);
    free(sc);
    return status;
}

static void final_table(struct chaos *C)
{
    int counts[16] = {0}; /* per replay_checks entry */
    uint64_t ms = (clk_now_ns() - C->t0) / 1000000;
    for (int i = 0; i < C->n_findings; i++)
        for (int k = 0; replay_checks[k]; k++)
            if ((C->findings[i].failed_mask >> k) & 1)
                counts[k]++;
    fprintf(stderr, "\nrift chaos: %d round%s in %.1f min (%s), %d finding%s, seed %" PRIu64 "\n",
            C->n_rounds, C->n_rounds == 1 ? "" : "s", (double)ms / 60000.0,
            C->stopped ? C->stopped : "done", C->n_findings, C->n_findings == 1 ? "" : "s",
            C->seed);
    if (C->n_findings) {
        fprintf(stderr, "  %-16s %s\n", "check", "findings");
        for (int k = 0; replay_checks[k]; k++)
            if (counts[k])
                fprintf(stderr, "  %-16s %d\n", replay_checks[k], counts[k]);
        for (int i = 0; i < C->n_findings; i++) {
            const struct finding_rec *fr = &C->findings[i];
            fprintf(stderr, "  finding %d: round %d: %s%s%s\n", i + 1, fr->round, fr->failed,
                    C->o->report_dir ? " in " : "", C->o->report_dir ? fr->dir : "");
            if (fr->shrunk_line[0])
                fprintf(stderr, "    shrunk to: %s (%d of %d replays failed)\n", fr->shrunk_line,
                        fr->st.final_fired, fr->st.final_runs);
            else if (fr->st.rare)
                fprintf(stderr, "    not shrunk: it failed in %d of %d replays\n",
                        fr->st.confirm_fired, fr->st.confirm_runs);
        }
    }
    if (C->o->report_dir)
        fprintf(stderr, "  report: %s/chaos.json\n", C->wd.path);
}

static int chaos_dry_run(struct chaos *C)
{
    int rounds = C->o->rounds ? C->o->rounds : 1;
    for (int r = 1; r <= rounds; r++) {
        struct sched *sc = malloc(sizeof(*sc));
        uint64_t rs = chaos_round_seed(C->seed, r);
        char *text;
        if (!sc || chaos_generate(&C->cs, C->base, C->spec_text, rs, sc) < 0) {
            free(sc);
            return 2;
        }
        round_note(C, sc, r, rs);
        text = sched_text(sc);
        printf("%s%s", r > 1 ? "\n" : "", text ? text : "");
        free(text);
        sched_free(sc);
        free(sc);
    }
    return 0;
}

int chaos_main(const struct chaos_opts *o)
{
    static struct scenario base;
    struct chaos C = {.o = o, .base = &base};
    struct sigaction sa = {.sa_handler = replay_on_signal};
    char err[768], nem[256];
    int status = 0;
    if (chaos_load(&C.cs, &base, o->spec, o->spec, NULL, &C.spec_text, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (o->server) {
        /* what the rounds write replays on the server they ran on */
        char *t = sched_with_server(C.spec_text, o->server);
        free(C.spec_text);
        if (!(C.spec_text = t))
            return 2;
    }
    C.seed = o->seed_given ? o->seed & 0xffffffffffffull : run_random_seed();
    if (o->dry_run) {
        status = chaos_dry_run(&C);
        free(C.spec_text);
        return status;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift chaos: needs root (network namespaces, iptables, NFQUEUE)\n");
        free(C.spec_text);
        return 2;
    }
    if (proc_work_dir(&C.wd, PROC_TMP_CHAOS, o->report_dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift chaos: %s\n", err);
        free(C.spec_text);
        return 2;
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    C.t0 = clk_now_ns();
    chaos_nemeses_text(C.cs.nemeses, nem, sizeof(nem));
    fprintf(stderr,
            "rift chaos %s: seed %" PRIu64 ", rounds of %.1f s on a fresh cluster each, "
            "%d-%d faults and %d-%d steps from: %s; ",
            o->spec, C.seed, (double)C.cs.round_ns / 1e9, C.cs.faults_lo, C.cs.faults_hi,
            C.cs.steps_lo, C.cs.steps_hi, nem);
    if (o->rounds)
        fprintf(stderr, "%d round%s\n", o->rounds, o->rounds == 1 ? "" : "s");
    else
        fprintf(stderr, "for %.1f min\n", (double)o->time_ns / 60e9);
    for (int round = 1;; round++) {
        if (run_interrupted) {
            C.stopped = "interrupted";
            break;
        }
        if (o->rounds && round > o->rounds) {
            C.stopped = "rounds";
            break;
        }
        if (!o->rounds && clk_now_ns() - C.t0 >= o->time_ns) {
            C.stopped = "time";
            break;
        }
        if (o->max_findings && C.n_findings >= o->max_findings) {
            C.stopped = "findings";
            break;
        }
        status = one_round(&C, round);
        write_chaos_json(&C);
        write_chaos_html(&C);
        if (status == 2) {
            C.stopped = "error";
            break;
        }
        if (status == 130 || run_interrupted) {
            C.stopped = "interrupted";
            break;
        }
    }
    final_table(&C);
    write_chaos_json(&C);
    write_chaos_html(&C);
    if (!o->report_dir) {
        for (int i = 0; i < C.n_findings; i++)
            if (C.findings[i].shrunk_text)
                printf("%s; ---- finding %d, shrunk ----\n%s", i ? "\n" : "", i + 1,
                       C.findings[i].shrunk_text);
        rfile_rm_rf(C.wd.path);
    }
    rfile_dir_close(&C.wd);
    for (int i = 0; i < C.n_findings; i++)
        free(C.findings[i].shrunk_text);
    free(C.findings);
    free(C.rounds);
    free(C.spec_text);
    if (status == 2)
        return 2;
    if (C.n_findings)
        return 1;
    return C.stopped && !strcmp(C.stopped, "interrupted") ? 130 : 0;
}
