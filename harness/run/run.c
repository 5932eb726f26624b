/* run: one `rift run`: set up (namespace, servers, cluster, shim), run the
 * timeline (a loop that runs steps when they are due and samples every
 * node's view every SAMPLE_MS in between), verify, report. */
#include "../attach/attach.h"
#include "../hosts/hostrun.h"
#include "../sys/home.h"
#include "../sys/rfile.h"
#include "live.h"
#include "run.h"
#include "runaudit.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/ctl.h"
#include "../../proto/pkt.h"
#include "../checks/checks.h"
#include "../cluster/cluster.h"
#include "../cluster/cmdtab.h"
#include "../cluster/need.h"
#include "../cluster/netns.h"
#include "../cluster/nodes.h"
#include "../cluster/observe.h"
#include "../cluster/runstate.h"
#include "../report/report.h"
#include "steps.h"

#define SETTLE_DEFAULT_NS 15000000000ull

static void on_sigint(int sig)
{
    (void)sig;
    run_interrupted = 1;
}

static int64_t ready_mono_ms(const struct run *r)
{
    return (int64_t)(r->t_ready / 1000000ull);
}

static int start_probes(struct run *r, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    char seeds[SCN_MAX_NODES * 24] = "", src[32]; /* "ADDR:PORT," for every node */
    size_t off = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        bool want = s->probe_seeds ? (s->probe_seeds >> i) & 1 : s->primary_of[i] < 0;
        char a[32];
        if (!want)
            continue;
        run_node_addr(r, i, a, sizeof(a));
        if (off < sizeof(seeds))
            off += (size_t)snprintf(seeds + off, sizeof(seeds) - off, "%s%s", off ? "," : "", a);
    }
    char ranges[512] = "";
    size_t roff = 0;
    for (int i = 0; i < s->n_steps; i++)
        if (s->steps[i].kind == STEP_MIGRATE && roff < sizeof(ranges) - 16)
            roff += (size_t)snprintf(ranges + roff, sizeof(ranges) - roff, "%s%d-%d",
                                     roff ? "," : "", s->steps[i].slot_lo, s->steps[i].slot_hi);
    run_source(r, SCN_CLIENTS_IP, src, sizeof(src));
    r->probes_started = true; /* teardown stops those that did start */
    const struct probe_env pe = {.seeds = seeds,
                                 .source = src,
                                 .ranges = ranges,
                                 .tmpdir = r->tmp,
                                 .run_id = r->id,
                                 .pass = r->password};
    for (int i = 0; i < s->n_probes; i++) {
        char why[300];
        if (probe_start(&r->probes[i], &s->probes[i], &r->reg, &pe, why, sizeof(why)) < 0) {
            snprintf(err, el, "cannot start probe %s: %s", s->probes[i].name, why);
            return -1;
        }
        r->probes[i].started_ms = run_ms(r);
    }
    run_progress(r, "client probes started: %d, seeds %s, from %s", s->n_probes, seeds, src);
    return 0;
}

static bool probes_healed(struct run *r)
{
    for (int i = 0; i < r->scn->n_probes; i++)
        if (!probe_healed_since(&r->probes[i], r->converged_ms))
            return false;
    return true;
}

/* Reads what the probes wrote; a probe that died or never started is
 * rift's own trouble: -1 with err. */
static int poll_probes(struct run *r, char *err, size_t el)
{
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++) {
        probe_poll(&r->probes[i], ready_mono_ms(r), r->first_fault_ms, r->converged_ms);
        if (probe_check(&r->probes[i], run_ms(r), err, el) < 0)
            return -1;
    }
    return 0;
}

static int timeline(struct run *r, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    uint64_t next_sample = run_now_ns();
    uint64_t heal =
        s->n_probes ? (s->check.heal_within_ns ? s->check.heal_within_ns : 10000000000ull) : 0;
    uint64_t settle = (s->check.converge_within_ns ? s->check.converge_within_ns + 2000000000ull
                                                   : SETTLE_DEFAULT_NS) +
                      heal;
    uint64_t t_end = 0, app_wait_end = 0;
    char why[256];
    int i = 0;
    bool serving = r->o->live != NULL; /* rift up: requests after the timeline, until down */
    r->converged_ms = -1;
    r->first_fault_ms = -1;
    while (!run_interrupted) {
        uint64_t t = run_now_ns();
        if (s->n_probes && !r->probes_started && t >= r->t_ready + s->probes_start_ns) {
            if (start_probes(r, err, el) < 0)
                return -1;
            continue;
        }
        if (s->app.on && !r->app.started && t >= r->t_ready + s->app.start_ns) {
            if (app_start(r, err, el) < 0)
                return -1;
            continue;
        }
        if (i < s->n_steps && t >= r->t_ready + s->steps[i].at_ns) {
            if (s->steps[i].kind == STEP_FAULT && s->steps[i].on && r->first_fault_ms < 0)
                r->first_fault_ms = run_ms(r);
            if (step_run(r, &s->steps[i], err, el) < 0)
                return -1;
            r->steps_done++;
            i++;
            /* Convergence counts from the last step that disturbed the
             * cluster, not from a wait. */
            if (s->steps[i - 1].kind != STEP_WAIT_CONVERGED) {
                r->last_step_ms = run_ms(r);
                r->converged_ms = -1;
            }
            if (i == s->n_steps)
                t_end = run_now_ns() + settle;
            continue;
        }
        if (t >= next_sample) {
            obs_sample(r, true);
            obs_reap_nodes(r);
            if (poll_probes(r, err, el) < 0)
                return -1;
            app_poll(r);
            if (r->app.env_failed) {
                snprintf(err, el, "app: it could not run (app.log: %s)", r->app.log);
                return -1;
            }
            run_track_convergence(r, obs_converged(r, why, sizeof(why)));
            next_sample += SAMPLE_MS * 1000000ull;
            if (next_sample < t)
                next_sample = t + SAMPLE_MS * 1000000ull;
        }
        if (i == s->n_steps && serving) {
            t_end = run_now_ns() + settle; /* the settling starts at down */
            goto sleep;
        }
        if (i == s->n_steps) {
            if (s->n_steps == 0 && !t_end)
                t_end = run_now_ns() + settle;
            if (app_pending(r)) { /* stop = wait: the settling starts when it exits */
                if (!app_wait_end)
                    app_wait_end = run_now_ns() + s->app.timeout_ns;
                if (run_now_ns() < app_wait_end) {
                    t_end = run_now_ns() + settle;
                    goto sleep;
                }
                r->app.timed_out = true;
                app_stop(r, "timeout after the last step");
                t_end = run_now_ns() + settle;
            }
            if (run_settled(r, step_migrations_done(r), probes_healed(r), heal))
                break;
            if (run_now_ns() >= t_end)
                break;
        }
    sleep:;
        uint64_t wake = next_sample;
        if (s->app.on && !r->app.started && r->t_ready + s->app.start_ns < wake)
            wake = r->t_ready + s->app.start_ns;
        if (i < s->n_steps && r->t_ready + s->steps[i].at_ns < wake)
            wake = r->t_ready + s->steps[i].at_ns;
        if (s->n_probes && !r->probes_started && r->t_ready + s->probes_start_ns < wake)
            wake = r->t_ready + s->probes_start_ns;
        t = run_now_ns();
        /* requests: rift up's once the timeline is done, until down; those
         * of rift run -- CMD's program all along */
        if (r->live && (!r->o->live || (serving && i == s->n_steps))) {
            int rc = live_serve(r, wake > t ? (int)((wake - t + 999999) / 1000000) : 0, err, el);
            if (rc < 0)
                return -1;
            serving = serving && rc == 0;
        } else if (wake > t) {
            run_sleep_ms((int)((wake - t + 999999) / 1000000));
        }
    }
    return 0;
}

static void teardown(struct run *r)
{
    char *reply = malloc(CTL_REPLY_MAX);
    app_stop(r, "rift is stopping");
    sniff_stop(&r->sniff);
    for (int i = 0; i < r->n_mig; i++)
        r->mig[i].abort = true;
    step_join_migrations(r);
    if (r->wl_running) {
        wl_stop(&r->wl);
        r->wl_running = false;
    }
    wl_free(&r->wl);
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++)
        probe_stop(&r->probes[i]);
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (r->nodes[i].admin) {
            redisFree(r->nodes[i].admin);
            r->nodes[i].admin = NULL;
        }
    if (r->hr) {
        hr_teardown(r);
    } else if (r->att && r->att->n_sh) {
        att_stop_shims(r);
    } else {
        if (r->shim_pid > 0 && reply && step_shim_request(r, "stats", reply, CTL_REPLY_MAX) == 0 &&
            reply[0] == '{')
            r->shim_stats = strdup(reply);
        else if (r->shim_pid > 0)
            run_progress(r, "rift-shim's counters: %s", reply ? r->shim_err : "out of memory");
        /* The shim and every server stop at once: a primary's shutdown
         * waits about 100 ms for its replicas, one after the other adds up. */
        pid_t pids[SCN_MAX_NODES + 1] = {r->shim_pid};
        int ms[SCN_MAX_NODES + 1] = {5000}, st[SCN_MAX_NODES + 1];
        for (int i = 0; i < r->scn->n_nodes; i++) {
            r->nodes[i].down |= r->nodes[i].pid > 0;
            pids[i + 1] = r->nodes[i].pid;
            ms[i + 1] = 3000;
            r->nodes[i].pid = 0;
        }
        proc_stop_all(pids, ms, st, r->scn->n_nodes + 1);
        r->shim_pid = 0;
    }
    if (r->att) {
        att_restore(r);
        for (int i = 0; i < r->scn->n_nodes; i++)
            if (r->nodes[i].admin) {
                redisFree(r->nodes[i].admin);
                r->nodes[i].admin = NULL;
            }
    }
    obs_views_close(r);
    free(reply);
}

/* Everything the scenario needs, before anything starts: what is missing
 * is named in one line with the make target that installs it; last, the
 * report folder (report_open). 0 or 2. */
static int preflight(struct run *r, char *err, size_t el)
{
    const struct scenario *scn = r->scn;
    const struct run_opts *o = r->o;
    const char *server = o->server ? o->server : scn->server;
    char missing[1024];
    int ps, nc = need_check(scn, missing, sizeof(missing));
    if (r->hr || r->att) {
        if (r->att) {
            att_server_version(r);
        } else {
            /* the hosts run their own server: the hosts file's, or the
             * flavour's name on their PATH; hr_open asks each for its version */
            snprintf(r->server_name, sizeof(r->server_name), "%s", server);
            snprintf(r->server_bin, sizeof(r->server_bin), "%s",
                     server[0] == '/'           ? server
                     : strstr(server, "valkey") ? "valkey-server"
                                                : "redis-server");
            snprintf(r->launch[0], sizeof(r->launch[0]), "%s", r->server_bin);
            r->n_launch = 1;
        }
        if (nc < 0) {
            fprintf(stderr, "rift: missing: %s\n", missing);
            return 2;
        }
        if (geteuid() != 0) {
            fprintf(stderr, "rift: run needs root (%s)\n",
                    r->att ? "iptables and NFQUEUE for the faults"
                           : "iptables on the hosts goes through rift-shim; the run registry is in "
                             "/run");
            return 2;
        }
        return report_open(r) < 0 ? 2 : 0;
    }
    ps = node_pick_server(r, server, err, el);
    if (ps == -1) {
        fprintf(stderr, "rift: %s\n", err);
        return 2;
    }
    if (ps == -2 || nc < 0) {
        fprintf(stderr, "rift: missing: %s%s%s\n", ps == -2 ? err : "",
                ps == -2 && nc < 0 ? "; " : "", nc < 0 ? missing : "");
        return 2;
    }
    if (access(r->server_bin, X_OK) != 0) {
        fprintf(stderr,
                "rift: missing: server %s: run `make deps` (Debian's redis-server) "
                "or give an existing binary\n",
                r->server_bin);
        return 2;
    }
    if (node_server_version(r) < 0) {
        fprintf(stderr, "rift: %s does not run (--version failed)\n", r->server_bin);
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift: run needs root (network namespace, iptables, NFQUEUE)\n");
        return 2;
    }
    return report_open(r) < 0 ? 2 : 0;
}

/* Seed, run id, names; the registry, written before the namespace and the
 * temp dir exist, so that a kill at any moment leaves nothing `rift
 * cleanup` does not know of. 0 or 2. */
static int make_identity(struct run *r, char *err, size_t el)
{
    home_path(r->shim_bin, sizeof(r->shim_bin), HOME_BIN, "rift-shim");
    if (r->o->seed_given)
        r->seed = r->o->seed & 0xffffffffffffull; /* as short as a drawn one */
    else if (r->scn->faults.shim.seed_given)
        r->seed = r->scn->faults.shim.seed & 0xffffffffffffull;
    else
        r->seed = run_random_seed();
    if (!r->att && run_make_password(r) < 0) {
        fprintf(stderr, "rift: no random bytes for the run's password: %s\n", strerror(errno));
        return 2;
    }
    /* An id nothing holds yet: not a leftover run's registry, namespace or
     * temp dir (those belong to `rift cleanup`, never to a new run). */
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t rnd;
        char ns_path[64];
        int rc;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
            rnd = (uint32_t)getpid() + (uint32_t)attempt;
        snprintf(r->id, sizeof(r->id), "%06x", rnd & 0xffffff);
        snprintf(r->netns, sizeof(r->netns), "rift-%s", r->id);
        snprintf(r->tmp, sizeof(r->tmp), "/tmp/rift-%s", r->id);
        snprintf(ns_path, sizeof(ns_path), "/run/netns/%s", r->netns);
        if (access(ns_path, F_OK) == 0)
            continue;
        if ((rc = reg_create(&r->reg, r->id, r->netns, r->tmp, err, el)) == -2)
            continue;
        if (rc < 0) {
            fprintf(stderr, "rift: %s\n", err);
            return 2;
        }
        if (mkdir(r->tmp, 0700) == 0) {
            r->reg_made = true;
            return 0;
        }
        rc = errno;
        reg_remove(&r->reg);
        if (rc != EEXIST) {
            fprintf(stderr, "rift: cannot create %s: %s\n", r->tmp, strerror(rc));
            return 2;
        }
    }
    fprintf(stderr, "rift: no free run id after 16 tries (run `rift cleanup`)\n");
    return 2;
}

/* The namespace, the servers, the cluster, the shim, preloaded keys: up to
 * the moment the timeline starts. */
static int setup(struct run *r, char *err, size_t el)
{
    const struct scenario *scn = r->scn;
    for (int i = 0; r->att && i < scn->n_nodes; i++) {
        char a[PKT_ADDR_MAX];
        const struct pol_node *pn = &scn->faults.nodes[i];
        run_progress(r, "%-5s %s:%u (bus %u) id %.12s... %s, pid %d", scn->names[i],
                     pkt_addr(pn->ip, a, sizeof(a)), pn->port, pn->bus, pn->id,
                     scn->primary_of[i] < 0 ? "primary" : "replica", (int)r->att->n[i].pid);
    }
    if (r->att ? 0 : r->hr ? hr_open(r, err, el) < 0 : netns_enter(r, err, el) < 0)
        return -1;
    for (int i = 0; !r->att && i < scn->n_nodes; i++) {
        char dir[sizeof(r->nodes[i].dir)];
        snprintf(dir, sizeof(dir), "%s/%s", r->hr ? r->hr->rdir[r->hr->node_host[i]] : r->tmp,
                 scn->names[i]);
        memcpy(r->nodes[i].dir, dir, sizeof(dir));
        snprintf(r->nodes[i].log, sizeof(r->nodes[i].log), "%s/server.log", dir);
        if (!r->hr)
            mkdir(r->nodes[i].dir, 0700);
        if (node_start(r, i, err, el) < 0)
            return -1;
    }
    if (r->att ? cluster_wait_ready(r, 30000, err, el) < 0 : cluster_build(r, err, el) < 0)
        return -1;
    r->t_ready = run_now_ns();
    run_progress(r, "cluster ready: %d nodes converged, replicas in sync", scn->n_nodes);
    if (step_start_shim(r, err, el) < 0)
        return -1;
    run_progress(r, "rift-shim ready with %d fault%s", scn->faults.n_rules,
                 scn->faults.n_rules == 1 ? "" : "s");
    if (obs_views_open(r, err, el) < 0)
        return -1;
    /* Slots that migrate get keys of their own, so that MIGRATE has work
     * to do while the writers hit them. */
    for (int i = 0; i < scn->n_steps; i++)
        if (scn->steps[i].kind == STEP_MIGRATE &&
            cluster_preload(r, scn->steps[i].slot_lo, scn->steps[i].slot_hi, 1000, err, el) < 0)
            return -1;
    return 0;
}

/* The acknowledged-INCR writers, from the clients' address. */
static int start_workload(struct run *r, char *err, size_t el)
{
    const struct scenario *scn = r->scn;
    int ranges[SCN_MAX_STEPS][2], nr = 0;
    char src[32], seed[32];
    for (int i = 0; i < scn->n_steps; i++)
        if (scn->steps[i].kind == STEP_MIGRATE) {
            ranges[nr][0] = scn->steps[i].slot_lo;
            ranges[nr][1] = scn->steps[i].slot_hi;
            nr++;
        }
    run_source(r, SCN_CLIENTS_IP, src, sizeof(src));
    run_node_addr(r, 0, seed, sizeof(seed));
    wl_init(&r->wl, scn->writers, src, seed, r->password, (const int(*)[2])ranges, nr, 1000);
    if (wl_start(&r->wl) < 0) {
        snprintf(err, el, "cannot start the workload threads");
        return -1;
    }
    r->wl_running = true;
    run_progress(r, "workload: %d writers, %d keys each, from %s", r->wl.n, r->wl.w[0].n_keys, src);
    return 0;
}

/* After the timeline: the probes' verdicts, the ledger read back, what the
 * last views still show open; then everything is stopped. */
static int verify(struct run *r, char *err, size_t el)
{
    step_join_migrations(r);
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++) {
        struct probe_rt *p = &r->probes[i];
        probe_poll(p, ready_mono_ms(r), r->first_fault_ms < 0 ? 0 : r->first_fault_ms,
                   r->converged_ms);
        /* one that died before the end is rift's trouble, not a verdict */
        if (probe_check(p, run_ms(r), err, el) < 0)
            return -1;
        probe_stop(p);
        probe_finish(p, ready_mono_ms(r), r->converged_ms);
        if (!p->judged) {
            snprintf(err, el, "client %s reported no results (%s)", p->cfg->name, p->out_path);
            return -1;
        }
        run_progress(r, "client %s %s: %s%s%s", p->cfg->name, p->version,
                     p->healed ? "healed" : "never healed",
                     p->healed ? "" : "; last error: ", p->healed ? "" : p->last_error);
    }
    if (r->wl_running) {
        char admin[32], seed[32];
        wl_stop(&r->wl);
        r->wl_running = false;
        run_source(r, SCN_ADMIN_IP, admin, sizeof(admin));
        run_node_addr(r, 0, seed, sizeof(seed));
        wl_verify(&r->wl, admin, seed, obs_ledger, r, &r->wl_res);
        run_progress(r,
                     "workload: %" PRIu64 " INCRs, %" PRIu64 " acknowledged; read back: %d "
                     "lost writes on %d keys, %d applied without acknowledgement",
                     r->wl_res.ops, r->wl_res.ok, r->wl_res.lost_writes, r->wl_res.lost_keys,
                     r->wl_res.unacked_applied);
    }
    app_poll(r);
    app_stop(r, "the run is over");
    runaudit_stop(r);
    obs_open_slots(r);
    if (!r->scn->standalone)
        obs_final_roles(r);
    obs_reap_nodes(r);
    teardown(r);
    obs_scan_logs(r);
    return 0;
}

/* Checks, verdict, summary and report; the exit status. */
static int conclude(struct run *r)
{
    struct check_result res[12];
    int n, status = 0;
    const char *verdict;
    if (r->hr)
        hr_decode_bus(r);
    else if (r->att && r->att->n_sh)
        att_decode_bus(r);
    else
        report_decode_bus(r);
    {
        double med, p99, max;
        if (obs_round_stats(r, &med, &p99, &max))
            run_progress(r,
                         "sampling: %d rounds of %d nodes every %d ms; a round took %.2f ms "
                         "(median), %.2f ms (p99), %.2f ms (max)",
                         r->n_rounds, r->scn->n_nodes, SAMPLE_MS, med, p99, max);
    }
    n = checks_evaluate(r, res);
    for (int i = 0; i < n; i++)
        if (!strcmp(res[i].status, "fail"))
            status = 1;
    verdict = status ? "fail" : "pass";
    /* A fault that was not applied in full makes the verdict worthless. */
    if (checks_faults_not_applied(r, r->invalid, sizeof(r->invalid))) {
        verdict = "invalid";
        status = 2;
        run_progress(r, "run invalid: %s", r->invalid);
    }
    if (!r->o->quiet)
        report_summary(r, stdout, res, n, verdict);
    if (r->live) { /* the reply to down */
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            report_summary(r, f, res, n, verdict);
            fclose(f);
            live_summary(r, text);
            free(text);
        }
    }
    if (r->o->result) {
        struct run_result *out = r->o->result;
        for (int i = 0; i < n && i < RUN_MAX_CHECKS; i++) {
            struct run_check *c = &out->c[out->n++];
            snprintf(c->name, sizeof(c->name), "%s", res[i].name);
            c->fail = !strcmp(res[i].status, "fail");
            c->seen = res[i].seen;
            snprintf(c->detail, sizeof(c->detail), "%s", res[i].detail);
        }
        snprintf(out->error, sizeof(out->error), "%s", r->invalid);
    }
    report_write(r, res, n, verdict, r->invalid[0] ? r->invalid : NULL);
    snprintf(r->verdict, sizeof(r->verdict), "%s", verdict);
    return status;
}

/* The run's first line: what runs where. */
static void announce(struct run *r)
{
    const struct scenario *s = r->scn;
    if (r->att)
        run_progress(r,
                     "rift: run %s of %s: seed %" PRIu64 ", attached to %s (%s %s), %d "
                     "primaries x %d replicas",
                     r->id, s->file, r->seed, r->att->seeds, r->server_name, r->server_version,
                     s->masters, s->replicas);
    else if (r->hr)
        run_progress(r,
                     "rift: run %s of %s: seed %" PRIu64 ", %d primaries x %d replicas on %d "
                     "hosts of %s",
                     r->id, s->file, r->seed, s->masters, s->replicas, r->hr->hs.n, r->hr->hs.file);
    else
        run_progress(r,
                     "rift: run %s of %s: seed %" PRIu64 ", %s %s, %d primaries x %d replicas, "
                     "namespace %s",
                     r->id, s->file, r->seed, r->server_bin, r->server_version, s->masters,
                     s->replicas, r->netns);
}

int run_scenario(const struct run_opts *o)
{
    static struct scenario scn;
    static struct run R;
    struct run *r = &R;
    char err[768] = "";
    int status;
    struct sigaction sa = {.sa_handler = on_sigint};

    memset(r, 0, sizeof(*r));
    if (o->result) {
        memset(o->result, 0, sizeof(*o->result));
        snprintf(o->result->verdict, sizeof(o->result->verdict), "error");
    }
    r->orig_ns = -1;
    r->o = o;
    r->scn = &scn;
    r->t_start = run_now_ns();
    if (scn_load(&scn, o->scenario_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        if (o->result)
            snprintf(o->result->error, sizeof(o->result->error), "%s", err);
        return 2;
    }
    if (o->app_argc && scn_app_argv(&scn.app, o->app_argc, o->app_argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift: %s\n", err);
        return 2;
    }
    if (o->hosts_file && hr_init(r, &scn, o->hosts_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift: %s\n", err);
        hr_free(r);
        return 2;
    }
    if ((status = att_begin(r, &scn, o->attach, o->hosts_file != NULL)) != 0) {
        hr_free(r);
        return status;
    }
    if ((status = preflight(r, err, sizeof(err))) != 0)
        return status;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((status = make_identity(r, err, sizeof(err))) != 0)
        return rfile_dir_close(&r->report), status;
    announce(r);
    snprintf(r->verdict, sizeof(r->verdict), "error");
    /* rift up, and the program of rift run -- CMD ([app]): the control socket */
    if (setup(r, err, sizeof(err)) < 0 ||
        ((o->live || scn.app.on) && live_open(r, err, sizeof(err)) < 0))
        goto fail;
    r->t_ready = run_now_ns(); /* timeline times count from here */
    {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        r->t_ready_real = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    }
    runaudit_compat_on(r);
    if (runaudit_start(r, err, sizeof(err)) < 0 ||
        (scn.writers > 0 && start_workload(r, err, sizeof(err)) < 0) ||
        timeline(r, err, sizeof(err)) < 0 || run_interrupted || verify(r, err, sizeof(err)) < 0)
        goto fail;
    status = conclude(r);
    goto out;
fail:
    if (run_interrupted) {
        run_progress(r, "interrupted: cleaning up");
        status = 130;
    } else {
        fprintf(stderr, "rift: %s\n", err);
        status = 2;
    }
    teardown(r);
    if (o->report_dir && !run_interrupted)
        report_write(r, NULL, 0, "error", err);
out:
    free(r->shim_stats);
    ts_free(&r->wl.ts);
    for (int i = 0; i < SCN_MAX_PROBES; i++)
        probe_free(&r->probes[i]);
    if (r->audit)
        au_free(r->audit);
    free(r->audit);
    ks_free(&r->cmdtab);
    free(r->round_us);
    rfile_dir_close(&r->report);
    bool remote_left = r->hr && (r->hr->left || r->hr->open);
    hr_free(r);
    att_free(r);
    netns_leave(r);
    rfile_rm_rf(r->tmp);
    if (r->reg_made && r->app.cg.path[0]) /* its cgroup would not go: rift cleanup's */
        run_progress(r, "%s could not be removed: run `rift cleanup`", r->app.cg.path);
    else if (r->reg_made && remote_left)
        run_progress(r, "folders on the hosts could not be removed: run `rift cleanup --hosts %s`",
                     o->hosts_file);
    else if (r->reg_made)
        reg_remove(&r->reg);
    if (o->result) {
        struct run_result *out = o->result;
        snprintf(out->verdict, sizeof(out->verdict), "%s",
                 status == 130 ? "interrupted" : r->verdict);
        if (status == 2 && !out->error[0])
            snprintf(out->error, sizeof(out->error), "%s", err);
        out->seed = r->seed;
        if (r->server_name[0]) /* known once preflight picked it */
            snprintf(out->server, sizeof(out->server), "%s %s", r->server_name, r->server_version);
    }
    run_progress(r, "run %s finished: %s; namespace, processes and temp dir removed", r->id,
                 status == 130 ? "interrupted" : r->verdict);
    live_close(r, status, err);
    return status;
}
