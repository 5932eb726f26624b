/* attachscn: [cluster] attach = and what a scenario on an attached cluster
 * may not ask for (scenario.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int scn_attach_parse(struct scn_attach *a, const char *text, char *err, size_t el)
{
    char buf[1024], *save = NULL;
    int n = 0;
    if (strlen(text) >= sizeof(buf))
        return snprintf(err, el, "too long"), -1;
    snprintf(buf, sizeof(buf), "%s", text);
    for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        char *colon = strrchr(t, ':');
        struct in_addr in;
        int port;
        if (!colon || colon == t)
            return snprintf(err, el, "expected HOST:PORT (IPv4 or localhost), got '%s'", t), -1;
        *colon = '\0';
        if (scn_parse_int(colon + 1, 1, 65535 - 10000, &port) < 0)
            return snprintf(err, el,
                            "'%s:%s': the port must be 1 to 55535 (its bus port is "
                            "10000 up)",
                            t, colon + 1),
                   -1;
        if (!strcmp(t, "localhost"))
            in.s_addr = htonl(0x7f000001u);
        else if (inet_pton(AF_INET, t, &in) != 1 || !in.s_addr)
            return snprintf(err, el, "'%s': expected an IPv4 address or localhost", t), -1;
        if (n == SCN_ATTACH_MAX)
            return snprintf(err, el, "at most %d addresses", SCN_ATTACH_MAX), -1;
        a->ip[n] = ntohl(in.s_addr);
        a->port[n] = (uint16_t)port;
        n++;
    }
    if (!n)
        return snprintf(err, el, "expected HOST:PORT[,HOST:PORT...]"), -1;
    a->n = n;
    return 0;
}

int scn_attach_check(const struct scenario *s, int *line, char *err, size_t el)
{
    *line = 0;
    if (s->server_line) {
        *line = s->server_line;
        return snprintf(err, el,
                        "server: an attached cluster runs its own servers (leave "
                        "server out with attach)"),
               -1;
    }
    if (s->n_conf) {
        *line = s->conf_line;
        return snprintf(err, el,
                        "[server]: rift does not configure an attached cluster's "
                        "servers (leave [server] out with attach)"),
               -1;
    }
    if (s->standalone)
        return snprintf(err, el, "attach works on a cluster, not mode = standalone"), -1;
    for (int i = 0; i < s->n_steps; i++) {
        const struct scn_step *st = &s->steps[i];
        const char *what = st->kind == STEP_KILL      ? "kill"
                           : st->kind == STEP_PAUSE   ? "pause"
                           : st->kind == STEP_RESUME  ? "resume"
                           : st->kind == STEP_RESTART ? "restart"
                                                      : NULL;
        if (what && !s->attach.signals) {
            *line = st->line;
            return snprintf(err, el,
                            "%s signals a server's process: on an attached cluster "
                            "only with attach_signals = yes in [cluster]",
                            what),
                   -1;
        }
    }
    return 0;
}
