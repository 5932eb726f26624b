/* steps: running the timeline's steps. */
#include "steps.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/ctl.h"
#include "../../proto/pkt.h"
#include "../cluster/nodes.h"
#include "../cluster/observe.h"
#include "../cluster/shimset.h"
#include "../attach/attach.h"
#include "../hosts/hostrun.h"

/* One control request; on failure r->shim_err says why. */
int step_shim_request(struct run *r, const char *line, char *reply, size_t len)
{
    if (r->att && r->att->n_sh)
        return att_shim_request(r, line, reply, len);
    return ctl_request(r->shim_sock, line, reply, len, 10000, r->shim_err, sizeof(r->shim_err));
}

int step_start_shim(struct run *r, char *err, size_t el)
{
    char policy[300], capture[300];
    char *text;
    FILE *f;
    if (r->hr)
        return hr_start_shims(r, err, el);
    if (r->att && r->att->n_sh)
        return att_start_shims(r, err, el);
    snprintf(r->shim_sock, sizeof(r->shim_sock), "%s/shim.sock", r->tmp);
    snprintf(policy, sizeof(policy), "%s/shim.ini", r->tmp);
    snprintf(capture, sizeof(capture), "%s/shim.pcap", r->tmp);
    snprintf(r->shim_log, sizeof(r->shim_log), "%s/shim.log", r->tmp);
    text = scn_policy_text(r->scn, r->shim_sock, capture, r->seed);
    f = text ? fopen(policy, "w") : NULL;
    if (!f) {
        snprintf(err, el, "cannot write %s", policy);
        free(text);
        return -1;
    }
    fputs(text, f);
    fclose(f);
    free(text);
    char *const argv[] = {r->shim_bin, "--policy", policy, NULL};
    const struct proc_opts po = {
        .out = r->shim_log, .started = reg_started, .started_ctx = &r->reg, .role = "shim"};
    r->shim_pid = proc_start(argv, &po);
    if (r->shim_pid < 0) {
        r->shim_pid = 0;
        snprintf(err, el, "cannot start %s", r->shim_bin);
        return -1;
    }
    switch (shimset_wait(r->shim_pid, r->shim_sock, r->shim_log, err, el)) {
    case 0:
        return 0;
    case -1:
        r->shim_pid = 0; /* exited and reaped */
        return -1;
    default:
        return -1; /* teardown stops it */
    }
}

bool step_migrations_done(const struct run *r)
{
    for (int i = 0; i < r->n_mig; i++)
        if (!r->mig[i].done)
            return false;
    return true;
}

void step_join_migrations(struct run *r)
{
    for (int i = 0; i < r->n_mig; i++) {
        struct migration *m = &r->mig[i];
        if (m->th) {
            mig_join(m);
            m->th = 0;
            run_progress(
                r, "migration %d-%d: %d slots, %ld keys moved in %" PRIu64 " ms, %d retries%s%s",
                m->lo, m->hi, m->slots_moved, m->keys_moved, m->ms, m->retries,
                m->error[0] ? ", last error: " : "", m->error);
        }
    }
}

/* restart NODE: stop it if it runs, start it again with its nodes.conf. */
static int step_restart(struct run *r, const struct scn_step *st, char *err, size_t el)
{
    struct node_rt *n = &r->nodes[st->node];
    if (!n->down)
        node_down(r, st->node, "stopped by the restart at %.3f s", (double)run_ms(r) / 1000.0);
    /* a server killed a moment ago may still hold its port: wait for it */
    if (r->hr) {
        if (hr_node_stop(r, st->node, 5000, err, el) < 0)
            return -1;
    } else if (r->att) {
        if (att_node_stop(r, st->node, 5000, err, el) < 0)
            return -1;
    } else if (n->pid > 0)
        proc_stop(n->pid, 5000);
    n->pid = 0;
    if (n->admin) {
        redisFree(n->admin);
        n->admin = NULL;
    }
    return node_start(r, st->node, err, el);
}

/* wait converged: at most converge_within (or 60 s); a cluster that does
 * not converge is a finding of the convergence check, not an error. */
bool step_wait_converged_within(struct run *r, uint64_t limit, char *why, size_t wl)
{
    uint64_t end = run_now_ns() + limit;
    bool ok = false;
    snprintf(why, wl, "interrupted");
    while (!run_interrupted && run_now_ns() < end) {
        obs_sample(r, true);
        obs_reap_nodes(r);
        if (step_migrations_done(r) && (ok = obs_converged(r, why, wl)))
            break;
        run_sleep_ms(SAMPLE_MS);
    }
    if (ok)
        step_join_migrations(r);
    return ok;
}

static void step_wait_converged(struct run *r, char *line, size_t ll)
{
    const struct scenario *s = r->scn;
    char why[256];
    uint64_t limit = s->check.converge_within_ns ? s->check.converge_within_ns : 60000000000ull;
    bool ok = step_wait_converged_within(r, limit, why, sizeof(why));
    if (!ok) /* the migrations go on: the timeline waits for them here */
        step_join_migrations(r);
    if (ok)
        snprintf(line, ll, "wait converged");
    else
        snprintf(line, ll, "wait converged: gave up after %.1f s (%s)", (double)limit / 1e9, why);
}

/* migrate LO-HI SRC DST: in a thread of its own, under load. */
static int step_migrate(struct run *r, const struct scn_step *st, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    struct migration *m;
    if (r->n_mig == 8) {
        snprintf(err, el, "at most 8 migrations per run");
        return -1;
    }
    if (st->atomic) { /* the server must have it: a scenario it cannot run is rift's error */
        redisReply *rep = node_cmd(r, st->src, "COMMAND INFO cluster|migrateslots");
        bool has = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
                   rep->element[0]->type == REDIS_REPLY_ARRAY;
        if (rep)
            freeReplyObject(rep);
        if (!has) {
            snprintf(err, el,
                     "migrate ... atomic: %s %s has no CLUSTER MIGRATESLOTS (atomic slot "
                     "migration is Valkey 9.0 or later)",
                     r->server_name, r->server_version);
            return -1;
        }
    }
    m = &r->mig[r->n_mig];
    memset(m, 0, sizeof(*m));
    m->lo = st->slot_lo;
    m->hi = st->slot_hi;
    m->atomic = st->atomic;
    run_source(r, SCN_ADMIN_IP, m->source, sizeof(m->source));
    snprintf(m->pass, sizeof(m->pass), "%s", r->password);
    run_node_addr(r, st->src, m->src_addr, sizeof(m->src_addr));
    run_node_addr(r, st->dst, m->dst_addr, sizeof(m->dst_addr));
    memcpy(m->src_id, r->nodes[st->src].id, sizeof(m->src_id));
    memcpy(m->dst_id, r->nodes[st->dst].id, sizeof(m->dst_id));
    for (int k = 0; k < s->n_nodes && m->n_others < MIG_MAX_PRIMARIES; k++)
        if (k != st->src && k != st->dst)
            run_node_addr(r, k, m->others[m->n_others++], sizeof(m->others[0]));
    if (mig_start(m) < 0) {
        snprintf(err, el, "cannot start the migration thread");
        return -1;
    }
    r->n_mig++;
    return 0;
}

void step_record(struct run *r, const char *line, const char *skipped)
{
    struct step_rec *rec = &r->steps[r->steps_done];
    rec->t_ms = run_ms(r);
    snprintf(rec->step, sizeof(rec->step), "%s", line);
    snprintf(rec->skipped, sizeof(rec->skipped), "%s", skipped);
}

int step_run(struct run *r, const struct scn_step *st, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    char line[160], reply[512] = "", skip[160] = "";
    /* exits since the last sample are recorded before a step acts on a node */
    if (r->hr && hr_reap(r) < 0) {
        snprintf(err, el, "%s", r->unseen);
        return -1;
    }
    obs_reap_nodes(r);
    switch (st->kind) {
    case STEP_FAULT:
        snprintf(line, sizeof(line), "%s %s", st->on ? "on" : "off",
                 s->faults.rules[st->fault].name);
        if (r->hr) {
            if (hr_shim_request(r, line, err, el) < 0)
                return -1;
        } else if (step_shim_request(r, line, reply, sizeof(reply)) < 0) {
            snprintf(err, el, "rift-shim: %s: %s", line, r->shim_err);
            return -1;
        }
        if (!r->hr && strcmp(reply, "ok") != 0) {
            snprintf(err, el, "rift-shim: %s: %s", line, reply);
            return -1;
        }
        snprintf(line, sizeof(line), "fault %s %s", s->faults.rules[st->fault].name,
                 st->on ? "on" : "off");
        break;
    case STEP_FAILOVER: {
        char cmd[64];
        snprintf(line, sizeof(line), "failover %s%s%s", s->names[st->node], st->mode[0] ? " " : "",
                 st->mode);
        if (!node_usable(r, st->node, skip, sizeof(skip)))
            break;
        snprintf(cmd, sizeof(cmd), "CLUSTER FAILOVER%s%s", st->mode[0] ? " " : "", st->mode);
        /* The server's refusal (a node that is a primary by now) is what the
         * cluster did; no reply at all is rift's trouble. */
        redisReply *rep = node_words(r, st->node, cmd);
        if (!rep) {
            snprintf(err, el, "%s on %s: no reply", cmd, s->names[st->node]);
            return -1;
        }
        if (rep->type == REDIS_REPLY_ERROR)
            snprintf(skip, sizeof(skip), "%s refused: %.120s", s->names[st->node], rep->str);
        freeReplyObject(rep);
        break;
    }
    case STEP_KILL:
    case STEP_PAUSE:
    case STEP_RESUME: {
        int sig = st->kind == STEP_KILL ? SIGKILL : st->kind == STEP_PAUSE ? SIGSTOP : SIGCONT;
        int rc = node_signal(r, st->node, sig, skip, sizeof(skip));
        snprintf(line, sizeof(line), "%s %s",
                 st->kind == STEP_KILL    ? "kill"
                 : st->kind == STEP_PAUSE ? "pause"
                                          : "resume",
                 s->names[st->node]);
        if (rc < 0) {
            snprintf(err, el, "%s: %s", line, skip);
            return -1;
        }
        if (rc == 0 && st->kind == STEP_KILL)
            node_down(r, st->node, "killed by the step at %.3f s", (double)run_ms(r) / 1000.0);
        if (rc == 0)
            r->nodes[st->node].paused = st->kind == STEP_PAUSE;
        break;
    }
    case STEP_RESTART:
        snprintf(line, sizeof(line), "restart %s", s->names[st->node]);
        if (step_restart(r, st, err, el) < 0)
            return -1;
        break;
    case STEP_WAIT_CONVERGED:
        step_wait_converged(r, line, sizeof(line));
        break;
    case STEP_MIGRATE:
        if (step_migrate(r, st, err, el) < 0)
            return -1;
        snprintf(line, sizeof(line), "migrate %d-%d %s %s%s (started)", st->slot_lo, st->slot_hi,
                 s->names[st->src], s->names[st->dst], st->atomic ? " atomic" : "");
        break;
    default:
        snprintf(err, el, "unknown step");
        return -1;
    }
    step_record(r, line, skip);
    if (skip[0])
        run_progress(r, "step %s: skipped: %s", line, skip);
    else
        run_progress(r, "step %s", line);
    return 0;
}
