/* replay: running schedules as scenarios, shrinking them, rift shrink. */
#include "replay.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../policies/ini.h"
#include "../cluster/runstate.h"
#include "../sys/proc.h"
#include "../sys/registry.h"
#include "../sys/rfile.h"

/* Most specific first: the check a shrink keeps failing. */
const char *const replay_checks[] = {
    "crashes",          "cycles",          "lost_slots", "lost_writes", "open_slots",
    "chained_replicas", "empty_primaries", "heal",       "convergence", NULL};

void replay_on_signal(int sig)
{
    (void)sig;
    run_interrupted = 1;
}

/* ---- running a schedule ---- */

int replay_check_index(const char *name)
{
    for (int k = 0; replay_checks[k]; k++)
        if (!strcmp(replay_checks[k], name))
            return k;
    return -1;
}

/* The check found what it looks for: for the checks of observations, seen;
 * for heal and convergence, failed (with [expect] never_heals, healing is
 * what fails). */
static bool check_fired(const struct run_check *c, bool never_heals_expected)
{
    if (!strcmp(c->name, "convergence"))
        return c->fail;
    if (!strcmp(c->name, "heal"))
        return never_heals_expected ? !c->fail : c->fail;
    return c->seen;
}

/* Bit k for replay_checks[k]: the checks of res that fired (fired) or
 * failed (!fired). */
static unsigned check_mask(const struct run_result *res, bool fired, bool never_heals_expected)
{
    unsigned m = 0;
    for (int i = 0; i < res->n; i++) {
        int k = replay_check_index(res->c[i].name);
        if (k >= 0 && (fired ? check_fired(&res->c[i], never_heals_expected) : res->c[i].fail))
            m |= 1u << k;
    }
    return m;
}

void replay_names(unsigned m, char *out, size_t len)
{
    size_t off = 0;
    out[0] = '\0';
    for (int k = 0; replay_checks[k] && off < len; k++)
        if ((m >> k) & 1)
            off +=
                (size_t)snprintf(out + off, len - off, "%s%s", off ? ", " : "", replay_checks[k]);
}

unsigned replay_failed(const struct run_result *res)
{
    return check_mask(res, false, false);
}

const char *replay_first(unsigned m)
{
    for (int k = 0; replay_checks[k]; k++)
        if ((m >> k) & 1)
            return replay_checks[k];
    return NULL;
}

int replay_run(const struct replay *R, const char *file, const struct rfile_dir *report,
               struct run_result *res)
{
    struct run_opts ro = {.scenario_file = file,
                          .report_dir = report ? report->path : NULL,
                          .report_open = report,
                          .server = R->server,
                          .quiet = true,
                          .result = res};
    return run_scenario(&ro);
}

static int real_runner(void *ctx, const struct sched *sc, char *what, size_t wl)
{
    struct replay *R = ctx;
    struct run_result res;
    char *text = sched_text(sc);
    unsigned m;
    int rc;
    if (!text || rfile_put(R->dir, REPLAY_CANDIDATE, text, RFILE_SHARED) != 0) {
        free(text);
        snprintf(R->error, sizeof(R->error), "cannot write %s", R->file);
        return SHRINK_ERROR;
    }
    free(text);
    rc = replay_run(R, R->file, NULL, &res);
    if (rc == 130)
        return SHRINK_STOPPED;
    if (rc == 2) {
        snprintf(R->error, sizeof(R->error), "a replay could not run (%s): %s", res.verdict,
                 res.error[0] ? res.error : "see above");
        return SHRINK_ERROR;
    }
    m = check_mask(&res, true, R->never_heals_expected);
    R->seen[R->n_hist++ % REPLAY_HIST] = m;
    replay_names(replay_failed(&res), what, wl);
    return (m >> replay_check_index(R->target)) & 1 ? SHRINK_FIRED : SHRINK_PASSED;
}

/* [expect] for the result: the checks [expect] can name that fired in each
 * of the last replays in which the target fired. */
static void shrunk_expect(struct sched *sc, const struct replay *R, int last)
{
    unsigned all = ~0u;
    int n = 0, tk = replay_check_index(R->target);
    for (int i = R->n_hist - last; i < R->n_hist; i++) {
        unsigned m = R->seen[(unsigned)i % REPLAY_HIST];
        if (i >= 0 && (m >> tk) & 1) {
            all &= m;
            n++;
        }
    }
    memset(&sc->expect, 0, sizeof(sc->expect));
    if (!n)
        all = 1u << tk;
    sc->expect.crashes = (all >> replay_check_index("crashes")) & 1;
    sc->expect.cycles = (all >> replay_check_index("cycles")) & 1;
    sc->expect.lost_slots = (all >> replay_check_index("lost_slots")) & 1;
    sc->expect.lost_writes = (all >> replay_check_index("lost_writes")) & 1;
    sc->has_expect =
        sc->expect.crashes || sc->expect.cycles || sc->expect.lost_slots || sc->expect.lost_writes;
}

/* Shrinks sc against R's target; writes the result's note. */
int replay_shrink(struct sched *sc, struct replay *R, int runs, int final, uint64_t bound_ns,
                  const char *from, struct shrink_stats *st)
{
    struct shrink_opts so = {.runs = runs,
                             .need = runs / 2 + 1,
                             .final_runs = final,
                             .time_ns = bound_ns,
                             .log = stderr};
    int rc;
    char tb[64];
    rc = shrink_run(sc, &so, real_runner, R, st);
    if (rc == SHRINK_ERROR)
        return rc;
    shrunk_expect(sc, R, st->final_runs);
    snprintf(tb, sizeof(tb), "%s", st->timed_out ? " (stopped at its time bound)" : "");
    snprintf(sc->note, sizeof(sc->note),
             "The smallest schedule rift shrink found%s that still fails check %s,\n"
             "from %s (%d fault%s, %d step%s): %d fault%s, %d step%s.\n"
             "Candidates were kept when %d of %d replays failed (every one of at least 3 for\n"
             "changed times%s); this one failed in %d of %d.\n"
             "%s",
             tb, R->target, from, st->faults_before, st->faults_before == 1 ? "" : "s",
             st->steps_before, st->steps_before == 1 ? "" : "s", st->faults_after,
             st->faults_after == 1 ? "" : "s", st->steps_after, st->steps_after == 1 ? "" : "s",
             so.need, so.runs, st->timing_undone ? ", undone: it failed too rarely with them" : "",
             st->final_fired, st->final_runs,
             sc->has_expect ? "`rift run` on it exits 0 when the [expect]ed failure shows."
                            : "`rift run` on it exits 1 when the failure shows.");
    return rc;
}

/* ---- rift shrink ---- */

int shrink_main(const struct shrink_cli *o)
{
    static struct scenario scn;
    struct sched *sc = calloc(1, sizeof(*sc));
    struct replay R = {.server = o->server};
    struct shrink_stats st;
    struct sigaction sa = {.sa_handler = replay_on_signal};
    struct rfile_dir wd;
    char err[768], line[768];
    char *text = NULL, *out = NULL;
    int rc, wrc, status = 2;
    if (!sc)
        return 2;
    /* read once: the scenario and the text its schedule is written back in */
    if (!(text = ini_read_file(o->scenario, err, sizeof(err))) ||
        scn_load_string(&scn, o->scenario, text, err, sizeof(err)) < 0 ||
        sched_from_scenario(sc, &scn, text, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift shrink: %s\n", err);
        goto out_free;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift shrink: needs root (network namespaces, iptables, NFQUEUE)\n");
        goto out_free;
    }
    if (o->server) {
        /* the result replays on the server it was shrunk on */
        char *b = sched_with_server(sc->base, o->server);
        if (!b)
            goto out_free;
        free(sc->base);
        sc->base = b;
    }
    R.never_heals_expected = scn.expect.never_heals != 0;
    if (proc_work_dir(&wd, PROC_TMP_CHAOS, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift shrink: %s\n", err);
        goto out_free;
    }
    R.dir = &wd;
    snprintf(R.file, sizeof(R.file), "%s/%s", wd.path, REPLAY_CANDIDATE);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o->check) {
        snprintf(R.target, sizeof(R.target), "%s", o->check);
    } else if (scn.has_expect) {
        /* what the scenario documents, most specific first */
        const char *t = scn.expect.crashes       ? "crashes"
                        : scn.expect.cycles      ? "cycles"
                        : scn.expect.lost_slots  ? "lost_slots"
                        : scn.expect.lost_writes ? "lost_writes"
                                                 : "heal";
        snprintf(R.target, sizeof(R.target), "%s", t);
    }
    if (!R.target[0]) {
        /* which check it fails: run it until it does */
        for (int i = 0; i < o->runs && !R.target[0]; i++) {
            struct run_result res;
            const char *first;
            fprintf(stderr, "rift shrink: run %d of %s, to see which check it fails\n", i + 1,
                    o->scenario);
            rc = replay_run(&R, o->scenario, NULL, &res);
            if (rc == 130 || rc == 2) {
                status = rc;
                goto out_dir;
            }
            if ((first = replay_first(replay_failed(&res))))
                snprintf(R.target, sizeof(R.target), "%s", first);
        }
        if (!R.target[0]) {
            fprintf(stderr, "rift shrink: %s did not fail in %d runs: nothing to shrink\n",
                    o->scenario, o->runs);
            status = 0;
            goto out_dir;
        }
    }
    sched_line(sc, line, sizeof(line));
    fprintf(stderr,
            "rift shrink %s: check %s; %d faults, %d steps: %s; %d replays per candidate "
            "(kept when %d fail), at most %.0f s\n",
            o->scenario, R.target, sched_faults(sc), sched_steps(sc), line, o->runs,
            o->runs / 2 + 1, (double)o->shrink_ns / 1e9);
    rc = replay_shrink(sc, &R, o->runs, o->final, o->shrink_ns, o->scenario, &st);
    if (rc == SHRINK_ERROR) {
        fprintf(stderr, "rift shrink: %s\n", R.error);
        goto out_dir;
    }
    if (rc == 0 && st.rare) {
        fprintf(stderr,
                "rift shrink: %s failed check %s in %d of %d replays: too rarely to shrink "
                "(a candidate needs %d of %d); nothing written\n",
                o->scenario, R.target, st.confirm_fired, st.confirm_runs, o->runs / 2 + 1, o->runs);
        status = 0;
        goto out_dir;
    }
    if (!(out = sched_text(sc)))
        goto out_dir;
    if ((wrc = o->out ? rfile_put_path(o->out, out, RFILE_SHARED) : -(fputs(out, stdout) < 0))) {
        fprintf(stderr, "rift shrink: cannot write %s: %s\n", o->out ? o->out : "stdout",
                strerror(o->out ? -wrc : errno));
        goto out_dir;
    }
    sched_line(sc, line, sizeof(line));
    fprintf(stderr,
            "rift shrink: %d candidates, %d replays in %.1f s%s: %s; it failed in %d of %d "
            "replays%s%s\n",
            st.candidates, st.replays + st.final_runs, (double)st.ns / 1e9,
            st.timed_out ? " (time bound reached)" : "", line, st.final_fired, st.final_runs,
            o->out ? "; written to " : "", o->out ? o->out : "");
    status = rc == SHRINK_STOPPED ? 130 : st.final_fired ? 1 : 0;
out_dir:
    rfile_rm_rf(wd.path);
    rfile_dir_close(&wd);
out_free:
    free(out);
    free(text);
    sched_free(sc);
    free(sc);
    return status;
}
