/* attshim: an attached cluster whose nodes are in containers, each in a
 * network namespace of its own (attach.h): one rift-shim in each, since
 * a packet is queued where it arrives. */
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../proto/ctl.h"
#include "../../proto/pstat.h"
#include "../cluster/shimset.h"
#include "../sys/proc.h"
#include "../sys/registry.h"

/* What a cluster off the loopback (in containers) cannot have: rift's
 * own connections come from the host's address on the containers'
 * network, where no shim runs and which the observer shares. */
int att_far_check(const struct scenario *scn, char *err, size_t el)
{
    uint64_t pseudo = UINT64_C(3) << scn->n_nodes;
    const char *why = scn->app.on ? "[app]"
                      : scn->check.crossslot == SCN_FORBID || scn->expect.crossslot
                          ? "the crossslot audit"
                          : NULL;
    if (why)
        return snprintf(err, el,
                        "%s: %s reads the loopback; the nodes of this cluster are off it (in "
                        "containers): not with such a cluster yet",
                        scn->file, why),
               -1;
    for (int k = 0; k < scn->faults.n_rules; k++)
        if ((scn->faults.rules[k].from | scn->faults.rules[k].to) & pseudo)
            return snprintf(err, el,
                            "%s:%d: fault %s names clients or app: with the nodes in "
                            "containers rift's clients reach them from the host, where no "
                            "shim runs",
                            scn->file, scn->faults.rules[k].line, scn->faults.rules[k].name),
                   -1;
    for (int k = 0; k < scn->n_steps; k++)
        if (scn->steps[k].kind == STEP_KILL || scn->steps[k].kind == STEP_RESTART)
            return snprintf(err, el,
                            "%s:%d: %s %s: a node in a container is started by its container "
                            "engine, not by rift (pause and resume are signals, and work)",
                            scn->file, scn->steps[k].line,
                            scn->steps[k].kind == STEP_KILL ? "kill" : "restart",
                            scn->names[scn->steps[k].node]),
                   -1;
    return 0;
}

int att_group_netns(struct run *r, char *err, size_t el)
{
    struct attach *a = r->att;
    a->n_sh = 0;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        int g;
        if (!a->n[i].pid)
            return snprintf(err, el,
                            "%s (%s): no process of this machine was found listening on its "
                            "port, in any network namespace",
                            r->scn->names[i], a->n[i].id),
                   -1;
        for (g = 0; g < a->n_sh && a->sh[g].netns != a->n[i].netns; g++)
            ;
        if (g == a->n_sh) {
            a->sh[g].netns = a->n[i].netns;
            a->sh[g].node = i;
            a->n_sh++;
        }
    }
    return 0;
}

/* /proc/PID/ns/net of node i's process, opened while that process runs:
 * the descriptor, or -1 with err. */
static int open_netns(struct run *r, int i, char *err, size_t el)
{
    const struct att_node *n = &r->att->n[i];
    char path[64];
    int fd;
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)n->pid);
    fd = pstat_alive_since(n->pid, n->start) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    /* still the process found: the namespace is the node's */
    if (fd >= 0 && pstat_alive_since(n->pid, n->start))
        return fd;
    if (fd >= 0)
        close(fd);
    return snprintf(err, el, "%s: its process %d is gone: cannot enter its network namespace",
                    r->scn->names[i], (int)n->pid),
           -1;
}

static int start_one(struct run *r, struct att_shim *sh, int g, char *err, size_t el)
{
    const char *name = r->scn->names[sh->node];
    char policy[300];
    struct stat own, theirs;
    char *text;
    FILE *f;
    int fd = -1, rc;
    snprintf(sh->sock, sizeof(sh->sock), "%s/shim-%s.sock", r->tmp, name);
    snprintf(sh->log, sizeof(sh->log), "%s/shim-%s.log", r->tmp, name);
    snprintf(sh->pcap, sizeof(sh->pcap), "%s/shim-%s.pcap", r->tmp, name);
    snprintf(policy, sizeof(policy), "%s/shim-%s.ini", r->tmp, name);
    text = scn_policy_text(r->scn, sh->sock, sh->pcap, r->seed + (uint64_t)g);
    if (!text || !(f = fopen(policy, "w"))) {
        free(text);
        return snprintf(err, el, "cannot write %s", policy), -1;
    }
    fputs(text, f);
    free(text);
    if (fclose(f) != 0)
        return snprintf(err, el, "cannot write %s", policy), -1;
    /* rift's own namespace needs no entering */
    if (stat("/proc/self/ns/net", &own) < 0 || (uint64_t)own.st_ino != sh->netns) {
        if ((fd = open_netns(r, sh->node, err, el)) < 0)
            return -1;
        if (fstat(fd, &theirs) < 0 || (uint64_t)theirs.st_ino != sh->netns) {
            close(fd);
            return snprintf(err, el, "%s: its network namespace changed since it was found", name),
                   -1;
        }
    }
    char *const argv[] = {r->shim_bin, "--policy", policy, NULL};
    const struct proc_opts po = {.out = sh->log,
                                 .netns = fd >= 0 ? &fd : NULL,
                                 .started = reg_started,
                                 .started_ctx = &r->reg,
                                 .role = "shim"};
    sh->pid = proc_start(argv, &po);
    if (fd >= 0)
        close(fd);
    if (sh->pid < 0) {
        sh->pid = 0;
        return snprintf(err, el, "cannot start %s", r->shim_bin), -1;
    }
    rc = shimset_wait(sh->pid, sh->sock, sh->log, err, el);
    if (rc == -1)
        sh->pid = 0;
    if (rc < 0) {
        char e2[600];
        snprintf(e2, sizeof(e2), "the shim in %s's network namespace: %s", name, err);
        snprintf(err, el, "%s", e2);
        return -1;
    }
    run_progress(r, "rift-shim in the network namespace of %s (inode %llu): pid %d", name,
                 (unsigned long long)sh->netns, (int)sh->pid);
    return 0;
}

int att_start_shims(struct run *r, char *err, size_t el)
{
    for (int g = 0; g < r->att->n_sh; g++)
        if (start_one(r, &r->att->sh[g], g, err, el) < 0)
            return -1;
    snprintf(r->shim_sock, sizeof(r->shim_sock), "%s", r->att->sh[0].sock);
    return 0;
}

int att_shim_request(struct run *r, const char *line, char *reply, size_t len)
{
    char rep[4096], e[512];
    bool told = false;
    snprintf(reply, len, "ok");
    for (int g = 0; g < r->att->n_sh; g++) {
        const struct att_shim *sh = &r->att->sh[g];
        if (!sh->pid)
            continue;
        if (ctl_request(sh->sock, line, rep, sizeof(rep), 10000, e, sizeof(e)) < 0) {
            snprintf(r->shim_err, sizeof(r->shim_err), "the shim in %s's network namespace: %s",
                     r->scn->names[sh->node], e);
            return -1;
        }
        if (!told && strcmp(rep, "ok") != 0) {
            snprintf(reply, len, "%s", rep);
            told = true;
        }
    }
    return 0;
}

void att_stop_shims(struct run *r)
{
    struct attach *a = r->att;
    pid_t pids[SCN_MAX_NODES];
    int ms[SCN_MAX_NODES], st[SCN_MAX_NODES];
    const char *names[SCN_MAX_NODES];
    char *stats[SCN_MAX_NODES], e[512];
    bool all = a->n_sh > 0;
    for (int g = 0; g < a->n_sh; g++) {
        struct att_shim *sh = &a->sh[g];
        char *reply = sh->pid ? malloc(CTL_REPLY_MAX) : NULL;
        names[g] = r->scn->names[sh->node];
        if (reply &&
            ctl_request(sh->sock, "stats", reply, CTL_REPLY_MAX, 10000, e, sizeof(e)) == 0 &&
            reply[0] == '{') {
            free(sh->stats);
            sh->stats = reply;
        } else {
            free(reply);
            /* one namespace's counters missing: nothing vouches that its
             * faults were applied in full */
            if (all)
                snprintf(r->shim_err, sizeof(r->shim_err), "the shim in %s's network namespace: %s",
                         names[g], sh->pid ? e : "not running");
            all = false;
        }
        stats[g] = sh->stats;
        pids[g] = sh->pid;
        ms[g] = 5000;
    }
    if (all) {
        free(r->shim_stats);
        r->shim_stats = shimset_combine("namespaces", stats, names, a->n_sh);
    }
    proc_stop_all(pids, ms, st, a->n_sh);
    for (int g = 0; g < a->n_sh; g++)
        a->sh[g].pid = 0;
}

void att_decode_bus(struct run *r)
{
    static struct shimset_bus b;
    b.n = r->att->n_sh;
    b.what = b.n == 1 ? "network namespace" : "network namespaces";
    for (int g = 0; g < b.n; g++) {
        b.pcaps[g] = r->att->sh[g].pcap;
        b.names[g] = r->scn->names[r->att->sh[g].node];
        b.base[g] = r->t_ready_real;
    }
    shimset_decode_bus(r, &b);
}
