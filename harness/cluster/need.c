/* need: preflight of tools and probe libraries. */
#include "need.h"

#include "../../policies/esc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sys/proc.h"

bool need_on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    char buf[1024];
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        if (n && n < sizeof(buf) - strlen(prog) - 2) {
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
            if (access(buf, X_OK) == 0)
                return true;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return false;
}

/* Starts argv (its output thrown away): the child's PID, or -1. */
static pid_t start_check(char *const argv[], const char *env)
{
    const struct proc_opts o = {.env = env};
    return proc_start(argv, &o);
}

/* The check started as pid exited 0. */
static bool check_ok(pid_t pid)
{
    int st;
    if (pid < 0)
        return false;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static const char *need_probe_target(const char *probe)
{
    if (!strcmp(probe, "rift"))
        return "make";
    if (!strcmp(probe, "redis-py"))
        return "make deps";
    if (!strcmp(probe, "redis-py@sid"))
        return "make server-sid";
    return "make clients";
}

/* Appends "WHAT: run `TARGET`" to the list. */
static void add(char *err, size_t el, size_t *off, const char *what, const char *target)
{
    int n;
    if (*off >= el)
        return;
    n = snprintf(err + *off, el - *off, "%s", *off ? "; " : "");
    if (n > 0)
        *off += (size_t)n;
    if (*off >= el)
        return;
    n = snprintf(err + *off, el - *off, "%s: run `%s`", what, target);
    if (n > 0)
        *off += (size_t)n;
}

/* One probe's library: really loaded by the interpreter that runs it.
 * Returns 1 (present), 0 (absent) or 2 with *pid set: a check runs, its
 * exit status tells. */
static int probe_present(const char *probe, const char *self_dir, char *what, size_t wl, pid_t *pid)
{
    char path[700];
    if (!strcmp(probe, "rift")) {
        snprintf(path, sizeof(path), "%s/rift-probe", self_dir);
        snprintf(what, wl, "rift-probe (%s)", path);
        return access(path, X_OK) == 0;
    }
    if (!strcmp(probe, "redis-py")) {
        char *const argv[] = {"/usr/bin/python3", "-c", "import redis.cluster", NULL};
        snprintf(what, wl, "redis-py for probe redis-py (Debian's python3-redis)");
        if (access(argv[0], X_OK) != 0)
            return 0;
        *pid = start_check(argv, NULL);
        return 2;
    }
    if (!strcmp(probe, "redis-py-6") || !strcmp(probe, "redis-py@sid")) {
        char env[800];
        const char *suite = probe[8] == '@' ? "sid" : "trixie";
        char *const argv[] = {"/usr/bin/python3", "-c",
                              "import redis.cluster, sys; "
                              "sys.exit(0 if redis.__version__.startswith('6.') else 1)",
                              NULL};
        snprintf(env, sizeof(env), "PYTHONPATH=%s/../build/%s/root/usr/lib/python3/dist-packages",
                 self_dir, suite);
        snprintf(what, wl, "redis-py 6 for probe %s (%s's python3-redis, build/%s)", probe, suite,
                 suite);
        if (access(argv[0], X_OK) != 0)
            return 0;
        *pid = start_check(argv, env);
        return 2;
    }
    if (strcmp(probe, "ioredis") == 0 || strcmp(probe, "node-redis") == 0 ||
        strcmp(probe, "iovalkey") == 0 || strcmp(probe, "valkey-glide") == 0) {
        const char *pkg = !strcmp(probe, "node-redis")     ? "redis"
                          : !strcmp(probe, "valkey-glide") ? "@valkey/valkey-glide"
                                                           : probe;
        snprintf(path, sizeof(path), "%s/../harness/clients/node_modules/%s", self_dir, pkg);
        char *const argv[] = {"node", "-e", "require(process.argv[1])", path, NULL};
        if (!need_on_path("node")) {
            snprintf(what, wl, "node (Node.js, for probe %s)", probe);
            return 0;
        }
        snprintf(what, wl, "npm package %s for probe %s (harness/clients/node_modules)", pkg,
                 probe);
        *pid = start_check(argv, NULL);
        return 2;
    }
    snprintf(what, wl, "probe %s (unknown)", probe);
    return 0;
}

int need_check(const struct scenario *s, const char *self_dir, char *err, size_t errlen)
{
    static const char *const tools[] = {"ip", "iptables", "iptables-restore", "iptables-save"};
    char path[700];
    size_t off = 0;
    err[0] = '\0';
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        if (!need_on_path(tools[i]))
            add(err, errlen, &off, tools[i], "make deps");
    snprintf(path, sizeof(path), "%s/rift-shim", self_dir);
    if (access(path, X_OK) != 0)
        add(err, errlen, &off, path, "make");
    /* The interpreters load the libraries side by side: each takes a few
     * hundred milliseconds. */
    struct {
        char what[300];
        pid_t pid;
        int present;
    } c[SCN_MAX_PROBES];
    for (int i = 0; i < s->n_probes; i++)
        c[i].present =
            probe_present(s->probes[i].name, self_dir, c[i].what, sizeof(c[i].what), &c[i].pid);
    for (int i = 0; i < s->n_probes; i++) {
        if (c[i].present == 2 && c[i].pid < 0) {
            char what[400];
            snprintf(what, sizeof(what), "cannot start the check of %s (out of processes?)",
                     c[i].what);
            add(err, errlen, &off, what, "make clients");
            continue;
        }
        if (c[i].present == 2)
            c[i].present = check_ok(c[i].pid);
        if (!c[i].present)
            add(err, errlen, &off, c[i].what, need_probe_target(s->probes[i].name));
    }
    if (s->app.on && !need_on_path(s->app.words + s->app.argv_off[0]) && off < errlen) {
        const char *prog = s->app.words + s->app.argv_off[0];
        char t[300];
        esc_text(t, sizeof(t), prog);
        int n = snprintf(err + off, errlen - off, "%sapp: %s: command not found%s", off ? "; " : "",
                         t, strchr(prog, '/') ? "" : " in PATH");
        if (n > 0)
            off += (size_t)n;
    }
    return off ? -1 : 0;
}
