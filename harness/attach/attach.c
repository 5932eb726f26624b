/* attach: a scenario on a cluster rift did not start (attach.h). */
#include "attach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../../proto/pkt.h"
#include "../../proto/pstat.h"
#include "../cluster/cclient.h"
#include "../cluster/nodes.h"
#include "../sys/proc.h"
#include "../sys/sockown.h"

/* A node as CLUSTER NODES lists it. */
struct found {
    char id[41];
    uint32_t ip;
    uint16_t port, bus;
    bool primary, myself, failing;
    char primary_id[41];
    int lo;   /* its lowest slot, SCN_SLOTS: none */
    int name; /* index into the scenario's nodes, -1 not yet */
};

static void addr_of(uint32_t ip, uint16_t port, char *out, size_t len)
{
    char a[PKT_ADDR_MAX];
    snprintf(out, len, "%s:%u", pkt_addr(ip, a, sizeof(a)), port);
}

/* A connection to ip:port, authenticated; NULL with err. */
static redisContext *att_connect(const struct run *r, uint32_t ip, uint16_t port, char *err,
                                 size_t el)
{
    char addr[32], src[PKT_ADDR_MAX] = "";
    redisContext *c;
    addr_of(ip, port, addr, sizeof(addr));
    if ((ip >> 24) == 127) {
        pkt_addr(SCN_ADMIN_IP, src, sizeof(src));
    } else {
        /* traffic stays on this machine: an address off the loopback is
         * one a process here listens on, in a container's namespace */
        struct sockown so;
        if (sockown_find(ip, port, &so) < 0) {
            snprintf(err, el,
                     "%s is not a listening address of this machine (no network namespace "
                     "here has it, or nothing listens on it): rift attaches to nodes on this "
                     "host only, local processes or containers",
                     addr);
            return NULL;
        }
    }
    errno = 0;
    c = cc_connect(addr, src, 2000, r->password[0] ? r->password : NULL);
    if (!c && errno == EACCES)
        snprintf(err, el,
                 "%s refused the password of [cluster] password (a wrong one, or the "
                 "node has none)",
                 addr);
    else if (!c)
        snprintf(err, el, "cannot reach %s: %s", addr, errno ? strerror(errno) : "no reply");
    return c;
}

/* A command's reply; NULL with err naming addr (an error reply too). */
static redisReply *att_cmd(redisContext *c, const char *addr, const char *cmd, char *err, size_t el)
{
    redisReply *rep = redisCommand(c, cmd);
    if (!rep) {
        snprintf(err, el, "%s: %s: %s", addr, cmd,
                 c->err == REDIS_ERR_PROTOCOL ? "the reply is not RESP: not a Redis or Valkey "
                                                "server"
                                              : c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        if (!strncmp(rep->str, "DENIED", 6))
            snprintf(err, el,
                     "%s refuses rift's observer at 127.0.0.2 (protected mode: no password, "
                     "and it takes clients from 127.0.0.1 only). rift's observer, clients and "
                     "application connect from addresses of their own (127.0.0.2, .100, .200) "
                     "so that faults tell them apart: give the cluster a password "
                     "(requirepass, and password = in [cluster]) or protected-mode no",
                     addr);
        else if (!strncmp(rep->str, "NOAUTH", 6))
            snprintf(err, el, "%s needs a password: give it as password = in [cluster]", addr);
        else if (strstr(rep->str, "cluster support disabled"))
            snprintf(err, el,
                     "%s is not a cluster node (cluster support disabled): attach "
                     "takes a node of a Redis Cluster or Valkey cluster",
                     addr);
        else
            snprintf(err, el, "%s: %s: %.200s", addr, cmd, rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    if (rep->type != REDIS_REPLY_STRING) {
        snprintf(err, el, "%s: %s: not a bulk string reply", addr, cmd);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* One CLUSTER NODES line into f. 0, or -1 (a line rift cannot read). */
static int parse_line(const char *line, struct found *f)
{
    char id[64], addr[256], flags[128], primary[64], *at, *colon;
    int n = 0, port, bus;
    const char *p;
    memset(f, 0, sizeof(*f));
    f->lo = SCN_SLOTS;
    f->name = -1;
    if (sscanf(line, "%63s %255s %127s %63s %*s %*s %*s %*s%n", id, addr, flags, primary, &n) < 4 ||
        strlen(id) != 40)
        return -1;
    memcpy(f->id, id, 41);
    if ((at = strchr(addr, ',')))
        *at = '\0'; /* ,hostname */
    if (!(at = strchr(addr, '@')) || !(colon = strrchr(addr, ':')) || colon > at)
        return -1;
    *at = '\0';
    *colon = '\0';
    if (scn_parse_int(colon + 1, 0, 65535, &port) < 0 || scn_parse_int(at + 1, 0, 65535, &bus) < 0)
        return -1;
    {
        struct in_addr in;
        if (inet_pton(AF_INET, addr, &in) != 1)
            return -1;
        f->ip = ntohl(in.s_addr);
    }
    f->port = (uint16_t)port;
    f->bus = (uint16_t)bus;
    f->myself = strstr(flags, "myself") != NULL;
    f->primary = strstr(flags, "master") != NULL;
    f->failing = strstr(flags, "fail") || strstr(flags, "handshake") || strstr(flags, "noaddr");
    snprintf(f->primary_id, sizeof(f->primary_id), "%s", strcmp(primary, "-") ? primary : "");
    /* slots: N, N-M, [N->-id] / [N-<-id] (migrating, importing) */
    for (p = line + n; *p;) {
        int lo;
        while (*p == ' ')
            p++;
        if (*p == '[' || !*p || *p == '\n') {
            p += strcspn(p, " \n");
            if (*p == '\n')
                break;
            continue;
        }
        lo = (int)strtol(p, NULL, 10);
        if (lo >= 0 && lo < f->lo)
            f->lo = lo;
        p += strcspn(p, " \n");
    }
    return 0;
}

static int by_slot(const void *a, const void *b)
{
    const struct found *x = *(const struct found *const *)a, *y = *(const struct found *const *)b;
    return x->lo - y->lo;
}

static int by_addr(const void *a, const void *b)
{
    const struct found *x = *(const struct found *const *)a, *y = *(const struct found *const *)b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return (int)x->port - (int)y->port;
}

/* The myself id of the node behind c. */
static int myself_id(redisContext *c, const char *addr, char *id, char *err, size_t el)
{
    redisReply *rep = att_cmd(c, addr, "CLUSTER MYID", err, el);
    if (!rep)
        return -1;
    snprintf(id, 41, "%s", rep->str);
    freeReplyObject(rep);
    return 0;
}

/* The process behind node i's port, as it was started. */
static void find_process(struct run *r, int i)
{
    struct att_node *a = &r->att->n[i];
    const struct pol_node *pn = &r->scn->faults.nodes[i];
    struct sockown so;
    char path[64];
    ssize_t n;
    if (sockown_find(pn->ip, pn->port, &so) < 0)
        return;
    a->pid = so.pid;
    a->start = so.start;
    a->netns = so.netns;
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)so.pid);
    free(a->env);
    a->env = proc_read_file(path, &a->env_len);
    snprintf(path, sizeof(path), "/proc/%d/cwd", (int)so.pid);
    if ((n = readlink(path, a->cwd, sizeof(a->cwd) - 1)) > 0)
        a->cwd[n] = '\0';
    /* INFO's executable is the working directory joined to a relative
     * argv[0] (a server started from PATH): then the name beside the
     * binary that runs (Debian's redis-server links to redis-check-rdb,
     * which acts on the name it was started by) */
    if (a->exe[0] && access(a->exe, X_OK) != 0) {
        char bin[512], *slash;
        const char *name = strrchr(a->exe, '/') ? strrchr(a->exe, '/') + 1 : a->exe;
        snprintf(path, sizeof(path), "/proc/%d/exe", (int)so.pid);
        a->exe[0] = '\0';
        if ((n = readlink(path, bin, sizeof(bin) - 1)) > 0 &&
            (bin[n] = '\0', slash = strrchr(bin, '/'))) {
            char cand[600];
            *slash = '\0';
            snprintf(cand, sizeof(cand), "%s/%s", bin, name);
            if (access(cand, X_OK) == 0 && strlen(cand) < sizeof(a->exe))
                memcpy(a->exe, cand, strlen(cand) + 1);
        }
    }
}

/* ---- the node_remote of an attached cluster ---- */

static bool att_alive(const struct run *r, int i)
{
    const struct att_node *a = &r->att->n[i];
    /* without its process rift cannot tell: the views say what it does */
    return !a->pid || pstat_alive_since(a->pid, a->start);
}

static int att_signal(struct run *r, int i, int sig, char *why, size_t wl)
{
    struct att_node *a = &r->att->n[i];
    if (!r->scn->attach.signals) {
        snprintf(why, wl, "%s: attach_signals is not yes", r->scn->names[i]);
        return -1;
    }
    if (!a->pid) {
        snprintf(why, wl,
                 "%s: no process found listening on its port (another namespace, or "
                 "not readable)",
                 r->scn->names[i]);
        return -1;
    }
    if (!pstat_alive_since(a->pid, a->start)) {
        snprintf(why, wl, "%s (pid %d) has exited", r->scn->names[i], (int)a->pid);
        return 1;
    }
    if (kill(a->pid, sig) < 0) {
        snprintf(why, wl, "%s (pid %d): %s", r->scn->names[i], (int)a->pid, strerror(errno));
        return -1;
    }
    if (sig == SIGKILL || sig == SIGTERM)
        a->signalled = true;
    return 0;
}

/* Start node i's process again as it was started: its command line, its
 * environment, its working directory; not a child of rift (it outlives
 * the run). */
static int att_start(struct run *r, int i, char *const argv[], const char *conf, char *err,
                     size_t el)
{
    struct att_node *a = &r->att->n[i];
    char *envs[256];
    int ne = 0;
    pid_t pid;
    (void)argv;
    (void)conf;
    if (!a->exe[0] || !a->conf[0])
        return snprintf(err, el,
                        "%s: rift can start again only a node started from a config file "
                        "(INFO server has no config_file: its options were on its command line)",
                        r->scn->names[i]),
               -1;
    if (a->env)
        for (size_t k = 0; k < a->env_len && ne < 255; k += strlen(a->env + k) + 1)
            envs[ne++] = a->env + k;
    envs[ne] = NULL;
    pid = fork();
    if (pid < 0)
        return snprintf(err, el, "fork: %s", strerror(errno)), -1;
    if (pid == 0) {
        /* a grandchild in a session of its own: init reaps it */
        if (fork() != 0)
            _exit(0);
        setsid();
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (a->cwd[0] && chdir(a->cwd) < 0)
            _exit(127);
        char *args[] = {a->exe, a->conf, NULL};
        execve(a->exe, args, envs);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
    /* it listens again: that is the node's process now */
    for (int waited = 0; waited < 10000; waited += 50) {
        struct sockown so;
        if (sockown_find(r->scn->faults.nodes[i].ip, r->scn->faults.nodes[i].port, &so) == 0) {
            a->pid = so.pid;
            a->start = so.start;
            a->signalled = false;
            r->nodes[i].down = false;
            r->nodes[i].paused = false;
            return 0;
        }
        run_sleep_ms(50);
    }
    return snprintf(err, el, "%s: started again (%s), but nothing listens on its port after 10 s",
                    r->scn->names[i], a->exe),
           -1;
}

static const struct node_remote att_remote = {
    .start = att_start, .signal = att_signal, .alive = att_alive};

int att_node_stop(struct run *r, int i, int ms, char *err, size_t el)
{
    struct att_node *a = &r->att->n[i];
    char why[160];
    int rc = att_signal(r, i, SIGTERM, why, sizeof(why));
    if (rc < 0)
        return snprintf(err, el, "%s", why), -1;
    a->signalled = true;
    kill(a->pid, SIGCONT);
    for (int waited = 0; rc == 0 && waited < ms; waited += 20) {
        if (!pstat_alive_since(a->pid, a->start))
            return 0;
        run_sleep_ms(20);
    }
    if (pstat_alive_since(a->pid, a->start))
        kill(a->pid, SIGKILL);
    for (int waited = 0; waited < 2000 && pstat_alive_since(a->pid, a->start); waited += 20)
        run_sleep_ms(20);
    return 0;
}

/* INFO server's FIELD: value into out (cut at len), "" when absent. */
static void info_field(const char *info, const char *field, char *out, size_t len)
{
    const char *at = strstr(info, field);
    out[0] = '\0';
    if (at && (at == info || at[-1] == '\n'))
        snprintf(out, len, "%.*s", (int)strcspn(at + strlen(field), "\r\n"), at + strlen(field));
}

static void start_info(redisContext *c, struct att_node *a)
{
    redisReply *rep = redisCommand(c, "INFO server");
    if (rep && rep->type == REDIS_REPLY_STRING) {
        info_field(rep->str, "executable:", a->exe, sizeof(a->exe));
        info_field(rep->str, "config_file:", a->conf, sizeof(a->conf));
    }
    if (rep)
        freeReplyObject(rep);
}

/* ---- discovery ---- */

/* Every address given is a node of the cluster f lists. */
static int seeds_in_cluster(const struct run *r, const struct scn_attach *sa, const struct found *f,
                            int nf, const char *first, char *err, size_t el)
{
    char addr[32], id[41];
    for (int k = 1; k < sa->n; k++) {
        redisContext *o;
        bool in = false;
        addr_of(sa->ip[k], sa->port[k], addr, sizeof(addr));
        if (!(o = att_connect(r, sa->ip[k], sa->port[k], err, el)))
            return -1;
        int idrc = myself_id(o, addr, id, err, el);
        redisFree(o);
        if (idrc < 0)
            return -1;
        for (int j = 0; j < nf; j++)
            in |= !strcmp(f[j].id, id);
        if (!in) {
            snprintf(err, el,
                     "%s answers, but is not a node of the cluster at %s (its id %.12s... "
                     "is not in that node's CLUSTER NODES)",
                     addr, first, id);
            return -1;
        }
    }
    return 0;
}

/* Every node answers rift, and is the node CLUSTER NODES says; the
 * process behind each. */
static int nodes_answer(struct run *r, const struct scenario *scn, const char *first, char *err,
                        size_t el)
{
    char addr[32], id[41];
    for (int i = 0; i < scn->n_nodes; i++) {
        const struct pol_node *pn = &scn->faults.nodes[i];
        redisContext *o;
        int idrc;
        addr_of(pn->ip, pn->port, addr, sizeof(addr));
        if (!(o = att_connect(r, pn->ip, pn->port, err, el))) {
            char e2[SCN_ERR_MAX];
            snprintf(e2, sizeof(e2), "%s (%s in CLUSTER NODES of %s)", err, scn->names[i], first);
            snprintf(err, el, "%s", e2);
            return -1;
        }
        idrc = myself_id(o, addr, id, err, el);
        if (idrc == 0)
            start_info(o, &r->att->n[i]);
        redisFree(o);
        if (idrc < 0)
            return -1;
        if (strcmp(id, pn->id) != 0) {
            snprintf(err, el, "%s answers as node %.12s..., CLUSTER NODES of %s says %.12s...",
                     addr, id, first, pn->id);
            return -1;
        }
        find_process(r, i);
    }
    return 0;
}

/* A node a step stops must be one rift can start again. */
static int steps_undoable(const struct run *r, const struct scenario *scn, char *err, size_t el)
{
    for (int k = 0; k < scn->n_steps; k++) {
        const struct att_node *a = &r->att->n[scn->steps[k].node < 0 ? 0 : scn->steps[k].node];
        if ((scn->steps[k].kind == STEP_KILL || scn->steps[k].kind == STEP_RESTART) &&
            (!a->conf[0] || !a->exe[0] || !a->pid)) {
            snprintf(err, el,
                     "%s:%d: %s is a step rift cannot undo: %s %s (rift starts a stopped node "
                     "again from its executable and config file, and signals only the process "
                     "it found behind the node's port)",
                     scn->file, scn->steps[k].line, scn->names[scn->steps[k].node],
                     !a->pid ? "no process was found listening on its port" : "it was started",
                     !a->pid ? "" : "without a config file (INFO server config_file is empty)");
            return -1;
        }
    }
    return 0;
}

int att_init(struct run *r, struct scenario *scn, char *err, size_t el)
{
    const struct scn_attach *sa = &scn->attach;
    struct found *f = calloc((size_t)SCN_MAX_NODES * 2, sizeof(*f));
    struct found *prim[SCN_MAX_NODES], *reps[SCN_MAX_NODES];
    char first[32], addr[32], *save = NULL, *line;
    int nf = 0, np = 0, rc = -1;
    redisContext *c = NULL;
    redisReply *rep = NULL;
    if (!f || !(r->att = calloc(1, sizeof(*r->att)))) {
        free(f);
        return snprintf(err, el, "out of memory"), -1;
    }
    snprintf(r->password, sizeof(r->password), "%s", scn->password);
    addr_of(sa->ip[0], sa->port[0], first, sizeof(first));
    for (int k = 0; k < sa->n; k++) {
        size_t o = strlen(r->att->seeds);
        addr_of(sa->ip[k], sa->port[k], addr, sizeof(addr));
        snprintf(r->att->seeds + o, sizeof(r->att->seeds) - o, "%s%s", k ? "," : "", addr);
    }
    if (!(c = att_connect(r, sa->ip[0], sa->port[0], err, el)) ||
        !(rep = att_cmd(c, first, "CLUSTER NODES", err, el)))
        goto out;
    for (line = strtok_r(rep->str, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!*line)
            continue;
        if (nf == SCN_MAX_NODES * 2) {
            snprintf(err, el, "%s: more than %d nodes", first, SCN_MAX_NODES * 2);
            goto out;
        }
        if (parse_line(line, &f[nf]) < 0) {
            snprintf(err, el, "%s: CLUSTER NODES: a line rift cannot read: %.120s", first, line);
            goto out;
        }
        if (f[nf].failing) {
            snprintf(err, el, "the cluster at %s is not healthy: %.120s", first, line);
            goto out;
        }
        nf++;
    }
    freeReplyObject(rep);
    rep = att_cmd(c, first, "CLUSTER INFO", err, el);
    if (!rep)
        goto out;
    if (!strstr(rep->str, "cluster_state:ok")) {
        snprintf(err, el, "the cluster at %s is not ready (CLUSTER INFO: cluster_state is not ok)",
                 first);
        goto out;
    }
    if (seeds_in_cluster(r, sa, f, nf, first, err, el) < 0)
        goto out;
    for (int j = 0; j < nf; j++)
        if (f[j].primary && f[j].lo < SCN_SLOTS)
            prim[np++] = &f[j];
    qsort(prim, (size_t)np, sizeof(struct found *), by_slot);
    {
        char shape[256] = "";
        bool ok = np == scn->masters;
        for (int m = 0; m < np; m++) {
            int nr = 0;
            for (int j = 0; j < nf; j++)
                if (!f[j].primary && !strcmp(f[j].primary_id, prim[m]->id))
                    nr++;
            ok &= nr == scn->replicas;
            snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%d", m ? ", " : "",
                     nr);
        }
        for (int j = 0; j < nf; j++)
            ok &= !(f[j].primary && f[j].lo == SCN_SLOTS); /* a primary without slots */
        if (!ok) {
            snprintf(err, el,
                     "the cluster at %s has %d primar%s with slots (replicas each: %s) and %d "
                     "nodes; the scenario names %d primaries with %d replica%s each: set "
                     "masters and replicas in [cluster] to match",
                     first, np, np == 1 ? "y" : "ies", shape, nf, scn->masters, scn->replicas,
                     scn->replicas == 1 ? "" : "s");
            goto out;
        }
    }
    /* names: m1..mN by their lowest slot, mNrK by address */
    for (int m = 0; m < np; m++) {
        int nr = 0;
        prim[m]->name = m;
        for (int j = 0; j < nf; j++)
            if (!f[j].primary && !strcmp(f[j].primary_id, prim[m]->id))
                reps[nr++] = &f[j];
        qsort(reps, (size_t)nr, sizeof(struct found *), by_addr);
        for (int k = 0; k < nr; k++)
            reps[k]->name = (k + 1) * scn->masters + m;
    }
    for (int j = 0; j < nf; j++) {
        struct pol_node *pn = &scn->faults.nodes[f[j].name];
        pn->ip = f[j].ip;
        pn->port = f[j].port;
        pn->bus = f[j].bus;
        memcpy(pn->id, f[j].id, sizeof(pn->id));
        memcpy(r->att->n[f[j].name].id, f[j].id, sizeof(r->att->n[0].id));
        memcpy(r->nodes[f[j].name].id, f[j].id, sizeof(r->nodes[0].id));
        r->att->far |= (f[j].ip >> 24) != 127;
    }
    r->far = r->att->far;
    if (r->att->far && att_far_check(scn, err, el) < 0)
        goto out;
    if (nodes_answer(r, scn, first, err, el) < 0)
        goto out;
    if (r->att->far && att_group_netns(r, err, el) < 0)
        goto out;
    if (steps_undoable(r, scn, err, el) < 0)
        goto out;
    r->remote = &att_remote;
    rc = 0;
out:
    if (rep)
        freeReplyObject(rep);
    if (c)
        redisFree(c);
    free(f);
    return rc;
}

int att_begin(struct run *r, struct scenario *scn, const char *opt, bool hosts)
{
    char err[768];
    if (opt) {
        int line = 0;
        if (hosts) {
            fprintf(stderr, "rift: --attach and --hosts: a cluster rift attaches to runs where "
                            "it runs\n");
            return 2;
        }
        if (scn_attach_parse(&scn->attach, opt, err, sizeof(err)) < 0 ||
            scn_attach_check(scn, &line, err, sizeof(err)) < 0) {
            if (line)
                fprintf(stderr, "%s:%d: %s\n", scn->file, line, err);
            else
                fprintf(stderr, "rift: --attach: %s\n", err);
            return 2;
        }
        scn->attach.line = 0;
    }
    if (scn->attach.n && !hosts && att_init(r, scn, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift: attach: %s; nothing was changed\n", err);
        att_free(r);
        return 2;
    }
    return 0;
}

void att_server_version(struct run *r)
{
    redisReply *rep = node_cmd(r, 0, "INFO server");
    if (rep && rep->type == REDIS_REPLY_STRING) {
        info_field(rep->str, "valkey_version:", r->server_version, sizeof(r->server_version));
        snprintf(r->server_name, sizeof(r->server_name), "%s",
                 r->server_version[0] ? "valkey" : "");
        if (!r->server_version[0])
            info_field(rep->str, "redis_version:", r->server_version, sizeof(r->server_version));
    }
    if (!r->server_name[0])
        snprintf(r->server_name, sizeof(r->server_name), "redis");
    if (rep)
        freeReplyObject(rep);
}

/* ---- leaving it as it was ---- */

static int remove_keys(struct run *r, int i)
{
    char cursor[32] = "0";
    int removed = 0;
    do {
        redisReply *rep = node_cmd(r, i, "SCAN %s MATCH rift:* COUNT 1000", cursor);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            if (rep)
                freeReplyObject(rep);
            return removed;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        for (size_t k = 0; k < rep->element[1]->elements; k++) {
            redisReply *d = node_cmd(r, i, "UNLINK %b", rep->element[1]->element[k]->str,
                                     rep->element[1]->element[k]->len);
            removed += d && d->type == REDIS_REPLY_INTEGER && d->integer == 1;
            if (d)
                freeReplyObject(d);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return removed;
}

void att_restore(struct run *r)
{
    char err[256];
    if (!r->att)
        return;
    for (int i = 0; i < r->scn->n_nodes; i++) {
        struct att_node *a = &r->att->n[i];
        if (r->nodes[i].paused && a->pid && pstat_alive_since(a->pid, a->start)) {
            kill(a->pid, SIGCONT);
            r->nodes[i].paused = false;
            run_progress(r, "%s (pid %d) resumed: it was paused by the run", r->scn->names[i],
                         (int)a->pid);
        }
        if (a->signalled && !pstat_alive_since(a->pid, a->start)) {
            if (att_start(r, i, NULL, NULL, err, sizeof(err)) < 0)
                run_progress(r, "%s could not be started again: %s", r->scn->names[i], err);
            else
                run_progress(r, "%s started again as it was (pid %d): a step had stopped it",
                             r->scn->names[i], (int)a->pid);
        }
    }
    /* the keys rift wrote (workload, probes, preload: rift:*), on the
     * primaries as they are now */
    for (int i = 0; i < r->scn->n_nodes; i++) {
        redisReply *rep = node_cmd(r, i, "ROLE");
        bool primary = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                       rep->element[0]->type == REDIS_REPLY_STRING &&
                       !strcmp(rep->element[0]->str, "master");
        if (rep)
            freeReplyObject(rep);
        if (primary)
            r->att->keys_removed += remove_keys(r, i);
    }
    run_progress(r, "attached cluster left as found: faults off, %d rift:* key%s removed",
                 r->att->keys_removed, r->att->keys_removed == 1 ? "" : "s");
}

void att_free(struct run *r)
{
    for (int i = 0; r->att && i < SCN_MAX_NODES; i++) {
        free(r->att->n[i].env);
        free(r->att->sh[i].stats);
    }
    free(r->att);
    r->att = NULL;
    if (r->remote == &att_remote)
        r->remote = NULL;
}
