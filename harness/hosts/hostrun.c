/* hostrun: a run whose nodes are on other hosts, driven over SSH. */
#include "hostrun.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../../proto/ctl.h"
#include "../../proto/pkt.h"
#include "../../proto/pstat.h"
#include "../cluster/nodes.h"
#include "../cluster/observe.h"
#include "../cluster/runstate.h"
#include "../cluster/shimset.h"
#include "../observe/decode.h"

#define SHIM_QUEUE_BASE 1024

/* "PID START" as the agent's spawn prints it. */
static bool two_u64(const char *s, uint64_t *a, uint64_t *b)
{
    return pstat_u64(&s, a) && pstat_u64(&s, b);
}

static const char *shim_of(const struct hostrun *hr, int h)
{
    return remote_shim(&hr->rm, h);
}

/* The run's first choice of queue number on the hosts, so that runs sharing
 * a host seldom meet; the shim takes the next free block when another run
 * holds it (queue_search), and its chain carries the run's id (owner). */
static int run_queue(const struct run *r)
{
    return SHIM_QUEUE_BASE + (int)(strtoul(r->id, NULL, 16) % 60000u);
}

static bool hr_node_alive(const struct run *r, int i)
{
    return r->hr->rpid[i] != 0;
}

static const struct node_remote hr_remote = {
    .start = hr_node_start, .signal = hr_node_signal, .alive = hr_node_alive};

int hr_init(struct run *r, struct scenario *scn, const char *hosts_file, char *err, size_t el)
{
    struct hostrun *hr = calloc(1, sizeof(*hr));
    uint32_t ip[SCN_MAX_NODES];
    if (!hr)
        return snprintf(err, el, "out of memory"), -1;
    r->hr = hr;
    r->remote = &hr_remote;
    if (hosts_load(&hr->hs, hosts_file, err, el) < 0 ||
        hosts_place(&hr->hs, scn, hr->node_host, ip, err, el) < 0)
        return -1;
    if (scn->standalone)
        return snprintf(err, el, "%s: mode = standalone runs on one host, not with --hosts",
                        scn->file),
               -1;
    if (scn->app.on)
        return snprintf(err, el, "%s: [app] runs on the harness host: not with --hosts yet",
                        scn->file),
               -1;
    if (scn->check.crossslot == SCN_FORBID || scn->expect.crossslot)
        return snprintf(err, el,
                        "%s: the crossslot audit reads one host's loopback: not with "
                        "--hosts",
                        scn->file),
               -1;
    if (scn->n_probes)
        return snprintf(err, el, "%s: client probes are not run with --hosts yet", scn->file), -1;
    for (int k = 0; k < scn->faults.n_rules; k++) {
        const struct pol_rule *ru = &scn->faults.rules[k];
        uint64_t pseudo = (UINT64_C(3) << scn->n_nodes);
        if ((ru->from | ru->to) & pseudo)
            return snprintf(err, el,
                            "%s:%d: fault %s names clients or app: with --hosts they run on the "
                            "harness host, where no shim runs",
                            scn->file, ru->line, ru->name),
                   -1;
    }
    for (int i = 0; i < scn->n_nodes; i++)
        scn->faults.nodes[i].ip = ip[i];
    r->harness_ip = hr->hs.harness_addr;
    if (hr->hs.harness_addr)
        scn->faults.nodes[scn->n_nodes].ip = hr->hs.harness_addr; /* "clients" */
    return 0;
}

static int agent(struct run *r, int h, char *const *words, char *out, size_t ol, char *err,
                 size_t el)
{
    return remote_agent(&r->hr->rm, h, words, out, ol, err, el);
}

static int clocks(struct run *r, int when, char *err, size_t el)
{
    struct hostrun *hr = r->hr;
    for (int h = 0; h < hr->hs.n; h++)
        if (remote_clock(&hr->rm, h, 5, &hr->offset_ns[h][when], &hr->rtt_ns[h][when], err, el) < 0)
            return -1;
    return 0;
}

/* The server binary on host h: its own, or the flavour's name. */
static char *server_of(struct run *r, int h)
{
    return r->hr->hs.h[h].server[0] ? r->hr->hs.h[h].server : r->launch[0];
}

/* The server's --version on host h: its version into v. */
static int server_version(struct run *r, int h, char *v, size_t vl, char *err, size_t el)
{
    char out[512], *p;
    char *const argv[] = {server_of(r, h), "--version", NULL};
    int rc = remote_run(&r->hr->rm, h, argv, NULL, out, sizeof(out), NULL, err, el);
    if (rc != 0 || !(p = strstr(out, "v=")))
        return snprintf(err, el, "host %s: %s --version: %s", r->hr->hs.h[h].name, server_of(r, h),
                        rc < 0 ? err : (rc == 127 ? "not found" : "no version")),
               -1;
    snprintf(v, vl, "%.*s", (int)strcspn(p + 2, " \n"), p + 2);
    return 0;
}

int hr_open(struct run *r, char *err, size_t el)
{
    struct hostrun *hr = r->hr;
    char e[512];
    if (remote_open(&hr->rm, &hr->hs, r->tmp, &r->reg, err, el) < 0) {
        remote_close(&hr->rm); /* the masters and sessions that did start */
        return -1;
    }
    hr->open = true;
    for (int h = 0; h < hr->hs.n; h++) {
        char *mk[] = {"mkdir", hr->rdir[h], NULL};
        /* its own name on every host, even a host that is also the harness's */
        snprintf(hr->rdir[h], sizeof(hr->rdir[h]), "%s/rift-%s-%s", hr->hs.h[h].tmp, r->id,
                 hr->hs.h[h].name);
        reg_add_remote(&r->reg, hr->hs.h[h].name, hr->rdir[h], r->id);
        if (agent(r, h, mk, NULL, 0, e, sizeof(e)) != 0)
            return snprintf(err, el, "host %s: %s", hr->hs.h[h].name, e), -1;
        hr->rdir_made[h] = true;
    }
    {
        char line[2048], addr[32];
        size_t o = 0;
        for (int i = 0; i < r->scn->n_nodes && o < sizeof(line) - 64; i++) {
            run_node_addr(r, i, addr, sizeof(addr));
            o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s=%s (%s)", i ? ", " : "",
                                  r->scn->names[i], addr, hr->hs.h[hr->node_host[i]].name);
        }
        run_progress(r, "placement: %s", line);
    }
    if (clocks(r, 0, err, el) < 0)
        return -1;
    for (int h = 0; h < hr->hs.n; h++) {
        char v[64];
        if (server_version(r, h, v, sizeof(v), err, el) < 0)
            return -1;
        if (h == 0)
            snprintf(r->server_version, sizeof(r->server_version), "%s", v);
        else if (strcmp(v, r->server_version) != 0)
            return snprintf(err, el, "host %s runs server %s, host %s %s: one version per run",
                            hr->hs.h[h].name, v, hr->hs.h[0].name, r->server_version),
                   -1;
    }
    return 0;
}

int hr_node_start(struct run *r, int i, char *const argv[], const char *conf, char *err, size_t el)
{
    struct hostrun *hr = r->hr;
    int h = hr->node_host[i], n = 0;
    char e[512], out_log[340];
    char *mk[] = {"mkdir", r->nodes[i].dir, NULL};
    char *words[32 + 2 * SCN_MAX_CONF + 8];
    if (agent(r, h, mk, NULL, 0, e, sizeof(e)) != 0)
        return snprintf(err, el, "host %s: %s", hr->hs.h[h].name, e), -1;
    /* the server's first argument: its config file, written by the agent
     * (mode 0600) in the node's folder */
    char rconf[sizeof(r->nodes[i].dir) + 16];
    snprintf(rconf, sizeof(rconf), "%s/auth.conf", r->nodes[i].dir);
    char *put[] = {(char *)shim_of(hr, h), "agent", "put", rconf, NULL};
    if (remote_run(&hr->rm, h, put, conf, NULL, 0, NULL, e, sizeof(e)) != 0)
        return snprintf(err, el, "host %s: cannot put %s: %s", hr->hs.h[h].name, rconf, e), -1;
    snprintf(out_log, sizeof(out_log), "%s/server.out", r->nodes[i].dir);
    words[n++] = "spawn";
    words[n++] = hr->rdir[h];
    words[n++] = (char *)r->scn->names[i];
    words[n++] = out_log;
    words[n++] = "--";
    words[n++] = server_of(r, h);
    for (int k = 1; argv[k]; k++)
        words[n++] = argv[k];
    words[n] = NULL;
    {
        char out[128];
        if (agent(r, h, words, out, sizeof(out), e, sizeof(e)) != 0 ||
            !two_u64(out, &hr->rpid[i], &hr->rstart[i]))
            return snprintf(err, el, "cannot start %s on host %s: %s", r->scn->names[i],
                            hr->hs.h[h].name, e[0] ? e : out),
                   -1;
    }
    r->nodes[i].down = false;
    r->nodes[i].paused = false;
    return 0;
}

/* sig to node i's server through its host's agent (which checks that the
 * run started it and that it still has its start time): the agent's
 * status, 1 when it has exited. */
static int remote_signal(struct run *r, int i, int sig, char *e, size_t el)
{
    struct hostrun *hr = r->hr;
    char pid[24], start[24], s[8], out[32];
    char *words[] = {"signal", hr->rdir[hr->node_host[i]], pid, start, s, NULL};
    snprintf(pid, sizeof(pid), "%" PRIu64, hr->rpid[i]);
    snprintf(start, sizeof(start), "%" PRIu64, hr->rstart[i]);
    snprintf(s, sizeof(s), "%d", sig);
    return agent(r, hr->node_host[i], words, out, sizeof(out), e, el);
}

int hr_node_signal(struct run *r, int i, int sig, char *why, size_t wl)
{
    struct hostrun *hr = r->hr;
    char e[300];
    int rc = remote_signal(r, i, sig, e, sizeof(e));
    if (rc == 0)
        return 0;
    snprintf(why, wl, "%s (pid %" PRIu64 " on %s) %s", r->scn->names[i], hr->rpid[i],
             hr->hs.h[hr->node_host[i]].name, rc == 1 ? "has exited" : e);
    /* gone: skipped as on one machine; the agent or ssh failing: an error */
    return rc == 1 ? 1 : -1;
}

/* "running PID" | "exited N T" | "signal N T" | "unknown" for node i. */
static int node_status(struct run *r, int i, char *out, size_t ol)
{
    char e[300];
    char *words[] = {"status", r->hr->rdir[r->hr->node_host[i]], (char *)r->scn->names[i], NULL};
    return agent(r, r->hr->node_host[i], words, out, ol, e, sizeof(e));
}

/* "ROLE running..." from the agent's status line: still running. */
static bool status_running(const char *st)
{
    const char *sp = strchr(st, ' ');
    return sp && !strncmp(sp + 1, "running", 7);
}

/* Node i's server is seen gone within ms (status polled every 50 ms). */
static bool gone_within(struct run *r, int i, int ms)
{
    char st[128];
    for (int waited = 0; waited <= ms; waited += 50) {
        if (node_status(r, i, st, sizeof(st)) == 0 && !status_running(st))
            return true;
        run_sleep_ms(50);
    }
    return false;
}

int hr_node_stop(struct run *r, int i, int ms, char *err, size_t el)
{
    char e[300];
    int rc;
    if (!r->hr->rpid[i])
        return 0;
    rc = remote_signal(r, i, SIGTERM, e, sizeof(e));
    if (rc == 0) {
        remote_signal(r, i, SIGCONT, e, sizeof(e));
        if (!gone_within(r, i, ms) &&
            (remote_signal(r, i, SIGKILL, e, sizeof(e)) < 0 || !gone_within(r, i, 2000)))
            rc = -1;
    }
    if (rc < 0) {
        snprintf(err, el, "%s on %s: cannot tell that it stopped: %s", r->scn->names[i],
                 r->hr->hs.h[r->hr->node_host[i]].name, e);
        return -1;
    }
    r->hr->rpid[i] = 0;
    return 0;
}

/* Timeline ms of a host's CLOCK_REALTIME ns. */
static int64_t timeline_ms(const struct run *r, int h, uint64_t host_ns)
{
    double local = (double)((int64_t)host_ns - r->hr->offset_ns[h][0]) / 1e9;
    return (int64_t)((local - r->t_ready_real) * 1000.0);
}

/* The status line of every node on host h that should be running (one
 * round trip per host), into st[node]. */
static int host_statuses(struct run *r, int h, char (*st)[128])
{
    struct hostrun *hr = r->hr;
    char *words[8 + SCN_MAX_NODES], out[128 * SCN_MAX_NODES], e[256], *save = NULL, *line;
    int n = 0, asked[SCN_MAX_NODES], k = 0;
    words[n++] = "status";
    words[n++] = hr->rdir[h];
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (hr->node_host[i] == h && !r->nodes[i].down && hr->rpid[i]) {
            asked[k++] = i;
            words[n++] = (char *)r->scn->names[i];
        }
    words[n] = NULL;
    if (!k)
        return 0;
    if (agent(r, h, words, out, sizeof(out), e, sizeof(e)) != 0) {
        snprintf(r->hr->status_err[h], sizeof(r->hr->status_err[h]), "%s", e);
        return -1;
    }
    /* each line names its role: a line is never taken for another node's */
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t len = strcspn(line, " ");
        for (int j = 0; j < k; j++)
            if (strlen(r->scn->names[asked[j]]) == len &&
                !strncmp(line, r->scn->names[asked[j]], len))
                snprintf(st[asked[j]], sizeof(st[0]), "%s", line + len + (line[len] == ' '));
    }
    return 0;
}

/* fn(r, h, ctx) for every host at once, one thread each: a round trip
 * per host in the time of one. */
struct par {
    struct run *r;
    int h;
    void (*fn)(struct run *, int, void *);
    void *ctx;
};

static void *par_main(void *arg)
{
    struct par *p = arg;
    p->fn(p->r, p->h, p->ctx);
    return NULL;
}

static void each_host(struct run *r, void (*fn)(struct run *, int, void *), void *ctx)
{
    pthread_t th[HOSTS_MAX];
    struct par p[HOSTS_MAX];
    bool started[HOSTS_MAX] = {false};
    for (int h = 0; h < r->hr->hs.n; h++) {
        p[h] = (struct par){r, h, fn, ctx};
        started[h] = pthread_create(&th[h], NULL, par_main, &p[h]) == 0;
        if (!started[h])
            fn(r, h, ctx);
    }
    for (int h = 0; h < r->hr->hs.n; h++)
        if (started[h])
            pthread_join(th[h], NULL);
}

static void statuses_of(struct run *r, int h, void *ctx)
{
    r->hr->status_err[h][0] = '\0';
    host_statuses(r, h, ctx);
}

int hr_reap(struct run *r)
{
    struct hostrun *hr = r->hr;
    static char st[SCN_MAX_NODES][128];
    memset(st, 0, sizeof(st));
    each_host(r, statuses_of, st);
    for (int h = 0; h < hr->hs.n; h++)
        if (hr->status_err[h][0]) {
            snprintf(r->unseen, sizeof(r->unseen), "the servers' state on %s could not be read: %s",
                     hr->hs.h[h].name, hr->status_err[h]);
            return -1;
        }
    for (int i = 0; i < r->scn->n_nodes; i++) {
        char kind[16];
        const char *p = st[i];
        uint64_t code, t;
        if (r->nodes[i].down || !hr->rpid[i] || !pstat_word(&p, kind, sizeof(kind)) ||
            (strcmp(kind, "exited") != 0 && strcmp(kind, "signal") != 0) || !pstat_u64(&p, &code) ||
            !pstat_u64(&p, &t))
            continue;
        {
            char what[256],
                tail[160] = "", rp[340],
                *get[] = {(char *)shim_of(hr, hr->node_host[i]), "agent", "get", rp, NULL};
            char out[4096], e[256];
            int64_t ms = timeline_ms(r, hr->node_host[i], t);
            /* what it said on its way out (its log may not exist yet) */
            snprintf(rp, sizeof(rp), "%s/server.out", r->nodes[i].dir);
            if (remote_run(&hr->rm, hr->node_host[i], get, NULL, out, sizeof(out), NULL, e,
                           sizeof(e)) == 0) {
                size_t n = strlen(out);
                while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
                    out[--n] = 0;
                char *nl = strrchr(out, '\n');
                snprintf(tail, sizeof(tail), "%s", nl ? nl + 1 : out);
            }
            snprintf(what, sizeof(what), "%s exited (%s %d)%s%s", r->scn->names[i],
                     !strcmp(kind, "signal") ? "signal" : "status", (int)code, tail[0] ? ": " : "",
                     tail);
            obs_record(r, "crashes", r->scn->names[i], what);
            if (r->n_obs > 0 && !strcmp(r->obs[r->n_obs - 1].what, what))
                r->obs[r->n_obs - 1].first_ms = r->obs[r->n_obs - 1].last_ms = ms;
            node_down(r, i, "exited on its own at %.3f s", (double)ms / 1000.0);
        }
        hr->rpid[i] = 0;
    }
    return 0;
}

struct shim_req {
    const char *line;
    char why[HOSTS_MAX][300]; /* "" when the host said ok */
};

static void shim_req_one(struct run *r, int h, void *ctx)
{
    struct shim_req *q = ctx;
    char reply[512], e[256];
    if (ctl_request(r->hr->shim_sock[h], q->line, reply, sizeof(reply), 10000, e, sizeof(e)) < 0)
        snprintf(q->why[h], sizeof(q->why[h]), "%s", e);
    else if (strcmp(reply, "ok") != 0)
        snprintf(q->why[h], sizeof(q->why[h]), "%s", reply);
}

int hr_shim_request(struct run *r, const char *line, char *err, size_t el)
{
    static struct shim_req q;
    memset(&q, 0, sizeof(q));
    q.line = line;
    each_host(r, shim_req_one, &q);
    for (int h = 0; h < r->hr->hs.n; h++)
        if (q.why[h][0])
            return snprintf(err, el, "rift-shim on %s: %s: %s", r->hr->hs.h[h].name, line,
                            q.why[h]),
                   -1;
    return 0;
}

/* Host h's shim: the run's policy (its own seed, queue and paths) uploaded,
 * started by the agent, its control socket forwarded here. */
static int start_shim(struct run *r, int h, char *err, size_t el)
{
    struct hostrun *hr = r->hr;
    struct scenario *cp = malloc(sizeof(*cp));
    char local[300], rpol[340], rsock[340], rcap[340], rlog[340], e[512];
    char *text;
    FILE *f;
    if (!cp)
        return snprintf(err, el, "out of memory"), -1;
    *cp = *r->scn;
    /* queue numbers another run holds on the host: the next free block */
    cp->faults.shim.queue = (unsigned)run_queue(r);
    cp->faults.shim.queue_search = 64;
    snprintf(cp->faults.shim.owner, sizeof(cp->faults.shim.owner), "%s", r->id);
    snprintf(rpol, sizeof(rpol), "%s/shim.ini", hr->rdir[h]);
    snprintf(rsock, sizeof(rsock), "%s/shim.sock", hr->rdir[h]);
    snprintf(rcap, sizeof(rcap), "%s/shim.pcap", hr->rdir[h]);
    snprintf(rlog, sizeof(rlog), "%s/shim.log", hr->rdir[h]);
    text = scn_policy_text(cp, rsock, rcap, r->seed + (uint64_t)h);
    free(cp);
    snprintf(local, sizeof(local), "%s/shim-%s.ini", r->tmp, hr->hs.h[h].name);
    if (!text || !(f = fopen(local, "w"))) {
        free(text);
        return snprintf(err, el, "cannot write %s", local), -1;
    }
    fputs(text, f);
    fclose(f);
    free(text);
    {
        uint64_t start; /* the agent checks it, from its pids file */
        char out[128], *put[] = {(char *)shim_of(hr, h), "agent", "put", rpol, NULL};
        char *spawn[] = {"spawn",    hr->rdir[h], "shim", rlog, "--", (char *)shim_of(hr, h),
                         "--policy", rpol,        NULL};
        if (remote_run(&hr->rm, h, put, local, NULL, 0, NULL, e, sizeof(e)) != 0 ||
            agent(r, h, spawn, out, sizeof(out), e, sizeof(e)) != 0 ||
            !two_u64(out, &hr->shim_pid[h], &start))
            return snprintf(err, el, "host %s: cannot start rift-shim: %s", hr->hs.h[h].name, e),
                   -1;
    }
    {
        char sock[sizeof(hr->shim_sock[0])];
        snprintf(sock, sizeof(sock), "%s/shim-%s.sock", r->tmp, hr->hs.h[h].name);
        memcpy(hr->shim_sock[h], sock, sizeof(sock));
    }
    if (remote_forward(&hr->rm, h, hr->shim_sock[h], rsock, e, sizeof(e)) < 0)
        return snprintf(err, el, "host %s: cannot forward the shim's socket: %s", hr->hs.h[h].name,
                        e),
               -1;
    for (int waited = 0; waited < 10000; waited += 50) {
        char st[128] = "", *words[] = {"status", hr->rdir[h], "shim", NULL};
        char *reply = malloc(CTL_REPLY_MAX);
        int rc =
            reply ? ctl_request(hr->shim_sock[h], "stats", reply, CTL_REPLY_MAX, 2000, e, sizeof(e))
                  : -1;
        free(reply);
        if (rc == 0)
            return 0;
        if (agent(r, h, words, st, sizeof(st), e, sizeof(e)) == 0 && !status_running(st) &&
            !strstr(st, " unknown"))
            return snprintf(err, el, "rift-shim on %s ended (%.*s): see shim-%s.log",
                            hr->hs.h[h].name, (int)strcspn(st, "\n"), st, hr->hs.h[h].name),
                   -1;
        run_sleep_ms(50);
    }
    return snprintf(err, el, "rift-shim on %s did not answer within 10 s", hr->hs.h[h].name), -1;
}

int hr_start_shims(struct run *r, char *err, size_t el)
{
    for (int h = 0; h < r->hr->hs.n; h++)
        if (start_shim(r, h, err, el) < 0)
            return -1;
    return 0;
}

/* Every host's counters as one object: the sums the checks read first,
 * then each host's own. */
static void combine_stats(struct run *r)
{
    const char *names[HOSTS_MAX];
    char *buf;
    for (int h = 0; h < r->hr->hs.n; h++)
        names[h] = r->hr->hs.h[h].name;
    if (!(buf = shimset_combine("hosts", r->hr->shim_stats, names, r->hr->hs.n)))
        return;
    free(r->shim_stats);
    r->shim_stats = buf;
}

static int fetch(struct run *r, int h, const char *remote_path, const char *local)
{
    char *get[] = {(char *)shim_of(r->hr, h), "agent", "get", (char *)remote_path, NULL};
    char e[256];
    if (remote_run(&r->hr->rm, h, get, NULL, NULL, 0, local, e, sizeof(e)) == 0)
        return 0;
    run_progress(r, "host %s: cannot fetch %s: %s", r->hr->hs.h[h].name, remote_path, e);
    return -1;
}

void hr_teardown(struct run *r)
{
    struct hostrun *hr = r->hr;
    char e[512] = "";
    if (!hr || !hr->open)
        return;
    hr_reap(r);
    for (int h = 0; h < hr->hs.n; h++) {
        char *reply = malloc(CTL_REPLY_MAX);
        if (hr->shim_pid[h] && reply &&
            ctl_request(hr->shim_sock[h], "stats", reply, CTL_REPLY_MAX, 10000, e, sizeof(e)) ==
                0 &&
            reply[0] == '{')
            hr->shim_stats[h] = reply;
        else
            free(reply);
    }
    for (int h = 0; h < hr->hs.n; h++)
        if (hr->shim_pid[h] && !hr->shim_stats[h]) {
            /* a host's counters missing: nothing vouches that its faults
             * were applied in full */
            snprintf(r->shim_err, sizeof(r->shim_err), "host %s: %s", hr->hs.h[h].name, e);
            break;
        }
    if (hr->shim_pid[0] && !r->shim_err[0])
        combine_stats(r);
    for (int h = 0; h < hr->hs.n; h++)
        if (hr->shim_pid[h]) {
            char reply[64];
            ctl_request(hr->shim_sock[h], "quit", reply, sizeof(reply), 5000, e, sizeof(e));
        }
    for (int i = 0; i < r->scn->n_nodes; i++)
        if (hr_node_stop(r, i, 3000, e, sizeof(e)) < 0)
            run_progress(r, "%s (the host's cleanup stops it)", e);
    if (clocks(r, 1, e, sizeof(e)) < 0)
        run_progress(r, "clock offsets at the end: %s", e);
    for (int i = 0; i < r->scn->n_nodes; i++) {
        char local[340];
        snprintf(local, sizeof(local), "%s/%s.log", r->tmp, r->scn->names[i]);
        /* the crash check reads the logs: one missing is not one clean */
        if (fetch(r, hr->node_host[i], r->nodes[i].log, local) < 0 && !r->unseen[0])
            snprintf(r->unseen, sizeof(r->unseen), "the log of %s could not be fetched from %s",
                     r->scn->names[i], hr->hs.h[hr->node_host[i]].name);
        snprintf(r->nodes[i].log, sizeof(r->nodes[i].log), "%s", local);
    }
    for (int h = 0; h < hr->hs.n; h++) {
        char rp[340], local[340];
        char *clean[] = {"cleanup", hr->rdir[h], r->id, NULL};
        snprintf(rp, sizeof(rp), "%s/shim.pcap", hr->rdir[h]);
        snprintf(local, sizeof(local), "%s/shim-%s.pcap", r->tmp, hr->hs.h[h].name);
        if (hr->shim_pid[h]) {
            fetch(r, h, rp, local);
            snprintf(rp, sizeof(rp), "%s/shim.log", hr->rdir[h]);
            snprintf(local, sizeof(local), "%s/shim-%s.log", r->tmp, hr->hs.h[h].name);
            fetch(r, h, rp, local);
        }
        if (hr->rdir_made[h] && agent(r, h, clean, NULL, 0, e, sizeof(e)) != 0) {
            run_progress(r, "host %s: cleanup of %s: %s", hr->hs.h[h].name, hr->rdir[h], e);
            hr->left = true;
        }
        hr->rdir_made[h] = false;
        hr->shim_pid[h] = 0;
    }
    remote_close(&hr->rm);
    hr->open = false;
}

void hr_json(const struct run *r, FILE *f)
{
    const struct hostrun *hr = r->hr;
    fputs(",\"hosts\":[", f);
    for (int h = 0; h < hr->hs.n; h++) {
        fprintf(f, "%s{\"name\":", h ? "," : "");
        esc_json(f, hr->hs.h[h].name);
        fputs(",\"ssh\":", f);
        esc_json(f, hr->hs.h[h].ssh);
        fputs(",\"nodes\":[", f);
        for (int i = 0, k = 0; i < r->scn->n_nodes; i++)
            if (hr->node_host[i] == h) {
                char ip[32];
                pkt_addr(scn_node_ip(r->scn, i), ip, sizeof(ip));
                fprintf(f, "%s{\"node\":\"%s\",\"addr\":\"%s\"}", k++ ? "," : "", r->scn->names[i],
                        ip);
            }
        fprintf(f, "],\"clock_offset_ms\":[%.3f,%.3f],\"clock_rtt_ms\":[%.3f,%.3f]}",
                (double)hr->offset_ns[h][0] / 1e6, (double)hr->offset_ns[h][1] / 1e6,
                (double)hr->rtt_ns[h][0] / 1e6, (double)hr->rtt_ns[h][1] / 1e6);
    }
    fputc(']', f);
}

void hr_free(struct run *r)
{
    if (!r->hr)
        return;
    for (int h = 0; h < HOSTS_MAX; h++)
        free(r->hr->shim_stats[h]);
    free(r->hr);
    r->hr = NULL;
    r->remote = NULL;
}
