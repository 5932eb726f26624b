/* run: orchestration of one scenario run. Single-threaded: a loop that runs
 * timeline steps when they are due and samples every node's view every
 * SAMPLE_MS in between. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proto/ctl.h"
#include "../proto/pkt.h"
#include "decode.h"
#include "../policies/esc.h"
#include "migrate.h"
#include "need.h"
#include "probes.h"
#include "proc.h"
#include "workload.h"
#include "view.h"

#define SAMPLE_MS 20
#define SUMMARY_ROWS 8
#define MAX_OBS 512
#define SETTLE_DEFAULT_NS 15000000000ull

struct node_rt {
    pid_t pid;          /* an unreaped child of ours, or 0 */
    bool down;          /* a step stopped it on purpose, or it exited */
    bool paused;
    char down_why[96];  /* how it went down, for steps skipped on it */
    char dir[300], log[340], id[41];
    redisContext *admin;
    struct view view;   /* last sample */
    bool have_view;
};

/* A timeline step as it ran: skipped (with the reason) when its node was
 * not there to act on. */
struct step_rec {
    int64_t t_ms;
    char step[160];
    char skipped[160];
};

struct obs {
    char check[16];
    char observer[16];
    char what[256];
    int64_t first_ms, last_ms;
    int samples;
};

struct run {
    const struct scenario *scn;
    const struct run_opts *o;
    uint64_t seed;
    char id[16], netns[32], tmp[256], server_bin[POL_PATH_MAX], server_version[64];
    char server_name[32];        /* redis | redis8 | valkey | path */
    /* How to start a server: for trixie's, its own loader, the library
     * path and the name the binary must see as argv[0]. */
    char launch[5][POL_PATH_MAX];
    int n_launch;
    struct registry reg;
    int orig_ns;
    bool ns_made, reg_made;
    struct node_rt nodes[SCN_MAX_NODES];
    pid_t shim_pid;
    char shim_sock[300], shim_bin[POL_PATH_MAX + 16], shim_log[300], shim_err[512];
    char invalid[512];           /* why the verdict does not count, or "" */
    uint64_t t_start, t_ready;
    double t_ready_real;         /* t_ready on CLOCK_REALTIME (pcap times) */
    FILE *views;
    struct obs obs[MAX_OBS];
    int n_obs;
    int64_t last_step_ms, converged_ms;
    int steps_done;
    struct step_rec steps[SCN_MAX_STEPS];
    char *shim_stats;
    struct workload wl;
    bool wl_running;
    struct wl_result wl_res;
    struct migration mig[8];
    int n_mig;
    struct probe_rt probes[SCN_MAX_PROBES];
    bool probes_started;
    int64_t first_fault_ms;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t run_ms(const struct run *r)
{
    return r->t_ready ? (int64_t)(now_ns() - r->t_ready) / 1000000 : 0;
}

static void progress(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct run *r, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[%8.3f] ", (double)(now_ns() - r->t_start) / 1e9);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void node_addr(int i, char *out, size_t len)
{
    char ip[32];
    pkt_addr(SCN_NODE_IP(i), ip, sizeof(ip));
    snprintf(out, len, "%s:%d", ip, SCN_PORT);
}

/* ---- namespace ---- */

static int enter_netns(struct run *r, char *err, size_t el)
{
    char path[64];
    int fd;
    char *const add[] = {"ip", "netns", "add", r->netns, NULL};
    if (proc_run(add) != 0) {
        snprintf(err, el, "ip netns add %s failed", r->netns);
        return -1;
    }
    r->ns_made = true;
    r->orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof(path), "/run/netns/%s", r->netns);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        snprintf(err, el, "cannot enter %s: %s", r->netns, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    char *const up[] = {"ip", "link", "set", "lo", "up", NULL};
    if (proc_run(up) != 0) {
        snprintf(err, el, "ip link set lo up failed in %s", r->netns);
        return -1;
    }
    return 0;
}

static void leave_netns(struct run *r)
{
    if (r->orig_ns >= 0) {
        setns(r->orig_ns, CLONE_NEWNET);
        close(r->orig_ns);
        r->orig_ns = -1;
    }
    if (r->ns_made) {
        char *const del[] = {"ip", "netns", "delete", r->netns, NULL};
        proc_run(del);
        r->ns_made = false;
    }
}

/* ---- redis connections ---- */

static redisContext *connect_node(int i, int timeout_ms)
{
    char addr[32], src[32];
    node_addr(i, addr, sizeof(addr));
    pkt_addr(SCN_ADMIN_IP, src, sizeof(src));
    return cc_connect(addr, src, timeout_ms);
}

/* A command on node i's admin connection; reconnects once. Returns the
 * reply (caller frees) or NULL. */
static redisReply *node_cmd(struct run *r, int i, const char *fmt, ...)
{
    struct node_rt *n = &r->nodes[i];
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *rep;
        va_list ap;
        if (!n->admin && !(n->admin = connect_node(i, 500)))
            return NULL;
        va_start(ap, fmt);
        rep = redisvCommand(n->admin, fmt, ap);
        va_end(ap);
        if (rep)
            return rep;
        redisFree(n->admin);
        n->admin = NULL;
    }
    return NULL;
}

/* A command given as one string of space-separated words. */
static redisReply *node_words(struct run *r, int i, const char *cmd)
{
    struct node_rt *n = &r->nodes[i];
    char buf[512], *argv[16], *save = NULL;
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", cmd);
    for (char *t = strtok_r(buf, " ", &save); t && argc < 16; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *rep;
        if (!n->admin && !(n->admin = connect_node(i, 500)))
            return NULL;
        rep = redisCommandArgv(n->admin, argc, (const char **)argv, NULL);
        if (rep)
            return rep;
        redisFree(n->admin);
        n->admin = NULL;
    }
    return NULL;
}

static bool node_ok(struct run *r, int i, const char *cmd, char *err, size_t el)
{
    redisReply *rep = node_words(r, i, cmd);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(err, el, "%s on %s: %s", cmd, r->scn->names[i],
                 rep ? rep->str : "no reply");
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* ---- nodes ---- */

static int start_node(struct run *r, int i, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    struct node_rt *n = &r->nodes[i];
    char ip[32], port[16], timeout[16], conf[340];
    char *argv[32 + 2 * SCN_MAX_CONF];
    int a = 0;
    pkt_addr(SCN_NODE_IP(i), ip, sizeof(ip));
    snprintf(port, sizeof(port), "%d", SCN_PORT);
    snprintf(timeout, sizeof(timeout), "%d", s->node_timeout_ms);
    snprintf(conf, sizeof(conf), "%s/nodes.conf", n->dir);
    for (int k = 0; k < r->n_launch; k++)
        argv[a++] = r->launch[k];
    if (r->n_launch > 1)
        argv[a++] = r->server_bin;
    argv[a++] = "--bind";
    argv[a++] = ip;
    argv[a++] = "--bind-source-addr";
    argv[a++] = ip;
    argv[a++] = "--port";
    argv[a++] = port;
    argv[a++] = "--cluster-enabled";
    argv[a++] = "yes";
    argv[a++] = "--cluster-config-file";
    argv[a++] = conf;
    argv[a++] = "--cluster-node-timeout";
    argv[a++] = timeout;
    argv[a++] = "--protected-mode";
    argv[a++] = "no";
    argv[a++] = "--save";
    argv[a++] = "";
    argv[a++] = "--appendonly";
    argv[a++] = "no";
    argv[a++] = "--dir";
    argv[a++] = n->dir;
    argv[a++] = "--logfile";
    argv[a++] = n->log;
    argv[a++] = "--daemonize";
    argv[a++] = "no";
    /* Replicas sync at once instead of after the default 5 s. */
    argv[a++] = "--repl-diskless-sync-delay";
    argv[a++] = "0";
    char opt[SCN_MAX_CONF][132];
    for (int k = 0; k < s->n_conf; k++) {
        snprintf(opt[k], sizeof(opt[k]), "--%s", s->conf[k][0]);
        argv[a++] = opt[k];
        argv[a++] = (char *)s->conf[k][1];
    }
    argv[a] = NULL;
    char role[32];
    snprintf(role, sizeof(role), "server:%s", s->names[i]);
    n->pid = proc_spawn_reg(&r->reg, role, argv, NULL, NULL, NULL);
    if (n->pid < 0) {
        n->pid = 0;
        snprintf(err, el, "cannot start %s: %s", s->names[i], strerror(errno));
        return -1;
    }
    n->down = false;
    n->paused = false;
    return 0;
}

static bool wait_until(struct run *r, bool (*pred)(struct run *, char *, size_t), int ms,
                       char *why, size_t wl)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;
    while (now_ns() < end && !interrupted) {
        if (pred(r, why, wl))
            return true;
        sleep_ms(20);
    }
    return false;
}

static bool all_answer(struct run *r, char *why, size_t wl)
{
    for (int i = 0; i < r->scn->n_nodes; i++) {
        redisReply *rep = node_cmd(r, i, "PING");
        bool ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep)
            freeReplyObject(rep);
        if (!ok) {
            snprintf(why, wl, "%s does not answer PING", r->scn->names[i]);
            return false;
        }
    }
    return true;
}

static bool sample_views(struct run *r, bool record);

static bool all_know_all(struct run *r, char *why, size_t wl)
{
    sample_views(r, false);
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (!r->nodes[i].have_view || r->nodes[i].view.n != r->scn->n_nodes) {
            snprintf(why, wl, "%s knows %d of %d nodes", r->scn->names[i],
                     r->nodes[i].have_view ? r->nodes[i].view.n : 0, r->scn->n_nodes);
            return false;
        }
    return true;
}

static bool converged_now(struct run *r, char *why, size_t wl)
{
    const struct view *vs[SCN_MAX_NODES];
    int n = 0;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        if (r->nodes[i].down || r->nodes[i].paused)
            continue;
        if (!r->nodes[i].have_view) {
            snprintf(why, wl, "no view from %s", r->scn->names[i]);
            return false;
        }
        vs[n++] = &r->nodes[i].view;
    }
    return view_converged(vs, n, why, wl);
}

static bool cluster_ready(struct run *r, char *why, size_t wl)
{
    sample_views(r, false);
    if (!converged_now(r, why, wl))
        return false;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        redisReply *rep;
        bool up;
        if (r->scn->primary_of[i] < 0)
            continue;
        rep = node_cmd(r, i, "INFO replication");
        up = rep && rep->type == REDIS_REPLY_STRING && strstr(rep->str, "master_link_status:up");
        if (rep)
            freeReplyObject(rep);
        if (!up) {
            snprintf(why, wl, "%s has not synced with its primary", r->scn->names[i]);
            return false;
        }
    }
    return true;
}

static int build_cluster(struct run *r, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    char why[256], ip[32];
    pkt_addr(SCN_NODE_IP(0), ip, sizeof(ip));
    if (!wait_until(r, all_answer, 10000, why, sizeof(why))) {
        snprintf(err, el, "servers did not start within 10 s: %s", why);
        return -1;
    }
    for (int i = 0; i < s->n_nodes; i++) {
        redisReply *rep = node_cmd(r, i, "CLUSTER MYID");
        if (!rep || rep->type != REDIS_REPLY_STRING) {
            snprintf(err, el, "CLUSTER MYID on %s failed (is it a cluster-enabled server?)",
                     s->names[i]);
            if (rep)
                freeReplyObject(rep);
            return -1;
        }
        snprintf(r->nodes[i].id, sizeof(r->nodes[i].id), "%s", rep->str);
        freeReplyObject(rep);
    }
    for (int i = 1; i < s->n_nodes; i++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "CLUSTER MEET %s %d", ip, SCN_PORT);
        if (!node_ok(r, i, cmd, err, el))
            return -1;
    }
    for (int m = 0; m < s->masters; m++) {
        int lo = (int)((long)VIEW_SLOTS * m / s->masters);
        int hi = (int)((long)VIEW_SLOTS * (m + 1) / s->masters) - 1;
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "CLUSTER ADDSLOTSRANGE %d %d", lo, hi);
        if (!node_ok(r, m, cmd, err, el))
            return -1;
    }
    if (!wait_until(r, all_know_all, 20000, why, sizeof(why))) {
        snprintf(err, el, "nodes did not meet within 20 s: %s", why);
        return -1;
    }
    for (int i = 0; i < s->n_nodes; i++) {
        char cmd[96];
        if (s->primary_of[i] < 0)
            continue;
        snprintf(cmd, sizeof(cmd), "CLUSTER REPLICATE %s", r->nodes[s->primary_of[i]].id);
        if (!node_ok(r, i, cmd, err, el))
            return -1;
    }
    if (!wait_until(r, cluster_ready, 30000, why, sizeof(why))) {
        snprintf(err, el, "the cluster did not converge within 30 s: %s", why);
        return -1;
    }
    return 0;
}

/* ---- observations ---- */

static void observe(struct run *r, const char *check, const char *observer, const char *what)
{
    int64_t t = run_ms(r);
    for (int i = r->n_obs - 1; i >= 0; i--) {
        struct obs *o = &r->obs[i];
        if (!strcmp(o->check, check) && !strcmp(o->observer, observer) &&
            !strcmp(o->what, what)) {
            o->last_ms = t;
            o->samples++;
            return;
        }
    }
    if (r->n_obs == MAX_OBS)
        return;
    struct obs *o = &r->obs[r->n_obs++];
    snprintf(o->check, sizeof(o->check), "%s", check);
    snprintf(o->observer, sizeof(o->observer), "%s", observer);
    snprintf(o->what, sizeof(o->what), "%s", what);
    o->first_ms = o->last_ms = t;
    o->samples = 1;
    if (strcmp(observer, "ledger") != 0)
        progress(r, "%s seen by %s: %s", check, observer, what);
}

static const char *name_of(const struct run *r, const char *id)
{
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (!strcmp(r->nodes[i].id, id))
            return r->scn->names[i];
    return "?";
}

static void analyse(struct run *r, int i)
{
    const struct view *v = &r->nodes[i].view;
    const char *me = r->scn->names[i];
    int cyc[VIEW_MAX_NODES], len;
    uint16_t ranges[16][2];
    int nr, lost;
    char what[256];
    size_t off = 0;

    len = view_cycle(v, cyc, VIEW_MAX_NODES);
    if (len > 0) {
        for (int k = 0; k < len && off < sizeof(what) - 40; k++)
            off += (size_t)snprintf(what + off, sizeof(what) - off, "%s -> ",
                                    name_of(r, v->nodes[cyc[k]].id));
        snprintf(what + off, sizeof(what) - off, "%s", name_of(r, v->nodes[cyc[0]].id));
        observe(r, "cycles", me, what);
    }
    lost = view_lost_slots(v, ranges, 16, &nr);
    if (lost > 0) {
        off = 0;
        for (int k = 0; k < nr && k < 16 && off < sizeof(what) - 40; k++)
            off += (size_t)snprintf(what + off, sizeof(what) - off, "%s%u-%u", k ? "," : "",
                                    ranges[k][0], ranges[k][1]);
        if (nr > 16)
            snprintf(what + off, sizeof(what) - off, ",...");
        observe(r, "lost_slots", me, what);
    }
}

/* One round: CLUSTER NODES and cluster_state of every live node. */
static bool sample_views(struct run *r, bool record)
{
    int64_t t = run_ms(r);
    bool all = true;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        struct node_rt *n = &r->nodes[i];
        redisReply *nodes, *info;
        char err[256];
        if (n->down || n->paused) {
            n->have_view = false;
            continue;
        }
        nodes = node_cmd(r, i, "CLUSTER NODES");
        info = nodes ? node_cmd(r, i, "CLUSTER INFO") : NULL;
        if (!nodes || nodes->type != REDIS_REPLY_STRING || !info ||
            info->type != REDIS_REPLY_STRING ||
            view_parse(&n->view, nodes->str, err, sizeof(err)) < 0) {
            n->have_view = false;
            all = false;
        } else {
            n->have_view = true;
            n->view.state_ok = strstr(info->str, "cluster_state:ok") != NULL;
            if (record) {
                if (r->views) {
                    fprintf(r->views, "{\"t_ms\":%" PRId64 ",\"node\":\"%s\",\"state\":\"%s\","
                                      "\"nodes\":",
                            t, r->scn->names[i], n->view.state_ok ? "ok" : "fail");
                    esc_json(r->views, nodes->str);
                    fputs("}\n", r->views);
                }
                analyse(r, i);
            }
        }
        if (nodes)
            freeReplyObject(nodes);
        if (info)
            freeReplyObject(info);
    }
    return all;
}

/* ---- shim ---- */

/* One control request; on failure r->shim_err says why. */
static int shim_request(struct run *r, const char *line, char *reply, size_t len)
{
    return ctl_request(r->shim_sock, line, reply, len, 10000, r->shim_err, sizeof(r->shim_err));
}

static int start_shim(struct run *r, char *err, size_t el)
{
    char policy[300], capture[300];
    char *text;
    FILE *f;
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
    r->shim_pid = proc_spawn_reg(&r->reg, "shim", argv, r->shim_log, NULL, NULL);
    if (r->shim_pid < 0) {
        r->shim_pid = 0;
        snprintf(err, el, "cannot start %s", r->shim_bin);
        return -1;
    }
    for (int waited = 0; waited < 10000; waited += 20) {
        if (proc_reap(r->shim_pid, NULL)) {
            FILE *lf = fopen(r->shim_log, "r");
            char line[512] = "";
            if (lf) {
                if (!fgets(line, sizeof(line), lf))
                    line[0] = '\0';
                fclose(lf);
            }
            line[strcspn(line, "\n")] = '\0';
            snprintf(err, el, "rift-shim exited: %s", line);
            r->shim_pid = 0;
            return -1;
        }
        char *reply = malloc(CTL_REPLY_MAX);
        int rc = reply ? shim_request(r, "stats", reply, CTL_REPLY_MAX) : -1;
        free(reply);
        if (rc == 0)
            return 0;
        sleep_ms(20);
    }
    snprintf(err, el, "rift-shim did not answer on %s within 10 s", r->shim_sock);
    return -1;
}

/* ---- steps ---- */


static bool migrations_done(const struct run *r)
{
    for (int i = 0; i < r->n_mig; i++)
        if (!r->mig[i].done)
            return false;
    return true;
}

static void join_migrations(struct run *r)
{
    for (int i = 0; i < r->n_mig; i++) {
        struct migration *m = &r->mig[i];
        if (m->th) {
            mig_join(m);
            m->th = 0;
            progress(r, "migration %d-%d: %d slots, %ld keys moved in %" PRIu64 " ms, %d retries%s%s",
                     m->lo, m->hi, m->slots_moved, m->keys_moved, m->ms, m->retries,
                     m->error[0] ? ", last error: " : "", m->error);
        }
    }
}

static void reap_nodes(struct run *r);

static void node_down(struct run *r, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void node_down(struct run *r, int i, const char *fmt, ...)
{
    va_list ap;
    r->nodes[i].down = true;
    va_start(ap, fmt);
    vsnprintf(r->nodes[i].down_why, sizeof(r->nodes[i].down_why), fmt, ap);
    va_end(ap);
}

/* A step can act on node i: it runs and is not paused. */
static bool node_usable(struct run *r, int i, char *why, size_t wl)
{
    const struct node_rt *n = &r->nodes[i];
    reap_nodes(r);
    if (n->down || n->pid <= 0) {
        snprintf(why, wl, "%s is not running (%s)", r->scn->names[i],
                 n->down_why[0] ? n->down_why : "down");
        return false;
    }
    if (n->paused) {
        snprintf(why, wl, "%s is paused", r->scn->names[i]);
        return false;
    }
    return true;
}

/* Signal node i's server, only if it is a live child of this run: a PID of
 * 0 or of a process that exited must never reach kill(2). */
static bool node_signal(struct run *r, int i, int sig, char *why, size_t wl)
{
    const struct node_rt *n = &r->nodes[i];
    int rc;
    reap_nodes(r);
    if (n->down || n->pid <= 0) {
        snprintf(why, wl, "%s is not running (%s)", r->scn->names[i],
                 n->down_why[0] ? n->down_why : "down");
        return false;
    }
    rc = proc_signal_child(n->pid, sig);
    if (rc < 0) {
        snprintf(why, wl, "%s (pid %d) %s", r->scn->names[i], (int)n->pid,
                 rc == -ESRCH ? "has exited" : strerror(-rc));
        return false;
    }
    return true;
}

static int run_step(struct run *r, const struct scn_step *st, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    char line[160], reply[512], skip[160] = "";
    switch (st->kind) {
    case STEP_FAULT:
        snprintf(line, sizeof(line), "%s %s", st->on ? "on" : "off",
                 s->faults.rules[st->fault].name);
        if (shim_request(r, line, reply, sizeof(reply)) < 0 || strcmp(reply, "ok") != 0) {
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
        if (!node_ok(r, st->node, cmd, err, el))
            return -1;
        break;
    }
    case STEP_KILL:
        snprintf(line, sizeof(line), "kill %s", s->names[st->node]);
        if (node_signal(r, st->node, SIGKILL, skip, sizeof(skip))) {
            node_down(r, st->node, "killed by the step at %.3f s", (double)run_ms(r) / 1000.0);
            r->nodes[st->node].paused = false;
        }
        break;
    case STEP_PAUSE:
        snprintf(line, sizeof(line), "pause %s", s->names[st->node]);
        if (node_signal(r, st->node, SIGSTOP, skip, sizeof(skip)))
            r->nodes[st->node].paused = true;
        break;
    case STEP_RESUME:
        snprintf(line, sizeof(line), "resume %s", s->names[st->node]);
        if (node_signal(r, st->node, SIGCONT, skip, sizeof(skip)))
            r->nodes[st->node].paused = false;
        break;
    case STEP_RESTART: {
        struct node_rt *n = &r->nodes[st->node];
        if (!n->down) {
            node_down(r, st->node, "stopped by the restart at %.3f s", (double)run_ms(r) / 1000.0);
            proc_stop(n->pid, 5000);
        } else {
            proc_reap(n->pid, NULL);
        }
        n->pid = 0;
        if (n->admin) {
            redisFree(n->admin);
            n->admin = NULL;
        }
        if (start_node(r, st->node, err, el) < 0)
            return -1;
        snprintf(line, sizeof(line), "restart %s", s->names[st->node]);
        break;
    }
    case STEP_WAIT_CONVERGED: {
        /* Waits at most converge_within (or 60 s); a cluster that does not
         * converge is a finding of the convergence check, not an error. */
        char why[256] = "interrupted";
        uint64_t limit = s->check.converge_within_ns ? s->check.converge_within_ns
                                                     : 60000000000ull;
        uint64_t end = now_ns() + limit;
        bool ok = false;
        while (!interrupted && now_ns() < end) {
            sample_views(r, true);
            reap_nodes(r);
            if (migrations_done(r) && (ok = converged_now(r, why, sizeof(why))))
                break;
            sleep_ms(SAMPLE_MS);
        }
        join_migrations(r);
        if (ok)
            snprintf(line, sizeof(line), "wait converged");
        else
            snprintf(line, sizeof(line), "wait converged: gave up after %.1f s (%s)",
                     (double)limit / 1e9, why);
        break;
    }
    case STEP_MIGRATE: {
        struct migration *m;
        if (r->n_mig == 8) {
            snprintf(err, el, "at most 8 migrations per run");
            return -1;
        }
        m = &r->mig[r->n_mig];
        memset(m, 0, sizeof(*m));
        m->lo = st->slot_lo;
        m->hi = st->slot_hi;
        pkt_addr(SCN_ADMIN_IP, m->source, sizeof(m->source));
        node_addr(st->src, m->src_addr, sizeof(m->src_addr));
        node_addr(st->dst, m->dst_addr, sizeof(m->dst_addr));
        memcpy(m->src_id, r->nodes[st->src].id, sizeof(m->src_id));
        memcpy(m->dst_id, r->nodes[st->dst].id, sizeof(m->dst_id));
        for (int k = 0; k < s->n_nodes && m->n_others < MIG_MAX_PRIMARIES; k++)
            if (k != st->src && k != st->dst)
                node_addr(k, m->others[m->n_others++], sizeof(m->others[0]));
        if (mig_start(m) < 0) {
            snprintf(err, el, "cannot start the migration thread");
            return -1;
        }
        r->n_mig++;
        snprintf(line, sizeof(line), "migrate %d-%d %s %s (started)", st->slot_lo, st->slot_hi,
                 s->names[st->src], s->names[st->dst]);
        break;
    }
    default:
        snprintf(err, el, "unknown step");
        return -1;
    }
    {
        struct step_rec *rec = &r->steps[r->steps_done];
        rec->t_ms = run_ms(r);
        snprintf(rec->step, sizeof(rec->step), "%s", line);
        snprintf(rec->skipped, sizeof(rec->skipped), "%s", skip);
    }
    if (skip[0])
        progress(r, "step %s: skipped: %s", line, skip);
    else
        progress(r, "step %s", line);
    return 0;
}

/* Unexpected exits: a crash finding, not a harness error. */
static void reap_nodes(struct run *r)
{
    for (int i = 0; i < r->scn->n_nodes; i++) {
        struct node_rt *n = &r->nodes[i];
        int status;
        char what[128];
        if (n->pid <= 0 || !proc_reap(n->pid, &status))
            continue;
        if (!n->down) {
            snprintf(what, sizeof(what), "%s exited (%s %d)", r->scn->names[i],
                     WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            observe(r, "crashes", r->scn->names[i], what);
            node_down(r, i, "exited on its own at %.3f s", (double)run_ms(r) / 1000.0);
        }
        n->down = true;
        n->paused = false;
        n->pid = 0;
    }
}

static void scan_logs(struct run *r)
{
    static const char *const marks[] = {"ASSERTION FAILED", "BUG REPORT", "crashed by signal",
                                        "Guru Meditation"};
    for (int i = 0; i < r->scn->n_nodes; i++) {
        FILE *f = fopen(r->nodes[i].log, "r");
        char line[1024];
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
                if (strstr(line, marks[k])) {
                    line[strcspn(line, "\n")] = '\0';
                    observe(r, "crashes", r->scn->names[i], line);
                    break;
                }
        }
        fclose(f);
    }
}

static int preload(struct run *r, int lo, int hi, int count, char *err, size_t el)
{
    struct cclient cc;
    char src[32], seed[32], key[64];
    int done = 0;
    pkt_addr(SCN_ADMIN_IP, src, sizeof(src));
    node_addr(0, seed, sizeof(seed));
    cc_init(&cc, src, 2000);
    cc_add_seed(&cc, seed);
    for (int t = 0; done < count && t < 100000000; t++) {
        snprintf(key, sizeof(key), "rift:pre:{%d}", t);
        uint16_t s = cc_key_slot(key, strlen(key));
        const char *argv[3] = {"SET", key, "preloaded"};
        enum cc_err kind;
        redisReply *rep;
        if (s < lo || s > hi)
            continue;
        rep = cc_command(&cc, key, 3, argv, &kind);
        if (!rep) {
            snprintf(err, el, "preloading slots %d-%d: %s", lo, hi, cc.last_error);
            cc_close(&cc);
            return -1;
        }
        freeReplyObject(rep);
        done++;
    }
    cc_close(&cc);
    progress(r, "preloaded %d keys into slots %d-%d", done, lo, hi);
    return 0;
}

static void observe_ledger(void *ctx, const char *check, const char *what)
{
    observe(ctx, check, "ledger", what);
}

/* ---- client probes ---- */

static int64_t ready_mono_ms(const struct run *r)
{
    return (int64_t)(r->t_ready / 1000000ull);
}

static int start_probes(struct run *r, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    char seeds[512] = "", src[32];
    size_t off = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        bool want = s->probe_seeds ? (s->probe_seeds >> i) & 1 : s->primary_of[i] < 0;
        char a[32];
        if (!want)
            continue;
        node_addr(i, a, sizeof(a));
        off += (size_t)snprintf(seeds + off, sizeof(seeds) - off, "%s%s", off ? "," : "", a);
    }
    char ranges[512] = "";
    size_t roff = 0;
    for (int i = 0; i < s->n_steps; i++)
        if (s->steps[i].kind == STEP_MIGRATE && roff < sizeof(ranges) - 16)
            roff += (size_t)snprintf(ranges + roff, sizeof(ranges) - roff, "%s%d-%d",
                                     roff ? "," : "", s->steps[i].slot_lo, s->steps[i].slot_hi);
    pkt_addr(SCN_CLIENTS_IP, src, sizeof(src));
    r->probes_started = true; /* teardown stops those that did start */
    for (int i = 0; i < s->n_probes; i++) {
        if (probe_start(&r->probes[i], &s->probes[i], &r->reg, r->o->self_dir, seeds, src,
                        ranges, r->tmp) < 0) {
            snprintf(err, el, "cannot start probe %s: %s", s->probes[i].name, strerror(errno));
            return -1;
        }
        r->probes[i].started_ms = run_ms(r);
    }
    progress(r, "client probes started: %d, seeds %s, from %s", s->n_probes, seeds, src);
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

/* ---- the run loop ---- */

static int timeline(struct run *r, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    uint64_t next_sample = now_ns();
    uint64_t heal = s->n_probes ? (s->check.heal_within_ns ? s->check.heal_within_ns
                                                            : 10000000000ull)
                                : 0;
    uint64_t settle = (s->check.converge_within_ns ? s->check.converge_within_ns + 2000000000ull
                                                   : SETTLE_DEFAULT_NS) +
                      heal;
    uint64_t t_end = 0;
    char why[256];
    int i = 0;
    r->converged_ms = -1;
    r->first_fault_ms = -1;
    while (!interrupted) {
        uint64_t t = now_ns();
        if (s->n_probes && !r->probes_started && t >= r->t_ready + s->probes_start_ns) {
            if (start_probes(r, err, el) < 0)
                return -1;
            continue;
        }
        if (i < s->n_steps && t >= r->t_ready + s->steps[i].at_ns) {
            if (s->steps[i].kind == STEP_FAULT && s->steps[i].on && r->first_fault_ms < 0)
                r->first_fault_ms = run_ms(r);
            if (run_step(r, &s->steps[i], err, el) < 0)
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
                t_end = now_ns() + settle;
            continue;
        }
        if (t >= next_sample) {
            sample_views(r, true);
            reap_nodes(r);
            if (poll_probes(r, err, el) < 0)
                return -1;
            if (r->converged_ms < 0 && converged_now(r, why, sizeof(why)))
                r->converged_ms = run_ms(r);
            else if (r->converged_ms >= 0 && !converged_now(r, why, sizeof(why)))
                r->converged_ms = -1;
            next_sample += SAMPLE_MS * 1000000ull;
            if (next_sample < t)
                next_sample = t + SAMPLE_MS * 1000000ull;
        }
        if (i == s->n_steps) {
            if (s->n_steps == 0 && !t_end)
                t_end = now_ns() + settle;
            /* Done: migrations over and converged for a second after the
             * last step, or out of time. */
            if (migrations_done(r) && r->converged_ms >= 0 &&
                run_ms(r) - r->converged_ms >= 1000 &&
                (!s->n_probes ||
                 (r->probes_started && (probes_healed(r) || (uint64_t)(run_ms(r) -
                                        r->converged_ms) * 1000000ull >= heal))))
                break;
            if (now_ns() >= t_end)
                break;
        }
        uint64_t wake = next_sample;
        if (i < s->n_steps && r->t_ready + s->steps[i].at_ns < wake)
            wake = r->t_ready + s->steps[i].at_ns;
        if (s->n_probes && !r->probes_started && r->t_ready + s->probes_start_ns < wake)
            wake = r->t_ready + s->probes_start_ns;
        t = now_ns();
        if (wake > t)
            sleep_ms((int)((wake - t + 999999) / 1000000));
    }
    return 0;
}

/* ---- checks and report ---- */

struct check_result {
    const char *name;
    const char *status; /* pass | fail */
    char detail[256];
    bool seen;
};

static bool seen(const struct run *r, const char *check)
{
    for (int i = 0; i < r->n_obs; i++)
        if (!strcmp(r->obs[i].check, check))
            return true;
    return false;
}

static int evaluate(struct run *r, struct check_result *res)
{
    const struct scenario *s = r->scn;
    static const char *const names[] = {"cycles", "lost_slots", "crashes", "open_slots"};
    const enum scn_rule rules[] = {s->check.cycles, s->check.lost_slots, s->check.crashes,
                                   s->check.open_slots};
    const bool expect[] = {s->expect.cycles, s->expect.lost_slots, s->expect.crashes, false};
    int n = 0;
    for (size_t k = 0; k < 4; k++) {
        struct check_result *c = &res[n++];
        c->name = names[k];
        c->seen = seen(r, names[k]);
        /* Defaults: forbid everything a healthy cluster never shows. */
        enum scn_rule rule = rules[k] ? rules[k] : SCN_FORBID;
        if (expect[k]) {
            c->status = c->seen ? "pass" : "fail";
            snprintf(c->detail, sizeof(c->detail), "%s (expected: present)",
                     c->seen ? "seen" : "NOT seen");
        } else if (rule == SCN_FORBID) {
            c->status = c->seen ? "fail" : "pass";
            snprintf(c->detail, sizeof(c->detail), "%s", c->seen ? "seen (forbidden)" : "none");
        } else {
            c->status = "pass";
            snprintf(c->detail, sizeof(c->detail), "%s (allowed)", c->seen ? "seen" : "none");
        }
    }
    if (s->writers > 0) {
        struct check_result *c = &res[n++];
        enum scn_rule rule = s->check.lost_writes ? s->check.lost_writes : SCN_FORBID;
        c->name = "lost_writes";
        c->seen = seen(r, "lost_writes");
        snprintf(c->detail, sizeof(c->detail),
                 "%d acknowledged writes lost on %d keys, %d applied without "
                 "acknowledgement, %d keys unreadable",
                 r->wl_res.lost_writes, r->wl_res.lost_keys, r->wl_res.unacked_applied,
                 r->wl_res.unreadable);
        if (s->expect.lost_writes)
            c->status = c->seen ? "pass" : "fail";
        else
            c->status = rule == SCN_FORBID && c->seen ? "fail" : "pass";
    }
    if (s->n_probes > 0) {
        struct check_result *c = &res[n++];
        size_t off = 0;
        bool all = true;
        c->name = "heal";
        for (int i = 0; i < s->n_probes; i++) {
            const struct probe_rt *p = &r->probes[i];
            bool in_time = p->healed && (!s->check.heal_within_ns ||
                                         (uint64_t)p->heal_ms * 1000000ull <=
                                             s->check.heal_within_ns);
            /* [expect] never_heals: the known bug is that it does not heal. */
            bool ok = (s->expect.never_heals >> i) & 1 ? !p->healed : in_time;
            all &= ok;
            if (p->healed)
                off += (size_t)snprintf(c->detail + off, sizeof(c->detail) - off,
                                        "%s%s %" PRId64 " ms", i ? ", " : "", p->cfg->name,
                                        p->heal_ms);
            else
                off += (size_t)snprintf(c->detail + off, sizeof(c->detail) - off, "%s%s never%s",
                                        i ? ", " : "", p->cfg->name,
                                        (s->expect.never_heals >> i) & 1 ? " (expected)" : "");
            if (off >= sizeof(c->detail))
                break;
        }
        c->seen = !all;
        c->status = all ? "pass" : "fail";
    }
    /* Convergence after the last step. */
    struct check_result *c = &res[n++];
    c->name = "convergence";
    if (r->converged_ms < 0) {
        c->status = "fail";
        snprintf(c->detail, sizeof(c->detail), "not converged after the last step");
        c->seen = false;
    } else {
        int64_t took = r->converged_ms - r->last_step_ms;
        if (took < 0)
            took = 0;
        c->seen = true;
        if (s->check.converge_within_ns && (uint64_t)took * 1000000ull > s->check.converge_within_ns) {
            c->status = "fail";
            snprintf(c->detail, sizeof(c->detail), "converged %" PRId64 " ms after the last "
                     "step (limit %" PRIu64 " ms)", took, s->check.converge_within_ns / 1000000);
        } else {
            c->status = "pass";
            snprintf(c->detail, sizeof(c->detail), "converged %" PRId64 " ms after the last step",
                     took);
        }
    }
    return n;
}

/* The bus timeline of the run, from the shim's capture (every bus packet
 * passes through it): bus.txt and bus.jsonl, times from the timeline. */
static void decode_bus(struct run *r)
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
            progress(r, "bus timeline: %s", err);
            return;
        }
        if (!json)
            progress(r, "bus timeline: %ld cluster-bus messages decoded", n);
    }
}

/* Bus messages to the observer in the second before a finding's first
 * sample: what it had just heard. */
static void bus_context(const struct run *r, FILE *out, const char *observer, int64_t first_ms)
{
    char path[300], line[512], to[40], keep[6][512];
    int node = scn_node(r->scn, observer), n = 0;
    FILE *f;
    if (node < 0)
        return;
    snprintf(path, sizeof(path), "%s/bus.txt", r->tmp);
    if (!(f = fopen(path, "r")))
        return;
    pkt_addr(SCN_NODE_IP(node), to, sizeof(to));
    strcat(to, ":");
    while (fgets(line, sizeof(line), f)) {
        char *end;
        double t = strtod(line, &end);
        const char *gt = strstr(line, " > ");
        if (end == line || *end != ' ')
            continue; /* not a message line */
        if (t * 1000 < first_ms - 1000 || t * 1000 > first_ms)
            continue;
        if (!gt || strncmp(gt + 3, to, strlen(to)) != 0)
            continue;
        memmove(keep[0], keep[1], sizeof(keep[0]) * 5);
        snprintf(keep[5], sizeof(keep[5]), "%s", line);
        n++;
    }
    fclose(f);
    if (!n)
        return;
    fprintf(out, "%-21s bus messages to %s in the second before (last %d; times are when the "
                 "shim got them, held ones arrived later):\n",
            "", observer, n < 6 ? n : 6);
    for (int i = n < 6 ? 6 - n : 0; i < 6; i++)
        fprintf(out, "%-23s%s", "", keep[i]);
}

static void write_summary(struct run *r, FILE *f, const struct check_result *res, int n,
                          const char *verdict)
{
    fprintf(f, "rift run %s: seed %" PRIu64 ", server %s %s (%s), %d nodes\n", r->scn->file,
            r->seed, r->server_name, r->server_version, r->server_bin, r->scn->n_nodes);
    for (int i = 0; i < r->steps_done; i++)
        fprintf(f, "  step %.3f s: %s%s%s\n", (double)r->steps[i].t_ms / 1000.0, r->steps[i].step,
                r->steps[i].skipped[0] ? ": skipped: " : "", r->steps[i].skipped);
    fprintf(f, "%-12s %-6s %s\n", "check", "status", "detail");
    for (int i = 0; i < n; i++) {
        int shown = 0, more = 0;
        fprintf(f, "%-12s %-6s %s\n", res[i].name, res[i].status, res[i].detail);
        for (int k = 0; k < r->n_obs; k++) {
            const struct obs *o = &r->obs[k];
            if (strcmp(o->check, res[i].name))
                continue;
            if (shown == SUMMARY_ROWS) {
                more++;
                continue;
            }
            shown++;
            if (!strcmp(o->observer, "ledger"))
                fprintf(f, "%-19s  %s\n", "", o->what);
            else
                fprintf(f, "%-19s  %s saw %s from %.3f s to %.3f s (%d samples)\n", "",
                        o->observer, o->what, o->first_ms / 1000.0, o->last_ms / 1000.0,
                        o->samples);
            if (!strcmp(o->check, "cycles") || !strcmp(o->check, "lost_slots"))
                bus_context(r, f, o->observer, o->first_ms);
        }
        if (more)
            fprintf(f, "%-19s  ... and %d more (report.json has them all)\n", "", more);
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
        fprintf(f, "%-10s %-10s %-28s %-7s %8s  %s\n", "client", "version", "scenario", "healed",
                "heal_ms", "last error");
        for (int i = 0; i < r->scn->n_probes; i++) {
            const struct probe_rt *p = &r->probes[i];
            char ms[24];
            snprintf(ms, sizeof(ms), p->healed ? "%" PRId64 : "-", p->heal_ms);
            fprintf(f, "%-10s %-10s %-28s %-7s %8s  %s\n", p->cfg->name,
                    p->version[0] ? p->version : "?", base, p->healed ? "yes" : "never", ms,
                    p->last_error[0] ? p->last_error : "-");
        }
    }
    for (int i = 0; i < r->n_mig; i++)
        fprintf(f, "migration %d-%d: %d of %d slots, %ld keys moved in %" PRIu64
                   " ms, %d retries%s%s\n",
                r->mig[i].lo, r->mig[i].hi, r->mig[i].slots_moved, r->mig[i].hi - r->mig[i].lo + 1,
                r->mig[i].keys_moved, r->mig[i].ms, r->mig[i].retries,
                r->mig[i].error[0] ? "; last error: " : "", r->mig[i].error);
    if (r->invalid[0])
        fprintf(f, "invalid: %s\n", r->invalid);
    fprintf(f, "verdict: %s\n", verdict);
}

static int copy_file(const char *from, const char *to)
{
    char *const argv[] = {"cp", "-f", (char *)from, (char *)to, NULL};
    return access(from, R_OK) == 0 ? proc_run(argv) : -1;
}

static void write_report(struct run *r, const struct check_result *res, int n,
                         const char *verdict, const char *error)
{
    const char *dir = r->o->report_dir;
    char path[700];
    FILE *f;
    char *const mk[] = {"mkdir", "-p", (char *)dir, NULL};
    if (proc_run(mk) != 0) {
        fprintf(stderr, "rift: cannot create report folder %s\n", dir);
        return;
    }
    snprintf(path, sizeof(path), "%s/report.json", dir);
    if ((f = fopen(path, "w"))) {
        fputs("{\"scenario\":", f);
        esc_json(f, r->scn->file);
        fprintf(f, ",\"seed\":%" PRIu64 ",\"server\":", r->seed);
        esc_json(f, r->server_name);
        fputs(",\"server_binary\":", f);
        esc_json(f, r->server_bin);
        fputs(",\"server_version\":", f);
        esc_json(f, r->server_version);
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
        fputs("],\"checks\":[", f);
        for (int i = 0; i < n; i++) {
            fprintf(f, "%s{\"name\":\"%s\",\"status\":\"%s\",\"detail\":", i ? "," : "",
                    res[i].name, res[i].status);
            esc_json(f, res[i].detail);
            fputs(",\"observations\":[", f);
            int k2 = 0;
            for (int k = 0; k < r->n_obs; k++) {
                const struct obs *o = &r->obs[k];
                if (strcmp(o->check, res[i].name))
                    continue;
                fprintf(f, "%s{\"observer\":", k2++ ? "," : "");
                esc_json(f, o->observer);
                fputs(",\"what\":", f);
                esc_json(f, o->what);
                fprintf(f, ",\"first_ms\":%" PRId64 ",\"last_ms\":%" PRId64 ",\"samples\":%d}",
                        o->first_ms, o->last_ms, o->samples);
            }
            fputs("]}", f);
        }
        fputs("],\"clients\":[", f);
        for (int i = 0; r->probes_started && i < r->scn->n_probes; i++) {
            const struct probe_rt *p = &r->probes[i];
            fprintf(f, "%s{\"name\":\"%s\",\"version\":", i ? "," : "", p->cfg->name);
            esc_json(f, p->version);
            fprintf(f, ",\"healed\":%s,\"heal_ms\":", p->healed ? "true" : "false");
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
            fprintf(f, "},\"options\":%s}", p->options[0] ? p->options : "{}");
        }
        fputs("]", f);
        if (r->scn->writers > 0) {
            const struct wl_result *w = &r->wl_res;
            fprintf(f, ",\"workload\":{\"writers\":%d,\"ops\":%" PRIu64 ",\"acknowledged\":%" PRIu64
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
            fprintf(f, "%s{\"slots\":\"%d-%d\",\"moved\":%d,\"keys\":%ld,\"ms\":%" PRIu64
                       ",\"retries\":%d}",
                    i ? "," : "", r->mig[i].lo, r->mig[i].hi, r->mig[i].slots_moved,
                    r->mig[i].keys_moved, r->mig[i].ms, r->mig[i].retries);
        fputs("]", f);
        if (r->shim_stats)
            fprintf(f, ",\"shim\":%s", r->shim_stats);
        fputs("}\n", f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/junit.xml", dir);
    if ((f = fopen(path, "w"))) {
        int failures = 0;
        for (int i = 0; i < n; i++)
            failures += !strcmp(res[i].status, "fail");
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
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
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/summary.txt", dir);
    if ((f = fopen(path, "w"))) {
        write_summary(r, f, res, n, verdict);
        fclose(f);
    }
    for (int i = 0; i < r->scn->n_nodes; i++) {
        snprintf(path, sizeof(path), "%s/%s.log", dir, r->scn->names[i]);
        copy_file(r->nodes[i].log, path);
    }
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++) {
        snprintf(path, sizeof(path), "%s/probe-%s.jsonl", dir, r->scn->probes[i].name);
        copy_file(r->probes[i].out_path, path);
        snprintf(path, sizeof(path), "%s/probe-%s.log", dir, r->scn->probes[i].name);
        copy_file(r->probes[i].log_path, path);
    }
    static const char *const files[] = {"views.jsonl", "shim.pcap", "shim.events.jsonl",
                                        "shim.log", "shim.ini", "bus.txt", "bus.jsonl"};
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        char from[400];
        snprintf(from, sizeof(from), "%s/%s", r->tmp, files[k]);
        snprintf(path, sizeof(path), "%s/%s", dir, files[k]);
        copy_file(from, path);
    }
}

static void teardown(struct run *r)
{
    char *reply = malloc(CTL_REPLY_MAX);
    for (int i = 0; i < r->n_mig; i++)
        r->mig[i].abort = true;
    join_migrations(r);
    if (r->wl_running) {
        wl_stop(&r->wl);
        r->wl_running = false;
    }
    wl_free(&r->wl);
    for (int i = 0; r->probes_started && i < r->scn->n_probes; i++)
        probe_stop(&r->probes[i]);
    if (r->shim_pid > 0) {
        if (reply && shim_request(r, "stats", reply, CTL_REPLY_MAX) == 0 && reply[0] == '{')
            r->shim_stats = strdup(reply);
        else
            progress(r, "rift-shim's counters: %s", reply ? r->shim_err : "out of memory");
        proc_stop(r->shim_pid, 5000);
        r->shim_pid = 0;
    }
    for (int i = 0; i < r->scn->n_nodes; i++) {
        struct node_rt *n = &r->nodes[i];
        if (n->admin) {
            redisFree(n->admin);
            n->admin = NULL;
        }
        if (n->pid > 0) {
            n->down = true;
            proc_stop(n->pid, 3000);
            n->pid = 0;
        }
    }
    if (r->views) {
        fclose(r->views);
        r->views = NULL;
    }
    free(reply);
}

/* A top-level counter of the shim's stats object (before its "rules"). */
static uint64_t stat_u64(const char *json, const char *key)
{
    char pat[64], *end;
    const char *rules = strstr(json, "\"rules\":"), *at;
    unsigned long long v;
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    at = strstr(json, pat);
    if (!at || (rules && at > rules))
        return 0;
    errno = 0;
    v = strtoull(at + strlen(pat), &end, 10);
    return errno || end == at + strlen(pat) ? 0 : (uint64_t)v;
}

/* The shim could not apply every fault: its kernel queue was full (what
 * arrived then was dropped or passed unheld), or verdicts were lost. Then
 * no finding, and no absence of one, can be trusted. */
static bool faults_not_applied(struct run *r, char *why, size_t wl)
{
    const char *st = r->shim_stats;
    uint64_t full, over, user, verr;
    why[0] = '\0';
    if (!st) {
        if (r->scn->faults.n_rules)
            snprintf(why, wl, "the shim's counters could not be read (%s)", r->shim_err);
        return why[0] != '\0';
    }
    full = stat_u64(st, "queue_full");
    over = stat_u64(st, "queue_overflows");
    user = stat_u64(st, "queue_user_dropped");
    verr = stat_u64(st, "verdict_errors");
    if (!full && !over && !user && !verr)
        return false;
    {
        size_t off = 0;
        int n = snprintf(why, wl, "faults not applied in full:");
        off = n > 0 ? (size_t)n : 0;
        if (full && off < wl) {
            n = snprintf(why + off, wl - off,
                         " the shim's kernel queue (queue_maxlen %" PRIu64 ") was full %" PRIu64
                         " time%s for %" PRIu64 " ms%s",
                         stat_u64(st, "queue_maxlen"), full, full == 1 ? "" : "s",
                         stat_u64(st, "queue_full_ms"),
                         r->scn->faults.shim.overflow_pass
                             ? "; with on_overflow = pass what arrived then passed without the "
                               "faults (the kernel does not count it)"
                             : "");
            off += n > 0 ? (size_t)n : 0;
        }
        if (over && off < wl) {
            n = snprintf(why + off, wl - off, "%s %" PRIu64 " packets dropped by the kernel "
                                              "(queue full)", full ? ";" : "", over);
            off += n > 0 ? (size_t)n : 0;
        }
        if (user && off < wl) {
            n = snprintf(why + off, wl - off, "; %" PRIu64 " packets lost to a full queue socket",
                         user);
            off += n > 0 ? (size_t)n : 0;
        }
        if (verr && off < wl)
            snprintf(why + off, wl - off, "; %" PRIu64 " verdict errors", verr);
    }
    return true;
}

/* The server binary and how to launch it. redis: Debian bookworm's. redis8
 * and valkey: trixie's, unpacked by `make` into build/trixie and run
 * through trixie's own dynamic loader, as bookworm's glibc is too old. */
static int pick_server(struct run *r, const char *server, char *err, size_t el)
{
    snprintf(r->server_name, sizeof(r->server_name), "%.*s", 31, server);
    if (!strcmp(server, "redis") || server[0] == '/') {
        snprintf(r->server_bin, sizeof(r->server_bin), "%s",
                 server[0] == '/' ? server : "/usr/bin/redis-server");
        snprintf(r->launch[0], sizeof(r->launch[0]), "%s", r->server_bin);
        r->n_launch = 1;
    } else if (!strcmp(server, "redis8") || !strcmp(server, "valkey")) {
        bool vk = server[0] == 'v';
        char root[POL_PATH_MAX];
        snprintf(root, sizeof(root), "%s/../build/trixie/root", r->o->self_dir);
        snprintf(r->server_bin, sizeof(r->server_bin), "%s/usr/bin/%s", root,
                 vk ? "valkey-check-rdb" : "redis-check-rdb");
        snprintf(r->launch[0], sizeof(r->launch[0]), "%s/usr/lib64/ld-linux-x86-64.so.2", root);
        snprintf(r->launch[1], sizeof(r->launch[1]), "--library-path");
        snprintf(r->launch[2], sizeof(r->launch[2]), "%s/usr/lib/x86_64-linux-gnu", root);
        snprintf(r->launch[3], sizeof(r->launch[3]), "--argv0");
        snprintf(r->launch[4], sizeof(r->launch[4]), "%s", vk ? "valkey-server" : "redis-server");
        r->n_launch = 5;
        /* the binary goes after the loader's options */
        if (access(r->server_bin, X_OK) != 0) {
            snprintf(err, el, "server %s (trixie's %s, %s): run `make servers`",
                     server, vk ? "valkey-server 8.1" : "redis-server 8.0", r->server_bin);
            return -2;
        }
    } else {
        snprintf(err, el, "server '%s': expected redis, redis8, valkey or an absolute path",
                 server);
        return -1;
    }
    return 0;
}

static int server_version(struct run *r)
{
    char *argv[8], line[256];
    int fd[2], a = 0, status;
    ssize_t n;
    pid_t pid;
    for (int k = 0; k < r->n_launch; k++)
        argv[a++] = r->launch[k];
    if (r->n_launch > 1)
        argv[a++] = r->server_bin;
    argv[a++] = "--version";
    argv[a] = NULL;
    if (pipe(fd) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    n = pid > 0 ? read(fd[0], line, sizeof(line) - 1) : -1;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (n <= 0)
        return -1;
    line[n] = '\0';
    char *v = strstr(line, "v=");
    if (!v)
        return -1;
    snprintf(r->server_version, sizeof(r->server_version), "%.*s", (int)strcspn(v + 2, " \n"),
             v + 2);
    return 0;
}

int run_scenario(const struct run_opts *o)
{
    static struct scenario scn;
    static struct run R;
    struct run *r = &R;
    char err[768];
    int status = 2;
    struct check_result res[12];
    int nres;
    const char *verdict = "error";
    struct sigaction sa = {.sa_handler = on_sigint};

    memset(r, 0, sizeof(*r));
    r->orig_ns = -1;
    r->o = o;
    r->scn = &scn;
    r->t_start = now_ns();
    if (scn_load(&scn, o->scenario_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    const char *server = o->server ? o->server : scn.server;
    /* Everything the scenario needs, before anything starts: what is
     * missing is named in one line with the make target that installs it. */
    {
        char missing[1024];
        int ps = pick_server(r, server, err, sizeof(err));
        int nc = need_check(&scn, o->self_dir, missing, sizeof(missing));
        if (ps == -1) {
            fprintf(stderr, "rift: %s\n", err);
            return 2;
        }
        if (ps == -2 || nc < 0) {
            fprintf(stderr, "rift: missing: %s%s%s\n", ps == -2 ? err : "",
                    ps == -2 && nc < 0 ? "; " : "", nc < 0 ? missing : "");
            return 2;
        }
    }
    if (access(r->server_bin, X_OK) != 0) {
        fprintf(stderr, "rift: missing: server %s: run `make deps` (Debian's redis-server) "
                        "or give an existing binary\n", r->server_bin);
        return 2;
    }
    if (server_version(r) < 0) {
        fprintf(stderr, "rift: %s does not run (--version failed)\n", r->server_bin);
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift: run needs root (network namespace, iptables, NFQUEUE)\n");
        return 2;
    }
    snprintf(r->shim_bin, sizeof(r->shim_bin), "%s/rift-shim", o->self_dir);
    if (o->seed_given)
        r->seed = o->seed;
    else if (getrandom(&r->seed, sizeof(r->seed), 0) != sizeof(r->seed))
        r->seed = (uint64_t)time(NULL);
    r->seed &= 0xffffffffffffull; /* short enough to type */
    {
        uint32_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
            rnd = (uint32_t)getpid();
        snprintf(r->id, sizeof(r->id), "%06x", rnd & 0xffffff);
    }
    snprintf(r->netns, sizeof(r->netns), "rift-%s", r->id);
    snprintf(r->tmp, sizeof(r->tmp), "/tmp/rift-%s", r->id);

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Registered before it exists: a kill at any moment leaves nothing that
     * `rift cleanup` does not know of. */
    if (reg_create(&r->reg, r->id, r->netns, r->tmp, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift: %s\n", err);
        return 2;
    }
    r->reg_made = true;
    if (mkdir(r->tmp, 0700) < 0) {
        fprintf(stderr, "rift: cannot create %s: %s\n", r->tmp, strerror(errno));
        reg_remove(&r->reg);
        return 2;
    }
    progress(r, "rift: run %s of %s: seed %" PRIu64 ", %s %s, %d primaries x %d replicas, "
                "namespace %s",
             r->id, scn.file, r->seed, r->server_bin, r->server_version, scn.masters,
             scn.replicas, r->netns);
    if (enter_netns(r, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < scn.n_nodes; i++) {
        char dir[sizeof(r->nodes[i].dir)];
        snprintf(dir, sizeof(dir), "%s/%s", r->tmp, scn.names[i]);
        memcpy(r->nodes[i].dir, dir, sizeof(dir));
        snprintf(r->nodes[i].log, sizeof(r->nodes[i].log), "%s/server.log", dir);
        mkdir(r->nodes[i].dir, 0700);
        if (start_node(r, i, err, sizeof(err)) < 0)
            goto fail;
    }
    if (build_cluster(r, err, sizeof(err)) < 0)
        goto fail;
    r->t_ready = now_ns();
    progress(r, "cluster ready: %d nodes converged, replicas in sync", scn.n_nodes);
    if (start_shim(r, err, sizeof(err)) < 0)
        goto fail;
    progress(r, "rift-shim ready with %d fault%s", scn.faults.n_rules,
             scn.faults.n_rules == 1 ? "" : "s");
    {
        char vp[300];
        snprintf(vp, sizeof(vp), "%s/views.jsonl", r->tmp);
        r->views = fopen(vp, "w");
    }
    /* Slots that migrate get keys of their own, so that MIGRATE has work
     * to do while the writers hit them. */
    for (int i = 0; i < scn.n_steps; i++)
        if (scn.steps[i].kind == STEP_MIGRATE &&
            preload(r, scn.steps[i].slot_lo, scn.steps[i].slot_hi, 1000, err, sizeof(err)) < 0)
            goto fail;
    r->t_ready = now_ns(); /* timeline times count from here */
    {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        r->t_ready_real = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    }
    if (scn.writers > 0) {
        int ranges[SCN_MAX_STEPS][2], nr = 0;
        char src[32], seed[32];
        for (int i = 0; i < scn.n_steps; i++)
            if (scn.steps[i].kind == STEP_MIGRATE) {
                ranges[nr][0] = scn.steps[i].slot_lo;
                ranges[nr][1] = scn.steps[i].slot_hi;
                nr++;
            }
        pkt_addr(SCN_CLIENTS_IP, src, sizeof(src));
        node_addr(0, seed, sizeof(seed));
        wl_init(&r->wl, scn.writers, src, seed, (const int(*)[2])ranges, nr, 1000);
        if (wl_start(&r->wl) < 0) {
            snprintf(err, sizeof(err), "cannot start the workload threads");
            goto fail;
        }
        r->wl_running = true;
        progress(r, "workload: %d writers, %d keys each, from %s", r->wl.n, r->wl.w[0].n_keys,
                 src);
    }
    if (timeline(r, err, sizeof(err)) < 0)
        goto fail;
    if (interrupted)
        goto fail;
    join_migrations(r);
    if (poll_probes(r, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; r->probes_started && i < scn.n_probes; i++) {
        struct probe_rt *p = &r->probes[i];
        probe_poll(p, ready_mono_ms(r), r->first_fault_ms < 0 ? 0 : r->first_fault_ms,
                   r->converged_ms);
        probe_stop(p);
        probe_finish(p, ready_mono_ms(r), r->converged_ms);
        progress(r, "client %s %s: %s%s%s", p->cfg->name, p->version,
                 p->healed ? "healed" : "never healed", p->healed ? "" : "; last error: ",
                 p->healed ? "" : p->last_error);
    }
    if (r->wl_running) {
        char admin[32], seed[32];
        wl_stop(&r->wl);
        r->wl_running = false;
        pkt_addr(SCN_ADMIN_IP, admin, sizeof(admin));
        node_addr(0, seed, sizeof(seed));
        wl_verify(&r->wl, admin, seed, observe_ledger, r, &r->wl_res);
        progress(r, "workload: %" PRIu64 " INCRs, %" PRIu64 " acknowledged; read back: %d "
                    "lost writes on %d keys, %d applied without acknowledgement",
                 r->wl_res.ops, r->wl_res.ok, r->wl_res.lost_writes, r->wl_res.lost_keys,
                 r->wl_res.unacked_applied);
    }
    /* Slots left open at the end. */
    for (int i = 0; i < scn.n_nodes; i++) {
        const struct view *v = &r->nodes[i].view;
        for (int k = 0; r->nodes[i].have_view && k < v->n_open; k++) {
            char what[96];
            snprintf(what, sizeof(what), "slot %u %s %s", v->open[k].slot,
                     v->open[k].importing ? "importing from" : "migrating to",
                     name_of(r, v->open[k].peer));
            observe(r, "open_slots", scn.names[i], what);
        }
    }
    reap_nodes(r);
    teardown(r);
    scan_logs(r);
    decode_bus(r);
    nres = evaluate(r, res);
    status = 0;
    for (int i = 0; i < nres; i++)
        if (!strcmp(res[i].status, "fail"))
            status = 1;
    verdict = status ? "fail" : "pass";
    /* A fault that was not applied in full makes the verdict worthless. */
    if (faults_not_applied(r, r->invalid, sizeof(r->invalid))) {
        verdict = "invalid";
        status = 2;
        progress(r, "run invalid: %s", r->invalid);
    }
    write_summary(r, stdout, res, nres, verdict);
    if (o->report_dir)
        write_report(r, res, nres, verdict, r->invalid[0] ? r->invalid : NULL);
    goto out;
fail:
    if (interrupted) {
        progress(r, "interrupted: cleaning up");
        status = 130;
    } else {
        fprintf(stderr, "rift: %s\n", err);
        status = 2;
    }
    teardown(r);
    if (o->report_dir && !interrupted) {
        nres = 0;
        write_report(r, res, nres, "error", err);
    }
out:
    free(r->shim_stats);
    leave_netns(r);
    {
        char *const rm[] = {"rm", "-rf", r->tmp, NULL};
        proc_run(rm);
    }
    if (r->reg_made)
        reg_remove(&r->reg);
    progress(r, "run %s finished: %s; namespace, processes and temp dir removed", r->id,
             status == 130 ? "interrupted" : status == 2 ? "error" : verdict);
    return status;
}
