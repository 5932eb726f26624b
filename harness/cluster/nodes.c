/* nodes: flavours, launching, admin commands, signals. */
#include "nodes.h"

#include "../scenario/flavour.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include "../../proto/pkt.h"
#include "cclient.h"

redisContext *node_connect(const struct run *r, int i, int timeout_ms)
{
    char addr[32], src[32];
    run_node_addr(r, i, addr, sizeof(addr));
    run_source(r, SCN_ADMIN_IP, src, sizeof(src));
    return cc_connect(addr, src, timeout_ms, r->password);
}

/* A command on node i's admin connection; reconnects once. Returns the
 * reply (caller frees) or NULL. */
redisReply *node_cmd(struct run *r, int i, const char *fmt, ...)
{
    struct node_rt *n = &r->nodes[i];
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *rep;
        va_list ap;
        if (!n->admin && !(n->admin = node_connect(r, i, 500)))
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
redisReply *node_words(struct run *r, int i, const char *cmd)
{
    struct node_rt *n = &r->nodes[i];
    char buf[512], *argv[16], *save = NULL;
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", cmd);
    for (char *t = strtok_r(buf, " ", &save); t && argc < 16; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *rep;
        if (!n->admin && !(n->admin = node_connect(r, i, 500)))
            return NULL;
        rep = redisCommandArgv(n->admin, argc, (const char **)argv, NULL);
        if (rep)
            return rep;
        redisFree(n->admin);
        n->admin = NULL;
    }
    return NULL;
}

bool node_ok(struct run *r, int i, const char *cmd, char *err, size_t el)
{
    redisReply *rep = node_words(r, i, cmd);
    bool ok = rep && rep->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(err, el, "%s on %s: %s", cmd, r->scn->names[i], rep ? rep->str : "no reply");
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* The run's password as a config file of mode 0600 at path: a server
 * reads it as its first argument, so the password is never on a command
 * line (anyone's to read in /proc). 0 or -1 with err. */
static int auth_conf(const struct run *r, const char *path, char *err, size_t el)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        snprintf(err, el, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "requirepass \"%s\"\nmasterauth \"%s\"\n", r->password, r->password);
    if (fclose(f) != 0)
        return snprintf(err, el, "cannot write %s: %s", path, strerror(errno)), -1;
    return 0;
}

int node_start(struct run *r, int i, char *err, size_t el)
{
    const struct scenario *s = r->scn;
    struct node_rt *n = &r->nodes[i];
    char ip[32], port[16], timeout[16], conf[340], auth[340], auth_local[340];
    char *argv[32 + 2 * SCN_MAX_CONF];
    int a = 0;
    pkt_addr(scn_node_ip(r->scn, i), ip, sizeof(ip));
    snprintf(port, sizeof(port), "%d", SCN_PORT);
    snprintf(timeout, sizeof(timeout), "%d", s->node_timeout_ms);
    snprintf(conf, sizeof(conf), "%s/nodes.conf", n->dir);
    snprintf(auth, sizeof(auth), "%s/auth.conf", n->dir);
    /* over hosts it is made here and put where the server reads it */
    if (r->remote)
        snprintf(auth_local, sizeof(auth_local), "%s/auth-%s.conf", r->tmp, s->names[i]);
    else
        memcpy(auth_local, auth, sizeof(auth));
    if (auth_conf(r, auth_local, err, el) < 0)
        return -1;
    for (int k = 0; k < r->n_launch; k++)
        argv[a++] = r->launch[k];
    if (r->n_launch > 1)
        argv[a++] = r->server_bin;
    argv[a++] = auth; /* a config file only as the first argument */
    /* Directives rift sets on every node: its own address for both the
     * clients and the bus (bind-source-addr, or bus links leave from
     * 127.0.0.1), nothing on disk but nodes.conf, replicas syncing at once
     * instead of after the default 5 s. */
    const char *const fixed[][2] = {
        {"--bind", ip},
        {"--bind-source-addr", ip},
        {"--port", port},
        {"--cluster-enabled", "yes"},
        {"--cluster-config-file", conf},
        {"--cluster-node-timeout", timeout},
        {"--protected-mode", "no"},
        {"--save", ""},
        {"--appendonly", "no"},
        {"--dir", n->dir},
        {"--logfile", n->log},
        {"--daemonize", "no"},
        {"--repl-diskless-sync-delay", "0"},
    };
    for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++) {
        if (s->standalone && !strncmp(fixed[k][0], "--cluster-", 10))
            continue; /* mode = standalone: cluster mode off */
        argv[a++] = (char *)fixed[k][0];
        argv[a++] = (char *)fixed[k][1];
    }
    char opt[SCN_MAX_CONF][132];
    for (int k = 0; k < s->n_conf; k++) {
        snprintf(opt[k], sizeof(opt[k]), "--%s", s->conf[k][0]);
        argv[a++] = opt[k];
        argv[a++] = (char *)s->conf[k][1];
    }
    argv[a] = NULL;
    if (r->remote)
        return r->remote->start(r, i, argv, auth_local, err, el);
    char role[32];
    snprintf(role, sizeof(role), "server:%s", s->names[i]);
    const struct proc_opts po = {.started = reg_started, .started_ctx = &r->reg, .role = role};
    n->pid = proc_start(argv, &po);
    if (n->pid < 0) {
        n->pid = 0;
        snprintf(err, el, "cannot start %s: %s", s->names[i], strerror(errno));
        return -1;
    }
    n->down = false;
    n->paused = false;
    return 0;
}

void node_down(struct run *r, int i, const char *fmt, ...)
{
    va_list ap;
    r->nodes[i].down = true;
    va_start(ap, fmt);
    vsnprintf(r->nodes[i].down_why, sizeof(r->nodes[i].down_why), fmt, ap);
    va_end(ap);
}

/* Node i was started and not marked down; else why says so. */
static bool running(struct run *r, int i, char *why, size_t wl)
{
    const struct node_rt *n = &r->nodes[i];
    if (!n->down && (r->remote ? r->remote->alive(r, i) : n->pid > 0))
        return true;
    snprintf(why, wl, "%s is not running (%s)", r->scn->names[i],
             n->down_why[0] ? n->down_why : "down");
    return false;
}

/* A step can act on node i: it runs and is not paused. The caller reaps
 * first (obs_reap_nodes; on hosts hr_reap) so that exits are recorded as
 * what they were. */
bool node_usable(struct run *r, int i, char *why, size_t wl)
{
    const struct node_rt *n = &r->nodes[i];
    if (!running(r, i, why, wl))
        return false;
    /* exited, not reaped yet: the timeline's next reap records it */
    if (!r->remote && proc_signal_child(n->pid, 0) == -ESRCH) {
        snprintf(why, wl, "%s (pid %d) has exited", r->scn->names[i], (int)n->pid);
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
int node_signal(struct run *r, int i, int sig, char *why, size_t wl)
{
    const struct node_rt *n = &r->nodes[i];
    int rc;
    if (!running(r, i, why, wl))
        return 1;
    if (r->remote)
        return r->remote->signal(r, i, sig, why, wl);
    rc = proc_signal_child(n->pid, sig);
    if (rc < 0) {
        snprintf(why, wl, "%s (pid %d) %s", r->scn->names[i], (int)n->pid,
                 rc == -ESRCH ? "has exited" : strerror(-rc));
        return rc == -ESRCH ? 1 : -1;
    }
    return 0;
}

/* The server binary and how to launch it (flavour.h). */
int node_pick_server(struct run *r, const char *server, char *err, size_t el)
{
    struct flavour f;
    int rc = flavour_resolve(server, &f, err, el);
    snprintf(r->server_name, sizeof(r->server_name), "%s", f.name[0] ? f.name : server);
    snprintf(r->server_bin, sizeof(r->server_bin), "%s", f.bin);
    snprintf(r->server_package, sizeof(r->server_package), "%s", f.package);
    for (int k = 0; k < f.n_launch; k++)
        snprintf(r->launch[k], sizeof(r->launch[k]), "%s", f.launch[k]);
    r->n_launch = f.n_launch;
    return rc;
}

int node_server_version(struct run *r)
{
    char *argv[8], line[256], *v;
    int a = 0;
    for (int k = 0; k < r->n_launch; k++)
        argv[a++] = r->launch[k];
    if (r->n_launch > 1)
        argv[a++] = r->server_bin;
    argv[a++] = "--version";
    argv[a] = NULL;
    if (proc_capture(argv, line, sizeof(line)) != 0 || !(v = strstr(line, "v=")))
        return -1;
    snprintf(r->server_version, sizeof(r->server_version), "%.*s", (int)strcspn(v + 2, " \n"),
             v + 2);
    return 0;
}
