/* timeline: a scenario's [timeline] lines ("1.5s = failover m1r1") as
 * steps, checked against the cluster the scenario builds. */
#include "timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the parser needs: where errors go, and the scenario so far. */
struct tl {
    struct ini *ini;
    const struct scenario *s;
};

static int step_node(struct tl *L, const struct scn_step *st, const char *verb, const char *name)
{
    int i = scn_node(L->s, name);
    if (i < 0) {
        char names[128];
        scn_node_names(L->s, names, sizeof(names));
        return ini_fail_at(L->ini, st->line, "%s: unknown node '%s' (this cluster has %s)", verb,
                           name, names);
    }
    return i;
}

static int step_primary(struct tl *L, const struct scn_step *st, const char *name)
{
    char prim[32] = "m1";
    int i = step_node(L, st, "migrate", name);
    if (i < 0 || L->s->primary_of[i] < 0)
        return i;
    if (L->s->masters > 1)
        snprintf(prim, sizeof(prim), "m1..m%d", L->s->masters);
    return ini_fail_at(L->ini, st->line,
                       "migrate: %s is a replica: slots move between primaries (%s)", name, prim);
}

static int parse_slots(const char *s, int *lo, int *hi)
{
    char lo_s[16];
    const char *dash = strchr(s, '-');
    size_t n = dash ? (size_t)(dash - s) : strlen(s);
    if (n == 0 || n >= sizeof(lo_s))
        return -1;
    memcpy(lo_s, s, n);
    lo_s[n] = '\0';
    if (scn_parse_int(lo_s, 0, SCN_SLOTS - 1, lo) < 0)
        return -1;
    *hi = *lo;
    if (dash && scn_parse_int(dash + 1, 0, SCN_SLOTS - 1, hi) < 0)
        return -1;
    return *lo <= *hi ? 0 : -1;
}

static int parse_step(struct tl *L, struct scn_step *st, char *text)
{
    static const struct {
        const char *verb;
        enum scn_step_kind kind;
        int min, max; /* words, with the verb */
        const char *usage;
    } steps[] = {
        {"fault", STEP_FAULT, 3, 3, "fault NAME on|off"},
        {"failover", STEP_FAILOVER, 2, 3, "failover NODE [force|takeover]"},
        {"migrate", STEP_MIGRATE, 4, 5, "migrate LO[-HI] SRC DST [atomic]"},
        {"kill", STEP_KILL, 2, 2, "kill NODE"},
        {"pause", STEP_PAUSE, 2, 2, "pause NODE"},
        {"resume", STEP_RESUME, 2, 2, "resume NODE"},
        {"restart", STEP_RESTART, 2, 2, "restart NODE"},
        {"wait", STEP_WAIT_CONVERGED, 2, 2, "wait converged"},
    };
    const struct scenario *s = L->s;
    char *w[5], *save = NULL, *tok;
    int n = 0;
    size_t k;
    for (tok = strtok_r(text, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n == 5)
            return ini_fail_at(L->ini, st->line, "too many words in a step");
        w[n++] = tok;
    }
    if (n == 0)
        return ini_fail_at(L->ini, st->line, "timeline: a step is needed after '='");
    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
        if (!strcmp(w[0], steps[k].verb))
            break;
    if (k == sizeof(steps) / sizeof(steps[0]))
        return ini_fail_at(L->ini, st->line,
                           "unknown step '%s' (expected fault, failover, migrate, "
                           "kill, pause, resume, restart or wait converged)",
                           w[0]);
    if (n < steps[k].min || n > steps[k].max)
        return ini_fail_at(L->ini, st->line, "%s: expected %s", w[0], steps[k].usage);
    st->kind = steps[k].kind;

    switch (st->kind) {
    case STEP_FAULT:
        if ((st->fault = pol_find_rule(&s->faults, w[1])) < 0)
            return ini_fail_at(L->ini, st->line, "fault: no [fault %s] in this scenario", w[1]);
        /* Read top to bottom: a step may only use a fault declared above. */
        if (s->faults.rules[st->fault].line > st->line)
            return ini_fail_at(L->ini, st->line,
                               "fault: [fault %s] is declared below, on line %d: declare a fault "
                               "before the timeline that uses it",
                               w[1], s->faults.rules[st->fault].line);
        if (!strcmp(w[2], "on"))
            st->on = true;
        else if (strcmp(w[2], "off") != 0)
            return ini_fail_at(L->ini, st->line, "fault: expected on or off, got '%s'", w[2]);
        return 0;
    case STEP_FAILOVER:
        if ((st->node = step_node(L, st, "failover", w[1])) < 0)
            return -1;
        if (s->primary_of[st->node] < 0) {
            char reps[64] = "";
            size_t m = 0;
            if (!s->replicas)
                return ini_fail_at(L->ini, st->line,
                                   "failover: %s is a primary and the cluster has "
                                   "no replicas",
                                   w[1]);
            for (int r = 1; r <= s->replicas; r++)
                m += (size_t)snprintf(reps + m, sizeof(reps) - m, "%s%s", r > 1 ? ", " : "",
                                      s->names[r * s->masters + st->node]);
            return ini_fail_at(L->ini, st->line,
                               "failover: %s is a primary: fail over one of its replicas (%s)",
                               w[1], reps);
        }
        if (n == 3) {
            if (strcmp(w[2], "force") != 0 && strcmp(w[2], "takeover") != 0)
                return ini_fail_at(L->ini, st->line,
                                   "failover: expected force or takeover, got '%s'", w[2]);
            snprintf(st->mode, sizeof(st->mode), "%s", w[2]);
        }
        return 0;
    case STEP_MIGRATE:
        if (parse_slots(w[1], &st->slot_lo, &st->slot_hi) < 0)
            return ini_fail_at(L->ini, st->line,
                               "migrate: bad slots '%s' (expected LO or LO-HI, "
                               "0 <= LO <= HI <= %d)",
                               w[1], SCN_SLOTS - 1);
        if ((st->src = step_primary(L, st, w[2])) < 0 || (st->dst = step_primary(L, st, w[3])) < 0)
            return -1;
        if (st->src == st->dst)
            return ini_fail_at(L->ini, st->line, "migrate: source and destination are both %s",
                               w[2]);
        if (n == 5 && strcmp(w[4], "atomic") != 0)
            return ini_fail_at(L->ini, st->line, "migrate: expected atomic after DST, got '%s'",
                               w[4]);
        st->atomic = n == 5;
        return 0;
    case STEP_WAIT_CONVERGED:
        if (strcmp(w[1], "converged") != 0)
            return ini_fail_at(L->ini, st->line, "wait: expected wait converged, got 'wait %s'",
                               w[1]);
        return 0;
    default: /* kill, pause, resume, restart */
        st->node = step_node(L, st, w[0], w[1]);
        return st->node < 0 ? -1 : 0;
    }
}

int tl_parse_step(struct ini *ini, const struct scenario *s, struct scn_step *st, char *text)
{
    struct tl L = {.ini = ini, .s = s};
    return parse_step(&L, st, text);
}
