/* fuzz_scenario: libFuzzer harness for the `rift run` scenario loader. The
 * input is "SCENARIO\0NAME\0CONTROL\0CAPTURE", each part optional after
 * the first: the scenario text is loaded with scn_load_string under NAME.
 * A scenario that loads must have its faults named as their headers say
 * and give a shim policy (scn_policy_text with CONTROL and CAPTURE) that
 * rift-shim loads (pol_load_string) with those paths, the same nodes, the
 * faults as rules and the bus observer. scn_policy_text may refuse a path
 * an INI line cannot carry, but not the default ones. Anything else traps. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/scenario/scenario.h"

/* Large: static. */
static struct scenario scn;
static struct policy pol;

static bool same_rule(const struct pol_rule *a, const struct pol_rule *b)
{
    const struct pol_effects *x = &a->fx, *y = &b->fx;
    for (int k = 0; k < PK__COUNT; k++) /* the same keys given (start always is) */
        if (!a->key_line[k] != (!b->key_line[k] && k != PK_START))
            return false;
    return !strcmp(a->name, b->name) && !strcmp(a->from_spec, b->from_spec) &&
           !strcmp(a->to_spec, b->to_spec) && a->from == b->from && a->to == b->to &&
           a->ports == b->ports && a->both == b->both && a->opened_by == b->opened_by &&
           a->proto == b->proto && a->start_ns == b->start_ns && a->duration_ns == b->duration_ns &&
           a->messages == b->messages && x->delay_ns == y->delay_ns &&
           x->jitter_ns == y->jitter_ns && x->dist == y->dist && x->delay_corr == y->delay_corr &&
           x->loss_model == y->loss_model && x->loss == y->loss && x->loss_corr == y->loss_corr &&
           x->ge_p == y->ge_p && x->ge_r == y->ge_r && x->ge_h == y->ge_h && x->ge_k == y->ge_k &&
           x->reorder == y->reorder && x->reorder_corr == y->reorder_corr &&
           x->duplicate == y->duplicate && x->duplicate_corr == y->duplicate_corr &&
           x->rate_bps == y->rate_bps && x->hold == y->hold;
}

/* What differs between the scenario's faults and the loaded policy, or NULL. */
static const char *roundtrip_diff(const char *control, const char *capture)
{
    const struct policy *f = &scn.faults;
    if (!pol.shim.seed_given || strcmp(pol.shim.control, control) ||
        strcmp(pol.shim.capture, capture))
        return "[shim]";
    /* the scenario's own [shim] settings reach the shim */
    if (pol.shim.queue_maxlen != f->shim.queue_maxlen ||
        pol.shim.overflow_pass != f->shim.overflow_pass || pol.shim.queues != f->shim.queues)
        return "[shim] queue settings";
    if (pol.n_nodes != f->n_nodes)
        return "number of nodes";
    for (int i = 0; i < f->n_nodes; i++)
        if (strcmp(pol.nodes[i].name, f->nodes[i].name) || pol.nodes[i].ip != f->nodes[i].ip ||
            pol.nodes[i].port != f->nodes[i].port || pol.nodes[i].bus != f->nodes[i].bus)
            return "a node";
    if (pol.n_rules != f->n_rules + 1)
        return "number of rules";
    for (int i = 0; i < f->n_rules; i++)
        if (!same_rule(&pol.rules[i], &f->rules[i]))
            return "a rule";
    if (strcmp(pol.rules[f->n_rules].name, "observe-bus") != 0)
        return "the bus observer";
    return NULL;
}

/* The next NUL-terminated part of [*s, end), or NULL past the end. */
static const char *part(const char **s, const char *end)
{
    const char *p = *s;
    if (p >= end)
        return NULL;
    *s = p + strlen(p) + 1;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char default_control[] = "/tmp/rift-fuzz/shim.sock";
    char err[SCN_ERR_MAX];
    char *copy = malloc(size + 1); /* exact size: ASan sees reads past the end */
    const char *s, *end, *text, *name, *control, *capture;
    char *policy;
    const char *diff;
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    s = copy;
    end = copy + size;
    text = part(&s, end + 1); /* empty input: an empty scenario */
    name = part(&s, end);
    control = part(&s, end);
    capture = part(&s, end);
    if (scn_load_string(&scn, name ? name : "fuzz.ini", text, err, sizeof(err)) != 0) {
        free(copy);
        return 0;
    }
    for (int i = 0; i < scn.faults.n_rules; i++) { /* names as the headers give them */
        char header[POL_NAME_MAX + 1];
        snprintf(header, sizeof(header), "%s]", scn.faults.rules[i].name);
        if (!strstr(text, header)) {
            fprintf(stderr, "fuzz_scenario: fault '%s' is not in the text\n",
                    scn.faults.rules[i].name);
            __builtin_trap();
        }
    }
    policy = scn_policy_text(&scn, control ? control : default_control, capture,
                             (uint64_t)size * 2654435761u);
    if (!policy) {
        /* Refusing a path is fine; the ones rift passes must do. */
        if (!control && !capture) {
            fprintf(stderr, "fuzz_scenario: scn_policy_text failed\n");
            __builtin_trap();
        }
        free(copy);
        return 0;
    }
    if (pol_load_string(&pol, "shim.ini", policy, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_scenario: the policy of a scenario does not load: %s\n%s\n", err,
                policy);
        __builtin_trap();
    }
    if (!control || !*control)
        control = control ? scn.faults.shim.control : default_control;
    if ((diff = roundtrip_diff(control, capture ? capture : ""))) {
        fprintf(stderr, "fuzz_scenario: the policy of a scenario differs in %s\n%s\n", diff,
                policy);
        __builtin_trap();
    }
    free(policy);
    free(copy);
    return 0;
}
