/* app: the application under test in a run. */
#include "app.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../../proto/pkt.h"
#include "../sys/registry.h"
#include "runstate.h"

/* "redis://[:PASSWORD@]ADDR", the password percent-encoded where a URL
 * gives its characters a meaning. */
static size_t url_of(char *out, size_t len, const char *pass, const char *addr)
{
    size_t o = (size_t)snprintf(out, len, "redis://%s", *pass ? ":" : "");
    for (const char *p = pass; *p && o + 4 < len; p++)
        o += strchr(":/?#[]@!$&'()*+,;=%", *p)
                 ? (size_t)snprintf(out + o, len - o, "%%%02X", (unsigned char)*p)
                 : (size_t)snprintf(out + o, len - o, "%c", *p);
    return o + (size_t)snprintf(out + o, len - o, "%s%s", *pass ? "@" : "", addr);
}

/* RIFT_SEEDS, RIFT_NODES, RIFT_CLUSTER, RIFT_CTL, RIFT_REPORT, RIFT_PASSWORD,
 * RIFT_URL (the first seed) and RIFT_URLS (every seed), and the scenario's
 * env.NAME, as "NAME=value" strings in env (NULL-terminated). */
static int make_env(const struct run *r, char **env, int max)
{
    const struct scenario *s = r->scn;
    char seeds[1024] = "", nodes[2048] = "", addr[32], urls[4096] = "";
    size_t so = 0, no = 0, uo = 0;
    int n = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        run_node_addr(r, i, addr, sizeof(addr));
        if (s->primary_of[i] < 0 && uo + 256 < sizeof(urls)) {
            uo += (size_t)snprintf(urls + uo, sizeof(urls) - uo, "%s", uo ? "," : "");
            uo += url_of(urls + uo, sizeof(urls) - uo, r->password, addr);
        }
        if (s->primary_of[i] < 0)
            so += (size_t)snprintf(seeds + so, sizeof(seeds) - so, "%s%s", so ? "," : "", addr);
        no += (size_t)snprintf(nodes + no, sizeof(nodes) - no, "%s%s=%s", no ? "," : "",
                               s->names[i], addr);
    }
    if (asprintf(&env[n++], "RIFT_SEEDS=%s", seeds) < 0 ||
        asprintf(&env[n++], "RIFT_NODES=%s", nodes) < 0 ||
        asprintf(&env[n++], "RIFT_CLUSTER=%d", s->standalone ? 0 : 1) < 0 ||
        asprintf(&env[n++], "RIFT_CTL=%s", r->live_sock) < 0 ||
        asprintf(&env[n++], "RIFT_SHIM_CTL=%s", r->shim_sock) < 0 ||
        asprintf(&env[n++], "RIFT_REPORT=%s", r->o->report_dir ? r->o->report_dir : r->tmp) < 0 ||
        asprintf(&env[n++], "RIFT_PASSWORD=%s", r->password) < 0 ||
        asprintf(&env[n++], "RIFT_URL=%.*s", (int)strcspn(urls, ","), urls) < 0 ||
        asprintf(&env[n++], "RIFT_URLS=%s", urls) < 0)
        return -1;
    for (int i = 0; i < s->app.n_env && n < max - 1; i++)
        if (asprintf(&env[n++], "%s=%s", s->app.env[i][0], s->app.env[i][1]) < 0)
            return -1;
    env[n] = NULL;
    return 0;
}

int app_start(struct run *r, char *err, size_t el)
{
    const struct scn_app *a = &r->scn->app;
    struct app_rt *rt = &r->app;
    char *argv[SCN_APP_MAX_ARGS + 1], *env[SCN_APP_MAX_ENV + 12] = {0}, name[64], ip[PKT_ADDR_MAX];
    char path[sizeof(rt->cg.path)];
    int rc = -1;
    for (int i = 0; i < a->argc; i++)
        argv[i] = (char *)a->words + a->argv_off[i];
    argv[a->argc] = NULL;
    rt->cg.path[0] = '\0';
    rt->cg.prog_fd = -1;
    /* registered before it exists, like everything a run makes */
    snprintf(name, sizeof(name), "%s%s-app", CGBIND_PREFIX, r->id);
    if (cgbind_path(name, path, sizeof(path), err, el) < 0)
        return -1;
    if (reg_add_cgroup(&r->reg, path) < 0) {
        snprintf(err, el, "app: cannot record its cgroup in the run's registry");
        return -1;
    }
    if (cgbind_create(&rt->cg, name, SCN_APP_IP, err, el) < 0)
        return -1;
    if (make_env(r, env, SCN_APP_MAX_ENV + 12) < 0) {
        snprintf(err, el, "app: out of memory for its environment");
        goto out;
    }
    snprintf(rt->log, sizeof(rt->log), "%s/app.log", r->tmp);
    const struct proc_opts po = {.out = rt->log,
                                 .envs = env,
                                 .cgroup = rt->cg.path,
                                 .started = reg_started,
                                 .started_ctx = &r->reg,
                                 .role = "app"};
    if ((rt->pid = proc_start(argv, &po)) < 0) {
        rt->pid = 0;
        snprintf(err, el, "app: cannot start %s: %s", argv[0], strerror(errno));
        goto out;
    }
    rt->started = true;
    rt->start_ms = run_ms(r);
    char text[sizeof(a->text) * 4];
    esc_text(text, sizeof(text), a->text);
    run_progress(r, "app: started (pid %d) from %s: %s", (int)rt->pid,
                 pkt_addr(SCN_APP_IP, ip, sizeof(ip)), text);
    rc = 0;
out:
    for (int i = 0; env[i]; i++)
        free(env[i]);
    if (rc < 0)
        cgbind_remove(&rt->cg, 1000);
    return rc;
}

/* It never ran: its log starts with proc's own exec or cgroup failure. */
static bool failed_to_run(const struct app_rt *rt)
{
    char line[160] = "";
    FILE *f = fopen(rt->log, "r");
    if (!f)
        return false;
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    return !strncmp(line, "rift: cannot run ", 17) ||
           !strncmp(line, "rift: cannot join cgroup", 24);
}

static void exited(struct run *r, int status)
{
    struct app_rt *rt = &r->app;
    rt->exited = true;
    rt->status = status;
    rt->exit_ms = run_ms(r);
    rt->pid = 0;
    if ((WIFEXITED(status) && (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127)) &&
        failed_to_run(rt))
        rt->env_failed = true;
}

void app_poll(struct run *r)
{
    struct app_rt *rt = &r->app;
    int st;
    if (!rt->started || rt->exited || !proc_reap(rt->pid, &st))
        return;
    exited(r, st);
    if (WIFEXITED(st))
        run_progress(r, "app: exited with status %d after %.3f s", WEXITSTATUS(st),
                     (double)(rt->exit_ms - rt->start_ms) / 1000.0);
    else
        run_progress(r, "app: killed by signal %d after %.3f s", WTERMSIG(st),
                     (double)(rt->exit_ms - rt->start_ms) / 1000.0);
}

bool app_pending(const struct run *r)
{
    return r->scn->app.on && r->scn->app.wait && !r->app.exited && !r->app.env_failed;
}

void app_stop(struct run *r, const char *why)
{
    struct app_rt *rt = &r->app;
    if (rt->started && !rt->exited && rt->pid > 0) {
        rt->stopped = true;
        run_progress(r, "app: stopping it (%s)", why);
        exited(r, proc_stop(rt->pid, 5000));
    }
    if (rt->cg.path[0] || rt->cg.prog_fd >= 0)
        cgbind_remove(&rt->cg, 3000); /* and whatever it forked */
}

bool app_verdict(const struct run *r, char *d, size_t dl)
{
    const struct scn_app *a = &r->scn->app;
    const struct app_rt *rt = &r->app;
    double secs = (double)(rt->exit_ms - rt->start_ms) / 1000.0;
    bool code_ok = rt->exited && !rt->stopped && WIFEXITED(rt->status) &&
                   WEXITSTATUS(rt->status) == a->expect_exit;
    if (!rt->started) {
        snprintf(d, dl, "never started");
        return false;
    }
    if (rt->timed_out) {
        snprintf(d, dl, "still running %.0f s after the last step: stopped by rift",
                 (double)a->timeout_ns / 1e9);
        return false;
    }
    if (rt->stopped) { /* stop = end: running to the end is what passes */
        snprintf(d, dl, "ran to the end (%.3f s), stopped by rift", secs);
        return !a->wait;
    }
    if (WIFEXITED(rt->status))
        snprintf(d, dl, "exited with status %d after %.3f s (expected %d)", WEXITSTATUS(rt->status),
                 secs, a->expect_exit);
    else
        snprintf(d, dl, "killed by signal %d after %.3f s", WTERMSIG(rt->status), secs);
    return code_ok;
}

void app_json(const struct run *r, FILE *f)
{
    const struct scn_app *a = &r->scn->app;
    const struct app_rt *rt = &r->app;
    fputs(",\"app\":{\"command\":", f);
    esc_json(f, a->text);
    fputs(",\"argv\":[", f);
    for (int i = 0; i < a->argc; i++) {
        fputs(i ? "," : "", f);
        esc_json(f, a->words + a->argv_off[i]);
    }
    fprintf(f, "],\"stop\":\"%s\",\"expect_exit\":%d,\"started\":%s,\"start_ms\":%" PRId64,
            a->wait ? "wait" : "end", a->expect_exit, rt->started ? "true" : "false", rt->start_ms);
    if (rt->exited && WIFEXITED(rt->status))
        fprintf(f, ",\"exit_status\":%d,\"signal\":null", WEXITSTATUS(rt->status));
    else if (rt->exited)
        fprintf(f, ",\"exit_status\":null,\"signal\":%d", WTERMSIG(rt->status));
    else
        fputs(",\"exit_status\":null,\"signal\":null", f);
    fprintf(f,
            ",\"run_ms\":%" PRId64 ",\"stopped_by_rift\":%s,\"timed_out\":%s,\"log\":\"app.log\"}",
            rt->exited ? rt->exit_ms - rt->start_ms : 0, rt->stopped ? "true" : "false",
            rt->timed_out ? "true" : "false");
}

void app_tail(const struct run *r, FILE *f, int lines)
{
    static char buf[64 * 1024];
    char line[512], *p = (char *)run_file_tail(r->app.log, lines, buf, sizeof(buf));
    if (!p)
        return;
    fprintf(f, "app.log, last lines:\n");
    for (char *t = strtok(p, "\n"); t; t = strtok(NULL, "\n")) {
        esc_text(line, sizeof(line), t);
        fprintf(f, "  | %s\n", line);
    }
}
