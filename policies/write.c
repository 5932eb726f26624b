/* write: a policy as INI text that loads back to the same policy. */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../proto/bus.h"
#include "../proto/pkt.h"
#include "ini.h"

/* The shortest percentage that parses back to the same fixed-point value
 * (12 digits always do). */
static void put_prob(FILE *o, const char *key, uint64_t p)
{
    double pct = (double)p * 100.0 / (double)POL_P_ONE;
    char buf[64];
    uint64_t back;
    for (int digits = 6; digits <= 12; digits++) {
        snprintf(buf, sizeof(buf), "%.*g%%", digits, pct);
        if (pol_parse_prob(buf, &back) == 0 && back == p)
            break;
    }
    fprintf(o, "%s = %s\n", key, buf);
}

static void put_time(FILE *o, const char *key, uint64_t ns)
{
    if (ns && ns % 1000000 == 0)
        fprintf(o, "%s = %llums\n", key, (unsigned long long)(ns / 1000000));
    else if (ns && ns % 1000 == 0)
        fprintf(o, "%s = %lluus\n", key, (unsigned long long)(ns / 1000));
    else
        fprintf(o, "%s = %lluns\n", key, (unsigned long long)ns);
}

static void put_rule(FILE *o, const struct pol_rule *r)
{
    const struct pol_effects *fx = &r->fx;
    fprintf(o, "\n[rule %s]\n", r->name);
    /* Only the keys the fault gave: the checks look at which keys were set. */
    for (int k = 0; k < PK__COUNT; k++) {
        if (!r->key_line[k] || !pol_key_name(k))
            continue;
        switch (k) {
        case PK_FROM: /* no blanks: never longer than the line it was read from */
            fprintf(o, "from=%s\n", r->from_spec);
            break;
        case PK_TO:
            fprintf(o, "to=%s\n", r->to_spec);
            break;
        case PK_PORTS:
            fprintf(o, "ports = %s\n", r->ports == POL_PORTS_BUS      ? "bus"
                                       : r->ports == POL_PORTS_CLIENT ? "client"
                                                                      : "all");
            break;
        case PK_DIRECTION:
            fprintf(o, "direction = %s\n", r->both ? "both" : "one-way");
            break;
        case PK_PROTO:
            fprintf(o, "proto = %s\n", r->proto == POL_PROTO_UDP ? "udp" : "tcp");
            break;
        case PK_MESSAGES: {
            fprintf(o, "messages =");
            for (int t = 0; t < 16; t++)
                if ((r->messages >> t) & 1)
                    fprintf(o, " %s", bus_type_name((uint16_t)t));
            fprintf(o, "\n");
            break;
        }
        case PK_DELAY:
            put_time(o, pol_key_name(k), fx->delay_ns);
            break;
        case PK_JITTER:
            put_time(o, pol_key_name(k), fx->jitter_ns);
            break;
        case PK_DIST:
            fprintf(o, "distribution = %s\n", pol_dist_name(fx->dist));
            break;
        case PK_LOSS_MODEL:
            fprintf(o, "loss_model = %s\n",
                    fx->loss_model == POL_LOSS_GEMODEL ? "gemodel" : "random");
            break;
        case PK_CORR:
            put_prob(o, pol_key_name(k), fx->delay_corr);
            break;
        case PK_LOSS:
            put_prob(o, pol_key_name(k), fx->loss);
            break;
        case PK_LOSS_CORR:
            put_prob(o, pol_key_name(k), fx->loss_corr);
            break;
        case PK_GE_P:
            put_prob(o, pol_key_name(k), fx->ge_p);
            break;
        case PK_GE_R:
            put_prob(o, pol_key_name(k), fx->ge_r);
            break;
        case PK_GE_H:
            put_prob(o, pol_key_name(k), fx->ge_h);
            break;
        case PK_GE_K:
            put_prob(o, pol_key_name(k), fx->ge_k);
            break;
        case PK_REORDER:
            put_prob(o, pol_key_name(k), fx->reorder);
            break;
        case PK_REORDER_CORR:
            put_prob(o, pol_key_name(k), fx->reorder_corr);
            break;
        case PK_DUP:
            put_prob(o, pol_key_name(k), fx->duplicate);
            break;
        case PK_DUP_CORR:
            put_prob(o, pol_key_name(k), fx->duplicate_corr);
            break;
        case PK_RATE:
            fprintf(o, "rate = %llubit\n", (unsigned long long)fx->rate_bps);
            break;
        case PK_HOLD:
            fprintf(o, "hold = %s\n", fx->hold ? "yes" : "no");
            break;
        case PK_START:
            if (r->start_ns == POL_START_MANUAL)
                fprintf(o, "start = manual\n");
            else
                put_time(o, pol_key_name(k), (uint64_t)r->start_ns);
            break;
        case PK_DURATION:
            put_time(o, pol_key_name(k), r->duration_ns);
            break;
        }
    }
    /* the default differs (a scenario's faults start manually): always say */
    if (!r->key_line[PK_START]) {
        if (r->start_ns == POL_START_MANUAL)
            fprintf(o, "start = manual\n");
        else
            put_time(o, "start", (uint64_t)r->start_ns);
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
    }
    for (int i = 0; i < p->n_rules; i++)
        put_rule(o, &p->rules[i]);
    return ferror(o) ? -1 : 0;
}
