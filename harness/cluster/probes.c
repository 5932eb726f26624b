/* probes: starting drivers, reading their lines, healing. */
#include "probes.h"

#include "../../policies/esc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sys/home.h"
#include "../sys/proc.h"
#include "../sys/registry.h"

/* A library that cannot bind a source address, and whose connections the
 * driver cannot reach either (GLIDE's are made in Rust): its process gets
 * the probes' address through a cgroup (cgbind), like the application. */
static int bind_by_cgroup(struct probe_rt *p, struct registry *reg, const char *run_id,
                          const char *source, char *err, size_t el)
{
    char name[96], path[sizeof(p->cg.path)];
    struct in_addr ia;
    snprintf(name, sizeof(name), "%s%s-probe-%s", CGBIND_PREFIX, run_id, p->cfg->name);
    if (inet_pton(AF_INET, source, &ia) != 1) {
        snprintf(err, el, "bad source address %s", source);
        return -1;
    }
    if (cgbind_path(name, path, sizeof(path), err, el) < 0)
        return -1;
    if (reg_add_cgroup(reg, path) < 0) {
        snprintf(err, el, "cannot record its cgroup in the run's registry");
        return -1;
    }
    return cgbind_create(&p->cg, name, ntohl(ia.s_addr), err, el);
}

pid_t probe_start(struct probe_rt *p, const struct scn_probe *cfg, struct registry *reg,
                  const struct probe_env *pe, char *err, size_t el)
{
    char prog[600], opt[SCN_MAX_PROBE_OPTS][140], pypath[700];
    char *env_extra = NULL;
    char *argv[32 + 2 * SCN_MAX_PROBE_OPTS];
    const char *source = pe->source;
    int a = 0;
    memset(p, 0, sizeof(*p));
    p->cg.prog_fd = -1;
    p->cfg = cfg;
    p->heal_ms = -1;
    snprintf(p->out_path, sizeof(p->out_path), "%s/probe-%s.jsonl", pe->tmpdir, cfg->name);
    snprintf(p->log_path, sizeof(p->log_path), "%s/probe-%s.log", pe->tmpdir, cfg->name);
    if (!strcmp(cfg->name, "rift")) {
        home_path(prog, sizeof(prog), HOME_HELPER, "rift-probe");
        argv[a++] = prog;
    } else if (strncmp(cfg->name, "redis-py", 8) != 0) { /* the Node libraries */
        home_path(prog, sizeof(prog), HOME_CLIENTS, "node_probe.js");
        argv[a++] = "node";
        argv[a++] = prog;
        argv[a++] = "--lib";
        argv[a++] = (char *)cfg->name;
        if (!strcmp(cfg->name, "valkey-glide") &&
            bind_by_cgroup(p, reg, pe->run_id, source, err, el) < 0)
            return -1;
    } else {
        /* redis-py: Debian's python3-redis; redis-py-6: trixie's, redis-py@sid:
         * sid's, unpacked into the cache by rift fetch (fetch-suite.sh) */
        home_path(prog, sizeof(prog), HOME_CLIENTS, "redis_py_probe.py");
        argv[a++] = "/usr/bin/python3";
        argv[a++] = prog;
        if (strcmp(cfg->name, "redis-py") != 0) {
            snprintf(pypath, sizeof(pypath), "PYTHONPATH=%s/%s/root/usr/lib/python3/dist-packages",
                     home_dir(HOME_CACHE), strcmp(cfg->name, "redis-py-6") ? "sid" : "trixie");
            env_extra = pypath;
        }
    }
    argv[a++] = "--seeds";
    argv[a++] = (char *)pe->seeds;
    argv[a++] = "--source";
    argv[a++] = (char *)source;
    argv[a++] = "--duration";
    argv[a++] = "600";
    if (pe->ranges[0]) {
        argv[a++] = "--ranges";
        argv[a++] = (char *)pe->ranges;
    }
    for (int i = 0; i < cfg->n_opts; i++) {
        snprintf(opt[i], sizeof(opt[i]), "%s=%s", cfg->opts[i][0], cfg->opts[i][1]);
        argv[a++] = "--option";
        argv[a++] = opt[i];
    }
    argv[a] = NULL;
    /* The password in the environment, which only the probe's owner can
     * read, never on its command line. */
    char pass_env[96];
    char *const envs[] = {pass_env, NULL};
    snprintf(pass_env, sizeof(pass_env), "RIFT_PASSWORD=%s", pe->pass ? pe->pass : "");
    /* stdout to the jsonl file, stderr to the log: a shell-free redirect. */
    char role[48];
    snprintf(role, sizeof(role), "probe:%s", cfg->name);
    const struct proc_opts po = {.out = p->out_path,
                                 .err = p->log_path,
                                 .env = env_extra,
                                 .envs = envs,
                                 .cgroup = p->cg.path[0] ? p->cg.path : NULL,
                                 .started = reg_started,
                                 .started_ctx = reg,
                                 .role = role};
    pid_t pid = proc_start(argv, &po);
    if (pid < 0)
        snprintf(err, el, "%s", strerror(errno));
    p->pid = pid;
    return pid;
}

static int key_index(struct probe_rt *p, const char *name)
{
    for (int i = 0; i < p->n_keys; i++)
        if (!strcmp(p->keys[i].name, name))
            return i;
    if (p->n_keys == PROBE_MAX_KEYS)
        return -1;
    snprintf(p->keys[p->n_keys].name, sizeof(p->keys[0].name), "%s", name);
    p->keys[p->n_keys].last_ok_ms = -1;
    p->keys[p->n_keys].last_fail_ms = -1;
    return p->n_keys++;
}

static void count_kind(struct probe_rt *p, const char *kind)
{
    for (int i = 0; i < p->n_kinds; i++)
        if (!strcmp(p->kinds[i], kind)) {
            p->kind_count[i]++;
            return;
        }
    if (p->n_kinds < 16) {
        snprintf(p->kinds[p->n_kinds], sizeof(p->kinds[0]), "%s", kind);
        p->kind_count[p->n_kinds++] = 1;
    }
}

/* The line's "t_ms": value; -1 when it has none or it is not a number (read
 * as 0, the operation would seem to predate the run). */
static int parse_t_ms(const char *line, int64_t *out)
{
    const char *t = strstr(line, "\"t_ms\":");
    char *end;
    long long v;
    if (!t)
        return -1;
    for (t += 7; *t == ' ';)
        t++;
    if (*t < '0' || *t > '9')
        return -1;
    v = strtoll(t, &end, 10);
    if ((*end != ',' && *end != '}') || v == INT64_MAX) /* INT64_MAX: an overflow */
        return -1;
    *out = v;
    return 0;
}

/* One output line; returns the op's run time, or -1 for other lines. */
static int64_t take_line(struct probe_rt *p, const char *line, int64_t t0_ms, int64_t fault_ms,
                         int64_t conv_ms)
{
    char key[64], kind[40], msg[160];
    const char *t = strstr(line, "\"t_ms\":");
    int64_t when;
    int k;
    if (!t) {
        if (strstr(line, "\"probe\"")) {
            const char *o = strstr(line, "\"options\":");
            esc_json_field(line, "version", p->version, sizeof(p->version));
            if (o) {
                /* the options object runs to the header's own closing brace */
                size_t n = strlen(o + 10);
                while (n && (o[10 + n - 1] == '\n' || o[10 + n - 1] == ' '))
                    n--;
                if (n && o[10 + n - 1] == '}')
                    n--;
                /* it goes into report.json as it is: whole or not at all */
                if (n < sizeof(p->options) && n >= 2 && o[10] == '{' && o[10 + n - 1] == '}')
                    snprintf(p->options, sizeof(p->options), "%.*s", (int)n, o + 10);
                else
                    snprintf(p->options, sizeof(p->options), "{\"unreadable\":true}");
            }
        }
        return -1;
    }
    if (parse_t_ms(line, &when) < 0)
        return -1;
    when -= t0_ms;
    if (!esc_json_field(line, "key", key, sizeof(key)) || (k = key_index(p, key)) < 0)
        return -1;
    p->ops++;
    if (strstr(line, "\"ok\":true")) {
        p->keys[k].last_ok_ms = when;
        ts_add(&p->ts, when, NULL);
        return when;
    }
    p->failures++;
    p->keys[k].last_fail_ms = when;
    esc_json_field(line, "kind", kind, sizeof(kind));
    esc_json_field(line, "msg", msg, sizeof(msg));
    snprintf(p->last_error, sizeof(p->last_error), "%s: %s", kind, msg);
    ts_add(&p->ts, when, kind[0] ? kind : "error");
    if (when >= fault_ms && (conv_ms < 0 || when <= conv_ms))
        count_kind(p, kind);
    return when;
}

void probe_poll(struct probe_rt *p, int64_t t0_ms, int64_t fault_ms, int64_t conv_ms)
{
    ssize_t n;
    if (!p->in && !(p->in = fopen(p->out_path, "r")))
        return;
    /* Lines of any length; one still being written is read again later. */
    while ((n = getline(&p->line, &p->line_cap, p->in)) > 0) {
        if (p->line[n - 1] != '\n') {
            fseek(p->in, -(long)n, SEEK_CUR);
            break;
        }
        take_line(p, p->line, t0_ms, fault_ms, conv_ms);
    }
    clearerr(p->in);
}

int probe_check(struct probe_rt *p, int64_t now_ms, char *err, size_t errlen)
{
    int status;
    if (p->pid > 0 && proc_reap(p->pid, &status)) {
        char last[256] = "";
        FILE *f = fopen(p->log_path, "r");
        p->pid = 0;
        if (f) {
            char line[256];
            while (fgets(line, sizeof(line), f))
                if (line[0] != '\n')
                    snprintf(last, sizeof(last), "%s", line);
            fclose(f);
        }
        last[strcspn(last, "\n")] = '\0';
        snprintf(err, errlen, "probe %s exited on its own (%s %d)%s%s", p->cfg->name,
                 WIFSIGNALED(status) ? "signal" : "status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), last[0] ? ": " : "",
                 last);
        return -1;
    }
    if (!p->version[0] && now_ms - p->started_ms > PROBE_START_MS) {
        snprintf(err, errlen, "probe %s wrote no header line within %d s (see probe-%s.log)",
                 p->cfg->name, PROBE_START_MS / 1000, p->cfg->name);
        return -1;
    }
    return 0;
}

/* A key is healthy once an operation succeeded after its last failure. */
bool probe_healed_since(const struct probe_rt *p, int64_t conv_ms)
{
    if (conv_ms < 0 || p->n_keys == 0)
        return false;
    for (int i = 0; i < p->n_keys; i++)
        if (p->keys[i].last_fail_ms >= 0 && p->keys[i].last_ok_ms < p->keys[i].last_fail_ms)
            return false;
    return true;
}

/* heal_ms: for each key, the first success after its last failure, counted
 * from the convergence (0 when it recovered before, or never failed); the
 * probe heals when its slowest key does. */
void probe_finish(struct probe_rt *p, int64_t t0_ms, int64_t conv_ms)
{
    FILE *f = fopen(p->out_path, "r");
    char *line = NULL;
    size_t cap = 0;
    int64_t last_fail[PROBE_MAX_KEYS], ok_after[PROBE_MAX_KEYS];
    p->healed = false;
    p->heal_ms = -1;
    /* no output, or no key in it: the probe did not work, no verdict */
    p->judged = f && p->n_keys > 0;
    if (!p->judged || conv_ms < 0) {
        if (f)
            fclose(f);
        return;
    }
    for (int i = 0; i < PROBE_MAX_KEYS; i++)
        last_fail[i] = ok_after[i] = -1;
    while (getline(&line, &cap, f) > 0) {
        char key[64];
        int64_t when;
        int k;
        if (parse_t_ms(line, &when) < 0 || !esc_json_field(line, "key", key, sizeof(key)) ||
            (k = key_index(p, key)) < 0)
            continue;
        when -= t0_ms;
        if (strstr(line, "\"ok\":true")) {
            if (last_fail[k] >= 0 && ok_after[k] < 0)
                ok_after[k] = when;
        } else {
            last_fail[k] = when;
            ok_after[k] = -1;
        }
    }
    free(line);
    fclose(f);
    int64_t worst = 0;
    for (int k = 0; k < p->n_keys; k++) {
        if (last_fail[k] < 0)
            continue;
        if (ok_after[k] < 0)
            return; /* never */
        if (ok_after[k] - conv_ms > worst)
            worst = ok_after[k] - conv_ms;
    }
    p->healed = true;
    p->heal_ms = worst;
}

void probe_stop(struct probe_rt *p)
{
    if (p->pid > 0) {
        proc_stop(p->pid, 3000);
        p->pid = 0;
    }
    if (p->cfg && (p->cg.path[0] || p->cg.prog_fd >= 0))
        cgbind_remove(&p->cg, 2000); /* and what the library left running */
    if (p->in) {
        fclose(p->in);
        p->in = NULL;
    }
    free(p->line);
    p->line = NULL;
    p->line_cap = 0;
}

void probe_free(struct probe_rt *p)
{
    ts_free(&p->ts);
}
