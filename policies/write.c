/* write: a policy as INI text that loads back to the same policy. */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../proto/pkt.h"
#include "ini.h"

static void put_time(FILE *o, const char *key, uint64_t ns)
{
    char t[32];
    pol_format_time(t, sizeof(t), ns);
    fprintf(o, "%s = %s\n", key, t);
}

/* Only the keys the rule was given (cross-field checks look at which keys
 * were set), and its start, whose default differs in a scenario. */
static void put_rule(FILE *o, const struct pol_rule *r)
{
    char v[512];
    fprintf(o, "\n[rule %s]\n", r->name);
    for (int k = 0; k < PK__COUNT; k++) {
        if (!r->key_line[k] && k != PK_START)
            continue;
        pol_key_format(r, k, v, sizeof(v));
        /* from/to without blanks: never longer than the line they came from */
        if (k == PK_FROM || k == PK_TO)
            fprintf(o, "%s=%s\n", pol_key_name(k), v);
        else
            fprintf(o, "%s = %s\n", pol_key_name(k), v);
    }
}

/* A path on a line of its own ("control = PATH"): inih would cut it at
 * " ;", a newline or its line length, and strip its outer blanks. */
static bool ini_safe(const char *v)
{
    size_t n = strlen(v);
    return n <= POL_INI_LINE - strlen("control = ") && !strpbrk(v, "\n\r;") &&
           (n == 0 || (!isspace((unsigned char)v[0]) && !isspace((unsigned char)v[n - 1])));
}

static void put_shim(FILE *o, const struct pol_shim *sh)
{
    fprintf(o, "[shim]\nqueue = %u\nqueues = %u\n", sh->queue, sh->queues);
    if (sh->seed_given)
        fprintf(o, "seed = %llu\n", (unsigned long long)sh->seed);
    fprintf(o, "control = %s\n", sh->control);
    if (sh->capture[0])
        fprintf(o, "capture = %s\n", sh->capture);
    fprintf(o, "rules = %s\nqueue_maxlen = %u\non_overflow = %s\nrealtime = %s\n",
            sh->rules == POL_RULES_NONE ? "none" : "iptables", sh->queue_maxlen,
            sh->overflow_pass ? "pass" : "drop", sh->realtime ? "yes" : "no");
    if (sh->owner[0])
        fprintf(o, "owner = %s\n", sh->owner);
    if (sh->queue_search)
        fprintf(o, "queue_search = %u\n", sh->queue_search);
    put_time(o, "timer_spin", sh->timer_spin_ns);
    if (sh->busy_poll_ns == UINT64_MAX)
        fprintf(o, "busy_poll = yes\n");
    else if (sh->busy_poll_ns)
        put_time(o, "busy_poll", sh->busy_poll_ns);
}

int pol_write(FILE *o, const struct policy *p)
{
    if (!ini_safe(p->shim.control) || !ini_safe(p->shim.capture)) {
        errno = EINVAL;
        return -1;
    }
    put_shim(o, &p->shim);
    for (int i = 0; i < p->n_nodes; i++) {
        const struct pol_node *n = &p->nodes[i];
        char a[PKT_ADDR_MAX];
        fprintf(o, "\n[node %s]\naddr = %s", n->name, pkt_addr(n->ip, a, sizeof(a)));
        if (n->port)
            fprintf(o, ":%u", n->port);
        fprintf(o, "\n");
        if (n->port && n->bus != n->port + 10000)
            fprintf(o, "bus = %u\n", n->bus);
        if (n->id[0])
            fprintf(o, "id = %s\n", n->id);
    }
    for (int i = 0; i < p->n_rules; i++)
        put_rule(o, &p->rules[i]);
    return ferror(o) ? -1 : 0;
}

void pol_rule_effect(const struct pol_rule *r, char *out, size_t len)
{
    char v[128];
    size_t off = 0;
    static const int shown[] = {PK_HOLD, PK_DELAY, PK_LOSS, PK_REORDER, PK_DUP, PK_RATE};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]) && off < len; i++) {
        int k = shown[i];
        if (!r->key_line[k])
            continue;
        pol_key_format(r, k, v, sizeof(v));
        if (k == PK_HOLD)
            off += (size_t)snprintf(out + off, len - off, "%shold", off ? " " : "");
        else
            off += (size_t)snprintf(out + off, len - off, "%s%s %s", off ? " " : "",
                                    pol_key_name(k), v);
    }
    if (r->key_line[PK_MESSAGES] && off < len) {
        pol_key_format(r, PK_MESSAGES, v, sizeof(v));
        snprintf(out + off, len - off, " [%s]", v);
    }
}
