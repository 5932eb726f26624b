/* appscn: the programs a scenario runs against its server: [app], [clients], mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/esc.h"
#include "../../policies/ini.h"
#include "../../policies/policy.h"
#include "appscn.h"

/* Probe drivers this version ships (harness/clients/). */
static const char *const probe_names[] = {"rift",         "redis-py",     "redis-py-6",
                                          "redis-py@sid", "ioredis",      "node-redis",
                                          "iovalkey",     "valkey-glide", NULL};

/* [clients]: probes = a, b; start = TIME; seeds = nodes; PROBE.OPTION = VALUE */
int clients_key(struct ini *in, struct scenario *s, const char *key, const char *v,
                char *seeds_spec, size_t seeds_len, int *seeds_line)
{
    const char *dot = strchr(key, '.');
    if (dot) {
        char probe[32];
        snprintf(probe, sizeof(probe), "%.*s", (int)(dot - key), key);
        for (int i = 0; i < s->n_probes; i++) {
            struct scn_probe *p = &s->probes[i];
            if (strcmp(p->name, probe) != 0)
                continue;
            /* rift-probe has no library settings to pass */
            if (!strcmp(probe, "rift"))
                return ini_fail(in, "%s: the rift probe takes no options", key);
            if (p->n_opts == SCN_MAX_PROBE_OPTS || strlen(dot + 1) >= 64 || strlen(v) >= 64)
                return ini_fail(in, "%s: too many or too long options", key);
            snprintf(p->opts[p->n_opts][0], 64, "%s", dot + 1);
            snprintf(p->opts[p->n_opts][1], 64, "%s", v);
            p->n_opts++;
            return 1;
        }
        return ini_fail(in, "%s: '%s' is not in probes = (give probes first)", key, probe);
    }
    if (!strcmp(key, "probes")) {
        char buf[256], *save = NULL;
        if (s->n_probes)
            return ini_fail(in, "'probes' is given twice in [clients]");
        snprintf(buf, sizeof(buf), "%s", v);
        for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            int k;
            for (k = 0; probe_names[k] && strcmp(probe_names[k], t) != 0; k++)
                ;
            if (!probe_names[k])
                return ini_fail(in,
                                "probes: unknown probe '%s' (expected rift, redis-py, redis-py-6, "
                                "redis-py@sid, ioredis, node-redis, iovalkey or valkey-glide)",
                                t);
            if (s->n_probes == SCN_MAX_PROBES)
                return ini_fail(in, "probes: at most %d", SCN_MAX_PROBES);
            snprintf(s->probes[s->n_probes++].name, 32, "%s", t);
        }
        if (!s->n_probes)
            return ini_fail(in, "probes: name at least one probe");
        return 1;
    }
    if (!strcmp(key, "start")) {
        if (pol_parse_time(v, &s->probes_start_ns) < 0)
            return ini_fail(in, "start: expected a time (e.g. 2.5s), got '%s'", v);
        return 1;
    }
    if (!strcmp(key, "seeds")) {
        if (strlen(v) >= seeds_len)
            return ini_fail(in, "seeds: too long");
        snprintf(seeds_spec, seeds_len, "%s", v);
        *seeds_line = in->line;
        return 1;
    }
    return ini_fail(in,
                    "unknown key '%s' in [clients] (expected probes, start, seeds or "
                    "PROBE.OPTION)",
                    key);
}

/* Appends byte c to the word being built: -1 when the words are full. */
static int put(struct scn_app *a, size_t *o, char c)
{
    if (*o + 1 >= sizeof(a->words))
        return -1;
    a->words[(*o)++] = c;
    return 0;
}

int scn_app_split(struct scn_app *a, const char *t, char *err, size_t el)
{
    size_t o = 0, i = 0, n = strlen(t);
    a->argc = 0;
    if (n >= sizeof(a->text)) {
        snprintf(err, el, "command: longer than %zu characters", sizeof(a->text) - 1);
        return -1;
    }
    snprintf(a->text, sizeof(a->text), "%s", t);
    for (;;) {
        while (i < n && (t[i] == ' ' || t[i] == '\t'))
            i++;
        if (i == n)
            break;
        if (a->argc == SCN_APP_MAX_ARGS) {
            snprintf(err, el, "command: more than %d words", SCN_APP_MAX_ARGS);
            return -1;
        }
        a->argv_off[a->argc++] = (int)o;
        while (i < n && t[i] != ' ' && t[i] != '\t') {
            char c = t[i++];
            if (c == '\'' || c == '"') {
                size_t end = i;
                while (end < n && t[end] != c)
                    end += (c == '"' && t[end] == '\\' && end + 1 < n) ? 2 : 1;
                if (end >= n) {
                    snprintf(err, el, "command: a %s quote that does not close",
                             c == '"' ? "double" : "single");
                    return -1;
                }
                for (; i < end; i++) {
                    if (c == '"' && t[i] == '\\' && strchr("\"\\$`", t[i + 1]))
                        i++;
                    if (put(a, &o, t[i]) < 0)
                        goto full;
                }
                i++; /* the closing quote */
            } else if (c == '\\' && i < n) {
                if (put(a, &o, t[i++]) < 0)
                    goto full;
            } else if (strchr("|&;<>`$()", c)) {
                snprintf(err, el,
                         "command: '%c' would need a shell, and rift runs the command without "
                         "one: write sh -c '...' (or quote the character)",
                         c);
                return -1;
            } else if (put(a, &o, c) < 0) {
                goto full;
            }
        }
        if (put(a, &o, '\0') < 0)
            goto full;
    }
    if (!a->argc) {
        snprintf(err, el, "command: empty");
        return -1;
    }
    return 0;
full:
    snprintf(err, el, "command: its words are longer than %zu bytes", sizeof(a->words) - 1);
    return -1;
}

int scn_app_argv(struct scn_app *a, int argc, char *const *argv, char *err, size_t el)
{
    size_t o = 0;
    if (argc < 1 || argc > SCN_APP_MAX_ARGS) {
        snprintf(err, el, "the command after --: 1 to %d words", SCN_APP_MAX_ARGS);
        return -1;
    }
    a->argc = argc;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (o + n + 1 > sizeof(a->words)) {
            snprintf(err, el, "the command after --: longer than %zu bytes", sizeof(a->words) - 1);
            return -1;
        }
        a->argv_off[i] = (int)o;
        memcpy(a->words + o, argv[i], n + 1);
        o += n + 1;
    }
    /* The text is the command as a shell would need it: every word quoted
     * where it must be, so that a line that shows it can be pasted back. */
    if (!esc_shell_line(a->text, sizeof(a->text), argc, (const char *const *)argv)) {
        snprintf(err, el, "the command after --: longer than %zu characters once quoted",
                 sizeof(a->text) - 1);
        return -1;
    }
    a->on = true;
    a->wait = true;
    a->line = 0;
    return 0;
}

static bool env_name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

int app_key(struct ini *in, struct scn_app *a, const char *key, const char *v)
{
    if (!strncmp(key, "env.", 4)) {
        const char *name = key + 4;
        if (!env_name_ok(name) || strlen(name) >= sizeof(a->env[0][0]))
            return ini_fail(in, "%s: '%s' is not an environment variable name", key, name);
        if (!strncmp(name, "RIFT_", 5))
            return ini_fail(in, "%s: rift sets the RIFT_ variables itself", key);
        if (strlen(v) >= sizeof(a->env[0][1]))
            return ini_fail(in, "%s: value longer than %zu characters", key,
                            sizeof(a->env[0][1]) - 1);
        for (int i = 0; i < a->n_env; i++)
            if (!strcmp(a->env[i][0], name))
                return ini_fail(in, "%s is given twice", key);
        if (a->n_env == SCN_APP_MAX_ENV)
            return ini_fail(in, "%s: at most %d env. variables", key, SCN_APP_MAX_ENV);
        snprintf(a->env[a->n_env][0], sizeof(a->env[0][0]), "%s", name);
        snprintf(a->env[a->n_env][1], sizeof(a->env[0][1]), "%s", v);
        a->n_env++;
        return 1;
    }
    if (!strcmp(key, "command")) {
        char err[256];
        if (scn_app_split(a, v, err, sizeof(err)) < 0)
            return ini_fail(in, "%s", err);
        a->on = true;
        a->line = in->line;
        return 1;
    }
    if (!strcmp(key, "start")) {
        if (pol_parse_time(v, &a->start_ns) < 0)
            return ini_fail(in,
                            "start: expected a time from the start of the timeline (e.g. 1s), "
                            "got '%s'",
                            v);
        return 1;
    }
    if (!strcmp(key, "stop")) {
        if (strcmp(v, "end") != 0 && strcmp(v, "wait") != 0)
            return ini_fail(in,
                            "stop: expected end (stopped after the last step) or wait (the "
                            "run waits for it), got '%s'",
                            v);
        a->wait = !strcmp(v, "wait");
        return 1;
    }
    if (!strcmp(key, "expect_exit")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || *end || n < 0 || n > 255)
            return ini_fail(in, "expect_exit: expected an exit status 0 to 255, got '%s'", v);
        a->expect_exit = (int)n;
        return 1;
    }
    if (!strcmp(key, "timeout")) {
        if (pol_parse_duration(v, &a->timeout_ns) < 0 || !a->timeout_ns)
            return ini_fail(in, "timeout: expected a time greater than 0 (e.g. 10m), got '%s'", v);
        return 1;
    }
    return ini_fail(in,
                    "unknown key '%s' in [app] (expected command, start, stop, expect_exit, "
                    "timeout or env.NAME)",
                    key);
}

int scn_mode_defaults(struct ini *in, struct scenario *s, int cluster_line)
{
    if (s->standalone && (s->masters > 1 || s->replicas > 0))
        return ini_fail_at(in, cluster_line,
                           "mode = standalone runs one server: masters = 1 and replicas = 0 "
                           "(or leave them out)");
    if (!s->masters)
        s->masters = s->standalone ? 1 : 3;
    if (s->replicas < 0)
        s->replicas = s->standalone ? 0 : 1;
    return 0;
}

int scn_standalone_check(struct ini *in, const struct scenario *s, int workload_line,
                         int clients_line)
{
    if (!s->standalone)
        return 0;
    if (s->writers)
        return ini_fail_at(in, workload_line,
                           "[workload] writes through cluster clients: not with mode = standalone");
    if (s->n_probes)
        return ini_fail_at(in, clients_line,
                           "[clients] probes are cluster clients: not with mode = standalone");
    return 0;
}
