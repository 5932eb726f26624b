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

#include "../sys/home.h"
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

/* What gets what a probe needs: out. */
static const char *need_probe_target(const char *probe, char *out, size_t len)
{
    if (!strcmp(probe, "rift"))
        snprintf(out, len, home_is_tree() ? "`make`" : "`apt-get install --reinstall rift`");
    else if (!strcmp(probe, "redis-py"))
        snprintf(out, len, home_is_tree() ? "`make deps`" : "`apt-get install python3-redis`");
    else if (!strcmp(probe, "redis-py@sid"))
        home_fetch_hint(out, len, "redis@sid", "server-sid");
    else
        home_fetch_hint(out, len, "clients", "clients");
    return out;
}

/* Appends "WHAT: run HOW" to the list; HOW names its commands in backquotes. */
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
    n = snprintf(err + *off, el - *off, "%s: run %s", what, target);
    if (n > 0)
        *off += (size_t)n;
}

/* One probe's library: really loaded by the interpreter that runs it.
 * Returns 1 (present), 0 (absent) or 2 with *pid set: a check runs, its
 * exit status tells. */
static int probe_present(const char *probe, char *what, size_t wl, pid_t *pid)
{
    char path[700];
    if (!strcmp(probe, "rift")) {
        home_path(path, sizeof(path), HOME_HELPER, "rift-probe");
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
        char env[800], dir[HOME_PATH_MAX];
        const char *suite = probe[8] == '@' ? "sid" : "trixie";
        char *const argv[] = {"/usr/bin/python3", "-c",
                              "import redis.cluster, sys; "
                              "sys.exit(0 if redis.__version__.startswith('6.') else 1)",
                              NULL};
        home_path(dir, sizeof(dir), HOME_CACHE, suite);
        snprintf(env, sizeof(env), "PYTHONPATH=%s/root/usr/lib/python3/dist-packages", dir);
        snprintf(what, wl, "redis-py 6 for probe %s (%s's python3-redis, in %s)", probe, suite,
                 dir);
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
        char rel[64];
        snprintf(rel, sizeof(rel), "node_modules/%s", pkg);
        home_path(path, sizeof(path), HOME_CLIENTS, rel);
        char *const argv[] = {"node", "-e", "require(process.argv[1])", path, NULL};
        if (!need_on_path("node")) {
            snprintf(what, wl, "node (Node.js, for probe %s)", probe);
            return 0;
        }
        snprintf(what, wl, "npm package %s for probe %s (%s/node_modules)", pkg, probe,
                 home_dir(HOME_CLIENTS));
        *pid = start_check(argv, NULL);
        return 2;
    }
    snprintf(what, wl, "probe %s (unknown)", probe);
    return 0;
}

int need_check(const struct scenario *s, char *err, size_t errlen)
{
    static const char *const tools[] = {"ip", "iptables", "iptables-restore", "iptables-save"};
    char path[700], hint[200];
    size_t off = 0;
    err[0] = '\0';
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        if (!need_on_path(tools[i]))
            add(err, errlen, &off, tools[i],
                home_is_tree() ? "`make deps`" : "`apt-get install iptables iproute2`");
    home_path(path, sizeof(path), HOME_BIN, "rift-shim");
    if (access(path, X_OK) != 0)
        add(err, errlen, &off, path, home_is_tree() ? "`make`" : "`apt-get install rift-shim`");
    /* The interpreters load the libraries side by side: each takes a few
     * hundred milliseconds. */
    struct {
        char what[300];
        pid_t pid;
        int present;
    } c[SCN_MAX_PROBES];
    for (int i = 0; i < s->n_probes; i++)
        c[i].present = probe_present(s->probes[i].name, c[i].what, sizeof(c[i].what), &c[i].pid);
    for (int i = 0; i < s->n_probes; i++) {
        if (c[i].present == 2 && c[i].pid < 0) {
            char what[400];
            snprintf(what, sizeof(what), "cannot start the check of %s (out of processes?)",
                     c[i].what);
            add(err, errlen, &off, what, home_fetch_hint(hint, sizeof(hint), "clients", "clients"));
            continue;
        }
        if (c[i].present == 2)
            c[i].present = check_ok(c[i].pid);
        if (!c[i].present)
            add(err, errlen, &off, c[i].what,
                need_probe_target(s->probes[i].name, hint, sizeof(hint)));
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
